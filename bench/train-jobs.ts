/**
 * Training an ensemble's members at once or in turn (not a test):
 *
 *   npx tsx bench/train-jobs.ts --data DIR --snapshots S1,S2,… --validation V [--members 3] [--epochs 2] [--layers 512,512] [--rounds 2]
 *
 * What al-broad-model's AL_BROAD_MODEL_JOBS does: `mala-ts train` of each member (seed K; the
 * mk's options: batch 64, lr 1e-3, LeakyReLU, the atom-density energy reference) on the given
 * frames of DIR (<name>.in.npy, .out.npy, .info.json), (a) all at once, (b) all at once with one
 * BLAS thread each (OPENBLAS_NUM_THREADS = 1), (c) one after another; the three interleaved per
 * round, the wall seconds of each whole set and their medians printed. Mini-batches of 64 rows are
 * small matrices: OpenBLAS's second thread then mostly waits (sched_yield), and with more members
 * than cores those waits take the cores the other members need.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { repoRoot } from '../bindings/native-paths';
import { arg, helpIfAsked } from './help';
import { timeWaysInterleaved } from './stats';

helpIfAsked(__filename);

interface Setup {
  data: string;
  snapshots: string[];
  validation: string;
  epochs: string;
  layers: string;
}

function train(seed: number, out: string, o: Setup, env: NodeJS.ProcessEnv): Promise<void> {
  const file = (n: string, ext: string) => path.join(o.data, `${n}${ext}`);
  const args = [path.join(repoRoot, 'bin', 'mala-ts.js'), 'train',
    '--descriptors', o.snapshots.map((n) => file(n, '.in.npy')).join(','), '--ldos', o.snapshots.map((n) => file(n, '.out.npy')).join(','),
    '--validation', `${file(o.validation, '.in.npy')}:${file(o.validation, '.out.npy')}`, '--info', file(o.validation, '.info.json'),
    '--energy-grid=-5,0.1,151', '--layers', o.layers, '--activation', 'LeakyReLU', '--epochs', o.epochs, '--batch-size', '64',
    '--learning-rate', '1e-3', '--energy-reference', 'atom-density', '--seed', String(seed), '--out', out];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (b: Buffer) => (err = (err + b.toString()).slice(-2000)));
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`train of member ${seed} failed (exit ${code}):\n${err}`))));
  });
}

async function main(): Promise<void> {
  const o: Setup = { data: arg('data'), snapshots: arg('snapshots').split(','), validation: arg('validation'), epochs: arg('epochs', '2'), layers: arg('layers', '512,512') };
  const members = Array.from({ length: Number(arg('members', '3')) }, (_, k) => k + 1);
  const rounds = Number(arg('rounds', '2'));
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'train-jobs-'));
  const oneThread = { OPENBLAS_NUM_THREADS: '1' };
  const ways: [string, () => Promise<unknown>][] = [
    ['at once', () => Promise.all(members.map((k) => train(k, path.join(tmp, `a${k}.zip`), o, {})))],
    ['at once, 1 BLAS thread each', () => Promise.all(members.map((k) => train(k, path.join(tmp, `b${k}.zip`), o, oneThread)))],
    ['one after another', async () => {
      for (const k of members) await train(k, path.join(tmp, `c${k}.zip`), o, {});
    }],
  ];
  try {
    await timeWaysInterleaved(ways, rounds, `${members.length} members`);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
