/**
 * Fault suite, silent wrong results pw.x refuses (issue 14): overlapping atoms, a UPF of another
 * element under the right file name.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MalaError } from '../../src/errors';
import { Cube, readCube, writeCube } from '../../src/io/cube';
import { writeNpy } from '../../src/io/npy';
import { checkDensityElectrons, valenceElectrons } from '../../src/qe/electron-count';
import { readDensityCube } from '../../src/qe/qe-files';
import { trainNetwork } from '../../src/network/trainer';
import { loadPseudopotentials } from '../../src/qe/upf';
import { closestDistanceAngstrom, closestPairBelow } from '../../src/structure/atom-distances';
import type { Atoms } from '../../src/structure/atoms';
import { readStructure } from '../../src/structure/registry';
import { predict } from '../../src/workflow/predict';
import { teacherData, writeSmallPredictModel } from '../network/synthetic';
import { trainOptions } from '../network/train-options';
import { repoRoot, tempDir } from '../helpers';
import { assertCleanError, mt } from './helpers';

const alFixture = path.join(repoRoot, 'fixtures', 'al-fcc-qe');

describe('faults: physical sanity checks that pw.x makes', function () {
  this.timeout(60000);
  let t: { dir: string; cleanup: () => void };
  beforeEach(() => {
    t = tempDir();
  });
  afterEach(() => t.cleanup());

  it('two atoms on the same site: predict refuses before computing, naming the pair (it printed +18.7 eV)', async () => {
    const xyz = path.join(t.dir, 'dup.xyz');
    fs.writeFileSync(xyz, '3\nLattice="4.05 0 0 0 4.05 0 0 0 4.05" Properties=species:S:1:pos:R:3 pbc="T T T"\nAl 0 0 0\nAl 2.025 2.025 0\nAl 2.025 2.025 0\n');
    const model = writeSmallPredictModel(t.dir);
    await assert.rejects(
      predict({ structureFile: xyz, modelFile: model, grid: [8, 8, 8], temperatureK: 1000, electrons: 9 }),
      (e: unknown) => e instanceof MalaError && /atoms Al #2 at \(2\.0250, 2\.0250, 0\.0000\) Å and Al #3 at .* are 0\.0000 Å apart .*closer than 0\.5 Å/.test(e.message) && e.file === xyz,
    );
  });

  it('atoms close only through the periodic boundary are found; real crystals pass', () => {
    const across: Atoms = { cellAngstrom: [[5, 0, 0], [0, 5, 0], [0, 0, 5]], positionsAngstrom: [[0.1, 1, 1], [4.95, 1, 1]], symbols: ['Al', 'Al'], pbc: [true, true, true] };
    const p = closestPairBelow(across);
    assert.ok(p && Math.abs(p.distanceAngstrom - 0.15) < 1e-9, JSON.stringify(p));
    assert.equal(closestPairBelow({ ...across, pbc: [false, true, true] }), undefined, 'no image along a non-periodic axis');
    // a skewed cell whose shortest image is not the wrapped one
    const skew: Atoms = { cellAngstrom: [[4, 0, 0], [3.9, 1, 0], [0, 0, 6]], positionsAngstrom: [[0, 0, 0], [0.1, 1, 0]], symbols: ['Al', 'Al'], pbc: [true, true, true] };
    assert.ok(closestPairBelow(skew), 'found through the skewed image');
    assert.equal(closestPairBelow(readStructure(path.join(alFixture, 'Al.pw.scf.out')).atoms), undefined);
  });

  it('the closest distance (mala-ts test\'s closest_atoms_angstrom): pairs through images, and an atom\'s own image', () => {
    const across: Atoms = { cellAngstrom: [[5, 0, 0], [0, 5, 0], [0, 0, 5]], positionsAngstrom: [[0.1, 1, 1], [4.5, 1.3, 1]], symbols: ['Al', 'Al'], pbc: [true, true, true] };
    assert.ok(Math.abs(closestDistanceAngstrom(across)! - Math.hypot(0.6, 0.3)) < 1e-12); // through the x boundary
    // one atom in an fcc primitive cell: its nearest neighbours are its own images, a/√2 away
    const a = 4.05;
    const fcc: Atoms = { cellAngstrom: [[0, a / 2, a / 2], [a / 2, 0, a / 2], [a / 2, a / 2, 0]], positionsAngstrom: [[0, 0, 0]], symbols: ['Al'], pbc: [true, true, true] };
    assert.ok(Math.abs(closestDistanceAngstrom(fcc)! - a / Math.SQRT2) < 1e-12);
    // a long cell whose own images are farther than the pair
    assert.ok(Math.abs(closestDistanceAngstrom({ ...across, cellAngstrom: [[50, 0, 0], [0, 50, 0], [0, 0, 50]] })! - Math.hypot(4.4, 0.3)) < 1e-12);
    assert.equal(closestDistanceAngstrom({ ...fcc, pbc: [false, false, false] }), undefined, 'one atom, no periodic axis');
  });

  it('a UPF of another element under the right file name is refused (it gave 6 electrons and PZ for Be)', () => {
    fs.copyFileSync(path.join(alFixture, 'Al.pz-vbc.UPF'), path.join(t.dir, 'Be.pbe.UPF'));
    assert.throws(() => loadPseudopotentials(['Be'], t.dir), (e: unknown) => e instanceof MalaError && /the pseudopotential Be\.pbe\.UPF is for Al, not for the species Be/.test(e.message));
    fs.copyFileSync(path.join(alFixture, 'Al.pz-vbc.UPF'), path.join(t.dir, 'Al.UPF'));
    assert.equal(loadPseudopotentials(['Al'], t.dir).Al.element.trim(), 'Al');
  });
});

describe('faults: ∫n against the valence (energy --density)', function () {
  this.timeout(60000);
  let t: { dir: string; cleanup: () => void };
  beforeEach(() => {
    t = tempDir();
  });
  afterEach(() => t.cleanup());

  // the Al fixture's density (12 electrons) scaled to integrate to `electrons`
  const scaledDensity = (electrons: number): string => {
    const c = readDensityCube(path.join(alFixture, 'Al_dens.cube'));
    const file = path.join(t.dir, `n${electrons}.npy`);
    writeNpy(file, Float32Array.from(c.densityPerA3, (v) => (v * electrons) / 12), [...c.grid, 1]);
    return file;
  };
  const structure = path.join(alFixture, 'Al.pw.scf.out');

  it('8 electrons where 12 are expected: a warning on stderr and in the JSON (it printed energies silently)', () => {
    const r = mt(['energy', '--density', scaledDensity(8), '--structure', structure, '--json']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /mala-ts: warning: .*n8\.npy: the density integrates to 8\.0000 electrons, but .*Al\.pw\.scf\.out \("number of electrons"\) gives 12 \(off by more than 1 %\)/);
    const j = JSON.parse(r.stdout);
    assert.equal(j.warnings.length, 1);
    assert.match(j.warnings[0], /integrates to 8\.0000 electrons/);
    // the real density (12.0000004) gives none
    const ok = mt(['energy', '--density', path.join(alFixture, 'Al_dens.cube'), '--structure', structure, '--json']);
    assert.equal(ok.status, 0, ok.stderr);
    assert.deepEqual(JSON.parse(ok.stdout).warnings, []);
    assert.doesNotMatch(ok.stderr, /warning/);
  });

  it('−4 electrons: refused (no density integrates to a negative count); the input-side count is Σ z_valence − tot_charge', () => {
    assertCleanError(mt(['energy', '--density', scaledDensity(-4), '--structure', structure]), /the density integrates to -4\.00000 electrons where .* gives 12: it is not an electron density/);
    assert.equal(valenceElectrons(['Al', 'Al'], { Al: { zValence: 3 } }, 0.5), 5.5);
    assert.equal(checkDensityElectrons(11.9, 12, 'n.npy', 'x'), undefined, 'within 1 %');
    assert.match(checkDensityElectrons(11.8, 12, 'n.npy', 'x') ?? '', /11\.8000 electrons/);
  });
});

describe('faults: LDOS cubes with mixed headers', function () {
  this.timeout(60000);
  let t: { dir: string; cleanup: () => void };
  beforeEach(() => {
    t = tempDir();
  });
  afterEach(() => t.cleanup());

  const be2 = path.join(repoRoot, 'fixtures', 'be2-ldos-qe');
  /** The Be2 cubes with cube 7's header changed by `edit` (only the first cube was compared). */
  const mixedCubes = (edit: (c: Cube) => void): string => {
    const dir = fs.mkdtempSync(path.join(t.dir, 'ldos-'));
    for (const f of fs.readdirSync(be2).filter((f) => f.endsWith('.cube.gz'))) fs.copyFileSync(path.join(be2, f), path.join(dir, f));
    const c = readCube(path.join(dir, 'tmp.pp007Be_ldos.cube.gz'));
    edit(c);
    fs.rmSync(path.join(dir, 'tmp.pp007Be_ldos.cube.gz'));
    writeCube(path.join(dir, 'tmp.pp007Be_ldos.cube'), c);
    return dir;
  };
  const run = (dir: string) => mt(['observables', '--ldos', dir, '--energy-grid', '-5,2.5,11', '--structure', path.join(be2, 'Be.pw.scf.out'), '--json']);

  it('an atom moved in cube 7: refused, naming cube 7, the first cube and the atom', () => {
    assertCleanError(run(mixedCubes((c) => (c.atoms[1].positionBohr[0] += 0.3))), /tmp\.pp007Be_ldos\.cube: LDOS cube 7 has another header than the first cube .*tmp\.pp001Be_ldos\.cube\.gz: atom 2 at \(-0\.877243, .*\) instead of \(-1\.177243, .*\) Bohr/);
  });

  it('another cell or element in cube 7 is named; the unchanged set passes', () => {
    assertCleanError(run(mixedCubes((c) => (c.voxelBohr[2] = [0, 0, 0.26]))), /LDOS cube 7 has another header .*: cell: voxel vector 3 \(0\.000000, 0\.000000, 0\.260000\) instead of \(0\.000000, 0\.000000, 0\.249855\) Bohr/);
    assertCleanError(run(mixedCubes((c) => (c.atoms[0].atomicNumber = 3))), /atom 1 has Z = 3 instead of 4/);
    const ok = run(mixedCubes(() => undefined));
    assert.equal(ok.status, 0, ok.stderr);
  });
});

