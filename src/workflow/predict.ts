/**
 * The main job, one call per step:
 *
 *   structure   the calculation context: atoms, model, FFT grid, pseudopotentials, T, N (below);
 *   descriptors of each grid block (src/engine/descriptor-source.ts: LAMMPS or a .npy);
 *   network     the LDOS of each block (src/engine/network-source.ts), an LdosSource;
 *   engine      DOS, Fermi level, density, energy terms (src/engine/engine.ts) over this rank's
 *               blocks, the communicator and the energy terms' grid layout;
 *   outputs     density.cube, dos.csv, dos.svg, ldos.npy, results.json (src/io/outputs/).
 *
 * Memory stays bounded by a budget (`memoryMb`; src/engine/blocks-plan.ts): the grid is
 * processed in blocks of a fixed largest size (src/parallel/plane-blocks.ts), and the LDOS waits
 * for the density pass in memory or spilled to disk (src/engine/ldos-store.ts). On several MPI
 * ranks no rank holds the whole density: it moves to FFTW-MPI's x-slabs, where the energy terms
 * run distributed and density.cube is written by the ranks in turn.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MalaError } from '../errors';
import { BispectrumParameters, bispectrumCount } from '../descriptors/bispectrum';
import { GridShape, voxelVolumeA3 as gridVoxelVolumeA3 } from '../grid/grid';
import { observablesJson } from '../io/results';
import { LdosModel, loadModel } from '../network/model';
import type { BackendName } from '../network/backend';
import { loadPseudopotentials, type Pseudopotential } from '../qe';
import { Atoms, speciesOf } from '../structure/atoms';
import { readStructure, StructureRead } from '../structure/registry';
import { rydbergToKelvin } from '../structure/units';
import { Communicator, serialComm } from '../parallel/comm';
import { gridLayoutOn, planBlocks } from '../engine/blocks-plan';
import { openDescriptorSource } from '../engine/descriptor-source';
import { EnergyStep, runObservablesEngine } from '../engine/engine';
import { qeEnergyStep } from '../engine/energy-step';
import { networkLdosSource } from '../engine/network-source';
import type { ObservablesResult } from '../engine/types';
import { addTiming } from '../engine/types';
import { peakRssMb } from '../util/memory';
import { Progress, silentProgress } from '../util/progress';
import { chooseGrid, GridChoice } from './descriptors';
import { predictOutputContext, predictOutputRequests, writeLastOutputs, writeOutputs } from './predict-outputs';

/** (moved to src/util/memory.ts; re-exported for existing importers) */
export { peakRssMb };

export interface PredictOptions {
  /** Structure file (QE input/output, LAMMPS data/dump, extxyz) — or atoms directly. */
  structureFile?: string;
  atoms?: Atoms;
  /** An already-parsed structure (e.g. a pw.x input read from stdin); wins over structureFile. */
  structureRead?: StructureRead;
  /** LAMMPS data/dump files that do not name elements: the element of each atom type, type 1 first. */
  typeElements?: string[];
  /** A mala-ts model archive or a MALA model zip — or a loaded model. */
  modelFile?: string;
  model?: LdosModel;
  /** Folder for results.json, density.cube, dos.csv, dos.svg (and ldos.npy); none → nothing written. */
  outDir?: string;
  /** Also write the LDOS as outDir/ldos.npy (nx, ny, nz, N_E). */
  writeLdos?: boolean;
  /** UPF folder for the energy terms; default: the QE input's pseudo_dir, else the structure's folder. */
  pseudoDir?: string;
  /** Fail instead of warning when the total energy cannot be computed. */
  requireTotalEnergy?: boolean;
  temperatureK?: number;
  electrons?: number;
  /**
   * Precomputed descriptors (nx, ny, nz, F) .npy, e.g. MALA's .in.npy (3 leading xyz columns are
   * dropped), used instead of running LAMMPS; its grid must be the structure's.
   */
  descriptorsFile?: string;
  /** Explicit FFT grid; default: QE output's grid, QE input's nr1..3, QE's rule for ecutrho. */
  grid?: readonly number[];
  /** Density cutoff (Ry) when the structure file has none (for the grid and the G-sphere). */
  ecutrhoRy?: number;
  /** Memory budget in MB for descriptors, LDOS and density (default 4096). */
  memoryMb?: number;
  /**
   * Largest block of grid points computed at once (default: 65,536, less when the memory budget
   * needs it). The memory in flight is about 3 KB per block point at twojmax 10.
   */
  maxBlockPoints?: number;
  backend?: BackendName | 'auto';
  /** Temporary folder for a spilled LDOS (default: the OS temp folder). */
  tmpDir?: string;
  progress?: Progress;
  warn?: (message: string) => void;
  /**
   * MPI ranks sharing the work (src/parallel/comm.ts): each computes the descriptors, LDOS and
   * density of its own blocks of x-planes; the DOS is summed over ranks; the density moves to
   * FFTW-MPI's x-slabs, where all ranks compute the energy terms together (distributed FFT) and
   * write density.cube in turn (the output folder must be visible to every rank); rank 0 writes
   * the other outputs. No rank holds the whole density. Default: one process.
   */
  comm?: Communicator;
}

