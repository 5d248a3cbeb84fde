/**
 * `mala-ts ensemble --out E.zip A.zip B.zip ...`: one model archive holding the networks of
 * separately trained models (src/network/model-ensemble.ts checks they are interchangeable).
 * Chosen over `train --ensemble N` because members train independently (in parallel, on other
 * machines, each resumable and each a usable model on its own) and an existing model can gain
 * members without retraining it. `--split` is the inverse: each member of an ensemble as a model of
 * its own (to test, fine-tune or compare members one by one), named as `train --ensemble` names them.
 */
import { checkOutputs } from '../io/output-check';
import { ensembleMembers, readModelData, saveModelData } from '../network/model';
import { combineEnsemble } from '../network/model-ensemble';
import { MalaError } from '../errors';
import { memberFile } from './train-ensemble';

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

/** Each member of the ensemble `model` as its own archive, <out>.member-K.zip (K from 1): the same scalers, domain and reference, its own weights and seed. */
export function splitEnsemble(o: { model: string; out: string }): { files: string[]; seeds: (number | null)[] } {
  const data = readModelData(o.model);
  const members = ensembleMembers(data);
  if (members.length < 2) throw new MalaError(`${o.model} holds one network, not an ensemble: nothing to split`, { file: o.model, fix: 'pass an ensemble (mala-ts model-info says how many networks a model holds)' });
  const files = members.map((_, k) => memberFile(o.out, k));
  checkOutputs(files.map((f) => ({ path: f, kind: 'file' as const, flag: '--out' })), [o.model]);
  const { ensembleOf: _ensembleOf, ...provenance } = (data.provenance ?? {}) as Record<string, unknown>;
  members.forEach((m, k) => saveModelData(files[k], { ...data, weights: m.weights, ensemble: undefined, provenance: { ...provenance, seed: m.seed, memberOf: o.model } }));
  return { files, seeds: members.map((m) => m.seed) };
}
