/**
 * Structure factors S(G) = Σ_a w_a·e^(−iG·R_a) on QE's density G-sphere, for any number of atoms.
 *
 * With Miller indices m and fractional positions s, G·R = 2π·m·s, so S is a type-1 non-uniform
 * FFT. The fast path ("fast Gaussian gridding", Greengard & Lee 2004) spreads each weight onto an
 * oversampled periodic grid with a separable Gaussian, FFTs it, and divides by the Gaussian's
 * Fourier transform. Memory stays modest because the grid is never held whole: planes of constant
 * j3 are spread and 2D-transformed one pair at a time (two real planes share one complex FFT),
 * only the sphere's (m1, m2) columns are kept, and a last 1D FFT along axis 3 per column gives
 * S in the sphere's own order. Small systems keep the direct sum (per-axis phase tables, QE's
 * eigts), so QE-matching results stay bit for bit; `structureFactor` picks by estimated cost.
 *
 * Defaults (oversampling 2, 2, 1.5; tolerance 1e-11 → half widths 12–13, 12–13, 15–17 points):
 * max |S_nufft − S_direct| / Σ|w| = 1e-12…6e-12 measured (random triclinic cells, fcc Al 32–2048
 * atoms at 80 Ry; test/qe/structure-factor.test.ts, bench/energy-atoms.ts). Memory: the column
 * store, 16 B × columns × N3 ≈ 1.1× a complex density grid at the same size (capped at 4 GiB
 * per pass; larger stores take several passes over the atoms), plus ≤ 256 MB of plane buffers and
 * per-atom tables of 8·(w1 + w2) bytes.
 */
import { Fft3d } from '../../bindings/fftw';
import type { GSphere } from './gsphere';

export type StructureFactorMethod = 'auto' | 'direct' | 'nufft';

export interface NufftOptions {
  /** Oversampled size / Miller range per axis (axis 3 sets the column store's size). */
  oversampling?: [number, number, number];
  /** Target of each axis' aliasing and truncation error, relative to Σ|w_a|. */
  tolerance?: number;
  /** Upper bound on the column store (bytes); more passes over the atoms if it is exceeded. */
  maxColumnBytes?: number;
}

/** Wall seconds per NUFFT stage (filled when passed to `structureFactorNufft`). */
export interface NufftStats {
  spreadS: number;
  planeFftS: number;
  gatherS: number;
  columnFftS: number;
}

export const defaultNufftOptions: Required<NufftOptions> = {
  oversampling: [2, 2, 1.5],
  tolerance: 1e-11,
  maxColumnBytes: 4 * 1024 ** 3,
};

/**
 * Plane pairs spread and transformed before each gather into the column store: more pairs write
 * longer runs per column (fewer cache and TLB misses; 4 → 16 pairs halves the gather at 32,000
 * atoms), within a cap on the plane buffers' memory.
 */
const maxPlanePairs = 16;
const maxPlaneBufferBytes = 256 * 1024 ** 2;

/** Smallest integer ≥ n whose only prime factors are 2, 3, 5, 7 (sizes FFTW is fast at). */
export function fftFriendlySize(n: number): number {
  for (let m = Math.max(1, Math.ceil(n)); ; m++) {
    let r = m;
    for (const p of [2, 3, 5, 7]) while (r % p === 0) r /= p;
    if (r === 1) return m;
  }
}

/** One axis of the oversampled grid and its Gaussian φ(x) = exp(−x²/(2s²)), x in fine-grid points. */
export interface NufftAxis {
  /** Largest |m| in the sphere along this axis. */
  h: number;
  /** Oversampled grid size. */
  size: number;
  /** Gaussian width (fine-grid points). */
  sigma: number;
  /** Spreading half width: points j0−W … j0+W. */
  halfWidth: number;
  /** 1/φ̂(m/size) for m = −h … h (index m + h). */
  deconvolution: Float64Array;
}

