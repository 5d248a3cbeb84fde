import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MalaError } from '../../src/errors';
import { Atoms, Mat3, cellVolumeA3, det3, fractionalPositions, wrapAtoms } from '../../src/structure/atoms';
import { atomicMassU, labelToSymbol } from '../../src/structure/elements';
import { extxyzText, parseExtxyz } from '../../src/structure/extxyz';
import { lammpsDataText, parseLammpsData, parseLammpsDump, restrictedTriclinic } from '../../src/structure/lammps-data';
import { parseStructure, readStructure, writeStructure } from '../../src/structure/registry';
import { tempDir, generalTriclinicAtoms } from '../helpers';

// a general triclinic cell, not in LAMMPS' lower-triangular form, two elements, one atom outside
const tri: Atoms = generalTriclinicAtoms(3.1);

const maxDiff = (a: number[][], b: number[][]): number => Math.max(...a.flatMap((r, i) => r.map((x, j) => Math.abs(x - b[i][j]))));

describe('structure: elements and Atoms', () => {
  it('maps labels to elements and knows masses', () => {
    assert.equal(labelToSymbol('Fe1'), 'Fe');
    assert.equal(labelToSymbol('Fe_up'), 'Fe');
    assert.equal(labelToSymbol('O2'), 'O');
    assert.equal(labelToSymbol('BE'), 'Be');
    assert.equal(atomicMassU('Be'), 9.0121831);
    assert.throws(() => labelToSymbol('Qz'), MalaError);
  });

  it('wraps atoms into the cell without changing fractional coordinates mod 1', () => {
    const w = wrapAtoms(tri);
    const f0 = fractionalPositions(tri);
    fractionalPositions(w).forEach((s, k) =>
      s.forEach((x, d) => {
        assert.ok(x >= 0 && x < 1);
        const delta = f0[k][d] - x;
        assert.ok(Math.abs(delta - Math.round(delta)) < 1e-12);
      }),
    );
  });
});

