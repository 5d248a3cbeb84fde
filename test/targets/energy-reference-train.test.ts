import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { bispectrumCount } from '../../src/descriptors/bispectrum-parameters';
import { readNpy, writeNpy } from '../../src/io/npy';
import { readModelData } from '../../src/network/model';
import { makeEnergyGrid } from '../../src/targets/energy-grid';
import { atomDensityPerA3, fitAtomDensityReference, referenceShiftEv } from '../../src/targets/energy-reference';
import { shiftLdosAxis, shiftOperator } from '../../src/targets/ldos-shift';
import { loadPointData, runTraining } from '../../src/workflow/train';
import { MalaError } from '../../src/errors';
import { tempDir } from '../helpers';

/** A Gaussian-broadened "LDOS" (σ = the grid spacing, as the broad Al recipe) at energy e, eV. */
const broadened = (e: number, centres: number[], sigma: number) => centres.reduce((a, c, i) => a + (1 + 0.3 * i) * Math.exp(-((e - c) ** 2) / (2 * sigma * sigma)), 0);

describe('energy reference, training side: the LDOS on a shifted axis, the fitted slope, mala-ts train --energy-reference', function () {
  this.timeout(120000);

  it('shifts a σ = spacing broadened LDOS to within 0.4 % of its peak, exactly by whole steps, and back again', () => {
    const spacing = 0.1;
    const count = 151;
    const centres = [-1.3, 0.42, 2.17, 3.05, 6.61];
    const rows = 3;
    const ldos = new Float32Array(rows * count);
    for (let p = 0; p < rows; p++) for (let k = 0; k < count; k++) ldos[p * count + k] = (p + 1) * broadened(-5 + k * spacing, centres.map((c) => c + 0.05 * p), spacing);
    for (const s of [0.037, -0.263, 0.55]) {
      const out = shiftLdosAxis(ldos, count, spacing, s);
      let worst = 0;
      let peak = 0;
      for (let p = 0; p < rows; p++) {
        for (let k = 0; k < count; k++) {
          const e = -5 + k * spacing + s;
          if (e > 9.9) continue; // beyond the grid: the edge value is kept
          const want = (p + 1) * broadened(e, centres.map((c) => c + 0.05 * p), spacing);
          worst = Math.max(worst, Math.abs(out[p * count + k] - want));
          peak = Math.max(peak, want);
        }
      }
      assert.ok(worst < 4e-3 * peak, `shift ${s} eV: max error ${worst} of peak ${peak}`);
    }
    // whole steps: the same numbers, moved (interior)
    const two = shiftLdosAxis(ldos, count, spacing, 2 * spacing);
    for (let k = 0; k < count - 2; k++) assert.ok(Math.abs(two[k] - ldos[k + 2]) < 1e-6 * Math.abs(ldos[k + 2]) + 1e-12, `k ${k}`);
    // there and back
    const back = shiftLdosAxis(shiftLdosAxis(ldos, count, spacing, 0.137), count, spacing, -0.137);
    const peak = ldos.reduce((a, v) => Math.max(a, v), 0);
    for (let k = 10; k < count - 10; k++) assert.ok(Math.abs(back[k] - ldos[k]) < 8e-3 * peak, `round trip k ${k}: ${back[k]} vs ${ldos[k]}`);
  });

  it('shifts every row as the operator row by row does, bit for bit, whatever the point and energy counts (the kernel takes 4 points × 2 energies at a time)', () => {
    for (const [rows, count] of [[9, 151], [4, 150], [3, 7], [6, 1]]) {
      const ldos = new Float32Array(rows * count);
      for (let i = 0; i < ldos.length; i++) ldos[i] = Math.max(0, Math.sin(i * 0.37) + 0.3 * Math.cos(i * 1.3));
      const steps = 0.41;
      const m = shiftOperator(count, steps);
      const out = shiftLdosAxis(ldos, count, 0.1, steps * 0.1);
      for (let p = 0; p < rows; p++) {
        for (let k = 0; k < count; k++) {
          let v = 0;
          for (let j = 0; j < count; j++) v += m[k * count + j] * ldos[p * count + j];
          assert.equal(out[p * count + k], Math.fround(v > 0 ? v : 0), `${rows} points × ${count} energies: point ${p}, energy ${k}`);
        }
      }
    }
  });

  it('fits the slope of E_F against the atom density and refuses what cannot be fitted', () => {
    const frames = [0.056, 0.058, 0.06, 0.062, 0.064].map((n, i) => ({ densityPerA3: n, fermiEv: 7.6 + 160 * (n - 0.06) + (i % 2 ? 0.01 : -0.01) }));
    const ref = fitAtomDensityReference(frames, 0.06, 'test');
    assert.ok(Math.abs(ref.slopeEvA3 - 160) < 3, `slope ${ref.slopeEvA3}`);
    assert.ok(ref.fit!.rmsResidualMeV > 5 && ref.fit!.rmsResidualMeV < 15, `rms ${ref.fit!.rmsResidualMeV}`);
    assert.ok(Math.abs(referenceShiftEv(ref, 0.062) - ref.slopeEvA3 * 0.002) < 1e-12);
    assert.equal(referenceShiftEv(undefined, 0.062), 0);
    assert.throws(() => fitAtomDensityReference(frames.slice(0, 1), 0.06, 't'), /at least 2/);
    assert.throws(() => fitAtomDensityReference([frames[0], { ...frames[0], fermiEv: 8 }], 0.06, 't'), /same atom density/);
    assert.ok(Math.abs(atomDensityPerA3(4, [[4.05, 0, 0], [0, 4.05, 0], [0, 0, 4.05]]) - 4 / 4.05 ** 3) < 1e-15);
  });

  it('train --energy-reference atom-density: the model carries the fitted reference and learned the shifted targets', async () => {
    const t = tempDir();
    try {
      const twojmax = 2;
      const F = bispectrumCount(twojmax);
      const grid = [3, 3, 3];
      const n = grid[0] * grid[1] * grid[2];
      const nE = 21;
      const spacing = 0.25;
      const snapshot = (name: string, a: number, fermiEv: number, info = true) => {
        const x = new Float32Array(n * (F + 3));
        const y = new Float32Array(n * nE);
        for (let p = 0; p < n; p++) {
          for (let k = 0; k < F; k++) x[p * (F + 3) + 3 + k] = a + k + Math.sin(p + k);
          for (let e = 0; e < nE; e++) y[p * nE + e] = 0.01 * broadened(-1 + e * spacing, [1 + 0.1 * Math.sin(p), 2.5], 0.3);
        }
        writeNpy(path.join(t.dir, `${name}.in.npy`), x, [...grid, F + 3]);
        writeNpy(path.join(t.dir, `${name}.out.npy`), y, [...grid, nE]);
        const cell = [[a, 0, 0], [0, a, 0], [0, 0, a]];
        if (info) fs.writeFileSync(path.join(t.dir, `${name}.info.json`), JSON.stringify({ temperature: 298, fermi_energy_dft: fermiEv, atoms: { numbers: [13, 13, 13, 13], positions: [[0, 0, 0], [0, a / 2, a / 2], [a / 2, 0, a / 2], [a / 2, a / 2, 0]], cell } }));
        return { descriptors: path.join(t.dir, `${name}.in.npy`), ldos: path.join(t.dir, `${name}.out.npy`) };
      };
      const training = [snapshot('a', 3.97, 8.26), snapshot('b', 4.05, 7.66), snapshot('c', 4.13, 7.06)];
      const validation = [snapshot('v', 4.01, 7.98)];
      const out = path.join(t.dir, 'm.zip');
      await runTraining({ training, validation, energyGrid: makeEnergyGrid(-1, spacing, nE), twojmax, hiddenLayers: [8], epochs: 1, batchSize: 16, learningRate: 1e-3, seed: 1, out, energyReference: 'atom-density' });
      const ref = readModelData(out).energyReference!;
      assert.ok(ref, 'the model carries its reference');
      const dens = [3.97, 4.05, 4.13].map((a) => 4 / a ** 3);
      const expect = fitAtomDensityReference(dens.map((d, i) => ({ densityPerA3: d, fermiEv: [8.26, 7.66, 7.06][i] })), dens.reduce((x, y) => x + y) / 3, 'x');
      assert.ok(Math.abs(ref.slopeEvA3 - expect.slopeEvA3) < 1e-9 && Math.abs(ref.densityPerA3 - expect.densityPerA3) < 1e-15, JSON.stringify(ref));
      assert.ok(ref.slopeEvA3 > 100, 'E_F rises with density');
      // the targets the network saw are the shifted ones: loadPointData with the axis equals shiftLdosAxis of the file
      const axis = { reference: ref, spacingEv: spacing };
      const seen = loadPointData([training[0]], 3, F, nE, axis).y;
      const raw = readNpy(training[0].ldos).data;
      const want = shiftLdosAxis(raw, nE, spacing, referenceShiftEv(ref, dens[0]));
      assert.deepEqual(Array.from(seen), Array.from(want));
      assert.ok(Math.abs(referenceShiftEv(ref, dens[0])) > 0.2, 'the 3.97 Å frame is shifted by more than 0.2 eV');
      // a snapshot without info.json: one clear error naming the file
      const bare = snapshot('bare', 4.05, 0, false);
      await assert.rejects(
        runTraining({ training: [...training, bare], validation, energyGrid: makeEnergyGrid(-1, spacing, nE), twojmax, hiddenLayers: [8], epochs: 1, batchSize: 16, learningRate: 1e-3, seed: 1, out: path.join(t.dir, 'm2.zip'), energyReference: 'atom-density' }),
        (e: unknown) => e instanceof MalaError && /info\.json/.test(e.message) && String(e.file).endsWith('bare.info.json'),
      );
      assert.ok(!fs.existsSync(path.join(t.dir, 'm2.zip')), 'nothing written');
    } finally {
      t.cleanup();
    }
  });
});
