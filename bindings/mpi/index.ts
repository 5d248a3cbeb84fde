/**
 * Loader of the MPI addon (bindings/mpi/build/Release/mala_mpi.node, built by scripts/setup.sh
 * with node-gyp against the `mpicc` on the PATH; see mpi-config.js). No physics: a typed view of
 * the addon and one function that finds it. $MALA_TS_MPI_ADDON points at another build.
 *
 * All collectives act on MPI_COMM_WORLD and block; every rank must make the same calls in the
 * same order.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

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
  /** Fortran handle (MPI_Comm_c2f) of MPI_COMM_SELF, e.g. for lammps_open_fortran. */
  commSelfFortran(): number;
  commWorldFortran(): number;
  abort(code?: number): void;
  libraryVersion(): string;
}

export const mpiAddonPath = process.env.MALA_TS_MPI_ADDON || path.join(__dirname, 'build', 'Release', 'mala_mpi.node');

let cached: { addon: MpiAddon | null; reason: string } | undefined;

/** The addon, or null and why it could not be loaded. */
export function loadMpiAddon(): { addon: MpiAddon | null; reason: string } {
  if (cached) return cached;
  if (!fs.existsSync(mpiAddonPath)) {
    cached = { addon: null, reason: `${mpiAddonPath} does not exist (run 'make setup' to build the MPI addon; it needs mpicc, Debian package libopenmpi-dev)` };
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
