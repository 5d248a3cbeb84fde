/**
 * One message for a failure under MPI. A bad input fails on every rank at once; each rank used to
 * print the same error before MPI_Abort. Rank 0 reports at once and aborts the job; another rank
 * waits a moment first, so that rank 0's abort (which kills it, silently) wins when both failed
 * the same way, and reports itself only when rank 0 did not (a failure of that rank alone).
 */
import { abortWorld, type Communicator } from './comm';
import { exitQuietlyOnSignal, removeRegistered } from '../util/cleanup';
import { describeFailure, debugEnabled } from '../cli/fail';

/** How long a rank other than 0 leaves rank 0 to report the same failure. */
export const RANK_REPORT_DELAY_MS = 3000;

/** Report `e` of this rank (once per job when every rank fails alike) and abort every rank. */
export async function abortOnRankFailure(e: unknown, comm: Communicator): Promise<void> {
  removeRegistered(); // MPI_Abort skips the exit hook
  if (comm.rank !== 0) {
    exitQuietlyOnSignal();
    await new Promise((r) => setTimeout(r, RANK_REPORT_DELAY_MS));
  }
  process.stderr.write(describeFailure(e, debugEnabled()).text.replace(/^mala-ts: (error: )?/, `mala-ts: error on MPI rank ${comm.rank}: `));
  removeRegistered();
  abortWorld(1);
}
