import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import execa from 'execa';
import { formatPwOutput, PwOutputInput } from '../../src/io/pw-output';
import type { Mat3, Vec3 } from '../../src/structure/atoms';
import { bohrAngstrom, rydbergEv } from '../../src/structure/units';
import { pythonWithAse } from '../ase-python';
import { tempDir } from '../helpers';

/** Ry/Bohr → eV/Å with our constants (units.ts). */
const ryPerBohrToEvPerA = (f: number): number => (f * rydbergEv) / bohrAngstrom;

/** A made-up water result: two species (O type 1, H type 2), a general cell. */
function madeUp(extra: Partial<PwOutputInput> = {}): PwOutputInput {
  return {
    atoms: {
      cellAngstrom: [[4.1, 0.2, 0], [0.3, 5.2, 0.1], [0, -0.4, 6.3]] as Mat3,
      positionsAngstrom: [[0.1, 0.2, 0.3], [2.05, 2.6, 3.15], [-0.5, 7.2, 1.0]] as Vec3[],
      symbols: ['O', 'H', 'H'],
      pbc: [true, true, true],
    },
    species: [{ label: 'O', valence: 6, massU: 15.999 }, { label: 'H', valence: 1, massU: 1.008 }],
    electrons: 8,
    grid: [30, 36, 45],
    fermiEnergyEv: -1.234567891,
    termsEv: { e_band: -50, e_rho_times_v_hxc: 10, e_hartree: 20, e_xc: -30, e_ewald: -40, e_entropy: -0.01 },
    totalEnergyEv: -90.01,
    inputName: 'h2o.in',
    programVersion: 'test',
    modelName: 'm.zip',
    startedAt: new Date(2024, 0, 5, 9, 7, 3),
    finishedAt: new Date(2024, 0, 5, 9, 8, 0),
    cpuSeconds: 1,
    wallSeconds: 2,
    ...extra,
  };
}

/** ASE 3.22's espresso-out reader: forces (eV/Å, its CODATA 2006 units) and the factor it converts Ry/Bohr with. */
function aseForces(file: string): { forces: number[][]; energy: number; readerRyPerBohrEvPerA: number } {
  const script = [
    'import json, sys',
    'from ase.io import read',
    'from ase.io.espresso import units',
    "a = read(sys.argv[1], format='espresso-out')",
    'print(json.dumps({"forces": a.get_forces().tolist(), "energy": a.get_potential_energy(), "readerRyPerBohrEvPerA": units["Ry"] / units["Bohr"]}))',
  ].join('\n');
  const r = execa.sync(pythonWithAse(), ['-c', script, file], { reject: false });
  assert.equal(r.exitCode, 0, `ASE could not read ${file}:\n${r.stderr}`);
  return JSON.parse(r.stdout);
}

describe('io: pw.x-format output with forces (pw.x 6.7 forces.f90 block)', function () {
  this.timeout(60000);

  it('writes the forces block exactly as pw.x 6.7 does (lines from our QE 6.7 run of Al8F_298K_0)', () => {
    // pw.x printed these (Ry/Bohr); our eV/Å values round to the same digits
    const printedRy = [
      [-0.00599561, 0.01506723, -0.00256377],
      [0.00684507, -0.00520804, 0.00018335],
      [0.01544448, -0.00222353, -0.00186639],
    ];
    const text = formatPwOutput(madeUp({ forcesEvPerA: printedRy.map((f) => f.map(ryPerBohrToEvPerA)) }));
    const lines = text.split('\n');
    const at = lines.indexOf('     Forces acting on atoms (cartesian axes, Ry/au):');
    assert.ok(at > 0, 'header');
    assert.equal(lines[at - 1], '');
    assert.equal(lines[at - 2], '     convergence has been achieved in   1 iterations');
    assert.deepEqual(lines.slice(at + 1, at + 7), [
      '',
      '     atom    1 type  1   force =    -0.00599561    0.01506723   -0.00256377',
      '     atom    2 type  2   force =     0.00684507   -0.00520804    0.00018335',
      '     atom    3 type  2   force =     0.01544448   -0.00222353   -0.00186639',
      '',
      // √(Σ f²) of the three rows above
      '     Total force =     0.024300     Total SCF correction =     0.000000',
    ]);
    // same widths as pw.x's own line: "     Total force =     0.063098     Total SCF correction =     0.000080"
    assert.equal(lines[at + 6].length, '     Total force =     0.063098     Total SCF correction =     0.000080'.length);
    assert.equal(lines[at + 7], '');
    assert.match(lines[at + 8], /^ {5}PWSCF {8}:/);
  });

  it('is read back by ASE: forces (eV/Å) to the printed 8 decimals, energy unchanged', () => {
    const { dir, cleanup } = tempDir();
    try {
      const forcesEvPerA = [
        [0.123456789, -1.5, 0.000321],
        [-2.25, 0.75, -0.0625],
        [2.126543211, 0.75, 0.062179],
      ];
      const f = path.join(dir, 'h2o.out');
      fs.writeFileSync(f, formatPwOutput(madeUp({ forcesEvPerA })));
      const ase = aseForces(f);
      // back to our units: the file holds Ry/Bohr; ASE multiplied by its CODATA 2006 Ry/Bohr
      const ours = ase.forces.map((row) => row.map((x) => (x / ase.readerRyPerBohrEvPerA) * (rydbergEv / bohrAngstrom)));
      // F14.8 in Ry/Bohr: rounding ≤ 5e-9 Ry/Bohr = 1.3e-7 eV/Å
      const err = Math.max(...ours.flatMap((row, i) => row.map((x, k) => Math.abs(x - forcesEvPerA[i][k]))));
      assert.ok(err < 1.5e-7, `ASE's forces differ from ours by ${err} eV/Å`);
      assert.ok(Math.abs(ase.energy - -90.01) < 1e-5, `energy ${ase.energy}`);
    } finally {
      cleanup();
    }
  });

  it('leaves the output without forces as it was: no block, the old header', () => {
    const without = formatPwOutput(madeUp());
    assert.doesNotMatch(without, /Forces acting on atoms|Total force/);
    assert.match(without, /^ {5}k-points, bands, wavefunctions, forces or stress\.$/m);
    // with forces = without + the block after the convergence line, and the header's two lines
    const withF = formatPwOutput(madeUp({ forcesEvPerA: [[1, 0, 0], [0, 1, 0], [0, 0, 1]] }));
    const block = withF.match(/\n {5}Forces acting on atoms[\s\S]*?Total SCF correction = +0\.000000\n\n/)![0];
    const stripped = withF
      .replace(block, '\n')
      .replace("the structure, the energies and the forces; there are no\n     k-points, bands, wavefunctions or stress.", "the structure and the energies; there are no\n     k-points, bands, wavefunctions, forces or stress.");
    assert.equal(stripped, without);
  });

  it('refuses forces that do not match the atoms', () => {
    assert.throws(() => formatPwOutput(madeUp({ forcesEvPerA: [[0, 0, 0]] })), /1 forces for 3 atoms/);
  });
});
