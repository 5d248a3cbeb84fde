/**
 * Training of the LDOS network the way MALA's Trainer does it (spec §4.2): scalers fitted on the
 * training points only, mini-batches (shuffled per epoch with a seed), MSE on scaled LDOS, Adam
 * (optional weight decay), validation MSE after each epoch, optional ReduceLROnPlateau and early
 * stopping. Checkpoints after every `checkpointEveryEpochs` epochs hold weights, Adam state and
 * the schedule, so a killed run resumed from its checkpoint ends bit-identical to an
 * uninterrupted one (shuffles are a pure function of seed and epoch).
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { MalaError } from '../errors';
import type { EnergyGrid } from '../targets/energy-grid';
import { silentProgress, type Progress } from '../util/progress';
import { createTrainableNet, netDeviceChoice, type BackendName } from './backends';
import type { DeviceChoice } from './device';
import { initParameters, checkSpec, type Activation, type NetworkSpec } from './mlp';
import { readModelData, saveModelData } from './model';
import type { DescriptorParameters, ModelData, ReferenceData, TrainingState } from './model-data';
import { Rng } from './rng';
import { DataScaler } from './scalers';

/** Points × features, row-major: descriptors (xyz dropped) and LDOS in 1/(eV·Å³). */
export interface PointData {
  x: Float32Array;
  y: Float32Array;
  nPoints: number;
}

export interface TrainOptions {
  /** Hidden layer sizes; input and output sizes come from the data. */
  hiddenLayers: number[];
  activation?: Activation;
  /** Apply the activation after the output layer too (MALA's default: true). */
  activationOnOutput?: boolean;
  epochs: number;
  batchSize?: number;
  learningRate?: number;
  weightDecay?: number;
  /**
   * Gaussian noise of this standard deviation added to every training batch's scaled descriptors
   * (units of the input scaler's output: feature standard deviations for the default scaling); 0 = off.
   * A smoothness regulariser: it penalises the network's slope with respect to its inputs, which is
   * what the forces are made of (issue 16). Seeded per epoch and batch, so a resume is bit-identical.
   */
  inputNoise?: number;
  seed?: number;
  shuffle?: boolean;
  inputScaling?: string;
  outputScaling?: string;
  /**
   * Per-energy weights of the squared LDOS error in the loss (one per output; outputScaling must be
   * the global minmax): made into a feature-wise minmax output scaler (DataScaler.weightedMinmax).
   */
  outputWeights?: number[];
  /** Stop after this many epochs without validation improvement (0 = off). */
  earlyStoppingEpochs?: number;
  earlyStoppingThreshold?: number;
  /** null or 'ReduceLROnPlateau' (factor lrDecay, patience lrPatience, torch's rel. threshold 1e-4). */
  lrScheduler?: 'ReduceLROnPlateau' | null;
  lrDecay?: number;
  lrPatience?: number;
  /** Checkpoint archive; resumed from when it exists and `resume` is true. */
  checkpoint?: string;
  checkpointEveryEpochs?: number;
  resume?: boolean;
  backend?: BackendName | 'auto';
  /** 'auto' | 'cpu' | 'cuda' | 'cuda:N' (src/network/device.ts); a checkpoint resumes on any device. */
  device?: string;
  /**
   * The caller hands the rows over: they are scaled in place, not copied, so they are held once
   * (runTraining, whose rows of a hundred frames are gigabytes). The data hash of a checkpoint is
   * taken before, so checkpoints resume either way.
   */
  scaleInPlace?: boolean;
  descriptors: DescriptorParameters;
  energyGrid: EnergyGrid;
  reference?: ReferenceData | null;
}

export interface EpochRecord {
  epoch: number;
  trainLoss: number;
  validationLoss: number;
  learningRate: number;
  seconds: number;
}

export interface TrainHooks {
  onEpoch?: (r: EpochRecord) => void;
  /** After every optimizer step (epoch from 1, batch index from 0). */
  onBatch?: (epoch: number, batch: number) => void;
}

export interface TrainResult {
  model: ModelData;
  history: EpochRecord[];
  stoppedEarly: boolean;
  resumedFromEpoch: number;
  backend: string;
  /** The device and why (--device). */
  device?: DeviceChoice;
}

