/**
 * Results of `mala-ts observables` as JSON (snake_case keys with units, like MALA's
 * info.json), a DOS table as CSV, and the short readable summary printed on a terminal.
 */
import { kTEv } from '../structure/units';
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

export function observablesJson(r: ObservablesResult): ObservablesJson {
  const out: ObservablesJson = {
    fermi_energy_ev: r.fermiEnergyEv,
    fermi_energy_is_self_consistent: r.fermiEnergyIsSelfConsistent,
    band_energy_ev: r.bandEnergyEv,
    entropy_contribution_ev: r.entropyContributionEv,
    number_of_electrons: r.numberOfElectrons,
    number_of_electrons_requested: r.electronsRequested,
    density_electrons: r.densityElectrons,
    density_min_per_a3: r.densityMinPerA3,
    density_max_per_a3: r.densityMaxPerA3,
    temperature_k: r.temperatureK,
    energy_grid: { offset_ev: r.energyGrid.offsetEv, spacing_ev: r.energyGrid.spacingEv, count: r.energyGrid.count },
    energies_ev: Array.from(r.energiesEv),
    dos_per_ev: Array.from(r.dosPerEv),
    grid_shape: r.gridShape,
    voxel_volume_a3: r.voxelVolumeA3,
    ldos: r.ldosSource,
    warnings: r.warnings,
    outputs: r.outputs,
    timings_s: r.timingsS,
  };
  if (r.structureFile) out.structure = r.structureFile;
  if (r.fermiEnergyDftEv !== undefined) out.fermi_energy_dft_ev = r.fermiEnergyDftEv;
  if (r.totalEnergy) {
    out.total_energy_ev = r.totalEnergy.totalEnergyEv;
    out.energy_contributions_ev = r.totalEnergy.termsEv;
  }
  return out;
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

const fmt = (v: number, digits = 6): string => (Math.abs(v) < 1e-3 && v !== 0 ? v.toExponential(digits - 1) : v.toFixed(digits));

/** The short summary a chemist reads. */
export function formatSummary(r: ObservablesResult): string {
  const rows: [string, string][] = [
    ['LDOS', `${r.ldosSource}  (grid ${r.gridShape.join('×')}, ${r.energyGrid.count} energies ${r.energiesEv[0]}…${r.energiesEv[r.energiesEv.length - 1]} eV)`],
    ['temperature', `${r.temperatureK.toFixed(4)} K  (kT = ${fmt(kTEv(r.temperatureK), 6)} eV)`],
    ['electrons', `${fmt(r.electronsRequested, 6)} requested, N(E_F) = ${fmt(r.numberOfElectrons, 9)}`],
    [r.fermiEnergyIsSelfConsistent ? 'Fermi energy (self-consistent)' : 'Fermi energy (given)', `${fmt(r.fermiEnergyEv, 6)} eV${r.fermiEnergyDftEv !== undefined ? `  (DFT printed ${r.fermiEnergyDftEv} eV)` : ''}`],
    ['band energy', `${fmt(r.bandEnergyEv, 6)} eV`],
    ['entropy contribution −TS', `${fmt(r.entropyContributionEv, 6)} eV`],
    ['density', `∫n dV = ${fmt(r.densityElectrons, 6)} electrons, n in [${fmt(r.densityMinPerA3, 5)}, ${fmt(r.densityMaxPerA3, 5)}] 1/Å³`],
  ];
  if (r.totalEnergy) {
    rows.push(['total energy', `${fmt(r.totalEnergy.totalEnergyEv, 6)} eV`]);
    for (const [k, v] of Object.entries(r.totalEnergy.termsEv)) rows.push([`  ${k}`, `${fmt(v, 6)} eV`]);
  }
  for (const [k, v] of Object.entries(r.outputs)) rows.push([`wrote ${k}`, v]);
  for (const w of r.warnings) rows.push(['warning', w]);
  const w = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(w)}  ${v}`).join('\n') + '\n';
}
