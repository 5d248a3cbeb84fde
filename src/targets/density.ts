/**
 * LDOS → electron density at a Fermi energy (spec §5.8): n(r) = Σ_k LDOS(r, e_k)·w_k with the
 * electron-number weights of the analytical scheme, so V_voxel·Σ_r n(r) = N(μ) exactly.
 * Accumulated chunk-wise in float64, by blocks of points or by energy slices.
 */
import { MalaError } from '../errors';
import { electronWeights } from './fermi-dirac';

export class DensityAccumulator {
  readonly pointCount: number;
  readonly weights: Float64Array;
  /** n(r) in 1/Å³, point order of the LDOS (z fastest). */
  readonly densityPerA3: Float64Array;
  private readonly source?: string;

  constructor(pointCount: number, energiesEv: ArrayLike<number>, fermiEnergyEv: number, kTEv: number, source?: string) {
    this.pointCount = pointCount;
    this.weights = electronWeights(energiesEv, fermiEnergyEv, kTEv);
    this.densityPerA3 = new Float64Array(pointCount);
    this.source = source;
  }

  /** Points [firstPoint, firstPoint + rows) given as rows of N_E values (energy fastest). */
  addPoints(chunk: ArrayLike<number>, firstPoint: number): void {
    const nE = this.weights.length;
    const rows = chunk.length / nE;
    if (!Number.isInteger(rows) || firstPoint < 0 || firstPoint + rows > this.pointCount) {
      throw new MalaError(`LDOS block (${chunk.length} values from point ${firstPoint}) does not fit ${this.pointCount} points × ${nE} energies`, { file: this.source, fix: 'the LDOS shape must match the grid and the energy count' });
    }
    const w = this.weights;
    const n = this.densityPerA3;
    let r = 0;
    // Four rows per sweep: four independent sums hide the add latency and share each weight load.
    for (; r + 4 <= rows; r += 4) {
      const o = r * nE;
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      for (let k = 0; k < nE; k++) {
        const wk = w[k];
        s0 += chunk[o + k] * wk;
        s1 += chunk[o + nE + k] * wk;
        s2 += chunk[o + 2 * nE + k] * wk;
        s3 += chunk[o + 3 * nE + k] * wk;
      }
      n[firstPoint + r] = s0;
      n[firstPoint + r + 1] = s1;
      n[firstPoint + r + 2] = s2;
      n[firstPoint + r + 3] = s3;
    }
    for (; r < rows; r++) {
      const o = r * nE;
      let s = 0;
      for (let k = 0; k < nE; k++) s += chunk[o + k] * w[k];
      n[firstPoint + r] = s;
    }
  }

  /** Add w_k·LDOS(r, e_k) for every point r (one pp.x cube). */
  addEnergySlice(energyIndex: number, values: ArrayLike<number>): void {
    if (values.length !== this.pointCount) {
      throw new MalaError(`LDOS slice of ${values.length} points does not match the grid of ${this.pointCount} points`, { file: this.source, fix: 'all LDOS cubes must be on the same grid' });
    }
    const wk = this.weights[energyIndex];
    const n = this.densityPerA3;
    for (let p = 0; p < values.length; p++) n[p] += values[p] * wk;
  }

  /** ∫ n dV = V_voxel·Σ n (summation, as MALA). */
  numberOfElectrons(voxelVolumeA3: number): number {
    return integrateDensity(this.densityPerA3, voxelVolumeA3);
  }
}

export function integrateDensity(densityPerA3: ArrayLike<number>, voxelVolumeA3: number): number {
  let s = 0;
  for (let i = 0; i < densityPerA3.length; i++) s += densityPerA3[i];
  return s * voxelVolumeA3;
}

/** Density of a whole in-memory LDOS (points × N_E). */
export function densityFromLdos(ldosPerEvA3: ArrayLike<number>, energiesEv: ArrayLike<number>, fermiEnergyEv: number, kTEv: number): Float64Array {
  const nE = energiesEv.length;
  const acc = new DensityAccumulator(ldosPerEvA3.length / nE, energiesEv, fermiEnergyEv, kTEv);
  acc.addPoints(ldosPerEvA3, 0);
  return acc.densityPerA3;
}
