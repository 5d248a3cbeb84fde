/**
 * One calculation context: what a structure file (and the user's flags, and the model's training
 * facts) say about the calculation: grid, density cutoff, electronic temperature, electron count
 * and pseudopotentials. Every workflow gets these facts from here, with one set of rules:
 *
 * - grid: --grid; the FFT grid a pw.x output printed; nr1..3 of a pw.x input; QE's rule for the
 *   cell and ecutrho (src/grid/choose-grid.ts);
 * - ecutrho: --ecutrho; the QE output or input; the model's training value;
 * - temperature: --temperature; degauss (T = degauss·Ry/k_B, MALA's convention, spec §5.10) of the
 *   pw.x output, else of the input; the model's training temperature;
 * - electrons: --electrons; "number of electrons" of a pw.x output; the pseudopotentials' valence
 *   charges; the model's electrons per atom (one element only);
 * - pseudopotentials: the folder rule of src/qe/pseudo-dir.ts, the files named by ATOMIC_SPECIES
 *   (or the output's "PseudoPot." lines), else the one <El>*.UPF of the folder.
 */
import { MalaError } from '../errors';
import { chooseGrid, type GridChoice } from '../grid/choose-grid';
import { checkAtomDistances } from '../structure/atom-distances';
import { checkPeriodicCell } from '../structure/periodic-check';
import { speciesOf, type Atoms } from '../structure/atoms';
import type { StructureRead } from '../structure/registry';
import { rydbergToKelvin } from '../structure/units';
import { firstPseudoDir, type PseudoDirRequest } from './pseudo-dir';
import { loadPseudopotentials, type Pseudopotential } from './upf';
import { checkElectronCount, valenceElectrons } from './electron-count';

/** What a pw.x input or output itself says (nothing for other formats). */
export interface QeFileFacts {
  kind?: 'pw-output' | 'pw-input';
  numberOfElectrons?: number;
  /** QE's smearing name ("Fermi-Dirac", "gaussian", ...). */
  smearing?: string;
  degaussRy?: number;
  ecutrhoRy?: number;
  /** Element → UPF file name, as the file names them. */
  pseudopotentialFiles?: Record<string, string>;
  /** `pseudo_dir` of &CONTROL, as written. */
  pseudoDir?: string;
  /** The Fermi energy pw.x printed (eV). */
  fermiEnergyDftEv?: number;
}

export function qeFileFacts(read: Pick<StructureRead, 'qeInput' | 'qeOutput'> | undefined): QeFileFacts {
  const o = read?.qeOutput;
  if (o) {
    return { kind: 'pw-output', numberOfElectrons: o.numberOfElectrons, smearing: o.smearing, degaussRy: o.degaussRy, ecutrhoRy: o.ecutrhoRy, pseudopotentialFiles: { ...o.pseudopotentials }, fermiEnergyDftEv: o.fermiEnergyEv };
  }
  const q = read?.qeInput;
  if (q) {
    const sys = q.namelists.system ?? {};
    const degauss = typeof sys.degauss === 'number' ? sys.degauss : undefined;
    const dir = q.namelists.control?.pseudo_dir;
    return {
      kind: 'pw-input',
      smearing: typeof sys.smearing === 'string' ? sys.smearing : degauss !== undefined ? 'gaussian' : undefined,
      degaussRy: degauss,
      ecutrhoRy: q.ecutrhoRy,
      pseudopotentialFiles: Object.fromEntries(q.species.map((s) => [s.symbol, s.pseudopotential])),
      pseudoDir: typeof dir === 'string' ? dir : undefined,
    };
  }
  return {};
}

/** tot_charge of a pw.x input's &SYSTEM (QE: the cell's charge in e; 0 when absent or not a pw.x input). */
export function totChargeOf(read: Pick<StructureRead, 'qeInput'> | undefined): number {
  const q = read?.qeInput?.namelists.system?.tot_charge;
  return typeof q === 'number' ? q : 0;
}

/**
 * pw.x inputs with nspin ≠ 1 are refused wherever one is read as a calculation (predict, energy,
 * model-domain, test, pw): the LDOS model is spin-unpolarised, and a spin-polarised cell's energy
 * would be printed as if it were not (the same refusal as `pw`).
 */
