/**
 * Where the grid of the energy terms lives: the whole grid in one process (FFTW's serial
 * transforms), or one x-slab per MPI rank (FFTW's MPI transforms; src/parallel/slab-fft.ts makes
 * that layout). The energy terms run the same code on either: loops over the local points and
 * the local G-vectors (those whose FFT x-index lies in the slab), sums reduced over the ranks.
 */
import { Fft3d } from '../../bindings/fftw';

/**
 * In-place, unscaled 3-D transforms of this process's part of the grid (complex interleaved, the
 * slab's 2·nxLocal·n2·n3 doubles first in an array of `bufferLength` doubles).
 */
export interface SlabFft {
  /** Doubles the transformed arrays should have (≥ 2·nxLocal·n2·n3: FFTW-MPI may need room). */
  readonly bufferLength: number;
  forward(buf: Float64Array): void;
  backward(buf: Float64Array): void;
  /** Transforms executed. */
  readonly count: number;
  dispose(): void;
}

export interface GridLayout {
  readonly grid: [number, number, number];
  /** This process's x-planes [x0, x0 + nxLocal) (FFTW-MPI's local_0_start, local_n0). */
  readonly x0: number;
  readonly nxLocal: number;
  /** Every rank's x-planes [start, end), rank order (the whole grid on one rank when serial). */
  readonly slabs: readonly (readonly [number, number])[];
  readonly rank: number;
  readonly size: number;
  /** True for a slab of a grid distributed over ranks (also with one rank): no whole grid anywhere. */
  readonly distributed: boolean;
  /** Element-wise sum over ranks, in place; returns its argument. */
  allreduceSum(a: Float64Array): Float64Array;
  /** sendCounts[r] consecutive values go to rank r; returns what every rank sent here, rank order. */
  alltoallv(send: Float64Array, sendCounts: Int32Array): Float64Array;
  /** Forward/backward transforms of the local slab (2·nxLocal·n2·n3 doubles). */
  createFft(): SlabFft;
}

/** The whole grid in this process: serial FFTW, every collective the identity. */
export function wholeGridLayout(grid: [number, number, number]): GridLayout {
  return {
    grid,
    x0: 0,
    nxLocal: grid[0],
    slabs: [[0, grid[0]]],
    rank: 0,
    size: 1,
    distributed: false,
    allreduceSum: (a) => a,
    alltoallv: (a) => a.slice(),
    createFft: () => {
      const fft = new Fft3d(grid[0], grid[1], grid[2]);
      return {
        bufferLength: 2 * fft.size,
        forward: (buf) => fft.forward(buf),
        backward: (buf) => fft.backward(buf),
        get count() {
          return fft.count;
        },
        dispose: () => fft.dispose(),
      };
    },
  };
}

/** Rank holding x-plane `x` (slabs are contiguous, in rank order; empty slabs are skipped). */
export function slabOwner(slabs: readonly (readonly [number, number])[], x: number): number {
  let lo = 0;
  let hi = slabs.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (slabs[mid][1] <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
