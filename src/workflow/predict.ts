/**
 * The main job: structure → descriptors (LAMMPS) → LDOS (network) → DOS, Fermi level, band
 * energy, −TS, density → QE-compatible energy terms and total energy.
 *
 * Memory stays bounded by a budget (`memoryMb`):
 * - the grid is processed in blocks of a fixed largest size (src/parallel/plane-blocks.ts: whole
 *   x-planes, or rows of one plane in big cells): LAMMPS computes the block's descriptors, the
 *   network turns them into the block's LDOS, the DOS is accumulated in float64;
 * - the density needs the Fermi level, which needs the whole DOS, so the LDOS of every slab is
 *   kept until the DOS is complete: in memory when the whole LDOS fits half the budget, otherwise
 *   spilled to a temporary float32 .npy (or to `ldos.npy` when the user asked for it) and
 *   streamed back for the density pass. Recomputing descriptors instead would double the
 *   dominant cost; a spill file costs one sequential write and read.
 * - the density (8 bytes per point) is always held: the energy terms need its FFT. On several MPI
 *   ranks no rank holds all of it: each rank's density (its blocks) moves with one alltoallv to
 *   FFTW-MPI's x-slabs, the energy terms run on the slabs with FFTW's MPI transforms
 *   (src/parallel/slab-fft.ts, the `layout` of computeEnergyTerms), and density.cube is written
 *   by the ranks in turn, each appending its slab.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { MalaError } from '../errors';
import { GridShape, voxelVolumeA3 as gridVoxelVolumeA3 } from '../grid/grid';
import { NpyFile, NpyStreamWriter } from '../io/npy';
import { writeDosPlot } from '../io/plot';
import { observablesJson, writeDosCsv, writeResultsJson } from '../io/results';
import { densityCubeHeader, DensityFileContext, writeDensityFile } from '../io/density-file';
import { formatCubeColumns, formatCubeHeader } from '../io/cube';
import { LdosModel, loadModel } from '../network/model';
import type { BackendName } from '../network/backend';
import { loadPseudopotentials, totalEnergy, type Pseudopotential } from '../qe';
import { Atoms, speciesOf } from '../structure/atoms';
import { readStructure, StructureRead } from '../structure/registry';
import { bohr3InAngstrom3, kTEv, rydbergToKelvin } from '../structure/units';
import { DensityAccumulator } from '../targets/density';
import { Communicator, serialComm, splitRange } from '../parallel/comm';
import { openDescriptors, resolveDescriptors, type DescriptorBlockSource } from '../descriptors/registry';
import type { DescriptorEngine } from '../descriptors/descriptor-type';
import { blockPointCount, defaultMaxBlockPoints, GridBlock, gridBlocks } from '../parallel/plane-blocks';
import { blocksToSlabs, mpiSlabLayout } from '../parallel/slab-fft';
import { wholeGridLayout, type GridLayout } from '../qe/grid-layout';
import { DosAccumulator, dosObservables } from '../targets/dos';
import { energiesEv as gridEnergies } from '../targets/energy-grid';
import { Progress, silentProgress } from '../util/progress';
import { chooseGrid } from './descriptors';
import type { ObservablesResult, TotalEnergyResult } from './observables';

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
  /** Who computes the descriptors: 'lammps' or 'native' (default: $MALA_TS_DESCRIPTOR_ENGINE, else native where built, else LAMMPS). */
  descriptorEngine?: DescriptorEngine;
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

/** Peak resident set size of this process in MB (Linux VmHWM), or current RSS elsewhere. */
export function peakRssMb(): number {
  try {
    const m = /VmHWM:\s+(\d+)\s+kB/.exec(fs.readFileSync('/proc/self/status', 'utf8'));
    if (m) return Number(m[1]) / 1024;
  } catch {
    // not Linux
  }
  return process.memoryUsage().rss / 1048576;
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
  const ncoeff = resolveDescriptors(model.data.descriptors, model.source).featureCount;
  if (ncoeff !== model.nFeatures) {
    throw new MalaError(`the model ${model.source} expects ${model.nFeatures} descriptors per point but its descriptor parameters (${model.data.descriptors.type}, twojmax ${model.data.descriptors.twojmax}) give ${ncoeff}`, {
      file: model.source,
      fix: 'the model archive is inconsistent; re-export it',
    });
  }
}

/** Descriptors of a block of the grid, without xyz columns, (planes, rows, nz, F). */
interface DescriptorSource {
  computeBlock(b: GridBlock): Float32Array;
  close(): void;
}