describe('faults: a checkpoint resumed on other data', function () {
  this.timeout(60000);
  let t: { dir: string; cleanup: () => void };
  beforeEach(() => {
    t = tempDir();
  });
  afterEach(() => t.cleanup());

  it('the same options and point counts but other values: refused (it resumed silently); the same data resumes', async () => {
    const [train, val] = [teacherData(1, 200), teacherData(2, 80)];
    const checkpoint = path.join(t.dir, 'ck.zip');
    await trainNetwork(train, val, { ...trainOptions(), epochs: 2, checkpoint });
    const other = teacherData(3, 200);
    assert.equal(other.nPoints, train.nPoints);
    await assert.rejects(
      trainNetwork(other, val, { ...trainOptions(), epochs: 3, checkpoint, resume: true }),
      (e: unknown) => e instanceof MalaError && /the checkpoint was written for other training data: the same options and point counts \(200 training, 80 validation\), but other descriptor or LDOS values/.test(e.message) && e.file === checkpoint,
    );
    // one changed LDOS value of the validation set is other data too
    const y = Float32Array.from(val.y);
    y[17] += 1e-3;
    await assert.rejects(trainNetwork(train, { ...val, y }, { ...trainOptions(), epochs: 3, checkpoint, resume: true }), /other training data/);
    const resumed = await trainNetwork(train, val, { ...trainOptions(), epochs: 3, checkpoint, resume: true });
    assert.equal(resumed.resumedFromEpoch, 2);
  });
});

describe('faults: ∫n against the electron count (observables)', function () {
  this.timeout(60000);
  const be2 = path.join(repoRoot, 'fixtures', 'be2-ldos-qe');
  const run = (extra: string[]) => mt(['observables', '--ldos', be2, '--energy-grid', '-5,2.5,11', '--structure', path.join(be2, 'Be.pw.scf.out'), '--json', ...extra]);

  it('--electrons 6 or a --fermi-energy far from E_F for a 4-electron structure: a warning in the JSON; the default run has none', () => {
    const six = run(['--electrons', '6']);
    assert.equal(six.status, 0, six.stderr);
    assert.match(JSON.parse(six.stdout).warnings.join('\n'), /the density integrates to 6\.0000 electrons, but .*Be\.pw\.scf\.out \("number of electrons"\) gives 4 \(off by more than 1 %\)/);
    const low = run(['--fermi-energy', '0']);
    assert.equal(low.status, 0, low.stderr);
    assert.match(JSON.parse(low.stdout).warnings.join('\n'), /integrates to 1\.0864 electrons/);
    const ok = run([]);
    assert.equal(ok.status, 0, ok.stderr);
    assert.deepEqual(JSON.parse(ok.stdout).warnings, []);
  });
});
