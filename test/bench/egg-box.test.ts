import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import { measureEggBox, shiftChange, subVoxelFractions, voxelShiftAngstrom } from '../../bench/egg-box';
import { loadModel } from '../../src/network/model';
import { Mat3 } from '../../src/structure/atoms';
import { readStructure } from '../../src/structure/registry';
import { repoRoot } from '../helpers';

describe('bench/egg-box: what a rigid translation changes', () => {
  it('sub-voxel offsets lie strictly inside the voxel and differ; a voxel is cell row i / grid_i', () => {
    const f = subVoxelFractions(6);
    for (const v of f) for (const x of v) assert.ok(x > 0 && x < 1, `${v}`);
    assert.equal(new Set(f.map((v) => v.join())).size, 6);
    // a triclinic cell with a different grid per axis: the rows must not be mixed up
    const cell: Mat3 = [[6, 0, 0], [1, 5, 0], [0.5, 0.7, 4]];
    const grid = [30, 25, 20];
    const v = voxelShiftAngstrom(cell, grid, [0.5, 1, 0]);
    const want = [0.5 * 6 / 30 + 1 / 25, 5 / 25, 0];
    v.forEach((x, d) => assert.ok(Math.abs(x - want[d]) < 1e-15, `${v} against ${want}`));
  });

  it('compares energies per atom and forces per component, and sums the shifted forces', () => {
    const base = { totalEnergyEv: -10, forcesEvPerA: [[0.1, 0, 0], [-0.1, 0, 0]] };
    const shifted = { totalEnergyEv: -10.002, forcesEvPerA: [[0.13, 0, 0], [-0.1, 0.04, 0]] };
    const c = shiftChange(base, shifted);
    assert.ok(Math.abs(c.energyMeVPerAtom + 1) < 1e-9);
    assert.ok(Math.abs(c.forceRmsEvPerA - Math.sqrt((0.03 ** 2 + 0.04 ** 2) / 6)) < 1e-12);
    assert.ok(Math.abs(c.forceMaxEvPerA - 0.04) < 1e-12);
    assert.ok(Math.abs(c.netForceEvPerA - Math.hypot(0.03, 0.04)) < 1e-12);
  });

  it('Al4 with the 298 K model: one whole voxel changes nothing; part of one changes the forces by far less than the model\'s error', async function () {
    this.timeout(120_000);
    const read = readStructure(path.join(repoRoot, 'fixtures/al-forces/Al4_298K_6.pw.scf.in'));
    const model = loadModel(path.join(repoRoot, 'models/al-fcc-298K/model.zip'));
    const r = await measureEggBox({ read, model, pseudoDir: path.join(repoRoot, 'fixtures/al-fcc-qe'), shifts: 2 });
    assert.deepEqual(r.grid, [24, 24, 24]);
    // the grid maps onto itself: the same descriptors, in another order (float32 sums: rounding only)
    assert.ok(Math.abs(r.control.energyMeVPerAtom) < 1e-4, `whole voxel: ΔE ${r.control.energyMeVPerAtom} meV/atom`);
    assert.ok(r.control.forceMaxEvPerA < 1e-5, `whole voxel: ΔF ${r.control.forceMaxEvPerA} eV/Å`);
    // a sub-voxel shift is seen (the atoms did move against the grid) and stays small: measured
    // 0.020–0.022 eV/Å and 0.19–0.23 meV/atom; this model's force RMSE against QE is 0.69 eV/Å (its VALIDATION.json)
    for (const s of r.shifts) {
      assert.ok(s.forceRmsEvPerA > 1e-3 && s.forceRmsEvPerA < 0.05, `sub-voxel ${s.fractions}: ΔF rms ${s.forceRmsEvPerA} eV/Å`);
      assert.ok(Math.abs(s.energyMeVPerAtom) < 1, `sub-voxel ${s.fractions}: ΔE ${s.energyMeVPerAtom} meV/atom`);
    }
  });
});
