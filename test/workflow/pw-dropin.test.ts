import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import execa from 'execa';
import { fortranF, formatPwOutput } from '../../src/io/pw-output';
import type { Mat3, Vec3 } from '../../src/structure/atoms';
import { readStructure } from '../../src/structure/registry';
import { bohrAngstrom, rydbergEv } from '../../src/structure/units';
import { referenceDir, repoRoot, tempDir } from '../helpers';
import { pythonWithAse } from '../ase-python';

const cli = path.join(repoRoot, 'bin', 'mala-ts.js');

interface AseRead {
  energy: number;
  fermi: number;
  cell: number[][];
  positions: number[][];
  symbols: string[];
  /** The Ry (eV) and Bohr (Å) ASE's espresso reader converts with: CODATA 2006, not ASE's default 2014. */
  readerRyEv: number;
  readerBohrAngstrom: number;
}

/**
 * ASE's values converted back with our constants (units.ts, CODATA 2014): the file holds our
 * numbers in Ry and Bohr; ASE's reader multiplies them by its CODATA 2006 Ry and Bohr, which moves
 * energies by 8e-8 and lengths by 4e-9 relative (as for real pw.x outputs).
 */
function inOurUnits(a: AseRead): AseRead {
  const l = bohrAngstrom / a.readerBohrAngstrom;
  return {
    ...a,
    energy: (a.energy * rydbergEv) / a.readerRyEv,
    cell: a.cell.map((r) => r.map((x) => x * l)),
    positions: a.positions.map((r) => r.map((x) => x * l)),
  };
}

function readWithAse(file: string): AseRead {
  const script = [
    'import json, sys',
    'from ase.io import read',
    'from ase.io.espresso import units',
    "a = read(sys.argv[1], format='espresso-out')",
    'print(json.dumps({"energy": a.get_potential_energy(), "fermi": a.calc.get_fermi_level(), "cell": a.cell.tolist(), "positions": a.positions.tolist(), "symbols": a.get_chemical_symbols(), "readerRyEv": units["Ry"], "readerBohrAngstrom": units["Bohr"]}))',
  ].join('\n');
  const r = execa.sync(pythonWithAse(), ['-c', script, file], { reject: false });
  assert.equal(r.exitCode, 0, `ASE could not read ${file}:\n${r.stderr}`);
  return JSON.parse(r.stdout) as AseRead;
}

const maxAbsDiff = (a: number[][], b: number[][]): number => Math.max(...a.flatMap((row, i) => row.map((x, k) => Math.abs(x - b[i][k]))));

describe('io: pw.x-format output (pure formatter)', () => {
  it('writes Fortran F fields as pw.x does, stars when the value does not fit', () => {
    assert.equal(fortranF(-5.351700081, 17, 8), '      -5.35170008');
    assert.equal(fortranF(123456.5, 6, 2), '******');
  });

  it('is read back by ASE: cell, positions, energy and Fermi level of a made-up result, no k-point or force blocks', () => {
    const { dir, cleanup } = tempDir();
    try {
      const atoms = {
        cellAngstrom: [[4.1, 0.2, 0], [0.3, 5.2, 0.1], [0, -0.4, 6.3]] as Mat3,
        positionsAngstrom: [[0.1, 0.2, 0.3], [2.05, 2.6, 3.15], [-0.5, 7.2, 1.0]] as Vec3[],
        symbols: ['O', 'H', 'H'],
        pbc: [true, true, true] as [boolean, boolean, boolean],
      };
      const text = formatPwOutput({
        atoms,
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
      });
      assert.match(text, /^ {5}Program PWSCF v\.6\.7 starts on {2}5Jan2024 at {2}9: 7: 3 $/m);
      assert.match(text, /FFT dimensions: \( {2}30, {2}36, {2}45\)/);
      assert.doesNotMatch(text, /number of k points|End of self-consistent calculation|Forces acting on atoms/);
      const f = path.join(dir, 'h2o.out');
      fs.writeFileSync(f, text);
      const raw = readWithAse(f);
      assert.ok(maxAbsDiff(raw.cell, atoms.cellAngstrom) < 1e-7, 'cell as ASE reads it');
      const ase = inOurUnits(raw);
      assert.ok(maxAbsDiff(ase.cell, atoms.cellAngstrom) < 1e-9, 'cell');
      assert.ok(maxAbsDiff(ase.positions, atoms.positionsAngstrom) < 1e-9, 'positions');
      assert.deepEqual(ase.symbols, atoms.symbols);
      // the ! line keeps pw.x's 8 decimals in Ry: rounding ≤ 5e-9 Ry = 7e-8 eV
      assert.ok(Math.abs(ase.energy - -90.01) < 1e-7, `energy ${ase.energy}`);
      assert.ok(Math.abs(ase.fermi - -1.234567891) < 1e-8, `fermi ${ase.fermi}`);
    } finally {
      cleanup();
    }
  });
});

