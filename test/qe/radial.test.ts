import { strict as assert } from 'node:assert';
import { besselJ0, erfc, qeRadialCutoffPoints, simpson } from '../../src/qe/radial';

describe('qe/radial', () => {
  it('erfc matches reference values to 1e-14 relative across both branches', () => {
    // Python math.erfc (C library) values.
    const ref: [number, number][] = [
      [0, 1.0],
      [0.1, 0.8875370839817152],
      [0.5, 0.4795001221869535],
      [1, 0.15729920705028513],
      [1.9, 0.0072095707647425325],
      [2, 0.004677734981047265],
      [2.1, 0.002979466656332984],
      [3, 2.2090496998585438e-5],
      [4, 1.541725790028002e-8],
      [5, 1.5374597944280351e-12],
      [6, 2.1519736712498916e-17],
    ];
    for (const [x, v] of ref) assert.ok(Math.abs(erfc(x) - v) <= 1e-14 * v, `erfc(${x}) = ${erfc(x)} vs ${v}`);
    assert.ok(Math.abs(erfc(-1) - (2 - 0.15729920705028513)) < 1e-15);
  });

  it("QE's simpson is exact for cubics on a uniform mesh and drops the last point of an even mesh", () => {
    const n = 11;
    const r = Float64Array.from({ length: n }, (_, i) => i * 0.1);
    const rab = new Float64Array(n).fill(0.1);
    const f = r.map((x) => x ** 3 - 2 * x + 1);
    assert.ok(Math.abs(simpson(n, f, rab) - (0.25 - 1 + 1)) < 1e-14);
    assert.equal(simpson(10, f, rab), simpson(9, f, rab));
  });

  it('radial cutoff: first point beyond 10 Bohr, made odd', () => {
    const r = Float64Array.from({ length: 30 }, (_, i) => i * 0.5); // r[21] = 10.5 → 1-based 22 → 21
    assert.equal(qeRadialCutoffPoints(r), 21);
    assert.equal(qeRadialCutoffPoints(Float64Array.from({ length: 8 }, (_, i) => i)), 7);
  });

  it('j0 is continuous at the series switch and equals sin x / x', () => {
    assert.ok(Math.abs(besselJ0(0.0499999) - Math.sin(0.0499999) / 0.0499999) < 1e-15);
    assert.equal(besselJ0(0), 1);
    assert.ok(Math.abs(besselJ0(2) - Math.sin(2) / 2) < 1e-16);
  });
});
