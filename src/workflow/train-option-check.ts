/**
 * `mala-ts train`'s numbers, range-checked before any data is read (issue 14, P7/P8): a negative
 * learning rate trained "successfully" into a diverged model, a batch size of 1e9 ended in an
 * internal error. One MalaError naming the flag, the value and the range.
 */
import { MalaError } from '../errors';

export interface TrainNumbers {
  epochs?: number;
  batchSize?: number;
  learningRate?: number;
  weightDecay?: number;
  inputNoise?: number;
  earlyStoppingEpochs?: number;
  earlyStoppingThreshold?: number;
  lrPatience?: number;
  lrDecay?: number;
  checkpointEveryEpochs?: number;
  twojmax?: number;
  rcutfac?: number;
  elementWeights?: number[] | null;
}

type Rule = [flag: string, ok: (v: number) => boolean, range: string, fix: string];

const int = (v: number) => Number.isSafeInteger(v);
const RULES: Partial<Record<keyof TrainNumbers, Rule>> = {
  epochs: ['--epochs', (v) => int(v) && v >= 1, 'an integer ≥ 1', 'e.g. --epochs 100'],
  batchSize: ['--batch-size', (v) => int(v) && v >= 1, 'an integer ≥ 1', 'e.g. --batch-size 40 (MALA\'s default)'],
  learningRate: ['--learning-rate', (v) => Number.isFinite(v) && v > 0, 'a number > 0 (Adam\'s step size)', 'e.g. --learning-rate 1e-5 (MALA\'s default) … 1e-3'],
  weightDecay: ['--weight-decay', (v) => Number.isFinite(v) && v >= 0, 'a number ≥ 0', 'leave it out (0) or e.g. --weight-decay 1e-6'],
  inputNoise: ['--input-noise', (v) => Number.isFinite(v) && v >= 0 && v < 10, 'a standard deviation in [0, 10) (scaled descriptor units)', 'leave it out (0) or e.g. --input-noise 0.1'],
  earlyStoppingEpochs: ['--early-stopping', (v) => int(v) && v >= 0, 'an integer ≥ 0 (0 = off)', 'e.g. --early-stopping 10'],
  earlyStoppingThreshold: ['--early-stopping-threshold', (v) => Number.isFinite(v) && v >= 0 && v < 1, 'a relative improvement in [0, 1)', 'e.g. --early-stopping-threshold 0.001'],
  lrPatience: ['--lr-plateau', (v) => int(v) && v >= 0, 'an integer ≥ 0 (epochs)', 'e.g. --lr-plateau 5'],
  lrDecay: ['--lr-decay', (v) => Number.isFinite(v) && v > 0 && v < 1, 'a factor in (0, 1)', 'e.g. --lr-decay 0.1'],
  checkpointEveryEpochs: ['--checkpoint-every', (v) => int(v) && v >= 1, 'an integer ≥ 1 (epochs)', 'e.g. --checkpoint-every 1'],
  twojmax: ['--twojmax', (v) => int(v) && v >= 0, 'an integer ≥ 0', 'pass the twojmax the descriptors were computed with (MALA: 10)'],
  rcutfac: ['--rcutfac', (v) => Number.isFinite(v) && v > 0, 'a cutoff > 0 Å', 'pass the rcutfac the descriptors were computed with (MALA: 4.67637)'],
};

export function checkTrainNumbers(o: TrainNumbers): void {
  for (const [key, rule] of Object.entries(RULES) as [keyof TrainNumbers, Rule][]) {
    const v = o[key];
    if (v === undefined || v === null || typeof v !== 'number') continue;
    const [flag, ok, range, fix] = rule;
    if (!ok(v)) throw new MalaError(`${flag} ${v} is out of range: it must be ${range}`, { fix });
  }
  for (const w of o.elementWeights ?? []) {
    if (!(Number.isFinite(w) && w > 0)) throw new MalaError(`--element-weights: ${w} is out of range: every weight must be a number > 0`, { fix: 'e.g. --element-weights 1,0.5' });
  }
}
