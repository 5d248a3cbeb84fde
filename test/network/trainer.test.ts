import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MalaError } from '../../src/errors';
import { readModelData } from '../../src/network/model';
import { trainNetwork } from '../../src/network/trainer';
import { makeEnergyGrid } from '../../src/targets/energy-grid';
import { runTraining } from '../../src/workflow/train';
import { runInference } from '../../src/workflow/infer';
import { readNpy } from '../../src/io/npy';
import { referenceDir, tempDir } from '../helpers';
import { teacherData } from './synthetic';
import { trainOptions } from './train-options';

describe('network/trainer', function () {
  this.timeout(120000);
  let tmp: ReturnType<typeof tempDir>;
  beforeEach(() => (tmp = tempDir()));
  afterEach(() => tmp.cleanup());
  const train = teacherData(1, 600);
  const val = teacherData(2, 200);

  it('is reproducible with a fixed seed and the validation loss falls', async function () {
    const a = await trainNetwork(train, val, trainOptions());
    const b = await trainNetwork(train, val, trainOptions());
    assert.deepEqual(b.history.map((r) => r.validationLoss), a.history.map((r) => r.validationLoss));
    assert.deepEqual(b.model.weights, a.model.weights);
    const v = a.history.map((r) => r.validationLoss);
    assert.equal(v.length, 5);
    assert.ok(v[4] < 0.5 * v[0], `validation loss ${v.join(', ')}`);
    const c = await trainNetwork(train, val, { ...trainOptions(), seed: 43 });
    assert.notDeepEqual(c.model.weights, a.model.weights);
  });

  it('scaleInPlace: the same weights as with copies; the given rows are scaled, not copied; its checkpoint resumes a copying run', async function () {
    const copied = await trainNetwork(train, val, trainOptions());
    const own = (d: typeof train) => ({ ...d, x: Float32Array.from(d.x), y: Float32Array.from(d.y) });
    const [t, v] = [own(train), own(val)];
    const checkpoint = path.join(tmp.dir, 'in-place.zip');
    const inPlace = await trainNetwork(t, v, { ...trainOptions(), epochs: 3, scaleInPlace: true, checkpoint });
    assert.notDeepEqual(Array.from(t.x.subarray(0, 8)), Array.from(train.x.subarray(0, 8)), 'the rows handed over are scaled in place');
    assert.deepEqual(Array.from(train.x.subarray(0, 8)), Array.from(teacherData(1, 600).x.subarray(0, 8)), 'without it the caller\'s rows are untouched');
    const resumed = await trainNetwork(train, val, { ...trainOptions(), checkpoint, resume: true });
    assert.equal(resumed.resumedFromEpoch, 3);
    assert.deepEqual(resumed.model.weights, copied.model.weights);
    assert.ok(inPlace.history.length === 3);
  });

  it('a run killed (SIGKILL) in the middle of an epoch resumes from its checkpoint to the same result', async function () {
    const uninterrupted = await trainNetwork(train, val, trainOptions());
    const checkpoint = path.join(tmp.dir, 'ck.zip');
    const child = spawn(process.execPath, ['-r', 'tsx/cjs', path.join(__dirname, 'train-child.ts'), checkpoint, '3', '17'], { stdio: 'inherit' });
    const signal = await new Promise((r) => child.once('exit', (_code, sig) => r(sig)));
    assert.equal(signal, 'SIGKILL');
    const ck = readModelData(checkpoint);
    assert.equal((ck.training!.state as { epoch: number }).epoch, 2, 'the checkpoint holds the last finished epoch');
    const resumed = await trainNetwork(train, val, { ...trainOptions(), checkpoint, resume: true });
    assert.equal(resumed.resumedFromEpoch, 2);
    assert.deepEqual(resumed.history, uninterrupted.history.map((r, i) => ({ ...r, seconds: resumed.history[i].seconds })));
    assert.deepEqual(resumed.model.weights, uninterrupted.model.weights);
    // Different options must not silently resume.
    await assert.rejects(trainNetwork(train, val, { ...trainOptions(), learningRate: 1e-4, checkpoint, resume: true }), /other training options/);
  });

  it('early stopping and the learning-rate schedule act on the validation loss', async function () {
    const r = await trainNetwork(train, val, { ...trainOptions(), epochs: 40, lrScheduler: null, earlyStoppingEpochs: 2, earlyStoppingThreshold: 0.2 });
    assert.ok(r.stoppedEarly && r.history.length < 40, `ran ${r.history.length} epochs`);
    const h = r.history.map((e) => e.validationLoss);
    assert.ok(h[h.length - 1] >= 0.8 * Math.min(...h.slice(0, -2)), 'the last 2 epochs brought no 20 % improvement');
    const s = await trainNetwork(train, val, { ...trainOptions(), epochs: 12, learningRate: 0.05, lrPatience: 0, lrDecay: 0.5 });
    for (let i = 1; i < s.history.length; i++) {
      const worse = s.history[i].validationLoss >= s.history.slice(0, i).reduce((m, e) => Math.min(m, e.validationLoss), Infinity) * (1 - 1e-4);
      assert.equal(s.history[i].learningRate, worse ? s.history[i - 1].learningRate * 0.5 : s.history[i - 1].learningRate, `epoch ${i + 1}`);
    }
    assert.ok(s.history[s.history.length - 1].learningRate < 0.05, 'the learning rate was reduced at least once');
  });

  it('bad training input gives clear errors', async function () {
    const bad = { x: Float32Array.from(train.x), y: train.y, nPoints: train.nPoints };
    bad.x[100] = NaN;
    await assert.rejects(trainNetwork(bad, val, trainOptions()), (e: unknown) => e instanceof MalaError && /descriptors value 100 \(point 7\) is NaN/.test(e.message));
    await assert.rejects(trainNetwork(train, { ...val, nPoints: 0, x: new Float32Array(0), y: new Float32Array(0) }, trainOptions()), /no validation points/);
    await assert.rejects(trainNetwork(train, val, { ...trainOptions(), energyGrid: makeEnergyGrid(-5, 2.5, 10) }), /LDOS values/);
  });
});