/**
 * Gaussian parameters for a tolerance ε (L = ln 1/ε), highest frequency k = h/size:
 * aliasing φ̂(1−k)/φ̂(k) = exp(−2π²s²(1−2k)) ≤ ε fixes s; the truncated tail
 * exp(−W²/2s²)/exp(−2π²s²k²) ≤ ε fixes W.
 */
function planAxis(h: number, oversampling: number, tolerance: number): NufftAxis {
  const L = Math.log(1 / tolerance);
  const size = fftFriendlySize(Math.max(2 * h + 2, Math.ceil(oversampling * (2 * h + 1))));
  const k = h / size;
  const sigma2 = L / (2 * Math.PI * Math.PI * (1 - 2 * k));
  const halfWidth = Math.ceil(Math.sqrt(2 * sigma2 * (L + 2 * Math.PI * Math.PI * sigma2 * k * k)));
  const sigma = Math.sqrt(sigma2);
  const deconvolution = new Float64Array(2 * h + 1);
  // φ̂(ξ) = ∫ φ(x) e^(−2πiξx) dx = s√(2π)·exp(−2π²s²ξ²)
  for (let m = -h; m <= h; m++) {
    const xi = m / size;
    deconvolution[m + h] = Math.exp(2 * Math.PI * Math.PI * sigma2 * xi * xi) / (sigma * Math.sqrt(2 * Math.PI));
  }
  return { h, size, sigma, halfWidth, deconvolution };
}

/** Sizes, memory and estimated cost of the NUFFT for one sphere (and the direct sum's cost). */
export interface NufftPlan {
  axes: [NufftAxis, NufftAxis, NufftAxis];
  /** Distinct (m1, m2) of the sphere: the columns transformed along axis 3. */
  columns: number;
  /** Bytes of the column store (all passes together) and of the complex plane buffers. */
  columnBytes: number;
  planeBytes: number;
  /** Plane pairs per batch (each pair is one complex plane buffer). */
  planePairs: number;
  passes: number;
}

export function planNufft(gs: GSphere, options: NufftOptions = {}): NufftPlan {
  const o = { ...defaultNufftOptions, ...options };
  const h = [0, 0, 0];
  let columns = 0;
  for (let i = 0; i < gs.count; i++) {
    h[0] = Math.max(h[0], Math.abs(gs.m1[i]));
    h[1] = Math.max(h[1], Math.abs(gs.m2[i]));
    h[2] = Math.max(h[2], Math.abs(gs.m3[i]));
    if (i === 0 || gs.m1[i] !== gs.m1[i - 1] || gs.m2[i] !== gs.m2[i - 1]) columns++;
  }
  const axes = [0, 1, 2].map((d) => planAxis(h[d], o.oversampling[d], o.tolerance)) as [NufftAxis, NufftAxis, NufftAxis];
  const columnBytes = 16 * columns * axes[2].size;
  const onePlaneBytes = 16 * axes[0].size * axes[1].size;
  const planePairs = Math.max(1, Math.min(maxPlanePairs, Math.ceil(axes[2].size / 2), Math.floor(maxPlaneBufferBytes / onePlaneBytes)));
  return {
    axes,
    columns,
    columnBytes,
    planeBytes: onePlaneBytes * planePairs,
    planePairs,
    passes: Math.max(1, Math.ceil(columnBytes / o.maxColumnBytes)),
  };
}

/**
 * Estimated wall time (ns, one core; constants fitted to fcc Al at 80 Ry, 4–256 atoms, on this
 * project's 2-core machine): direct ≈ 12 ns per atom·G; NUFFT ≈ 1 ns per spread point and
 * 1.5 ns per point·log2 of FFT work, plus the column gathering. Only the ratio matters.
 */
