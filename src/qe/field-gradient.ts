/**
 * The gradient at the atoms of a periodic field given by its coefficients on the G-sphere,
 * ∇f(R_a) = Σ_G Re[i·G·c_G·e^(iG·R_a)]: the shape of every G-space force (Ewald, core
 * correction). Direct sum, atoms × G, with per-axis phase tables as QE's eigts (no trig per G).
 */
import type { GSphere } from './gsphere';

/** e^(+2πi·m·s) for m = −h … h (index m + h), complex interleaved. */
function phaseTable(s: number, n: number): Float64Array {
  const h = Math.floor((n - 1) / 2);
  const t = new Float64Array(2 * (2 * h + 1));
  for (let m = -h; m <= h; m++) {
    const arg = 2 * Math.PI * m * s;
    t[2 * (m + h)] = Math.cos(arg);
    t[2 * (m + h) + 1] = Math.sin(arg);
  }
  return t;
}

/**
 * Adds ∇f(R_a) (units of c per Bohr) for each atom a with `use[a]` (all if omitted) to
 * `out[3a..3a+2]`. `coeffs` is complex interleaved, one value per G of `gs` (a rank's G-vectors
 * give that rank's share of the sum).
 */
export function addGradientAtAtoms(gs: GSphere, coeffs: Float64Array, fractional: number[][], out: Float64Array, use?: (a: number) => boolean): void {
  const [n1, n2, n3] = gs.grid;
  const h1 = Math.floor((n1 - 1) / 2);
  const h2 = Math.floor((n2 - 1) / 2);
  const h3 = Math.floor((n3 - 1) / 2);
  const g = new Float64Array(3);
  // G per point once (3 doubles per G), not per atom
  const gv = new Float64Array(3 * gs.count);
  for (let i = 0; i < gs.count; i++) {
    gs.gVector(i, g);
    gv[3 * i] = g[0];
    gv[3 * i + 1] = g[1];
    gv[3 * i + 2] = g[2];
  }
  for (let a = 0; a < fractional.length; a++) {
    if (use && !use(a)) continue;
    const t1 = phaseTable(fractional[a][0], n1);
    const t2 = phaseTable(fractional[a][1], n2);
    const t3 = phaseTable(fractional[a][2], n3);
    let fx = 0;
    let fy = 0;
    let fz = 0;
    for (let i = 0; i < gs.count; i++) {
      const k1 = 2 * (gs.m1[i] + h1);
      const k2 = 2 * (gs.m2[i] + h2);
      const k3 = 2 * (gs.m3[i] + h3);
      const xr = t1[k1] * t2[k2] - t1[k1 + 1] * t2[k2 + 1];
      const xi = t1[k1] * t2[k2 + 1] + t1[k1 + 1] * t2[k2];
      const pr = xr * t3[k3] - xi * t3[k3 + 1];
      const pi = xr * t3[k3 + 1] + xi * t3[k3];
      // Re[i·c·p] = −Im(c·p)
      const im = coeffs[2 * i] * pi + coeffs[2 * i + 1] * pr;
      fx -= gv[3 * i] * im;
      fy -= gv[3 * i + 1] * im;
      fz -= gv[3 * i + 2] * im;
    }
    out[3 * a] += fx;
    out[3 * a + 1] += fy;
    out[3 * a + 2] += fz;
  }
}
