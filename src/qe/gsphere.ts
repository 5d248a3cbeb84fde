/**
 * Reciprocal lattice, QE's density-cutoff G-sphere on an FFT grid, and the direct structure factor.
 * Grid arrays are (n1, n2, n3) with n3 fastest (MALA's layout); a G-vector with Miller indices
 * (m1, m2, m3) lives at FFT index (m1 mod n1, m2 mod n2, m3 mod n3).
 */
import { MalaError } from '../errors';
import { det3 } from '../structure/atoms';

export type Mat3 = [[number, number, number], [number, number, number], [number, number, number]];

/** Inverse of a 3×3 matrix. */
export function inv3(a: number[][]): Mat3 {
  const d = det3(a);
  if (!(Math.abs(d) > 0)) throw new MalaError('cell is singular (zero volume)', { fix: 'check the cell vectors of the structure' });
  const c = (i: number, j: number): number => {
    const r = [0, 1, 2].filter((x) => x !== j);
    const s = [0, 1, 2].filter((x) => x !== i);
    const m = a[r[0]][s[0]] * a[r[1]][s[1]] - a[r[0]][s[1]] * a[r[1]][s[0]];
    return ((i + j) % 2 === 0 ? m : -m) / d;
  };
  return [
    [c(0, 0), c(0, 1), c(0, 2)],
    [c(1, 0), c(1, 1), c(1, 2)],
    [c(2, 0), c(2, 1), c(2, 2)],
  ];
}

/** Reciprocal vectors as rows, b_i·a_j = 2π δ_ij (units: 1/length of the cell). */
export function reciprocal(cell: number[][]): Mat3 {
  const inv = inv3(cell);
  // cell · inv = 1 → columns of inv are the reciprocal vectors / 2π.
  const b: Mat3 = [
    [0, 0, 0],
    [0, 0, 0],
    [0, 0, 0],
  ];
  for (let i = 0; i < 3; i++) for (let k = 0; k < 3; k++) b[i][k] = 2 * Math.PI * inv[k][i];
  return b;
}

/**
 * The G-vectors with |G|² ≤ ecutrho (Bohr⁻², = Ry) and |m_i| ≤ (n_i − 1)/2, as QE's `ggen` keeps them.
 * With `planes` = [x0, x1), only those whose FFT x-index (m1 mod n1) lies in [x0, x1): the
 * G-vectors of one rank's x-slab of a distributed FFT, in the same relative order as in the whole
 * sphere; `index` and `minusIndex` stay flat indices into the whole grid.
 */
export class GSphere {
  readonly grid: [number, number, number];
  readonly nGrid: number;
  /** Reciprocal vectors (rows, 1/Bohr). */
  readonly b: Mat3;
  /** Number of G-vectors in the sphere. */
  readonly count: number;
  /** Flat FFT index of each G and of −G. */
  readonly index: Int32Array;
  readonly minusIndex: Int32Array;
  /** Miller indices. */
  readonly m1: Int16Array;
  readonly m2: Int16Array;
  readonly m3: Int16Array;
  /** |G|² (Bohr⁻²). */
  readonly g2: Float64Array;
  /** The x-planes [x0, x1) the sphere was restricted to ([0, n1) without a restriction). */
  readonly planes: [number, number];

