/**
 * Fault suite, follow-ups of the issue 14 probe (P1–P13): inputs that were accepted silently, or
 * refused only after slow work, or refused with a message that named nothing.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MalaError } from '../../src/errors';
import { readCube, writeCube } from '../../src/io/cube';
import { cubeStructureDifference } from '../../src/io/cube-structure-check';
import { writeNpy } from '../../src/io/npy';
import { bispectrumCount } from '../../src/descriptors/bispectrum-parameters';
import { readModelData } from '../../src/network/model';
import { calculationContext } from '../../src/qe/calculation-context';
import { lockOutputDir, outputLockFile } from '../../src/io/output-lock';
import { spawnSync } from 'node:child_process';
import * as os from 'node:os';
import { qeFftGrid } from '../../src/grid/grid';
import { makeEnergyGrid } from '../../src/targets/energy-grid';
import { runTraining } from '../../src/workflow/train';
import { parseStructure } from '../../src/structure/registry';
import { writeSmallPredictModel } from '../network/synthetic';
import { unzipSync, zipSync } from 'fflate';
import { referenceDir, repoRoot, tempDir } from '../helpers';
import { assertCleanError, mt } from './helpers';

const alFixture = path.join(repoRoot, 'fixtures', 'al-fcc-qe');
const alInput = fs.readFileSync(path.join(alFixture, 'Al.pw.scf.in'), 'utf8');

/** The Al fixture's pw.x input with `lines` added to &SYSTEM, written into dir (its UPF next to it). */
function alInputWith(dir: string, name: string, lines: string): string {
  fs.copyFileSync(path.join(alFixture, 'Al.pz-vbc.UPF'), path.join(dir, 'Al.pz-vbc.UPF'));
  const file = path.join(dir, name);
  fs.writeFileSync(file, alInput.replace('&SYSTEM\n', `&SYSTEM\n${lines}\n`));
  return file;
}

describe('faults (probe follow-ups): a pw.x input read as a calculation', function () {
  this.timeout(60000);
  let t: { dir: string; cleanup: () => void };
  beforeEach(() => {
    t = tempDir();
  });
  afterEach(() => t.cleanup());

  const context = (file: string, electrons?: number) =>
    calculationContext({ atoms: parseStructure(fs.readFileSync(file, 'utf8'), file).atoms, source: file, read: parseStructure(fs.readFileSync(file, 'utf8'), file) }, { electrons, cwd: t.dir });

  it('P3: tot_charge counts as in pw (valence − tot_charge: 11 electrons for Al4 with tot_charge = 1; it predicted 12)', () => {
    const c = context(alInputWith(t.dir, 'charged.in', '   tot_charge = 1.0'));
    assert.equal(c.electrons, 11);
    assert.equal(c.electronCountNote, undefined);
    // an explicit count is checked against the same charged valence
    assert.equal(context(path.join(t.dir, 'charged.in'), 11).electronCountNote, undefined);
    assert.match(context(path.join(t.dir, 'charged.in'), 12).electronCountNote ?? '', /--electrons gives 12 electrons, but .* give 11 .*charge -1\.00 e/);
    // the neutral input keeps its 12
    assert.equal(context(alInputWith(t.dir, 'neutral.in', '')).electrons, 12);
    assert.equal(context(alInputWith(t.dir, 'negative.in', '   tot_charge = -0.5')).electrons, 12.5);
  });

  it('P3: tot_charge at or above the valence is refused, naming the file (pw.x refuses it)', () => {
    const file = alInputWith(t.dir, 'charged13.in', '   tot_charge = 13');
    assert.throws(() => context(file), (e: unknown) => e instanceof MalaError && /tot_charge = 13 leaves -1 electrons \(the valence charges give 12\)/.test(e.message) && e.file === file);
  });

  it('P4: nspin = 2 is refused by predict (and the calculation context every command shares), as by pw', () => {
    const file = alInputWith(t.dir, 'spin.in', '   nspin = 2\n   starting_magnetization(1) = 0.5');
    assert.throws(() => context(file), (e: unknown) => e instanceof MalaError && /nspin = 2: the LDOS model is not spin-polarised/.test(e.message) && e.file === file);
    const model = writeSmallPredictModel(t.dir);
    assertCleanError(mt(['predict', '--model', model, file, '--grid', '8,8,8']), /spin\.in: nspin = 2: the LDOS model is not spin-polarised/);
    assertCleanError(mt(['energy', '--density', path.join(alFixture, 'Al_dens.cube'), '--structure', file]), /spin\.in: nspin = 2/);
    const ldos = path.join(t.dir, 'ldos.npy');
    writeNpy(ldos, new Float32Array(24 * 24 * 24 * 5).fill(0.01), [24, 24, 24, 5]);
    assertCleanError(mt(['observables', '--ldos', ldos, '--structure', file, '--energy-grid=-5,2.5,5', '--electrons', '12']), /spin\.in: nspin = 2/);
    assert.equal(context(alInputWith(t.dir, 'nspin1.in', '   nspin = 1')).electrons, 12);
  });
});

