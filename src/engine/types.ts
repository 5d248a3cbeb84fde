/**
 * What the observables engine (src/engine/engine.ts) produces: the observables of an LDOS. Types
 * only, so that io/ (JSON, summary) and workflow/ (predict, observables) both depend on them
 * without depending on each other.
 */
import type { EnergyGrid } from '../targets/energy-grid';

export interface TotalEnergyResult {
  totalEnergyEv: number;
  /** MALA's contribution names (e_band, e_rho_times_v_hxc, e_hartree, e_xc, e_ewald, e_entropy) in eV. */
  termsEv: Record<string, number>;
}

export interface ObservablesResult {
  fermiEnergyEv: number;
  fermiEnergyIsSelfConsistent: boolean;
  bandEnergyEv: number;
  entropyContributionEv: number;
  /** N(E_F) from the DOS (equals the requested count for a self-consistent E_F). */
  numberOfElectrons: number;
  electronsRequested: number;
  /** V_voxel·Σ n(r) of the density from the LDOS. */
  densityElectrons: number;
  densityMinPerA3: number;
  densityMaxPerA3: number;
  temperatureK: number;
  energyGrid: EnergyGrid;
  energiesEv: Float64Array;
  dosPerEv: Float64Array;
  gridShape: number[];
  pointCount: number;
  voxelVolumeA3: number;
  ldosSource: string;
  structureFile?: string;
  fermiEnergyDftEv?: number;
  totalEnergy?: TotalEnergyResult;
  /** Things the user should know that did not stop the computation. */
  warnings: string[];
  /** Files written. */
  outputs: Record<string, string>;
  timingsS: Record<string, number>;
}

/** The observables of each member's own LDOS in an ensemble (the engine's result is the mean LDOS's). */
export interface EnsembleMemberObservables {
  fermiEnergyEv: number;
  bandEnergyEv: number;
  entropyContributionEv: number;
  /** From the member's own density and DOS terms (absent without an energy step). */
  totalEnergyEv?: number;
}

/** Seconds since `t0` (a performance.now() reading) added to `timings[key]`. */
export function addTiming(timings: Record<string, number>, key: string, t0: number): void {
  timings[key] = (timings[key] ?? 0) + (performance.now() - t0) / 1000;
}
