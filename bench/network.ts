/**
 * Network throughput: inference points/s and training samples/s of the libtorch addon (and the
 * TS fallback) for 91→400→400→400→250 and MALA's Be model shape (91→100→11), against plain
 * PyTorch from Python (Debian python3-torch, same nets and batches, 1 intra-op thread, no_grad)
 * and against the machine's sgemm peak, all measured in the same run.
 *
 *   npx tsx bench/network.ts                       # table, TS fallback, 9 pairs (~2 min on 2 cores)
 *   npx tsx bench/network.ts --no-ts --pairs 15    # the addon / PyTorch comparison of the README
 *   npx tsx bench/network.ts --no-table --pairs 21 # only the pairs
 *   npx tsx bench/network.ts --no-python --no-ts   # only the addon's table
 *
 * Options: --pairs P (default 9; --rounds is the same), --span S (seconds per timing, default
 * 0.3), --gap G (idle seconds before each timing, default 0.15), --no-ts, --no-python, --no-table.
 *
 * The addon / PyTorch ratios come from pairs of adjacent timings: PyTorch runs in one persistent
 * Python process driven over stdin (bench/torch-peer.ts), so each addon timing (~S s) is followed
 * or preceded (alternately) by PyTorch's timing of the same net and batch, and the configurations
 * take turns within each round of pairs. A machine whose speed drifts minute to minute then
 * scales both timings of a pair alike. Printed per configuration: the median of the per-pair
 * ratios (PyTorch time / addon time: > 1 means the addon is faster), their interquartile range
 * and extremes, in how many pairs the addon was faster, and both sides' GFLOP/s against the sgemm peak (the better of torch.mm in Python
 * and the addon's one-layer net, both 2048³, measured before and after the pairs).
 *
 * GFLOP/s counts 2·MACs per inferred point and 6·MACs per trained sample (spec/nn-backend-notes.md).
 * Each timing is the median call of at least 3 warm calls spanning S s ("others" in the table is
 * the CPU, in cores, that other processes used meanwhile, from /proc/stat minus our own usage:
 * numbers taken while others > 0.2 are contaminated by a busy machine).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import { loadTorchAddon } from '../bindings/torch';
import { malaModelDescriptorDefaults } from '../src/descriptors/mala-defaults';
import { createNet, type NetBackend } from '../src/network/backend';
import { initParameters, type NetworkSpec } from '../src/network/mlp';
import { LdosModel } from '../src/network/model';
import { Rng } from '../src/network/rng';
import { DataScaler } from '../src/network/scalers';
import { makeEnergyGrid } from '../src/targets/energy-grid';
import { arg, helpIfAsked } from './help';
import { benchNets as nets, macs, randomArray } from './nets';
import { quantile, timeSpan, TorchPeer } from './torch-peer';

helpIfAsked(__filename);

const args = new Set(process.argv.slice(2));
const pairs = Number(arg('pairs', arg('rounds', '9')));
if (!Number.isInteger(pairs) || pairs < 1) throw new Error('--pairs needs a positive whole number');
const SPAN_S = Number(arg('span', '0.3'));
if (!(SPAN_S > 0)) throw new Error('--span needs a positive number of seconds');
// OpenBLAS's idle threads spin (sched_yield) for ~0.1 s after a threaded GEMM before they sleep:
// without a pause, PyTorch's spinning threads would take CPU from the addon's timing that follows
// (and the addon's, after a training step, from PyTorch's). Both sides get the same pause.
const GAP_S = Number(arg('gap', '0.15'));
if (!(GAP_S >= 0)) throw new Error('--gap needs a number of seconds (0 or more)');
const idle = () => new Promise((r) => setTimeout(r, GAP_S * 1000));

function procBusyJiffies(): number {
  try {
    const cpu = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    return cpu[0] + cpu[1] + cpu[2] + cpu[5] + cpu[6] + cpu[7]; // user nice system irq softirq steal
  } catch {
    return NaN;
  }
}

/** timeSpan, and other processes' CPU (cores) meanwhile. */
async function timeIt(f: () => Promise<unknown>): Promise<{ s: number; others: number }> {
  const j0 = procBusyJiffies();
  const c0 = process.cpuUsage();
  const w0 = process.hrtime.bigint();
  const { s } = await timeSpan(f, SPAN_S);
  const wall = Number(process.hrtime.bigint() - w0) / 1e9;
  const own = (process.cpuUsage().user - c0.user + process.cpuUsage().system - c0.system) / 1e6;
  const allCpu = (procBusyJiffies() - j0) / 100; // USER_HZ = 100
  return { s, others: Math.max(0, (allCpu - own) / wall) };
}

