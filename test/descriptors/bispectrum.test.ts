import { strict as assert } from 'node:assert';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MalaError } from '../../src/errors';
import {
  BispectrumCalculator,
  BispectrumParameters,
  bispectrumCount,
  computeBispectrum,
} from '../../src/descriptors/bispectrum';
import { malaBispectrumDefaults } from '../../src/descriptors/mala-defaults';
import { readNpy } from '../../src/io/npy';
import { Atoms, Vec3 } from '../../src/structure/atoms';
import { restrictedTriclinic, toLammpsFrame } from '../../src/structure/lammps-data';
import { readStructure, writeStructure } from '../../src/structure/registry';
import { computeDescriptorsFile } from '../../src/workflow/descriptors';
import { referenceDir, relL2, repoRoot, tempDir, generalTriclinicAtoms } from '../helpers';

const qeDir = path.join(repoRoot, 'test', 'grid', 'fixtures', 'qe');
const fast: BispectrumParameters = { ...malaBispectrumDefaults, twojmax: 4, rcutfacAngstrom: 3.5 };
const cli = path.join(repoRoot, 'bin', 'mala-ts.js');

function maxRelDiff(a: Float32Array, b: Float32Array, F: number, skipCols = 0): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    if (i % F < skipCols) continue;
    m = Math.max(m, Math.abs(a[i] - b[i]) / Math.max(1e-3, Math.abs(b[i])));
  }
  return m;
}

