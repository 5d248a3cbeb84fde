/**
 * `mala-ts ensemble --out E.zip A.zip B.zip ...`: one model archive holding the networks of
 * separately trained models (src/network/model-ensemble.ts checks they are interchangeable).
 * Chosen over `train --ensemble N` because members train independently (in parallel, on other
 * machines, each resumable and each a usable model on its own) and an existing model can gain
 * members without retraining it.
 */
import { checkOutputs } from '../io/output-check';
import { ensembleMembers, readModelData, saveModelData } from '../network/model';
import { combineEnsemble } from '../network/model-ensemble';

export interface EnsembleCommandResult {
  out: string;
  size: number;
  seeds: (number | null)[];
}

export function buildEnsemble(o: { models: string[]; out: string }): EnsembleCommandResult {
  checkOutputs([{ path: o.out, kind: 'file', flag: '--out' }], o.models);
  const data = combineEnsemble(o.models.map((file) => ({ file, data: readModelData(file) })));
  saveModelData(o.out, data);
  return { out: o.out, size: ensembleMembers(data).length, seeds: ensembleMembers(data).map((m) => m.seed) };
}
