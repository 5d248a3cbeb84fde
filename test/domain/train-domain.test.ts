import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { bispectrumCount } from '../../src/descriptors/bispectrum-parameters';
import { writeNpy } from '../../src/io/npy';
import { readModelData } from '../../src/network/model';
import { makeEnergyGrid } from '../../src/targets/energy-grid';
import { runTraining } from '../../src/workflow/train';
import { tempDir } from '../helpers';

describe('domain: mala-ts train records the training domain in the model', function () {
  this.timeout(60000);

  it("descriptor statistics of the training snapshots, their density, T and ecutrho from generate's info.json", async () => {
    const t = tempDir();
    try {
      const twojmax = 2;
      const F = bispectrumCount(twojmax);
      const grid = [4, 4, 4];
      const n = grid[0] * grid[1] * grid[2];
      const nE = 5;
      const snapshot = (name: string, shift: number, a: number) => {
        const x = new Float32Array(n * (F + 3));
        const y = new Float32Array(n * nE);
        for (let p = 0; p < n; p++) {
          for (let k = 0; k < F; k++) x[p * (F + 3) + 3 + k] = shift + k + Math.sin(p + k);
          for (let e = 0; e < nE; e++) y[p * nE + e] = 0.01 * (1 + Math.cos(p + e));
        }
        writeNpy(path.join(t.dir, `${name}.in.npy`), x, [...grid, F + 3]);
        writeNpy(path.join(t.dir, `${name}.out.npy`), y, [...grid, nE]);
        const cell = [[a, 0, 0], [0, a, 0], [0, 0, a]];
        fs.writeFileSync(path.join(t.dir, `${name}.info.json`), JSON.stringify({ temperature: 298, ecutrho: 80, grid_dimensions: grid, atoms: { numbers: [13, 13, 13, 13], positions: [[0, 0, 0], [0, a / 2, a / 2], [a / 2, 0, a / 2], [a / 2, a / 2, 0]], cell, pbc: [true, true, true] } }));
        return { descriptors: path.join(t.dir, `${name}.in.npy`), ldos: path.join(t.dir, `${name}.out.npy`) };
      };
      const out = path.join(t.dir, 'm.zip');
      await runTraining({
        training: [snapshot('a', 0, 4.05), snapshot('b', 1, 4.1)],
        validation: [snapshot('c', 0.5, 4.05)],
        energyGrid: makeEnergyGrid(-1, 0.5, nE),
        twojmax,
        hiddenLayers: [8],
        epochs: 1,
        batchSize: 16,
        learningRate: 1e-3,
        seed: 1,
        out,
      });
      const d = readModelData(out).domain!;
      assert.ok(d, 'the model has a domain');
      assert.equal(d.featureCount, F);
      assert.equal(d.structures.count, 2, 'training snapshots only');
      assert.equal(d.points.count, 2 * n);
      assert.deepEqual(d.elements, ['Al']);
      assert.ok(Math.abs(d.numberDensityPerA3!.min - 4 / 4.1 ** 3) < 1e-12 && Math.abs(d.numberDensityPerA3!.max - 4 / 4.05 ** 3) < 1e-12);
      assert.deepEqual(d.temperaturesK, [298]);
      assert.deepEqual(d.ecutrhoRy, [80]);
      // equal point counts: the mean of the cell means is the points' mean; the cells differ by the shift 1
      assert.ok(Math.abs(d.structures.mean[0] - d.points.mean[0]) < 1e-6);
      assert.ok(Math.abs(d.structures.max[0] - d.structures.min[0] - 1) < 1e-6);
      assert.ok(Math.abs(d.gridSpacingAngstrom!.min - 4.05 / 4) < 1e-12);
    } finally {
      t.cleanup();
    }
  });
});