const DEFAULTS = {
  activation: 'LeakyReLU' as Activation,
  activationOnOutput: true,
  batchSize: 40,
  learningRate: 1e-5,
  weightDecay: 0,
  inputNoise: 0,
  seed: 0,
  shuffle: true,
  inputScaling: 'feature-wise-standard',
  outputScaling: 'minmax',
  earlyStoppingEpochs: 0,
  earlyStoppingThreshold: 0,
  lrScheduler: null as 'ReduceLROnPlateau' | null,
  lrDecay: 0.1,
  lrPatience: 0,
  checkpointEveryEpochs: 1,
};

/** The options that must match for a checkpoint to be resumed. */
function fingerprint(o: Required<Omit<TrainOptions, 'checkpoint' | 'resume' | 'backend' | 'device' | 'reference' | 'epochs' | 'earlyStoppingEpochs'>>, nTrain: number, nVal: number): string {
  return JSON.stringify([o.hiddenLayers, o.activation, o.activationOnOutput, o.batchSize, o.learningRate, o.weightDecay, o.seed, o.shuffle, o.inputScaling, o.outputScaling,
    o.earlyStoppingThreshold, o.lrScheduler, o.lrDecay, o.lrPatience, o.descriptors.twojmax, o.energyGrid, nTrain, nVal,
    // (only when on, so that checkpoints written before the option still resume)
    ...(o.inputNoise ? [{ inputNoise: o.inputNoise }] : []),
    ...(o.outputWeights ? [{ outputWeights: o.outputWeights }] : [])]);
}

/** sha256 of every training and validation value: the point counts alone let other data of the same size resume a checkpoint. */
function dataSha256(train: PointData, validation: PointData): string {
  const h = createHash('sha256');
  for (const a of [train.x, train.y, validation.x, validation.y]) h.update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
  return h.digest('hex');
}

function checkData(d: PointData, nIn: number, nOut: number, what: string): void {
  if (d.x.length !== d.nPoints * nIn || d.y.length !== d.nPoints * nOut) {
    throw new MalaError(`${what}: ${d.nPoints} points need ${d.nPoints * nIn} descriptor and ${d.nPoints * nOut} LDOS values, got ${d.x.length} and ${d.y.length}`);
  }
  for (const [arr, name] of [[d.x, 'descriptors'], [d.y, 'LDOS']] as const) {
    for (let i = 0; i < arr.length; i++) {
      if (!Number.isFinite(arr[i])) throw new MalaError(`${what}: ${name} value ${i} (point ${Math.floor(i / (name === 'LDOS' ? nOut : nIn))}) is ${arr[i]}`, { fix: 'regenerate the damaged data file' });
    }
  }
}

/** Adds N(0, σ²) to every value of `x` (Box–Muller on the seeded generator of this epoch and batch). */
function addInputNoise(x: Float32Array, n: number, sigma: number, seed: number, epoch: number, batch: number): void {
  const rng = new Rng((Math.imul(seed >>> 0, 0x27d4eb2f) + Math.imul(epoch, 0x165667b1) + Math.imul(batch + 1, 0x9e3779b9)) >>> 0);
  for (let i = 0; i < n; i += 2) {
    const r = sigma * Math.sqrt(-2 * Math.log(1 - rng.uniform()));
    const t = 2 * Math.PI * rng.uniform();
    x[i] += r * Math.cos(t);
    if (i + 1 < n) x[i + 1] += r * Math.sin(t);
  }
}

/** Seeded permutation of epoch `epoch` (a pure function, so a resumed run shuffles identically). */
function epochPermutation(seed: number, epoch: number, n: number): Uint32Array {
  return new Rng((Math.imul(seed >>> 0, 0x9e3779b1) + Math.imul(epoch, 0x85ebca6b)) >>> 0).permutation(n);
}

