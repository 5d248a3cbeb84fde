/**
 * The derivative of MALA's total energy with respect to the LDOS (issue 16, forces):
 *
 *   E(L) = Σ_k D_k·h_k(μ) + Q(n),   D_k = dv·Σ_i L_ik,   n_i = Σ_k L_ik·e_k(μ),
 *   h_k = bandEnergyRelative_k + μ·e_k + entropy_k,   μ: Σ_k D_k·e_k(μ) = N.
 *
 * With u_i = ∂Q/∂n_i (src/qe/energy-gradient.ts) and ' = d/dμ, implicit differentiation of the
 * electron-count condition gives ∂μ/∂L_ik = −dv·e_k / Σ_k D_k·e'_k, so
 *
 *   ∂E/∂L_ik = a_k + u_i·e_k,   a_k = dv·(h_k − λ·e_k),
 *   λ = (Σ_k D_k·h'_k + Σ_k M_k·e'_k) / Σ_k D_k·e'_k,   M_k = Σ_i u_i·L_ik;
 *
 * λ = 0 when the Fermi energy is given (μ fixed). For the exact integrals of the analytical scheme
 * Σ_k D_k·h'_k = μ·Σ_k D_k·e'_k (because ε·∂f/∂μ + kT·∂s/∂μ = μ·∂f/∂μ), so λ = μ + Σ M e'/Σ D e';
 * we keep the general form, computed from the weights' own derivatives.
 */
import { MalaError } from '../errors';
import { AnalyticalWeights, analyticalWeights, antiderivativesScaled } from './fermi-dirac';

/**
 * d/dμ of the analytical weights (fermi-dirac.ts). Each weight is ∫φ_i(ε)·g(ε − μ)dε with φ_i
 * the hat function of e_i, so w'_i = −∫φ_i·g' = ∫φ'_i·g = (A_i − A_{i−1})/h₋ − (A_{i+1} − A_i)/h₊,
 * A the antiderivative of g (F0, F1, S0 for electrons, band energy, entropy), including MALA's
 * phantom end points.
 */
export function analyticalWeightsMuDerivative(energiesEv: ArrayLike<number>, fermiEnergyEv: number, kTEv: number): AnalyticalWeights {
  const n = energiesEv.length;
  if (n < 2) throw new MalaError(`the energy grid needs at least 2 energies, got ${n}`);
  const h0 = energiesEv[1] - energiesEv[0];
  const m = n + 2;
  const e = new Float64Array(m);
  e[0] = energiesEv[0] - h0;
  for (let i = 0; i < n; i++) e[i + 1] = energiesEv[i];
  e[m - 1] = energiesEv[n - 1] + h0;
  const F0 = new Float64Array(m);
  const F1 = new Float64Array(m);
  const S0 = new Float64Array(m);
  for (let j = 0; j < m; j++) {
    const a = antiderivativesScaled((e[j] - fermiEnergyEv) / kTEv);
    F0[j] = a.f0 * kTEv;
    F1[j] = a.f1 * kTEv * kTEv;
    S0[j] = a.s0 * kTEv * kTEv;
  }
  const hatSlope = (A: Float64Array): Float64Array => {
    const w = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const j = i + 1;
      w[i] = (A[j] - A[j - 1]) / (e[j] - e[j - 1]) - (A[j + 1] - A[j]) / (e[j + 1] - e[j]);
    }
    return w;
  };
  return { electrons: hatSlope(F0), bandEnergyRelative: hatSlope(F1), entropy: hatSlope(S0) };
}

/** ∂N/∂μ = Σ_k D_k·e'_k (1/eV); an error where it vanishes (μ then has no derivative). */
function electronCountMuDerivative(D: ArrayLike<number>, electronsMuDerivative: ArrayLike<number>, mu: number, fix: string): number {
  let de = 0;
  for (let k = 0; k < D.length; k++) de += D[k] * electronsMuDerivative[k];
  if (!(Math.abs(de) > 0)) {
    throw new MalaError(`the electron count does not change with the Fermi energy (∂N/∂μ = ${de} at μ = ${mu} eV): the self-consistent Fermi energy has no derivative`, { fix });
  }
  return de;
}

export interface LdosAdjointInput {
  /** D_k (1/eV) of the LDOS the energy was computed from. */
  dosPerEv: ArrayLike<number>;
  energiesEv: ArrayLike<number>;
  kTEv: number;
  /** μ the energy was computed at (self-consistent, or the one given). */
  fermiEnergyEv: number;
  /** dv (Å³). */
  voxelVolumeA3: number;
  /** M_k = Σ_i u_i·L_ik (dimensionless: eV·Å³ × 1/(eV·Å³)); `addPotentialMoments` sums it. */
  potentialMoments: ArrayLike<number>;
  /** True when the Fermi energy was given rather than solved for (then λ = 0). */
  fermiEnergyFixed: boolean;
}

export interface LdosAdjoint {
  /** a_k (eV²·Å³): ∂E/∂L_ik = a_k + u_i·e_k. */
  perEnergy: Float64Array;
  /** e_k (eV), the electron weights at μ (the density's weights). */
  electronWeights: Float64Array;
  /** λ (eV): the energy cost of one electron moved by the Fermi-level shift; 0 for a fixed μ. */
  lambdaEv: number;
}