export function estimatedCostNs(gs: GSphere, atoms: number, plan: NufftPlan): { directNs: number; nufftNs: number } {
  const [a1, a2, a3] = plan.axes;
  const spread = atoms * (2 * a1.halfWidth + 1) * (2 * a2.halfWidth + 1) * (2 * a3.halfWidth + 1);
  const planePoints = a1.size * a2.size;
  const fft2 = (a3.size / 2) * planePoints * Math.log2(Math.max(2, planePoints));
  const fft1 = plan.columns * a3.size * Math.log2(Math.max(2, a3.size));
  const gather = plan.columns * a3.size * 4 + gs.count;
  const nufftNs = plan.passes * (spread * 1 + fft2 * 1.5 + a3.size * planePoints) + fft1 * 1.5 + gather + 2e6;
  return { directNs: 12 * atoms * gs.count, nufftNs };
}

/** The method `structureFactor` would use for this sphere and atom count. */
export function chooseStructureFactorMethod(gs: GSphere, atoms: number, options: NufftOptions = {}): 'direct' | 'nufft' {
  if (atoms === 0 || gs.count === 0) return 'direct';
  const c = estimatedCostNs(gs, atoms, planNufft(gs, options));
  return c.nufftNs < c.directNs ? 'nufft' : 'direct';
}

/**
 * S(G) for every G of the sphere (complex interleaved, sphere order), R_a as fractional
 * coordinates (any real values; only s mod 1 matters). `method` 'auto' picks by estimated cost.
 */
export function structureFactor(
  gs: GSphere,
  fractional: ArrayLike<ArrayLike<number>>,
  weights: ArrayLike<number>,
  method: StructureFactorMethod = 'auto',
  options: NufftOptions = {},
): Float64Array {
  let atoms = 0;
  for (let a = 0; a < weights.length; a++) if (weights[a] !== 0) atoms++;
  const use = method === 'auto' ? chooseStructureFactorMethod(gs, atoms, options) : method;
  if (use === 'direct') return gs.structureFactor(fractional as number[][], Array.from(weights));
  return structureFactorNufft(gs, fractional, weights, options);
}

/** Atoms with w ≠ 0, placed on the oversampled grid: base index j0 = ⌊x⌋ and offset δ = x − j0 per axis. */
interface SpreadAtoms {
  count: number;
  weight: Float64Array;
  base: [Int32Array, Int32Array, Int32Array];
  delta: [Float64Array, Float64Array, Float64Array];
}

function placeAtoms(fractional: ArrayLike<ArrayLike<number>>, weights: ArrayLike<number>, axes: NufftAxis[]): SpreadAtoms {
  let count = 0;
  for (let a = 0; a < weights.length; a++) if (weights[a] !== 0) count++;
  const out: SpreadAtoms = {
    count,
    weight: new Float64Array(count),
    base: [new Int32Array(count), new Int32Array(count), new Int32Array(count)],
    delta: [new Float64Array(count), new Float64Array(count), new Float64Array(count)],
  };
  let k = 0;
  for (let a = 0; a < weights.length; a++) {
    if (weights[a] === 0) continue;
    out.weight[k] = weights[a];
    for (let d = 0; d < 3; d++) {
      const s = fractional[a][d];
      const n = axes[d].size;
      const x = (s - Math.floor(s)) * n; // in [0, n]; n itself (s just below an integer) wraps below
      const j0 = Math.floor(x);
      out.base[d][k] = j0 % n;
      out.delta[d][k] = x - j0;
    }
    k++;
  }
  return out;
}

/** k mod n for k in [−pad, n + pad): a lookup instead of % in the spreading loops. */
function wrapTable(n: number, pad: number): Int32Array {
  const t = new Int32Array(n + 2 * pad + 1);
  for (let k = -pad; k <= n + pad; k++) t[k + pad] = ((k % n) + n) % n;
  return t;
}

