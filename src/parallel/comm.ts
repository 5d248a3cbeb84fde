/**
 * The communicator the workflow sees: rank, size and the few collectives predict needs. One
 * process is `serialComm` (every collective is the identity); under `mpirun`/`srun` it is
 * `worldComm()`, MPI_COMM_WORLD through the addon in bindings/mpi.
 */
import { loadMpiAddon, MpiAddon } from '../../bindings/mpi';
import { checkMpiTempSpace } from '../../bindings/native-paths';
import { MalaError } from '../errors';

export interface Communicator {
  readonly rank: number;
  readonly size: number;
  /** Element-wise sum over ranks, in place; returns its argument. */
  allreduceSum(a: Float64Array): Float64Array;
  allreduceMax(a: Float64Array): Float64Array;
  allreduceMin(a: Float64Array): Float64Array;
  /** Every rank's array concatenated in rank order on rank 0; undefined on the others. */
  gatherToRoot(a: Float64Array): Float64Array | undefined;
  barrier(): void;
  /**
   * Personalised all-to-all: sendCounts[r] consecutive values of `send` (in rank order) go to
   * rank r; returns what every rank sent here, concatenated in rank order.
   */
  alltoallv(send: Float64Array, sendCounts: Int32Array): Float64Array;
  /** FFTW's MPI transforms on MPI_COMM_WORLD's x-slabs (src/parallel/slab-fft.ts); absent without MPI. */
  readonly fftMpi?: Pick<MpiAddon, 'fftLocalSize' | 'fftSlab' | 'fftForgetPlans'>;
  /**
   * Fortran handle of a communicator holding this rank alone (MPI_COMM_SELF), for LAMMPS
   * instances that must run on one rank; undefined without MPI.
   */
  readonly selfFortranHandle?: number;
}

export const serialComm: Communicator = Object.freeze({
  rank: 0,
  size: 1,
  allreduceSum: (a: Float64Array) => a,
  allreduceMax: (a: Float64Array) => a,
  allreduceMin: (a: Float64Array) => a,
  gatherToRoot: (a: Float64Array) => a,
  barrier: () => undefined,
  alltoallv: (a: Float64Array, counts: Int32Array) => {
    if (counts.length !== 1 || counts[0] !== a.length) throw new Error(`alltoallv: send counts [${Array.from(counts).join(', ')}] for ${a.length} values on one rank`);
    return a.slice();
  },
});

/** True when this process was started by an MPI launcher (Open MPI, MPICH/Hydra, PMIx, Slurm srun). */
export function launchedByMpi(env: NodeJS.ProcessEnv = process.env): boolean {
  const size = env.OMPI_COMM_WORLD_SIZE ?? env.PMI_SIZE ?? env.PMIX_SIZE ?? env.MPI_LOCALNRANKS;
  if (size !== undefined) return true;
  return env.PMIX_RANK !== undefined || env.PMI_RANK !== undefined;
}

let world: (Communicator & { addon: MpiAddon }) | undefined;

/** MPI_COMM_WORLD (MPI initialised on first use). Throws a MalaError when the addon is missing. */
export function worldComm(): Communicator {
  if (world) return world;
  const { addon, reason } = loadMpiAddon();
  if (!addon) {
    throw new MalaError(`this process runs under an MPI launcher but the MPI addon is unavailable: ${reason}`, {
      fix: "run 'make setup' (builds bindings/mpi with mpicc), or start mala-ts without mpirun",
    });
  }
  if (!addon.initialized()) checkMpiTempSpace('MPI_Init of this rank'); // (a native abort otherwise)
  const { rank, size } = addon.init();
  world = {
    addon,
    rank,
    size,
    allreduceSum: (a) => addon.allreduceSum(a),
    allreduceMax: (a) => addon.allreduceMax(a),
    allreduceMin: (a) => addon.allreduceMin(a),
    gatherToRoot: (a) => addon.gatherv(a, 0),
    barrier: () => addon.barrier(),
    alltoallv: (a, counts) => addon.alltoallv(a, counts),
    fftMpi: addon,
    selfFortranHandle: addon.commSelfFortran(),
  };
  return world;
}

/** MPI_Finalize if this process initialised MPI through worldComm (call once, at the end). */
export function finalizeWorld(): void {
  world?.addon.finalize();
}

/** Abort every rank (a failure on one rank would otherwise leave the others waiting in a collective). */
export function abortWorld(code = 1): void {
  world?.addon.abort(code);
}

/**
 * Contiguous ranges of `units` work units over `size` ranks: the first `units mod size` ranks get
 * one more. Any rank count works (ranks beyond `units` get empty ranges).
 */
export function splitRange(units: number, size: number, rank: number): [number, number] {
  const q = Math.floor(units / size);
  const rem = units % size;
  const start = rank * q + Math.min(rank, rem);
  return [start, start + q + (rank < rem ? 1 : 0)];
}
