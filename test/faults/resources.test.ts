/**
 * Fault suite, runaway resources and explicit grids (issue 14): a grid beyond QE's cap, a grid
 * coarser than the one the file states, a grid whose density cannot fit in memory.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { unzipSync, zipSync } from 'fflate';
import { MalaError } from '../../src/errors';
import { planBlocks } from '../../src/engine/blocks-plan';
import { chooseGrid } from '../../src/grid/choose-grid';
import { maxTextInputBytes } from '../../src/io/input-file';
import { checkSpec } from '../../src/network/mlp';
import { loadModel } from '../../src/network/model';
import { serialComm } from '../../src/parallel/comm';
import { readStructure } from '../../src/structure/registry';
import { writeSmallPredictModel } from '../network/synthetic';
import { repoRoot, tempDir } from '../helpers';
import { assertCleanError, leftovers, mt } from './helpers';

const alFixture = path.join(repoRoot, 'fixtures', 'al-fcc-qe');
const alOut = path.join(alFixture, 'Al.pw.scf.out');

describe('faults: explicit grids against the file and the machine', function () {
  this.timeout(60000);
  let t: { dir: string; cleanup: () => void };
  beforeEach(() => {
    t = tempDir();
  });
  afterEach(() => t.cleanup());

  it('--grid 1,1,1 against a pw.x output stating 24×24×24: predict and descriptors refuse, naming the file\'s grid and --force-grid (predict printed a total energy)', () => {
    const model = writeSmallPredictModel(t.dir);
    const out = path.join(t.dir, 'out');
    assertCleanError(
      mt(['predict', alOut, '--model', model, '--grid', '1,1,1', '--out', out]),
      /--grid 1,1,1 is coarser along x, y, z than the grid 24,24,24 that .*Al\.pw\.scf\.out states \(pw\.x's FFT dimensions\)[^\n]*\n {2}fix: .*--force-grid/,
    );
    assert.equal(fs.existsSync(path.join(out, 'results.json')), false);
    // an input without nr1..3: QE's rule for its ecutrho; a grid coarser along x alone is named so
    const d = path.join(t.dir, 'd.npy');
    assertCleanError(mt(['descriptors', path.join(alFixture, 'Al.pw.scf.in'), '--grid', '20,24,24', '-o', d]), /coarser along x than the grid 24,24,24 that .*Al\.pw\.scf\.in needs \(QE's rule for ecutrho 80 Ry\)/);
    const forced = mt(['descriptors', alOut, '--grid', '2,2,2', '--force-grid', '--twojmax', '2', '-o', d]);
    assert.equal(forced.status, 0, forced.stderr);
    assert.deepEqual(leftovers(t.dir), []);
  });

  it('finer or equal grids pass, and the library\'s grid option is not checked unless asked', () => {
    const read = readStructure(alOut);
    assert.deepEqual(chooseGrid(read, [25, 24, 24], undefined, true).grid, [25, 24, 24]);
    assert.deepEqual(chooseGrid(read, [24, 24, 24], undefined, true).grid, [24, 24, 24]);
    assert.deepEqual(chooseGrid(read, [8, 8, 8]).grid, [8, 8, 8]);
    assert.throws(() => chooseGrid(read, [24, 24, 23], undefined, true), (e: unknown) => e instanceof MalaError && /coarser along z/.test(e.message));
    // a file without a grid or cutoff of its own: nothing to compare with
    const xyz = path.join(t.dir, 'a.xyz');
    fs.writeFileSync(xyz, '1\nLattice="4 0 0 0 4 0 0 0 4" Properties=species:S:1:pos:R:3 pbc="T T T"\nAl 0 0 0\n');
    assert.deepEqual(chooseGrid(readStructure(xyz), [2, 2, 2], undefined, true).grid, [2, 2, 2]);
  });

  it('--grid 5000,5000,5000 or a pw.x output claiming it: refused at once with the size (it started a multi-terabyte spill)', () => {
    const model = writeSmallPredictModel(t.dir);
    const r = mt(['predict', alOut, '--model', model, '--grid', '5000,5000,5000', '--json'], { env: { TMPDIR: t.dir } });
    assertCleanError(r, /grid 5000×5000×5000 exceeds QE's limit of 2049 points per axis: 1\.25e\+11 points, 1000 GB for the density alone/);
    assert.ok(r.ms < 20000, `at once: ${r.ms} ms`);
    const claim = path.join(t.dir, 'big.pw.scf.out');
    fs.writeFileSync(claim, fs.readFileSync(alOut, 'utf8').replace(/FFT dimensions: \(\s*24,\s*24,\s*24\)/, 'FFT dimensions: ( 5000, 5000, 5000)'));
    assertCleanError(mt(['descriptors', claim, '-o', path.join(t.dir, 'd.npy')]), /big\.pw\.scf\.out: grid 5000×5000×5000 exceeds QE's limit/);
    assert.deepEqual(leftovers(t.dir), []);
  });

  it('a grid whose density cannot fit in this machine\'s memory is refused before any block', () => {
    const plan = (grid: [number, number, number]) => planBlocks({ grid, featureCount: 91, energyCount: 11, splitRows: true, comm: serialComm, writeLdos: false, warn: () => undefined });
    const n = Math.ceil(Math.cbrt(os.totalmem() / 16)) + 1; // 16 bytes a point: just above the memory
    assert.throws(() => plan([n, n, n]), (e: unknown) => e instanceof MalaError && /needs about .* GB per process for the density and its energy terms, but this machine has .* GB of memory/.test(e.message));
    assert.equal(plan([24, 24, 24]).store.kind, 'memory');
  });
});

describe('faults: special files as inputs', function () {
  this.timeout(60000);
  let t: { dir: string; cleanup: () => void };
  beforeEach(() => {
    t = tempDir();
  });
  afterEach(() => t.cleanup());

  it('/dev/zero as a structure or model and a FIFO as a structure, model or .npy: refused before any read (it read 4 GB, or hung)', () => {
    const model = writeSmallPredictModel(t.dir);
    const fifo = path.join(t.dir, 'in.fifo');
    assert.equal(spawnSync('mkfifo', [fifo]).status, 0);
    const quick = { timeoutMs: 20000 };
    assertCleanError(mt(['predict', '/dev/zero', '--model', model, '--grid', '8,8,8'], quick), /\/dev\/zero: the structure file is a character device: reading it may never end/);
    assertCleanError(mt(['predict', alOut, '--model', '/dev/zero'], quick), /\/dev\/zero: the model is a character device/);
    assertCleanError(mt(['predict', fifo, '--model', model, '--grid', '8,8,8'], quick), /in\.fifo: the structure file is a pipe \(FIFO\): reading it would wait for a writer forever/);
    assertCleanError(mt(['predict', alOut, '--model', fifo], quick), /in\.fifo: the model is a pipe \(FIFO\)/);
    assertCleanError(mt(['infer', '--model', model, '--descriptors', fifo, '--out', path.join(t.dir, 'l.npy')], quick), /in\.fifo: the \.npy file is a pipe \(FIFO\)/);
    assertCleanError(mt(['energy', '--density', '/dev/zero', '--structure', alOut], quick), /unsupported density file type|the \.npy file is a character device/);
    assert.deepEqual(leftovers(t.dir), []);
  });

  it('a text input beyond the string limit is refused by size, not read', () => {
    const big = path.join(t.dir, 'big.xyz');
    fs.writeFileSync(big, '1\n\nAl 0 0 0\n');
    fs.truncateSync(big, maxTextInputBytes + 1); // sparse: no disk used
    assert.throws(() => readStructure(big), (e: unknown) => e instanceof MalaError && /the structure file is \d+ MiB, more than the \d+ MiB a text input can be read as/.test(e.message));
  });
});

describe('faults: model parameters out of any physical range', function () {
  this.timeout(60000);
  let t: { dir: string; cleanup: () => void };
  beforeEach(() => {
    t = tempDir();
  });
  afterEach(() => t.cleanup());

  /** The small model with model.json's descriptor parameters changed. */
  const edited = (change: Record<string, number>): string => {
    const members = unzipSync(fs.readFileSync(writeSmallPredictModel(t.dir)));
    const j = JSON.parse(Buffer.from(members['model.json']).toString('utf8'));
    Object.assign(j.descriptors, change);
    const file = path.join(t.dir, `edited-${Object.keys(change).join('-')}.zip`);
    fs.writeFileSync(file, zipSync({ ...members, 'model.json': Buffer.from(JSON.stringify(j)) }));
    return file;
  };

  it('rcutfac = 1e6 in model.json: predict refuses at load with the allowed range (it ran 40 s into 6 GB)', () => {
    const model = edited({ rcutfac: 1e6 });
    const r = mt(['predict', alOut, '--model', model, '--json'], { timeoutMs: 20000 });
    assertCleanError(r, /the model's descriptor parameter rcutfac = 1000000 Å is outside its physical range: rcutfac must be in \(0, 20\] Å/);
    assert.ok(r.ms < 15000, `${r.ms} ms`);
    assert.throws(() => loadModel(edited({ twojmax: 60 })), (e: unknown) => e instanceof MalaError && /twojmax = 60 is outside .*\[0, 20\]/.test(e.message));
    assert.throws(() => loadModel(edited({ rfac0: 3 })), /rfac0 = 3 is outside/);
    assert.ok(loadModel(edited({ rcutfac: 6 })).nFeatures > 0, 'a 6 Å cutoff is fine');
  });

  it('descriptors --rcutfac 1e6 is refused with the range', () => {
    assertCleanError(mt(['descriptors', alOut, '--rcutfac', '1e6', '-o', path.join(t.dir, 'd.npy')]), /invalid bispectrum parameter: rcutfac = 1000000 Å\n {2}fix: rcutfac must be in \(0, 20\] Å/);
  });
});

