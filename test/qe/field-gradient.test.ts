/** addGradientAtAtoms (separable, two atoms per sweep) against the plain sum Σ_G Re[i·G·c·e^(iG·R)]. */
import { strict as assert } from 'node:assert';
import { addGradientAtAtoms } from '../../src/qe/field-gradient';
import { GSphere } from '../../src/qe/gsphere';

describe('qe field gradient at atoms', () => {
  it('equals the plain sum for a triclinic cell, 5 atoms, a filter leaving 3 (odd: a sweep with one atom)', () => {
    const cell = [
      [7.1, 0.3, -0.2],
      [1.1, 6.4, 0.4],
      [-0.5, 0.7, 8.2],
    ];
    const gs = new GSphere(cell, [15, 14, 17], 20);
    let s = 9;
    const rnd = (): number => {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      return s / 2 ** 32 - 0.5;
    };
    const coeffs = Float64Array.from({ length: 2 * gs.count }, rnd);
    const frac = Array.from({ length: 5 }, () => [rnd() + 0.5, rnd() + 0.5, 2 * rnd()]);
    const use = (a: number): boolean => a !== 1 && a !== 3;
    const out = new Float64Array(15).fill(1);
    addGradientAtAtoms(gs, coeffs, frac, out, use);
    const g = new Float64Array(3);
    for (let a = 0; a < 5; a++) {
      const ref = [1, 1, 1];
      if (use(a)) {
        for (let i = 0; i < gs.count; i++) {
          gs.gVector(i, g);
          const arg = 2 * Math.PI * (gs.m1[i] * frac[a][0] + gs.m2[i] * frac[a][1] + gs.m3[i] * frac[a][2]);
          const im = coeffs[2 * i] * Math.sin(arg) + coeffs[2 * i + 1] * Math.cos(arg); // Im(c·e^(iθ))
          for (let k = 0; k < 3; k++) ref[k] -= g[k] * im;
        }
      }
      for (let k = 0; k < 3; k++) assert.ok(Math.abs(out[3 * a + k] - ref[k]) <= 1e-10 * Math.max(1, Math.abs(ref[k])), `atom ${a} axis ${k}: ${out[3 * a + k]} vs ${ref[k]}`);
    }
  });
});