/** The per-energy part of ∂E/∂LDOS (see the module comment). */
export function ldosAdjoint(o: LdosAdjointInput, terms: { entropy: boolean } = { entropy: true }): LdosAdjoint {
  const { dosPerEv: D, energiesEv, kTEv, fermiEnergyEv: mu, voxelVolumeA3: dv, potentialMoments: M } = o;
  const nE = energiesEv.length;
  if (D.length !== nE || M.length !== nE) throw new Error(`ldosAdjoint: ${D.length} DOS values, ${M.length} moments, ${nE} energies`);
  const w = analyticalWeights(energiesEv, mu, kTEv);
  const e = w.electrons;
  const h = new Float64Array(nE);
  const withEntropy = terms.entropy ? 1 : 0;
  for (let k = 0; k < nE; k++) h[k] = w.bandEnergyRelative[k] + mu * e[k] + withEntropy * w.entropy[k];
  let lambdaEv = 0;
  if (!o.fermiEnergyFixed) {
    const d = analyticalWeightsMuDerivative(energiesEv, mu, kTEv);
    let dh = 0;
    let me = 0;
    for (let k = 0; k < nE; k++) {
      const hp = d.bandEnergyRelative[k] + e[k] + mu * d.electrons[k] + withEntropy * d.entropy[k];
      dh += D[k] * hp;
      me += M[k] * d.electrons[k];
    }
    lambdaEv = (dh + me) / electronCountMuDerivative(D, d.electrons, mu, 'give the Fermi energy (--fermi-energy), or a higher electronic temperature');
  }
  const perEnergy = new Float64Array(nE);
  for (let k = 0; k < nE; k++) perEnergy[k] = dv * (h[k] - lambdaEv * e[k]);
  return { perEnergy, electronWeights: e, lambdaEv };
}

/**
 * ∂E_band/∂L_ik = dv·(b_k − λ_b·e_k) (eV²·Å³, the same at every point), E_band = Σ_k D_k·b_k(μ) with
 * b_k = bandEnergyRelative_k + μ·e_k, at the self-consistent μ (the electron count kept):
 * ldosAdjoint's a_k without the entropy and density terms (M = 0), so λ_b = Σ_k D_k·b'_k / Σ_k D_k·e'_k.
 * The band-energy part of the fine-tuning loss (issue 18: the band energy is judged against QE's on its own).
 */
export function bandEnergyLdosAdjoint(o: Omit<LdosAdjointInput, 'potentialMoments' | 'fermiEnergyFixed'>): Float64Array {
  return ldosAdjoint({ ...o, potentialMoments: new Float64Array(o.energiesEv.length), fermiEnergyFixed: false }, { entropy: false }).perEnergy;
}

/**
 * ∂μ/∂L_ik = −dv·e_k / Σ_k D_k·e'_k (Å³, the same at every point): the self-consistent Fermi energy's
 * derivative, from the electron-count condition Σ_k D_k·e_k(μ) = N (the module comment). The Fermi
 * part of the fine-tuning loss (issue 18 judges E_F against QE's on its own, within 20 meV).
 */
export function fermiEnergyLdosDerivative(o: Omit<LdosAdjointInput, 'potentialMoments' | 'fermiEnergyFixed'>): Float64Array {
  const { dosPerEv: D, energiesEv, kTEv, fermiEnergyEv: mu, voxelVolumeA3: dv } = o;
  const nE = energiesEv.length;
  if (D.length !== nE) throw new Error(`fermiEnergyLdosDerivative: ${D.length} DOS values, ${nE} energies`);
  const e = analyticalWeights(energiesEv, mu, kTEv).electrons;
  const de = electronCountMuDerivative(D, analyticalWeightsMuDerivative(energiesEv, mu, kTEv).electrons, mu, 'a higher electronic temperature, or leave the Fermi term out');
  return Float64Array.from(e, (ek) => (-dv * ek) / de);
}

/** Adds Σ_i u_i·L_ik over the rows of `chunk` (points firstPoint…, N_E values each; u indexed by point) to `out`. */
export function addPotentialMoments(chunk: ArrayLike<number>, u: ArrayLike<number>, firstPoint: number, out: Float64Array): void {
  const nE = out.length;
  const rows = chunk.length / nE;
  if (!Number.isInteger(rows) || firstPoint < 0 || firstPoint + rows > u.length) throw new Error(`addPotentialMoments: ${chunk.length} values from point ${firstPoint} do not fit ${u.length} points × ${nE} energies`);
  for (let r = 0; r < rows; r++) {
    const ui = u[firstPoint + r];
    const o = r * nE;
    for (let k = 0; k < nE; k++) out[k] += ui * chunk[o + k];
  }
}

/** ∂E/∂L_ik = a_k + u_i·e_k for points firstPoint … firstPoint + rows − 1 (rows of N_E values). */
export function ldosGradientRows(adj: Pick<LdosAdjoint, 'perEnergy' | 'electronWeights'>, u: ArrayLike<number>, firstPoint: number, rows: number, out = new Float64Array(rows * adj.perEnergy.length)): Float64Array {
  const nE = adj.perEnergy.length;
  const a = adj.perEnergy;
  const e = adj.electronWeights;
  for (let r = 0; r < rows; r++) {
    const ui = u[firstPoint + r];
    const o = r * nE;
    for (let k = 0; k < nE; k++) out[o + k] = a[k] + ui * e[k];
  }
  return out;
}
