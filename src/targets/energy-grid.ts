/**
 * The LDOS energy grid (spec §5.1): e_i = offset + i·spacing, i = 0..count−1, in eV. A single
 * segment, as MALA's `ldos_gridoffset_ev / ldos_gridspacing_ev / ldos_gridsize`.
 * (MALA's experimental split grids are not supported; the integration code below takes any
 * increasing energy array, so they can be added by building the concatenated energies.)
 */
import { MalaError } from '../errors';

export interface EnergyGrid {
  /** First energy e_0 (eV). */
  offsetEv: number;
  /** Spacing Δ between consecutive energies (eV), > 0. */
  spacingEv: number;
  /** Number of energies N_E (the LDOS feature count). */
  count: number;
}

/** Build and validate an energy grid. */
export function makeEnergyGrid(offsetEv: number, spacingEv: number, count: number): EnergyGrid {
  if (!Number.isFinite(offsetEv)) throw new MalaError(`energy grid offset ${offsetEv} is not a finite number`, { fix: 'give the offset in eV, e.g. --energy-grid -5,2.5,11' });
  if (!(spacingEv > 0) || !Number.isFinite(spacingEv)) throw new MalaError(`energy grid spacing ${spacingEv} eV must be a positive number`, { fix: 'give the spacing in eV, e.g. --energy-grid -5,2.5,11' });
  if (!Number.isInteger(count) || count < 2) throw new MalaError(`energy grid count ${count} must be an integer ≥ 2`, { fix: 'give the number of LDOS energies, e.g. --energy-grid -5,2.5,11' });
  return { offsetEv, spacingEv, count };
}

/** Parse "OFFSET,SPACING,COUNT" (eV, eV, integer) as given on the command line. */
export function parseEnergyGrid(text: string): EnergyGrid {
  const parts = text.split(',').map((s) => s.trim());
  const nums = parts.map(Number);
  if (parts.length !== 3 || parts.some((p) => p === '') || nums.some((n) => Number.isNaN(n))) {
    throw new MalaError(`cannot parse energy grid '${text}'`, { fix: 'use OFFSET,SPACING,COUNT in eV, e.g. --energy-grid -5,2.5,11 (quote it if the offset is negative: --energy-grid=-5,2.5,11)' });
  }
  return makeEnergyGrid(nums[0], nums[1], nums[2]);
}

/** The grid energies e_i in eV (float64). */
export function energiesEv(grid: EnergyGrid): Float64Array {
  const e = new Float64Array(grid.count);
  // offset + i·spacing (not cumulative sums) so e_i is exactly what numpy's MALA grid holds.
  for (let i = 0; i < grid.count; i++) e[i] = grid.offsetEv + i * grid.spacingEv;
  return e;
}

export function formatEnergyGrid(grid: EnergyGrid): string {
  const last = grid.offsetEv + (grid.count - 1) * grid.spacingEv;
  return `${grid.count} energies ${grid.offsetEv} … ${last} eV (spacing ${grid.spacingEv} eV)`;
}
