/** Radial-mesh numerics as QE does them (simpson, spherical Bessel j0) and a double-precision erfc. */

/**
 * QE's `simpson`: Σ over pairs of intervals of (f1 + 4 f2 + f3)/3 with f = func·rab, on the first
 * `mesh` points (mesh odd; an even count silently drops the last point, as in QE).
 */
export function simpson(mesh: number, func: ArrayLike<number>, rab: ArrayLike<number>): number {
  let sum = 0;
  let f3 = (func[0] * rab[0]) / 3;
  for (let i = 1; i < mesh - 1; i += 2) {
    const f1 = f3;
    const f2 = (func[i] * rab[i]) / 3;
    f3 = (func[i + 1] * rab[i + 1]) / 3;
    sum += f1 + 4 * f2 + f3;
  }
  return sum;
}

/** Points QE integrates radial functions over: up to the first r > 10 Bohr, made odd (`msh`). */
export function qeRadialCutoffPoints(rBohr: ArrayLike<number>, rcutBohr = 10): number {
  let msh = rBohr.length;
  for (let i = 0; i < rBohr.length; i++) {
    if (rBohr[i] > rcutBohr) {
      msh = i + 1; // QE's 1-based index of that point
      break;
    }
  }
  return 2 * Math.floor((msh + 1) / 2) - 1;
}

/** j0(x) = sin x / x, with the series near 0 (QE switches at |x| < 0.05). */
export function besselJ0(x: number): number {
  if (Math.abs(x) < 0.05) {
    const x2 = x * x;
    return 1 - (x2 / 6) * (1 - (x2 / 20) * (1 - (x2 / 42) * (1 - x2 / 72)));
  }
  return Math.sin(x) / x;
}

const twoOverSqrtPi = 2 / Math.sqrt(Math.PI);

/** Complementary error function to ~1e-15 relative for x ≥ 0 (series below 1.5, continued fraction above). */
export function erfc(x: number): number {
  if (x < 0) return 2 - erfc(-x);
  if (x < 1.5) {
    // erf(x) = 2x/√π e^(−x²) Σ (2x²)^n / (1·3·…·(2n+1)): all terms positive, no cancellation.
    const x2 = x * x;
    let term = 1;
    let sum = 1;
    for (let n = 1; n < 200; n++) {
      term *= (2 * x2) / (2 * n + 1);
      sum += term;
      if (term < 1e-17 * sum) break;
    }
    return 1 - twoOverSqrtPi * x * Math.exp(-x2) * sum;
  }
  // erfc(x) = e^(−x²)/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + …)))), modified Lentz.
  const tiny = 1e-300;
  let f = x;
  let c = x;
  let d = 0;
  for (let n = 1; n < 500; n++) {
    const an = n / 2;
    d = x + an * d;
    d = Math.abs(d) < tiny ? tiny : d;
    c = x + an / c;
    c = Math.abs(c) < tiny ? tiny : c;
    d = 1 / d;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return Math.exp(-x * x) / (Math.sqrt(Math.PI) * f);
}
