/**
 * The bispectrum adjoint (SnaEngine.forces via NativeBispectrum.blockForces) against central finite
 * differences of E = Σ_g β_g·B_g (float64 descriptors of the same block) in every atom coordinate:
 * F_I = −∂E/∂R_I to ≤ 1e-6 of max|F| (or 1e-8 absolute). A wrong sign, a dropped term (switching
 * function, weights, quadratic chain, an image of an atom) makes the difference O(|F|).
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { cacheDir } from '../../bindings/native-paths';
import type { BispectrumParameters } from '../../src/descriptors/bispectrum';
import { NativeBispectrum, blockPointsAngstrom } from '../../src/descriptors/bispectrum-native';
import { malaBispectrumDefaults } from '../../src/descriptors/mala-defaults';
import { MalaError } from '../../src/errors';
import type { GridShape } from '../../src/grid/grid';
import type { GridBlock } from '../../src/parallel/plane-blocks';
import type { Atoms, Vec3 } from '../../src/structure/atoms';
import { lammpsDataText } from '../../src/structure/lammps-data';
import { tempDir } from '../helpers';

const stepAngstrom = 1e-5;
const relTolerance = 1e-6;
const absTolerance = 1e-8;

/** Deterministic uniform numbers in [0, 1). */
function rng(seed: number): () => number {
  let x = seed >>> 0;
  return () => {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    return x / 4294967296;
  };
}

/** Conventional fcc Al (4 atoms) with thermal-like displacements (±0.15 Å). */
function alCell(seed = 1): Atoms {
  const a = 4.05;
  const r = rng(seed);
  const fcc: Vec3[] = [
    [0, 0, 0],
    [0, 0.5, 0.5],
    [0.5, 0, 0.5],
    [0.5, 0.5, 0],
  ];
  return {
    cellAngstrom: [
      [a, 0, 0],
      [0, a, 0],
      [0, 0, a],
    ],
    positionsAngstrom: fcc.map((f) => f.map((x) => x * a + 0.3 * (r() - 0.5)) as Vec3),
    symbols: ['Al', 'Al', 'Al', 'Al'],
    pbc: [true, true, true],
  };
}

/** Two species (rocksalt-like, 8 atoms, distorted). */
function twoSpeciesCell(): Atoms {
  const a = 5.2;
  const r = rng(5);
  const pos: Vec3[] = [];
  const sym: string[] = [];
  for (const f of [
    [0, 0, 0],
    [0, 0.5, 0.5],
    [0.5, 0, 0.5],
    [0.5, 0.5, 0],
  ]) {
    pos.push(f.map((x) => x * a + 0.2 * (r() - 0.5)) as Vec3);
    sym.push('Ba');
    pos.push([(f[0] + 0.5) * a + 0.2 * (r() - 0.5), f[1] * a + 0.2 * (r() - 0.5), f[2] * a]);
    sym.push('O');
  }
  return { cellAngstrom: [[a, 0, 0], [0.3, a + 0.1, 0], [0.2, 0, a - 0.1]], positionsAngstrom: pos, symbols: sym, pbc: [true, true, true] };
}

function randomBeta(n: number, seed: number): Float64Array {
  const r = rng(seed);
  return Float64Array.from({ length: n }, () => 2 * r() - 1);
}

function energy(atoms: Atoms, grid: GridShape, p: BispectrumParameters, block: GridBlock, beta: Float64Array): number {
  const B = new NativeBispectrum(atoms, grid, p).computeBlockFloat64(block);
  let e = 0;
  for (let i = 0; i < B.length; i++) e += beta[i] * B[i];
  return e;
}

