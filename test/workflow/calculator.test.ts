import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import { MalaCalculator, MalaError, readStructure } from '../../src/index';
import { compareAtoms } from '../../src/workflow/calculator';
import type { Atoms } from '../../src/structure/atoms';
import { referenceDir } from '../helpers';

const clone = (a: Atoms): Atoms => JSON.parse(JSON.stringify(a)) as Atoms;

describe('workflow: MalaCalculator (ASE-style, cached until the atoms change)', function () {
  this.timeout(300000);
  let be2: string;

  before(function () {
    be2 = referenceDir(this);
  });

  it('compares atoms like ASE: cell, positions, symbols, pbc, exactly', () => {
    const a = readStructure(path.join(be2, 'Be_snapshot0.out')).atoms;
    assert.deepEqual(compareAtoms(a, clone(a)), []);
    const b = clone(a);
    b.positionsAngstrom[1][2] += 1e-12;
    b.pbc = [true, true, false];
    assert.deepEqual(compareAtoms(a, b), ['positions', 'pbc']);
    assert.deepEqual(compareAtoms(undefined, a), ['cell', 'positions', 'symbols', 'pbc']);
  });

  it('computes once per geometry: energy (spec §6.2), Fermi level from the cache, recomputes after an atom moves', async () => {
    const atoms = readStructure(path.join(be2, 'Be_snapshot0.out')).atoms;
    const calc = new MalaCalculator({ model: path.join(be2, 'Be_model.zip'), pseudoDir: be2 });
    assert.deepEqual(calc.checkState(atoms).length, 4);

    const e0 = await calc.getPotentialEnergy(atoms);
    assert.equal(calc.calculationCount, 1);
    // spec §6.2, Be_model on snapshot 0: the grid and temperature come from the model (18×18×27, 300 K)
    assert.ok(Math.abs(e0 - -72.81359) < 1e-5, `E ${e0}`);
    const ef = await calc.getFermiLevel(atoms);
    assert.ok(Math.abs(ef - 10.24522) < 1e-5, `E_F ${ef}`);
    assert.equal(await calc.getProperty('band_energy', clone(atoms)), calc.results.band_energy);
    assert.equal(calc.calculationCount, 1, 'same atoms (also as a copy) → cached');
    assert.equal(calc.results.free_energy, e0);
    assert.deepEqual(Object.keys(calc.results.energy_contributions!).sort(), ['e_band', 'e_entropy', 'e_ewald', 'e_hartree', 'e_rho_times_v_hxc', 'e_xc']);

    // moving an atom in place is seen (the calculator kept its own copy)
    atoms.positionsAngstrom[0][0] += 0.05;
    assert.deepEqual(calc.checkState(atoms), ['positions']);
    // two concurrent requests for the new geometry share one run
    const [e1, ef1] = await Promise.all([calc.getPotentialEnergy(atoms), calc.getFermiLevel(atoms)]);
    assert.equal(calc.calculationCount, 2);
    assert.ok(Math.abs(e1 - e0) > 1e-4, `energy changed: ${e0} → ${e1}`);
    assert.equal(ef1, calc.results.fermi_level);
    assert.equal(await calc.getPotentialEnergy(), e1, 'no atoms: the last ones');
    assert.equal(calc.calculationCount, 2);

    await assert.rejects(calc.getProperty('stress' as never, atoms), (e: unknown) => e instanceof MalaError && /'stress' is not available/.test(e.message));
  });

  it('without pseudopotentials: Fermi level and band energy, a clear error for the energy', async () => {
    const atoms = readStructure(path.join(be2, 'Be_snapshot1.out')).atoms;
    const calc = new MalaCalculator({ model: path.join(be2, 'Be_model.zip'), pseudoDir: path.join(be2, 'recreate_data'), grid: [9, 9, 12] });
    const ef = await calc.getFermiLevel(atoms);
    assert.ok(Number.isFinite(ef));
    await assert.rejects(calc.getPotentialEnergy(atoms), (e: unknown) => e instanceof MalaError && /'energy' could not be computed: total energy skipped: .*pseudopotential/.test(e.message));
    assert.equal(calc.calculationCount, 1);
  });
});