export function checkSpinUnpolarised(read: Pick<StructureRead, 'qeInput'> | undefined, file: string | undefined): void {
  const nspin = read?.qeInput?.namelists.system?.nspin;
  if (nspin !== undefined && nspin !== 1) {
    throw new MalaError(`nspin = ${String(nspin)}: the LDOS model is not spin-polarised`, { file, fix: 'remove nspin (or set nspin = 1), or run pw.x' });
  }
}

/**
 * The valence electron count minus tot_charge; a cell charged to no electrons (tot_charge ≥ the
 * valence) is refused, as pw.x refuses it.
 */
export function chargedElectronCount(valence: number, totCharge: number, file: string | undefined): number {
  const electrons = valence - totCharge;
  if (!(electrons > 0)) {
    throw new MalaError(`tot_charge = ${totCharge} leaves ${electrons} electrons (the valence charges give ${valence}): no electrons to occupy`, { file, fix: `set tot_charge below ${valence} in &SYSTEM` });
  }
  return electrons;
}

/** The user's overrides (command-line flags). */
export interface ContextOverrides {
  temperatureK?: number;
  electrons?: number;
  ecutrhoRy?: number;
  grid?: readonly number[];
  /** Refuse a `grid` coarser than the file's own (src/grid/choose-grid.ts). */
  refuseCoarseGrid?: boolean;
  pseudoDir?: string;
  /** Pseudopotentials a caller already loaded by the same rule (e.g. `pw`): not read again. */
  pseudopotentials?: LoadedPseudopotentials;
  /** Resolve pseudo_dir against these (default: process.cwd(), process.env). */
  cwd?: string;
  env?: NodeJS.ProcessEnv;
}

/** What the model knows of its training data, used when the structure file says nothing. */
export interface TrainingDefaults {
  temperatureK?: number;
  electronsPerAtom?: number;
  ecutrhoRy?: number;
}

export interface CalculationContext {
  atoms: Atoms;
  /** The structure's file name (or '<atoms>'). */
  source: string;
  read?: StructureRead;
  facts: QeFileFacts;
  grid: GridChoice;
  ecutrhoRy?: number;
  temperatureK: number;
  electrons: number;
  /** The electron count differs from the pseudopotentials' valence minus tot_charge (a warning text). */
  electronCountNote?: string;
  /** The temperature came from a pw.x output's degauss, which pw.x prints to 4 decimals (a warning text). */
  temperatureNote?: string;
  /** Loaded pseudopotentials and their folder, or why they could not be loaded. */
  pseudopotentials?: Record<string, Pseudopotential>;
  pseudoDir?: { dir: string; from: string };
  pseudoProblem?: MalaError;
}

export interface ContextInput {
  atoms: Atoms;
  source: string;
  read?: StructureRead;
}

/** The request for the pseudopotential folder rule (src/qe/pseudo-dir.ts) of a structure. */
export function pseudoDirRequest(input: { read?: Pick<StructureRead, 'file' | 'qeInput'>; source?: string }, o: Pick<ContextOverrides, 'pseudoDir' | 'cwd' | 'env'> = {}): PseudoDirRequest {
  const dir = input.read?.qeInput?.namelists.control?.pseudo_dir;
  const file = input.read?.file ?? input.source;
  return { explicit: o.pseudoDir, inputPseudoDir: typeof dir === 'string' ? dir : undefined, structureFile: file && !file.startsWith('<') ? file : undefined, cwd: o.cwd, env: o.env };
}

/** Pseudopotentials of these atoms by the folder rule; throws one MalaError naming every folder tried. */
export interface LoadedPseudopotentials {
  pseudopotentials: Record<string, Pseudopotential>;
  dir: string;
  from: string;
}

