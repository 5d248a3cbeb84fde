/**
 * The few facts the observables need from a Quantum ESPRESSO pw.x output (or input): electron
 * count, smearing width → temperature, FFT grid, cell, atoms, cutoff, pseudopotential files.
 * An adapter over the shared structure readers (src/structure/qe-output.ts, qe-input.ts) that
 * applies MALA's conventions (spec §5.10): T = degauss·Rydberg/kB with the degauss QE printed,
 * grid from the dense "FFT dimensions" line (for an input: nr1..3, else QE's grid for ecutrho).
 */
import { MalaError } from '../errors';
import { qeFftGrid } from '../grid/grid';
import { readStructure } from '../structure/registry';
import { rydbergToKelvin } from '../structure/units';

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
  const base = { file, cellAngstrom: s.atoms.cellAngstrom, species: s.atoms.symbols, positionsAngstrom: s.atoms.positionsAngstrom };
  if (s.qeOutput) {
    const o = s.qeOutput;
    return {
      ...base,
      kind: 'pw-output',
      numberOfElectrons: o.numberOfElectrons,
      smearing: o.smearing,
      degaussRy: o.degaussRy,
      temperatureK: o.degaussRy === undefined ? undefined : rydbergToKelvin(o.degaussRy),
      gridShape: o.fftGrid,
      fermiEnergyDftEv: o.fermiEnergyEv,
      ecutrhoRy: o.ecutrhoRy,
      pseudopotentialFiles: o.pseudopotentials,
    };
  }
  if (s.qeInput) {
    const q = s.qeInput;
    const sys = q.namelists.system ?? {};
    const degauss = typeof sys.degauss === 'number' ? sys.degauss : undefined;
    const pseudos: Record<string, string> = {};
    for (const sp of q.species) pseudos[sp.symbol] = sp.pseudopotential;
    return {
      ...base,
      kind: 'pw-input',
      smearing: typeof sys.smearing === 'string' ? sys.smearing : degauss !== undefined ? 'gaussian' : undefined,
      degaussRy: degauss,
      temperatureK: degauss === undefined ? undefined : rydbergToKelvin(degauss),
      gridShape: q.fftGrid ?? (q.ecutrhoRy !== undefined ? qeFftGrid(s.atoms.cellAngstrom, q.ecutrhoRy) : undefined),
      ecutrhoRy: q.ecutrhoRy,
      pseudopotentialFiles: pseudos,
    };
  }
  throw new MalaError(`not a Quantum ESPRESSO pw.x output or input (read as ${s.format})`, { file, fix: 'pass the pw.x output (or input) the LDOS belongs to with --structure' });
}