/** The NUFFT path of `structureFactor` (exposed for tests and benchmarks). */
export function structureFactorNufft(
  gs: GSphere,
  fractional: ArrayLike<ArrayLike<number>>,
  weights: ArrayLike<number>,
  options: NufftOptions = {},
  stats?: NufftStats,
): Float64Array {
  const plan = planNufft(gs, options);
  const [ax1, ax2, ax3] = plan.axes;
  const out = new Float64Array(2 * gs.count);
  if (gs.count === 0) return out;
  const N1 = ax1.size;
  const N2 = ax2.size;
  const N3 = ax3.size;
  const W1 = ax1.halfWidth;
  const W2 = ax2.halfWidth;
  const W3 = ax3.halfWidth;
  const w1 = 2 * W1 + 1;
  const w2 = 2 * W2 + 1;
  const atoms = placeAtoms(fractional, weights, plan.axes);

  // Columns: runs of equal (m1, m2) in sphere order (m3 innermost and contiguous in each run).
  const ncol = plan.columns;
  const colStart = new Int32Array(ncol + 1);
  const colM1 = new Int32Array(ncol);
  const colM2 = new Int32Array(ncol);
  for (let i = 0, c = -1; i < gs.count; i++) {
    if (i === 0 || gs.m1[i] !== gs.m1[i - 1] || gs.m2[i] !== gs.m2[i - 1]) {
      c++;
      colStart[c] = i;
      colM1[c] = gs.m1[i];
      colM2[c] = gs.m2[i];
    }
  }
  colStart[ncol] = gs.count;

  // Per-atom Gaussian factors along axes 1 and 2 (w·φ folded into axis 1); axis 3 is computed per plane.
  const f1 = new Float64Array(atoms.count * w1);
  const f2 = new Float64Array(atoms.count * w2);
  const inv2s1 = 1 / (2 * ax1.sigma * ax1.sigma);
  const inv2s2 = 1 / (2 * ax2.sigma * ax2.sigma);
  const inv2s3 = 1 / (2 * ax3.sigma * ax3.sigma);
  for (let a = 0; a < atoms.count; a++) {
    for (let d = -W1; d <= W1; d++) f1[a * w1 + d + W1] = atoms.weight[a] * Math.exp(-((d - atoms.delta[0][a]) ** 2) * inv2s1);
    for (let d = -W2; d <= W2; d++) f2[a * w2 + d + W2] = Math.exp(-((d - atoms.delta[1][a]) ** 2) * inv2s2);
  }
  // Atoms bucketed by their axis-3 base index (counting sort).
  const bucketStart = new Int32Array(N3 + 1);
  for (let a = 0; a < atoms.count; a++) bucketStart[atoms.base[2][a] + 1]++;
  for (let j = 0; j < N3; j++) bucketStart[j + 1] += bucketStart[j];
  const bucketAtoms = new Int32Array(atoms.count);
  {
    const fillAt = bucketStart.slice(0, N3);
    for (let a = 0; a < atoms.count; a++) bucketAtoms[fillAt[atoms.base[2][a]]++] = a;
  }
  const wrap1 = wrapTable(N1, W1);
  const wrap2 = wrapTable(N2, W2);
  const wrap3 = wrapTable(N3, W3);
  const base1 = atoms.base[0];
  const base2 = atoms.base[1];
  const delta3 = atoms.delta[2];

  const clock = (): bigint => (stats ? process.hrtime.bigint() : 0n);
  const lap = (t0: bigint, key: keyof NufftStats): bigint => {
    if (!stats) return 0n;
    const now = process.hrtime.bigint();
    stats[key] += Number(now - t0) / 1e9;
    return now;
  };
  const planePairsPerBatch = plan.planePairs;
  const planes = Array.from({ length: planePairsPerBatch }, () => new Float64Array(2 * N1 * N2));
  const fft2 = new Fft3d(1, N1, N2);
  const fft1 = new Fft3d(1, 1, N3);
  const dec1 = ax1.deconvolution;
  const dec2 = ax2.deconvolution;
  const dec3 = ax3.deconvolution;
  const h1 = ax1.h;
  const h2 = ax2.h;
  const h3 = ax3.h;
  try {
    // Spread the real plane j3 onto the real (part 0) or imaginary (part 1) half of `plane`.
    const spreadPlane = (plane: Float64Array, j3: number, part: number): void => {
      for (let d3 = -W3; d3 <= W3; d3++) {
        const b = wrap3[j3 - d3 + W3];
        for (let q = bucketStart[b]; q < bucketStart[b + 1]; q++) {
          const a = bucketAtoms[q];
          const g3 = Math.exp(-((d3 - delta3[a]) ** 2) * inv2s3);
          const o1 = a * w1;
          const o2 = a * w2;
          const k1 = base1[a]; // wrap index of j0 + d is wrapX[j0 + d + W]
          const k2 = base2[a];
          const inside2 = k2 - W2 >= 0 && k2 + W2 < N2; // the usual case: no wrap along axis 2
          for (let d1 = 0; d1 < w1; d1++) {
            const g13 = g3 * f1[o1 + d1];
            const row = wrap1[k1 + d1] * N2;
            if (inside2) {
              const first = 2 * (row + k2 - W2) + part;
              for (let d2 = 0; d2 < w2; d2++) plane[first + 2 * d2] += g13 * f2[o2 + d2];
            } else {
              for (let d2 = 0; d2 < w2; d2++) plane[2 * (row + wrap2[k2 + d2]) + part] += g13 * f2[o2 + d2];
            }
          }
        }
      }
    };
    const colsPerPass = Math.ceil(ncol / plan.passes);
    for (let c0 = 0; c0 < ncol; c0 += colsPerPass) {
      const c1 = Math.min(ncol, c0 + colsPerPass);
      const store = new Float64Array(2 * (c1 - c0) * N3);
      for (let j3 = 0; j3 < N3; j3 += 2 * planePairsPerBatch) {
        let t = clock();
        const pairs = Math.min(planePairsPerBatch, Math.ceil((N3 - j3) / 2));
        for (let b = 0; b < pairs; b++) {
          const plane = planes[b];
          plane.fill(0);
          spreadPlane(plane, j3 + 2 * b, 0);
          if (j3 + 2 * b + 1 < N3) spreadPlane(plane, j3 + 2 * b + 1, 1);
          t = lap(t, 'spreadS');
          fft2.forward(plane);
          t = lap(t, 'planeFftS');
        }
        // Z = P + iQ with P, Q the transforms of the two real planes: P = (Z + conj Z₋)/2, Q = (Z − conj Z₋)/2i.
        const planeCount = Math.min(2 * pairs, N3 - j3);
        for (let c = c0; c < c1; c++) {
          const m1 = colM1[c];
          const m2 = colM2[c];
          const p = 2 * ((m1 < 0 ? m1 + N1 : m1) * N2 + (m2 < 0 ? m2 + N2 : m2));
          const q = 2 * ((m1 > 0 ? N1 - m1 : -m1) * N2 + (m2 > 0 ? N2 - m2 : -m2));
          const scale = 0.5 * dec1[m1 + h1] * dec2[m2 + h2];
          const s0 = 2 * ((c - c0) * N3 + j3);
          for (let b = 0; b < pairs; b++) {
            const plane = planes[b];
            const zr = plane[p];
            const zi = plane[p + 1];
            const yr = plane[q];
            const yi = -plane[q + 1];
            const s = s0 + 4 * b;
            store[s] = scale * (zr + yr);
            store[s + 1] = scale * (zi + yi);
            if (2 * b + 1 < planeCount) {
              store[s + 2] = scale * (zi - yi);
              store[s + 3] = -scale * (zr - yr);
            }
          }
        }
        lap(t, 'gatherS');
      }
      const t = clock();
      for (let c = c0; c < c1; c++) {
        const col = store.subarray(2 * (c - c0) * N3, 2 * (c - c0 + 1) * N3);
        fft1.forward(col);
        for (let i = colStart[c]; i < colStart[c + 1]; i++) {
          const m3 = gs.m3[i];
          const k = 2 * (m3 < 0 ? m3 + N3 : m3);
          const d = dec3[m3 + h3];
          out[2 * i] = col[k] * d;
          out[2 * i + 1] = col[k + 1] * d;
        }
      }
      lap(t, 'columnFftS');
    }
  } finally {
    fft2.dispose();
    fft1.dispose();
  }
  return out;
}
