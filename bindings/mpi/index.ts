/**
 * Loader of the MPI addon (bindings/mpi/build/Release/mala_mpi.node, built by scripts/setup.sh
 * with node-gyp against the `mpicc` on the PATH; see mpi-config.js). No physics: a typed view of
 * the addon and one function that finds it. $MALA_TS_MPI_ADDON points at another build.
 *
 * All collectives act on MPI_COMM_WORLD and block; every rank must make the same calls in the
 * same order. The FFT calls are FFTW's MPI interface (libfftw3_mpi): 3-D complex transforms of an
 * (n0, n1, n2) grid (n2 fastest) distributed in x-slabs as `fftLocalSize` says.
 */
import * as fs from 'node:fs';
import { addonBuildCommand, packagePath } from '../../src/util/package-paths';

export interface MpiAddon {
  /** MPI_Init_thread(FUNNELED) unless MPI is already initialised (e.g. by LAMMPS). */
  init(): { rank: number; size: number };
  initialized(): boolean;
  finalized(): boolean;
  /** MPI_Finalize (no-op when not initialised or already finalised). */
  finalize(): void;
  rank(): number;
  size(): number;
  barrier(): void;
  /** In place; returns its argument. */
  allreduceSum(a: Float64Array): Float64Array;
  allreduceMax(a: Float64Array): Float64Array;
  allreduceMin(a: Float64Array): Float64Array;
  /** In place from `root` to everyone; the arrays must have the same length on every rank. */
  bcast(a: Float64Array, root?: number): Float64Array;
  /** Every rank's array concatenated in rank order on `root`; undefined on the other ranks. */
  gatherv(a: Float64Array, root?: number): Float64Array | undefined;
  /**
   * Personalised all-to-all: the first sendCounts[0] values of `send` go to rank 0, the next
   * sendCounts[1] to rank 1, …; returns what every rank sent to this one, in rank order (the
   * receive counts are exchanged with MPI_Alltoall).
   */
  alltoallv(send: Float64Array, sendCounts: Int32Array): Float64Array;
  /** fftw_mpi_local_size_3d: this rank's x-planes [localStart, localStart + localN0), and the complex values FFTW needs. */
  fftLocalSize(n0: number, n1: number, n2: number): { localN0: number; localStart: number; allocLocal: number };
  /**
   * Collective, in place: FFTW-MPI transform of this rank's slab (complex interleaved,
   * 2·localN0·n1·n2 doubles, n2 fastest), sign −1 forward, +1 backward, unscaled. Plans
   * (FFTW_ESTIMATE) are cached per shape and sign. An array of at least 2·allocLocal doubles
   * (slab first) is transformed where it lies, without a copy, when suitably aligned.
   */
  fftSlab(slab: Float64Array, n0: number, n1: number, n2: number, sign: -1 | 1): void;
  /** Destroy the cached FFT plans (collective). */
  fftForgetPlans(): void;
  /** Fortran handle (MPI_Comm_c2f) of MPI_COMM_SELF, e.g. for lammps_open_fortran. */
  commSelfFortran(): number;
  commWorldFortran(): number;
  abort(code?: number): void;
  libraryVersion(): string;
}

export const mpiAddonPath = process.env.MALA_TS_MPI_ADDON || packagePath('bindings', 'mpi', 'build', 'Release', 'mala_mpi.node');

let cached: { addon: MpiAddon | null; reason: string } | undefined;

/** The addon, or null and why it could not be loaded. */
export function loadMpiAddon(): { addon: MpiAddon | null; reason: string } {
  if (cached) return cached;
  if (!fs.existsSync(mpiAddonPath)) {
    cached = { addon: null, reason: `${mpiAddonPath} does not exist (${addonBuildCommand()} to build the MPI addon; it needs mpicc and FFTW-MPI, Debian packages libopenmpi-dev and libfftw3-mpi-dev)` };
    return cached;
  }
  try {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    cached = { addon: require(mpiAddonPath) as MpiAddon, reason: '' };
  } catch (e) {
    cached = { addon: null, reason: `cannot load ${mpiAddonPath}: ${(e as Error).message}` };
  }
  return cached;
}