describe('structure: LAMMPS data', () => {
  it('converts a general cell to restricted triclinic with the same metric', () => {
    const r = restrictedTriclinic(tri.cellAngstrom);
    assert.equal(r[0][1], 0);
    assert.equal(r[0][2], 0);
    assert.equal(r[1][2], 0);
    for (let i = 0; i < 3; i++)
      for (let j = 0; j < 3; j++) {
        const g = (m: Mat3) => m[i][0] * m[j][0] + m[i][1] * m[j][1] + m[i][2] * m[j][2];
        assert.ok(Math.abs(g(r) - g(tri.cellAngstrom)) < 1e-12, `metric ${i}${j}`);
      }
    const lower: Mat3 = [[2, 0, 0], [0.3, 2, 0], [0.1, 0.2, 3]];
    assert.equal(restrictedTriclinic(lower), lower, 'already lower-triangular: unchanged');
    const left: Mat3 = [tri.cellAngstrom[1], tri.cellAngstrom[0], tri.cellAngstrom[2]];
    assert.ok(det3(left) < 0 && det3(restrictedTriclinic(left)) > 0, 'left-handed comes out mirrored');
  });

  it('round-trips through its own writer (types alphabetical, fractional coordinates kept)', () => {
    const text = lammpsDataText(tri);
    assert.match(text, /1 26\.9815385 # Al/);
    assert.match(text, /2 15\.999 # O/);
    assert.match(text, /xy xz yz/);
    const back = parseLammpsData(text, 'x.data');
    assert.deepEqual(back.symbols, tri.symbols);
    assert.ok(Math.abs(cellVolumeA3(back.cellAngstrom) - cellVolumeA3(tri.cellAngstrom)) < 1e-12);
    assert.ok(maxDiff(fractionalPositions(back), fractionalPositions(tri)) < 1e-13);
    // typeElements overrides the comments
    assert.deepEqual(parseLammpsData(text, 'x.data', { typeElements: ['Ga', 'N'] }).symbols, ['N', 'Ga', 'N']);
  });

  it('reads image flags, full style, an origin and element by mass', () => {
    const text = `LAMMPS data\n\n2 atoms\n1 atom types\n\n1.0 5.0 xlo xhi\n-1 3 ylo yhi\n0 4 zlo zhi\n\nMasses\n\n1 26.98\n\nAtoms # full\n\n2 1 1 0.0 2.0 0.0 1.0 1 0 0\n1 1 1 0.0 1.5 0.5 0.5 0 0 -1\n`;
    const a = parseLammpsData(text, 'f.data');
    assert.deepEqual(a.symbols, ['Al', 'Al']);
    assert.deepEqual(a.positionsAngstrom, [
      [0.5, 1.5, -3.5],
      [5.0, 1.0, 1.0],
    ]);
    assert.deepEqual(a.cellAngstrom, [[4, 0, 0], [0, 4, 0], [0, 0, 4]]);
  });

  it('reads a general-triclinic (avec/bvec/cvec) data file', () => {
    const text = `general\n\n1 atoms\n1 atom types\n\n3.1 0.4 -0.2 avec\n0.9 3.6 0.3 bvec\n-0.5 0.7 4.2 cvec\n0 0 0 abc origin\n\nMasses\n\n1 15.999 # O\n\nAtoms # atomic\n\n1 1 0.1 0.2 0.3\n`;
    const a = parseLammpsData(text);
    assert.deepEqual(a.cellAngstrom, tri.cellAngstrom);
    assert.deepEqual(a.symbols, ['O']);
  });

  it('names the problem for an element it cannot tell, a missing section, a count mismatch', () => {
    const noMass = `x\n\n1 atoms\n1 atom types\n0 4 xlo xhi\n0 4 ylo yhi\n0 4 zlo zhi\n\nAtoms # atomic\n\n1 1 0 0 0\n`;
    assert.throws(() => parseLammpsData(noMass, 'n.data'), (e: unknown) => e instanceof MalaError && /element of atom type 1/.test(e.message) && /--elements/.test(e.fix ?? ''));
    assert.throws(() => parseLammpsData(noMass.replace(/Atoms[\s\S]*/, ''), 'n.data'), /no Atoms section/);
    assert.throws(() => parseLammpsData(noMass.replace('1 atoms', '2 atoms'), 'n.data', { typeElements: ['Al'] }), /2 atoms/);
    assert.throws(() => parseLammpsData(noMass, 'n.data', { typeElements: ['Xx'] }), /unknown element 'Xx'/);
  });
});

describe('structure: LAMMPS dump', () => {
  it('reads the last frame of a triclinic dump with scaled coordinates', () => {
    const frame = (t: number, xs: number) =>
      `ITEM: TIMESTEP\n${t}\nITEM: NUMBER OF ATOMS\n2\nITEM: BOX BOUNDS xy xz yz pp pp pp\n-0.5 4.0 0.5\n0.0 3.0 -1.0\n0.0 5.0 0.0\nITEM: ATOMS id type xs ys zs\n2 2 ${xs} 0.5 0.5\n1 1 0 0 0\n`;
    const a = parseLammpsDump(frame(0, 0.1) + frame(10, 0.25), 'd.dump', { typeElements: ['Al', 'O'] });
    // bounds include the tilts: xlo = -0.5 - min(0, 0.5, -1, -0.5) = 0.5, xhi = 4 - max(0, 0.5, -1, -0.5) = 3.5
    assert.deepEqual(a.cellAngstrom, [[3, 0, 0], [0.5, 3, 0], [-1, 0, 5]]);
    assert.deepEqual(a.symbols, ['Al', 'O']);
    assert.deepEqual(a.positionsAngstrom[1], [0.25 * 3 + 0.5 * 0.5 - 0.5, 1.5, 2.5]);
    assert.throws(() => parseLammpsDump(frame(0, 0.1), 'd.dump'), /does not name elements/);
  });
});

describe('structure: extended XYZ', () => {
  it('round-trips exactly', () => {
    const text = extxyzText(tri);
    const back = parseExtxyz(text, 'x.xyz');
    assert.deepEqual(back, tri);
  });

  it('reads the last frame, Z columns and pbc', () => {
    const f = (x: number) => `1\nLattice="4 0 0 0 4 0 0 0 4" Properties=Z:I:1:pos:R:3:forces:R:3 pbc="T T F" energy=-1.0\n13 ${x} 0 0 0.1 0.2 0.3\n`;
    const a = parseExtxyz(f(0.5) + f(1.5));
    assert.deepEqual(a.positionsAngstrom, [[1.5, 0, 0]]);
    assert.deepEqual(a.symbols, ['Al']);
    assert.deepEqual(a.pbc, [true, true, false]);
  });

  it('explains what is wrong: no Lattice, zero-volume cell, unknown element, truncated', () => {
    assert.throws(() => parseExtxyz('1\ncomment\nAl 0 0 0\n', 'a.xyz'), (e: unknown) => e instanceof MalaError && /no Lattice/.test(e.message));
    assert.throws(() => parseExtxyz('1\nLattice="4 0 0 8 0 0 0 0 4"\nAl 0 0 0\n', 'a.xyz'), /zero volume/);
    assert.throws(() => parseExtxyz('1\nLattice="4 0 0 0 4 0 0 0 4"\nXx 0 0 0\n', 'a.xyz'), /unknown element/);
    assert.throws(() => parseExtxyz('3\nLattice="4 0 0 0 4 0 0 0 4"\nAl 0 0 0\n', 'a.xyz'), /file ends first/);
  });
});

describe('structure: registry', () => {
  it('detects formats by extension and by content, writes by extension', () => {
    const t = tempDir();
    try {
      const data = path.join(t.dir, 's.data');
      const xyz = path.join(t.dir, 's.xyz');
      writeStructure(data, tri);
      writeStructure(xyz, tri);
      assert.equal(readStructure(data).format, 'lammps-data');
      assert.equal(readStructure(xyz).format, 'extxyz');
      // content wins over a misleading or missing extension
      const odd = path.join(t.dir, 'structure.txt');
      fs.copyFileSync(data, odd);
      assert.equal(readStructure(odd).format, 'lammps-data');
      assert.equal(parseStructure(extxyzText(tri), 'noext').format, 'extxyz');
      assert.throws(() => writeStructure(path.join(t.dir, 's.pdb'), tri), MalaError);
      assert.ok(!fs.existsSync(path.join(t.dir, 's.pdb')));
    } finally {
      t.cleanup();
    }
  });

  it('rejects an unknown format with the list of supported ones', () => {
    assert.throws(
      () => parseStructure('HEADER    PROTEIN\nATOM      1  N   ALA A   1\n', 'x.pdb'),
      (e: unknown) => e instanceof MalaError && /unknown structure format/.test(e.message) && /extended XYZ/.test(e.fix ?? ''),
    );
    assert.throws(() => readStructure('/nonexistent/file.in'), /cannot read structure file/);
  });
});
