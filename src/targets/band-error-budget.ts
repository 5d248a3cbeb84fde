/**
 * Where a band-energy error comes from, by energy (issue 18): with the electron count fixed,
 * E_band = Σ_i w_i(μ)·D_i + μ·N (w: the analytical weights of ∫ D·(ε−μ)·f dε, fermi-dirac.ts), and
 * a change of μ enters only at second order (∂/∂μ of it vanishes when N is kept). So
 *   ΔE_band ≈ Σ_i w_i(μ_target)·(D_model,i − D_target,i),
 * each energy's DOS error weighted by its distance below E_F: a DOS error at the band bottom
 * (≈ 11 eV below E_F in Al) counts eleven times one 1 eV below E_F. `windowsEv` are the edges of
 * the windows of ε − E_F,target the sum is split into.
 */
import { analyticalWeights } from './fermi-dirac';

export interface DosPair {
  energiesEv: ArrayLike<number>;
  modelPerEv: ArrayLike<number>;
  targetPerEv: ArrayLike<number>;
  fermiModelEv: number;
  fermiTargetEv: number;
  kTEv: number;
}

export interface BandErrorBudget {
  /** ΔE_band per window (same unit as DOS × eV; per atom for a per-atom DOS); windows.length = edges + 1 */
  windows: number[];
  /** Σ windows: the first-order band-energy error */
  firstOrder: number;
  /** the band-energy error recomputed from both DOS at their own Fermi energies */
  exact: number;
  /** ∫ f_target·(D_model − D_target): the model DOS's electron-count error at the target's E_F */
  electronError: number;
}

export function bandErrorBudget(d: DosPair, windowsEv: readonly number[]): BandErrorBudget {
  const e = Float64Array.from(d.energiesEv);
  const wt = analyticalWeights(e, d.fermiTargetEv, d.kTEv);
  const wp = analyticalWeights(e, d.fermiModelEv, d.kTEv);
  const windows = new Array<number>(windowsEv.length + 1).fill(0);
  let electronError = 0;
  let relP = 0, relT = 0, nP = 0, nT = 0;
  for (let i = 0; i < e.length; i++) {
    const delta = d.modelPerEv[i] - d.targetPerEv[i];
    let k = windowsEv.findIndex((b) => e[i] - d.fermiTargetEv < b);
    if (k < 0) k = windowsEv.length;
    windows[k] += wt.bandEnergyRelative[i] * delta;
    electronError += wt.electrons[i] * delta;
    relP += wp.bandEnergyRelative[i] * d.modelPerEv[i];
    nP += wp.electrons[i] * d.modelPerEv[i];
    relT += wt.bandEnergyRelative[i] * d.targetPerEv[i];
    nT += wt.electrons[i] * d.targetPerEv[i];
  }
  return { windows, firstOrder: windows.reduce((a, b) => a + b, 0), exact: relP + d.fermiModelEv * nP - (relT + d.fermiTargetEv * nT), electronError };
}
