/**
 * LDOS → DOS (spec §5.3) and the observables of a DOS (spec §5.6–5.7): number of electrons,
 * self-consistent Fermi energy, band energy, entropy contribution (−TS).
 *
 * The DOS is a sum over grid points, so it is accumulated chunk by chunk in float64
 * (`DosAccumulator`): feed it blocks of points (rows of N_E values, MALA's layout) or whole
 * energy slices (one value per grid point, as one pp.x cube holds).
 */
import { MalaError } from '../errors';
import { analyticalWeights, electronWeights } from './fermi-dirac';

export interface LdosCheckOptions {
  /** File (or description) the values come from, for error messages. */
  source?: string;
  /**
   * Set negative values to 0 instead of failing (what MALA does to network output). Off for
   * LDOS read from files: a negative DFT LDOS means a wrong file or wrong units.
   */
  clampNegative?: boolean;
}

function badValue(v: number, where: string, opts: LdosCheckOptions): MalaError {
  const what = Number.isNaN(v) ? 'NaN' : !Number.isFinite(v) ? String(v) : `negative value ${v}`;
  return new MalaError(`LDOS contains ${what} at ${where}`, {
    file: opts.source,
    fix: Number.isNaN(v) || !Number.isFinite(v)
      ? opts.clampNegative
        ? 'the network computed it: the model (weights, scalers) or the descriptors hold non-finite values; check the model file (mala-ts model-info) or re-train it'
        : 'the LDOS file is corrupt or was written from a diverged calculation; regenerate it'
      : 'an LDOS is a density of states and cannot be negative: check that this is an LDOS file in 1/(eV·Å³) (or clamp negatives for network output)',
  });
}

/** Accumulates Σ_r LDOS(r, e_k) over grid points in float64. */
export class DosAccumulator {
  readonly energyCount: number;
  /** Σ over points of LDOS(r, e_k), 1/(eV·Å³); multiply by the voxel volume for the DOS. */
  readonly sums: Float64Array;
  /** Points added through `addPoints` (each energy slice counts separately in `slicesSeen`). */
  pointsSeen = 0;
  readonly slicesSeen: Uint8Array;
  private readonly opts: LdosCheckOptions;

  constructor(energyCount: number, opts: LdosCheckOptions = {}) {
    this.energyCount = energyCount;
    this.sums = new Float64Array(energyCount);
    this.slicesSeen = new Uint8Array(energyCount);
    this.opts = opts;
  }

  /**
   * Add a block of points, `chunk.length / energyCount` rows of N_E values each (MALA layout,
   * energy fastest). Negative values are set to 0 in place when `clampNegative` is on.
   */
  addPoints(chunk: Float32Array | Float64Array, firstPoint = this.pointsSeen): void {
    const nE = this.energyCount;
    if (chunk.length % nE !== 0) {
      throw new MalaError(`LDOS block of ${chunk.length} values is not a whole number of rows of ${nE} energies`, { file: this.opts.source, fix: 'the LDOS feature count must equal the energy-grid count' });
    }
    const rows = chunk.length / nE;
    const s = this.sums;
    const clamp = this.opts.clampNegative === true;
    let r0 = 0;
    if (!clamp) {
      // Fast path: four rows per sweep, so each float64 sum is loaded and stored once per four
      // values; one min test catches NaN and negatives (∞ is caught after the loop); locateBad names them.
      for (; r0 + 4 <= rows; r0 += 4) {
        const o = r0 * nE;
        let ok = true;
        for (let k = 0; k < nE; k++) {
          const v0 = chunk[o + k];
          const v1 = chunk[o + nE + k];
          const v2 = chunk[o + 2 * nE + k];
          const v3 = chunk[o + 3 * nE + k];
          if (!(Math.min(v0, v1, v2, v3) >= 0)) {
            ok = false;
            break;
          }
          s[k] += v0 + v1 + (v2 + v3);
        }
        if (!ok) throw this.locateBad(chunk, r0, firstPoint);
      }
    }
    // Remaining rows (and the clamping mode): one value at a time.
    for (let r = r0; r < rows; r++) {
      const o = r * nE;
      for (let k = 0; k < nE; k++) {
        const v = chunk[o + k];
        if (!(v >= 0 && v < Infinity)) {
          if (clamp && v < 0) {
            chunk[o + k] = 0;
            continue;
          }
          throw badValue(v, `grid point ${firstPoint + r}, energy index ${k}`, this.opts);
        }
        s[k] += v;
      }
    }
    // +∞ passes the min test; it shows up as a non-finite sum (the sums were finite before).
    for (let k = 0; k < nE; k++) if (!Number.isFinite(s[k])) throw this.locateBad(chunk, 0, firstPoint);
    this.pointsSeen += rows;
  }

