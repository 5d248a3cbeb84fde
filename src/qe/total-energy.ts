/**
 * MALA's total energy (spec §5.11): E = E_band + E_rho_times_v_hxc + E_H + E_xc + E_ewald + E_entropy,
 * a free energy (F = E − TS) in QE's Harris–Foulkes form. The band and entropy terms come from the
 * (L)DOS (src/targets/); the four density terms from energy-terms.ts. Interface in MALA units.
 */
import { MalaError } from '../errors';
import { evToRy, ryToEv } from '../structure/units';
import { Progress } from '../util/progress';
import { computeEnergyTerms, EnergyTermsRy } from './energy-terms';
import { energyGradient, type EnergyGradient, type EnergyGradientOptions } from './energy-gradient';
import type { GridLayout } from './grid-layout';
import { loadPseudopotentials, Pseudopotential } from './upf';

export interface TotalEnergyInput {
  cellAngstrom: number[][];
  positionsAngstrom: number[][];
  species: string[];
  grid: [number, number, number];
  /** Valence density, (nx, ny, nz) or (nx, ny, nz, 1), z fastest, 1/Å³. */
  densityPerA3: ArrayLike<number>;
  /** Shape of `densityPerA3` when known (checked against `grid`). */
  densityShape?: number[];
  /** Density cutoff of the DFT run (Ry); needed for QE's G-sphere. */
  ecutrhoRy: number;
  /** Band energy ∫ε D f dε (eV). */
  bandEnergyEv: number;
  /** Entropy term −TS (eV, ≤ 0). */
  entropyContributionEv: number;
  /** Folder of the UPF files, and optionally species → file name (ATOMIC_SPECIES). */
  pseudoDir?: string;
  pseudopotentialFiles?: Record<string, string>;
  /** Already-read pseudopotentials (instead of pseudoDir). */
  pseudopotentials?: Record<string, Pseudopotential>;
  progress?: Progress;
  /** Distributed grid (grid-layout.ts): `densityPerA3` is then this rank's x-slab; see computeEnergyTerms. */
  layout?: GridLayout;
}

/** MALA's contribution names (`return_energy_contributions=True`). */
export const energyTermNames = ['e_band', 'e_rho_times_v_hxc', 'e_hartree', 'e_xc', 'e_ewald', 'e_entropy'] as const;
export type EnergyTermName = (typeof energyTermNames)[number];

export interface TotalEnergy {
  totalEnergyEv: number;
  totalEnergyRy: number;
  termsEv: Record<EnergyTermName, number>;
  termsRy: Record<EnergyTermName, number>;
  /** Raw QE-module numbers and diagnostics (vtxc, G-vector count, α, …). */
  details: EnergyTermsRy;
}

/** Check a density array's shape against the grid: (nx,ny,nz) or (nx,ny,nz,1). */
export function checkDensityShape(shape: number[], grid: [number, number, number], file?: string): void {
  const ok = (shape.length === 3 || (shape.length === 4 && shape[3] === 1)) && shape[0] === grid[0] && shape[1] === grid[1] && shape[2] === grid[2];
  if (!ok) {
    throw new MalaError(`density has shape (${shape.join(', ')}), expected (${grid.join(', ')}) or (${grid.join(', ')}, 1)`, {
      file,
      fix: "the density must be on the DFT run's FFT grid, one value per point",
    });
  }
}

export function totalEnergy(inp: TotalEnergyInput): TotalEnergy {
  const pps = checkedPseudopotentials(inp);
  return fromTerms(inp, computeEnergyTerms({ ...inp, pseudopotentials: pps }));
}

/** The total energy and its derivatives (energy-gradient.ts): ∂E/∂n and the forces at fixed density. */
export function totalEnergyWithGradient(inp: TotalEnergyInput, opts: EnergyGradientOptions = {}): { energy: TotalEnergy; gradient: EnergyGradient } {
  const pps = checkedPseudopotentials(inp);
  const gradient = energyGradient({ ...inp, pseudopotentials: pps }, opts);
  return { energy: fromTerms(inp, gradient.terms), gradient };
}

function checkedPseudopotentials(inp: TotalEnergyInput): Record<string, Pseudopotential> {
  if (inp.densityShape) checkDensityShape(inp.densityShape, inp.grid);
  for (const [name, v] of [
    ['band energy', inp.bandEnergyEv],
    ['entropy contribution', inp.entropyContributionEv],
  ] as const) {
    if (!Number.isFinite(v)) throw new MalaError(`${name} is not a finite number (${v})`);
  }
  let pps = inp.pseudopotentials;
  if (!pps) {
    if (!inp.pseudoDir) throw new MalaError('no pseudopotentials given', { fix: 'pass --pseudo-dir with the UPF files of the structure' });
    pps = loadPseudopotentials(inp.species, inp.pseudoDir, inp.pseudopotentialFiles);
  }
  return pps;
}

function fromTerms(inp: TotalEnergyInput, d: EnergyTermsRy): TotalEnergy {
  const termsRy: Record<EnergyTermName, number> = {
    e_band: evToRy(inp.bandEnergyEv),
    e_rho_times_v_hxc: d.debandRy,
    e_hartree: d.hartreeRy,
    e_xc: d.xcRy,
    e_ewald: d.ewaldRy,
    e_entropy: evToRy(inp.entropyContributionEv),
  };
  const termsEv = {} as Record<EnergyTermName, number>;
  for (const k of energyTermNames) termsEv[k] = k === 'e_band' ? inp.bandEnergyEv : k === 'e_entropy' ? inp.entropyContributionEv : ryToEv(termsRy[k]);
  const totalEnergyEv = energyTermNames.reduce((s, k) => s + termsEv[k], 0);
  return { totalEnergyEv, totalEnergyRy: evToRy(totalEnergyEv), termsEv, termsRy, details: d };
}
