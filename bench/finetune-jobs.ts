/**
 * Fine-tuning an ensemble's members at once or in turn (not a test):
 *
 *   npx tsx bench/finetune-jobs.ts --models A.zip,B.zip,C.zip --data DIR --snapshots S1,S2,… [--rounds 2] [--pseudo-dir DIR]
 *
 * What al-broad-finetune's AL_BROAD_FT_JOBS chooses: each given member fine-tuned one epoch with
 * forces (the mk's weights: λ_F 10, λ_E 400, λ_B 400, λ_μ 1000, lr 1e-5) on the given frames,
 * (a) all at once, (b) all at once with one thread each (OPENBLAS_NUM_THREADS, MALA_TS_SNA_THREADS,
 * MALA_TS_TORCH_THREADS = 1), (c) one after another; the three interleaved per round, the wall
 * seconds of each whole set and their medians printed.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { repoRoot } from '../bindings/native-paths';
import { arg, helpIfAsked } from './help';
import { timeWaysInterleaved } from './stats';

helpIfAsked(__filename);

function finetune(model: string, out: string, o: { data: string; snapshots: string; pseudoDir: string }, env: NodeJS.ProcessEnv): Promise<void> {
  const args = [path.join(repoRoot, 'bin', 'mala-ts.js'), 'finetune', '--model', model, '--data', o.data, '--snapshots', o.snapshots, '--epochs', '1', '--learning-rate', '1e-5',
    '--force-weight', '10', '--energy-weight', '400', '--band-weight', '400', '--fermi-weight', '1000', '--pseudo-dir', o.pseudoDir, '--out', out];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (b: Buffer) => (err = (err + b.toString()).slice(-2000)));
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`finetune of ${model} failed (exit ${code}):\n${err}`))));
  });
}

async function main(): Promise<void> {
  const models = arg('models').split(',');
  const o = { data: arg('data'), snapshots: arg('snapshots'), pseudoDir: arg('pseudo-dir', '/usr/share/espresso/pseudo') };
  const rounds = Number(arg('rounds', '2'));
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'finetune-jobs-'));
  const oneThread = { OPENBLAS_NUM_THREADS: '1', MALA_TS_SNA_THREADS: '1', MALA_TS_TORCH_THREADS: '1' };
  const ways: [string, () => Promise<unknown>][] = [
    ['at once', () => Promise.all(models.map((m, k) => finetune(m, path.join(tmp, `a${k}.zip`), o, {})))],
    ['at once, 1 thread each', () => Promise.all(models.map((m, k) => finetune(m, path.join(tmp, `b${k}.zip`), o, oneThread)))],
    ['one after another', async () => {
      for (const [k, m] of models.entries()) await finetune(m, path.join(tmp, `c${k}.zip`), o, {});
    }],
  ];
  try {
    await timeWaysInterleaved(ways, rounds, `${models.length} members`);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
