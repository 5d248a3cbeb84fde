/**
 * Two builds of the libtorch addon against each other in one process, as pairs of adjacent
 * timings (bench/torch-peer.ts's timeSpan; the order alternates between pairs): the bare net's
 * forward at batches 4096 and 8192, and predict's path over 65 536 points (4096-point predict
 * calls with MALA-like input/output scaling and the clamp, as LdosModel.predictLdos runs them),
 * for 91→400³→250 and the Be net 91→100→11. Prints the median of the per-pair ratios B/A of
 * points/s with the interquartile range.
 *
 *   npx tsx bench/network-ab.ts --a OLD/mala_torch.node [--b NEW/mala_torch.node] [--pairs 7]
 *
 * --b defaults to this checkout's build (bindings/torch/build/Release/mala_torch.node).
 */
import * as path from 'node:path';
import type { TorchAddon, TorchNet } from '../bindings/torch';
import { initParameters } from '../src/network/mlp';
import { Rng } from '../src/network/rng';
import { arg, helpIfAsked } from './help';
import { benchNets, randomArray } from './nets';
import { quantile, timeSpan } from './torch-peer';

helpIfAsked(__filename);

const pairs = Number(arg('pairs', '7'));
const SPAN_S = Number(arg('span', '0.3'));
const builds = {
  A: path.resolve(arg('a')),
  B: path.resolve(arg('b', path.join(__dirname, '..', 'bindings', 'torch', 'build', 'Release', 'mala_torch.node'))),
};

async function main(): Promise<void> {
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const addons = { A: require(builds.A) as TorchAddon, B: require(builds.B) as TorchAddon };
  const rng = new Rng(3);
  type Case = { label: string; run: Record<'A' | 'B', () => Promise<unknown>>; points: number };
  const cases: Case[] = [];
  for (const { name, spec } of benchNets) {
    const [nIn, nOut] = [spec.layerSizes[0], spec.layerSizes[spec.layerSizes.length - 1]];
    const params = initParameters(spec, rng);
    const nets = {} as Record<'A' | 'B', TorchNet>;
    const scaling = [randomArray(rng, nIn), randomArray(rng, nIn).map((v) => 1 + Math.abs(v)), Float32Array.of(0.1), Float32Array.of(2)] as const;
    for (const k of ['A', 'B'] as const) {
      nets[k] = new addons[k].Net(spec.layerSizes, spec.activations.map((a) => a ?? ''), 'cpu');
      nets[k].setParameters(params);
      nets[k].setScaling(...scaling, 1);
    }
    for (const batch of [4096, 8192]) {
      const x = randomArray(rng, batch * nIn);
      cases.push({ label: `${name} forward ${batch}`, points: batch, run: { A: () => nets.A.forward(x, new Float32Array(batch * nOut), batch), B: () => nets.B.forward(x, new Float32Array(batch * nOut), batch) } });
    }
    const n = 65536;
    const chunk = 4096;
    const x = randomArray(rng, n * nIn);
    const predictAll = (net: TorchNet) => async () => {
      const out = new Float32Array(n * nOut);
      for (let p0 = 0; p0 < n; p0 += chunk) await net.predict(x.subarray(p0 * nIn, (p0 + chunk) * nIn), out.subarray(p0 * nOut, (p0 + chunk) * nOut), chunk);
    };
    cases.push({ label: `${name} predict 65536 in 4096-point calls`, points: n, run: { A: predictAll(nets.A), B: predictAll(nets.B) } });
  }
  const ratios = cases.map(() => [] as number[]);
  const rates = cases.map(() => ({ A: [] as number[], B: [] as number[] }));
  for (let p = 0; p < pairs; p++) {
    for (const [i, c] of cases.entries()) {
      const order = p % 2 === 0 ? (['A', 'B'] as const) : (['B', 'A'] as const);
      const s = {} as Record<'A' | 'B', number>;
      for (const k of order) {
        await new Promise((r) => setTimeout(r, 100));
        s[k] = (await timeSpan(c.run[k], SPAN_S)).s;
        rates[i][k].push(c.points / s[k]);
      }
      ratios[i].push(s.A / s.B);
    }
    console.log(`pair ${p + 1}: ${ratios.map((r) => r[p].toFixed(2)).join(' ')}`);
  }
  console.log(`\nA = ${builds.A}\nB = ${builds.B}\n`);
  console.log('| case | A points/s (median) | B points/s (median) | B / A, median of pairs | interquartile range |');
  console.log('| --- | --- | --- | --- | --- |');
  const m = (v: number[]) => `${(quantile(v, 0.5) / 1e3).toFixed(1)} k`;
  for (const [i, c] of cases.entries()) console.log(`| ${c.label} | ${m(rates[i].A)} | ${m(rates[i].B)} | **${quantile(ratios[i], 0.5).toFixed(2)}×** | ${quantile(ratios[i], 0.25).toFixed(2)}–${quantile(ratios[i], 0.75).toFixed(2)} |`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
