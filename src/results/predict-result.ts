/** What a prediction returns: the engine's observables plus what predict adds (run facts). */
import type { ObservablesResult } from '../engine/types';
import type { DeviceChoice } from '../network/device';
import type { DomainReport } from '../domain/domain-check';
import type { EnsembleSpread } from '../engine/ensemble';
import type { LdosCotangent } from '../engine/ldos-source';
import type { EnergyReference } from '../targets/energy-reference';

/** A model's energy reference as applied to one structure (issue 18; src/workflow/energy-axis.ts). */
export interface AppliedEnergyReference {
  /** s(n): the structure's energy grid is the model's shifted by this, eV. */
  shiftEv: number;
  /** The structure's atom density n, Å⁻³. */
  densityPerA3: number;
  reference: EnergyReference;
}

export interface PredictResult extends ObservablesResult {
  modelFile: string;
  atomCount: number;
  species: string[];
  gridSource: string;
  /** Where the LDOS lived between the two passes. */
  ldosStorage: 'memory' | 'disk';
  /** x-planes per block (1 where blocks are rows of a plane), number of blocks, largest block (points). */
  planesPerSlab: number;
  blockCount: number;
  maxBlockPoints: number;
  memoryBudgetMb: number;
  /** Peak resident memory of the process (VmHWM), MB. */
  peakRssMb: number;
  /** MPI ranks, this rank's x-planes [first, end), the largest peak RSS of any rank (MB). */
  ranks: number;
  planeRange: [number, number];
  peakRssMaxRankMb: number;
  /** Descriptor blocks computed from an atom window / from the whole cell (src/parallel/plane-blocks.ts). */
  descriptorBlocks?: { windowed: number; wholeCell: number };
  warnings: string[];
  /** G-vectors in the ecutrho sphere and the XC functional of the energy terms (with a total energy). */
  gVectorCount?: number;
  xcFunctional?: string;
  /** The network's device, what was asked and why (--device). */
  device?: DeviceChoice;
  /** The domain check against the model's training domain (src/domain/). */
  domain?: DomainReport;
  /** sha256 of the model archive file (model-info's `sha256`), and the mala-ts that predicted. */
  modelSha256?: string;
  malaTsVersion?: string;
  /** −dE/dR of the total energy, eV/Å, one row per atom (predict's `forces`). */
  forcesEvPerA?: number[][];
  /** With predict's `ldosCotangent`: ∂E_total/∂L in the network's point order (fine-tuning; not written to results.json). */
  ldosCotangent?: LdosCotangent;
  /** (1/V)·∂E/∂ε of the total energy, eV/Å³, 3×3 (ASE's sign: −virial/V; pw.x prints its negative); predict's `stress`. */
  stressEvPerA3?: number[][];
  /** An ensemble model's spread: each member's E_F, band and total energy and their σ (src/engine/ensemble.ts). */
  uncertainty?: EnsembleSpread;
  /** The model's energy reference as applied to this structure: the energy grid is the model's shifted by `shiftEv` (issue 18). */
  energyReference?: AppliedEnergyReference;
}