export interface PredictResult extends ObservablesResult {
  modelFile: string;
  atomCount: number;
  species: string[];
  gridSource: string;
  /** Where the LDOS lived between the two passes. */
  ldosStorage: 'memory' | 'disk';
  /** x-planes per block (1 where blocks are rows of a plane), number of blocks, largest block (points). */
  planesPerSlab: number;
  blockCount: number;
  maxBlockPoints: number;
  memoryBudgetMb: number;
  /** Peak resident memory of the process (VmHWM), MB. */
  peakRssMb: number;
  /** MPI ranks, this rank's x-planes [first, end), the largest peak RSS of any rank (MB). */
  ranks: number;
  planeRange: [number, number];
  peakRssMaxRankMb: number;
  /** Descriptor blocks computed from an atom window / from the whole cell (src/parallel/plane-blocks.ts). */
  descriptorBlocks?: { windowed: number; wholeCell: number };
  warnings: string[];
  /** G-vectors in the ecutrho sphere and the XC functional of the energy terms (with a total energy). */
  gVectorCount?: number;
  xcFunctional?: string;
}

/** The model's descriptor settings in the descriptor module's terms. */
export function bispectrumParametersOf(model: LdosModel): BispectrumParameters {
  const d = model.data.descriptors;
  return {
    twojmax: d.twojmax,
    rcutfacAngstrom: d.rcutfac,
    rfac0: d.rfac0,
    rmin0Angstrom: d.rmin0,
    switchflag: d.switchflag ? 1 : 0,
    bzeroflag: d.bzeroflag ? 1 : 0,
    quadraticflag: d.quadraticflag ? 1 : 0,
    elementWeights: d.elementWeights ?? undefined,
  };
}

/** Elements the model was trained on, when it records them (MALA info.json pseudopotentials, our provenance). */
export function modelSpecies(model: LdosModel): string[] | undefined {
  const info = model.data.reference?.malaInfo as { pseudopotentials?: Record<string, string> } | undefined;
  if (info?.pseudopotentials) return Object.keys(info.pseudopotentials).sort();
  const prov = model.data.provenance as { species?: string[] } | undefined;
  return prov?.species ? [...prov.species].sort() : undefined;
}

function modelEcutrhoRy(model: LdosModel): number | undefined {
  const info = model.data.reference?.malaInfo as { ecutrho?: number } | undefined;
  return typeof info?.ecutrho === 'number' ? info.ecutrho : undefined;
}

