/**
 * The native bispectrum engine (bindings/sna) against LAMMPS' compute sna/grid, the reference:
 * relative difference per feature column = max|native − lammps| / max|lammps|, ≤ 1e-6.
 */
import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import { createSnaEngine } from '../../bindings/sna';
import { BispectrumCalculator, type BispectrumParameters, bispectrumCount } from '../../src/descriptors/bispectrum';
import { malaBispectrumDefaults } from '../../src/descriptors/mala-defaults';
import { NativeBispectrum, bispectrumEngine } from '../../src/descriptors/bispectrum-native';
import { descriptorEngine } from '../../src/descriptors/descriptor-type';
import { openDescriptors } from '../../src/descriptors/registry';
import { MalaError } from '../../src/errors';
import type { GridShape } from '../../src/grid/grid';
import { readNpy } from '../../src/io/npy';
import { serialComm } from '../../src/parallel/comm';
import { blockGridIndices, gridBlocks } from '../../src/parallel/plane-blocks';
import type { Atoms, Vec3 } from '../../src/structure/atoms';
import { readStructure } from '../../src/structure/registry';
import { computeDescriptorsFile } from '../../src/workflow/descriptors';
import { generalTriclinicAtoms, referenceDir, repoRoot, tempDir } from '../helpers';

const tolerance = 1e-6;

/** Largest over feature columns of max|a − b| / max|b| (a, b: points × F). */
function maxColumnRelDiff(a: ArrayLike<number>, b: ArrayLike<number>, F: number, bStride = F, bOffset = 0): number {
  const n = a.length / F;
  assert.equal(b.length / bStride, n, 'point counts differ');
  let worst = 0;
  for (let c = 0; c < F; c++) {
    let d = 0;
    let m = 0;
    for (let p = 0; p < n; p++) {
      const ref = b[p * bStride + bOffset + c];
      d = Math.max(d, Math.abs(a[p * F + c] - ref));
      m = Math.max(m, Math.abs(ref));
    }
    worst = Math.max(worst, m > 0 ? d / m : d);
  }
  return worst;
}

function lammps(atoms: Atoms, grid: GridShape, p: BispectrumParameters): Float32Array {
  const calc = new BispectrumCalculator(atoms, grid, p, { xyz: false });
  try {
    return calc.computeAll();
  } finally {
    calc.close();
  }
}

function native(atoms: Atoms, grid: GridShape, p: BispectrumParameters): Float32Array {
  return new NativeBispectrum(atoms, grid, p).computeAll();
}

/** Native and LAMMPS descriptors of one case; returns the difference (and asserts it). */
function parity(atoms: Atoms, grid: GridShape, p: BispectrumParameters, label: string): number {
  const F = bispectrumCount(p.twojmax, p.quadraticflag);
  const ref = lammps(atoms, grid, p);
  const mine = native(atoms, grid, p);
  assert.equal(mine.length, ref.length);
  const d = maxColumnRelDiff(mine, ref, F);
  console.log(`      ${label}: max column-relative difference ${d.toExponential(2)}`);
  assert.ok(d <= tolerance, `${label}: ${d}`);
  return d;
}

/** BaO-like rocksalt (conventional cell, 8 atoms), a little distorted so no two points are alike. */
function baoCell(): Atoms {
  const a = 5.52;
  const pos: Vec3[] = [];
  const sym: string[] = [];
  const fcc: Vec3[] = [
    [0, 0, 0],
    [0, 0.5, 0.5],
    [0.5, 0, 0.5],
    [0.5, 0.5, 0],
  ];
  fcc.forEach((f, i) => {
    pos.push([f[0] * a + 0.05 * i, f[1] * a, f[2] * a - 0.03 * i]);
    sym.push('Ba');
    pos.push([(f[0] + 0.5) * a, f[1] * a + 0.04 * i, f[2] * a]);
    sym.push('O');
  });
  return { cellAngstrom: [[a, 0, 0], [0, a + 0.1, 0], [0.2, 0, a - 0.1]], positionsAngstrom: pos, symbols: sym, pbc: [true, true, true] };
}

const hcpFixture = path.join(repoRoot, 'test', 'grid', 'fixtures', 'qe', 'hex-ibrav4-abc.in');