describe('faults (probe follow-ups): non-periodic cells', function () {
  this.timeout(60000);
  let t: { dir: string; cleanup: () => void };
  beforeEach(() => {
    t = tempDir();
  });
  afterEach(() => t.cleanup());

  const xyz = (pbc: string) => `2\nLattice="4.05 0 0 0 4.05 0 0 0 4.05" Properties=species:S:1:pos:R:3 pbc="${pbc}"\nAl 0 0 0\nAl 2.025 2.025 0\n`;

  it('P11: predict refuses an extxyz with pbc="T T F" naming the file and the open axis (it printed periodic energies)', () => {
    const file = path.join(t.dir, 'slab.xyz');
    fs.writeFileSync(file, xyz('T T F'));
    const model = writeSmallPredictModel(t.dir);
    assertCleanError(mt(['predict', '--model', model, file, '--grid', '8,8,8', '--temperature', '1000', '--electrons', '6']), /slab\.xyz: the cell is not periodic along a3 \(pbc = "T T F"\): mala-ts computes periodic cells only/);
    const read = parseStructure(xyz('F F F'), 'mol.xyz');
    assert.throws(() => calculationContext({ atoms: read.atoms, source: 'mol.xyz', read }, { temperatureK: 1000, electrons: 6, grid: [8, 8, 8] }), (e: unknown) => e instanceof MalaError && e.file === 'mol.xyz' && /not periodic along a1, a2, a3/.test(e.message));
    const ok = parseStructure(xyz('T T T'), 'ok.xyz');
    assert.equal(calculationContext({ atoms: ok.atoms, source: 'ok.xyz', read: ok }, { temperatureK: 1000, electrons: 6, grid: [8, 8, 8] }).electrons, 6);
  });
});

describe('faults (probe follow-ups): energy --density of another structure', function () {
  this.timeout(60000);
  let t: { dir: string; cleanup: () => void };
  beforeEach(() => {
    t = tempDir();
  });
  afterEach(() => t.cleanup());

  const structure = path.join(alFixture, 'Al.pw.scf.out');

  it('P12: a cube whose atom 3 moved by 0.05 Å is refused, naming the atom (it printed energies of two systems)', () => {
    const c = readCube(path.join(alFixture, 'Al_dens.cube'));
    c.atoms[2].positionBohr[1] += 0.05 / 0.529177;
    const file = path.join(t.dir, 'moved.cube');
    writeCube(file, c);
    assertCleanError(mt(['energy', '--density', file, '--structure', structure]), /moved\.cube: the density cube is not of the structure .*Al\.pw\.scf\.out: atom 3 \(Al\) is at .* Å in the cube but at .* Å in the structure \(0\.0500 Å apart\)/);
  });

  it('P12: count, element and cell are compared; the matching cube and an image one lattice vector away pass', () => {
    const c = readCube(path.join(alFixture, 'Al_dens.cube'));
    const s = { cellAngstrom: [[4.05, 0, 0], [0, 4.05, 0], [0, 0, 4.05]], positionsAngstrom: c.atoms.map((a) => a.positionBohr.map((v) => v * 0.52917721)), species: ['Al', 'Al', 'Al', 'Al'] };
    assert.equal(cubeStructureDifference(c, s), undefined);
    assert.equal(cubeStructureDifference(c, { ...s, positionsAngstrom: s.positionsAngstrom.map((p, i) => (i === 1 ? [p[0] + 4.05, p[1], p[2] - 4.05] : p)) }), undefined, 'a lattice vector apart');
    assert.match(cubeStructureDifference(c, { ...s, species: ['Al', 'Al', 'Be', 'Al'] }) ?? '', /atom 3 is Al in the cube but Be in the structure/);
    assert.match(cubeStructureDifference(c, { ...s, species: s.species.slice(0, 3), positionsAngstrom: s.positionsAngstrom.slice(0, 3) }) ?? '', /the cube lists 4 atoms, the structure 3/);
    assert.match(cubeStructureDifference(c, { ...s, cellAngstrom: [[4.05, 0, 0], [0, 4.05, 0], [0, 0, 4.2]] }) ?? '', /cell vector a3 is \(0\.0000, 0\.0000, 4\.0500\) Å in the cube but \(0\.0000, 0\.0000, 4\.2000\) Å in the structure/);
    const ok = mt(['energy', '--density', path.join(alFixture, 'Al_dens.cube'), '--structure', structure]);
    assert.equal(ok.status, 0, ok.stderr);
  });
});