export async function trainNetwork(train: PointData, validation: PointData, options: TrainOptions, progress: Progress = silentProgress, hooks: TrainHooks = {}): Promise<TrainResult> {
  const o = { ...DEFAULTS, ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) } as Required<TrainOptions>;
  const nIn = train.nPoints > 0 ? train.x.length / train.nPoints : 0;
  const nOut = o.energyGrid.count;
  if (!Number.isInteger(nIn) || nIn <= 0) throw new MalaError(`training descriptors: ${train.x.length} values do not split into ${train.nPoints} points`);
  checkData(train, nIn, nOut, 'training data');
  checkData(validation, nIn, nOut, 'validation data');
  if (validation.nPoints === 0) throw new MalaError('no validation points', { fix: 'give a validation snapshot (--validation desc.npy:ldos.npy)' });
  if (!(o.epochs >= 1) || !(o.batchSize >= 1)) throw new MalaError(`epochs (${o.epochs}) and batch size (${o.batchSize}) must be ≥ 1`);
  const spec: NetworkSpec = {
    layerSizes: [nIn, ...o.hiddenLayers, nOut],
    activations: [...o.hiddenLayers.map(() => o.activation), o.activationOnOutput ? o.activation : null],
  };
  checkSpec(spec, 'training options');
  const fp = fingerprint(o as never, train.nPoints, validation.nPoints);

  // Scalers from the training points only; scaled copies of both sets.
  const inputScaler = new DataScaler(o.inputScaling).fit(train.x, nIn);
  let outputScaler = new DataScaler(o.outputScaling).fit(train.y, nOut);
  if (o.outputWeights) {
    if (o.outputWeights.length !== nOut) throw new MalaError(`${o.outputWeights.length} output weights for ${nOut} outputs`);
    if (o.outputScaling !== 'minmax') throw new MalaError(`output weights need --output-scaling minmax (got ${o.outputScaling})`, { fix: 'use --output-scaling minmax with the energy weighting' });
    outputScaler = DataScaler.weightedMinmax(outputScaler, o.outputWeights);
  }
  // the rows as given, before any scaling (a checkpoint is resumed only on the same data)
  const dataHash = dataSha256(train, validation);
  const own = (a: Float32Array) => (o.scaleInPlace ? a : Float32Array.from(a));
  const tx = inputScaler.transform(own(train.x), nIn);
  const ty = outputScaler.transform(own(train.y), nOut);
  const vx = inputScaler.transform(own(validation.x), nIn);
  const vy = outputScaler.transform(own(validation.y), nOut);

  let params = initParameters(spec, new Rng(o.seed));
  let state = { epoch: 0, learningRate: o.learningRate, bestValidation: Infinity, badEpochs: 0, schedBest: Infinity, schedBad: 0, history: [] as EpochRecord[], fingerprint: fp, dataSha256: dataHash };
  let optimizer: TrainingState['optimizer'] = { step: 0, expAvg: [], expAvgSq: [] };
  let resumedFromEpoch = 0;
  if (o.checkpoint && o.resume && fs.existsSync(o.checkpoint)) {
    const ck = readModelData(o.checkpoint);
    const s = ck.training?.state as typeof state | undefined;
    if (!s || !ck.training) throw new MalaError('the checkpoint holds no training state', { file: o.checkpoint, fix: 'remove it or pass another --checkpoint' });
    if (s.fingerprint !== fp) throw new MalaError('the checkpoint was written with other training options or data', { file: o.checkpoint, fix: 'use the same options and data to resume, or delete the checkpoint to start over' });
    // (checkpoints written before the data hash carry none and resume as they did)
    if (s.dataSha256 !== undefined && s.dataSha256 !== state.dataSha256) {
      throw new MalaError(`the checkpoint was written for other training data: the same options and point counts (${train.nPoints} training, ${validation.nPoints} validation), but other descriptor or LDOS values (sha256 ${s.dataSha256.slice(0, 12)}…, this data ${state.dataSha256.slice(0, 12)}…)`, {
        file: o.checkpoint,
        fix: 'resume with the snapshots (and their order) it was written for, or delete the checkpoint to start over',
      });
    }
    params = ck.weights;
    optimizer = ck.training.optimizer;
    state = s;
    resumedFromEpoch = s.epoch;
  }

  const net = createTrainableNet(spec, params, { backend: o.backend, device: o.device });
  net.configureAdam({ lr: state.learningRate, weightDecay: o.weightDecay });
  if (resumedFromEpoch > 0) net.setOptimizerState(optimizer);

  const modelData = (): ModelData => ({
    spec, weights: net.getParameters(), inputScaler, outputScaler, descriptors: o.descriptors, energyGrid: o.energyGrid,
    restrictTargets: 'zero_out_negative', reference: o.reference ?? null,
    provenance: { source: 'mala-ts train', seed: o.seed, epochs: state.epoch, batchSize: o.batchSize, learningRate: o.learningRate, ...(o.inputNoise ? { inputNoise: o.inputNoise } : {}), trainPoints: train.nPoints, validationPoints: validation.nPoints },
  });

  const validate = async (): Promise<number> => {
    let sse = 0;
    const chunk = 4096;
    for (let p0 = 0; p0 < validation.nPoints; p0 += chunk) {
      const n = Math.min(chunk, validation.nPoints - p0);
      sse += await net.lossSum(vx.subarray(p0 * nIn, (p0 + n) * nIn), vy.subarray(p0 * nOut, (p0 + n) * nOut), n);
    }
    return sse / (validation.nPoints * nOut);
  };

  // a batch never holds more than every point (a --batch-size of 1e9 is one full batch, not 1e9 rows)
  const bs = Math.min(o.batchSize, train.nPoints);
  const nBatches = Math.ceil(train.nPoints / bs);
  const xb = new Float32Array(bs * nIn);
  const yb = new Float32Array(bs * nOut);
  let stoppedEarly = state.badEpochs >= o.earlyStoppingEpochs && o.earlyStoppingEpochs > 0;
  progress.start('training', (o.epochs - state.epoch) * train.nPoints, 'samples');
  try {
    while (state.epoch < o.epochs && !stoppedEarly) {
      const epoch = state.epoch + 1;
      const t0 = Date.now();
      const perm = o.shuffle ? epochPermutation(o.seed, epoch, train.nPoints) : null;
      let lossSum = 0;
      for (let b = 0; b < nBatches; b++) {
        const start = b * bs;
        const n = Math.min(bs, train.nPoints - start);
        for (let k = 0; k < n; k++) {
          const r = perm ? perm[start + k] : start + k;
          xb.set(tx.subarray(r * nIn, (r + 1) * nIn), k * nIn);
          yb.set(ty.subarray(r * nOut, (r + 1) * nOut), k * nOut);
        }
        if (o.inputNoise > 0) addInputNoise(xb, n * nIn, o.inputNoise, o.seed, epoch, b);
        lossSum += (await net.trainStep(xb, yb, n)) * n;
        progress.tick(n);
        hooks.onBatch?.(epoch, b);
      }
      const validationLoss = await validate();
      if (!Number.isFinite(validationLoss)) throw new MalaError(`training diverged at epoch ${epoch} (validation loss ${validationLoss})`, { fix: 'lower the learning rate' });
      // ReduceLROnPlateau (torch defaults besides factor/patience: mode min, rel. threshold 1e-4).
      if (o.lrScheduler === 'ReduceLROnPlateau') {
        if (validationLoss < state.schedBest * (1 - 1e-4)) {
          state.schedBest = validationLoss;
          state.schedBad = 0;
        } else if (++state.schedBad > o.lrPatience) {
          state.learningRate *= o.lrDecay;
          state.schedBad = 0;
          net.configureAdam({ lr: state.learningRate });
        }
      }
      if (validationLoss < state.bestValidation * (1 - o.earlyStoppingThreshold)) {
        state.bestValidation = validationLoss;
        state.badEpochs = 0;
      } else {
        state.badEpochs++;
      }
      const rec: EpochRecord = { epoch, trainLoss: lossSum / train.nPoints, validationLoss, learningRate: state.learningRate, seconds: (Date.now() - t0) / 1000 };
      state.history.push(rec);
      state.epoch = epoch;
      if (o.earlyStoppingEpochs > 0 && state.badEpochs >= o.earlyStoppingEpochs) stoppedEarly = true;
      if (o.checkpoint && (epoch % o.checkpointEveryEpochs === 0 || epoch === o.epochs || stoppedEarly)) {
        saveModelData(o.checkpoint, { ...modelData(), training: { state: state as unknown as Record<string, unknown>, optimizer: net.getOptimizerState() } });
      }
      hooks.onEpoch?.(rec);
    }
  } finally {
    progress.stop();
  }
  return { model: modelData(), history: state.history, stoppedEarly, resumedFromEpoch, backend: net.device, device: netDeviceChoice(net) };
}
