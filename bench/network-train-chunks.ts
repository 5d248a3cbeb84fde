/**
 * One large CPU training step of the libtorch addon, whole against in row chunks: fine-tuning
 * (mala-ts finetune) steps on every point of a frame and its two displaced copies at once, 10⁵
 * rows for an 8-atom Al frame, where `mala-ts train` steps on mini-batches of 64.
 *
 *   npx tsx bench/network-train-chunks.ts [--width 512] [--rows 103680] [--rounds 4] [--chunks 2048,4096]
 *
 * Net 91→W→W→151 (LeakyReLU), random weights and data. Each round times, in turn, a step with the
 * chunk the addon chooses (4 MiB of the widest activation: 2048 rows at W = 512) and a step of
 * the whole batch at once (MALA_TS_TRAIN_CHUNK_ROWS above the row count), then the inference
 * forward of the same rows as the machine's practical ceiling; the first round warms up and is
 * not counted. Printed: the median seconds and GFLOP/s (6 MACs per trained row, 2 per inferred
 * row) and the ratio whole/chunked. --chunks adds steps with those chunk sizes (rows) to each round.
 *
 * Measured 2026-12-07 (afternoon) on the project's 2-core machine, the al-broad training niced
 * beside it. `--rounds 3 --chunks 8192`: chunked (now 2048 rows) 1.73 s per step (139.1 GFLOP/s,
 * the forward's rate), chunks of 8192 rows (the earlier 16 MiB default) 2.82 s (85.2 GFLOP/s),
 * whole 8.13 s, forward 0.58 s (138.0 GFLOP/s). Chunk sizes, s per step (`--chunks 1024,2048,4096,…`):
 * at 512 wide 1024: 1.87, 2048: 1.80, 4096: 2.41, 16384: 6.77; at 128 wide (--width 128
 * --rounds 2) 1024: 0.39, 2048: 0.42, 4096: 0.34, 8192: 0.40, the earlier default (32768) 1.06;
 * at 1024 wide 1024: 5.60, 2048: 5.76, 4096: 6.91, 8192: 14.91. End to end (3 c8at frames, one
 * epoch, as below, interleaved): 24.8 and 28.2 s against 30.2 and 29.3 s with 8192-row chunks.
 *
 * Earlier the same day, with 16 MiB chunks against the whole step (QE running niced beside it):
 * chunked 3.05 s per step (78.8 GFLOP/s; rounds 2.54–3.19 s), whole 8.81 s (27.3 GFLOP/s;
 * 8.37–8.82 s), forward 0.64 s (125.5 GFLOP/s): whole / chunked 2.89×. In the whole step a quarter
 * of the time went to page faults (perf record: exc_page_fault under memset and sgemm): its
 * activations, 200 MB each, are fresh mappings on every step. End to end, `mala-ts finetune
 * --epochs 1` on 3 c8at frames with forces at 512 wide (the RECIPE's weights, start-up included)
 * took 27.2–31.4 s against 42.7–53.7 s with the whole-batch step, interleaved.
 */
import '../src/network/backend';
import { createTrainableNet } from '../src/network/backends/registry';
import { initParameters, type NetworkSpec } from '../src/network/mlp';
import { Rng } from '../src/network/rng';
import { arg, helpIfAsked } from './help';
import { median } from './stats';

helpIfAsked(__filename);

const width = Number(arg('width', '512'));
const rows = Number(arg('rows', '103680'));
const rounds = Number(arg('rounds', '4'));
const chunkSizes = arg('chunks', '').split(',').filter((s) => s).map(Number);
const spec: NetworkSpec = { layerSizes: [91, width, width, 151], activations: ['LeakyReLU', 'LeakyReLU', null] };
const macs = rows * (91 * width + width * width + width * 151);

async function main(): Promise<void> {
  const rng = new Rng(1);
  const net = createTrainableNet(spec, initParameters(spec, rng), { backend: 'torch' });
  net.configureAdam({ lr: 1e-6, weightDecay: 0 });
  const x = new Float32Array(rows * 91).map(() => rng.uniform());
  const y = new Float32Array(rows * 151).map(() => rng.uniform());
  const times: Record<'chunked' | 'whole' | 'forward', number[]> = { chunked: [], whole: [], forward: [] };
  const sized = chunkSizes.map(() => [] as number[]);
  const time = async (f: () => Promise<unknown>) => {
    const t0 = performance.now();
    await f();
    return (performance.now() - t0) / 1000;
  };
  for (let r = 0; r <= rounds; r++) {
    delete process.env.MALA_TS_TRAIN_CHUNK_ROWS;
    const chunked = await time(() => net.trainStep(x, y, rows));
    process.env.MALA_TS_TRAIN_CHUNK_ROWS = String(rows + 1);
    const whole = await time(() => net.trainStep(x, y, rows));
    delete process.env.MALA_TS_TRAIN_CHUNK_ROWS;
    const forward = await time(() => net.forward(x, rows));
    const bySize: number[] = [];
    for (const c of chunkSizes) {
      process.env.MALA_TS_TRAIN_CHUNK_ROWS = String(c);
      bySize.push(await time(() => net.trainStep(x, y, rows)));
    }
    delete process.env.MALA_TS_TRAIN_CHUNK_ROWS;
    process.stderr.write(`round ${r}${r === 0 ? ' (warm-up)' : ''}: chunked ${chunked.toFixed(2)} s, whole ${whole.toFixed(2)} s, forward ${forward.toFixed(2)} s${bySize.map((s, i) => `, chunks of ${chunkSizes[i]} ${s.toFixed(2)} s`).join('')}\n`);
    if (r === 0) continue;
    bySize.forEach((s, i) => sized[i].push(s));
    times.chunked.push(chunked);
    times.whole.push(whole);
    times.forward.push(forward);
  }
  const line = (name: string, t: number[], flopsPerMac: number) => `  ${name.padEnd(16)} ${median(t).toFixed(2)} s  ${((flopsPerMac * macs) / median(t) / 1e9).toFixed(1)} GFLOP/s   (${t.map((v) => v.toFixed(2)).join(', ')})\n`;
  process.stdout.write(
    `91→${width}→${width}→151, ${rows} rows, median of ${rounds} rounds:\n` +
      line('step, chunked', times.chunked, 6) +
      line('step, whole', times.whole, 6) +
      line('forward', times.forward, 2) +
      chunkSizes.map((c, i) => line(`step, ${c} rows`, sized[i], 6)).join('') +
      `  whole / chunked  ${(median(times.whole) / median(times.chunked)).toFixed(2)}×\n`,
  );
}

main().catch((e) => {
  process.stderr.write(`${(e as Error).stack}\n`);
  process.exit(1);
});
