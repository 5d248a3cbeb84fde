import { strict as assert } from 'node:assert';
import { BfgsNote, PwBfgs } from '../../src/qe/pw-bfgs';

const PW_DEFAULTS = { trustRadiusIniBohr: 0.5, trustRadiusMinBohr: 1e-3, trustRadiusMaxBohr: 0.8, w1: 0.01, w2: 0.5 };

/** Minimise f from x0 with pw.x's BFGS; returns the evaluations used and the notes seen. */
function minimise(f: (x: number[]) => number, grad: (x: number[]) => number[], x0: number[], free: number[], gradThr: number, maxSteps = 200) {
  const bfgs = new PwBfgs({ energyThrRy: 1e-12, gradThrRyPerBohr: gradThr, ...PW_DEFAULTS }, free);
  let x = x0;
  const notes: BfgsNote[] = [];
  for (let n = 1; n <= maxSteps; n++) {
    const r = bfgs.step(x, f(x), grad(x));
    notes.push(...r.notes);
    if (r.converged || r.stuck) return { x, evaluations: n, converged: r.converged, notes };
    x = r.posBohr;
  }
  return { x, evaluations: maxSteps, converged: false, notes };
}

describe('qe: pw.x BFGS (trust radius, Wolfe line search, damped update)', () => {
  it('minimises a quadratic with unequal curvatures in a few steps, the largest atomic step within the trust radius', () => {
    const k = [0.5, 2, 8, 1, 3, 0.7];
    const f = (x: number[]) => x.reduce((s, v, i) => s + 0.5 * k[i] * (v - 0.1 * i) ** 2, 0);
    const g = (x: number[]) => x.map((v, i) => k[i] * (v - 0.1 * i));
    const r = minimise(f, g, [0.3, -0.2, 0.4, 0.1, 0.2, 0.0], [1, 1, 1, 1, 1, 1], 1e-8);
    assert.ok(r.converged);
    assert.ok(r.evaluations <= 15, `${r.evaluations} evaluations`);
    r.x.forEach((v, i) => assert.ok(Math.abs(v - 0.1 * i) < 1e-8, `x${i} = ${v}`));
    for (const n of r.notes) if (n.kind === 'trust-radius') assert.ok(n.bohr <= 0.8 + 1e-12);
  });

  it('walks down the Rosenbrock valley to its minimum (rejected steps, interpolated trust radius)', () => {
    const f = (x: number[]) => (1 - x[0]) ** 2 + 100 * (x[1] - x[0] ** 2) ** 2;
    const g = (x: number[]) => [-2 * (1 - x[0]) - 400 * x[0] * (x[1] - x[0] ** 2), 200 * (x[1] - x[0] ** 2), 0];
    const r = minimise(f, g, [-1.2, 1, 0], [1, 1, 0], 1e-6);
    assert.ok(r.converged, `stopped at ${r.x} after ${r.evaluations}`);
    assert.ok(Math.abs(r.x[0] - 1) < 1e-6 && Math.abs(r.x[1] - 1) < 1e-6, `x = ${r.x}`);
    assert.ok(r.evaluations < 80, `${r.evaluations} evaluations`);
    assert.ok(r.notes.some((n) => n.kind === 'rejected'), 'a step was rejected and retried shorter');
    assert.equal(r.x[2], 0, 'the fixed coordinate never moves');
  });

  it('converges at once when the first gradient is below the threshold (pw.x: 1 scf cycle, 0 bfgs steps)', () => {
    const bfgs = new PwBfgs({ energyThrRy: 1e-4, gradThrRyPerBohr: 1e-3, ...PW_DEFAULTS }, [1, 1, 1]);
    const r = bfgs.step([0, 0, 0], -1, [1e-4, 0, -2e-4]);
    assert.ok(r.converged);
    assert.deepEqual([bfgs.scfCycles, bfgs.bfgsSteps], [1, 0]);
  });
});
