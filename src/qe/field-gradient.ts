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
 *
 * Separable: with G = Σ_k m_k·b_k, ∇f = Σ_k b_k·M_k, M_k = Σ_m m_k·Re[i·c_m·e^(2πi m·s)]. The
 * sphere lists G column by column (fixed m1, m2, running m3), so per atom and column two sums
 * over m3 (of c·t3 and m3·c·t3) are multiplied once by t1·t2: ~8 flops per atom and G.
 */
export function addGradientAtAtoms(gs: GSphere, coeffs: Float64Array, fractional: number[][], out: Float64Array, use?: (a: number) => boolean): void {
  const [n1, n2, n3] = gs.grid;
  const h1 = Math.floor((n1 - 1) / 2);
  const h2 = Math.floor((n2 - 1) / 2);
  const h3 = Math.floor((n3 - 1) / 2);
  // columns of equal (m1, m2): [colStart[c], colStart[c + 1])
  const starts: number[] = [];
  for (let i = 0; i < gs.count; i++) if (i === 0 || gs.m1[i] !== gs.m1[i - 1] || gs.m2[i] !== gs.m2[i - 1]) starts.push(i);
  starts.push(gs.count);
  const colStart = Int32Array.from(starts);
  const nCol = colStart.length - 1;
  const k3 = new Int32Array(gs.count);
  const m3 = new Float64Array(gs.count);
  for (let i = 0; i < gs.count; i++) {
    k3[i] = 2 * (gs.m3[i] + h3);
    m3[i] = gs.m3[i];
  }
  const b = gs.b;
  const atoms: number[] = [];
  for (let a = 0; a < fractional.length; a++) if (!use || use(a)) atoms.push(a);
  // two atoms per sweep share the loads of c, k3 and m3
  for (let p = 0; p < atoms.length; p += 2) {
    const a0 = atoms[p];
    const a1 = p + 1 < atoms.length ? atoms[p + 1] : -1;
    const f1 = a1 >= 0 ? fractional[a1] : fractional[a0];
    const u1 = phaseTable(fractional[a0][0], n1);
    const u2 = phaseTable(fractional[a0][1], n2);
    const u3 = phaseTable(fractional[a0][2], n3);
    const v1 = phaseTable(f1[0], n1);
    const v2 = phaseTable(f1[1], n2);
    const v3 = phaseTable(f1[2], n3);
    const M = new Float64Array(6);
    for (let col = 0; col < nCol; col++) {
      const i0 = colStart[col];
      const i1 = colStart[col + 1];
      let ar = 0;
      let ai = 0;
      let br = 0;
      let bi = 0;
      let cr2 = 0;
      let ci2 = 0;
      let dr = 0;
      let di = 0;
      for (let i = i0; i < i1; i++) {
        const k = k3[i];
        const cr = coeffs[2 * i];
        const ci = coeffs[2 * i + 1];
        const m = m3[i];
        const pr = cr * u3[k] - ci * u3[k + 1];
        const pi = cr * u3[k + 1] + ci * u3[k];
        ar += pr;
        ai += pi;
        br += m * pr;
        bi += m * pi;
        const qr = cr * v3[k] - ci * v3[k + 1];
        const qi = cr * v3[k + 1] + ci * v3[k];
        cr2 += qr;
        ci2 += qi;
        dr += m * qr;
        di += m * qi;
      }
      const q1 = 2 * (gs.m1[i0] + h1);
      const q2 = 2 * (gs.m2[i0] + h2);
      const mm1 = gs.m1[i0];
      const mm2 = gs.m2[i0];
      // Re[i·z] = −Im(z), z = t1·t2·(column sum)
      let xr = u1[q1] * u2[q2] - u1[q1 + 1] * u2[q2 + 1];
      let xi = u1[q1] * u2[q2 + 1] + u1[q1 + 1] * u2[q2];
      let imA = xr * ai + xi * ar;
      M[0] -= mm1 * imA;
      M[1] -= mm2 * imA;
      M[2] -= xr * bi + xi * br;
      xr = v1[q1] * v2[q2] - v1[q1 + 1] * v2[q2 + 1];
      xi = v1[q1] * v2[q2 + 1] + v1[q1 + 1] * v2[q2];
      imA = xr * ci2 + xi * cr2;
      M[3] -= mm1 * imA;
      M[4] -= mm2 * imA;
      M[5] -= xr * di + xi * dr;
    }
    for (let k = 0; k < 3; k++) out[3 * a0 + k] += M[0] * b[0][k] + M[1] * b[1][k] + M[2] * b[2][k];
    if (a1 >= 0) for (let k = 0; k < 3; k++) out[3 * a1 + k] += M[3] * b[0][k] + M[4] * b[1][k] + M[5] * b[2][k];
  }
}
