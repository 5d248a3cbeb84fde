/**
 * A model with an energy reference (src/targets/energy-reference.ts) through predict: the network's
 * axis moves by s(n), so E_F moves by s, the band and total energy by N_e·s, the density, entropy and
 * forces stay; stress is refused with one clear error until its term is added.
 */
import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import { readModelData, saveModelData } from '../../src/network/model';
import { atomDensityPerA3, referenceShiftEv } from '../../src/targets/energy-reference';
import { readStructure } from '../../src/structure/registry';
import { predict } from '../../src/workflow/predict';
import { ensembleMismatch } from '../../src/network/model-ensemble';
import { MalaError } from '../../src/errors';
import { repoRoot, tempDir } from '../helpers';

const model = path.join(repoRoot, 'models', 'al-fcc-298K', 'model.zip');
const pseudo = path.join(repoRoot, 'fixtures', 'al-fcc-qe');
const frameIn = path.join(repoRoot, 'fixtures', 'al-forces', 'Al4_298K_6.pw.scf.in');

describe('energy reference: predict on the axis of the structure\'s atom density', function () {
  this.timeout(300_000);

  it('moves E_F by s and the band and total energy by N_e·s; density, entropy and forces unchanged; stress refused', async () => {
    const t = tempDir();
    try {
      const atoms = readStructure(frameIn).atoms;
      const n = atomDensityPerA3(atoms.symbols.length, atoms.cellAngstrom);
      const data = readModelData(model);
      const reference = { kind: 'atom-density' as const, slopeEvA3: 150, densityPerA3: n - 0.2 / 150 };
      const s = referenceShiftEv(reference, n);
      assert.ok(Math.abs(s - 0.2) < 1e-9);
      const shifted = path.join(t.dir, 'ref.zip');
      saveModelData(shifted, { ...data, energyReference: reference });
      assert.deepEqual(readModelData(shifted).energyReference, reference, 'archive round trip');
      const plain = await predict({ structureFile: frameIn, modelFile: model, pseudoDir: pseudo, forces: true });
      const moved = await predict({ structureFile: frameIn, modelFile: shifted, pseudoDir: pseudo, forces: true });
      const ne = plain.electronsRequested;
      assert.ok(Math.abs(moved.fermiEnergyEv - plain.fermiEnergyEv - s) < 1e-6, `ΔE_F ${moved.fermiEnergyEv - plain.fermiEnergyEv}`);
      assert.ok(Math.abs(moved.bandEnergyEv - plain.bandEnergyEv - ne * s) < 1e-5, `ΔE_band ${moved.bandEnergyEv - plain.bandEnergyEv} vs ${ne * s}`);
      assert.ok(Math.abs(moved.totalEnergy!.totalEnergyEv - plain.totalEnergy!.totalEnergyEv - ne * s) < 1e-5);
      assert.ok(Math.abs(moved.entropyContributionEv - plain.entropyContributionEv) < 1e-7);
      assert.ok(Math.abs(moved.densityElectrons - plain.densityElectrons) < 1e-7);
      plain.forcesEvPerA!.forEach((f, i) => f.forEach((x, k) => assert.ok(Math.abs(moved.forcesEvPerA![i][k] - x) < 1e-6, `F[${i}][${k}]`)));
      await assert.rejects(predict({ structureFile: frameIn, modelFile: shifted, pseudoDir: pseudo, stress: true }), (e: unknown) => e instanceof MalaError && /energy reference/.test(e.message));
      assert.match(ensembleMismatch(data, { ...data, energyReference: reference }) ?? '', /energy reference/);
    } finally {
      t.cleanup();
    }
  });
});
