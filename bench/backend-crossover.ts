/**
 * Where the TypeScript network beats libtorch for a whole process: libtorch must first be
 * loaded (dlopen of libtorch and OpenBLAS, about a second), the TypeScript network starts at
 * once but multiplies slower. Each case runs in a fresh child process, which times, from before
 * the network is made, "make the net (loading its backend) + infer N points"; the two backends
 * alternate, R rounds, medians reported. The auto choice's threshold (SMALL_WORK_MACS in
 * src/network/small-work.ts) should sit below the measured crossover.
 *
 *   npx tsx bench/backend-crossover.ts [--rounds 3]
 *
 * Nets: MALA's Be model shape (91→100→11) and the Al model's (91→400→400→400→250).
 */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { arg, helpIfAsked } from './help';
import { macsPerPoint, SMALL_WORK_MACS } from '../src/network/small-work';

helpIfAsked(__filename);

const root = path.join(__dirname, '..');
const nets = [
  { name: 'Be 91→100→11', spec: { layerSizes: [91, 100, 11], activations: ['LeakyReLU', null] }, points: [2000, 8748, 40000, 160000] },
  { name: 'Al 91→400³→250', spec: { layerSizes: [91, 400, 400, 400, 250], activations: ['LeakyReLU', 'LeakyReLU', 'LeakyReLU', null] }, points: [256, 1024, 4096] },
];

// the child: time from before the net is made (its backend loaded) to the end of inference
const CHILD = `
const t0 = process.hrtime.bigint();
const { createInferenceNet } = require(${JSON.stringify(path.join(root, 'src/network/backends'))});
const { initParameters } = require(${JSON.stringify(path.join(root, 'src/network/mlp'))});
const { Rng } = require(${JSON.stringify(path.join(root, 'src/network/rng'))});
const [spec, n, backend] = JSON.parse(process.argv[1]);
const net = createInferenceNet(spec, initParameters(spec, new Rng(1)), { backend });
const x = new Float32Array(n * spec.layerSizes[0]).map((_, i) => Math.sin(i));
(async () => {
  const chunk = 4096; // as predict's network source
  for (let p = 0; p < n; p += chunk) { const m = Math.min(chunk, n - p); await net.forward(x.subarray(p * spec.layerSizes[0], (p + m) * spec.layerSizes[0]), m); }
  console.log(Number(process.hrtime.bigint() - t0) / 1e9);
})();`;

function runChild(spec: unknown, n: number, backend: string): number {
  const r = spawnSync(process.execPath, ['-r', 'tsx/cjs', '-e', CHILD, JSON.stringify([spec, n, backend])], { cwd: root, encoding: 'utf8', env: { ...process.env, MALA_TS_QUIET_FALLBACK: '1' } });
  if (r.status !== 0) throw new Error(`child (${backend}, ${n} points) failed: ${r.stderr}`);
  return Number(r.stdout.trim().split('\n').pop());
}

const rounds = Number(arg('rounds', '3'));
const med = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
console.log(`auto threshold SMALL_WORK_MACS = ${SMALL_WORK_MACS / 1e6} M multiply-adds; ${rounds} rounds, load average ${require('node:os').loadavg()[0].toFixed(2)}`);
console.log('| net | points | M multiply-adds | TypeScript s | libtorch (incl. load) s | faster | auto picks |');
console.log('| --- | --- | --- | --- | --- | --- | --- |');
for (const { name, spec, points } of nets) {
  for (const n of points) {
    const ts: number[] = [];
    const torch: number[] = [];
    for (let r = 0; r < rounds; r++) {
      // alternate which goes first, so a drifting load favours neither
      if (r % 2 === 0) (ts.push(runChild(spec, n, 'ts')), torch.push(runChild(spec, n, 'torch')));
      else (torch.push(runChild(spec, n, 'torch')), ts.push(runChild(spec, n, 'ts')));
    }
    const macs = n * macsPerPoint(spec as never);
    const [a, b] = [med(ts), med(torch)];
    console.log(`| ${name} | ${n} | ${(macs / 1e6).toFixed(0)} | ${a.toFixed(3)} | ${b.toFixed(3)} | ${a < b ? 'TypeScript' : 'libtorch'} (${(Math.max(a, b) / Math.min(a, b)).toFixed(2)}×) | ${macs <= SMALL_WORK_MACS ? 'TypeScript' : 'libtorch'} |`);
  }
}