export function loadContextPseudopotentials(input: { atoms: Atoms; read?: StructureRead; source?: string }, o: Pick<ContextOverrides, 'pseudoDir' | 'cwd' | 'env'> = {}): LoadedPseudopotentials {
  const files = qeFileFacts(input.read).pseudopotentialFiles;
  const r = firstPseudoDir(pseudoDirRequest(input, o), (dir) => loadPseudopotentials(input.atoms.symbols, dir, files));
  return { pseudopotentials: r.value, dir: r.dir, from: r.from };
}

export function calculationContext(input: ContextInput, o: ContextOverrides = {}, training: TrainingDefaults = {}): CalculationContext {
  const { atoms, source, read } = input;
  checkAtomDistances(atoms, read?.file ?? source);
  checkSpinUnpolarised(read, read?.file ?? source);
  checkPeriodicCell(atoms, read?.file ?? source);
  const facts = qeFileFacts(read);
  const ecutrhoRy = o.ecutrhoRy ?? facts.ecutrhoRy ?? training.ecutrhoRy;
  const grid = chooseGrid(read ?? { atoms, file: source }, o.grid, ecutrhoRy, o.refuseCoarseGrid);

  let pseudopotentials: Record<string, Pseudopotential> | undefined;
  let pseudoDir: { dir: string; from: string } | undefined;
  let pseudoProblem: MalaError | undefined;
  try {
    const p = o.pseudopotentials ?? loadContextPseudopotentials(input, o);
    pseudopotentials = p.pseudopotentials;
    pseudoDir = { dir: p.dir, from: p.from };
  } catch (e) {
    if (!(e instanceof MalaError)) throw e;
    pseudoProblem = e;
  }

  const temperatureK = o.temperatureK ?? (facts.degaussRy !== undefined ? rydbergToKelvin(facts.degaussRy) : training.temperatureK);
  if (temperatureK === undefined || !(temperatureK > 0)) {
    throw new MalaError('no electronic temperature for the Fermi–Dirac occupations', { file: read?.file, fix: 'pass --temperature K (or a QE input/output whose degauss sets it)' });
  }

  // pw.x prints "width (Ry)=  0.0006": a 100 K run reads as 94.7 K, a 298 K one as 300.0 K; said
  // when the last printed digit is more than 1 % of the value (degauss < 0.005 Ry, T < 790 K)
  const temperatureNote =
    o.temperatureK === undefined && facts.kind === 'pw-output' && facts.degaussRy !== undefined && 0.00005 / facts.degaussRy > 0.01
      ? `electronic temperature ${temperatureK.toFixed(1)} K from the pw.x output's degauss ${facts.degaussRy} Ry, which pw.x prints to 4 decimals (±${(rydbergToKelvin(0.00005)).toFixed(1)} K): pass --temperature with the run's own value (or give its pw.x input)`
      : undefined;
  let electrons = o.electrons ?? facts.numberOfElectrons;
  let electronCountNote: string | undefined;
  // a pw.x input's tot_charge counts as pw.x counts it (valence − tot_charge), as `pw` does
  const totCharge = totChargeOf(read);
  const file = read?.file ?? source;
  if (electrons !== undefined && pseudopotentials) {
    const expected = valenceElectrons(atoms.symbols, pseudopotentials, totCharge);
    const names = [...new Set(atoms.symbols)].map((el) => `${el}: ${pseudopotentials![el].zValence}`).join(', ');
    electronCountNote = checkElectronCount(electrons, expected, o.electrons !== undefined ? '--electrons' : "the pw.x output's number of electrons", names);
  }
  if (electrons === undefined && pseudopotentials) electrons = chargedElectronCount(valenceElectrons(atoms.symbols, pseudopotentials), totCharge, file);
  if (electrons === undefined && training.electronsPerAtom !== undefined && speciesOf(atoms).length === 1) electrons = chargedElectronCount(training.electronsPerAtom * atoms.symbols.length, totCharge, file);
  if (electrons === undefined) {
    throw new MalaError('the number of electrons is unknown', { file: read?.file, fix: 'pass --electrons N, or --pseudo-dir with the UPF files (their valence charges give it)' });
  }
  return { atoms, source, read, facts, grid, ecutrhoRy, temperatureK, temperatureNote, electrons, electronCountNote, pseudopotentials, pseudoDir, pseudoProblem };
}