const rows: string[] = [];
const row = (cells: (string | number)[]) => rows.push(`| ${cells.join(' | ')} |`);
const k = (x: number) => (x >= 1e4 ? `${(x / 1e3).toFixed(1)} k` : x.toFixed(0));
const TRAIN_BATCH = 1000;
const PEAK_N = 2048;

async function main(): Promise<void> {
  const { addon, reason } = loadTorchAddon();
  if (!addon) throw new Error(`libtorch addon unavailable: ${reason}`);
  const info = addon.info();
  console.log(`libtorch ${info.torchVersion}, intra-op threads ${info.intraOpThreads}, BLAS threads ${info.blasThreads ?? '?'}, ${os.cpus().length} CPUs (${os.cpus()[0]?.model}), load average ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  const rng = new Rng(1);

  let peer: TorchPeer | null = null;
  let pyVersion = '';
  if (!args.has('--no-python')) {
    const started = await TorchPeer.start(nets.map((n) => ({ sizes: n.spec.layerSizes, acts: n.spec.activations })));
    if (started.peer) {
      peer = started.peer;
      pyVersion = started.version;
    } else console.log(`PyTorch from Python skipped: ${started.reason}`);
  }

  // The sgemm peak: the addon's one-layer net (its blocked path, every GEMM on one thread) and
  // PyTorch's torch.mm (OpenBLAS's threaded GEMM), both 2048³, before and after the pairs.
  const peakSpec: NetworkSpec = { layerSizes: [PEAK_N, PEAK_N], activations: [null] };
  const peakNet = createNet(peakSpec, initParameters(peakSpec, rng), { backend: 'torch' });
  const peakX = randomArray(rng, PEAK_N * PEAK_N);
  const flop = 2 * PEAK_N ** 3;
  const peaks: string[] = [];
  let peakGflops = 0;
  const measurePeak = async (when: string) => {
    const a = flop / (await timeSpan(() => peakNet.forward(peakX, PEAK_N), SPAN_S)).s / 1e9;
    const p = peer ? flop / (await peer.sgemm(PEAK_N, SPAN_S)).s / 1e9 : NaN;
    peakGflops = Math.max(peakGflops, a, Number.isNaN(p) ? 0 : p);
    peaks.push(`${when}: addon one-layer ${a.toFixed(1)}, PyTorch torch.mm ${Number.isNaN(p) ? '-' : p.toFixed(1)} GFLOP/s`);
    console.log(`sgemm ${PEAK_N}³ ${peaks[peaks.length - 1]}`);
  };
  await measurePeak('before');

  if (!args.has('--no-table')) await table(rng, () => peakGflops);

  if (peer) {
    type Config = { name: string; net: number; kind: 'infer' | 'train'; batch: number; mac: number; addon: () => Promise<unknown> };
    const configs: Config[] = [];
    nets.forEach(({ name, spec }, i) => {
      const nIn = spec.layerSizes[0];
      const nOut = spec.layerSizes[spec.layerSizes.length - 1];
      const net = createNet(spec, initParameters(spec, rng), { backend: 'torch' });
      const mac = macs(spec.layerSizes);
      for (const batch of [4096, 8192]) {
        const x = randomArray(rng, batch * nIn);
        configs.push({ name, net: i, kind: 'infer', batch, mac, addon: () => net.forward(x, batch) });
      }
      const xt = randomArray(rng, TRAIN_BATCH * nIn);
      const yt = randomArray(rng, TRAIN_BATCH * nOut);
      configs.push({ name, net: i, kind: 'train', batch: TRAIN_BATCH, mac, addon: () => net.trainStep(xt, yt, TRAIN_BATCH) });
    });
    const res = configs.map(() => ({ ratio: [] as number[], addonS: [] as number[], pyS: [] as number[] }));
    console.log(`\n${pairs} pairs of adjacent timings (${SPAN_S} s each, ${GAP_S} s idle before each) per configuration, PyTorch ${pyVersion} in one persistent Python process`);
    for (let p = 0; p < pairs; p++) {
      const line: string[] = [];
      for (const [ci, c] of configs.entries()) {
        const ours = async () => (await idle(), timeSpan(c.addon, SPAN_S));
        const theirs = async () => (await idle(), c.kind === 'infer' ? peer!.infer(c.net, c.batch, SPAN_S) : peer!.train(c.net, c.batch, SPAN_S));
        // alternate which side goes first, so that neither always gets the fresher machine
        let a: number, py: number;
        if (p % 2 === 0) {
          a = (await ours()).s;
          py = (await theirs()).s;
        } else {
          py = (await theirs()).s;
          a = (await ours()).s;
        }
        res[ci].ratio.push(py / a);
        res[ci].addonS.push(a);
        res[ci].pyS.push(py);
        line.push((py / a).toFixed(2));
      }
      console.log(`pair ${p + 1}: ${line.join(' ')}`);
    }
    await measurePeak('after');
    peer.close();
    const gf = (c: Config, s: number) => ((c.kind === 'infer' ? 2 : 6) * c.mac * c.batch) / s / 1e9;
    const pct = (g: number) => `${g.toFixed(1)} (${((100 * g) / peakGflops).toFixed(0)} %)`;
    console.log(`\nsgemm peak ${peakGflops.toFixed(1)} GFLOP/s (best of: ${peaks.join('; ')})\n`);
    console.log('| network | work | batch | addon / PyTorch, median of pairs | interquartile range | min – max | addon faster in | addon GFLOP/s (% of peak) | PyTorch GFLOP/s (% of peak) |');
    console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- |');
    for (const [ci, c] of configs.entries()) {
      const r = res[ci];
      console.log(`| ${c.name} | ${c.kind === 'infer' ? 'inference' : 'training step'} | ${c.batch} | **${quantile(r.ratio, 0.5).toFixed(2)}×** | ${quantile(r.ratio, 0.25).toFixed(2)}–${quantile(r.ratio, 0.75).toFixed(2)} | ${Math.min(...r.ratio).toFixed(2)}–${Math.max(...r.ratio).toFixed(2)} | ${r.ratio.filter((x) => x > 1).length} of ${r.ratio.length} pairs | ${pct(gf(c, quantile(r.addonS, 0.5)))} | ${pct(gf(c, quantile(r.pyS, 0.5)))} |`);
    }
  }
  if (rows.length) console.log(`\n${rows.join('\n')}`);
}

/** The addon's (and the TS fallback's) throughput table, and the whole predictLdos path. */
async function table(rng: Rng, peak: () => number): Promise<void> {
  row(['network', 'backend', 'batch', 'inference pts/s', 'GFLOP/s (% of peak)', `training samples/s (batch ${TRAIN_BATCH})`, 'GFLOP/s (% of peak)', 'others (cores)']);
  row(['---', '---', '---', '---', '---', '---', '---', '---']);
  for (const { name, spec } of nets) {
    const mac = macs(spec.layerSizes);
    const nIn = spec.layerSizes[0];
    const nOut = spec.layerSizes[spec.layerSizes.length - 1];
    const params = initParameters(spec, rng);
    const backends: NetBackend[] = [createNet(spec, params, { backend: 'torch' })];
    if (!args.has('--no-ts')) backends.push(createNet(spec, params, { backend: 'ts' }));
    for (const net of backends) {
      const isTs = net.name === 'ts';
      const xt = randomArray(rng, TRAIN_BATCH * nIn);
      const yt = randomArray(rng, TRAIN_BATCH * nOut);
      const tr = await timeIt(() => net.trainStep(xt, yt, TRAIN_BATCH));
      const trainRate = TRAIN_BATCH / tr.s;
      for (const batch of isTs ? [1024] : [4096, 8192]) {
        const x = randomArray(rng, batch * nIn);
        const t = await timeIt(() => net.forward(x, batch));
        const rate = batch / t.s;
        const gf = (2 * mac * rate) / 1e9;
        const gt = (6 * mac * trainRate) / 1e9;
        row([name, isTs ? 'TS fallback' : `libtorch addon (${net.device})`, batch, k(rate), `${gf.toFixed(1)} (${((100 * gf) / peak()).toFixed(0)} %)`, k(trainRate), `${gt.toFixed(1)} (${((100 * gt) / peak()).toFixed(0)} %)`, Math.max(t.others, tr.others).toFixed(2)]);
      }
    }
    // The whole predictLdos path (scalers, 4096-point chunks, clamp) on 65 536 points.
    const nPts = 65536;
    const x = randomArray(rng, nPts * nIn);
    const model = new LdosModel({
      spec, weights: params,
      inputScaler: new DataScaler('feature-wise-standard').fit(randomArray(rng, 100 * nIn), nIn),
      outputScaler: new DataScaler('minmax').fit(randomArray(rng, 100 * nOut), nOut),
      descriptors: { ...malaModelDescriptorDefaults },
      energyGrid: makeEnergyGrid(-5, 1, nOut), restrictTargets: 'zero_out_negative', reference: null,
    }, 'bench', { backend: 'torch' });
    const t = await timeIt(() => model.predictLdos(x, nPts));
    const g = (2 * mac * nPts) / t.s / 1e9;
    row([name, 'predictLdos (scale + net + unscale + clamp, 4096-point chunks)', nPts, k(nPts / t.s), `${g.toFixed(1)} (${((100 * g) / peak()).toFixed(0)} %)`, '', '', t.others.toFixed(2)]);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
