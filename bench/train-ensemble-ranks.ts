/**
 * An ensemble's LDOS training in one process against its members dealt out over MPI ranks:
 * `mala-ts train --ensemble M` against `mala-ts train --ensemble M --np J`, run in turn
 * (interleaved, `--repeats` times each), wall time of the whole command (start-up included):
 *
 *   npx tsx bench/train-ensemble-ranks.ts [--data DIR] [--frames a,b,c,d] [--validation NAME]
 *     [--members 2] [--np 2] [--layers 128,128] [--epochs 2] [--repeats 3]
 *
 * DIR holds `mala-ts generate` output (<name>.in.npy, .out.npy, .info.json); the default is the
 * broad Al data's training folder (make al-broad-data) with four 8-atom frames. The one-process
 * run uses the BLAS threads it gets by default (what a user runs); the ranks get one each (--np
 * sets it). After the timings, the members of both runs are compared: equal weights need one BLAS
 * thread in the one-process run too (test/workflow/ensemble.test.ts checks that), so a difference
 * here is rounding of the threaded float32 GEMM, and is printed, not an error.
 *
 * Measured 2026-12-07 on the project's 2-core machine with QE running niced beside it (defaults):
 * one process 18.3 s (23.6, 17.8, 18.3), two ranks 11.0 s (15.9, 10.9, 11.0): 1.67×.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ensembleMembers, readModelData } from '../src/network/model';
import { arg, helpIfAsked } from './help';
import { median } from './stats';

helpIfAsked(__filename);

const repoRoot = path.resolve(__dirname, '..');
const data = arg('data', path.join(os.homedir(), '.cache', 'mala-ts', 'al-broad', 'training'));
const frames = arg('frames', 'c8at_436K_4048_e394,c8at_702K_4128_e554,c8at_258K_3983_e714,c8at_367K_4055').split(',');
const validation = arg('validation', 'c8at_633K_4015');
const members = Number(arg('members', '2'));
const ranks = Number(arg('np', '2'));
const layers = arg('layers', '128,128');
const epochs = arg('epochs', '2');
const repeats = Number(arg('repeats', '3'));

for (const n of [...frames, validation]) {
  for (const ext of ['in.npy', 'out.npy']) {
    const f = path.join(data, `${n}.${ext}`);
    if (!fs.existsSync(f)) throw new Error(`${f} is missing: make the frames (make al-broad-data) or pass --data/--frames/--validation`);
  }
}
const file = (n: string, ext: string) => path.join(data, `${n}.${ext}`);
const trainArgs = [
  'train', '--descriptors', frames.map((n) => file(n, 'in.npy')).join(','), '--ldos', frames.map((n) => file(n, 'out.npy')).join(','),
  '--validation', `${file(validation, 'in.npy')}:${file(validation, 'out.npy')}`, '--energy-grid=-5,0.1,151', '--layers', layers,
  '--epochs', epochs, '--batch-size', '64', '--learning-rate', '1e-3', '--seed', '1', '--ensemble', String(members),
  ...(fs.existsSync(file(frames[0], 'info.json')) ? ['--energy-reference', 'atom-density', '--info', file(frames[0], 'info.json')] : []),
];

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'train-ensemble-ranks-'));
const outOf = (np: number) => path.join(work, `np${np}`, 'e.zip');

function run(np: number): number {
  fs.rmSync(path.dirname(outOf(np)), { recursive: true, force: true });
  fs.mkdirSync(path.dirname(outOf(np)));
  const t0 = process.hrtime.bigint();
  execFileSync(process.execPath, [path.join(repoRoot, 'bin', 'mala-ts.js'), ...trainArgs, ...(np > 1 ? ['--np', String(np)] : []), '--out', outOf(np)], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, CI: 'true' } });
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

try {
  const times: Record<number, number[]> = { 1: [], [ranks]: [] };
  for (let r = 0; r < repeats; r++) {
    for (const np of [1, ranks]) {
      const s = run(np);
      times[np].push(s);
      process.stderr.write(`repeat ${r + 1}: ${np === 1 ? 'one process' : `${np} ranks`}: ${s.toFixed(1)} s\n`);
    }
  }
  const one = median(times[1]);
  const many = median(times[ranks]);
  const a = ensembleMembers(readModelData(outOf(1)));
  const b = ensembleMembers(readModelData(outOf(ranks)));
  const same = a.length === b.length && a.every((m, k) => m.weights.every((w, i) => w.length === b[k].weights[i].length && w.every((x, j) => x === b[k].weights[i][j])));
  process.stdout.write(
    `${members} members of ${layers}, ${frames.length} frames, ${epochs} epochs (wall of the whole command, median of ${repeats}):\n` +
      `  one process       ${one.toFixed(1)} s   (${times[1].map((t) => t.toFixed(1)).join(', ')})\n` +
      `  ${ranks} MPI ranks       ${many.toFixed(1)} s   (${times[ranks].map((t) => t.toFixed(1)).join(', ')})\n` +
      `  speed-up          ${(one / many).toFixed(2)}×\n` +
      `  members' weights  ${same ? 'identical' : 'differ (the one-process run used threaded BLAS: float32 rounding)'}\n`,
  );
} finally {
  fs.rmSync(work, { recursive: true, force: true });
}
