/**
 * Train the shipped aluminium model (models/al-fcc-298K) on snapshots made by `mala-ts generate`.
 *
 *   npx tsx bench/al-train.ts --data .cache/al-fcc-298K/data --out models/al-fcc-298K/model.zip [--epochs 60]
 *
 * Snapshots Al4_298K_0..4 train, 5 validates (early stopping, LR schedule); 6 and 7 are held out
 * for bench/al-eval.ts and never seen here. Resumable through a checkpoint in the data folder.
 * Writes the model and <out dir>/training.json (loss curve, settings, wall time).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic } from '../src/io/atomic-write';
import { makeEnergyGrid } from '../src/targets/energy-grid';
import { defaultProgress } from '../src/util/progress';
import { runTraining } from '../src/workflow/train';

function arg(name: string, def?: string): string {
  const i = process.argv.indexOf(`--${name}`);
  if (i >= 0 && process.argv[i + 1]) return process.argv[i + 1];
  if (def === undefined) throw new Error(`missing --${name}`);
  return def;
}

export const AL_TRAIN = [0, 1, 2, 3, 4];
export const AL_VALIDATION = [5];
export const AL_HELD_OUT = [6, 7];

async function main(): Promise<void> {
  const data = path.resolve(arg('data'));
  const out = path.resolve(arg('out'));
  const epochs = Number(arg('epochs', '60'));
  const snap = (i: number) => ({ descriptors: path.join(data, `Al4_298K_${i}.in.npy`), ldos: path.join(data, `Al4_298K_${i}.out.npy`) });
  const info = JSON.parse(fs.readFileSync(path.join(data, 'Al4_298K_0.info.json'), 'utf8'));
  const m = info.mala_ts;
  const energyGrid = makeEnergyGrid(m.ldos_gridoffset_ev, m.ldos_gridspacing_ev, m.ldos_gridsize);
  const settings = {
    hiddenLayers: [128, 128],
    activation: 'LeakyReLU' as const,
    epochs,
    batchSize: 64,
    learningRate: 1e-3,
    seed: 1,
    inputScaling: 'feature-wise-standard',
    outputScaling: 'minmax',
    earlyStoppingEpochs: 12,
    lrScheduler: 'ReduceLROnPlateau' as const,
    lrDecay: 0.3,
    lrPatience: 4,
  };
  const t0 = Date.now();
  const res = await runTraining(
    {
      ...settings,
      training: AL_TRAIN.map(snap),
      validation: AL_VALIDATION.map(snap),
      energyGrid,
      referenceInfo: path.join(data, 'Al4_298K_0.info.json'),
      checkpoint: path.join(data, 'al-train.ckpt'),
      resume: true,
      out,
    },
    defaultProgress(),
  );
  const seconds = (Date.now() - t0) / 1000;
  writeFileAtomic(
    path.join(path.dirname(out), 'training.json'),
    `${JSON.stringify({ command: `npx tsx bench/al-train.ts --data ${path.relative(process.cwd(), data)} --out ${path.relative(process.cwd(), out)} --epochs ${epochs}`, settings, energyGrid, training: AL_TRAIN.map((i) => `Al4_298K_${i}`), validation: AL_VALIDATION.map((i) => `Al4_298K_${i}`), heldOut: AL_HELD_OUT.map((i) => `Al4_298K_${i}`), wallSeconds: seconds, backend: res.backend, stoppedEarly: res.stoppedEarly, resumedFromEpoch: res.resumedFromEpoch, history: res.history }, null, 1)}\n`,
  );
  console.log(`model → ${out} (${(fs.statSync(out).size / 1024).toFixed(0)} KiB), ${seconds.toFixed(0)} s`);
}

if (require.main === module) {
  main().catch((e) => {
    console.error(e?.describe ? e.describe() : e);
    process.exit(1);
  });
}
