/**
 * Fault suite, messages (issue 14): escape bytes from input files echoed to the terminal, "zero
 * volume (det = Infinity)", NaN weights reported as a corrupt LDOS file, `--pw ./fakepw.sh` said
 * "not found on PATH", LAMMPS errors blamed on `units metal`, a wrong MALA_TS_LAMMPS_LIB.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { findLammpsLibrary, Lammps, LammpsError } from '../../bindings/lammps';
import { runQe } from '../../src/dft/qe-run';
import { lammpsTempBase } from '../../src/descriptors/bispectrum';
import { MalaError, printableText } from '../../src/errors';
import { makeEnergyGrid } from '../../src/targets/energy-grid';
import { checkBandCoverage, generateSnapshot } from '../../src/workflow/generate';
import { malaBispectrumDefaults } from '../../src/descriptors/mala-defaults';
import { readNpy } from '../../src/io/npy';
import { readModelData, saveModelData } from '../../src/network/model';
import { cellProblem, type Mat3 } from '../../src/structure/atoms';
import { writeSmallPredictModel } from '../network/synthetic';
import { repoRoot, tempDir } from '../helpers';
import { assertCleanError, mt } from './helpers';

const alOut = path.join(repoRoot, 'fixtures', 'al-fcc-qe', 'Al.pw.scf.out');
const lattice = (cell: string) => `1\nLattice="${cell}" Properties=species:S:1:pos:R:3 pbc="T T T"\nAl 0 0 0\n`;

describe('faults: messages', function () {
  this.timeout(60000);
  let t: { dir: string; cleanup: () => void };
  beforeEach(() => {
    t = tempDir();
  });
  afterEach(() => t.cleanup());

  it('terminal escape bytes quoted from an input file are shown escaped, never raw', () => {
    const xyz = path.join(t.dir, 'evil.xyz');
    fs.writeFileSync(xyz, lattice('4 0 0 0 4 0 0 0 4').replace('Al 0 0 0', '\x1b[2J\x1b]0;pwned\x07Al 0 0 0'));
    const r = mt(['predict', xyz, '--model', writeSmallPredictModel(t.dir), '--grid', '4,4,4']);
    assertCleanError(r, /unknown element in species label '\\x1b\[2J\\x1b\]0;pwned\\x07Al'/);
    assert.doesNotMatch(r.stderr, /[\x00-\x08\x0b-\x1f\x7f]/, 'no raw control byte');
    assert.equal(printableText('a\tb\nc\u202eD\x9b'), 'a\tb\nc\\u202eD\\x9b');
  });

  it('a degenerate cell says what is wrong with it (it said "zero volume (det = Infinity)")', () => {
    const xyz = path.join(t.dir, 'huge.xyz');
    fs.writeFileSync(xyz, lattice('1e200 0 0 0 1e200 0 0 0 1e200'));
    assertCleanError(mt(['descriptors', xyz, '--grid', '2,2,2', '-o', path.join(t.dir, 'd.npy')]), /the cell vector a1 = \(1e\+200, 0, 0\) Å has a component of 1\.00e\+200 Å, beyond any structure \(at most 1000000 Å: wrong units\?\)/);
    assert.doesNotMatch(cellProblem([[4, 0, 0], [8, 0, 0], [0, 0, 4]]) ?? '', /Infinity/);
    assert.match(cellProblem([[4, 0, 0], [8, 0, 0], [0, 0, 4]]) ?? '', /has zero volume: a1 = \(4, 0, 0\) Å and a2 = \(8, 0, 0\) Å are parallel/);
    assert.match(cellProblem([[4, 0, 0], [0, 4, 0], [4, 4, 0]]) ?? '', /a1 = .*, a2 = .* and a3 = \(4, 4, 0\) Å lie in one plane/);
    assert.match(cellProblem([[4, 0, 0], [0, 0, 0], [0, 0, 4]]) ?? '', /vector a2 = \(0, 0, 0\) Å is zero/);
    assert.equal(cellProblem([[4, 0, 0], [0, 4, 0], [0, 0, 4]] as Mat3), undefined);
  });

  it('NaN model weights: the model is named at load (it said "the LDOS file is corrupt")', () => {
    const m = readModelData(writeSmallPredictModel(t.dir));
    m.weights[2][5] = NaN;
    const bad = path.join(t.dir, 'nan.zip');
    saveModelData(bad, m);
    const r = mt(['predict', alOut, '--model', bad, '--json']);
    assertCleanError(r, /nan\.zip: the model's network has a non-finite weight \(NaN\) in Linear layer 2 of 2 \(value 5\)/);
    assert.doesNotMatch(r.stderr, /LDOS file is corrupt/);
  });

  it('--pw ./fakepw.sh: a relative path is the user\'s, and a path that cannot run says why (not "not found on PATH")', async () => {
    const bin = path.join(t.dir, 'bin');
    fs.mkdirSync(bin);
    const fake = path.join(bin, 'fakepw.sh');
    fs.writeFileSync(fake, '#!/bin/sh\necho "     JOB DONE."\n', { mode: 0o755 });
    const run = (program: string) => runQe({ program, inputFile: 'a.in', outputFile: 'a.out', cwd: path.join(t.dir, 'run') });
    const rel = path.relative(process.cwd(), fake);
    assert.ok(rel.includes('/'));
    const ok = await run(rel.startsWith('.') ? rel : `./${rel}`);
    assert.match(ok.output, /JOB DONE/);
    await assert.rejects(run('./no/such/pw.sh'), (e: unknown) => e instanceof MalaError && /cannot run '.*\/no\/such\/pw\.sh': no such file/.test(e.message) && !/PATH/.test(e.message));
    fs.chmodSync(fake, 0o644);
    await assert.rejects(run(fake), (e: unknown) => e instanceof MalaError && /it is not executable/.test(e.message) && /chmod \+x/.test(e.fix ?? ''));
    fs.writeFileSync(fake, '#!/no/such/interpreter\n');
    fs.chmodSync(fake, 0o755);
    await assert.rejects(run(fake), (e: unknown) => e instanceof MalaError && /the interpreter its first line \(#!\) names was not found/.test(e.message));
    await assert.rejects(run('no-such-pw.x'), /not found on PATH/);
  });

  it('a LAMMPS error in a script names LAMMPS\' own message, not the script\'s first line (`units metal`)', function () {
    if (!findLammpsLibrary()) this.skip();
    const lmp = new Lammps();
    try {
      assert.throws(
        () => lmp.commands(['units metal', 'atom_style atomic', 'no_such_command 1 2']),
        (e: unknown) => e instanceof LammpsError && /no_such_command/.test(e.message) && !/units metal/.test(e.message),
      );
    } finally {
      lmp.close();
    }
  });

  it('MALA_TS_LAMMPS_LIB pointing at another library: names the library and the missing LAMMPS function', function () {
    const other = ['/usr/lib/x86_64-linux-gnu/libm.so.6', '/lib/x86_64-linux-gnu/libm.so.6', '/usr/lib64/libm.so.6', '/usr/lib/aarch64-linux-gnu/libm.so.6'].find((f) => fs.existsSync(f));
    if (!other) this.skip();
    const r = mt(['predict', alOut, '--model', writeSmallPredictModel(t.dir), '--descriptor-engine', 'lammps', '--json'], { env: { MALA_TS_LAMMPS_LIB: other } });
    assertCleanError(r, /libm\.so\.6 is not a LAMMPS library: it has no function lammps_open_no_mpi[^\n]*\n {2}fix: point MALA_TS_LAMMPS_LIB to liblammps\.so/);
  });
});

describe('faults: generate energy grids below the band bottom', () => {
  // Be2-like bands (eV): bottom −3.27, E_F 8.74; a top band high enough for the grid's end
  const bands = { kWeights: [2], eigenvaluesEv: [[-3.2747, 3.585, 9.1532, 30.0]], nbnd: 4, fermiEnergyEv: 8.743, totalEnergyEv: {} };
  it("MALA's own Be2 grid (−5, 2.5, 11) passes with a warning (it was refused as missing occupied states); a grid above the band bottom is refused", () => {
    const w = checkBandCoverage(bands, makeEnergyGrid(-5, 2.5, 11), 2.5, 0.025, 'Be.pw.scf.in');
    assert.equal(w.length, 1);
    assert.match(w[0], /the energy grid starts at -5 eV, within 3σ \(7\.50 eV\) of the lowest band at -3\.275 eV: the broadened LDOS below -5 eV is not on the grid/);
    assert.deepEqual(checkBandCoverage(bands, makeEnergyGrid(-11, 2.5, 14), 2.5, 0.025, 'Be.pw.scf.in'), []);
    assert.throws(() => checkBandCoverage(bands, makeEnergyGrid(-3, 2.5, 11), 2.5, 0.025, 'Be.pw.scf.in'), (e: unknown) => e instanceof MalaError && /starts at -3 eV, above the lowest band at -3\.275 eV: the LDOS would miss occupied states/.test(e.message));
  });
});

describe('faults: a TMPDIR LAMMPS cannot read a path in', function () {
  this.timeout(60000);
  let t: { dir: string; cleanup: () => void };
  beforeEach(() => {
    t = tempDir();
  });
  afterEach(() => t.cleanup());

  it('a TMPDIR with a space: the LAMMPS engine gives the same descriptors (read_data split the path)', function () {
    if (!findLammpsLibrary()) this.skip();
    const spaced = path.join(t.dir, 'with space');
    fs.mkdirSync(spaced);
    assert.equal(lammpsTempBase(t.dir), t.dir);
    assert.notEqual(lammpsTempBase(spaced), spaced);
    const run = (tmp: string, out: string) => mt(['descriptors', alOut, '--twojmax', '2', '--descriptor-engine', 'lammps', '-o', out], { env: { TMPDIR: tmp } });
    const [a, b] = [path.join(t.dir, 'a.npy'), path.join(t.dir, 'b.npy')];
    const r = run(spaced, a);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(run(t.dir, b).status, 0);
    assert.ok(fs.readFileSync(a).equals(fs.readFileSync(b)));
  });
});

describe('faults: generate into a folder with a space and non-ASCII letters', function () {
  this.timeout(120000);
  let t: { dir: string; cleanup: () => void };
  beforeEach(() => {
    t = tempDir();
  });
  afterEach(() => t.cleanup());

  it('pw.x and pp.x both run (pp.x failed after pw.x: QE\'s XML reader took the absolute path as a URI)', async function () {
    if (spawnSync('sh', ['-c', 'command -v pw.x && command -v pp.x']).status !== 0) this.skip();
    const A = 4.05;
    const input = path.join(t.dir, 'al1.pw.scf.in');
    fs.writeFileSync(
      input,
      `&CONTROL\n  calculation = 'scf'\n  prefix = 'al1'\n  pseudo_dir = '${path.join(repoRoot, 'fixtures', 'al-fcc-qe')}'\n/\n&SYSTEM\n  ibrav = 0, nat = 1, ntyp = 1, ecutwfc = 12, ecutrho = 48, nbnd = 8\n  occupations = 'smearing', smearing = 'fermi-dirac', degauss = 0.0018874\n/\n&ELECTRONS\n  conv_thr = 1.0d-7\n/\n` +
        `ATOMIC_SPECIES\nAl 26.9815385 Al.pz-vbc.UPF\nCELL_PARAMETERS angstrom\n0.0 ${A / 2} ${A / 2}\n${A / 2} 0.0 ${A / 2}\n${A / 2} ${A / 2} 0.0\nATOMIC_POSITIONS angstrom\nAl 0 0 0\nK_POINTS automatic\n2 2 2 0 0 0\n`,
    );
    const outDir = path.join(t.dir, 'sortie générée');
    const r = await generateSnapshot({ qeInput: input, energyGrid: makeEnergyGrid(-5, 0.5, 30), broadeningEv: 0.4, outDir, descriptors: { ...malaBispectrumDefaults, twojmax: 2 } });
    assert.equal(readNpy(r.ldosFile).shape[3], 30);
    assert.ok(fs.existsSync(r.descriptorsFile));
  });
});

describe('faults: a native library whose initialisation aborts', function () {
  this.timeout(60000);
  let t: { dir: string; cleanup: () => void };
  beforeEach(() => {
    t = tempDir();
  });
  afterEach(() => t.cleanup());

  it('MALA_TS_LAMMPS_LIB with a constructor that aborts: doctor reports it and finishes (it died silently), predict says so', function () {
    const c = path.join(t.dir, 'abort.c');
    const so = path.join(t.dir, 'libabort.so');
    fs.writeFileSync(c, '#include <stdio.h>\n#include <stdlib.h>\n__attribute__((constructor)) static void init(void) { fprintf(stderr, "init failed here\\n"); abort(); }\n');
    if (spawnSync('cc', ['-shared', '-fPIC', '-o', so, c]).status !== 0) this.skip();
    const doctor = mt(['doctor'], { env: { MALA_TS_LAMMPS_LIB: so } });
    assert.equal(doctor.signal, null, 'doctor itself is not killed');
    assert.match(doctor.stdout + doctor.stderr, /LAMMPS library\s+MISSING\s+LAMMPS library .*libabort\.so fails in its own initialisation code: loading it aborted the process \(SIGABRT\) after printing: init failed here/);
    assert.match(doctor.stdout + doctor.stderr, /FFTW3\s+ok/, 'the other checks still run');
    const r = mt(['predict', alOut, '--model', writeSmallPredictModel(t.dir), '--descriptor-engine', 'lammps'], { env: { MALA_TS_LAMMPS_LIB: so } });
    assertCleanError(r, /libabort\.so fails in its own initialisation code/);
  });
});