describe('faults (probe follow-ups): model-domain and model-info', function () {
  this.timeout(60000);
  let t: { dir: string; cleanup: () => void };
  beforeEach(() => {
    t = tempDir();
  });
  afterEach(() => t.cleanup());

  it('P5: model-domain refuses a structure of an element the model does not know, naming it, and writes nothing', () => {
    const model = path.join(t.dir, 'al.zip');
    fs.copyFileSync(path.join(repoRoot, 'models', 'al-fcc-298K', 'model.zip'), model);
    const out = path.join(t.dir, 'al-be.zip');
    const be = path.join(repoRoot, 'fixtures', 'be2-ldos-qe', 'Be.pw.scf.in');
    assertCleanError(mt(['model-domain', '--model', model, '--structures', be, '--out', out]), /Be\.pw\.scf\.in: the structure contains Be, which the model .*al\.zip was not trained on \(it knows Al\)/);
    assert.equal(fs.existsSync(out), false);
  });

  it('P6: model-info describes a model with no training domain and says so (it failed), text and --json', () => {
    const model = writeSmallPredictModel(t.dir);
    const r = mt(['model-info', model]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^network +14 → 16 → 24 /m);
    assert.match(r.stdout, /^domain +no training domain recorded .*mala-ts model-domain --model M --structures/m);
    const j = mt(['model-info', '--json', model]);
    assert.equal(j.status, 0, j.stderr);
    const info = JSON.parse(j.stdout);
    assert.equal(info.domain, null);
    assert.deepEqual(info.network.layer_sizes, [14, 16, 24]);
  });
});