  /** The error for the first invalid value in `chunk` from row `fromRow` on. */
  private locateBad(chunk: ArrayLike<number>, fromRow: number, firstPoint: number): MalaError {
    const nE = this.energyCount;
    for (let i = fromRow * nE; i < chunk.length; i++) {
      const v = chunk[i];
      if (!(v >= 0 && v < Infinity)) return badValue(v, `grid point ${firstPoint + Math.floor(i / nE)}, energy index ${i % nE}`, this.opts);
    }
    return new MalaError('LDOS sums are not finite (values too large for float64)', { file: this.opts.source, fix: 'check the LDOS units: 1/(eV·Å³)' });
  }

  /** Add one energy slice: LDOS(r, e_k) for every grid point r (e.g. one pp.x cube). */
  addEnergySlice(energyIndex: number, values: Float32Array | Float64Array): void {
    if (!(energyIndex >= 0 && energyIndex < this.energyCount)) throw new RangeError(`energy index ${energyIndex} out of 0..${this.energyCount - 1}`);
    const clamp = this.opts.clampNegative === true;
    let acc = 0;
    for (let p = 0; p < values.length; p++) {
      const v = values[p];
      if (!(v >= 0 && v < Infinity)) {
        if (clamp && v < 0) {
          values[p] = 0;
          continue;
        }
        throw badValue(v, `grid point ${p}, energy index ${energyIndex}`, this.opts);
      }
      acc += v;
    }
    this.sums[energyIndex] += acc;
    this.slicesSeen[energyIndex] = 1;
  }

  /** D(e_k) = V_voxel·Σ_r LDOS(r, e_k), in 1/eV. */
  dos(voxelVolumeA3: number): Float64Array {
    const d = new Float64Array(this.energyCount);
    for (let k = 0; k < this.energyCount; k++) d[k] = this.sums[k] * voxelVolumeA3;
    return d;
  }
}

/** DOS of a whole in-memory LDOS (points × N_E, energy fastest). */
export function dosFromLdos(ldosPerEvA3: Float32Array | Float64Array, energyCount: number, voxelVolumeA3: number, opts: LdosCheckOptions = {}): Float64Array {
  const acc = new DosAccumulator(energyCount, opts);
  acc.addPoints(ldosPerEvA3, 0);
  return acc.dos(voxelVolumeA3);
}

function checkDos(dosPerEv: ArrayLike<number>, energiesEv: ArrayLike<number>): void {
  if (dosPerEv.length !== energiesEv.length) {
    throw new MalaError(`DOS has ${dosPerEv.length} values but the energy grid has ${energiesEv.length} energies`, { fix: 'use the energy grid the LDOS was computed on' });
  }
}

function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/** N(μ) = ∫ D(ε) f(ε; μ, T) dε with the analytical scheme. */
export function numberOfElectrons(dosPerEv: ArrayLike<number>, energiesEv: ArrayLike<number>, fermiEnergyEv: number, kTEv: number): number {
  checkDos(dosPerEv, energiesEv);
  return dot(dosPerEv, electronWeights(energiesEv, fermiEnergyEv, kTEv));
}

/** E_band = ∫ ε D(ε) f(ε) dε (eV). */
export function bandEnergy(dosPerEv: ArrayLike<number>, energiesEv: ArrayLike<number>, fermiEnergyEv: number, kTEv: number): number {
  checkDos(dosPerEv, energiesEv);
  const w = analyticalWeights(energiesEv, fermiEnergyEv, kTEv);
  return dot(dosPerEv, w.bandEnergyRelative) + fermiEnergyEv * dot(dosPerEv, w.electrons);
}

/** −TS = ∫ D(ε) kT [f ln f + (1−f) ln(1−f)] dε (eV, ≤ 0). */
export function entropyContribution(dosPerEv: ArrayLike<number>, energiesEv: ArrayLike<number>, fermiEnergyEv: number, kTEv: number): number {
  checkDos(dosPerEv, energiesEv);
  return dot(dosPerEv, analyticalWeights(energiesEv, fermiEnergyEv, kTEv).entropy);
}

/**
 * Brent's bracketing root finder (zeroin) for a continuous f with f(a)·f(b) ≤ 0; stops when the
 * bracket is below xtol + 2·rtol·|x| (scipy's toms748 defaults: 2e-12, 4·eps).
 */