/** Central differences −∂E/∂R of every atom coordinate (atoms × 3). */
function finiteDifferenceForces(atoms: Atoms, grid: GridShape, p: BispectrumParameters, block: GridBlock, beta: Float64Array): Float64Array {
  const out = new Float64Array(atoms.positionsAngstrom.length * 3);
  atoms.positionsAngstrom.forEach((_, a) => {
    for (let d = 0; d < 3; d++) {
      const moved = (h: number): Atoms => ({ ...atoms, positionsAngstrom: atoms.positionsAngstrom.map((r, q) => (q === a ? (r.map((x, e) => (e === d ? x + h : x)) as Vec3) : r)) });
      out[3 * a + d] = -(energy(moved(stepAngstrom), grid, p, block, beta) - energy(moved(-stepAngstrom), grid, p, block, beta)) / (2 * stepAngstrom);
    }
  });
  return out;
}

/** Asserts blockForces = finite differences; returns the relative difference. */
function check(label: string, atoms: Atoms, grid: GridShape, p: BispectrumParameters, block: GridBlock, seed = 3): number {
  const calc = new NativeBispectrum(atoms, grid, p);
  const n = calc.computeBlockFloat64(block).length / calc.featureCount;
  const beta = randomBeta(n * calc.featureCount, seed);
  const got = calc.blockForces(block, beta);
  const fd = finiteDifferenceForces(atoms, grid, p, block, beta);
  let scale = 0;
  let diff = 0;
  fd.forEach((f, i) => {
    scale = Math.max(scale, Math.abs(f));
    diff = Math.max(diff, Math.abs(f - got[i]));
  });
  const rel = diff / scale;
  console.log(`      ${label}: ${n} points, max|F| ${scale.toExponential(2)}, max|adjoint − FD| ${diff.toExponential(2)} (relative ${rel.toExponential(2)})`);
  assert.ok(scale > 1e-3, `${label}: the forces are not trivially zero`);
  assert.ok(rel <= relTolerance || diff <= absTolerance, `${label}: relative ${rel}`);
  return rel;
}