describe('faults (probe follow-ups): train options and tiny data sets', function () {
  this.timeout(60000);
  let t: { dir: string; cleanup: () => void };
  beforeEach(() => {
    t = tempDir();
  });
  afterEach(() => t.cleanup());

  const twojmax = 2;
  const F = bispectrumCount(twojmax);
  const nE = 5;
  /** A snapshot of `grid` points (MALA layout, 3 xyz columns). */
  const snapshot = (name: string, grid: number[]) => {
    const n = grid.reduce((a, b) => a * b, 1);
    const x = new Float32Array(n * (F + 3)).map((_, i) => Math.sin(i) + 1);
    const y = new Float32Array(n * nE).map((_, i) => 0.01 * (1 + Math.cos(i)));
    writeNpy(path.join(t.dir, `${name}.in.npy`), x, [...grid, F + 3]);
    writeNpy(path.join(t.dir, `${name}.out.npy`), y, [...grid, nE]);
    return { descriptors: path.join(t.dir, `${name}.in.npy`), ldos: path.join(t.dir, `${name}.out.npy`) };
  };
  const args = (extra: string[]) => ['train', '--descriptors', path.join(t.dir, 'none.in.npy'), '--ldos', path.join(t.dir, 'none.out.npy'), '--validation', `${path.join(t.dir, 'v.in.npy')}:${path.join(t.dir, 'v.out.npy')}`, '--energy-grid=-1,0.5,5', '--twojmax', '2', '--layers', '8', '--out', path.join(t.dir, 'm.zip'), ...extra];

  it('P7: --learning-rate -1 (and other out-of-range numbers) refused before any data is read, naming the flag (it trained a diverged model)', () => {
    // the data files do not exist: the range error comes first
    assertCleanError(mt(args(['--learning-rate', '-1'])), /--learning-rate -1 is out of range: it must be a number > 0/);
    assertCleanError(mt(args(['--learning-rate', '0'])), /--learning-rate 0 is out of range/);
    assertCleanError(mt(args(['--lr-decay', '2', '--lr-plateau', '3'])), /--lr-decay 2 is out of range: it must be a factor in \(0, 1\)/);
    assertCleanError(mt(args(['--weight-decay', '-0.1'])), /--weight-decay -0\.1 is out of range/);
    assertCleanError(mt(args(['--layers', '8,,8'])), /--layers '8,,8' has an empty entry/);
    assert.equal(fs.existsSync(path.join(t.dir, 'm.zip')), false);
  });

  it('P8: --batch-size 1e9 trains as one full batch (it was an internal error allocating 1e9 rows)', async () => {
    const out = path.join(t.dir, 'big-batch.zip');
    const r = await runTraining({ training: [snapshot('a', [3, 3, 3])], validation: [snapshot('v', [2, 2, 2])], energyGrid: makeEnergyGrid(-1, 0.5, nE), twojmax, hiddenLayers: [8], epochs: 1, batchSize: 1e9, learningRate: 1e-3, seed: 1, out });
    assert.equal(r.history.length, 1);
    assert.equal(readModelData(out).provenance?.batchSize, 1e9);
  });

  it('P13: a training set of 1 point, or a file of 0 points, is refused naming the file (the message named none)', async () => {
    const opts = { validation: [snapshot('v', [2, 2, 2])], energyGrid: makeEnergyGrid(-1, 0.5, nE), twojmax, hiddenLayers: [8], epochs: 1, batchSize: 4, learningRate: 1e-3, out: path.join(t.dir, 'm.zip') };
    const one = snapshot('one', [1, 1, 1]);
    await assert.rejects(runTraining({ ...opts, training: [one] }), (e: unknown) => e instanceof MalaError && /the training data has 1 grid point \(.*one\.in\.npy\): fitting the data scalers needs at least 2/.test(e.message));
    const zero = snapshot('zero', [0, 2, 2]);
    await assert.rejects(runTraining({ ...opts, training: [snapshot('a', [2, 2, 2]), zero] }), (e: unknown) => e instanceof MalaError && /descriptor file has no grid points \(shape \(0, 2, 2, 8\)\)/.test(e.message) && e.file === zero.descriptors);
    await assert.rejects(runTraining({ ...opts, training: [snapshot('a', [2, 2, 2])], validation: [zero] }), (e: unknown) => e instanceof MalaError && e.file === zero.descriptors);
    // a NaN is named by its file (the message said "training data: LDOS value 5977 (point 543) is NaN")
    const bad = snapshot('bad', [2, 2, 2]);
    const y = new Float32Array(8 * nE).fill(0.01);
    y[2 * nE + 3] = NaN;
    writeNpy(bad.ldos, y, [2, 2, 2, nE]);
    await assert.rejects(runTraining({ ...opts, training: [snapshot('a', [2, 2, 2]), bad] }), (e: unknown) => e instanceof MalaError && e.file === bad.ldos && /LDOS file: value 3 of grid point 2 is NaN/.test(e.message));
    assert.equal(fs.existsSync(opts.out), false);
  });
});

describe('faults (probe follow-ups): sample', function () {
  this.timeout(60000);
  let t: { dir: string; cleanup: () => void };
  beforeEach(() => {
    t = tempDir();
  });
  afterEach(() => t.cleanup());

  const template = path.join(repoRoot, 'qe-inputs', 'al-fcc-298K.pw.scf.in');
  const sample = (out: string, extra: string[]) => mt(['sample', '--qe-template', template, '--out', out, '--frames', '1', ...extra]);

  it('P9: --timestep 0 (and other bad times) refused before the folder is made (it leaked "thermo Infinity" from LAMMPS and left an empty folder)', () => {
    const out = path.join(t.dir, 's');
    assertCleanError(sample(out, ['--timestep', '0']), /time step 0 ps must be a positive number/);
    assertCleanError(sample(out, ['--interval', '0.001', '--timestep', '0.002']), /the frame interval 0\.001 ps is shorter than one time step \(0\.002 ps\)/);
    assertCleanError(sample(out, ['--equilibration', '-1']), /equilibration -1 ps must be ≥ 0/);
    assert.equal(fs.existsSync(out), false);
  });

  it('P9: a LAMMPS failure during the MD removes the folder the run made (no empty or partial folder)', () => {
    const out = path.join(t.dir, 's');
    const md = path.join(t.dir, 'bad-md.in');
    fs.writeFileSync(md, 'no_such_lammps_command\n');
    assertCleanError(sample(out, ['--md-template', md]), /LAMMPS error: .*no_such_lammps_command/);
    assert.equal(fs.existsSync(out), false);
    // a folder that existed before stays, without this run's scratch
    fs.mkdirSync(out);
    assertCleanError(sample(out, ['--md-template', md]), /LAMMPS error/);
    assert.deepEqual(fs.readdirSync(out), []);
  });
});

