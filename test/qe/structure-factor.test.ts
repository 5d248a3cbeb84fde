import { strict as assert } from 'node:assert';
import { GSphere } from '../../src/qe/gsphere';
import {
  chooseStructureFactorMethod,
  fftFriendlySize,
  planNufft,
  structureFactor,
  structureFactorNufft,
} from '../../src/qe/structure-factor';
import { fccSupercell } from '../../src/structure/crystal';

/** Deterministic uniform numbers in [0, 1). */
function rng(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s / 2147483648;
  };
}

function maxAbsDiff(a: Float64Array, b: Float64Array): number {
  assert.equal(a.length, b.length);
  let e = 0;
  for (let i = 0; i < a.length; i++) e = Math.max(e, Math.abs(a[i] - b[i]));
  return e;
}

const sumAbs = (w: number[]): number => w.reduce((s, x) => s + Math.abs(x), 0);

/** Fractional positions with the awkward ones first: exactly 0, just below 1, tiny negative, exactly 1, outside the cell. */
function awkwardPositions(nat: number, rnd: () => number): number[][] {
  const fixed = [
    [0, 0, 0],
    [1 - 1e-15, 1 - 1e-12, 1 - 2 ** -52],
    [-1e-17, 0.5, -1e-300],
    [1, 1, 1],
    [2.3, -0.7, 1.5],
  ];
  const out = fixed.slice(0, nat);
  while (out.length < nat) out.push([rnd(), rnd(), rnd()]);
  return out;
}

describe('qe/structure-factor: S(G) by NUFFT against the direct sum', () => {
  const cases: { name: string; cell: number[][]; grid: [number, number, number]; ecut: number; nat: number }[] = [
    { name: 'triclinic, even grid', cell: [[10, 0.3, -0.2], [0.5, 11, 0.4], [-0.7, 0.2, 12.5]], grid: [36, 40, 48], ecut: 80, nat: 40 },
    { name: 'triclinic, odd grid', cell: [[9, 1.5, 0], [-2.1, 9.5, 0.8], [1.2, -0.9, 8.4]], grid: [27, 25, 35], ecut: 60, nat: 25 },
    { name: 'strongly skewed, mixed grid', cell: [[7, 0, 0], [5.5, 6, 0], [3, 2.5, 9]], grid: [30, 45, 27], ecut: 70, nat: 33 },
    { name: 'one atom, small cell', cell: [[5, 0, 0], [0, 5.4, 0], [0, 0.3, 6]], grid: [15, 16, 18], ecut: 50, nat: 1 },
  ];
  for (const [k, c] of cases.entries()) {
    it(`${c.name} (${c.grid.join('×')}, ${c.nat} atoms, mixed-sign and zero weights): max error ≤ 1e-10·Σ|w|`, () => {
      const rnd = rng(100 + k);
      const gs = new GSphere(c.cell, c.grid, c.ecut);
      const frac = awkwardPositions(c.nat, rnd);
      const w = frac.map((_, i) => (i % 4 === 3 ? 0 : rnd() * 5 - 2));
      const direct = gs.structureFactor(frac, w);
      const fast = structureFactorNufft(gs, frac, w);
      const rel = maxAbsDiff(fast, direct) / sumAbs(w);
      assert.ok(rel <= 1e-10, `max |ΔS| / Σ|w| = ${rel}`);
      // the comparison is not vacuous: S is far from zero
      assert.ok(Math.abs(fast[0]) > 1e-3 || Math.abs(fast[2]) > 1e-3);
    });
  }

  it('a sphere restricted to a range of x-planes (an MPI rank\'s slab) gets the same S(G) by NUFFT as directly', () => {
    const rnd = rng(31);
    const c = cases[1];
    const frac = awkwardPositions(30, rnd);
    const w = frac.map(() => rnd() * 3 - 1);
    const whole = new GSphere(c.cell, c.grid, c.ecut);
    const wholeS = whole.structureFactor(frac, w);
    for (const planes of [[0, 9], [9, 18], [20, 27]] as [number, number][]) {
      const gs = new GSphere(c.cell, c.grid, c.ecut, planes);
      assert.ok(gs.count > 0 && gs.count < whole.count);
      const fast = structureFactorNufft(gs, frac, w);
      const rel = maxAbsDiff(fast, gs.structureFactor(frac, w)) / sumAbs(w);
      assert.ok(rel <= 1e-10, `planes ${planes}: max |ΔS| / Σ|w| = ${rel}`);
      // and each G's value is the whole sphere's (found by its flat FFT index)
      const at = new Map<number, number>();
      for (let i = 0; i < whole.count; i++) at.set(whole.index[i], i);
      let worst = 0;
      for (let i = 0; i < gs.count; i++) {
        const j = at.get(gs.index[i])!;
        worst = Math.max(worst, Math.abs(fast[2 * i] - wholeS[2 * j]), Math.abs(fast[2 * i + 1] - wholeS[2 * j + 1]));
      }
      assert.ok(worst / sumAbs(w) <= 1e-10, `planes ${planes}: against the whole sphere ${worst}`);
    }
  });

  it('reaches ~1e-12 at the default tolerance, and tighter tolerances are tighter', () => {
    const rnd = rng(7);
    const gs = new GSphere(cases[0].cell, cases[0].grid, cases[0].ecut);
    const frac = awkwardPositions(60, rnd);
    const w = frac.map(() => rnd() * 4 - 1);
    const direct = gs.structureFactor(frac, w);
    const rel = (tol?: number): number => maxAbsDiff(structureFactorNufft(gs, frac, w, tol ? { tolerance: tol } : {}), direct) / sumAbs(w);
    const def = rel();
    assert.ok(def < 1e-11, `default: ${def}`);
    const loose = rel(1e-6);
    assert.ok(loose > 10 * rel(1e-12), `1e-6 gives ${loose}`);
    assert.ok(loose < 1e-5, `1e-6 gives ${loose}`);
  });

  it('odd oversampled sizes (an unpaired last plane, a partial last batch) and other oversampling factors', () => {
    const rnd = rng(9);
    const gs = new GSphere(cases[0].cell, cases[0].grid, cases[0].ecut);
    const frac = awkwardPositions(30, rnd);
    const w = frac.map(() => rnd() * 3 - 1);
    const direct = gs.structureFactor(frac, w);
    for (const oversampling of [[1.7, 2.1, 1.8], [2, 2, 2]] as [number, number, number][]) {
      const plan = planNufft(gs, { oversampling });
      if (oversampling[2] === 1.8) assert.ok(plan.axes[2].size % 2 === 1 && plan.axes[2].size % (2 * plan.planePairs) !== 0, `N3 ${plan.axes[2].size}`);
      const rel = maxAbsDiff(structureFactorNufft(gs, frac, w, { oversampling }), direct) / sumAbs(w);
      assert.ok(rel <= 1e-10, `oversampling ${oversampling}: ${rel}`);
    }
  });

  it('several passes over the atoms (small column budget) give the one-pass result', () => {
    const rnd = rng(8);
    const gs = new GSphere(cases[1].cell, cases[1].grid, cases[1].ecut);
    const frac = awkwardPositions(20, rnd);
    const w = frac.map(() => rnd() * 2 - 1);
    const one = structureFactorNufft(gs, frac, w);
    const plan = planNufft(gs, { maxColumnBytes: 20000 });
    assert.ok(plan.passes >= 3, `passes ${plan.passes}`);
    const many = structureFactorNufft(gs, frac, w, { maxColumnBytes: 20000 });
    assert.ok(maxAbsDiff(one, many) < 1e-13 * sumAbs(w));
  });

  it('all-zero weights give S = 0; a single atom at the origin gives S = w for every G', () => {
    const gs = new GSphere(cases[3].cell, cases[3].grid, cases[3].ecut);
    const zero = structureFactorNufft(gs, [[0.2, 0.3, 0.4]], [0]);
    assert.ok(zero.every((x) => x === 0));
    const one = structureFactorNufft(gs, [[0, 0, 0]], [2.5]);
    for (let i = 0; i < gs.count; i++) {
      assert.ok(Math.abs(one[2 * i] - 2.5) < 1e-10 && Math.abs(one[2 * i + 1]) < 1e-10, `G ${i}: ${one[2 * i]} ${one[2 * i + 1]}`);
    }
  });

  it('column store stays below twice the density grid in complex doubles', () => {
    const gs = new GSphere(cases[0].cell, cases[0].grid, cases[0].ecut);
    const plan = planNufft(gs);
    assert.ok(plan.columnBytes <= 2 * 16 * gs.nGrid, `${plan.columnBytes} B vs grid ${16 * gs.nGrid} B`);
    for (const a of plan.axes) assert.ok(a.size >= 2 * a.h + 2 && a.size === fftFriendlySize(a.size));
  });

  it('fftFriendlySize: smallest 2·3·5·7-smooth size ≥ n', () => {
    assert.deepEqual([1, 11, 13, 17, 97, 121, 128, 211].map(fftFriendlySize), [1, 12, 14, 18, 98, 125, 128, 216]);
  });
});