describe('network/train + infer workflows on Be2 (snapshot 0 training, snapshot 1 validation)', function () {
  this.timeout(120000);

  it('validation loss falls steadily and reproducibly; the model predicts through infer', async function () {
    const dir = referenceDir(this);
    const tmp = tempDir();
    try {
      const opts = {
        training: [{ descriptors: path.join(dir, 'Be_snapshot0.in.npy'), ldos: path.join(dir, 'Be_snapshot0.out.npy') }],
        validation: [{ descriptors: path.join(dir, 'Be_snapshot1.in.npy'), ldos: path.join(dir, 'Be_snapshot1.out.npy') }],
        energyGrid: makeEnergyGrid(-5, 2.5, 11),
        hiddenLayers: [100],
        activation: 'ReLU' as const,
        activationOnOutput: false,
        epochs: 4,
        batchSize: 40,
        learningRate: 1e-3,
        seed: 1,
        referenceInfo: path.join(dir, 'Be_snapshot0.info.json'),
        out: path.join(tmp.dir, 'be.zip'),
      };
      const a = await runTraining(opts);
      const v = a.history.map((r) => r.validationLoss);
      for (let i = 1; i < v.length; i++) assert.ok(v[i] < v[i - 1], `validation loss not falling: ${v.join(', ')}`);
      const b = await runTraining({ ...opts, out: path.join(tmp.dir, 'be2.zip') });
      assert.deepEqual(b.history.map((r) => r.validationLoss), v);
      const m = readModelData(opts.out);
      assert.equal(m.reference?.temperatureK, 299.98637294316444);
      assert.equal(m.descriptors.twojmax, 10);
      const out = path.join(tmp.dir, 'ldos1.npy');
      const r = await runInference({ model: opts.out, descriptors: opts.validation[0].descriptors, out });
      const ldos = readNpy(out);
      assert.deepEqual(ldos.shape, [18, 18, 27, 11]);
      assert.ok(Array.from(ldos.data).every((x) => x >= 0));
      assert.ok(r.pointsPerSecond > 0);
      // Wrong descriptor file for the model: a clear error naming the file, no output left behind.
      await assert.rejects(runInference({ model: opts.out, descriptors: path.join(dir, 'Be_snapshot1.out.npy'), out: path.join(tmp.dir, 'x.npy') }), (e: unknown) => e instanceof MalaError && /11 features per point; the model expects 91/.test(e.message) && /out\.npy/.test(e.file ?? ''));
      assert.ok(!fs.existsSync(path.join(tmp.dir, 'x.npy')));
    } finally {
      tmp.cleanup();
    }
  });
});
