/**
 * Fault suite, silent wrong results pw.x refuses (issue 14): overlapping atoms, a UPF of another
 * element under the right file name.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MalaError } from '../../src/errors';
import { loadPseudopotentials } from '../../src/qe/upf';
import { closestPairBelow } from '../../src/structure/atom-distances';
import type { Atoms } from '../../src/structure/atoms';
import { readStructure } from '../../src/structure/registry';
import { predict } from '../../src/workflow/predict';
import { writeSmallPredictModel } from '../network/synthetic';
import { repoRoot, tempDir } from '../helpers';

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

  it('a UPF of another element under the right file name is refused (it gave 6 electrons and PZ for Be)', () => {
    fs.copyFileSync(path.join(alFixture, 'Al.pz-vbc.UPF'), path.join(t.dir, 'Be.pbe.UPF'));
    assert.throws(() => loadPseudopotentials(['Be'], t.dir), (e: unknown) => e instanceof MalaError && /the pseudopotential Be\.pbe\.UPF is for Al, not for the species Be/.test(e.message));
    fs.copyFileSync(path.join(alFixture, 'Al.pz-vbc.UPF'), path.join(t.dir, 'Al.UPF'));
    assert.equal(loadPseudopotentials(['Al'], t.dir).Al.element.trim(), 'Al');
  });
});