describe('descriptors: bispectrum adjoint (native forces) against finite differences', function () {
  this.timeout(120000);

  const block: GridBlock = { i0: 2, i1: 4, rowStart: 1, rowStride: 4 };

  it('periodic Al cell with thermal displacements, MALA parameters (twojmax 10); atom images sum', () => {
    check('Al4, twojmax 10', alCell(), [8, 8, 8], malaBispectrumDefaults, block);
  });

  it('two species with different radii and weights', () => {
    check('two species, radii 0.5/0.42, weights 1/0.7', twoSpeciesCell(), [6, 6, 6], { ...malaBispectrumDefaults, twojmax: 6, elementRadii: [0.5, 0.42], elementWeights: [1, 0.7] }, { i0: 1, i1: 3, rowStart: 0, rowStride: 2 });
  });

  it('rmin0 0.4, rfac0 0.8, odd twojmax 5, bzeroflag 1', () => {
    check('rmin0/rfac0/odd twojmax', alCell(2), [8, 8, 8], { ...malaBispectrumDefaults, twojmax: 5, rmin0Angstrom: 0.4, rfac0: 0.8, bzeroflag: 1 }, block);
  });

  it('switchflag 0', () => {
    check('switchflag 0', alCell(4), [8, 8, 8], { ...malaBispectrumDefaults, twojmax: 6, switchflag: 0 }, block);
  });

  it('quadraticflag 1 (β of B_a·B_b chained to B_a and B_b), with bzeroflag 1', () => {
    check('quadratic, twojmax 4', twoSpeciesCell(), [6, 6, 6], { ...malaBispectrumDefaults, twojmax: 4, quadraticflag: 1, bzeroflag: 1, elementWeights: [1, 0.6] }, { i0: 0, i1: 2, rowStart: 1, rowStride: 2 });
  });

  it('a non-periodic axis (slab, a3 open)', () => {
    const a = twoSpeciesCell();
    const slab: Atoms = { ...a, cellAngstrom: [a.cellAngstrom[0], a.cellAngstrom[1], [0, 0, 12]], positionsAngstrom: a.positionsAngstrom.map((r) => [r[0], r[1], r[2] + 1] as Vec3), pbc: [true, true, false] };
    check('slab', slab, [5, 5, 10], { ...malaBispectrumDefaults, twojmax: 6 }, { i0: 0, i1: 5, rowStart: 2, rowStride: 5 });
  });

  it('gives the strain derivative ∂(Σ β·B)/∂ε of atoms and grid strained together (the descriptor part of the stress)', () => {
    const atoms = twoSpeciesCell();
    const grid: GridShape = [6, 6, 6];
    const p = { ...malaBispectrumDefaults, twojmax: 6, elementRadii: [0.5, 0.42], elementWeights: [1, 0.7] };
    const b: GridBlock = { i0: 1, i1: 3, rowStart: 0, rowStride: 2 };
    const calc = new NativeBispectrum(atoms, grid, p);
    const beta = randomBeta((calc.computeBlockFloat64(b).length / calc.featureCount) * calc.featureCount, 13);
    const got = new Float64Array(9);
    calc.blockForces(b, beta, got);
    const h = 1e-6;
    const strained = (ab: number, e: number): Atoms => {
      const m = (r: readonly number[]): Vec3 => [0, 1, 2].map((c) => r[c] + (c === ab % 3 ? e * r[Math.floor(ab / 3)] : 0)) as Vec3;
      return { ...atoms, cellAngstrom: atoms.cellAngstrom.map(m) as Atoms['cellAngstrom'], positionsAngstrom: atoms.positionsAngstrom.map(m) };
    };
    let scale = 0;
    let diff = 0;
    for (let ab = 0; ab < 9; ab++) {
      const fd = (energy(strained(ab, h), grid, p, b, beta) - energy(strained(ab, -h), grid, p, b, beta)) / (2 * h);
      scale = Math.max(scale, Math.abs(fd));
      diff = Math.max(diff, Math.abs(fd - got[ab]));
    }
    console.log(`      strain derivative: max ${scale.toExponential(2)} eV, max|adjoint − FD| ${diff.toExponential(2)}; antisymmetric part ${Math.max(Math.abs(got[1] - got[3]), Math.abs(got[2] - got[6]), Math.abs(got[5] - got[7])).toExponential(2)} (B is rotation invariant)`);
    assert.ok(scale > 1e-3 && diff <= 1e-6 * scale, `relative ${diff / scale}`);
    assert.ok(Math.abs(got[1] - got[3]) <= 1e-8 * scale && Math.abs(got[2] - got[6]) <= 1e-8 * scale && Math.abs(got[5] - got[7]) <= 1e-8 * scale);
  });

  it('gives the same forces from every kernel (generic, generic-w8, AVX2, AVX-512 where the CPU has them)', () => {
    const atoms = alCell(6);
    const grid: GridShape = [6, 6, 6];
    const p = { ...malaBispectrumDefaults, twojmax: 8 };
    const b: GridBlock = { i0: 0, i1: 3, rowStart: 0, rowStride: 1 };
    const saved = process.env.MALA_TS_SNA_ISA;
    const results: Record<string, Float64Array> = {};
    try {
      for (const isa of ['generic', 'generic-w8', 'avx2', 'avx512']) {
        process.env.MALA_TS_SNA_ISA = isa;
        const calc = new NativeBispectrum(atoms, grid, p);
        results[calc.engine.isa] = calc.blockForces(b, randomBeta(108 * calc.featureCount, 9));
      }
    } finally {
      if (saved === undefined) delete process.env.MALA_TS_SNA_ISA;
      else process.env.MALA_TS_SNA_ISA = saved;
    }
    console.log(`      kernels run here: ${Object.keys(results).join(', ')}`);
    assert.ok(results.generic && results['generic-w8'], 'the portable kernels always run');
    const ref = results.generic;
    const scale = Math.max(...ref.map(Math.abs));
    for (const [isa, f] of Object.entries(results)) f.forEach((x, i) => assert.ok(Math.abs(x - ref[i]) <= 1e-10 * scale, `${isa} component ${i}: ${x} vs ${ref[i]}`));
  });

  it('agrees with LAMMPS compute snap dgradflag 1 (grid points as probe atoms of weight 0, probe pairs excluded)', function () {
    const lmp = process.env.MALA_TS_LMP ?? path.join(cacheDir(), 'lammps', 'bin', 'lmp');
    if (!fs.existsSync(lmp)) this.skip();
    const atoms = alCell(8);
    const grid: GridShape = [6, 6, 6];
    const b: GridBlock = { i0: 1, i1: 2, rowStart: 0, rowStride: 2 };
    const p = { ...malaBispectrumDefaults, twojmax: 6 };
    const calc = new NativeBispectrum(atoms, grid, p);
    const F = calc.featureCount;
    const points = blockPointsAngstrom(atoms.cellAngstrom, grid, b);
    const m = points.length / 3;
    const nat = atoms.symbols.length;
    const beta = randomBeta(m * F, 11);
    const mine = calc.blockForces(b, beta);
    const t = tempDir();
    try {
      const pos = atoms.positionsAngstrom.slice();
      const sym = atoms.symbols.slice();
      for (let q = 0; q < m; q++) {
        pos.push([points[3 * q], points[3 * q + 1], points[3 * q + 2]]);
        sym.push('Ne');
      }
      fs.writeFileSync(path.join(t.dir, 'probes.data'), lammpsDataText({ ...atoms, positionsAngstrom: pos, symbols: sym }, ['Al', 'Ne']));
      fs.writeFileSync(
        path.join(t.dir, 'in.snap'),
        [
          'units metal',
          'atom_style atomic',
          'boundary p p p',
          'read_data probes.data',
          'group probes type 2',
          `pair_style zero ${p.rcutfacAngstrom}`,
          'pair_coeff * *',
          'neigh_modify exclude type 2 2',
          `compute s probes snap ${p.rcutfacAngstrom} ${p.rfac0} ${p.twojmax} 0.5 0.5 1.0 0.0 rmin0 0 bzeroflag 0 quadraticflag 0 switchflag 1 bikflag 1 dgradflag 1`,
          'fix out all ave/time 1 1 1 c_s[*] file snap.out mode vector format " %.17g"',
          'run 0',
          '',
        ].join('\n'),
      );
      const r = spawnSync(lmp, ['-in', 'in.snap', '-log', 'none', '-screen', 'none'], { cwd: t.dir });
      assert.equal(r.status, 0, `lmp failed: ${r.stderr}`);
      // rows: B of every atom, then 3·N² rows (i, j, xyz, −∂B_i/∂R_j), then a reference row
      const rows = fs.readFileSync(path.join(t.dir, 'snap.out'), 'utf8').split('\n').filter((l) => !l.startsWith('#')).map((l) => l.trim().split(/\s+/).map(Number)).filter((r) => r.length === F + 4);
      const n = nat + m;
      assert.equal(rows.length, n + 3 * n * n + 1);
      const ref = new Float64Array(nat * 3);
      for (const row of rows.slice(n, n + 3 * n * n)) {
        const [, i, j, x] = row;
        if (i < nat || j >= nat) continue;
        for (let c = 0; c < F; c++) ref[3 * j + x] += beta[(i - nat) * F + c] * row[4 + c];
      }
      const scale = Math.max(...ref.map(Math.abs));
      const diff = Math.max(...mine.map((v, q) => Math.abs(v - ref[q])));
      console.log(`      LAMMPS dgradflag, ${m} probes: max|F| ${scale.toExponential(2)}, max|native − LAMMPS| ${diff.toExponential(2)}`);
      assert.ok(scale > 1e-3 && diff <= 1e-6 * scale, `relative ${diff / scale}`);
    } finally {
      t.cleanup();
    }
  });

  it('refuses a beta of the wrong length with one MalaError', () => {
    const calc = new NativeBispectrum(alCell(), [4, 4, 4], { ...malaBispectrumDefaults, twojmax: 2 });
    assert.throws(
      () => calc.blockForces({ i0: 0, i1: 1, rowStart: 0, rowStride: 1 }, new Float64Array(3)),
      (e: unknown) => e instanceof MalaError && /beta holds 3 values/.test(e.message),
    );
  });
});
