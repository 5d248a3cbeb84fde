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
import { MalaError } from '../errors';
import { resolveDescriptors } from '../descriptors/registry';
import { GridShape, voxelVolumeA3 as gridVoxelVolumeA3 } from '../grid/grid';
import { LdosModel, loadModel } from '../network/model';
import type { BackendName } from '../network/backend';
import { calculationContext, type CalculationContext, type LoadedPseudopotentials } from '../qe/calculation-context';
import type { PredictResult } from '../results/predict-result';
import { predictResultJson } from '../results/views';
import { Atoms, speciesOf } from '../structure/atoms';
import { readStructure, StructureRead } from '../structure/registry';
import { Communicator, serialComm } from '../parallel/comm';
import type { DescriptorEngine } from '../descriptors/descriptor-type';
import { gridLayoutOn, keepDescriptorsBeside, memberStorePlans, planBlocks } from '../engine/blocks-plan';
import { ensembleSpread } from '../engine/ensemble';
import { ensembleMembers } from '../network/model';
import { openDescriptorSource } from '../engine/descriptor-source';
import { blockPointCount } from '../parallel/plane-blocks';
import { EnergyStep, runObservablesEngine } from '../engine/engine';
import { qeEnergyStep } from '../engine/energy-step';
import { networkLdosSource } from '../engine/network-source';
import { openDomainSession } from '../domain/domain-session';
import { modelFileSha256, recordedSigmaValidation } from './model-info';
import { forceValidationWarnings } from './force-validation';
import { packageVersionOrUndefined } from '../util/package-paths';
import type { ObservablesResult } from '../engine/types';
import { addTiming } from '../engine/types';
import { peakRssMb } from '../util/memory';
import { lockOutputDir } from '../io/output-lock';
import { checkOutputs } from '../io/output-check';
import { Progress, silentProgress } from '../util/progress';
import { stressFromStrainDerivative } from '../engine/stress';
import { structureEnergyAxis, withReferenceStress } from './energy-axis';
import { predictOutputContext, predictOutputRequests, predictOutputTargets, writeLastOutputs, writeOutputs } from './predict-outputs';

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
  /**
   * Let auto pick the TypeScript network when the work is small (src/network/small-work.ts).
   * Default: only when predict loads the model itself; a caller that reuses a model for many
   * predictions (calculator, watch, relax, md) leaves it off, since libtorch's load pays off there.
   */
  smallWorkBackend?: boolean;
  /** Folder for results.json, density.cube, dos.csv, dos.svg (and ldos.npy); none → nothing written. */
  outDir?: string;
  /** Also write the LDOS as outDir/ldos.npy (nx, ny, nz, N_E). */
  writeLdos?: boolean;
  /** UPF folder for the energy terms; default: the QE input's pseudo_dir, else the structure's folder. */
  pseudoDir?: string;
  /** Pseudopotentials already loaded by the pseudo_dir rule (src/qe/calculation-context.ts), e.g. by `pw`. */
  pseudopotentials?: LoadedPseudopotentials;
  /** Fail instead of warning when the total energy cannot be computed. */
  requireTotalEnergy?: boolean;
  /** false: no warning about what the model's VALIDATION.json records of its forces and stress (mala-ts test, which is making that table, sets it). */
  quoteForceValidation?: boolean;
  temperatureK?: number;
  electrons?: number;
  /**
   * Precomputed descriptors (nx, ny, nz, F) .npy, e.g. MALA's .in.npy (3 leading xyz columns are
   * dropped), used instead of running LAMMPS; its grid must be the structure's.
   */
  descriptorsFile?: string;
  /** Who computes the descriptors: 'lammps' or 'native' (default: $MALA_TS_DESCRIPTOR_ENGINE, else native where built, else LAMMPS). */
  descriptorEngine?: DescriptorEngine;
  /** Explicit FFT grid; default: QE output's grid, QE input's nr1..3, QE's rule for ecutrho. */
  grid?: readonly number[];
  /** Refuse a `grid` coarser than the structure file's own (src/grid/choose-grid.ts; the CLI, unless --force-grid). */
  refuseCoarseGrid?: boolean;
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
  /** Network device: 'auto' (default: $MALA_TS_DEVICE, else auto), 'cpu', 'cuda' or 'cuda:N' (src/network/device.ts); for a model loaded here from modelFile. */
  device?: string;
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
  /** Fail (MalaError) instead of warning when the structure or its settings lie outside the model's training domain (src/domain/). */
  strictDomain?: boolean;
  /** Also compute the forces −dE/dR (eV/Å) of the total energy (src/engine/forces.ts). */
  forces?: boolean;
  /**
   * Also compute the stress (1/V)·∂E/∂ε of the total energy (eV/Å³, ASE's sign: negative under
   * compression; src/engine/stress.ts). Runs the forces' backward pass.
   */
  stress?: boolean;
  /**
   * Descriptors, network and backward pass in float64 (native engine, ts backend: `backend: 'ts'`
   * or a model loaded so): the checking path of the forces' finite-difference tests, slow.
   */
  float64Check?: boolean;
  /**
   * Also return ∂E_total/∂L, the energy's LDOS cotangent in the order the network saw the points
   * (src/engine/forces.ts), without the backward pass: descriptors from a file do (finetune).
   */
  ldosCotangent?: boolean;
}

