/**
 * Train the shipped aluminium model (models/al-fcc-298K) on snapshots made by `mala-ts generate`.
 *
 *   npx tsx bench/al-train.ts --data .cache/al-fcc-298K/data --out models/al-fcc-298K/model.zip [--epochs 60]
 *       [--activation LeakyReLU|Tanh|Sigmoid|ReLU] [--extra-train NAME,NAME,...] (experiments: other
 *       activations, more training snapshots of the same data folder) [--seed 1] (network init and shuffling)
 *
 * Snapshots Al4_298K_0..4, 8..11 and Al8_298K_0..3 train, Al4_298K_5 validates (LR schedule);
 * Al4_298K_6 and _7 are held out for bench/al-eval.ts and never seen here. Resumable through a checkpoint in the data folder.
 * Writes the model and <out dir>/training.json (loss curve, settings, wall time).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic } from '../src/io/atomic-write';
import { makeEnergyGrid } from '../src/targets/energy-grid';
import { defaultProgress } from '../src/util/progress';
import { runTraining } from '../src/workflow/train';
import { arg, helpIfAsked } from './help';

helpIfAsked(__filename);

// 4-atom cells alone give too few, too correlated environments for larger cells (a 4-atom cell's
// atoms move with their images): 8-atom cells (2×1×1) widen the neighbour-distance range.
export const AL_TRAIN = [0, 1, 2, 3, 4, 8, 9, 10, 11].map((i) => `Al4_298K_${i}`).concat([0, 1, 2, 3].map((i) => `Al8_298K_${i}`));
export const AL_VALIDATION = ['Al4_298K_5'];
export const AL_HELD_OUT = ['Al4_298K_6', 'Al4_298K_7'];

async function main(): Promise<void> {
  const data = path.resolve(arg('data'));
  const out = path.resolve(arg('out'));
  const epochs = Number(arg('epochs', '40'));
  const snap = (n: string) => ({ descriptors: path.join(data, `${n}.in.npy`), ldos: path.join(data, `${n}.out.npy`) });
  const info = JSON.parse(fs.readFileSync(path.join(data, 'Al4_298K_0.info.json'), 'utf8'));
  const m = info.mala_ts;
  const energyGrid = makeEnergyGrid(m.ldos_gridoffset_ev, m.ldos_gridspacing_ev, m.ldos_gridsize);
  const settings = {
    hiddenLayers: arg('layers', '128,128').split(',').map(Number),
    activation: arg('activation', 'LeakyReLU') as 'LeakyReLU',
    epochs,
    batchSize: 64,
    learningRate: Number(arg('lr', '1e-3')),
    // ensemble members (models/al-fcc-298K-ensemble) differ only in this seed
    seed: Number(arg('seed', '1')),
    inputScaling: 'feature-wise-standard',
    outputScaling: 'minmax',
    // 0 = off: the validation MSE of one 4-atom snapshot is a poor proxy for energy errors
    earlyStoppingEpochs: Number(arg('early-stopping', '0')),
    weightDecay: Number(arg('weight-decay', '0')),
    lrScheduler: 'ReduceLROnPlateau' as const,
    lrDecay: 0.3,
    lrPatience: 4,
  };
  const extra = arg('extra-train', '');
  const training = extra ? AL_TRAIN.concat(extra.split(',')) : AL_TRAIN;
  const t0 = Date.now();
  const res = await runTraining(
    {
      ...settings,
      training: training.map(snap),
      validation: AL_VALIDATION.map(snap),
      energyGrid,
      referenceInfo: path.join(data, 'Al4_298K_0.info.json'),
      checkpoint: path.join(path.dirname(out), '.al-train.ckpt'),
      resume: true,
      out,
    },
    defaultProgress(),
    { onEpoch: (e) => console.log(`epoch ${e.epoch}: train ${e.trainLoss.toExponential(3)}, validation ${e.validationLoss.toExponential(3)}, lr ${e.learningRate}, ${e.seconds.toFixed(1)} s`) },
  );
  const seconds = (Date.now() - t0) / 1000;
  writeFileAtomic(
    path.join(path.dirname(out), 'training.json'),
    `${JSON.stringify({ command: `npx tsx bench/al-train.ts --data ${path.relative(process.cwd(), data)} --out ${path.relative(process.cwd(), out)} --epochs ${epochs}${extra ? ` --extra-train ${extra}` : ''}${settings.activation !== 'LeakyReLU' ? ` --activation ${settings.activation}` : ''}${settings.seed !== 1 ? ` --seed ${settings.seed}` : ''}`, settings, energyGrid, training, validation: AL_VALIDATION, heldOut: AL_HELD_OUT, wallSeconds: seconds, backend: res.backend, stoppedEarly: res.stoppedEarly, resumedFromEpoch: res.resumedFromEpoch, history: res.history }, null, 1)}\n`,
  );
  console.log(`model → ${out} (${(fs.statSync(out).size / 1024).toFixed(0)} KiB), ${seconds.toFixed(0)} s`);
}

if (require.main === module) {
  main().catch((e) => {
    console.error(e?.describe ? e.describe() : e);
    process.exit(1);
  });
}
