/**
 * Results of `mala-ts observables` as JSON (snake_case keys with units, like MALA's
 * info.json), a DOS table as CSV, and the short readable summary printed on a terminal. The
 * JSON keys and summary lines come from one field table (src/results/fields.ts).
 */
import { observableFields } from '../results/fields';
import { formatSummary as formatResultSummary, observablesResultJson } from '../results/views';
import { writeFileAtomic } from './atomic-write';
import type { ObservablesResult } from '../engine/types';

export interface ObservablesJson {
  fermi_energy_ev: number;
  fermi_energy_is_self_consistent: boolean;
  band_energy_ev: number;
  entropy_contribution_ev: number;
  number_of_electrons: number;
  number_of_electrons_requested: number;
  density_electrons: number;
  density_min_per_a3: number;
  density_max_per_a3: number;
  temperature_k: number;
  energy_grid: { offset_ev: number; spacing_ev: number; count: number };
  energies_ev: number[];
  dos_per_ev: number[];
  grid_shape: number[];
  voxel_volume_a3: number;
  ldos: string;
  structure?: string;
  fermi_energy_dft_ev?: number;
  total_energy_ev?: number;
  energy_contributions_ev?: Record<string, number>;
  warnings: string[];
  outputs: Record<string, string>;
  timings_s: Record<string, number>;
}

/** `observables --json` (also the first keys of predict's results.json), from the field table. */
export function observablesJson(r: ObservablesResult): ObservablesJson {
  return observablesResultJson(r) as unknown as ObservablesJson;
}

/** JSON text (full float64 precision: JSON numbers round-trip exactly). */
export function formatJson(value: unknown): string {
  return JSON.stringify(value, null, 2) + '\n';
}

export function writeResultsJson(file: string, value: unknown): void {
  writeFileAtomic(file, formatJson(value));
}

/** DOS table: `energy_ev,dos_per_ev`, full precision. */
export function dosCsv(energiesEv: ArrayLike<number>, dosPerEv: ArrayLike<number>): string {
  const lines = ['energy_ev,dos_per_ev'];
  for (let i = 0; i < energiesEv.length; i++) lines.push(`${energiesEv[i]},${dosPerEv[i]}`);
  return lines.join('\n') + '\n';
}

export function writeDosCsv(file: string, energiesEv: ArrayLike<number>, dosPerEv: ArrayLike<number>): void {
  writeFileAtomic(file, dosCsv(energiesEv, dosPerEv));
}

/** The short summary a chemist reads (src/results: the field table's body lines). */
export function formatSummary(r: ObservablesResult): string {
  return formatResultSummary(r, observableFields);
}
