/**
 * Forces of the engine's energy (issue 16): F_I = −dE/dR_I, E the printed total (free) energy.
 *
 * E depends on the atoms along two routes:
 *   explicitly  Ewald and the core charge, at fixed density: the energy step's explicit forces;
 *   the LDOS    every grid point's LDOS (descriptors → network). One adjoint covers it:
 *               ∂E/∂L_ik = β_ik = a_k + u_i·e_k, with u_i = ∂E/∂n_i from the energy step (Hartree,
 *               XC and double counting through the density) and a_k the band, entropy and
 *               Fermi-level parts at fixed electron count (src/targets/dos-adjoint.ts, which
 *               needs M_k = Σ_i u_i·L_ik: one more pass over the kept LDOS). The source then
 *               back-propagates β to the atoms (network VJP, descriptor adjoint).
 */
import { MalaError } from '../errors';
import type { Communicator } from '../parallel/comm';
import type { GridLayout } from '../qe/grid-layout';
import { addPotentialMoments, ldosAdjoint } from '../targets/dos-adjoint';
import type { Progress } from '../util/progress';
import type { LdosCotangent, LdosSource } from './ldos-source';
import type { LdosStore } from './ldos-store';

/** One clear error, before any work, when these forces cannot be had. */
export function checkForcesPossible(source: LdosSource, energy: unknown): void {
  if (!source.forcesPass) {
    throw new MalaError(`forces cannot be computed from the ${source.names.dos}: an LDOS read from files has no derivative with respect to the atoms`, {
      fix: 'predict from the structure with a model (mala-ts predict --forces), not from LDOS files',
    });
  }
  if (!energy) {
    throw new MalaError('forces need the total energy, and it cannot be computed here', { fix: 'give the pseudopotentials (--pseudo-dir) and the density cutoff (a QE input, or --ecutrho)' });
  }
}

export interface LdosForcesInput {
  source: LdosSource;
  /** The LDOS as the energy used it (clamped), in the source's point order. */
  store: LdosStore;
  comm: Communicator;
  layout?: GridLayout;
  gradient: { densityGradient: Float64Array; explicitForcesEvPerA: Float64Array };
  dosPerEv: Float64Array;
  energiesEv: Float64Array;
  kTEv: number;
  fermiEnergyEv: number;
  /** The Fermi energy was given, not solved for the electron count. */
  fixedFermi: boolean;
  voxelVolumeA3: number;
  progress: Progress;
  /**
   * When given (9 values, zeroed): filled with the LDOS route's part of ∂E/∂ε_ab (eV, r → r·(I + ε),
   * row-major): the volume element at fixed LDOS, δ_ab·Σ_ik a_k·L_ik = δ_ab·Σ_k D_k·a_k/dv (D and
   * N scale with the volume; the Fermi level keeps N: the λ in a_k), plus the descriptors' part
   * Σ_g β_g·∂B_g/∂ε. The density terms' own part comes from the energy step.
   */
  strainDerivativeEv?: Float64Array;
}

/**
 * The LDOS cotangent of the energy, ∂E/∂L_ik = a_k + u_i·e_k (the same on every rank; u in the
 * source's point order): what the forces' backward pass takes, and what fine-tuning on energies
 * needs without that pass (src/workflow/finetune.ts).
 */
export function ldosEnergyCotangent(o: Omit<LdosForcesInput, 'progress' | 'strainDerivativeEv'>): LdosCotangent {
  const nE = o.energiesEv.length;
  const u = o.layout && o.source.fromLayout ? o.source.fromLayout(o.gradient.densityGradient, o.layout) : o.gradient.densityGradient;
  if (u.length !== o.source.pointCount) throw new Error(`LDOS cotangent: ∂E/∂n has ${u.length} values for ${o.source.pointCount} points`);
  // M_k = Σ_i u_i·L_ik over every rank's points
  const m = new Float64Array(nE);
  o.store.forEach((block, first) => addPotentialMoments(block, u, first, m));
  o.comm.allreduceSum(m);
  const adjoint = ldosAdjoint({ dosPerEv: o.dosPerEv, energiesEv: o.energiesEv, kTEv: o.kTEv, fermiEnergyEv: o.fermiEnergyEv, voxelVolumeA3: o.voxelVolumeA3, potentialMoments: m, fermiEnergyFixed: o.fixedFermi });
  return { adjoint, densityGradient: u };
}

/** −dE/dR (eV/Å, 3 per atom), the same on every rank; `cotangent`: ldosEnergyCotangent(o), when already had. */
export async function ldosForces(o: LdosForcesInput, cotangent = ldosEnergyCotangent(o)): Promise<Float64Array> {
  const nE = o.energiesEv.length;
  const strain = o.strainDerivativeEv;
  const forces = await o.source.forcesPass!(cotangent, o.progress, strain);
  o.comm.allreduceSum(forces);
  if (strain) {
    o.comm.allreduceSum(strain);
    let volume = 0;
    for (let k = 0; k < nE; k++) volume += (o.dosPerEv[k] * cotangent.adjoint.perEnergy[k]) / o.voxelVolumeA3;
    for (let a = 0; a < 3; a++) strain[4 * a] += volume;
  }
  const explicit = o.gradient.explicitForcesEvPerA;
  if (explicit.length !== forces.length) throw new Error(`forces: ${explicit.length / 3} explicit forces for ${forces.length / 3} atoms`);
  for (let i = 0; i < forces.length; i++) forces[i] += explicit[i];
  return forces;
}
