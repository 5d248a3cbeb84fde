import { strict as assert } from 'node:assert';
import { analyticalWeights, antiderivativesScaled, polylogNeg } from '../../src/targets/fermi-dirac';
import { kTEv } from '../../src/structure/units';
import { integrands, quad, quadPiecewiseLinear } from './quadrature';

const rel = (a: number, b: number) => Math.abs(a - b) / Math.abs(b);

describe('targets/fermi-dirac', () => {
  it('polylogarithms of negative arguments match known values', () => {
    assert.ok(Math.abs(polylogNeg(2, 1) + Math.PI ** 2 / 12) < 1e-15);
    assert.ok(Math.abs(polylogNeg(3, 1) + 0.75 * 1.2020569031595942) < 1e-15);
    // Li2(−1/2) and Li3(−1/2) (mpmath)
    assert.ok(rel(polylogNeg(2, 0.5), -0.4484142069236462) < 1e-14);
    assert.ok(rel(polylogNeg(3, 0.5), -0.472597844658897) < 1e-14);
    // across the series/acceleration switch at t = 0.25 both branches agree with the plain series
    for (const t of [0.2499999, 0.25, 0.3, 0.7, 0.95]) {
      let s2 = 0;
      let s3 = 0;
      for (let k = 1; k < 20000; k++) {
        s2 += (-t) ** k / k ** 2;
        s3 += (-t) ** k / k ** 3;
      }
      assert.ok(Math.abs(polylogNeg(2, t) - s2) < 1e-13, `Li2(-${t})`);
      assert.ok(Math.abs(polylogNeg(3, t) - s3) < 1e-13, `Li3(-${t})`);
    }
  });

  it('antiderivatives are continuous across x = 0 (the two stable branches agree)', () => {
    const a = antiderivativesScaled(-1e-12);
    const b = antiderivativesScaled(1e-12);
    for (const k of ['f0', 'f1', 'f2', 's0', 's1'] as const) assert.ok(Math.abs(a[k] - b[k]) < 1e-11, k);
  });

  it("reproduces MALA's test_analytical_integration values (μ = 7 eV, T = 298 K, 6.83…7.11 eV)", () => {
    const kT = kTEv(298);
    const F = (x: number) => antiderivativesScaled((x - 7) / kT);
    const lo = F(6.83);
    const hi = F(7.11);
    assert.ok(rel((hi.f0 - lo.f0) * kT, 0.16968242343780637) < 1e-12);
    assert.ok(rel((hi.f1 - lo.f1) * kT ** 2, -0.013419716353749172) < 1e-12);
    assert.ok(rel((hi.f2 - lo.f2) * kT ** 3, 0.001632282212561872) < 1e-12);
  });

  it('antiderivative differences equal high-resolution quadrature to 1e-10 relative', () => {
    const kT = kTEv(300);
    const mu = 7;
    const g = integrands(mu, kT);
    for (const [a, b] of [[6.83, 7.11], [2, 6.9], [7.05, 12], [-3, 18], [6.99, 7.01]]) {
      const A = antiderivativesScaled((a - mu) / kT);
      const B = antiderivativesScaled((b - mu) / kT);
      const w = kT / 4;
      // Relative to ∫|g| so that integrals that nearly cancel (S1 across μ) are judged fairly.
      const check = (got: number, g1: (e: number) => number, name: string) => {
        const ref = quad(g1, a, b, w);
        const scale = quad((e) => Math.abs(g1(e)), a, b, w);
        assert.ok(Math.abs(got - ref) / scale < 1e-10, `${name} ${a}..${b}: ${got} vs ${ref}`);
      };
      check((B.f0 - A.f0) * kT, g.f, 'F0');
      check((B.f1 - A.f1) * kT ** 2, g.ef, 'F1');
      check((B.f2 - A.f2) * kT ** 3, g.e2f, 'F2');
      check((B.s0 - A.s0) * kT ** 2, g.kts, 'S0');
      check((B.s1 - A.s1) * kT ** 3, g.ekts, 'S1');
    }
  });

  it('weights integrate a piecewise-linear DOS exactly (vs quadrature, 1e-8 relative), for μ on and off the grid', () => {
    const energies = Float64Array.from({ length: 21 }, (_, i) => -4 + 0.5 * i);
    const dos = Float64Array.from(energies, (e) => 0.3 + 0.2 * Math.sin(e) + 0.05 * e);
    for (const [T, mu] of [[300, 1.234], [300, 1.5], [1000, -3.9], [5000, 3.1], [50, 0.01]]) {
      const kT = kTEv(T);
      const w = analyticalWeights(energies, mu, kT);
      const g = integrands(mu, kT);
      const width = Math.min(kT / 4, 0.05);
      const sum = (x: Float64Array) => x.reduce((s, v, i) => s + v * dos[i], 0);
      assert.ok(rel(sum(w.electrons), quadPiecewiseLinear(dos, energies, g.f, width)) < 1e-8, `N T=${T} mu=${mu}`);
      assert.ok(rel(sum(w.bandEnergyRelative), quadPiecewiseLinear(dos, energies, g.ef, width)) < 1e-8, `Eb T=${T} mu=${mu}`);
      assert.ok(rel(sum(w.entropy), quadPiecewiseLinear(dos, energies, g.kts, width)) < 1e-8, `S T=${T} mu=${mu}`);
    }
  });
});
