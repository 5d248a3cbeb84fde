/**
 * Cost of the network's vector–Jacobian product (forces, issue 16): `predictVjp` (predict plus the
 * back-propagation to the inputs) against `predict` alone, same net, same points, same scaling
 * (feature-wise input scaling, output unscaling, the clamp), per backend. The nets: the issue's
 * 91→128→128→131 LeakyReLU net, and those of bench/nets.ts. Target: vjp ≤ ~2.5× predict.
 *
 *   npx tsx bench/network-vjp.ts                       # torch (auto device) and ts, 8192 points
 *   npx tsx bench/network-vjp.ts --no-ts --points 65536 --device cuda
 *
 * Options: --points N (default 8192), --reps N (torch, default 15; ts runs 3), --device D (torch:
 * auto, cpu, cuda), --no-ts, --no-bench-nets (the 91→128→128→131 net only).
 * Each time is the median of warm runs, predict and predictVjp alternating; the CPU-time ratio
 * (this process's user + system time per call, medians) is less sensitive to a busy machine; "others" is the CPU (cores) other processes used meanwhile
 * (from /proc/stat): ratios taken while others > 0.2 come from a busy machine.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import { loadTorchAddon } from '../bindings/torch';
import { createInferenceNet, requireVjp, type InferenceNet, type Scaling } from '../src/network/backends';
import { initParameters, type NetworkSpec } from '../src/network/mlp';
import { Rng } from '../src/network/rng';
import { helpIfAsked } from './help';
import { benchNets, macs, randomArray } from './nets';
import { median } from './stats';

helpIfAsked(__filename);

const argv = process.argv.slice(2);
const flag = (name: string) => argv.includes(name);
function option(name: string, fallback: string): string {
  const i = argv.indexOf(name);
  return i >= 0 && i + 1 < argv.length ? argv[i + 1] : fallback;
}
const nPoints = Number(option('--points', '8192'));
const torchReps = Number(option('--reps', '15'));
const device = option('--device', 'auto');

function busyJiffies(): number {
  try {
    const cpu = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    return cpu[0] + cpu[1] + cpu[2] + cpu[5] + cpu[6] + cpu[7];
  } catch {
    return NaN;
  }
}

/**
 * Median seconds of a and of b over `reps` rounds (after one warm-up round), run alternately so
 * both see the same load, and the CPU (cores) other processes used meanwhile.
 */
async function timePair(a: () => Promise<unknown>, b: () => Promise<unknown>, reps: number): Promise<{ a: number; b: number; cpuA: number; cpuB: number; others: number }> {
  await a();
  await b();
  const j0 = busyJiffies();
  const c0 = process.cpuUsage();
  const w0 = process.hrtime.bigint();
  const ta: number[] = [], tb: number[] = [], ca: number[] = [], cb: number[] = [];
  const time = async (f: () => Promise<unknown>, wall: number[], cpu: number[]) => {
    const c = process.cpuUsage();
    const t = process.hrtime.bigint();
    await f();
    wall.push(Number(process.hrtime.bigint() - t) / 1e9);
    const d = process.cpuUsage(c);
    cpu.push((d.user + d.system) / 1e6);
  };
  for (let i = 0; i < reps; i++) {
    await time(a, ta, ca);
    await time(b, tb, cb);
  }
  const wall = Number(process.hrtime.bigint() - w0) / 1e9;
  const c = process.cpuUsage(c0);
  const others = Math.max(0, ((busyJiffies() - j0) / 100 - (c.user + c.system) / 1e6) / wall);
  return { a: median(ta), b: median(tb), cpuA: median(ca), cpuB: median(cb), others };
}

/** MALA-like scaling: feature-wise standardisation in, min-max out, negatives clamped. */
function scalingFor(spec: NetworkSpec, rng: Rng): Scaling {
  const nIn = spec.layerSizes[0], nOut = spec.layerSizes[spec.layerSizes.length - 1];
  return {
    inShift: randomArray(rng, nIn), inScale: Float32Array.from(randomArray(rng, nIn), (v) => 1 + 0.5 * v),
    outShift: Float32Array.of(-0.05), outScale: Float32Array.from({ length: nOut }, () => 0.5 + 0.2 * rng.uniform()),
    restrict: 'zero_out_negative',
  };
}

async function main(): Promise<void> {
  const torch = loadTorchAddon();
  console.log(`${os.cpus().length} CPUs (${os.cpus()[0]?.model}), load average ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}; ${nPoints} points`);
  if (!torch.addon) console.log(`torch skipped: ${torch.reason}`);
  const nets: { name: string; spec: NetworkSpec }[] = [{ name: '91→128→128→131', spec: { layerSizes: [91, 128, 128, 131], activations: ['LeakyReLU', 'LeakyReLU', 'LeakyReLU'] } }];
  if (!flag('--no-bench-nets')) nets.push(...benchNets);
  const rows = ['| network | backend (device) | points | predict ms | predictVjp ms | vjp / predict | CPU-time ratio | others (cores) |', '| --- | --- | --- | --- | --- | --- | --- | --- |'];
  const rng = new Rng(1);
  for (const { name, spec } of nets) {
    const params = initParameters(spec, rng);
    const sc = scalingFor(spec, rng);
    const nIn = spec.layerSizes[0], nOut = spec.layerSizes[spec.layerSizes.length - 1];
    const x = randomArray(rng, nPoints * nIn);
    const cot = Float64Array.from(randomArray(rng, nPoints * nOut));
    const backends: { net: InferenceNet; reps: number }[] = [];
    if (torch.addon) backends.push({ net: createInferenceNet(spec, params, { backend: 'torch', device }), reps: torchReps });
    if (!flag('--no-ts')) backends.push({ net: createInferenceNet(spec, params, { backend: 'ts' }), reps: 3 });
    for (const { net, reps } of backends) {
      net.setScaling(sc);
      const vjp = requireVjp(net);
      const out = new Float32Array(nPoints * nOut);
      const t = await timePair(() => net.predict(x, nPoints, out), () => vjp(x, nPoints, cot), reps);
      const ratio = t.b / t.a;
      rows.push(`| ${name} | ${net.name} (${net.device}) | ${nPoints} | ${(1e3 * t.a).toFixed(2)} | ${(1e3 * t.b).toFixed(2)} | ${ratio.toFixed(2)}× | ${(t.cpuB / t.cpuA).toFixed(2)}× | ${t.others.toFixed(2)} |`);
      console.log(`${name}, ${net.name} on ${net.device}: predict ${(1e3 * t.a).toFixed(2)} ms (${((2 * macs(spec.layerSizes) * nPoints) / t.a / 1e9).toFixed(1)} GFLOP/s), predictVjp ${(1e3 * t.b).toFixed(2)} ms: ${ratio.toFixed(2)}× (CPU time ${(t.cpuB / t.cpuA).toFixed(2)}×; others ${t.others.toFixed(2)} cores)`);
    }
  }
  console.log(`\n${rows.join('\n')}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
