/**
 * The few facts the observables need from a Quantum ESPRESSO pw.x output (or input): electron
 * count, smearing width → temperature, FFT grid, cell, atoms, cutoff, pseudopotential files. A
 * view of the one calculation context (./calculation-context.ts: `qeFileFacts`, `chooseGrid`) with
 * MALA's conventions (spec §5.10): T = degauss·Rydberg/kB with the degauss QE printed; the grid
 * from the dense "FFT dimensions" line (for an input: nr1..3, else QE's grid for ecutrho).
 */
import { MalaError } from '../errors';
import { chooseGrid } from '../grid/choose-grid';
import { readStructure } from '../structure/registry';
import { rydbergToKelvin } from '../structure/units';
import { qeFileFacts, checkSpinUnpolarised } from './calculation-context';

export interface QeMetadata {
  file: string;
  kind: 'pw-output' | 'pw-input';
  numberOfElectrons?: number;
  /** QE's smearing name ("Fermi-Dirac", "gaussian", "fermi-dirac", ...). */
  smearing?: string;
  degaussRy?: number;
  temperatureK?: number;
  gridShape?: [number, number, number];
  /** Cell rows in Å. */
  cellAngstrom?: number[][];
  /** Element symbol per atom. */
  species?: string[];
  /** Cartesian positions in Å. */
  positionsAngstrom?: number[][];
  /** QE's printed Fermi energy (eV), for reference. */
  fermiEnergyDftEv?: number;
  /** Density cutoff (Ry), needed by the total-energy terms. */
  ecutrhoRy?: number;
  /** Element → UPF file name, as pw.x read them. */
  pseudopotentialFiles?: Record<string, string>;
}

/** Read a pw.x output or input (detected from the content). */
export function readQeMetadata(file: string): QeMetadata {
  const s = readStructure(file);
  const f = qeFileFacts(s);
  if (!f.kind) throw new MalaError(`not a Quantum ESPRESSO pw.x output or input (read as ${s.format})`, { file, fix: 'pass the pw.x output (or input) the LDOS belongs to with --structure' });
  checkSpinUnpolarised(s, file);
  // an output's grid is the one it printed; an input's, nr1..3 or QE's rule for ecutrho
  const hasGrid = s.qeOutput ? s.qeOutput.fftGrid : (s.qeInput?.fftGrid ?? f.ecutrhoRy);
  return {
    file,
    kind: f.kind,
    cellAngstrom: s.atoms.cellAngstrom,
    species: s.atoms.symbols,
    positionsAngstrom: s.atoms.positionsAngstrom,
    numberOfElectrons: f.numberOfElectrons,
    smearing: f.smearing,
    degaussRy: f.degaussRy,
    temperatureK: f.degaussRy === undefined ? undefined : rydbergToKelvin(f.degaussRy),
    gridShape: hasGrid !== undefined ? (chooseGrid(s).grid as [number, number, number]) : undefined,
    fermiEnergyDftEv: f.fermiEnergyDftEv,
    ecutrhoRy: f.ecutrhoRy,
    pseudopotentialFiles: f.pseudopotentialFiles,
  };
}
