/**
 * `mala-ts train ... --ensemble N`: N trainings of the same network on the same data with seeds
 * seed, seed+1, …, then one ensemble archive (src/network/model-ensemble.ts). Each member is
 * saved as <out>.member-K.zip first, a usable model on its own: a rerun skips the members already
 * there (and a member's --checkpoint resumes it), so an interrupted ensemble loses at most one
 * member's unfinished epochs.
 *
 * Under MPI (`train --ensemble N --np J`, or mpirun/srun) the members are dealt out over the
 * ranks, member k to rank k mod J, each trained alone on its rank (the members never exchange
 * anything, so a cluster trains one per node); rank 0 combines them once every rank is done. A
 * member has the weights, bit for bit, of one process with one BLAS thread, which is what `--np`
 * gives each rank (more threads round the float32 GEMM differently). Every rank holds the
 * training rows itself, and rank 0 reads the members the others wrote: --out must be on a
 * filesystem that every rank sees.
 */
import * as fs from 'node:fs';
import { MalaError } from '../errors';
import { readModelData, saveModelData } from '../network/model';
import { combineEnsemble } from '../network/model-ensemble';
import { silentProgress, type Progress } from '../util/progress';
import { runTraining, type TrainWorkflowOptions } from './train';
import { checkOutputs } from '../io/output-check';
import { lockOutputDir } from '../io/output-lock';
import { serialComm, type Communicator } from '../parallel/comm';

export function memberFile(out: string, k: number): string {
  return `${out.replace(/\.zip$/, '')}.member-${k + 1}.zip`;
}

export async function runEnsembleTraining(
  opts: TrainWorkflowOptions,
  members: number,
  progress: Progress = silentProgress,
  hooks: Parameters<typeof runTraining>[2] & { onMember?: (k: number, file: string, skipped: boolean) => void } = {},
  comm: Communicator = serialComm,
): Promise<{ out: string; members: string[]; seeds: number[] }> {
  if (!Number.isInteger(members) || members < 2) throw new MalaError(`--ensemble needs 2 or more members, got ${members}`, { fix: 'leave --ensemble out for one network' });
  checkOutputs([{ path: opts.out, kind: 'file', flag: '--out' }]);
  // one run per --out: a second run would "keep" the member files the first is still writing.
  // Rank 0 holds the lock for the job; the others start once it does (a failure to take it
  // aborts the job while they wait in the barrier: src/parallel/rank-failure.ts)
  const releaseLock = comm.rank === 0 ? lockOutputDir(opts.out, `--out ${opts.out}`) : () => undefined;
  try {
    comm.barrier();
    const seed0 = opts.seed ?? 0;
    const files = Array.from({ length: members }, (_, k) => memberFile(opts.out, k));
    for (let k = comm.rank; k < members; k += comm.size) {
      // a member already written is kept; anything else at its path (a folder) is left to --out's checks
      const skipped = fs.statSync(files[k], { throwIfNoEntry: false })?.isFile() ?? false;
      hooks.onMember?.(k, files[k], skipped);
      if (!skipped) await runTraining({ ...opts, seed: seed0 + k, out: files[k], checkpoint: opts.checkpoint ? `${opts.checkpoint.replace(/\.zip$/, '')}.member-${k + 1}.zip` : undefined }, progress, hooks);
    }
    comm.barrier(); // every member written
    if (comm.rank === 0) saveModelData(opts.out, combineEnsemble(files.map((file) => ({ file, data: readModelData(file) }))));
    return { out: opts.out, members: files, seeds: files.map((_, k) => seed0 + k) };
  } finally {
    releaseLock();
  }
}