describe('descriptors: bispectrum via LAMMPS', function () {
  this.timeout(120000);

  it('counts coefficients like LAMMPS (spec §2.5)', () => {
    assert.deepEqual(
      Array.from({ length: 13 }, (_, J) => bispectrumCount(J)),
      [1, 2, 5, 8, 14, 20, 30, 40, 55, 70, 91, 112, 140],
    );
  });

  it('reproduces Be2 snapshot 0 through the CLI (all 94 columns, rel. L2 < 1e-7; README: 4.8e-8)', function () {
    const dir = referenceDir(this);
    const t = tempDir();
    try {
      const out = path.join(t.dir, 'be0.npy');
      const stdout = execFileSync(process.execPath, [cli, 'descriptors', path.join(dir, 'Be_snapshot0.out'), '--xyz', '--out', out], { encoding: 'utf8', env: { ...process.env, MALA_TS_QUIET: '1' } });
      assert.match(stdout, /18×18×27 \(qe-output\)/);
      const mine = readNpy(out);
      const ref = readNpy(path.join(dir, 'Be_snapshot0.in.npy'));
      assert.deepEqual(mine.shape, [18, 18, 27, 94]);
      assert.deepEqual(ref.shape, mine.shape);
      const err = relL2(mine.data, ref.data);
      assert.ok(err < 1e-7, `rel L2 ${err}`);
      // spec Appendix A: grid point (5,11,20)
      const row = ((5 * 18 + 11) * 27 + 20) * 94;
      const want = [1578.256, 1.1584651, 0.16520473, 46.046089];
      want.forEach((w, c) => assert.ok(Math.abs(mine.data[row + 3 + c] - w) / w < 1e-6, `B[${c}]`));
    } finally {
      t.cleanup();
    }
  });

  it('reproduces Be2 snapshot 1 through the workflow (grid chosen from the QE output)', function () {
    const dir = referenceDir(this);
    const t = tempDir();
    try {
      const out = path.join(t.dir, 'be1.npy');
      const res = computeDescriptorsFile({ structureFile: path.join(dir, 'Be_snapshot1.out'), outFile: out, xyz: true });
      assert.deepEqual(res.grid.grid, [18, 18, 27]);
      const err = relL2(readNpy(out).data, readNpy(path.join(dir, 'Be_snapshot1.in.npy')).data);
      assert.ok(err < 1e-7, `rel L2 ${err}`);
    } finally {
      t.cleanup();
    }
  });

  it('gives identical descriptors from a QE input, its LAMMPS data and its extxyz', () => {
    const t = tempDir();
    try {
      const qe = readStructure(path.join(qeDir, 'triclinic-ibrav0-bohr.in'));
      const data = path.join(t.dir, 's.data');
      const xyz = path.join(t.dir, 's.xyz');
      writeStructure(data, qe.atoms);
      writeStructure(xyz, qe.atoms);
      const outs = [qe.file, data, xyz].map((f, k) => {
        const out = path.join(t.dir, `d${k}.npy`);
        computeDescriptorsFile({ structureFile: f, outFile: out, grid: [4, 5, 6], params: fast, xyz: true });
        return readNpy(out);
      });
      assert.deepEqual(outs[0].shape, [4, 5, 6, 3 + 14]);
      assert.deepEqual(Array.from(outs[1].data), Array.from(outs[0].data));
      assert.deepEqual(Array.from(outs[2].data), Array.from(outs[0].data));
      assert.ok(outs[0].data.some((x, i) => i % 17 === 4 && x !== outs[0].data[4]), 'descriptors vary over the grid');
    } finally {
      t.cleanup();
    }
  });

  // general triclinic cell (not LAMMPS' form), two elements, atoms outside the cell
  const tri: Atoms = generalTriclinicAtoms(4.1);

  it('handles a rotated triclinic cell: same bispectrum as LAMMPS\' frame, xyz in the input frame', () => {
    const grid = [3, 4, 5];
    const a = computeBispectrum(tri, grid, fast, { xyz: true });
    const b = computeBispectrum(toLammpsFrame(tri), grid, fast, { xyz: true });
    assert.ok(maxRelDiff(a, b, 17, 3) < 1e-9, 'bispectrum is rotation invariant');
    // xyz of grid point (1,2,3) = 1/3 a1 + 2/4 a2 + 3/5 a3 in the frame given
    const row = ((1 * 4 + 2) * 5 + 3) * 17;
    const c = tri.cellAngstrom;
    [0, 1, 2].forEach((d) => assert.ok(Math.abs(a[row + d] - (c[0][d] / 3 + c[1][d] / 2 + (3 * c[2][d]) / 5)) < 1e-6));
    assert.notDeepEqual(restrictedTriclinic(tri.cellAngstrom), tri.cellAngstrom);
  });

  it('gives the same descriptors for atoms moved outside the cell by lattice vectors', () => {
    const c = tri.cellAngstrom;
    const moved: Atoms = {
      ...tri,
      positionsAngstrom: tri.positionsAngstrom.map((p, k) => p.map((x, d) => x + (k + 1) * 2 * c[0][d] - 3 * c[2][d] + (k === 1 ? -c[1][d] : 0)) as Vec3),
    };
    const a = computeBispectrum(tri, [3, 3, 4], fast);
    const b = computeBispectrum(moved, [3, 3, 4], fast);
    assert.ok(maxRelDiff(a, b, 14) < 1e-9);
  });

  it('gives the size MALA expects for 2 elements, weights in alphabetical order, rescaled to max 1', () => {
    const two = readStructure(path.join(qeDir, 'tetra-ibrav6-cellalat.in')).atoms; // Al + As
    const calc = new BispectrumCalculator(two, [3, 3, 3], malaBispectrumDefaults, { xyz: true });
    try {
      assert.equal(calc.featureCount, 94);
      assert.deepEqual(calc.species, ['Al', 'As']);
      assert.equal(calc.computeAll().length, 27 * 94);
    } finally {
      calc.close();
    }
    const w = (weights: number[] | undefined, atoms: Atoms = tri) => computeBispectrum(atoms, [2, 2, 3], { ...fast, elementWeights: weights });
    const half = w([1, 0.5]); // Al 1, O 0.5
    assert.ok(maxRelDiff(w([2, 1]), half, 14) < 1e-12, 'rescaled so the largest weight is 1');
    assert.ok(maxRelDiff(w(undefined), half, 14) > 1e-3, 'weights matter');
    // swap the element names and the weights with them: same physics
    const swapped: Atoms = { ...tri, symbols: tri.symbols.map((s) => (s === 'O' ? 'Al' : 'O')) };
    const other = computeBispectrum(swapped, [2, 2, 3], { ...fast, elementWeights: [0.5, 1] });
    assert.ok(maxRelDiff(other, half, 14) < 1e-12);
  });

  it('computes more than 3 elements (beyond MALA\'s limit)', () => {
    const four: Atoms = { ...tri, positionsAngstrom: [...tri.positionsAngstrom, [2, 2, 4]], symbols: ['O', 'Al', 'H', 'Be'] };
    const d = computeBispectrum(four, [2, 2, 2], { ...fast, elementWeights: [1, 0.9, 0.8, 0.7] });
    assert.equal(d.length, 8 * 14);
    assert.ok(d.every(Number.isFinite));
  });

  it('gives bit-identical results in bounded runs: interleaved planes and single planes', () => {
    const grid = [6, 3, 4];
    const whole = computeBispectrum(tri, grid, fast, { xyz: true });
    const small = computeBispectrum(tri, grid, fast, { xyz: true, maxPointsPerRun: 30 }); // 3 runs of 2 planes
    assert.deepEqual(Array.from(small), Array.from(whole));
    const calc = new BispectrumCalculator(tri, grid, fast, { xyz: true });
    try {
      const planes = calc.computePlanes(2, 5);
      assert.deepEqual(Array.from(planes), Array.from(whole.slice(2 * 12 * 17, 5 * 12 * 17)));
      assert.throws(() => calc.computePlanes(5, 7), RangeError);
    } finally {
      calc.close();
    }
  });

  it('computes every s-th row of planes alone (shift along a tilted a2) with the whole grid\'s values', () => {
    const grid = [6, 4, 4];
    const F = 17; // xyz + 14 coefficients
    const whole = computeBispectrum(tri, grid, fast, { xyz: true });
    const calc = new BispectrumCalculator(tri, grid, fast, { xyz: true });
    try {
      for (const [q, s] of [[1, 2], [0, 4], [3, 4]]) {
        const rows = calc.computeRows(2, 5, q, s);
        assert.equal(rows.length, 3 * (4 / s) * 4 * F);
        let worst = 0;
        let p = 0;
        for (let i = 2; i < 5; i++)
          for (let j = q; j < 4; j += s)
            for (let k = 0; k < 4; k++, p++)
              for (let c = 0; c < F; c++) {
                const ref = whole[((i * 4 + j) * 4 + k) * F + c];
                worst = Math.max(worst, Math.abs(rows[p * F + c] - ref) / Math.max(1, Math.abs(ref)));
              }
        assert.ok(worst < 1e-6, `rows ${q} mod ${s}: relative difference ${worst}`);
      }
      assert.throws(() => calc.computeRows(0, 1, 0, 3), RangeError, '3 does not divide 4 rows');
    } finally {
      calc.close();
    }
  });

  it('streams big grids to the file in plane blocks with the same result', () => {
    const t = tempDir();
    try {
      const f = path.join(t.dir, 's.xyz');
      writeStructure(f, tri);
      const a = path.join(t.dir, 'a.npy');
      const b = path.join(t.dir, 'b.npy');
      computeDescriptorsFile({ structureFile: f, outFile: a, grid: [5, 3, 4], params: fast });
      computeDescriptorsFile({ structureFile: f, outFile: b, grid: [5, 3, 4], params: fast, maxPointsPerRun: 24 });
      assert.deepEqual(Array.from(readNpy(b).data), Array.from(readNpy(a).data));
    } finally {
      t.cleanup();
    }
  });

  describe('bad input: one clear error, no output file', () => {
    const t = tempDir();
    after(() => t.cleanup());
    const cell = 'Lattice="4 0 0 0 4 0 0 0 4" Properties=species:S:1:pos:R:3';
    const cases: [string, () => string, RegExp, (readonly number[])?][] = [
      ['unknown format', () => t.write('a.pdb', 'HEADER x\nATOM 1 N\n'), /unknown structure format/],
      ['malformed QE input', () => t.write('b.in', '&CONTROL\n/\n&SYSTEM\n ibrav=1, A=4, nat=2, ntyp=1\n/\nATOMIC_SPECIES\nAl 27 Al.UPF\nATOMIC_POSITIONS alat\nAl 0 0 0\n'), /malformed QE input/],
      ['zero-volume cell', () => t.write('c.xyz', `1\nLattice="4 0 0 4 0 0 0 0 4"\nAl 0 0 0\n`), /zero volume/, [2, 2, 2]],
      ['unknown element', () => t.write('d.xyz', `1\n${cell}\nXx 0 0 0\n`), /unknown element/, [2, 2, 2]],
      ['grid with a zero dimension', () => t.write('e.xyz', `1\n${cell}\nAl 0 0 0\n`), /positive integers/, [2, 0, 2]],
      ['no grid at all', () => t.write('f.xyz', `1\n${cell}\nAl 0 0 0\n`), /no grid/],
    ];
    for (const [name, make, re, grid] of cases) {
      it(name, () => {
        const file = make();
        const out = path.join(t.dir, `${name.replace(/\W+/g, '_')}.npy`);
        assert.throws(() => computeDescriptorsFile({ structureFile: file, outFile: out, grid, params: fast }), (e: unknown) => e instanceof MalaError && re.test(e.message));
        assert.ok(!fs.existsSync(out), 'no output file');
        assert.deepEqual(fs.readdirSync(t.dir).filter((f) => f.endsWith('.npy') || f.includes('.tmp')), []);
      });
    }

    it('the CLI prints one error line with the file and a fix, exits 1, writes nothing', () => {
      const file = t.write('g.xyz', `1\n${cell}\nAl 0 0 0\n`);
      const out = path.join(t.dir, 'g.npy');
      const r = spawnSync(process.execPath, [cli, 'descriptors', file, '--grid', '4,0,4', '--out', out], { encoding: 'utf8' });
      assert.equal(r.status, 1);
      assert.match(r.stderr, /^mala-ts: error: .*--grid 4,0,4.*positive integers\n {2}fix: .*--grid/);
      assert.equal(r.stderr.trim().split('\n').length, 2);
      assert.ok(!fs.existsSync(out));
    });
  });
});
