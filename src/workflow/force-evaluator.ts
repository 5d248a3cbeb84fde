/**
 * The ONE place that turns a pw.x input and the `mala-ts pw` options into a force evaluator
 * (energy, forces and optionally the virial of a configuration), used by `pw --ipi`
 * (src/workflow/pw-ipi.ts). The evaluator is built once and called for every configuration the
 * server sends, so it keeps the model and the pseudopotentials loaded.
 */
import { MalaError } from '../errors';
import type { ForceEvaluator } from '../io/ipi-client';
import type { StructureRead } from '../structure/registry';
import type { PwDropInOptions } from './pw';

export type { ForceEvaluation, ForceEvaluator } from '../io/ipi-client';

/** What the evaluator is built from: the pw.x input, read once, and pw's options (model, pseudo_dir, backend, memory...). */
export type ForceEvaluatorRequest = Omit<PwDropInOptions, 'inputText' | 'now'> & {
  read: StructureRead;
  /** The input's name for messages ('<standard input>' when it came from there). */
  inputLabel: string;
};

/** The evaluator for `request` (the lead's forces route goes here). */
export async function createForceEvaluator(request: ForceEvaluatorRequest): Promise<ForceEvaluator> {
  throw new MalaError('forces are not available yet', { file: request.inputLabel, fix: 'run without --ipi for the energy, or use pw.x for forces' });
}
