/**
 * `train --input-noise σ` (issue 16): Gaussian noise on the scaled descriptors of every batch, a
 * smoothness regulariser for the network's slope with respect to its inputs (what the forces are
 * made of). Asserted: off is the old training bit for bit; on, it is seeded (two runs equal, a
 * resumed checkpoint ends equal to an uninterrupted run), other than off, and it flattens the
 * trained network's input Jacobian; a bad σ is one error naming the flag.
 */
import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import { MalaError } from '../../src/errors';
import { forwardAll } from '../../src/network/mlp';
import { inputVjp } from '../../src/network/mlp-vjp';
import { Rng } from '../../src/network/rng';
import { trainNetwork, type TrainResult } from '../../src/network/trainer';
import { checkTrainNumbers } from '../../src/workflow/train-option-check';
import { tempDir } from '../helpers';
import { teacherData } from './synthetic';
import { trainOptions } from './train-options';

/** RMS of Jᵀ·g over the points, g random ±1 per output: the size of the scaled network's input slope. */
function inputSlopeRms(r: TrainResult, x: Float32Array, n: number): number {
  const m = r.model;
  const nIn = m.spec.layerSizes[0];
  const nOut = m.spec.layerSizes[m.spec.layerSizes.length - 1];
  const xs = m.inputScaler.transform(Float32Array.from(x), nIn);
  const hs = forwardAll(m.spec, m.weights, xs, n);
  const rng = new Rng(7);
  const g = new Float64Array(n * nOut).map(() => (rng.uniform() < 0.5 ? -1 : 1));
  const gin = inputVjp(m.spec, m.weights, hs, g, n);
  return Math.sqrt(gin.reduce((s, v) => s + v * v, 0) / gin.length);
}

describe('train --input-noise', function () {
  this.timeout(120_000);
  const train = teacherData(1, 600);
  const val = teacherData(2, 200);

  it('0 is the training without noise bit for bit; σ > 0 is seeded, resumable, and other than off', async () => {
    const off = await trainNetwork(train, val, trainOptions());
    const zero = await trainNetwork(train, val, { ...trainOptions(), inputNoise: 0 });
    assert.deepEqual(zero.model.weights, off.model.weights);
    const a = await trainNetwork(train, val, { ...trainOptions(), inputNoise: 0.2 });
    const b = await trainNetwork(train, val, { ...trainOptions(), inputNoise: 0.2 });
    assert.deepEqual(b.model.weights, a.model.weights, 'same seed, same noise');
    assert.notDeepEqual(a.model.weights, off.model.weights);
    assert.equal((a.model.provenance as { inputNoise?: number }).inputNoise, 0.2, 'the archive records it');
    const t = tempDir();
    try {
      const checkpoint = path.join(t.dir, 'ck.zip');
      await trainNetwork(train, val, { ...trainOptions(), inputNoise: 0.2, epochs: 2, checkpoint, resume: true });
      const resumed = await trainNetwork(train, val, { ...trainOptions(), inputNoise: 0.2, checkpoint, resume: true });
      assert.equal(resumed.resumedFromEpoch, 2);
      assert.deepEqual(resumed.model.weights, a.model.weights, 'resumed = uninterrupted');
      await assert.rejects(trainNetwork(train, val, { ...trainOptions(), inputNoise: 0.3, checkpoint, resume: true }), /other training options/);
    } finally {
      t.cleanup();
    }
  });

  it('flattens the input slope of the trained network (what forces are made of)', async () => {
    const opts = { ...trainOptions(), epochs: 20, lrScheduler: null };
    const off = await trainNetwork(train, val, opts);
    const on = await trainNetwork(train, val, { ...opts, inputNoise: 1 });
    const sOff = inputSlopeRms(off, val.x, val.nPoints);
    const sOn = inputSlopeRms(on, val.x, val.nPoints);
    assert.ok(sOn < 0.7 * sOff, `input slope rms ${sOn} with noise vs ${sOff} without`);
  });

  it('a σ out of range is one error naming --input-noise', () => {
    for (const v of [-0.1, Number.NaN, 20]) assert.throws(() => checkTrainNumbers({ inputNoise: v }), (e: unknown) => e instanceof MalaError && /--input-noise/.test(e.message));
    checkTrainNumbers({ inputNoise: 0.1 });
  });
});
