/**
 * The ONE place that turns a pw.x input and the `mala-ts pw` options into a force evaluator
 * (energy, forces and optionally the virial of a configuration), used by `pw --ipi`
 * (src/workflow/pw-ipi.ts). The evaluator is built once and called for every configuration the
 * server sends, so it keeps the model and the pseudopotentials loaded.
 */
import type { ForceEvaluator } from '../io/ipi-client';
import type { StructureRead } from '../structure/registry';
import { preparePw, pwForceEvaluator, type PwDropInOptions } from './pw';

export type { ForceEvaluation, ForceEvaluator } from '../io/ipi-client';

/** What the evaluator is built from: the pw.x input, read once, and pw's options (model, pseudo_dir, backend, memory...). */
export type ForceEvaluatorRequest = Omit<PwDropInOptions, 'inputText' | 'now'> & {
  read: StructureRead;
  /** The input's name for messages ('<standard input>' when it came from there). */
  inputLabel: string;
};

/** The evaluator for `request`: the input checked and its model and pseudopotentials loaded once (pw.ts), then one prediction with forces per call. */
export async function createForceEvaluator(request: ForceEvaluatorRequest): Promise<ForceEvaluator> {
  const prepared = preparePw({ ...request, read: request.read });
  return pwForceEvaluator(prepared, request);
}
