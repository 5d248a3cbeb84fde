import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MalaError } from '../../src/errors';
import { calculationContext } from '../../src/qe/calculation-context';
import { firstPseudoDir, pseudoDirCandidates } from '../../src/qe/pseudo-dir';
import { readStructure } from '../../src/structure/registry';
import { rydbergToKelvin } from '../../src/structure/units';
import { repoRoot, tempDir } from '../helpers';

const FX = path.join(repoRoot, 'fixtures', 'al-fcc-qe');

describe('qe: one pseudo_dir rule and one calculation context', () => {
  it("pseudo_dir candidates follow pw.x: &CONTROL relative to the working directory, else $ESPRESSO_PSEUDO, else ~/espresso/pseudo; then the input's folder", () => {
    const env = { HOME: '/home/u' };
    assert.deepEqual(pseudoDirCandidates({ inputPseudoDir: 'pp', structureFile: 'runs/a.in', cwd: '/w', env }).map((c) => c.dir), ['/w/pp', '/w/runs/pp', '/w/runs']);
    assert.deepEqual(pseudoDirCandidates({ inputPseudoDir: '~/pp', cwd: '/w', env }).map((c) => c.dir), ['/home/u/pp']);
    assert.deepEqual(pseudoDirCandidates({ cwd: '/w', env: { ...env, ESPRESSO_PSEUDO: 'e' } }).map((c) => c.from), ['$ESPRESSO_PSEUDO']);
    assert.deepEqual(pseudoDirCandidates({ structureFile: '/d/x.out', cwd: '/w', env }).map((c) => c.dir), ['/home/u/espresso/pseudo', '/d']);
    // --pseudo-dir is the only candidate when given
    assert.deepEqual(pseudoDirCandidates({ explicit: 'q', inputPseudoDir: 'pp', structureFile: '/d/x.in', cwd: '/w', env }).map((c) => c.dir), ['/w/q']);
  });

  it('the first folder that holds the files wins; a failure names every folder tried', () => {
    const t = tempDir();
    try {
      const input = path.join(t.dir, 'runs', 'Al.pw.scf.in');
      fs.mkdirSync(path.dirname(input));
      fs.copyFileSync(path.join(FX, 'Al.pz-vbc.UPF'), path.join(t.dir, 'runs', 'Al.pz-vbc.UPF'));
      const has = (d: string) => {
        if (!fs.existsSync(path.join(d, 'Al.pz-vbc.UPF'))) throw new MalaError(`no UPF in ${d}`);
        return d;
      };
      const r = firstPseudoDir({ inputPseudoDir: './nowhere', structureFile: input, cwd: t.dir, env: { HOME: t.dir } }, has);
      assert.equal(r.dir, path.join(t.dir, 'runs'));
      assert.equal(r.from, "the structure file's folder");
      assert.throws(
        () => firstPseudoDir({ inputPseudoDir: './nowhere', cwd: t.dir, env: { HOME: t.dir } }, has),
        (e: unknown) => e instanceof MalaError && /no UPF in .*nowhere/.test(e.message),
      );
      assert.throws(
        () => firstPseudoDir({ inputPseudoDir: './nowhere', structureFile: path.join(t.dir, 'x.in'), cwd: '/', env: { HOME: t.dir } }, has),
        (e: unknown) => e instanceof MalaError && /also tried \/nowhere \(pseudo_dir in &CONTROL\), .*\/nowhere \(pseudo_dir in &CONTROL, read from the input file's folder\)/.test(e.message),
      );
    } finally {
      t.cleanup();
    }
  });

  it('context of a pw.x output: its grid, cutoff, degauss temperature, electron count and UPF; flags override', () => {
    const read = readStructure(path.join(FX, 'Al.pw.scf.out'));
    const o = read.qeOutput!;
    const c = calculationContext({ atoms: read.atoms, source: read.file, read }, { pseudoDir: FX });
    assert.deepEqual(c.grid.grid, o.fftGrid);
    assert.equal(c.grid.source, 'qe-output');
    assert.equal(c.ecutrhoRy, o.ecutrhoRy);
    assert.equal(c.temperatureK, rydbergToKelvin(o.degaussRy!));
    assert.equal(c.electrons, o.numberOfElectrons);
    assert.equal(c.pseudopotentials!.Al.zValence, 3);
    assert.equal(c.pseudoDir!.from, '--pseudo-dir');
    const f = calculationContext({ atoms: read.atoms, source: read.file, read }, { temperatureK: 500, electrons: 7, grid: [8, 8, 8], pseudoDir: path.join(FX, 'none') });
    assert.deepEqual([f.temperatureK, f.electrons, f.grid.grid, f.grid.source], [500, 7, [8, 8, 8], 'explicit']);
    assert.ok(f.pseudoProblem instanceof MalaError && f.pseudopotentials === undefined);
  });

  it('context of bare atoms: electrons from the valence charges, else the model; temperature from the model; errors say what to pass', () => {
    const read = readStructure(path.join(FX, 'Al.pw.scf.out'));
    const atoms = read.atoms;
    const n = atoms.symbols.length;
    const withUpf = calculationContext({ atoms, source: '<atoms>' }, { pseudoDir: FX, ecutrhoRy: 40 }, { temperatureK: 298 });
    assert.equal(withUpf.electrons, 3 * n);
    assert.equal(withUpf.grid.source, 'qe-rule');
    const fromModel = calculationContext({ atoms, source: '<atoms>' }, { pseudoDir: path.join(FX, 'none'), ecutrhoRy: 40 }, { temperatureK: 298, electronsPerAtom: 2.5 });
    assert.equal(fromModel.electrons, 2.5 * n);
    assert.throws(() => calculationContext({ atoms, source: '<atoms>' }, { pseudoDir: path.join(FX, 'none'), ecutrhoRy: 40 }, { temperatureK: 298 }), /number of electrons is unknown/);
    assert.throws(() => calculationContext({ atoms, source: '<atoms>' }, { ecutrhoRy: 40, electrons: 3 }), /no electronic temperature/);
  });

  it("an explicit electron count against the valence minus tot_charge: a note naming both (pw.x cannot run with another count); none when they agree", () => {
    const read = readStructure(path.join(FX, 'Al.pw.scf.out'));
    const n = read.atoms.symbols.length;
    const agree = calculationContext({ atoms: read.atoms, source: read.file, read }, { pseudoDir: FX });
    assert.equal(agree.electronCountNote, undefined, "the pw.x output's count is the valence's");
    const off = calculationContext({ atoms: read.atoms, source: read.file, read }, { pseudoDir: FX, electrons: 3 * n - 2 });
    assert.match(off.electronCountNote ?? '', new RegExp(`--electrons gives ${3 * n - 2} electrons, but the pseudopotentials' valence charges minus tot_charge give ${3 * n} \\(valence per atom: Al: 3\\): this predicts a cell of charge 2\\.00 e`));
    assert.equal(off.electrons, 3 * n - 2, 'the explicit count is used');
    // a pw.x input's tot_charge is part of the expected count
    const t = tempDir();
    try {
      const example = fs.readFileSync(path.join(repoRoot, 'examples', 'al4-298K.pw.scf.in'), 'utf8');
      const charged = path.join(t.dir, 'charged.pw.scf.in');
      fs.writeFileSync(charged, example.replace(/^(\s*nat\s*=.*)$/m, '$1\n  tot_charge = 1'));
      const r = readStructure(charged);
      assert.equal(calculationContext({ atoms: r.atoms, source: r.file, read: r }, { pseudoDir: FX, electrons: 11 }).electronCountNote, undefined);
      assert.match(calculationContext({ atoms: r.atoms, source: r.file, read: r }, { pseudoDir: FX, electrons: 12 }).electronCountNote ?? '', /give 11 .*charge -1\.00 e/);
    } finally {
      t.cleanup();
    }
  });
  it("a temperature read from a pw.x output's 4-decimal degauss carries a note; from its input, or given, none", () => {
    const out = path.join(repoRoot, 'fixtures', 'al-forces', 'Al4_298K_6.pw.scf.out');
    const read = readStructure(out);
    const c = calculationContext({ atoms: read.atoms, source: out, read }, { pseudoDir: FX });
    assert.ok(Math.abs(c.temperatureK - rydbergToKelvin(0.0019)) < 1e-9, 'the printed 0.0019 Ry');
    assert.match(c.temperatureNote ?? '', /electronic temperature 300\.0 K from the pw\.x output's degauss 0\.0019 Ry, which pw\.x prints to 4 decimals .*--temperature/);
    assert.equal(calculationContext({ atoms: read.atoms, source: out, read }, { pseudoDir: FX, temperatureK: 298 }).temperatureNote, undefined);
    // degauss 0.01 Ry (1579 K): the printed digits hold it to 0.5 %, no note
    const hot = { ...read, qeOutput: { ...read.qeOutput!, degaussRy: 0.01 } };
    assert.equal(calculationContext({ atoms: read.atoms, source: out, read: hot }, { pseudoDir: FX }).temperatureNote, undefined);
    const input = path.join(repoRoot, 'fixtures', 'al-forces', 'Al4_298K_6.pw.scf.in');
    const readIn = readStructure(input);
    const ci = calculationContext({ atoms: readIn.atoms, source: input, read: readIn }, { pseudoDir: FX });
    assert.equal(ci.temperatureNote, undefined);
    assert.ok(Math.abs(ci.temperatureK - 298) < 0.01, `${ci.temperatureK}`);
  });
});