  constructor(cellBohr: number[][], grid: [number, number, number], ecutrhoRy: number, planes?: readonly [number, number]) {
    const [n1, n2, n3] = grid;
    const [x0, x1] = planes ?? [0, n1];
    if (!(Number.isInteger(x0) && Number.isInteger(x1) && x0 >= 0 && x0 <= x1 && x1 <= n1)) throw new MalaError(`invalid x-plane range [${x0}, ${x1}) of a grid with ${n1} planes`);
    this.planes = [x0, x1];
    const restricted = x0 > 0 || x1 < n1;
    if (n1 > 32767 || n2 > 32767 || n3 > 32767) throw new MalaError(`FFT grid ${grid.join('×')} too large`);
    this.grid = grid;
    this.nGrid = n1 * n2 * n3;
    this.b = reciprocal(cellBohr);
    const b = this.b;
    const h1 = Math.floor((n1 - 1) / 2);
    const h2 = Math.floor((n2 - 1) / 2);
    const h3 = Math.floor((n3 - 1) / 2);
    // First pass counts, second fills (avoids growing arrays on 200³ grids).
    const pass = (fill: boolean): number => {
      let n = 0;
      for (let a = -h1; a <= h1; a++) {
        if (restricted) {
          const ia = a < 0 ? a + n1 : a;
          if (ia < x0 || ia >= x1) continue;
        }
        for (let c = -h2; c <= h2; c++) {
          const px = a * b[0][0] + c * b[1][0];
          const py = a * b[0][1] + c * b[1][1];
          const pz = a * b[0][2] + c * b[1][2];
          for (let e = -h3; e <= h3; e++) {
            const gx = px + e * b[2][0];
            const gy = py + e * b[2][1];
            const gz = pz + e * b[2][2];
            const g2 = gx * gx + gy * gy + gz * gz;
            if (g2 > ecutrhoRy) continue;
            if (fill) {
              const i1 = a < 0 ? a + n1 : a;
              const i2 = c < 0 ? c + n2 : c;
              const i3 = e < 0 ? e + n3 : e;
              const j1 = a > 0 ? n1 - a : -a;
              const j2 = c > 0 ? n2 - c : -c;
              const j3 = e > 0 ? n3 - e : -e;
              this.index[n] = (i1 * n2 + i2) * n3 + i3;
              this.minusIndex[n] = (j1 * n2 + j2) * n3 + j3;
              this.m1[n] = a;
              this.m2[n] = c;
              this.m3[n] = e;
              this.g2[n] = g2;
            }
            n++;
          }
        }
      }
      return n;
    };
    const count = pass(false);
    this.count = count;
    this.index = new Int32Array(count);
    this.minusIndex = new Int32Array(count);
    this.m1 = new Int16Array(count);
    this.m2 = new Int16Array(count);
    this.m3 = new Int16Array(count);
    this.g2 = new Float64Array(count);
    pass(true);
  }

  /** Cartesian components of G number i (1/Bohr). */
  gVector(i: number, out: Float64Array): void {
    const b = this.b;
    const a = this.m1[i];
    const c = this.m2[i];
    const e = this.m3[i];
    out[0] = a * b[0][0] + c * b[1][0] + e * b[2][0];
    out[1] = a * b[0][1] + c * b[1][1] + e * b[2][1];
    out[2] = a * b[0][2] + c * b[1][2] + e * b[2][2];
  }

  /** Bytes held by this object (for benchmarks). */
  get bytes(): number {
    return this.count * (4 + 4 + 2 * 3 + 8);
  }

  /**
   * Σ_a w_a·e^(−iG·R_a) for every G in the sphere (complex interleaved), with R_a given as
   * fractional coordinates: the direct sum, atoms × G (per-axis phase tables, as QE's eigts, so
   * no trig per G). Callers use `structureFactor` in structure-factor.ts, which switches to a
   * NUFFT when this would be slower.
   */
  structureFactor(fractional: number[][], weights: number[]): Float64Array {
    const out = new Float64Array(2 * this.count);
    const [n1, n2, n3] = this.grid;
    const tables = (f: number, n: number): Float64Array => {
      const h = Math.floor((n - 1) / 2);
      const t = new Float64Array(2 * (2 * h + 1));
      for (let m = -h; m <= h; m++) {
        const arg = -2 * Math.PI * m * f;
        t[2 * (m + h)] = Math.cos(arg);
        t[2 * (m + h) + 1] = Math.sin(arg);
      }
      return t;
    };
    const h1 = Math.floor((n1 - 1) / 2);
    const h2 = Math.floor((n2 - 1) / 2);
    const h3 = Math.floor((n3 - 1) / 2);
    for (let a = 0; a < fractional.length; a++) {
      const w = weights[a];
      if (w === 0) continue;
      const t1 = tables(fractional[a][0], n1);
      const t2 = tables(fractional[a][1], n2);
      const t3 = tables(fractional[a][2], n3);
      for (let i = 0; i < this.count; i++) {
        const k1 = 2 * (this.m1[i] + h1);
        const k2 = 2 * (this.m2[i] + h2);
        const k3 = 2 * (this.m3[i] + h3);
        const xr = t1[k1] * t2[k2] - t1[k1 + 1] * t2[k2 + 1];
        const xi = t1[k1] * t2[k2 + 1] + t1[k1 + 1] * t2[k2];
        out[2 * i] += w * (xr * t3[k3] - xi * t3[k3 + 1]);
        out[2 * i + 1] += w * (xr * t3[k3 + 1] + xi * t3[k3]);
      }
    }
    return out;
  }
}
