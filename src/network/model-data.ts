/**
 * The data of an LDOS model (network, scalers, descriptor parameters, energy grid, reference DFT
 * facts, training state). Types only: model.ts (our archive) and mala-import.ts (MALA's zips)
 * both produce it, so it lives apart from either and neither imports the other's types.
 */
import type { EnergyGrid } from '../targets/energy-grid';
import type { DataScaler } from './scalers';
import type { NetworkSpec, Parameters } from './mlp';
import type { TrainingDomain } from '../domain/training-domain';
import type { EnergyReference } from '../targets/energy-reference';

/** Bispectrum settings the model was trained with (LAMMPS compute sna/grid, spec §2.1). */
export interface DescriptorParameters {
  /** A registered descriptor type (src/descriptors/registry.ts), e.g. 'Bispectrum'. */
  type: string;
  twojmax: number;
  /** LAMMPS rcutfac in Å (MALA's bispectrum_cutoff). */
  rcutfac: number;
  switchflag: number;
  /** Per element, alphabetical order; null = all 1. */
  elementWeights: number[] | null;
  rfac0: number;
  rmin0: number;
  radelem: number;
  bzeroflag: number;
  quadraticflag: number;
}

/** DFT facts of the training data that inference needs (temperature, electron count, grid). */
export interface ReferenceData {
  temperatureK?: number;
  electronsPerAtom?: number;
  numberOfElectrons?: number;
  gridDimensions?: number[];
  /** MALA's info.json of the reference snapshot, verbatim, when the model came from MALA. */
  malaInfo?: Record<string, unknown>;
}

export interface ModelData {
  spec: NetworkSpec;
  weights: Parameters;
  inputScaler: DataScaler;
  outputScaler: DataScaler;
  descriptors: DescriptorParameters;
  energyGrid: EnergyGrid;
  /**
   * A density-dependent shift of the energy axis (src/targets/energy-reference.ts): the network's
   * outputs for a structure sit on energyGrid shifted by s(n). Absent: the axis is energyGrid itself.
   */
  energyReference?: EnergyReference;
  /** MALA's restrict_targets: negatives → 0 (default) or |x|. */
  restrictTargets: 'zero_out_negative' | 'absolute_values';
  reference: ReferenceData | null;
  provenance?: Record<string, unknown>;
  /** What the model was trained on (src/domain/); absent in archives written before it was recorded. */
  domain?: TrainingDomain;
  /**
   * The networks of an ensemble (same architecture and scalers, different seeds): ensemble[0]'s
   * weights are `weights`. Absent: one network (every archive written before ensembles).
   */
  ensemble?: EnsembleMember[];
  /** Present in checkpoints only. */
  training?: TrainingState;
}

/** One network of an ensemble: its weights and the seed it was trained with (null: not recorded). */
export interface EnsembleMember {
  weights: Parameters;
  seed: number | null;
}

/** The members of a model: its ensemble, or the one network it holds. */
export function ensembleMembers(m: Pick<ModelData, 'weights' | 'ensemble' | 'provenance'>): EnsembleMember[] {
  if (m.ensemble && m.ensemble.length > 0) return m.ensemble;
  const seed = (m.provenance as { seed?: unknown } | undefined)?.seed;
  return [{ weights: m.weights, seed: typeof seed === 'number' ? seed : null }];
}

/** Everything a resumed training run needs besides the weights. */
export interface TrainingState {
  /** Free-form JSON (epoch, losses, schedule, RNG state...), owned by the trainer. */
  state: Record<string, unknown>;
  optimizer: { step: number; expAvg: Parameters; expAvgSq: Parameters };
}
