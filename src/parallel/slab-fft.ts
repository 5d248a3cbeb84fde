/**
 * The grid distributed in FFTW-MPI's x-slabs (rank r holds planes [local_0_start, +local_n0)),
 * as a GridLayout for the energy terms (src/qe/grid-layout.ts), and the move of a density from
 * predict's block order (src/parallel/plane-blocks.ts) to those slabs with one alltoallv.
 *
 * Any rank count works: FFTW gives the first ranks ⌈nx/P⌉ planes each, later ranks fewer or
 * none; the rank count need not divide the grid.
 */
import { MalaError } from '../errors';
import { GridLayout, slabOwner, SlabFft } from '../qe/grid-layout';
import { Communicator, splitRange } from './comm';
import { blockGridIndices, blockPointCount, GridBlock, toGridOrder } from './plane-blocks';

/** This rank's FFTW-MPI slab of `grid` and every rank's, as a layout for computeEnergyTerms. */
export function mpiSlabLayout(comm: Communicator, grid: [number, number, number]): GridLayout {
  const fftMpi = comm.fftMpi;
  if (!fftMpi) throw new MalaError('a distributed FFT needs the MPI addon (bindings/mpi) with FFTW-MPI', { fix: "run 'make setup' (needs mpicc and the Debian package libfftw3-mpi-dev)" });
  const [n0, n1, n2] = grid;
  const { localN0, localStart, allocLocal } = fftMpi.fftLocalSize(n0, n1, n2);
  // every rank's slab: [start, count] per rank, summed (each rank fills its own entries)
  const all = new Float64Array(2 * comm.size);
  all[2 * comm.rank] = localStart;
  all[2 * comm.rank + 1] = localN0;
  comm.allreduceSum(all);
  const slabs: [number, number][] = [];
  let next = 0;
  for (let r = 0; r < comm.size; r++) {
    const [start, count] = [all[2 * r], all[2 * r + 1]];
    // an empty slab is placed where the previous one ends, so slabs stay contiguous in rank order
    if (count > 0 && start !== next) throw new Error(`FFTW-MPI slabs are not contiguous in rank order: rank ${r} starts at plane ${start}, expected ${next}`);
    slabs.push([next, next + count]);
    next += count;
  }
  if (next !== n0) throw new Error(`FFTW-MPI slabs cover ${next} of ${n0} planes`);
  return {
    grid,
    x0: slabs[comm.rank][0],
    nxLocal: localN0,
    slabs,
    rank: comm.rank,
    size: comm.size,
    distributed: true,
    allreduceSum: (a) => comm.allreduceSum(a),
    alltoallv: (a, c) => comm.alltoallv(a, c),
    createFft: (): SlabFft => {
      let count = 0;
      let live = true;
      const run = (buf: Float64Array, sign: -1 | 1): void => {
        if (!live) throw new Error('slab FFT used after dispose()');
        fftMpi.fftSlab(buf, n0, n1, n2, sign);
        count++;
      };
      return {
        // room for FFTW-MPI's alloc_local, so it transforms the array where it lies (no copy)
        bufferLength: 2 * Math.max(localN0 * n1 * n2, allocLocal, 1),
        forward: (buf) => run(buf, -1),
        backward: (buf) => run(buf, 1),
        get count() {
          return count;
        },
        dispose: () => {
          live = false;
        },
      };
    },
  };
}

/**
 * Values of this rank's blocks [b0, b1) (`blocks` split over ranks with splitRange, values in
 * block order) moved to the layout's x-slabs: returns this rank's slab in grid order
 * (nxLocal·ny·nz values). Each rank works out what it sends and where what it receives goes
 * from the block list alone, so only values travel. On a whole-grid (serial) layout this is
 * `toGridOrder`: no copy when the blocks are whole planes.
 */
export function blocksToSlabs(local: Float64Array, blocks: readonly GridBlock[], layout: GridLayout): Float64Array {
  if (!layout.distributed) return toGridOrder(local, blocks, layout.grid);
  const { grid, size, rank, slabs } = layout;
  const plane = grid[1] * grid[2];
  const [b0, b1] = splitRange(blocks.length, size, rank);
  const counts = new Int32Array(size);
  // pass 1: how many of my points go to each rank (blocks are runs of whole x-planes)
  let p = 0;
  for (let b = b0; b < b1; b++) {
    const blk = blocks[b];
    const perPlane = blockPointCount(blk, grid) / (blk.i1 - blk.i0);
    for (let x = blk.i0; x < blk.i1; x++) counts[slabOwner(slabs, x)] += perPlane;
    p += blockPointCount(blk, grid);
  }
  if (p !== local.length) throw new Error(`blocksToSlabs: ${local.length} values for ${p} points of blocks [${b0}, ${b1})`);
  // pass 2: pack by destination, keeping block order within each destination
  const offset = new Int32Array(size);
  for (let r = 1; r < size; r++) offset[r] = offset[r - 1] + counts[r - 1];
  const send = new Float64Array(local.length);
  p = 0;
  for (let b = b0; b < b1; b++) {
    const blk = blocks[b];
    const perPlane = blockPointCount(blk, grid) / (blk.i1 - blk.i0);
    for (let x = blk.i0; x < blk.i1; x++) {
      const r = slabOwner(slabs, x);
      send.set(local.subarray(p, p + perPlane), offset[r]);
      offset[r] += perPlane;
      p += perPlane;
    }
  }
  const recv = layout.alltoallv(send, counts);
  // what arrives: from each rank in order, its blocks' points in my slab, in block order
  const [x0, x1] = slabs[rank];
  const out = new Float64Array((x1 - x0) * plane);
  let q = 0;
  forEachSlabPointByBlockOwner(blocks, layout, (_owner, at) => {
    out[at] = recv[q++];
  });
  if (q !== recv.length) throw new Error(`blocksToSlabs: received ${recv.length} values, placed ${q}`);
  return out;
}

/**
 * Every point of this rank's slab, grouped by the rank that owns its block: ranks in order, each
 * rank's blocks in order, points in block order — the order blocksToSlabs receives values in and
 * slabsToBlocks (slabs-to-blocks.ts) sends them. `at` is the point's index in the slab.
 */
export function forEachSlabPointByBlockOwner(blocks: readonly GridBlock[], layout: GridLayout, visit: (owner: number, at: number) => void): void {
  const { grid, size, rank, slabs } = layout;
  const plane = grid[1] * grid[2];
  const [x0, x1] = slabs[rank];
  for (let r = 0; r < size; r++) {
    const [c0, c1] = splitRange(blocks.length, size, r);
    for (let b = c0; b < c1; b++) {
      const blk = blocks[b];
      if (blk.i1 <= x0 || blk.i0 >= x1) continue;
      const idx = blockGridIndices(blk, grid);
      for (let i = 0; i < idx.length; i++) {
        const x = Math.floor(idx[i] / plane);
        if (x >= x0 && x < x1) visit(r, idx[i] - x0 * plane);
      }
    }
  }
}
