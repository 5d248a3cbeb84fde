import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MalaError } from '../../src/errors';
import {
  gridCoordinatesAngstrom,
  gridPointAngstrom,
  parseGrid,
  qeAllowedFftDimension,
  qeFftGrid,
  qeGoodFftOrder,
  validateGrid,
  voxelAngstrom,
  voxelVolumeA3,
} from '../../src/grid/grid';
import { readStructure } from '../../src/structure/registry';
import { referenceDir } from '../helpers';

const qeDir = path.join(__dirname, 'fixtures', 'qe');

describe('grid: QE FFT grid choice', () => {
  it('allowed sizes have only factors 2, 3, 5 (QE with FFTW)', () => {
    assert.deepEqual(
      [1, 2, 7, 11, 13, 14, 15, 18, 27, 49, 125].map(qeAllowedFftDimension),
      [true, true, false, false, false, false, true, true, true, false, true],
    );
    assert.equal(qeGoodFftOrder(17), 18);
    assert.equal(qeGoodFftOrder(13), 15);
    assert.equal(qeGoodFftOrder(27), 27);
    assert.equal(qeGoodFftOrder(29), 30);
    assert.equal(qeGoodFftOrder(31), 32);
  });

  // Each input was run through Debian's pw.x 6.7; its output prints the grid pw.x chose.
  const inputs = fs.readdirSync(qeDir).filter((f) => f.endsWith('.in'));
  // What the fixtures are for: each .out is pw.x's run of its own .in (same Bravais lattice, cutoff,
  // cell and atoms), and together they cover these lattices.
  it('has a pw.x run of each input, covering ibrav 0, 2, 3, 4, 6, 8, 14', () => {
    assert.ok(inputs.length >= 8);
    const maxDiff = (a: number[][], b: number[][]): number => Math.max(...a.flatMap((r, i) => r.map((x, j) => Math.abs(x - b[i][j]))));
    const ibravs = new Set<number>();
    for (const f of inputs) {
      const inp = readStructure(path.join(qeDir, f));
      const out = readStructure(path.join(qeDir, f.replace(/\.in$/, '.out')));
      const ibrav = inp.qeInput!.namelists.system.ibrav as number;
      assert.equal(out.qeOutput!.bravaisLatticeIndex, ibrav, `${f}: pw.x's bravais-lattice index`);
      assert.equal(out.qeOutput!.ecutrhoRy, inp.qeInput!.ecutrhoRy, `${f}: ecutrho`);
      assert.deepEqual(out.atoms.symbols, inp.atoms.symbols, `${f}: atoms`);
      // pw.x prints the cell and positions to 6-7 decimals of alat
      assert.ok(maxDiff(out.atoms.cellAngstrom, inp.atoms.cellAngstrom) < 1e-5, `${f}: cell`);
      assert.ok(maxDiff(out.atoms.positionsAngstrom, inp.atoms.positionsAngstrom) < 1e-5, `${f}: positions`);
      ibravs.add(ibrav);
    }
    assert.deepEqual([...ibravs].sort((a, b) => a - b), [0, 2, 3, 4, 6, 8, 14]);
  });
  for (const f of inputs) {
    it(`matches pw.x's dense grid for ${f}`, () => {
      const inp = readStructure(path.join(qeDir, f));
      const out = readStructure(path.join(qeDir, f.replace(/\.in$/, '.out')));
      const want = out.qeOutput!.fftGrid!;
      assert.ok(want, 'fixture output has an FFT grid');
      assert.deepEqual(qeFftGrid(inp.atoms.cellAngstrom, inp.qeInput!.ecutrhoRy!), want);
    });
  }

  it('gives 18×18×27 for Be2 from the QE input and from the output cell', function () {
    const dir = referenceDir(this);
    const inp = readStructure(path.join(dir, 'recreate_data', 'Be.pw.scf.in'));
    assert.deepEqual(qeFftGrid(inp.atoms.cellAngstrom, inp.qeInput!.ecutrhoRy!), [18, 18, 27]);
    const out = readStructure(path.join(dir, 'Be_snapshot0.out'));
    assert.deepEqual(qeFftGrid(out.atoms.cellAngstrom, out.qeOutput!.ecutrhoRy!), [18, 18, 27]);
  });

  it('rejects a non-positive cutoff and a zero-volume cell', () => {
    const cell: [number, number, number][] = [[3, 0, 0], [0, 3, 0], [0, 0, 3]];
    assert.throws(() => qeFftGrid(cell as never, 0), MalaError);
    assert.throws(() => qeFftGrid([[3, 0, 0], [6, 0, 0], [0, 0, 3]] as never, 100), MalaError);
  });
});

describe('grid: shape, voxel, coordinates', () => {
  const be2Cell = [
    [2.259825867767797, 0, 0],
    [-1.1299129338838985, 1.9570656971336065, 0],
    [0, 0, 3.5698785608749377],
  ] as never;

  it('validates and parses grids', () => {
    assert.deepEqual(parseGrid('18,18,27'), [18, 18, 27]);
    assert.deepEqual(parseGrid('18x18x27'), [18, 18, 27]);
    for (const bad of ['18,0,27', '18,18', '1.5,2,3', '-1,2,3']) assert.throws(() => parseGrid(bad), MalaError, bad);
    assert.throws(() => validateGrid([4, 0, 4]), /positive integers/);
  });

  it('reproduces Be2 voxel and grid coordinates (spec Appendix A, info.json)', () => {
    const g = [18, 18, 27] as [number, number, number];
    assert.ok(Math.abs(voxelVolumeA3(be2Cell, g) - 0.0018047832) < 1e-9);
    const v = voxelAngstrom(be2Cell, g);
    assert.ok(Math.abs(v[0][0] - 0.1255458815426554) < 1e-15);
    assert.ok(Math.abs(v[2][2] - 0.13221772447684954) < 1e-15);
    const p100 = gridPointAngstrom(be2Cell, g, 1, 0, 0);
    const p010 = gridPointAngstrom(be2Cell, g, 0, 1, 0);
    assert.ok(Math.abs(p100[0] - 0.12554587) < 2e-8 && p100[1] === 0);
    assert.ok(Math.abs(p010[0] + 0.06277294) < 2e-8 && Math.abs(p010[1] - 0.10872588) < 2e-8);
  });

  it('lists coordinates z fastest', () => {
    const g = [2, 3, 4] as [number, number, number];
    const c = gridCoordinatesAngstrom(be2Cell, g);
    assert.equal(c.length, 2 * 3 * 4 * 3);
    const row = (1 * 3 + 2) * 4 + 3; // (i,j,k) = (1,2,3)
    assert.deepEqual(Array.from(c.slice(row * 3, row * 3 + 3)), gridPointAngstrom(be2Cell, g, 1, 2, 3));
    const part = gridCoordinatesAngstrom(be2Cell, g, 1, 2);
    assert.deepEqual(Array.from(part), Array.from(c.slice(12 * 3)));
  });
});
