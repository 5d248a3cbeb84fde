/**
 * A command's body on the MPI ranks it runs on: under `--np N` the command is relaunched under
 * `mpirun -np N` and nothing else runs here; started by an MPI launcher it runs on
 * MPI_COMM_WORLD; otherwise in one process (comm undefined). Under MPI a failure on any rank ends
 * the job with one message: the other ranks would wait forever in the next collective.
 */
import { finalizeWorld, launchedByMpi, worldComm, type Communicator } from '../parallel/comm';
import { relaunchForNp } from '../parallel/launch';
import { abortOnRankFailure } from '../parallel/rank-failure';
import { positiveNumber } from './args';

export async function runOnRanks(np: string | undefined, body: (comm: Communicator | undefined) => Promise<void>): Promise<void> {
  if (await relaunchForNp(positiveNumber(np, '--np', '3'), np)) return;
  const comm = launchedByMpi() ? worldComm() : undefined;
  try {
    await body(comm);
  } catch (e) {
    if (comm && comm.size > 1) await abortOnRankFailure(e, comm);
    throw e;
  }
  finalizeWorld();
}
