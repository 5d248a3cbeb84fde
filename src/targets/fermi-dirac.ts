/**
 * Fermi–Dirac function and the "analytical" integration of a piecewise-linear (L)DOS against
 * Fermi–Dirac terms (spec §5.4–5.5), in float64 with numerically stable polylogarithms.
 *
 * Antiderivatives (x = β(ε−μ), L_s = Li_s(−e^x)):
 *   F0 = (x + L1)/β                      d/dε = f(ε)
 *   F1 = (x²/2 + x·L1 − L2)/β²           d/dε = (ε−μ)·f
 *   F2 = (x³/3 + x²·L1 − 2x·L2 + 2L3)/β³ d/dε = (ε−μ)²·f
 *   S0 = (−x·L1 + 2L2)/β²                d/dε = kT·s(ε),  s = f ln f + (1−f) ln(1−f)
 *   S1 = (−x²·L1 + 3x·L2 − 3L3)/β³       d/dε = (ε−μ)·kT·s(ε)
 * For x > 0 the inversion formulas for Li2/Li3 turn these into expressions in e^(−x) only, so
 * nothing overflows and no large terms cancel.
 */

const PI2_6 = (Math.PI * Math.PI) / 6;
const PI2_3 = (Math.PI * Math.PI) / 3;

/** Fermi–Dirac occupation f(ε) = 1/(1+exp((ε−μ)/kT)); kT in eV. */
export function fermiFunction(energyEv: number, fermiEnergyEv: number, kTEv: number): number {
  const x = (energyEv - fermiEnergyEv) / kTEv;
  // MALA clips the exponent at ln(DBL_MAX); exp(x) = Infinity gives exactly 0 here, same to float64.
  return 1 / (1 + Math.exp(x));
}

/** ln(1 + e^x) without overflow or loss for large |x|. */
export function softplus(x: number): number {
  return x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x));
}

/**
 * Σ_{k≥0} (−1)^k a_k for a totally monotone sequence, by the Cohen–Villegas–Zagier acceleration
 * (error ≤ 2·a_0/5.83^n). With n = 32 that is below float64 rounding.
 */
const CVZ_N = 32;
const CVZ_COEFF: Float64Array = (() => {
  const n = CVZ_N;
  let d = (3 + Math.sqrt(8)) ** n;
  d = (d + 1 / d) / 2;
  let b = -1;
  let c = -d;
  const w = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    c = b - c;
    w[k] = c / d;
    b = ((k + n) * (k - n) * b) / ((k + 0.5) * (k + 1));
  }
  return w;
})();

/**
 * Li_s(−t) for 0 ≤ t ≤ 1 and s ≥ 1: −Σ_{k≥0} (−1)^k t^(k+1)/(k+1)^s. For small t the plain
 * series converges fast; otherwise CVZ acceleration (exact to rounding even at t = 1).
 */
export function polylogNeg(s: number, t: number): number {
  if (t === 0) return 0;
  if (t < 0.25) {
    let sum = 0;
    let p = 1;
    for (let k = 1; k < 60; k++) {
      p *= -t;
      const term = p / k ** s;
      sum += term;
      if (Math.abs(term) < 1e-18 * Math.abs(sum)) break;
    }
    return sum;
  }
  let sum = 0;
  let p = 1;
  for (let k = 0; k < CVZ_N; k++) {
    p *= t;
    sum += CVZ_COEFF[k] * (p / (k + 1) ** s);
  }
  return -sum;
}

/** The five antiderivatives at x = β(ε−μ), in units of 1/β^(n+1) (i.e. multiplied by β^(n+1)). */
export interface FermiAntiderivatives {
  f0: number;
  f1: number;
  f2: number;
  s0: number;
  s1: number;
}

