/**
 * LAMMPS instances that run on one MPI rank alone.
 *
 * bindings/lammps.ts opens every instance with `lammps_open_no_mpi`, i.e. on MPI_COMM_WORLD. Under
 * `mpirun -np N` that would make each instance a parallel LAMMPS spanning all ranks, and every
 * rank would have to issue the same commands in lock-step. mala-ts instead gives each rank its own
 * x-planes and its own serial LAMMPS: this routes the binding's open call to
 * `lammps_open_fortran(argc, argv, f_comm)` with the Fortran handle of MPI_COMM_SELF.
 *
 * It replaces the `open_no_mpi` entry of the loaded binding (the binding object is shared and
 * mutable); the proper home is an option of the `Lammps` constructor (`communicator`), noted for
 * the owner of bindings/lammps.ts.
 */
import koffi from 'koffi';
import { loadLammps } from '../../bindings/lammps';

type Api = ReturnType<typeof loadLammps>;
const patched = new WeakMap<Api, number>();

/** From now on, every `new Lammps()` of this process opens on the communicator `fortranHandle`. */
export function openLammpsOn(fortranHandle: number, libraryPath?: string): void {
  const api = loadLammps(libraryPath);
  if (patched.get(api) === fortranHandle) return;
  const lib = koffi.load(api.libraryPath);
  const openFortran = lib.func('void *lammps_open_fortran(int argc, const char **argv, int f_comm)') as (argc: number, argv: string[], f: number) => unknown;
  api.open_no_mpi = (argc: number, argv: string[]) => openFortran(argc, argv, fortranHandle);
  patched.set(api, fortranHandle);
}