describe('faults: network sizes out of range', () => {
  it('layer sizes whose weights exceed 2 GiB are refused before any allocation, naming the sizes', () => {
    assert.throws(() => checkSpec({ layerSizes: [91, 100000, 100000, 11], activations: ['LeakyReLU', 'LeakyReLU', null] }, 'model.json'), (e: unknown) => e instanceof MalaError && /model\.json: layer sizes 91→100000→100000→11 make 1\.00e\+10 weights \(37\.3 GiB as float32\)/.test(e.message));
    checkSpec({ layerSizes: [91, 4000, 4000, 250], activations: ['LeakyReLU', 'LeakyReLU', null] }); // 1.7e7: fine
  });
});

describe('faults: a TMPDIR too full for MPI to start', function () {
  this.timeout(60000);
  let t: { dir: string; cleanup: () => void };
  let tiny: string | undefined;
  beforeEach(function () {
    t = tempDir();
    const dir = path.join(t.dir, 'tiny');
    fs.mkdirSync(dir);
    // a 4 MB tmpfs needs the right to mount (root in a container); skipped elsewhere
    if (spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', dir]).status !== 0) this.skip();
    tiny = dir;
  });
  afterEach(() => {
    if (tiny) spawnSync('umount', [tiny]);
    tiny = undefined;
    t.cleanup();
  });

  it('doctor and predict (LAMMPS engine) say so instead of aborting inside MPI_Init', () => {
    const doctor = mt(['doctor'], { env: { TMPDIR: tiny } });
    assert.equal(doctor.signal, null);
    assert.match(doctor.stdout + doctor.stderr, /LAMMPS library\s+MISSING\s+.*tiny \(TMPDIR\) has [\d.]+ MB free, but MPI needs about 16 MB there to start/);
    assert.doesNotMatch(doctor.stdout + doctor.stderr, /\*\*\* An error occurred in MPI_Init/);
    // the model is written outside the tiny folder; node's own temp use stays small
    const r = mt(['predict', alOut, '--model', writeSmallPredictModel(t.dir), '--descriptor-engine', 'lammps'], { env: { TMPDIR: tiny } });
    assertCleanError(r, /\(TMPDIR\) has [\d.]+ MB free, but MPI needs about 16 MB there to start \(opening LAMMPS starts MPI\)/);
  });
});