describe('descriptors: native bispectrum engine (bindings/sna) against LAMMPS', function () {
  this.timeout(300000);

  it('reproduces MALA\'s Be2 snapshot 0 (all 94 columns incl. xyz) through the descriptors workflow', function () {
    const dir = referenceDir(this);
    const t = tempDir();
    try {
      const out = path.join(t.dir, 'be0.npy');
      computeDescriptorsFile({ structureFile: path.join(dir, 'Be_snapshot0.out'), outFile: out, xyz: true, engine: 'native' });
      const mine = readNpy(out);
      const ref = readNpy(path.join(dir, 'Be_snapshot0.in.npy'));
      assert.deepEqual(mine.shape, [18, 18, 27, 94]);
      const d = maxColumnRelDiff(mine.data, ref.data, 94);
      console.log(`      Be2 vs MALA .in.npy: max column-relative difference ${d.toExponential(2)}`);
      assert.ok(d <= tolerance, `Be2: ${d}`);
    } finally {
      t.cleanup();
    }
  });

  it('equals LAMMPS on the Be2-like hcp cell at MALA\'s parameters (twojmax 10)', () => {
    parity(readStructure(hcpFixture).atoms, [9, 9, 12], malaBispectrumDefaults, 'hcp Be, twojmax 10');
  });

  it('equals LAMMPS on the 108-atom Al example (neighbours from a cell list of many cells)', () => {
    parity(readStructure(path.join(repoRoot, 'examples', 'al108-298K.pw.scf.in')).atoms, [6, 6, 6], malaBispectrumDefaults, 'Al108, twojmax 10');
  });

  it('equals LAMMPS on a two-element BaO-like cell with element weights ≠ 1', () => {
    parity(baoCell(), [6, 6, 6], { ...malaBispectrumDefaults, elementWeights: [2, 1.3] }, 'BaO, weights 2:1.3');
  });

  it('equals LAMMPS with a different radius per element (pair cutoff 2·rcutfac·radius)', () => {
    parity(baoCell(), [5, 5, 5], { ...malaBispectrumDefaults, twojmax: 6, elementRadii: [0.5, 0.42], elementWeights: [1, 0.7] }, 'BaO, radii 0.5/0.42');
  });

  it('equals LAMMPS on a general triclinic cell', () => {
    parity(generalTriclinicAtoms(5), [5, 6, 7], { ...malaBispectrumDefaults, twojmax: 8 }, 'general triclinic, twojmax 8');
  });

  for (const [label, p] of [
    ['switchflag 0', { switchflag: 0 }],
    ['bzeroflag 1', { bzeroflag: 1 }],
    ['switchflag 0 + bzeroflag 1', { switchflag: 0, bzeroflag: 1 }],
    ['quadraticflag 1 (twojmax 4)', { quadraticflag: 1, twojmax: 4 }],
    ['rmin0 0.4, rfac0 0.8, odd twojmax 5', { rmin0Angstrom: 0.4, rfac0: 0.8, twojmax: 5 }],
  ] as [string, Partial<BispectrumParameters>][]) {
    it(`equals LAMMPS with ${label}`, () => {
      parity(generalTriclinicAtoms(5), [4, 5, 6], { ...malaBispectrumDefaults, twojmax: 6, ...p }, label);
    });
  }

  it('equals LAMMPS on a slab (a3 not periodic)', () => {
    const a = baoCell();
    // atoms inside the cell along a3, a vacuum gap above them
    const slab: Atoms = { ...a, cellAngstrom: [a.cellAngstrom[0], a.cellAngstrom[1], [0, 0, 12]], positionsAngstrom: a.positionsAngstrom.map((r) => [r[0], r[1], r[2] + 1] as Vec3), pbc: [true, true, false] };
    parity(slab, [5, 5, 8], { ...malaBispectrumDefaults, twojmax: 6 }, 'slab');
  });

  it('gives the same numbers from every kernel (generic, the AVX-512 layout in portable code, AVX2 and AVX-512 where the CPU has them)', () => {
    const atoms = generalTriclinicAtoms(5);
    const grid: GridShape = [3, 4, 5];
    const p = { ...malaBispectrumDefaults, twojmax: 8 };
    const saved = process.env.MALA_TS_SNA_ISA;
    const results: Record<string, Float32Array> = {};
    try {
      for (const isa of ['generic', 'generic-w8', 'avx2', 'avx512']) {
        process.env.MALA_TS_SNA_ISA = isa;
        const calc = new NativeBispectrum(atoms, grid, p);
        results[calc.engine.isa] = calc.computeAll();
      }
    } finally {
      if (saved === undefined) delete process.env.MALA_TS_SNA_ISA;
      else process.env.MALA_TS_SNA_ISA = saved;
    }
    console.log(`      kernels run here: ${Object.keys(results).join(', ')}`);
    assert.ok(results.generic && results['generic-w8'], 'the portable kernels always run');
    for (const [isa, r] of Object.entries(results)) assert.ok(maxColumnRelDiff(r, results.generic, bispectrumCount(8)) < 1e-6, isa);
  });

  it('computes blocks of rows and of planes as the same points of the whole grid (registry, engine native)', () => {
    const atoms = baoCell();
    const grid: GridShape = [4, 6, 5];
    const p = { ...malaBispectrumDefaults, twojmax: 4 };
    const F = bispectrumCount(4);
    const whole = native(atoms, grid, p);
    const src = openDescriptors({ type: 'Bispectrum', twojmax: 4, rcutfac: p.rcutfacAngstrom, rfac0: p.rfac0, rmin0: 0, switchflag: 1, bzeroflag: 0, quadraticflag: 0 } as { type: string }, { atoms, grid, comm: serialComm, engine: 'native' });
    try {
      for (const blocks of [gridBlocks(grid, 30), gridBlocks(grid, 12)]) {
        assert.ok(blocks.some((b) => b.rowStride > 1) || blocks.length > 1);
        for (const b of blocks) {
          const got = src.computeBlock(b);
          const idx = blockGridIndices(b, grid);
          idx.forEach((g, q) => {
            for (let c = 0; c < F; c++) assert.equal(got[q * F + c], whole[g * F + c]);
          });
        }
      }
    } finally {
      src.close();
    }
  });

  it('gives a supercell the descriptors of its primitive cell at the same points (atom images of blocks)', () => {
    const prim = baoCell();
    const c = prim.cellAngstrom;
    const pos: Vec3[] = [];
    const sym: string[] = [];
    for (let i = 0; i < 3; i++)
      prim.positionsAngstrom.forEach((r, q) => {
        pos.push([r[0] + i * c[0][0], r[1] + i * c[0][1], r[2] + i * c[0][2]]);
        sym.push(prim.symbols[q]);
      });
    const sc: Atoms = { ...prim, cellAngstrom: [[3 * c[0][0], 3 * c[0][1], 3 * c[0][2]], c[1], c[2]], positionsAngstrom: pos, symbols: sym };
    const p = { ...malaBispectrumDefaults, twojmax: 6 };
    const F = bispectrumCount(6);
    const small = native(prim, [4, 4, 4], p);
    const calc = new NativeBispectrum(sc, [12, 4, 4], p);
    for (let i = 0; i < 12; i++) {
      const plane = calc.computeBlock({ i0: i, i1: i + 1, rowStart: 0, rowStride: 1 });
      const ref = small.subarray((i % 4) * 16 * F, ((i % 4) + 1) * 16 * F);
      assert.ok(maxColumnRelDiff(plane, ref, F) < 1e-6, `plane ${i}`);
    }
  });

  it('names the engine in one MalaError when the addon is missing or the name is unknown', () => {
    assert.throws(
      () => createSnaEngine({ twojmax: 2, rcutfac: 4, rfac0: 0.99, rmin0: 0, switchflag: 1, bzeroflag: 0, quadraticflag: 0, radii: [0.5], weights: [1] }, '/nonexistent/mala_sna.node'),
      (e: unknown) => e instanceof MalaError && /native bispectrum engine is not available/.test(e.message) && /descriptor-engine lammps/.test(e.fix ?? ''),
    );
    assert.throws(() => descriptorEngine('kokkos'), (e: unknown) => e instanceof MalaError && /unknown descriptor engine 'kokkos'/.test(e.message));
  });

  it('is the default engine where its addon is built; an option or $MALA_TS_DESCRIPTOR_ENGINE picks LAMMPS', () => {
    const saved = process.env.MALA_TS_DESCRIPTOR_ENGINE;
    try {
      delete process.env.MALA_TS_DESCRIPTOR_ENGINE;
      assert.equal(bispectrumEngine(), 'native');
      assert.equal(bispectrumEngine('lammps'), 'lammps');
      process.env.MALA_TS_DESCRIPTOR_ENGINE = 'lammps';
      assert.equal(bispectrumEngine(), 'lammps');
      assert.equal(bispectrumEngine('native'), 'native');
    } finally {
      if (saved === undefined) delete process.env.MALA_TS_DESCRIPTOR_ENGINE;
      else process.env.MALA_TS_DESCRIPTOR_ENGINE = saved;
    }
  });
});