/** All antiderivatives in dimensionless form: F0·β, F1·β², F2·β³, S0·β², S1·β³. */
export function antiderivativesScaled(x: number): FermiAntiderivatives {
  if (x > 0) {
    const t = Math.exp(-x);
    const l = Math.log1p(t);
    const u = polylogNeg(2, t);
    const v = polylogNeg(3, t);
    return {
      f0: -l,
      f1: PI2_6 - x * l + u,
      f2: -x * x * l + 2 * x * u + 2 * v,
      s0: x * l - PI2_3 - 2 * u,
      s1: x * x * l - 3 * x * u - 3 * v,
    };
  }
  const t = Math.exp(x);
  const L1 = -Math.log1p(t);
  const L2 = polylogNeg(2, t);
  const L3 = polylogNeg(3, t);
  return {
    f0: x + L1,
    f1: (x * x) / 2 + x * L1 - L2,
    f2: (x * x * x) / 3 + x * x * L1 - 2 * x * L2 + 2 * L3,
    s0: -x * L1 + 2 * L2,
    s1: -x * x * L1 + 3 * x * L2 - 3 * L3,
  };
}

/** Which pair (I0, I1) of antiderivatives a weight set integrates with (spec §5.5). */
export type IntegralKind = 'electrons' | 'bandEnergy' | 'entropy';

export interface AnalyticalWeights {
  /** Σ_i D_i·w_i = ∫ D(ε)·f(ε) dε (eV·(1/eV) → electrons when D is a DOS). */
  electrons: Float64Array;
  /** Σ_i D_i·w_i = ∫ D(ε)·(ε−μ)·f(ε) dε (eV); add μ·N for the band energy. */
  bandEnergyRelative: Float64Array;
  /** Σ_i D_i·w_i = ∫ D(ε)·kT·s(ε) dε (eV, ≤ 0): the −TS term. */
  entropy: Float64Array;
}

/**
 * Weights w_i such that Σ_i D_i·w_i is the exact integral of the piecewise-linear interpolant of
 * D_i (hat functions; one phantom point at each end, at distance e_1 − e_0 as in MALA) times the
 * Fermi–Dirac term. `energiesEv` must be strictly increasing.
 */
export function analyticalWeights(energiesEv: ArrayLike<number>, fermiEnergyEv: number, kTEv: number): AnalyticalWeights {
  const n = energiesEv.length;
  const beta = 1 / kTEv;
  const h0 = energiesEv[1] - energiesEv[0];
  // Antiderivatives at e_{-1}, e_0, …, e_{n-1}, e_n (index shifted by one), in eV units.
  const m = n + 2;
  const F0 = new Float64Array(m);
  const F1 = new Float64Array(m);
  const F2 = new Float64Array(m);
  const S0 = new Float64Array(m);
  const S1 = new Float64Array(m);
  const e = new Float64Array(m);
  e[0] = energiesEv[0] - h0;
  for (let i = 0; i < n; i++) e[i + 1] = energiesEv[i];
  e[m - 1] = energiesEv[n - 1] + h0; // MALA uses e_1 − e_0 at both ends
  for (let j = 0; j < m; j++) {
    const a = antiderivativesScaled(beta * (e[j] - fermiEnergyEv));
    F0[j] = a.f0 * kTEv;
    F1[j] = a.f1 * kTEv * kTEv;
    F2[j] = a.f2 * kTEv * kTEv * kTEv;
    S0[j] = a.s0 * kTEv * kTEv;
    S1[j] = a.s1 * kTEv * kTEv * kTEv;
  }
  const pair = (I0: Float64Array, I1: Float64Array): Float64Array => {
    const w = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const j = i + 1;
      const hp = e[j + 1] - e[j];
      const hm = e[j] - e[j - 1];
      const d = e[j] - fermiEnergyEv;
      w[i] = (I0[j + 1] - I0[j]) * (1 + d / hp) + (I0[j] - I0[j - 1]) * (1 - d / hm) - (I1[j + 1] - I1[j]) / hp + (I1[j] - I1[j - 1]) / hm;
    }
    return w;
  };
  return { electrons: pair(F0, F1), bandEnergyRelative: pair(F1, F2), entropy: pair(S0, S1) };
}

/** Only the electron-number weights (what the Fermi-level search and the density need). */
export function electronWeights(energiesEv: ArrayLike<number>, fermiEnergyEv: number, kTEv: number): Float64Array {
  return analyticalWeights(energiesEv, fermiEnergyEv, kTEv).electrons;
}
