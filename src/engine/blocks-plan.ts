/**
 * predict's memory plan and MPI decomposition: the block size from the budget, the grid's fixed blocks (from the grid
 * and block size, never the rank count), this rank's contiguous run of them, and where the
 * computed LDOS waits between the engine's passes.
 *
 * Memory stays bounded by the budget (`memoryMb`): a quarter of it for the block in flight
 * (descriptors: LAMMPS float64 + ours float32, and the block's LDOS), the rest for the kept LDOS
 * and the density (8 bytes per point, always held: the energy terms need its FFT). The LDOS is
 * kept in memory when this rank's LDOS and the density fit half the budget, otherwise spilled to
 * a temporary float32 .npy (or to the user's ldos.npy, which keeps whole planes in grid order).
 */
import * as os from 'node:os';
import * as path from 'node:path';
import { MalaError } from '../errors';
import type { GridShape } from '../grid/grid';
import { Communicator, splitRange } from '../parallel/comm';
import { blockPointCount, defaultMaxBlockPoints, GridBlock, gridBlocks } from '../parallel/plane-blocks';
import { mpiSlabLayout } from '../parallel/slab-fft';
import { GridLayout, wholeGridLayout } from '../qe/grid-layout';
import type { LdosStorePlan } from './ldos-store';

export interface BlockPlanInput {
  grid: GridShape;
  /** Descriptor features and LDOS energies per point. */
  featureCount: number;
  energyCount: number;
  /** Budget in MB (default 4096). */
  memoryMb?: number;
  /** Largest block the user asked for (points). */
  maxBlockPoints?: number;
  /** Blocks may be rows of one plane (periodic along a2, no ldos.npy to write in grid order). */
  splitRows: boolean;
  comm: Communicator;
  /** The user asked for the LDOS; `ldosFile` is where (none: no output folder, spilled and dropped). */
  writeLdos: boolean;
  ldosFile?: string;
  /** Folder of a temporary spill file (default: the OS temp folder). */
  tmpDir?: string;
  warn: (message: string) => void;
}

export interface BlockPlan {
  memoryMb: number;
  blocks: GridBlock[];
  /** This rank's blocks [b0, b1) and x-planes [first, end). */
  range: [number, number];
  planeRange: [number, number];
  store: LdosStorePlan;
  /** x-planes of the first block (1 where blocks are rows of a plane), largest block (points). */
  planesPerBlock: number;
  largestBlockPoints: number;
  /** The descriptors fit beside the kept LDOS (forces reuse them in their backward pass instead of computing them again). */
  keepDescriptors: boolean;
}

export function planBlocks(o: BlockPlanInput): BlockPlan {
  const [nx, ny, nz] = o.grid;
  const nE = o.energyCount;
  const pointCount = nx * ny * nz;
  const memoryMb = o.memoryMb ?? 4096;
  const budgetBytes = memoryMb * 1048576;
  const bytesPerPointInFlight = (o.featureCount + 3) * (8 * 2 + 4) + nE * 4 * 2;
  const densityBytes = pointCount * 8 * 2;
  // A quarter of the budget for the block in flight; the rest for the kept LDOS and the density.
  const slabBudget = budgetBytes / 4;
  const maxBlockPoints = Math.max(nz, Math.floor(o.maxBlockPoints ?? Math.min(defaultMaxBlockPoints, slabBudget / bytesPerPointInFlight)));
  // The density and the energy terms' arrays are whole (per rank: its FFT slab) whatever the
  // budget: refuse before any work when they cannot fit in this machine's memory.
  const densityBytesPerRank = densityBytes / o.comm.size;
  if (densityBytesPerRank > os.totalmem()) {
    throw new MalaError(
      `the grid ${nx}×${ny}×${nz} (${pointCount.toExponential(2)} points) needs about ${(densityBytesPerRank / 1e9).toFixed(1)} GB per process for the density and its energy terms, but this machine has ${(os.totalmem() / 1e9).toFixed(1)} GB of memory`,
      { fix: 'use the FFT grid of the pw.x run (drop --grid), or run on more MPI ranks or machines (--np N)' },
    );
  }
  // a block is at least one row of the grid (the descriptor engines compute whole rows): say so
  if (o.maxBlockPoints !== undefined && o.maxBlockPoints < nz) {
    o.warn(`--block-points ${o.maxBlockPoints} is less than one row of the grid (${nz} points): blocks of at least one row (${nz} points) are used`);
  }
  if (nz * bytesPerPointInFlight > budgetBytes) {
    o.warn(`one row of the grid (${nz} points) needs ${(nz * bytesPerPointInFlight / 1048576).toFixed(0)} MB, more than the --memory budget of ${memoryMb} MB`);
  }

  // Each rank takes a contiguous run of whole blocks, so every point is computed the same way for any rank count.
  const { comm } = o;
  const blocks = gridBlocks(o.grid, maxBlockPoints, o.splitRows);
  const [b0, b1] = splitRange(blocks.length, comm.size, comm.rank);
  const plane0 = b0 < b1 ? blocks[b0].i0 : 0;
  const plane1 = b0 < b1 ? blocks[b1 - 1].i1 : 0;
  let localPoints = 0;
  for (let b = b0; b < b1; b++) localPoints += blockPointCount(blocks[b], o.grid);
  if (o.writeLdos && comm.size > 1) throw new MalaError('--ldos writes one ldos.npy and is not available with several MPI ranks', { fix: 'run without mpirun to write the LDOS, or drop --ldos' });

  const keepInMemory = !o.writeLdos && localPoints * nE * 4 + densityBytes <= budgetBytes / 2;
  const spillDir = o.tmpDir ?? os.tmpdir();
  const store: LdosStorePlan = keepInMemory
    ? { kind: 'memory' }
    : {
        kind: 'disk',
        file: o.ldosFile ?? path.join(spillDir, `mala-ts-ldos-${process.pid}-${Date.now()}.npy`),
        shape: o.ldosFile ? [nx, ny, nz, nE] : [localPoints, nE],
        chunkPoints: Math.max(1, Math.floor(slabBudget / (nE * 4 * 2))),
        keep: Boolean(o.ldosFile),
      };
  return {
    memoryMb,
    blocks,
    range: [b0, b1],
    planeRange: [plane0, plane1],
    store,
    planesPerBlock: blocks[0].i1 - blocks[0].i0,
    largestBlockPoints: blocks.reduce((m, b) => Math.max(m, blockPointCount(b, o.grid)), 0),
    keepDescriptors: keepInMemory && localPoints * (nE + o.featureCount) * 4 + densityBytes <= budgetBytes / 2,
  };
}