export function brentRoot(f: (x: number) => number, a: number, b: number, xtol = 2e-12, rtol = 4 * Number.EPSILON, maxIter = 200): number {
  let fa = f(a);
  let fb = f(b);
  if (fa === 0) return a;
  if (fb === 0) return b;
  if (fa * fb > 0) throw new RangeError('brentRoot: no sign change on the bracket');
  let c = a;
  let fc = fa;
  let d = b - a;
  let e = d;
  for (let iter = 0; iter < maxIter; iter++) {
    if (fb * fc > 0) {
      c = a;
      fc = fa;
      d = b - a;
      e = d;
    }
    if (Math.abs(fc) < Math.abs(fb)) {
      a = b;
      b = c;
      c = a;
      fa = fb;
      fb = fc;
      fc = fa;
    }
    const tol = 2 * rtol * Math.abs(b) + 0.5 * xtol;
    const m = 0.5 * (c - b);
    if (Math.abs(m) <= tol || fb === 0) return b;
    if (Math.abs(e) >= tol && Math.abs(fa) > Math.abs(fb)) {
      let p: number;
      let q: number;
      const s = fb / fa;
      if (a === c) {
        p = 2 * m * s;
        q = 1 - s;
      } else {
        const qq = fa / fc;
        const r = fb / fc;
        p = s * (2 * m * qq * (qq - r) - (b - a) * (r - 1));
        q = (qq - 1) * (r - 1) * (s - 1);
      }
      if (p > 0) q = -q;
      else p = -p;
      if (2 * p < Math.min(3 * m * q - Math.abs(tol * q), Math.abs(e * q))) {
        e = d;
        d = p / q;
      } else {
        d = m;
        e = d;
      }
    } else {
      d = m;
      e = d;
    }
    a = b;
    fa = fb;
    b += Math.abs(d) > tol ? d : m > 0 ? tol : -tol;
    fb = f(b);
  }
  return b;
}

/**
 * Self-consistent Fermi energy: the root of N(μ) − N_exact on [e_0, e_{N−1}] (spec §5.6).
 * Throws a MalaError when the energy window cannot hold that many electrons.
 */
export function selfConsistentFermiEnergy(dosPerEv: ArrayLike<number>, energiesEv: ArrayLike<number>, kTEv: number, electrons: number, source?: string): number {
  checkDos(dosPerEv, energiesEv);
  if (!(electrons > 0) || !Number.isFinite(electrons)) throw new MalaError(`number of electrons ${electrons} must be positive`, { file: source, fix: 'pass --electrons N or a QE output with "number of electrons"' });
  if (!(kTEv > 0) || !Number.isFinite(kTEv)) throw new MalaError(`temperature must be positive (kT = ${kTEv} eV)`, { file: source, fix: 'pass --temperature K or a QE output with a smearing width' });
  const lo = energiesEv[0];
  const hi = energiesEv[energiesEv.length - 1];
  const g = (mu: number): number => numberOfElectrons(dosPerEv, energiesEv, mu, kTEv) - electrons;
  const glo = g(lo);
  const ghi = g(hi);
  if (glo * ghi > 0) {
    const nlo = glo + electrons;
    const nhi = ghi + electrons;
    throw new MalaError(
      `no Fermi level in the energy window ${lo}…${hi} eV: the DOS holds between ${nlo.toPrecision(6)} and ${nhi.toPrecision(6)} electrons there, but ${electrons} were requested`,
      { file: source, fix: 'check the electron count and the energy grid (offset, spacing, count) the LDOS was computed on, or use a wider energy window' },
    );
  }
  return brentRoot(g, lo, hi);
}

export interface DosObservables {
  fermiEnergyEv: number;
  numberOfElectrons: number;
  bandEnergyEv: number;
  entropyContributionEv: number;
}

/** Everything a DOS gives at the self-consistent Fermi energy (or at `fermiEnergyEv` if given). */
export function dosObservables(dosPerEv: ArrayLike<number>, energiesEv: ArrayLike<number>, kTEv: number, electrons: number, opts: { fermiEnergyEv?: number; source?: string } = {}): DosObservables {
  const mu = opts.fermiEnergyEv ?? selfConsistentFermiEnergy(dosPerEv, energiesEv, kTEv, electrons, opts.source);
  const w = analyticalWeights(energiesEv, mu, kTEv);
  const n = dot(dosPerEv, w.electrons);
  return {
    fermiEnergyEv: mu,
    numberOfElectrons: n,
    bandEnergyEv: dot(dosPerEv, w.bandEnergyRelative) + mu * n,
    entropyContributionEv: dot(dosPerEv, w.entropy),
  };
}