describe('workflow: mala-ts pw, a drop-in for pw.x (Be2 QE input, MALA Be_model)', function () {
  this.timeout(300000);
  let be2: string;
  let dir: string;
  let cleanup: () => void;
  let input: string;

  before(function () {
    be2 = referenceDir(this);
    ({ dir, cleanup } = tempDir());
    // the unchanged QE input, with pseudo_dir pointing at the Be2 folder
    const text = fs.readFileSync(path.join(be2, 'recreate_data', 'Be.pw.scf.in'), 'utf8').replace(/pseudo_dir\s*=.*$/m, `pseudo_dir = '${be2}'`);
    input = path.join(dir, 'scf.in');
    fs.writeFileSync(input, text);
  });
  after(() => cleanup?.());

  it('pw -in scf.in: ASE reads the energy and Fermi level predict --json reports, and the input\'s cell and positions', async () => {
    const model = path.join(be2, 'Be_model.zip');
    const pw = await execa('node', [cli, 'pw', '-in', 'scf.in', '--model', model], { cwd: dir, reject: false });
    assert.equal(pw.exitCode, 0, pw.stderr);
    const out = path.join(dir, 'scf.out');
    fs.writeFileSync(out, pw.stdout);
    const pr = await execa('node', [cli, 'predict', input, '--model', model, '--json'], { cwd: dir, reject: false });
    assert.equal(pr.exitCode, 0, pr.stderr);
    const j = JSON.parse(pr.stdout);
    const raw = readWithAse(out);
    // as ASE reads it: equal up to ASE's CODATA 2006 Rydberg (8e-8 relative)
    assert.ok(Math.abs(raw.energy - j.total_energy_ev) < 1e-5, `ASE ${raw.energy} eV vs predict ${j.total_energy_ev} eV`);
    assert.ok(Math.abs(raw.fermi - j.fermi_energy_ev) < 1e-8, `ASE ${raw.fermi} eV vs predict ${j.fermi_energy_ev} eV`);
    // in our units: equal up to the ! line's 8 decimals in Ry (≤ 5e-9 Ry = 7e-8 eV)
    const ase = inOurUnits(raw);
    assert.ok(Math.abs(ase.energy - j.total_energy_ev) < 1e-7, `ASE ${ase.energy} eV vs predict ${j.total_energy_ev} eV`);
    assert.ok(Math.abs(ase.fermi - j.fermi_energy_ev) < 1e-8, `ASE ${ase.fermi} eV vs predict ${j.fermi_energy_ev} eV`);
    // spec §6.2 values of the Be_model on this geometry (snapshot 0)
    assert.ok(Math.abs(ase.energy - -72.81359) < 1e-5);
    const atoms = readStructure(input).atoms;
    assert.ok(maxAbsDiff(ase.cell, atoms.cellAngstrom) < 1e-9, 'cell round trip');
    assert.ok(maxAbsDiff(ase.positions, atoms.positionsAngstrom) < 1e-9, 'positions round trip');
    assert.deepEqual(ase.symbols, ['Be', 'Be']);
    // QE's grid for ecutrho = 160 Ry (the input has no nr1..3), as pw.x printed it for this cell
    assert.match(pw.stdout, /FFT dimensions: \( {2}18, {2}18, {2}27\)/);
    assert.deepEqual(j.grid_shape, [18, 18, 27]);
    assert.match(pw.stdout, /number of electrons\s+=\s+4\.00/);
    assert.match(pw.stdout, /JOB DONE/);
    // the input's tstress: the stress is predicted now (issue 16; was a warning that it is not)
    assert.match(pw.stdout, /total {3}stress {2}\(Ry\/bohr\*\*3\)/);
    assert.doesNotMatch(pw.stderr, /tstress/);

    // pw.x's other spelling: input on standard input, parallel flags ignored; same energy lines
    const stdin = await execa('node', [cli, 'pw', '-nk', '2', '--model', model], { cwd: dir, input: fs.readFileSync(input, 'utf8'), reject: false });
    assert.equal(stdin.exitCode, 0, stdin.stderr);
    assert.match(stdin.stdout, /Reading input from standard input/);
    const bang = (t: string) => t.split('\n').filter((l) => /^!|Fermi energy|contribution|contrib\./.test(l));
    assert.deepEqual(bang(stdin.stdout), bang(pw.stdout));
  });

  it('takes the model from $MALA_TS_MODEL and fails clearly without one', async () => {
    const none = await execa('node', [cli, 'pw', '-i', 'scf.in'], { cwd: dir, reject: false, env: { MALA_TS_MODEL: '' } });
    assert.equal(none.exitCode, 1);
    assert.match(none.stderr, /no model given[\s\S]*MALA_TS_MODEL/);
    assert.equal(none.stdout, '');
  });

  it('rejects what it cannot predict: a bands run, a missing pseudo_dir, an unknown argument', async () => {
    const model = path.join(be2, 'Be_model.zip');
    const text = fs.readFileSync(input, 'utf8');
    fs.writeFileSync(path.join(dir, 'bands.in'), text.replace("'scf'", "'bands'"));
    const relax = await execa('node', [cli, 'pw', '-inp', 'bands.in', '--model', model], { cwd: dir, reject: false });
    assert.equal(relax.exitCode, 1);
    assert.match(relax.stderr, /bands\.in.*calculation = 'bands' is not supported/);
    fs.writeFileSync(path.join(dir, 'nopp.in'), text.replace(/pseudo_dir\s*=.*$/m, "pseudo_dir = './no-such-folder'"));
    const nopp = await execa('node', [cli, 'pw', '-input', 'nopp.in', '--model', model], { cwd: dir, reject: false });
    assert.equal(nopp.exitCode, 1);
    assert.match(nopp.stderr, /no-such-folder \(pseudo_dir in &CONTROL\) does not exist/);
    const bad = await execa('node', [cli, 'pw', '-in', 'scf.in', '-x', '--model', model], { cwd: dir, reject: false });
    assert.equal(bad.exitCode, 1);
    assert.match(bad.stderr, /unknown pw\.x argument '-x'/);
    for (const r of [relax, nopp, bad]) assert.doesNotMatch(r.stderr, /internal error/);
  });
});