/** Descriptors read from a .npy (nx, ny, nz, F or F+3). */
function descriptorFileSource(file: string, grid: GridShape, nFeatures: number, modelSource: string): DescriptorSource {
  const f = new NpyFile(file);
  const shape = f.shape;
  const F = shape[shape.length - 1];
  const skip = F === nFeatures + 3 ? 3 : F === nFeatures ? 0 : -1;
  if (skip < 0) {
    f.close();
    throw new MalaError(`descriptors have ${F} features per point but the model ${modelSource} expects ${nFeatures} (or ${nFeatures + 3} with xyz columns)`, {
      file,
      fix: 'compute the descriptors with the model\'s parameters (mala-ts descriptors, or let predict compute them)',
    });
  }
  if (shape.length !== 4 || shape[0] !== grid[0] || shape[1] !== grid[1] || shape[2] !== grid[2]) {
    f.close();
    throw new MalaError(`descriptors have shape (${shape.join(', ')}) but the structure's grid is ${grid.join('×')}`, { file, fix: 'use the descriptors of this structure, or pass --grid to match them' });
  }
  const [, ny, nz] = grid;
  return {
    computeBlock(b) {
      const out = new Float32Array(blockPointCount(b, grid) * nFeatures);
      let p = 0;
      // one read per row of z points (rows of a split block are not contiguous in the file)
      for (let i = b.i0; i < b.i1; i++)
        for (let j = b.rowStart; j < ny; j += b.rowStride) {
          const raw = f.readRows((i * ny + j) * nz, nz);
          for (let k = 0; k < nz; k++, p++) for (let c = 0; c < nFeatures; c++) out[p * nFeatures + c] = raw[k * F + skip + c];
        }
      return out;
    },
    close: () => f.close(),
  };
}

/** Where the LDOS slabs wait for the density pass. */
interface LdosStore {
  kind: 'memory' | 'disk';
  add(ldos: Float32Array): void;
  /** Calls back with consecutive blocks (first point index, values). */
  forEach(cb: (block: Float32Array, firstPoint: number) => void, nE: number): void;
  /** Keep the file (for the user's ldos.npy) or drop it. */
  finish(keep: boolean): void;
}

function memoryStore(): LdosStore {
  const blocks: Float32Array[] = [];
  return {
    kind: 'memory',
    add: (b) => blocks.push(b),
    forEach: (cb, nE) => {
      let p = 0;
      for (const b of blocks) {
        cb(b, p);
        p += b.length / nE;
      }
    },
    finish: () => {
      blocks.length = 0;
    },
  };
}

