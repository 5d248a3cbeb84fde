/**
 * An ensemble's members in the observables engine: each member's own observables from the DOS it
 * summed in the engine's one pass over the blocks, and the spread of the ensemble's predictions.
 *
 * Per member k: DOS_k (summed over ranks like the mean's) → E_F,k, band energy, −TS (exact, as
 * a single-network predict of member k would give them: the DOS is a sum over points of the
 * LDOS); with an energy step, its density n_k at E_F,k from its kept LDOS and the energy terms of
 * n_k (Hartree, XC, the double counting), so E_total,k is member k's own total energy. The
 * result's values are those of the mean LDOS (the engine's main run), not the mean of these.
 */
import type { Communicator } from '../parallel/comm';
import type { GridLayout } from '../qe/grid-layout';
import { DensityAccumulator } from '../targets/density';
import { DosAccumulator, dosObservables } from '../targets/dos';
import type { LdosSource } from './ldos-source';
import type { LdosStore } from './ldos-store';
import type { EnsembleMemberObservables, TotalEnergyResult } from './types';

/** The engine's EnergyStep as this module calls it (typed here: engine.ts imports this module). */
type MemberEnergyStep = (inp: { densityPerA3: Float64Array; layout?: GridLayout; fermiEnergyEv: number; bandEnergyEv: number; entropyContributionEv: number }) => { totalEnergy: TotalEnergyResult } | Promise<{ totalEnergy: TotalEnergyResult }>;

export interface MemberObservablesInput {
  dos: DosAccumulator[];
  /** Each member's kept LDOS (source point order); empty without an energy step. Finished here. */
  stores: LdosStore[];
  source: LdosSource;
  comm: Communicator;
  energies: Float64Array;
  kTEv: number;
  electrons: number;
  fermiEnergyEv?: number;
  voxelVolumeA3: number;
  layout?: GridLayout;
  energy?: MemberEnergyStep;
}

export async function memberObservables(o: MemberObservablesInput): Promise<EnsembleMemberObservables[]> {
  const out: EnsembleMemberObservables[] = [];
  for (let k = 0; k < o.dos.length; k++) {
    o.comm.allreduceSum(o.dos[k].sums);
    const obs = dosObservables(o.dos[k].dos(o.voxelVolumeA3), o.energies, o.kTEv, o.electrons, { fermiEnergyEv: o.fermiEnergyEv, source: `${o.source.names.dos} of member ${k + 1}` });
    const m: EnsembleMemberObservables = { fermiEnergyEv: obs.fermiEnergyEv, bandEnergyEv: obs.bandEnergyEv, entropyContributionEv: obs.entropyContributionEv };
    const store = o.stores[k];
    if (o.energy && store) {
      const dens = new DensityAccumulator(o.source.pointCount, o.energies, obs.fermiEnergyEv, o.kTEv, `${o.source.names.densityPass} of member ${k + 1}`);
      store.forEach((block, first) => dens.addPoints(block, first));
      store.finish(false);
      const local = dens.densityPerA3;
      const density = o.layout && o.source.toLayout ? o.source.toLayout(local, o.layout) : local;
      const e = await o.energy({ densityPerA3: density, layout: o.layout, fermiEnergyEv: obs.fermiEnergyEv, bandEnergyEv: obs.bandEnergyEv, entropyContributionEv: obs.entropyContributionEv });
      m.totalEnergyEv = e.totalEnergy.totalEnergyEv;
    }
    out.push(m);
  }
  return out;
}

/** The spread of an ensemble's predictions (sample standard deviation over members, n − 1). */
export interface EnsembleSpread {
  size: number;
  seeds: (number | null)[];
  members: EnsembleMemberObservables[];
  fermiEnergySigmaEv: number;
  bandEnergySigmaEv: number;
  /** Absent without a total energy. */
  totalEnergySigmaEv?: number;
  atomCount: number;
  /** How σ compared with QE on the model's validation frames (its VALIDATION.json), when recorded; filled by predict. */
  validation?: SigmaValidation;
}

/** How an ensemble's σ(E_total) compares with the total-energy errors against QE of a set of frames. */
export interface SigmaCoverage {
  /** Frames with both a total-energy error against QE and σ > 0. */
  frames: number;
  /** Of those, the frames whose |error| ≤ σ, and ≤ 2σ. */
  covered: number;
  coveredTwoSigma: number;
  /** max |error|/σ over those frames. */
  maxErrorOverSigma: number;
  meanAbsErrorMeVPerAtom: number;
  meanSigmaMeVPerAtom: number;
}

/** The coverage of (|error|, σ) pairs (meV/atom; pairs without σ > 0 are left out); undefined when none is left. */
export function sigmaCoverage(pairs: readonly (readonly [number, number])[]): SigmaCoverage | undefined {
  const ok = pairs.filter(([e, s]) => Number.isFinite(e) && s > 0).map(([e, s]) => [Math.abs(e), s] as const);
  if (ok.length === 0) return undefined;
  return {
    frames: ok.length,
    covered: ok.filter(([e, s]) => e <= s).length,
    coveredTwoSigma: ok.filter(([e, s]) => e <= 2 * s).length,
    maxErrorOverSigma: Math.max(...ok.map(([e, s]) => e / s)),
    meanAbsErrorMeVPerAtom: ok.reduce((a, [e]) => a + e, 0) / ok.length,
    meanSigmaMeVPerAtom: ok.reduce((a, [, s]) => a + s, 0) / ok.length,
  };
}

/** The coverage a model's validation table (`mala-ts test`, VALIDATION.json) records, with the table's file. */
export interface SigmaValidation extends SigmaCoverage {
  file: string;
}

/** Sample standard deviation (n − 1); 0 for one value. */
export function sampleStd(xs: readonly number[]): number {
  if (xs.length < 2) return 0;
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  return Math.sqrt(xs.reduce((a, x) => a + (x - mean) ** 2, 0) / (xs.length - 1));
}

export function ensembleSpread(members: EnsembleMemberObservables[], seeds: (number | null)[], atomCount: number): EnsembleSpread {
  const tot = members.map((m) => m.totalEnergyEv);
  return {
    size: members.length,
    seeds,
    members,
    fermiEnergySigmaEv: sampleStd(members.map((m) => m.fermiEnergyEv)),
    bandEnergySigmaEv: sampleStd(members.map((m) => m.bandEnergyEv)),
    totalEnergySigmaEv: tot.every((t) => t !== undefined) ? sampleStd(tot as number[]) : undefined,
    atomCount,
  };
}