function checkCompatible(model: LdosModel, species: string[], source: string): void {
  const known = modelSpecies(model);
  if (known) {
    const unknown = species.filter((s) => !known.includes(s));
    if (unknown.length > 0) {
      throw new MalaError(`the structure contains ${unknown.join(', ')}, which the model ${model.source} was not trained on (it knows ${known.join(', ')})`, {
        file: source,
        fix: 'use a model trained for these elements',
      });
    }
  }
  const ncoeff = bispectrumCount(model.data.descriptors.twojmax, model.data.descriptors.quadraticflag ? 1 : 0);
  if (ncoeff !== model.nFeatures) {
    throw new MalaError(`the model ${model.source} expects ${model.nFeatures} descriptors per point but its descriptor parameters (twojmax ${model.data.descriptors.twojmax}) give ${ncoeff}`, {
      file: model.source,
      fix: 'the model archive is inconsistent; re-export it',
    });
  }
}

interface Inputs {
  read: StructureRead | undefined;
  atoms: Atoms;
  source: string;
}

function resolveInputs(opts: PredictOptions): Inputs {
  if (opts.structureRead) return { read: opts.structureRead, atoms: opts.structureRead.atoms, source: opts.structureFile ?? opts.structureRead.file };
  if (opts.atoms) return { read: undefined, atoms: opts.atoms, source: opts.structureFile ?? '<atoms>' };
  if (!opts.structureFile) throw new MalaError('no structure given', { fix: 'pass a structure file (QE input/output, LAMMPS data, extxyz)' });
  const read = readStructure(opts.structureFile, { typeElements: opts.typeElements });
  return { read, atoms: read.atoms, source: opts.structureFile };
}

function resolveTemperatureK(opts: PredictOptions, read: StructureRead | undefined, model: LdosModel): number {
  const sys = read?.qeInput?.namelists.system ?? {};
  const degaussIn = typeof sys.degauss === 'number' ? sys.degauss : undefined;
  const degauss = read?.qeOutput?.degaussRy ?? degaussIn;
  const t = opts.temperatureK ?? (degauss !== undefined ? rydbergToKelvin(degauss) : model.data.reference?.temperatureK);
  if (t === undefined || !(t > 0)) {
    throw new MalaError('no electronic temperature for the Fermi–Dirac occupations', { file: read?.file, fix: 'pass --temperature K (or a QE input/output whose degauss sets it)' });
  }
  return t;
}

function resolveElectrons(opts: PredictOptions, read: StructureRead | undefined, model: LdosModel, atoms: Atoms, pseudos: Record<string, Pseudopotential> | undefined): number {
  if (opts.electrons !== undefined) return opts.electrons;
  const fromOutput = read?.qeOutput?.numberOfElectrons;
  if (fromOutput !== undefined) return fromOutput;
  if (pseudos) return atoms.symbols.reduce((s, el) => s + pseudos[el].zValence, 0);
  const perAtom = model.data.reference?.electronsPerAtom;
  if (perAtom !== undefined && speciesOf(atoms).length === 1) return perAtom * atoms.symbols.length;
  throw new MalaError('the number of electrons is unknown', { file: read?.file, fix: 'pass --electrons N, or --pseudo-dir with the UPF files (their valence charges give it)' });
}

function resolvePseudoDir(opts: PredictOptions, read: StructureRead | undefined): string | undefined {
  if (opts.pseudoDir) return opts.pseudoDir;
  const ctl = read?.qeInput?.namelists.control ?? {};
  const base = read ? path.dirname(path.resolve(read.file)) : undefined;
  if (typeof ctl.pseudo_dir === 'string' && base) {
    const dir = path.resolve(base, ctl.pseudo_dir);
    if (fs.existsSync(dir)) return dir;
  }
  return base;
}

function pseudopotentialFiles(read: StructureRead | undefined): Record<string, string> | undefined {
  if (read?.qeOutput) return read.qeOutput.pseudopotentials;
  if (read?.qeInput) return Object.fromEntries(read.qeInput.species.map((s) => [s.symbol, s.pseudopotential]));
  return undefined;
}