export type { PredictResult } from '../results/predict-result';

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

/** The structure's elements against the model's, and the model's descriptor count against its parameters. */
export function checkCompatible(model: LdosModel, species: string[], source: string): void {
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
  const ncoeff = resolveDescriptors(model.data.descriptors, model.source).featureCount;
  if (ncoeff !== model.nFeatures) {
    throw new MalaError(`the model ${model.source} expects ${model.nFeatures} descriptors per point but its descriptor parameters (${model.data.descriptors.type}, twojmax ${model.data.descriptors.twojmax}) give ${ncoeff}`, {
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

/** What predict knows before the first descriptor: the calculation context (src/qe), the model, the voxel. */
interface Calculation {
  context: CalculationContext;
  read: StructureRead | undefined;
  atoms: Atoms;
  source: string;
  model: LdosModel;
  species: string[];
  grid: GridShape;
  voxelA3: number;
}

function predictContext(opts: PredictOptions): Calculation {
  const { read, atoms, source } = resolveInputs(opts);
  if (!opts.model && !opts.modelFile) throw new MalaError('no model given', { fix: 'pass --model with a mala-ts model or a MALA model zip' });
  const model = opts.model ?? loadModel(opts.modelFile!, { backend: opts.backend, device: opts.device });
  const species = speciesOf(atoms);
  checkCompatible(model, species, source);
  const ref = model.data.reference;
  const context = calculationContext(
    { atoms, source, read },
    { temperatureK: opts.temperatureK, electrons: opts.electrons, ecutrhoRy: opts.ecutrhoRy, grid: opts.grid, refuseCoarseGrid: opts.refuseCoarseGrid, pseudoDir: opts.pseudoDir, pseudopotentials: opts.pseudopotentials },
    { temperatureK: ref?.temperatureK, electronsPerAtom: ref?.electronsPerAtom, ecutrhoRy: modelEcutrhoRy(model) },
  );
  if (context.pseudoProblem && (opts.requireTotalEnergy || opts.forces || opts.stress)) throw context.pseudoProblem;
  const grid = context.grid.grid;
  return { context, read, atoms, source, model, species, grid, voxelA3: gridVoxelVolumeA3(atoms.cellAngstrom, grid) };
}

/** The grid's blocks under the memory budget (src/engine/blocks-plan.ts): predict's point order. */
function blockPlanOf(c: Calculation, opts: PredictOptions, comm: Communicator, ldosFile: string | undefined, warn: (m: string) => void): ReturnType<typeof planBlocks> {
  const { model, atoms, grid } = c;
  return planBlocks({ grid, featureCount: model.nFeatures, energyCount: model.data.energyGrid.count, memoryMb: opts.memoryMb, maxBlockPoints: opts.maxBlockPoints, splitRows: atoms.pbc[1] && !opts.writeLdos, comm, writeLdos: Boolean(opts.writeLdos), ldosFile, tmpDir: opts.tmpDir, warn });
}

/**
 * The descriptor rows predict would hand the network for this structure (one process), in its
 * point order, and nothing else: no network, no observables. Fine-tuning's displaced frames need
 * only these (src/workflow/finetune.ts); a whole predict there cost a network pass and the
 * energy engine per frame and step for rows it threw away.
 */
export function predictDescriptorRows(opts: Omit<PredictOptions, 'descriptorsFile' | 'writeLdos' | 'outDir' | 'comm'>): Float32Array {
  const c = predictContext(opts);
  const plan = blockPlanOf(c, opts, serialComm, undefined, () => undefined);
  const descriptors = openDescriptorSource({ atoms: c.atoms, grid: c.grid, descriptors: c.model.data.descriptors, engine: opts.descriptorEngine, nFeatures: c.model.nFeatures, modelSource: c.model.source, comm: serialComm });
  try {
    const rows = new Float32Array(plan.blocks.reduce((s, b) => s + blockPointCount(b, c.grid), 0) * c.model.nFeatures);
    let at = 0;
    for (const b of plan.blocks) {
      const d = descriptors.computeBlock(b);
      rows.set(d, at);
      at += d.length;
    }
    if (at !== rows.length) throw new Error(`predictDescriptorRows: the blocks gave ${at} values, not ${rows.length}`);
    return rows;
  } finally {
    descriptors.close();
  }
}

/** The engine's energy step (src/qe), or none with a warning (an error with requireTotalEnergy). */
function energyStepOf(c: Calculation, opts: PredictOptions, warn: (m: string) => void): EnergyStep | undefined {
  // (every rank reads the same pseudopotentials, so all take the same branch)
  const { pseudopotentials, ecutrhoRy, pseudoProblem } = c.context;
  if (pseudopotentials && ecutrhoRy !== undefined) return qeEnergyStep({ atoms: c.atoms, grid: c.grid, ecutrhoRy, pseudopotentials });
  const why = pseudoProblem ? pseudoProblem.describe() : 'no density cutoff (ecutrho) known: pass --ecutrho RY or a QE input/output';
  if (opts.requireTotalEnergy || opts.forces || opts.stress) throw pseudoProblem ?? new MalaError(why);
  warn(`total energy skipped: ${why}`);
  return undefined;
}

/** Run the whole prediction: structure → descriptors → network → engine → outputs. */
export async function predict(opts: PredictOptions): Promise<PredictResult> {
  // the output folder's lock (src/io/output-lock.ts), taken once the outputs are checked
  const lock = { release: () => undefined as void };
  try {
    return await predictRun(opts, lock);
  } finally {
    lock.release();
  }
}

async function predictRun(opts: PredictOptions, lock: { release: () => void }): Promise<PredictResult> {
  const progress = opts.progress ?? silentProgress;
  const warnings: string[] = [];
  const warn = (m: string) => {
    warnings.push(m);
    opts.warn?.(m);
  };
  const timings: Record<string, number> = {};
  const tStart = performance.now();
  const comm = opts.comm ?? serialComm;

  // outputs first: a bad --out fails in a second, not after the whole computation
  // --out '' is a mistake, not "no output folder" (it was ignored silently)
  if (opts.outDir !== undefined && opts.outDir.trim() === '') throw new MalaError('--out needs a folder name', { fix: 'e.g. --out results, or leave --out out for no files' });
  const outputs = predictOutputRequests(opts.outDir, opts.writeLdos);
  if (opts.outDir) checkOutputs(predictOutputTargets(opts.outDir, outputs.requests), [opts.structureFile, opts.modelFile, opts.descriptorsFile]);
  // one run per folder (rank 0 writes the outputs, so rank 0 holds it)
  if (opts.outDir && comm.rank === 0) lock.release = lockOutputDir(opts.outDir, `--out ${opts.outDir}`);

  // structure: the calculation context, the memory plan and this rank's blocks, the energy step
  const c = predictContext(opts);
  const { model, atoms, grid } = c;
  const energyCount = model.data.energyGrid.count;
  // the network's energy axis for this structure: the model's grid, shifted by its energy reference (issue 18)
  const axis = structureEnergyAxis(model.data, atoms);
  const plan = blockPlanOf(c, opts, comm, outputs.ldosFile, warn);
  if (plan.store.kind === 'disk') {
    // a spill that cannot fit fails now, with a hint, not with ENOSPC after the descriptors
    const bytes = plan.store.shape.reduce((a, b) => a * b, 1) * 4;
    const spaceFix = plan.store.keep ? 'free space there or drop --ldos' : 'point TMPDIR to a disk with room, or raise --memory so the LDOS stays in memory';
    checkOutputs([{ path: plan.store.file, kind: 'file', flag: plan.store.keep ? '--ldos' : 'the LDOS spill file', expectedBytes: bytes, spaceFix }]);
  }
  const layout = gridLayoutOn(comm, grid);
  if (c.context.electronCountNote) warn(c.context.electronCountNote);
  if (c.context.temperatureNote) warn(c.context.temperatureNote);
  const energy = energyStepOf(c, opts, warn);
  // the domain check: settings now, descriptors as the network source computes them (src/domain/)
  const domain = openDomainSession(
    { domain: model.data.domain, descriptors: model.data.descriptors, modelSource: model.source, strict: opts.strictDomain, warn, input: { atoms, temperatureK: c.context.temperatureK, ecutrhoRy: c.context.ecutrhoRy, smearing: c.context.facts.smearing } },
    c.source,
  );

  // the network's device (creates the net: an unmet --device cuda fails here, before any work)
  const t0 = performance.now();
  if (opts.smallWorkBackend ?? !opts.model) model.chooseBackendForWork(grid[0] * grid[1] * grid[2]);
  const device = model.deviceChoice();
  if ((opts.forces || opts.stress) && opts.descriptorsFile) {
    throw new MalaError('--forces: descriptors read from a file cannot be differentiated with respect to the atoms', { file: opts.descriptorsFile, fix: 'drop --descriptors, so that predict computes them from the structure' });
  }
  const descriptors = openDescriptorSource({ file: opts.descriptorsFile, atoms, grid, descriptors: model.data.descriptors, engine: opts.descriptorEngine, nFeatures: model.nFeatures, modelSource: model.source, comm });
  addTiming(timings, 'setup_s', t0);
  // an ensemble's forces and stress are those of its printed energy, the mean LDOS's (network-source.ts)
  const members = model.members();
  if (opts.forces || opts.stress) {
    checkForcesSupport(model, members, descriptors);
    // what the model's VALIDATION.json (mala-ts test --forces) records, or that nothing is recorded (issue 16)
    if (opts.quoteForceValidation !== false) for (const w of forceValidationWarnings(model.source, { forces: Boolean(opts.forces), stress: Boolean(opts.stress) })) warn(w);
  }

  // network → engine
  const memberPlans = memberStorePlans(plan, { grid, energyCount, members: members.length, tmpDir: opts.tmpDir });
  const keepDescriptors = (opts.forces || opts.stress) && keepDescriptorsBeside(plan, memberPlans, { grid, energyCount, featureCount: model.nFeatures });
  const run = await runObservablesEngine({
    source: networkLdosSource({ model, members, descriptors, grid, blocks: plan.blocks, range: plan.range, energyCount, timings, overlap: device.device !== 'cpu', onDescriptors: domain.onDescriptors, atomCount: atoms.symbols.length, float64: opts.float64Check, keepDescriptors }),
    energyGrid: axis.grid,
    temperatureK: c.context.temperatureK,
    electrons: c.context.electrons,
    voxelVolumeA3: c.voxelA3,
    gridShape: [...grid],
    layout,
    comm,
    store: plan.store,
    memberStores: memberPlans,
    energy,
    forces: opts.forces,
    stress: opts.stress,
    ldosCotangent: opts.ldosCotangent,
    progress,
    ldosSource: `predicted by ${model.source}`,
    structureFile: c.source,
    fermiEnergyDftEv: c.read?.qeOutput?.fermiEnergyEv,
    warnings,
    timings,
  });
  Object.assign(timings, run.stageTimesS);
  const domainReport = domain.finish(comm);

  const result: PredictResult = {
    ...run.observables,
    modelFile: model.source,
    atomCount: atoms.symbols.length,
    species: c.species,
    gridSource: c.context.grid.source,
    ldosStorage: run.ldosStorage ?? 'memory',
    planesPerSlab: plan.planesPerBlock,
    blockCount: plan.blocks.length,
    maxBlockPoints: plan.largestBlockPoints,
    memoryBudgetMb: plan.memoryMb,
    peakRssMb: 0,
    ranks: comm.size,
    planeRange: plan.planeRange,
    peakRssMaxRankMb: 0,
    descriptorBlocks: descriptorBlocksOf(descriptors.report?.()),
    warnings,
    gVectorCount: run.gVectorCount,
    xcFunctional: run.xcFunctional,
    device,
    domain: domainReport,
    modelSha256: modelFileSha256(model.source),
    malaTsVersion: packageVersionOrUndefined(),
    forcesEvPerA: run.forcesEvPerA && opts.forces ? atomRows(run.forcesEvPerA) : undefined,
    ldosCotangent: run.ldosCotangent,
    // + the reference's term: the printed energy holds N_e·s(n), and the strain changes n
    stressEvPerA3: run.strainDerivativeEv ? withReferenceStress(stressFromStrainDerivative(run.strainDerivativeEv, atoms.cellAngstrom), model.data, c.context.electrons, atoms) : undefined,
    energyReference: axis.applied,
    // σ with what the model's validation recorded of it: an ensemble's spread is not an error bar until compared with DFT
    uncertainty: run.ensembleMembers ? { ...ensembleSpread(run.ensembleMembers, ensembleMembers(model.data).map((m) => m.seed), atoms.symbols.length), validation: recordedSigmaValidation(model.source) } : undefined,
  };

  // outputs (results.json last, with the total time and the peak memory of every rank)
  const out = predictOutputContext({ comm, result, densityPerA3: run.densityPerA3, layout, atoms, grid, modelSource: model.source, structureSource: c.source, ldosFile: outputs.ldosFile, json: () => predictJson(result) });
  const t1 = performance.now();
  await writeOutputs(outputs.requests, out);
  if (opts.outDir && comm.rank === 0) addTiming(timings, 'outputs_s', t1);
  timings.total_s = (performance.now() - tStart) / 1000;
  result.peakRssMb = peakRssMb();
  result.peakRssMaxRankMb = comm.allreduceMax(new Float64Array([result.peakRssMb]))[0];
  // the budget bounds the grid's arrays, not the program around them: an unmet --memory is said
  if (opts.memoryMb !== undefined && result.peakRssMaxRankMb > plan.memoryMb) {
    warn(`--memory ${plan.memoryMb} MB was not met: the largest process peaked at ${result.peakRssMaxRankMb.toFixed(0)} MB; the budget bounds the grid's arrays (descriptors, LDOS, density), while the program itself (Node.js, the network backend, the model) needs its own memory on top, so give at least ${Math.ceil(result.peakRssMaxRankMb)} MB for this run`);
  }
  await writeLastOutputs(outputs.requests, out);
  return result;
}

/** The results object (results.json, --json): the field table's predict rows (src/results/fields.ts). */
export function predictJson(r: PredictResult): Record<string, unknown> {
  return predictResultJson(r);
}


/** Forces need a descriptor calculator with an adjoint and a backend with a VJP (every ensemble member's): one clear error before any work. */
function checkForcesSupport(model: LdosModel, members: readonly LdosModel[], descriptors: { blockForces?: unknown; close(): void }): void {
  const fail = (what: string, fix: string): never => {
    descriptors.close();
    throw new MalaError(`forces: ${what}`, { file: model.source, fix });
  };
  if (!descriptors.blockForces) fail(`the ${model.data.descriptors.type} descriptors of this engine have no derivative (forces need mala-ts' native bispectrum kernel)`, 'use --descriptor-engine native (the default where its addon is built: make setup)');
  if (!members.every((m) => m.supportsVjp())) fail(`the network backend '${model.backendName()}' cannot back-propagate to its inputs`, 'use --backend torch or --backend ts');
}

/** 3 values per atom → one row per atom. */
function atomRows(flat: Float64Array): number[][] {
  const rows: number[][] = [];
  for (let i = 0; i < flat.length; i += 3) rows.push([flat[i], flat[i + 1], flat[i + 2]]);
  return rows;
}

/** Blocks computed from an atom window / from the whole cell, when the descriptor source counts them. */
function descriptorBlocksOf(counts: Record<string, number> | undefined): PredictResult['descriptorBlocks'] {
  return counts?.windowed !== undefined ? { windowed: counts.windowed, wholeCell: counts.wholeCell ?? 0 } : undefined;
}
