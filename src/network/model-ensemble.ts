/**
 * Combining separately trained models into one ensemble archive (`mala-ts ensemble`): members must
 * be interchangeable except for their weights, i.e. the same network architecture, input and output
 * scalers, descriptor parameters, energy grid and energy reference, and target clamp. Each
 * difference is one MalaError naming the member's file. Scalers are compared exactly: members
 * trained on the same data with different seeds have identical scalers (they are fitted on the
 * data, not on the seed).
 */
import { MalaError } from '../errors';
import { ensembleMembers, type EnsembleMember, type ModelData } from './model-data';

export interface EnsembleInput {
  file: string;
  data: ModelData;
}

const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

function equalArrays(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Why member `m` cannot join an ensemble whose first member is `first` (undefined: it can). */
export function ensembleMismatch(first: ModelData, m: ModelData): string | undefined {
  if (!same(first.spec, m.spec)) return `its network ${m.spec.layerSizes.join('→')} (${m.spec.activations.join(', ')}) differs from ${first.spec.layerSizes.join('→')} (${first.spec.activations.join(', ')})`;
  if (!same(first.inputScaler.toJSON(), m.inputScaler.toJSON())) return 'its input (descriptor) scaler differs: it was trained on other data or with other scaling';
  if (!same(first.outputScaler.toJSON(), m.outputScaler.toJSON())) return 'its output (LDOS) scaler differs: it was trained on other data or with other scaling';
  if (!same(first.descriptors, m.descriptors)) return `its descriptor parameters differ (${JSON.stringify(m.descriptors)} vs ${JSON.stringify(first.descriptors)})`;
  const g = (x: ModelData) => `${x.energyGrid.count} energies from ${x.energyGrid.offsetEv} eV, spacing ${x.energyGrid.spacingEv} eV`;
  if (!same(first.energyGrid, m.energyGrid)) return `its energy grid (${g(m)}) differs from ${g(first)}`;
  // the energy reference shifts every member's axis alike, or the mean LDOS would mix axes (issue 18); its fit notes may differ
  const r = (x: ModelData) => (x.energyReference ? `${x.energyReference.kind} reference, slope ${x.energyReference.slopeEvA3} eV·Å³, n₀ ${x.energyReference.densityPerA3} atoms/Å³` : 'no energy reference');
  const refKey = (x: ModelData) => (x.energyReference ? [x.energyReference.kind, x.energyReference.slopeEvA3, x.energyReference.densityPerA3] : null);
  if (!same(refKey(first), refKey(m))) return `its energy reference (${r(m)}) differs from ${r(first)}`;
  if (first.restrictTargets !== m.restrictTargets) return `its target clamp '${m.restrictTargets}' differs from '${first.restrictTargets}'`;
  return undefined;
}

/**
 * One model holding every input's networks (inputs that are ensembles contribute all their
 * members). Scalers, descriptors, energy grid and reference, the reference data and domain are the first input's;
 * `provenance.ensembleOf` lists the inputs.
 */
export function combineEnsemble(inputs: EnsembleInput[]): ModelData {
  if (inputs.length === 0) throw new MalaError('no models to combine', { fix: 'pass two or more model archives trained with different seeds' });
  const first = inputs[0].data;
  for (const inp of inputs) {
    if (inp.data.training) throw new MalaError('a training checkpoint cannot be an ensemble member', { file: inp.file, fix: 'use the finished model archive, not the checkpoint' });
    const why = ensembleMismatch(first, inp.data);
    if (why) throw new MalaError(`cannot add this model to the ensemble of ${inputs[0].file}: ${why}`, { file: inp.file, fix: 'ensemble members must be trained with the same settings and data, differing only in --seed' });
  }
  const members: EnsembleMember[] = inputs.flatMap((inp) => ensembleMembers(inp.data));
  for (let a = 0; a < members.length; a++) {
    for (let b = a + 1; b < members.length; b++) {
      if (members[a].weights.every((w, i) => equalArrays(w, members[b].weights[i]))) {
        throw new MalaError(`ensemble members ${a + 1} and ${b + 1} have identical weights: an ensemble of copies has no spread`, { file: inputs[Math.min(b, inputs.length - 1)].file, fix: 'pass models trained with different seeds (each file once)' });
      }
    }
  }
  return {
    ...first,
    weights: members[0].weights,
    ensemble: members.length > 1 ? members : undefined,
    provenance: { ...first.provenance, ensembleOf: inputs.map((i) => i.file) },
    domain: first.domain ?? inputs.find((i) => i.data.domain)?.data.domain,
  };
}