describe('faults (probe follow-ups): import-model', function () {
  this.timeout(60000);
  let t: { dir: string; cleanup: () => void };
  beforeEach(() => {
    t = tempDir();
  });
  afterEach(() => t.cleanup());

  it('P10: a MALA model whose twojmax does not give the network input width is refused naming both (it was imported)', function () {
    const members = unzipSync(fs.readFileSync(path.join(referenceDir(this), 'Be_model.zip')));
    const name = Object.keys(members).find((k) => k.endsWith('.params.json'))!;
    const params = JSON.parse(Buffer.from(members[name]).toString('utf8'));
    params.descriptors.bispectrum_twojmax = 8;
    members[name] = Buffer.from(JSON.stringify(params), 'utf8');
    const zip = path.join(t.dir, 'Be_twoj8.zip');
    fs.writeFileSync(zip, zipSync(members));
    const out = path.join(t.dir, 'imported.zip');
    assertCleanError(mt(['import-model', zip, '--out', out]), /Be_twoj8\.zip: params\.json's bispectrum_twojmax 8 gives 55 descriptors per point, but the network's input layer takes 91/);
    assert.equal(fs.existsSync(out), false);
    const ok = mt(['import-model', path.join(referenceDir(this), 'Be_model.zip'), '--out', out]);
    assert.equal(ok.status, 0, ok.stderr);
  });
});