function diskStore(file: string, shape: number[], chunkPoints: number): LdosStore {
  const writer = new NpyStreamWriter(file, shape, 'float32');
  let closed = false;
  return {
    kind: 'disk',
    add: (b) => writer.write(b),
    forEach: (cb) => {
      if (!closed) {
        writer.close();
        closed = true;
      }
      const f = new NpyFile(file);
      try {
        for (let p = 0; p < f.rowCount; p += chunkPoints) {
          const n = Math.min(chunkPoints, f.rowCount - p);
          cb(f.readRows(p, n) as Float32Array, p);
        }
      } finally {
        f.close();
      }
    },
    finish: (keep) => {
      if (!closed) {
        writer.abort();
        closed = true;
        return;
      }
      if (!keep) fs.rmSync(file, { force: true });
    },
  };
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

/** Run the whole prediction. */
export async function predict(opts: PredictOptions): Promise<PredictResult> {
  const progress = opts.progress ?? silentProgress;
  const warnings: string[] = [];
  const warn = (m: string) => {
    warnings.push(m);
    opts.warn?.(m);
  };
  const timings: Record<string, number> = {};
  const add = (k: string, t0: number) => {
    timings[k] = (timings[k] ?? 0) + (performance.now() - t0) / 1000;
  };
  const tStart = performance.now();

  const { read, atoms, source } = resolveInputs(opts);
  if (!opts.model && !opts.modelFile) throw new MalaError('no model given', { fix: 'pass --model with a mala-ts model or a MALA model zip' });
  const model = opts.model ?? loadModel(opts.modelFile!, { backend: opts.backend });
  const species = speciesOf(atoms);
  checkCompatible(model, species, source);

  // Grid: the structure's own (QE), else QE's rule for the cutoff (flag, structure, model).
  const ecutrhoRy = opts.ecutrhoRy ?? read?.qeOutput?.ecutrhoRy ?? read?.qeInput?.ecutrhoRy ?? modelEcutrhoRy(model);
  const gridChoice = read
    ? chooseGrid(read, opts.grid, ecutrhoRy)
    : chooseGrid({ atoms, file: source }, opts.grid, ecutrhoRy);
  const grid: GridShape = gridChoice.grid;
  const [nx, ny, nz] = grid;
  const pointCount = nx * ny * nz;
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
  const energyGrid = model.data.energyGrid;
  const energies = gridEnergies(energyGrid);
  const nE = energies.length;

  // Block size from the budget: descriptors (LAMMPS float64 + ours float32) and LDOS per point.
  const memoryMb = opts.memoryMb ?? 4096;
  const budgetBytes = memoryMb * 1048576;
  const ncoeff = model.nFeatures;
  const bytesPerPointInFlight = (ncoeff + 3) * (8 * 2 + 4) + nE * 4 * 2;
  const densityBytes = pointCount * 8 * 2;
  // A quarter of the budget for the block in flight; the rest for the kept LDOS and the density.
  const slabBudget = budgetBytes / 4;
  const maxBlockPoints = Math.max(nz, Math.floor(opts.maxBlockPoints ?? Math.min(defaultMaxBlockPoints, slabBudget / bytesPerPointInFlight)));
  if (nz * bytesPerPointInFlight > budgetBytes) {
    warn(`one row of the grid (${nz} points) needs ${(nz * bytesPerPointInFlight / 1048576).toFixed(0)} MB, more than the --memory budget of ${memoryMb} MB`);
  }

  // Fixed blocks (from the grid and block size, never the rank count); each rank takes a
  // contiguous run of whole blocks, so every point is computed the same way for any rank count.
  // The user's ldos.npy is written in grid order as it comes, so it keeps whole planes.
  const comm = opts.comm ?? serialComm;
  const blocks = gridBlocks(grid, maxBlockPoints, atoms.pbc[1] && !opts.writeLdos);
  const [b0, b1] = splitRange(blocks.length, comm.size, comm.rank);
  const plane0 = b0 < b1 ? blocks[b0].i0 : 0;
  const plane1 = b0 < b1 ? blocks[b1 - 1].i1 : 0;
  let localPoints = 0;
  for (let b = b0; b < b1; b++) localPoints += blockPointCount(blocks[b], grid);
  const isRoot = comm.rank === 0;
  if (opts.writeLdos && comm.size > 1) throw new MalaError('--ldos writes one ldos.npy and is not available with several MPI ranks', { fix: 'run without mpirun to write the LDOS, or drop --ldos' });

  const ldosFile = opts.writeLdos && opts.outDir ? path.join(opts.outDir, 'ldos.npy') : undefined;
  const keepInMemory = !opts.writeLdos && localPoints * nE * 4 + densityBytes <= budgetBytes / 2;
  const spillDir = opts.tmpDir ?? os.tmpdir();
  const store = keepInMemory
    ? memoryStore()
    : diskStore(ldosFile ?? path.join(spillDir, `mala-ts-ldos-${process.pid}-${Date.now()}.npy`), ldosFile ? [nx, ny, nz, nE] : [localPoints, nE], Math.max(1, Math.floor(slabBudget / (nE * 4 * 2))));

  const dosAcc = new DosAccumulator(nE, { source: 'network LDOS', clampNegative: true });
  let calc: (DescriptorSource & Pick<Partial<DescriptorBlockSource>, 'report'>) | undefined;
  let descriptorBlocks: PredictResult['descriptorBlocks'];
  let stored = false;
  try {
    let t0 = performance.now();
    calc = opts.descriptorsFile
      ? descriptorFileSource(opts.descriptorsFile, grid, model.nFeatures, model.source)
      : openDescriptors(model.data.descriptors, { atoms, grid, comm, engine: opts.descriptorEngine }, model.source);
    add('setup_s', t0);
    progress.start('predict LDOS', localPoints, 'points');
    for (let b = b0; b < b1; b++) {
      const block = blocks[b];
      const n = blockPointCount(block, grid);
      // grid index of the block's first point (for messages about bad values)
      const firstGridPoint = (block.i0 * ny + block.rowStart) * nz;
      t0 = performance.now();
      const descriptors = calc.computeBlock(block);
      add('descriptors_s', t0);
      t0 = performance.now();
      // one network batch per block, so batch composition never depends on the decomposition
      const ldos = await model.predictLdos(descriptors, n, { pointOffset: firstGridPoint, chunkPoints: n });
      add('network_s', t0);
      t0 = performance.now();
      dosAcc.addPoints(ldos, firstGridPoint);
      store.add(ldos);
      add('dos_s', t0);
      progress.tick(n);
    }
    progress.stop();
    const counts = calc.report?.();
    if (counts?.windowed !== undefined) descriptorBlocks = { windowed: counts.windowed, wholeCell: counts.wholeCell ?? 0 };
    calc.close();
    calc = undefined;
    comm.allreduceSum(dosAcc.sums);

    let t1 = performance.now();
    const dosPerEv = dosAcc.dos(voxelA3);
    const kT = kTEv(temperatureK);
    const obs = dosObservables(dosPerEv, energies, kT, electrons, { source: 'predicted DOS' });
    add('fermi_s', t1);

    t1 = performance.now();
    // The energy terms need the FFT of the whole density: one process holds it in grid order;
    // on several ranks each rank's blocks move to FFTW-MPI's x-slabs (one alltoallv) and the FFTs
    // run distributed, so no rank holds more than its slab.
    const layout: GridLayout = comm.size > 1 ? mpiSlabLayout(comm, grid) : wholeGridLayout(grid);
    // (in a function so that this rank's block-order density is garbage once it has moved)
    const { lo, hi, densityElectrons, density } = ((): { lo: number; hi: number; densityElectrons: number; density: Float64Array } => {
      const dens = new DensityAccumulator(localPoints, energies, obs.fermiEnergyEv, kT, 'predicted LDOS');
      store.forEach((block, first) => dens.addPoints(block, first), nE);
      store.finish(Boolean(ldosFile));
      stored = true;
      const local = dens.densityPerA3;
      // [min n, min (−n)]: one min-reduction gives both the minimum and the maximum.
      const range = new Float64Array([Infinity, Infinity]);
      for (let i = 0; i < local.length; i++) {
        if (local[i] < range[0]) range[0] = local[i];
        if (-local[i] < range[1]) range[1] = -local[i];
      }
      comm.allreduceMin(range);
      const electronsAll = comm.allreduceSum(new Float64Array([dens.numberOfElectrons(voxelA3)]))[0];
      return { lo: range[0], hi: -range[1], densityElectrons: electronsAll, density: blocksToSlabs(local, blocks, layout) };
    })();
    add('density_s', t1);

    let total: TotalEnergyResult | undefined;
    let gVectorCount: number | undefined;
    let xcFunctional: string | undefined;
    if (pseudos && ecutrhoRy !== undefined) {
      // (every rank reads the same pseudopotentials, so all take this branch together)
      t1 = performance.now();
      const t = totalEnergy({
        cellAngstrom: atoms.cellAngstrom,
        positionsAngstrom: atoms.positionsAngstrom,
        species: atoms.symbols,
        grid,
        densityPerA3: density,
        ecutrhoRy,
        bandEnergyEv: obs.bandEnergyEv,
        entropyContributionEv: obs.entropyContributionEv,
        pseudopotentials: pseudos,
        layout,
      });
      total = { totalEnergyEv: t.totalEnergyEv, termsEv: t.termsEv };
      gVectorCount = t.details.gVectorCount;
      xcFunctional = t.details.functional;
      add('total_energy_s', t1);
    } else {
      const why = pseudoProblem ? pseudoProblem.describe() : 'no density cutoff (ecutrho) known: pass --ecutrho RY or a QE input/output';
      if (opts.requireTotalEnergy) throw pseudoProblem ?? new MalaError(why);
      warn(`total energy skipped: ${why}`);
    }

    const result: PredictResult = {
      fermiEnergyEv: obs.fermiEnergyEv,
      fermiEnergyIsSelfConsistent: true,
      bandEnergyEv: obs.bandEnergyEv,
      entropyContributionEv: obs.entropyContributionEv,
      numberOfElectrons: obs.numberOfElectrons,
      electronsRequested: electrons,
      densityElectrons,
      densityMinPerA3: lo,
      densityMaxPerA3: hi,
      temperatureK,
      energyGrid,
      energiesEv: energies,
      dosPerEv,
      gridShape: [...grid],
      pointCount,
      voxelVolumeA3: voxelA3,
      ldosSource: `predicted by ${model.source}`,
      structureFile: source,
      fermiEnergyDftEv: read?.qeOutput?.fermiEnergyEv,
      totalEnergy: total,
      outputs: {},
      timingsS: timings,
      modelFile: model.source,
      atomCount: atoms.symbols.length,
      species,
      gridSource: gridChoice.source,
      ldosStorage: store.kind,
      planesPerSlab: blocks[0].i1 - blocks[0].i0,
      blockCount: blocks.length,
      maxBlockPoints: blocks.reduce((m, b) => Math.max(m, blockPointCount(b, grid)), 0),
      memoryBudgetMb: memoryMb,
      peakRssMb: 0,
      ranks: comm.size,
      planeRange: [plane0, plane1],
      peakRssMaxRankMb: 0,
      descriptorBlocks,
      warnings,
      gVectorCount,
      xcFunctional,
    };

    if (opts.outDir) {
      t1 = performance.now();
      fs.mkdirSync(opts.outDir, { recursive: true });
      const out = (name: string) => path.join(opts.outDir!, name);
      const cubeContext: DensityFileContext = { grid, cellAngstrom: atoms.cellAngstrom, species: atoms.symbols, positionsAngstrom: atoms.positionsAngstrom, comment: `Electron density predicted by mala-ts from ${path.basename(model.source)} at E_F = ${obs.fermiEnergyEv.toFixed(6)} eV, 1/Bohr^3` };
      if (layout.distributed) writeDensityCubeFromSlabs(out('density.cube'), density, layout, comm, cubeContext);
      else writeDensityFile(out('density.cube'), density, cubeContext);
      result.outputs.density = out('density.cube');
    }
    if (opts.outDir && isRoot) {
      const out = (name: string) => path.join(opts.outDir!, name);
      writeDosCsv(out('dos.csv'), energies, dosPerEv);
      result.outputs.dos = out('dos.csv');
      await writeDosPlot(out('dos.svg'), { energiesEv: energies, dosPerEv, fermiEnergyEv: obs.fermiEnergyEv, title: `Predicted DOS of ${path.basename(source)} (${atoms.symbols.length} atoms, T = ${temperatureK.toFixed(1)} K)` });
      result.outputs.plot = out('dos.svg');
      if (ldosFile) result.outputs.ldos = ldosFile;
      result.outputs.results = out('results.json');
      add('outputs_s', t1);
    }
    timings.total_s = (performance.now() - tStart) / 1000;
    result.peakRssMb = peakRssMb();
    result.peakRssMaxRankMb = comm.allreduceMax(new Float64Array([result.peakRssMb]))[0];
    if (opts.outDir && isRoot) writeResultsJson(path.join(opts.outDir, 'results.json'), predictJson(result));
    return result;
  } finally {
    calc?.close();
    if (!stored) store.finish(false);
  }
}

/**
 * density.cube from the ranks' x-slabs (1/Å³, grid order within the slab), without gathering:
 * a cube's values run z fastest in x-plane order, so the slabs in rank order are its body. Rank 0
 * writes the header and its planes to a temporary file next to the target, every other rank in
 * turn appends its planes (one x-plane formatted at a time), rank 0 renames: the same bytes as
 * the serial writer. The folder must be visible to every rank (one node, or a shared file system).
 */
function writeDensityCubeFromSlabs(file: string, slabPerA3: Float64Array, layout: GridLayout, comm: Communicator, ctx: DensityFileContext): void {
  const [, ny, nz] = layout.grid;
  const plane = ny * nz;
  // a temporary name every rank agrees on (rank 0's pid and clock)
  const tag = comm.allreduceMax(new Float64Array(comm.rank === 0 ? [process.pid, Date.now()] : [0, 0]));
  const tmp = path.join(path.dirname(path.resolve(file)), `.${path.basename(file)}.${tag[0]}.${tag[1]}.tmp`);
  const header = comm.rank === 0 ? formatCubeHeader(densityCubeHeader(file, ctx)) : '';
  for (let r = 0; r < comm.size; r++) {
    if (r === comm.rank) {
      const fd = fs.openSync(tmp, r === 0 ? 'w' : 'a');
      try {
        if (r === 0) fs.writeSync(fd, header);
        for (let x = 0; x < layout.nxLocal; x++) fs.writeSync(fd, formatCubeColumns(slabPerA3.subarray(x * plane, (x + 1) * plane), nz, bohr3InAngstrom3));
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
    }
    comm.barrier();
  }
  if (comm.rank === 0) fs.renameSync(tmp, file);
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