/** The energy terms' grid layout: the whole grid on one process, FFTW-MPI x-slabs on several ranks. */
export function gridLayoutOn(comm: Communicator, grid: [number, number, number]): GridLayout {
  return comm.size > 1 ? mpiSlabLayout(comm, grid) : wholeGridLayout(grid);
}

/**
 * Where each of an ensemble's `members` keeps its LDOS until its own density (its total energy):
 * in memory while all of them, the mean's and the density fit half the budget, as the mean's
 * store decides; otherwise a temporary float32 .npy per member beside the mean's spill.
 */
export function memberStorePlans(plan: BlockPlan, o: { grid: GridShape; energyCount: number; members: number; tmpDir?: string }): LdosStorePlan[] {
  if (o.members < 2) return [];
  const [nx, ny, nz] = o.grid;
  let localPoints = 0;
  for (let b = plan.range[0]; b < plan.range[1]; b++) localPoints += blockPointCount(plan.blocks[b], o.grid);
  const nE = o.energyCount;
  const budgetBytes = plan.memoryMb * 1048576;
  const fits = plan.store.kind === 'memory' && (o.members + 1) * localPoints * nE * 4 + nx * ny * nz * 8 * 2 <= budgetBytes / 2;
  const dir = o.tmpDir ?? os.tmpdir();
  return Array.from({ length: o.members }, (_, k): LdosStorePlan =>
    fits
      ? { kind: 'memory' }
      : { kind: 'disk', file: path.join(dir, `mala-ts-ldos-member${k + 1}-${process.pid}-${Date.now()}.npy`), shape: [localPoints, nE], chunkPoints: Math.max(1, Math.floor(budgetBytes / 4 / (nE * 4 * 2))), keep: false },
  );
}

/**
 * Whether the forces' backward pass may keep each block's descriptors (planBlocks' keepDescriptors)
 * when an ensemble's members also keep their LDOS in memory during the DOS pass: all of them, the
 * mean's LDOS, the descriptors and the density within half the budget, as planBlocks reckons.
 */
export function keepDescriptorsBeside(plan: BlockPlan, memberPlans: readonly LdosStorePlan[], o: { grid: GridShape; energyCount: number; featureCount: number }): boolean {
  if (!plan.keepDescriptors || memberPlans.length === 0) return plan.keepDescriptors;
  if (memberPlans.some((p) => p.kind !== 'memory')) return false;
  const [nx, ny, nz] = o.grid;
  let localPoints = 0;
  for (let b = plan.range[0]; b < plan.range[1]; b++) localPoints += blockPointCount(plan.blocks[b], o.grid);
  return localPoints * ((memberPlans.length + 1) * o.energyCount + o.featureCount) * 4 + nx * ny * nz * 8 * 2 <= (plan.memoryMb * 1048576) / 2;
}
