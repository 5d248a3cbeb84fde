/**
 * Per-energy loss weights (`train --energy-weighting`, issue 18): the squared LDOS error of energy k
 * weighs w_k in the loss. Made as a feature-wise minmax output scaler whose ranges are the global
 * range / √w_k (DataScaler.weightedMinmax), so inference and the archive format are unchanged.
 * Asserted: the scaler inverts exactly, scales differences by √w_k and survives the archive's
 * JSON; training with a heavy weight on one output fits that output better than without; the
 * weights of the workflow follow the training frames' Fermi level; bad weights are one error.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MalaError } from '../../src/errors';
import { forwardAll } from '../../src/network/mlp';
import { DataScaler } from '../../src/network/scalers';
import { trainNetwork, type TrainResult } from '../../src/network/trainer';
import { makeEnergyGrid } from '../../src/targets/energy-grid';
import { fermiDistanceWeights } from '../../src/workflow/train';
import { tempDir } from '../helpers';
import { teacherData } from './synthetic';
import { trainOptions } from './train-options';

describe('output weights: the loss weighs each energy\'s squared LDOS error', function () {
  this.timeout(60000);

  it('the weighted minmax scaler: exact inverse, differences scaled by √w_k / range, the same after a JSON round trip', () => {
    const data = teacherData(3, 200);
    const global = new DataScaler('minmax').fit(data.y, 9);
    const w = [1, 4, 9, 16, 25, 1, 1, 2, 100];
    const s = DataScaler.weightedMinmax(global, w);
    assert.equal(s.featureWise, true);
    const y = Float32Array.from(data.y.subarray(0, 18));
    const back = s.inverse(s.transform(Float32Array.from(y), 9), 9);
    for (let i = 0; i < y.length; i++) assert.ok(Math.abs(back[i] - y[i]) < 1e-6 * (Math.abs(y[i]) + 1e-3), `${i}: ${back[i]} vs ${y[i]}`);
    const range = global.scale[0];
    const a = Float32Array.from({ length: 9 }, () => 0.01);
    const b = Float32Array.from({ length: 9 }, () => 0.02);
    const sa = s.transform(Float32Array.from(a), 9);
    const sb = s.transform(Float32Array.from(b), 9);
    for (let k = 0; k < 9; k++) {
      const want = (0.01 * Math.sqrt(w[k])) / range;
      assert.ok(Math.abs(sb[k] - sa[k] - want) < 1e-4 * want, `feature ${k}: ${sb[k] - sa[k]} vs ${want}`);
    }
    const again = DataScaler.fromMala(s.toJSON() as unknown as Record<string, unknown>, 'round trip');
    assert.deepEqual(Array.from(again.scale), Array.from(s.scale));
    assert.deepEqual(Array.from(again.shift), Array.from(s.shift));
  });

  it('training with a heavy weight on one output fits that output better than the same training without', async () => {
    const train = teacherData(1, 600);
    const validation = teacherData(2, 300);
    const rmsOfOutput = (r: TrainResult, k: number) => {
      const m = r.model;
      const xs = m.inputScaler.transform(Float32Array.from(validation.x), 14);
      const hs = forwardAll(m.spec, m.weights, xs, validation.nPoints);
      const out = m.outputScaler.inverse(Float32Array.from(hs[hs.length - 1]), 9);
      let s = 0;
      for (let p = 0; p < validation.nPoints; p++) s += (out[p * 9 + k] - validation.y[p * 9 + k]) ** 2;
      return Math.sqrt(s / validation.nPoints);
    };
    const opts = { ...trainOptions(), backend: 'ts' as const, epochs: 4 };
    const plain = await trainNetwork(train, validation, opts);
    const weights = [400, 1, 1, 1, 1, 1, 1, 1, 1];
    const weighted = await trainNetwork(train, validation, { ...opts, outputWeights: weights });
    const [p0, w0] = [rmsOfOutput(plain, 0), rmsOfOutput(weighted, 0)];
    assert.ok(w0 < 0.85 * p0, `output 0 rms: weighted ${w0} vs plain ${p0}`);
    assert.equal(weighted.model.outputScaler.featureWise, true);
    await assert.rejects(trainNetwork(train, validation, { ...opts, outputWeights: [1, 2] }), (e: unknown) => e instanceof MalaError && /2 output weights for 9 outputs/.test(e.message));
    await assert.rejects(trainNetwork(train, validation, { ...opts, outputWeights: weights.map((x, k) => (k === 3 ? 0 : x)) }), (e: unknown) => e instanceof MalaError && /output weight 3 is 0/.test(e.message));
    await assert.rejects(trainNetwork(train, validation, { ...opts, outputScaling: 'standard', outputWeights: weights }), (e: unknown) => e instanceof MalaError && /--output-scaling minmax/.test(e.message));
  });

  it('--energy-weighting: 1 + ((E_F − E)/scale)² below the frames\' mean Fermi level on the network\'s axis, 1 above', () => {
    const t = tempDir();
    try {
      const cell = (a: number) => [[a, 0, 0], [0, a, 0], [0, 0, a]];
      const frames = [{ name: 'a', fermi: 7.9, a: 4.0 }, { name: 'b', fermi: 7.3, a: 4.1 }].map((f) => {
        const base = path.join(t.dir, f.name);
        fs.writeFileSync(`${base}.info.json`, JSON.stringify({ atoms: { numbers: [13, 13, 13, 13], cell: cell(f.a) }, fermi_energy_dft: f.fermi }));
        return { descriptors: `${base}.in.npy`, ldos: `${base}.out.npy` };
      });
      const grid = makeEnergyGrid(-5, 0.5, 31);
      const w = fermiDistanceWeights(frames, grid, undefined, 2);
      const ef = (7.9 + 7.3) / 2;
      for (let k = 0; k < 31; k++) {
        const e = -5 + 0.5 * k;
        const want = e < ef ? 1 + ((ef - e) / 2) ** 2 : 1;
        assert.ok(Math.abs(w[k] - want) < 1e-12, `${e} eV: ${w[k]} vs ${want}`);
      }
      // with a reference, each frame's E_F moves by its shift s(n): here the slope puts both at 7.9 − s(n_a)
      const nA = 4 / 64, nB = 4 / 4.1 ** 3;
      const slope = (7.9 - 7.3) / (nA - nB);
      const ref = { kind: 'atom-density' as const, slopeEvA3: slope, densityPerA3: nA };
      const wr = fermiDistanceWeights(frames, grid, ref, 2);
      assert.ok(Math.abs(wr[0] - (1 + ((7.9 + 5) / 2) ** 2)) < 1e-9, `${wr[0]}`);
      assert.throws(() => fermiDistanceWeights(frames, grid, undefined, 0), (e: unknown) => e instanceof MalaError && /--energy-weighting 0/.test(e.message));
    } finally {
      t.cleanup();
    }
  });
});