describe('faults (probe follow-ups): a huge ecutrho', function () {
  this.timeout(60000);
  let t: { dir: string; cleanup: () => void };
  beforeEach(() => {
    t = tempDir();
  });
  afterEach(() => t.cleanup());

  const cubic: [[number, number, number], [number, number, number], [number, number, number]] = [[4.05, 0, 0], [0, 4.05, 0], [0, 0, 4.05]];

  it('P2: ecutrho = 1e9 in a pw.x input is refused in about a second, naming the file and the grid (it took 5 minutes, SIGTERM unanswered)', () => {
    const file = path.join(t.dir, 'huge.in');
    fs.writeFileSync(file, alInput.replace(/ecutrho *= *80/, 'ecutrho = 1e9'));
    const model = writeSmallPredictModel(t.dir);
    const r = mt(['predict', '--model', model, file, '--temperature', '1000'], { timeoutMs: 30000 });
    assertCleanError(r, /huge\.in: the FFT grid for ecutrho = 1000000000 Ry would be at least 7\d{4}×7\d{4}×7\d{4}, beyond QE's limit of 2049 points per axis: .* GB for the density alone/);
    const t0 = Date.now();
    assert.throws(() => qeFftGrid(cubic, 1e9), /would be at least/);
    assert.ok(Date.now() - t0 < 100, `refused at once, took ${Date.now() - t0} ms`);
  });

  it('P2: the early refusal never refuses a grid QE accepts: ecutrho 7.05e5 Ry on a 4.05 Å cube still gives 2048 per axis', () => {
    assert.deepEqual(qeFftGrid(cubic, 7.05e5), [2048, 2048, 2048]);
  });
});

describe('faults (probe follow-ups): one run per output folder', function () {
  this.timeout(60000);
  let t: { dir: string; cleanup: () => void };
  beforeEach(() => {
    t = tempDir();
  });
  afterEach(() => t.cleanup());

  /** A lock file of `dir` as a run with `pid` on this host writes it. */
  const lockAs = (dir: string, pid: number) => fs.writeFileSync(outputLockFile(dir), JSON.stringify({ pid, host: os.hostname(), started: '2026-12-04T00:00:00Z', command: 'predict x --out y' }));

  it('P1: predict into a folder another live run holds is refused before any work, naming the folder and the pid (two runs mixed their files)', () => {
    const out = path.join(t.dir, 'res');
    lockAs(out, process.pid); // this test process: alive, and not the child
    const model = writeSmallPredictModel(t.dir);
    const xyz = path.join(t.dir, 'al.xyz');
    fs.writeFileSync(xyz, '1\nLattice="4 0 0 0 4 0 0 0 4" Properties=species:S:1:pos:R:3 pbc="T T T"\nAl 0 0 0\n');
    const r = mt(['predict', '--model', model, xyz, '--grid', '8,8,8', '--temperature', '1000', '--electrons', '3', '--out', out]);
    assertCleanError(r, new RegExp(`--out .*res is in use by another mala-ts run \\(pid ${process.pid}, since .*\\); two runs writing one folder would mix their files`));
    assert.equal(fs.existsSync(out), false, 'nothing written');
    // the lock of a run that is gone (kill -9) is taken over; the run removes its lock at the end
    const dead = spawnSync(process.execPath, ['-e', 'process.exit(0)']).pid!;
    lockAs(out, dead);
    const ok = mt(['predict', '--model', model, xyz, '--grid', '8,8,8', '--temperature', '1000', '--electrons', '3', '--out', out]);
    assert.equal(ok.status, 0, ok.stderr);
    assert.ok(fs.existsSync(path.join(out, 'results.json')));
    assert.equal(fs.existsSync(outputLockFile(out)), false, 'lock removed at the end');
  });

  it('P1: the lock is exclusive across processes, re-entrant within one, and makes no folder early', () => {
    const out = path.join(t.dir, 'new', 'res');
    const release = lockOutputDir(out);
    assert.equal(fs.existsSync(out), false, 'the folder itself is not made');
    assert.equal(JSON.parse(fs.readFileSync(outputLockFile(out), 'utf8')).pid, process.pid);
    const again = lockOutputDir(out); // re-entrant
    again();
    assert.ok(fs.existsSync(outputLockFile(out)), 'still held by the outer hold');
    // another process is refused
    const other = spawnSync(process.execPath, ['--require', 'tsx/cjs', '-e', `require(${JSON.stringify(path.join(repoRoot, 'src/io/output-lock.ts'))}).lockOutputDir(${JSON.stringify(out)})`], { cwd: repoRoot, encoding: 'utf8' });
    assert.notEqual(other.status, 0);
    assert.match(other.stderr, new RegExp(`in use by another mala-ts run \\(pid ${process.pid}`));
    release();
    release(); // twice is harmless
    assert.equal(fs.existsSync(outputLockFile(out)), false);
    assert.equal(fs.existsSync(path.join(t.dir, 'new')), false, 'the parent the lock made is gone with it');
  });

  it('P1: sample refuses a prefix another live run is writing in the same folder', () => {
    const out = path.join(t.dir, 'frames');
    fs.mkdirSync(out);
    lockAs(path.join(out, 'Al'), process.pid);
    assertCleanError(mt(['sample', '--qe-template', path.join(repoRoot, 'qe-inputs', 'al-fcc-298K.pw.scf.in'), '--out', out, '--frames', '1']), /--prefix Al in --out .*frames is in use by another mala-ts run/);
    assert.deepEqual(fs.readdirSync(out), ['.Al.mala-ts-lock']);
  });
});

describe('faults (probe follow-ups): minor ones', function () {
  this.timeout(60000);
  let t: { dir: string; cleanup: () => void };
  beforeEach(() => {
    t = tempDir();
  });
  afterEach(() => t.cleanup());

  const model = path.join(repoRoot, 'models', 'al-fcc-298K', 'model.zip');

  it('junk in a numeric MALA_TS_* variable is refused naming it (MALA_TS_TORCH_THREADS=abc ran as if unset)', () => {
    assertCleanError(mt(['model-info', model], { env: { MALA_TS_TORCH_THREADS: 'abc' } }), /the environment variable MALA_TS_TORCH_THREADS="abc" is not a positive integer/);
    assertCleanError(mt(['model-info', model], { env: { MALA_TS_TORCH_THREADS: '-4' } }), /MALA_TS_TORCH_THREADS="-4"/);
    assertCleanError(mt(['model-info', model], { env: { MALA_TS_CUDA_BATCH_POINTS: '0' } }), /MALA_TS_CUDA_BATCH_POINTS="0" is not a positive integer/);
    assertCleanError(mt(['model-info', model], { env: { MALA_TS_INFERENCE_MODE: 'banana' } }), /MALA_TS_INFERENCE_MODE="banana" is not 0 or 1/);
    const ok = mt(['model-info', model], { env: { MALA_TS_TORCH_THREADS: '2', MALA_TS_INFERENCE_MODE: '' } });
    assert.equal(ok.status, 0, ok.stderr);
  });

  it('--pseudo-dir naming no folder (or a file) is refused before any work (it only warned "total energy skipped")', () => {
    const missing = path.join(t.dir, 'no-such-folder');
    const input = path.join(repoRoot, 'examples', 'al4-298K.pw.scf.in');
    assertCleanError(mt(['predict', '--model', model, input, '--pseudo-dir', missing]), /--pseudo-dir .*no-such-folder: no such folder/);
    assertCleanError(mt(['predict', '--model', model, input, '--pseudo-dir', input]), /--pseudo-dir .*al4-298K\.pw\.scf\.in is a file, not a folder/);
    assertCleanError(mt(['energy', '--density', path.join(alFixture, 'Al_dens.cube'), '--structure', path.join(alFixture, 'Al.pw.scf.out'), '--pseudo-dir', missing]), /no-such-folder: no such folder/);
  });

  it('--memory 1 (not met) and --block-points 1 (a row is the least) are said, not silent', () => {
    const small = writeSmallPredictModel(t.dir);
    const xyz = path.join(t.dir, 'al.xyz');
    fs.writeFileSync(xyz, '1\nLattice="4 0 0 0 4 0 0 0 4" Properties=species:S:1:pos:R:3 pbc="T T T"\nAl 0 0 0\n');
    const r = mt(['predict', '--model', small, xyz, '--grid', '8,8,8', '--temperature', '1000', '--electrons', '3', '--memory', '1', '--block-points', '3']);
    assert.equal(r.status, 0, r.stderr);
    const said = r.stdout + r.stderr;
    assert.match(said, /warning: --block-points 3 is less than one row of the grid \(8 points\): blocks of at least one row \(8 points\) are used/);
    assert.match(said, /warning: --memory 1 MB was not met: the largest process peaked at \d+ MB; .* so give at least \d+ MB for this run/);
    const quiet = mt(['predict', '--model', small, xyz, '--grid', '8,8,8', '--temperature', '1000', '--electrons', '3']);
    assert.equal(quiet.status, 0, quiet.stderr);
    assert.doesNotMatch(quiet.stdout + quiet.stderr, /--memory|--block-points/);
  });

  it("--ecutrho's help says what it does: it overrides the file's ecutrho (the help said 'when the file has none')", () => {
    for (const cmd of ['predict', 'descriptors']) {
      const h = mt([cmd, '--help']);
      assert.equal(h.status, 0, h.stderr);
      assert.match(h.stdout.replace(/\s+/g, ' '), /--ecutrho <Ry> .*overrides the structure file's ecutrho/);
    }
    // and it does: 320 Ry on a file with 80 Ry gives QE's grid for 320 Ry
    const read = parseStructure(alInput, 'Al.pw.scf.in');
    const c = calculationContext({ atoms: read.atoms, source: 'Al.pw.scf.in', read }, { ecutrhoRy: 320, temperatureK: 1000, electrons: 12 });
    assert.equal(c.ecutrhoRy, 320);
    assert.deepEqual(c.grid.grid, [45, 45, 45]);
  });

  it('a pw.x input with nat = 3 and 4 positions is refused, as pw.x refuses it (an atom was dropped silently)', () => {
    const file = path.join(t.dir, 'nat3.in');
    fs.writeFileSync(file, alInput.replace(/nat *= *4/, 'nat = 3'));
    assert.throws(() => parseStructure(fs.readFileSync(file, 'utf8'), file), (e: unknown) => e instanceof MalaError && /nat = 3 but ATOMIC_POSITIONS has 4 lines/.test(e.message) && /set nat to the number of atoms listed \(4\)/.test(e.fix ?? ''));
    assertCleanError(mt(['predict', '--model', model, file]), /nat3\.in: malformed QE input: nat = 3 but ATOMIC_POSITIONS has 4 lines/);
    assert.equal(parseStructure(alInput, 'Al.pw.scf.in').atoms.symbols.length, 4);
  });
});