/** What predict knows before the first descriptor: structure, model, grid, pseudopotentials, T, N. */
interface Calculation {
  read: StructureRead | undefined;
  atoms: Atoms;
  source: string;
  model: LdosModel;
  species: string[];
  ecutrhoRy: number | undefined;
  gridChoice: GridChoice;
  grid: GridShape;
  voxelA3: number;
  pseudos: Record<string, Pseudopotential> | undefined;
  pseudoProblem: MalaError | undefined;
  temperatureK: number;
  electrons: number;
}

function calculationContext(opts: PredictOptions): Calculation {
  const { read, atoms, source } = resolveInputs(opts);
  if (!opts.model && !opts.modelFile) throw new MalaError('no model given', { fix: 'pass --model with a mala-ts model or a MALA model zip' });
  const model = opts.model ?? loadModel(opts.modelFile!, { backend: opts.backend });
  const species = speciesOf(atoms);
  checkCompatible(model, species, source);

  // Grid: the structure's own (QE), else QE's rule for the cutoff (flag, structure, model).
  const ecutrhoRy = opts.ecutrhoRy ?? read?.qeOutput?.ecutrhoRy ?? read?.qeInput?.ecutrhoRy ?? modelEcutrhoRy(model);
  const gridChoice = read
    ? chooseGrid(read, opts.grid, ecutrhoRy)
    : chooseGrid({ atoms, format: 'extxyz', file: source }, opts.grid, ecutrhoRy);
  const grid: GridShape = gridChoice.grid;
  const voxelA3 = gridVoxelVolumeA3(atoms.cellAngstrom, grid);

  // Pseudopotentials (for the total energy and, lacking a QE output, the electron count).
  const pseudoDir = resolvePseudoDir(opts, read);
  let pseudos: Record<string, Pseudopotential> | undefined;
  let pseudoProblem: MalaError | undefined;
  try {
    if (!pseudoDir) throw new MalaError('no pseudopotential folder', { fix: 'pass --pseudo-dir DIR with the UPF files' });
    pseudos = loadPseudopotentials(atoms.symbols, pseudoDir, pseudopotentialFiles(read));
  } catch (e) {
    if (!(e instanceof MalaError)) throw e;
    pseudoProblem = e;
  }
  if (pseudoProblem && opts.requireTotalEnergy) throw pseudoProblem;

  const temperatureK = resolveTemperatureK(opts, read, model);
  const electrons = resolveElectrons(opts, read, model, atoms, pseudos);
  return { read, atoms, source, model, species, ecutrhoRy, gridChoice, grid, voxelA3, pseudos, pseudoProblem, temperatureK, electrons };
}

/** The engine's energy step (src/qe), or none with a warning (an error with requireTotalEnergy). */
function energyStepOf(c: Calculation, opts: PredictOptions, warn: (m: string) => void): EnergyStep | undefined {
  // (every rank reads the same pseudopotentials, so all take the same branch)
  if (c.pseudos && c.ecutrhoRy !== undefined) return qeEnergyStep({ atoms: c.atoms, grid: c.grid, ecutrhoRy: c.ecutrhoRy, pseudopotentials: c.pseudos });
  const why = c.pseudoProblem ? c.pseudoProblem.describe() : 'no density cutoff (ecutrho) known: pass --ecutrho RY or a QE input/output';
  if (opts.requireTotalEnergy) throw c.pseudoProblem ?? new MalaError(why);
  warn(`total energy skipped: ${why}`);
  return undefined;
}

