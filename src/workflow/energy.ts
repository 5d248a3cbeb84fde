/**
 * `mala-ts energy`: the QE total-energy terms of a density on the DFT grid (MALA .npy in 1/Å³ or
 * a pp.x cube), for the structure of a pw.x input/output, and the total energy when the band
 * energy (and −TS) are given.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MalaError } from '../errors';
import type { Cube } from '../io/cube';
import { checkCubeMatchesStructure } from '../io/cube-structure-check';
import { readNpy } from '../io/npy';
import { readDensityCube, readQeStructure } from '../qe/qe-files';
import { checkDensityShape, computeEnergyTerms, EnergyTermsRy, loadPseudopotentials, totalEnergy, TotalEnergy } from '../qe';
import { checkDensityElectrons, valenceElectrons } from '../qe/electron-count';
import { firstPseudoDir } from '../qe/pseudo-dir';
import { det3 } from '../structure/atoms';
import { ryToEv } from '../structure/units';
import { Progress } from '../util/progress';

export interface EnergyOptions {
  densityFile: string;
  structureFile: string;
  /** UPF folder; default: the pseudo_dir rule of src/qe/pseudo-dir.ts. */
  pseudoDir?: string;
  bandEnergyEv?: number;
  entropyContributionEv?: number;
  progress?: Progress;
}

export interface EnergyReport {
  density: string;
  structure: string;
  pseudoDir: string;
  grid: [number, number, number];
  functional: string;
  gVectorCount: number;
  /** Density terms (eV and Ry). */
  termsEv: Record<'e_rho_times_v_hxc' | 'e_hartree' | 'e_xc' | 'e_ewald', number>;
  termsRy: Record<'e_rho_times_v_hxc' | 'e_hartree' | 'e_xc' | 'e_ewald', number>;
  /** Present when a band energy was given. */
  total?: TotalEnergy;
  details: EnergyTermsRy;
  /** Problems that do not stop the calculation (e.g. ∫n off the expected electron count). */
  warnings: string[];
}

function loadDensity(file: string): { grid: [number, number, number]; densityPerA3: Float64Array | Float32Array; shape: number[]; header?: Omit<Cube, 'data'> } {
  if (!fs.existsSync(file)) throw new MalaError(`density file not found: ${file}`, { file, fix: 'pass --density with a MALA .npy (1/Å³) or a pp.x plot_num=0 .cube' });
  const ext = path.extname(file).toLowerCase();
  if (ext === '.npy') {
    const d = readNpy(file);
    if (d.shape.length < 3) throw new MalaError(`density has shape (${d.shape.join(', ')}), expected (nx, ny, nz) or (nx, ny, nz, 1)`, { file, fix: 'pass the density on the FFT grid' });
    const grid = d.shape.slice(0, 3) as [number, number, number];
    checkDensityShape(d.shape, grid, file);
    return { grid, densityPerA3: d.data, shape: d.shape };
  }
  if (ext === '.cube') {
    const c = readDensityCube(file);
    return { ...c, shape: c.grid };
  }
  throw new MalaError(`unsupported density file type '${ext}'`, { file, fix: 'pass a .npy (MALA, 1/Å³) or a .cube (pp.x plot_num=0, 1/Bohr³)' });
}

export function runEnergy(opts: EnergyOptions): EnergyReport {
  const s = readQeStructure(opts.structureFile);
  const dens = loadDensity(opts.densityFile);
  if (s.grid) checkDensityShape(dens.shape, s.grid, opts.densityFile);
  // a cube says which atoms it is of: another structure's density gives another system's energy
  if (dens.header) checkCubeMatchesStructure(dens.header, s, opts.densityFile, opts.structureFile);
  // the one pseudo_dir rule (src/qe/pseudo-dir.ts)
  const { dir: pseudoDir, value: pseudopotentials } = firstPseudoDir(
    { explicit: opts.pseudoDir, inputPseudoDir: s.pseudoDir, structureFile: opts.structureFile },
    (dir) => loadPseudopotentials(s.species, dir, s.pseudopotentialFiles),
  );
  const warnings: string[] = [];
  // ∫n against the valence before any energy term: pw.x would not start from such a density
  const nPoints = dens.grid[0] * dens.grid[1] * dens.grid[2];
  let sum = 0;
  for (let i = 0; i < nPoints; i++) sum += dens.densityPerA3[i];
  const integrated = (sum * Math.abs(det3(s.cellAngstrom))) / nPoints;
  const expected = s.numberOfElectrons ?? valenceElectrons(s.species, pseudopotentials, s.totCharge);
  const from = s.numberOfElectrons !== undefined ? `${opts.structureFile} ("number of electrons")` : `the pseudopotentials' valence${s.totCharge ? ` and tot_charge ${s.totCharge}` : ''}`;
  const problem = checkDensityElectrons(integrated, expected, opts.densityFile, from);
  if (problem) warnings.push(problem);
  const common = {
    cellAngstrom: s.cellAngstrom,
    positionsAngstrom: s.positionsAngstrom,
    species: s.species,
    grid: dens.grid,
    densityPerA3: dens.densityPerA3,
    ecutrhoRy: s.ecutrhoRy,
    pseudopotentials,
    progress: opts.progress,
  };
  let total: TotalEnergy | undefined;
  let details: EnergyTermsRy;
  if (opts.bandEnergyEv !== undefined) {
    total = totalEnergy({ ...common, bandEnergyEv: opts.bandEnergyEv, entropyContributionEv: opts.entropyContributionEv ?? 0 });
    details = total.details;
  } else {
    details = computeEnergyTerms(common);
  }
  const termsRy = { e_rho_times_v_hxc: details.debandRy, e_hartree: details.hartreeRy, e_xc: details.xcRy, e_ewald: details.ewaldRy };
  const termsEv = {
    e_rho_times_v_hxc: ryToEv(termsRy.e_rho_times_v_hxc),
    e_hartree: ryToEv(termsRy.e_hartree),
    e_xc: ryToEv(termsRy.e_xc),
    e_ewald: ryToEv(termsRy.e_ewald),
  };
  return { density: opts.densityFile, structure: opts.structureFile, pseudoDir, grid: dens.grid, functional: details.functional, gVectorCount: details.gVectorCount, termsEv, termsRy, total, details, warnings };
}
