import { strict as assert } from 'node:assert';
import { evaluateCorrection, fitPairCorrection, pairBasis, pairDesign, type ResidualFrame } from '../../bench/force-residual-pairs';
import type { Atoms, Vec3 } from '../../src/structure/atoms';
import { seededUniform } from '../../src/util/seeded-uniform';

// the same frames on every run
const rng = seededUniform;

// a 4-atom fcc Al cell (4.05 Å, smaller than the cutoff, so periodic images count), atoms displaced by up to ±0.2 Å
function frame(seed: number): Atoms {
  const r = rng(seed);
  const a = 4.05;
  const sites: Vec3[] = [[0, 0, 0], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5]];
  return {
    cellAngstrom: [[a, 0, 0], [0, a, 0], [0, 0, a]],
    positionsAngstrom: sites.map((s) => s.map((x) => x * a + 0.4 * (r() - 0.5)) as Vec3),
    symbols: ['Al', 'Al', 'Al', 'Al'],
    pbc: [true, true, true],
  };
}

const basis = pairBasis(2.1, 5, 8);
const dot = (a: readonly number[], c: readonly number[]) => a.reduce((s, x, k) => s + x * c[k], 0);

describe('bench/force-residual-pairs: a pair potential fitted to force residuals', () => {
  it('the design\'s forces are −∂E/∂R of its energy, periodic images included (central differences)', () => {
    const atoms = frame(1);
    const n = atoms.positionsAngstrom.length;
    const d = pairDesign(atoms, basis);
    const h = 1e-5;
    let largest = 0;
    for (let i = 0; i < n; i++)
      for (let a = 0; a < 3; a++) {
        const moved = (s: number) => {
          const p = atoms.positionsAngstrom.map((r) => [...r] as Vec3);
          p[i][a] += s * h;
          return pairDesign({ ...atoms, positionsAngstrom: p }, basis).energyPerAtom.map((e) => e * n);
        };
        const [plus, minus] = [moved(1), moved(-1)];
        for (let k = 0; k < basis.centresAngstrom.length; k++) {
          const fd = -(plus[k] - minus[k]) / (2 * h);
          largest = Math.max(largest, Math.abs(fd - d.forces[3 * i + a][k]));
        }
      }
    assert.ok(largest < 1e-6, `largest |F − F_fd| ${largest}`);
    assert.ok(Math.max(...d.forces.flat().map(Math.abs)) > 0.01, 'the displaced atoms feel the basis');
    // an atom moved by a lattice vector is the same crystal: every image within the cutoff is counted
    const p = atoms.positionsAngstrom.map((r) => [...r] as Vec3);
    p[0] = [p[0][0] + 4.05, p[0][1], p[0][2] - 4.05];
    const same = pairDesign({ ...atoms, positionsAngstrom: p }, basis);
    same.forces.flat().forEach((x, k) => assert.ok(Math.abs(x - d.forces.flat()[k]) < 1e-9, `force design ${k}: ${x} vs ${d.forces.flat()[k]}`));
    same.energyPerAtom.forEach((x, k) => assert.ok(Math.abs(x - d.energyPerAtom[k]) < 1e-9));
  });

  it('recovers a residual that is a pair term, on frames it was not fitted to, energies included', () => {
    const truth = [0.3, -0.2, 0.1, 0.05, -0.02, 0.01, 0, 0];
    const frames: ResidualFrame[] = [1, 2, 3, 4, 5, 6, 7, 8].map((seed) => {
      const design = pairDesign(frame(seed), basis);
      const residual = design.forces.map((row) => dot(row, truth));
      // the model's energy error is minus the missing pair energy, plus a constant (which no pair term needs to fit)
      return { name: `f${seed}`, design, residualEvPerA: residual, qeForcesEvPerA: residual, totalErrorMeVPerAtom: 7 - 1000 * dot(design.energyPerAtom, truth) };
    });
    const c = fitPairCorrection(frames.slice(0, 5), 1e-12);
    const held = evaluateCorrection('held', frames.slice(5), c);
    assert.ok(held.forceRmseBeforeEvPerA > 0.05, `the residual is there: ${held.forceRmseBeforeEvPerA}`);
    assert.ok(held.forceRmseAfterEvPerA < 1e-6 * held.forceRmseBeforeEvPerA, `after ${held.forceRmseAfterEvPerA}`);
    assert.ok(held.energySpreadBeforeMeVPerAtom! > 1, `the energy errors spread: ${held.energySpreadBeforeMeVPerAtom}`);
    assert.ok(held.energySpreadAfterMeVPerAtom! < 1e-6, `after ${held.energySpreadAfterMeVPerAtom}`);
  });

  it('with an energy weight, also evens out energy errors that a pair term carries (and without one, does not)', () => {
    const truth = [0.3, -0.2, 0.1, 0.05, -0.02, 0.01, 0, 0];
    const frames: ResidualFrame[] = Array.from({ length: 24 }, (_, k) => k + 1).map((seed) => {
      const design = pairDesign(frame(seed), basis);
      // no force residual at all, only energy errors of a pair term's shape
      return { name: `f${seed}`, design, residualEvPerA: design.forces.map(() => 0), qeForcesEvPerA: design.forces.map(() => 1), totalErrorMeVPerAtom: -1000 * dot(design.energyPerAtom, truth) };
    });
    const spread = (w: number) => evaluateCorrection('held', frames.slice(16), fitPairCorrection(frames.slice(0, 16), 1e-12, w)).energySpreadAfterMeVPerAtom!;
    const before = evaluateCorrection('held', frames.slice(16), truth.map(() => 0)).energySpreadBeforeMeVPerAtom!;
    assert.ok(before > 1, `the energy errors spread: ${before}`);
    assert.ok(Math.abs(spread(0) - before) < 1e-6 * before, `no energy weight, no energy fit: ${spread(0)} vs ${before}`);
    // 16 frames' energies against their 16·12 zero force rows: a weight of 1000 lets the energies win
    assert.ok(spread(1000) < 0.01 * before, `energy weight 1000: ${spread(1000)} against ${before}`);
  });

  it('leaves a residual that is no pair term (noise) on the held-out frames', () => {
    const r = rng(99);
    const frames: ResidualFrame[] = [1, 2, 3, 4, 5, 6, 7, 8].map((seed) => {
      const design = pairDesign(frame(seed), basis);
      const residual = design.forces.map(() => r() - 0.5);
      return { name: `f${seed}`, design, residualEvPerA: residual, qeForcesEvPerA: residual };
    });
    const c = fitPairCorrection(frames.slice(0, 5), 1e-4);
    const held = evaluateCorrection('held', frames.slice(5), c);
    assert.ok(held.forceRmseAfterEvPerA > 0.9 * held.forceRmseBeforeEvPerA, `${held.forceRmseBeforeEvPerA} → ${held.forceRmseAfterEvPerA}`);
    assert.equal(held.energySpreadBeforeMeVPerAtom, undefined, 'no energies, no spread');
  });
});
