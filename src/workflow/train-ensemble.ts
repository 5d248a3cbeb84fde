/**
 * `mala-ts train ... --ensemble N`: N trainings of the same network on the same data with seeds
 * seed, seed+1, …, then one ensemble archive (src/network/model-ensemble.ts). Each member is
 * saved as <out>.member-K.zip first, a usable model on its own: a rerun skips the members already
 * there (and a member's --checkpoint resumes it), so an interrupted ensemble loses at most one
 * member's unfinished epochs.
 */
import * as fs from 'node:fs';
import { MalaError } from '../errors';
import { readModelData, saveModelData } from '../network/model';
import { combineEnsemble } from '../network/model-ensemble';
import { silentProgress, type Progress } from '../util/progress';
import { runTraining, type TrainWorkflowOptions } from './train';
import { checkOutputs } from '../io/output-check';
import { lockOutputDir } from '../io/output-lock';

export function memberFile(out: string, k: number): string {
  return `${out.replace(/\.zip$/, '')}.member-${k + 1}.zip`;
}

export async function runEnsembleTraining(
  opts: TrainWorkflowOptions,
  members: number,
  progress: Progress = silentProgress,
  hooks: Parameters<typeof runTraining>[2] & { onMember?: (k: number, file: string, skipped: boolean) => void } = {},
): Promise<{ out: string; members: string[]; seeds: number[] }> {
  if (!Number.isInteger(members) || members < 2) throw new MalaError(`--ensemble needs 2 or more members, got ${members}`, { fix: 'leave --ensemble out for one network' });
  checkOutputs([{ path: opts.out, kind: 'file', flag: '--out' }]);
  // one run per --out: a second run would "keep" the member files the first is still writing
  const releaseLock = lockOutputDir(opts.out, `--out ${opts.out}`);
  try {
    const seed0 = opts.seed ?? 0;
    const files: string[] = [];
    for (let k = 0; k < members; k++) {
      const file = memberFile(opts.out, k);
      const skipped = fs.existsSync(file);
      hooks.onMember?.(k, file, skipped);
      if (!skipped) await runTraining({ ...opts, seed: seed0 + k, out: file, checkpoint: opts.checkpoint ? `${opts.checkpoint.replace(/\.zip$/, '')}.member-${k + 1}.zip` : undefined }, progress, hooks);
      files.push(file);
    }
    saveModelData(opts.out, combineEnsemble(files.map((file) => ({ file, data: readModelData(file) }))));
    return { out: opts.out, members: files, seeds: files.map((_, k) => seed0 + k) };
  } finally {
    releaseLock();
  }
}
