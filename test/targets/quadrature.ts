/** High-resolution quadrature references for the analytical Fermi–Dirac integrals (test helpers). */
import { fermiFunction, softplus } from '../../src/targets/fermi-dirac';

/** Composite 10-point Gauss–Legendre on [a, b] split into pieces of at most `maxWidth`. */
const GL_X = [-0.9739065285171717, -0.8650633666889845, -0.6794095682990244, -0.4333953941292472, -0.1488743389816312, 0.1488743389816312, 0.4333953941292472, 0.6794095682990244, 0.8650633666889845, 0.9739065285171717];
const GL_W = [0.0666713443086881, 0.1494513491505806, 0.219086362515982, 0.2692667193099963, 0.2955242247147529, 0.2955242247147529, 0.2692667193099963, 0.219086362515982, 0.1494513491505806, 0.0666713443086881];
export function quad(g: (x: number) => number, a: number, b: number, maxWidth: number): number {
  const n = Math.max(1, Math.ceil((b - a) / maxWidth));
  const h = (b - a) / n;
  let s = 0;
  for (let j = 0; j < n; j++) {
    const c = a + (j + 0.5) * h;
    let t = 0;
    for (let q = 0; q < 10; q++) t += GL_W[q] * g(c + 0.5 * h * GL_X[q]);
    s += 0.5 * h * t;
  }
  return s;
}

/** Direct integrands (not through the antiderivatives). */
export function integrands(mu: number, kT: number) {
  const f = (e: number) => fermiFunction(e, mu, kT);
  const s = (e: number) => {
    const x = (e - mu) / kT;
    const fe = 1 / (1 + Math.exp(x));
    return -fe * softplus(x) - (1 - fe) * softplus(-x); // f ln f + (1−f) ln(1−f)
  };
  return { f, ef: (e: number) => (e - mu) * f(e), e2f: (e: number) => (e - mu) ** 2 * f(e), kts: (e: number) => kT * s(e), ekts: (e: number) => (e - mu) * kT * s(e) };
}

/** ∫ of the piecewise-linear interpolant of D (with MALA's phantom end points) times g. */
export function quadPiecewiseLinear(dos: ArrayLike<number>, energies: ArrayLike<number>, g: (e: number) => number, width: number): number {
  const n = energies.length;
  const h0 = energies[1] - energies[0];
  const e = [energies[0] - h0, ...Array.from(energies), energies[n - 1] + h0];
  const d = [0, ...Array.from(dos), 0];
  let total = 0;
  for (let j = 0; j + 1 < e.length; j++) {
    const a = e[j];
    const b = e[j + 1];
    const lin = (x: number) => d[j] + ((d[j + 1] - d[j]) * (x - a)) / (b - a);
    total += quad((x) => lin(x) * g(x), a, b, width);
  }
  return total;
}