/** Run the whole prediction: structure → descriptors → network → engine → outputs. */
export async function predict(opts: PredictOptions): Promise<PredictResult> {
  const progress = opts.progress ?? silentProgress;
  const warnings: string[] = [];
  const warn = (m: string) => {
    warnings.push(m);
    opts.warn?.(m);
  };
  const timings: Record<string, number> = {};
  const tStart = performance.now();
  const comm = opts.comm ?? serialComm;

  // structure: the calculation context, the memory plan and this rank's blocks, the energy step
  const c = calculationContext(opts);
  const { model, atoms, grid } = c;
  const energyCount = model.data.energyGrid.count;
  const outputs = predictOutputRequests(opts.outDir, opts.writeLdos);
  const plan = planBlocks({ grid, featureCount: model.nFeatures, energyCount, memoryMb: opts.memoryMb, maxBlockPoints: opts.maxBlockPoints, splitRows: atoms.pbc[1] && !opts.writeLdos, comm, writeLdos: Boolean(opts.writeLdos), ldosFile: outputs.ldosFile, tmpDir: opts.tmpDir, warn });
  const layout = gridLayoutOn(comm, grid);
  const energy = energyStepOf(c, opts, warn);

  // descriptors
  const t0 = performance.now();
  const descriptors = openDescriptorSource({ file: opts.descriptorsFile, atoms, grid, params: bispectrumParametersOf(model), nFeatures: model.nFeatures, modelSource: model.source, comm });
  addTiming(timings, 'setup_s', t0);

  // network → engine
  const run = await runObservablesEngine({
    source: networkLdosSource({ model, descriptors, grid, blocks: plan.blocks, range: plan.range, energyCount, timings }),
    energyGrid: model.data.energyGrid,
    temperatureK: c.temperatureK,
    electrons: c.electrons,
    voxelVolumeA3: c.voxelA3,
    gridShape: [...grid],
    layout,
    comm,
    store: plan.store,
    energy,
    progress,
    ldosSource: `predicted by ${model.source}`,
    structureFile: c.source,
    fermiEnergyDftEv: c.read?.qeOutput?.fermiEnergyEv,
    warnings,
    timings,
  });
  Object.assign(timings, run.stageTimesS);

  const result: PredictResult = {
    ...run.observables,
    modelFile: model.source,
    atomCount: atoms.symbols.length,
    species: c.species,
    gridSource: c.gridChoice.source,
    ldosStorage: run.ldosStorage ?? 'memory',
    planesPerSlab: plan.planesPerBlock,
    blockCount: plan.blocks.length,
    maxBlockPoints: plan.largestBlockPoints,
    memoryBudgetMb: plan.memoryMb,
    peakRssMb: 0,
    ranks: comm.size,
    planeRange: plan.planeRange,
    peakRssMaxRankMb: 0,
    descriptorBlocks: descriptors.windowed !== undefined ? { windowed: descriptors.windowed, wholeCell: descriptors.wholeCell ?? 0 } : undefined,
    warnings,
    gVectorCount: run.gVectorCount,
    xcFunctional: run.xcFunctional,
  };

  // outputs (results.json last, with the total time and the peak memory of every rank)
  const out = predictOutputContext({ comm, result, densityPerA3: run.densityPerA3, layout, atoms, grid, modelSource: model.source, structureSource: c.source, ldosFile: outputs.ldosFile, json: () => predictJson(result) });
  const t1 = performance.now();
  await writeOutputs(outputs.requests, out);
  if (opts.outDir && comm.rank === 0) addTiming(timings, 'outputs_s', t1);
  timings.total_s = (performance.now() - tStart) / 1000;
  result.peakRssMb = peakRssMb();
  result.peakRssMaxRankMb = comm.allreduceMax(new Float64Array([result.peakRssMb]))[0];
  await writeLastOutputs(outputs.requests, out);
  return result;
}

/** The results object: the keys of `observables --json` plus what predict adds. */
export function predictJson(r: PredictResult): Record<string, unknown> {
  return {
    ...observablesJson(r),
    model: r.modelFile,
    atom_count: r.atomCount,
    species: r.species,
    grid_source: r.gridSource,
    ldos_storage: r.ldosStorage,
    planes_per_slab: r.planesPerSlab,
    block_count: r.blockCount,
    max_block_points: r.maxBlockPoints,
    memory_budget_mb: r.memoryBudgetMb,
    peak_rss_mb: r.peakRssMb,
    mpi_ranks: r.ranks,
    peak_rss_max_rank_mb: r.peakRssMaxRankMb,
    descriptor_blocks: r.descriptorBlocks,
    warnings: r.warnings,
  };
}