describe('qe/structure-factor: automatic choice', () => {
  const bohr = 0.529177210903;
  const fccSphere = (n: number, grid: [number, number, number]): { gs: GSphere; frac: number[][] } => {
    const at = fccSupercell('Al', 4.05, [n, n, n]);
    const cell = at.cellAngstrom.map((r) => r.map((x) => x / bohr));
    return { gs: new GSphere(cell, grid, 80), frac: at.positionsAngstrom.map((p) => p.map((x) => x / (4.05 * n))) };
  };

  it('the 4-atom fcc Al cell (24³, 80 Ry) stays on the direct sum, bit for bit', () => {
    const { gs, frac } = fccSphere(1, [24, 24, 24]);
    assert.equal(chooseStructureFactorMethod(gs, 4), 'direct');
    const w = [3, 3, 3, 3];
    assert.deepEqual(structureFactor(gs, frac, w), gs.structureFactor(frac, w));
  });

  it('256 atoms (90³, 80 Ry) take the NUFFT, and agree with the direct sum to 1e-10·Σ|w|', () => {
    const { gs, frac } = fccSphere(4, [90, 90, 90]);
    assert.equal(chooseStructureFactorMethod(gs, 256), 'nufft');
    // zero weights do not count: 2 real atoms among 256 stay direct
    const w2 = frac.map((_, i) => (i < 2 ? 1 : 0));
    assert.equal(chooseStructureFactorMethod(gs, 2), 'direct');
    assert.deepEqual(structureFactor(gs, frac, w2), gs.structureFactor(frac, w2));
    const w = frac.map((_, i) => (i % 2 ? 3 : -1));
    const auto = structureFactor(gs, frac, w);
    const direct = structureFactor(gs, frac, w, 'direct');
    assert.ok(maxAbsDiff(auto, direct) <= 1e-10 * sumAbs(w));
    assert.notDeepEqual(auto, direct); // it really took the other path
  });
});
