/**
 * Strain derivatives of QE's density terms (energy-terms.ts) for the stress (issue 16):
 *
 *  Q(n, ε) = −E_H[ñ] + E_xc[ñ + ρ_core] − ∫ñ·v_xc + E_ewald     (see energy-gradient.ts)
 *
 * differentiated with respect to a homogeneous strain r → r·(I + ε) of the cell, the atoms and the
 * grid points (fractional coordinates fixed), at fixed density values n_i per grid point (1/Å³):
 * that is what the engine holds fixed, since the network's LDOS per volume depends on the strain
 * only through the descriptors. At fixed n_i the sphere coefficients ρ(G) of each Miller index are
 * fixed; Ω, dv and the Cartesian G move (δG = −G·εᵀ, ∂|G|²/∂ε_ab = −2·G_a·G_b). The G-sphere's
 * membership is held fixed (as QE's stress does). Terms (Ry, 9 values row-major, ∂/∂ε_ab):
 *
 *  volume   δ_ab·(−E_H + E_xc − ∫ñ·v_xc)                 (Ω and dv scale with 1 + tr ε)
 *  hartree  −8πΩ Σ_G |ρ(G)|²·G_a·G_b/G⁴                   (E_H's 1/G²)
 *  gga      T(0) − d/ds T(s),  T_ab(s) = −dv Σ_i v2_i·g_a·g_b at ρ_tot + s·ñ   (QE stres_gradcorr;
 *           the d/ds is the double-counting term's, by the same 4-point stencil as J·ñ)
 *  core     Ω Σ_G Re[w(G)*·∂ρ_core(G)/∂ε_ab], w = v_xc − J·ñ, ∂ρ_c/∂ε_ab = Σ_t S_t·(−δ_ab·ρ_c,t
 *           − ρ_c,t'(|G|)·G_a·G_b/|G|)                    (QE stres_cc)
 *  ewald    the exact strain derivative of ewald.ts' truncated sums (QE stres_ewa)
 *
 * Works on MPI slabs: every sum here is this rank's G-vectors or points, reduced at the end.
 */
import { det3 } from '../structure/atoms';
import type { EnergyTermsFields } from './energy-terms';
import { gradientOnGrid, pbePoint, perShell, toSphere } from './energy-terms';
import { ewaldRealSpaceRy, qeEwaldAlpha } from './ewald';
import type { GridLayout } from './grid-layout';
import type { GSphere } from './gsphere';
import { besselJ0, qeRadialCutoffPoints, simpson } from './radial';
import { structureFactor } from './structure-factor';
import type { Pseudopotential } from './upf';
import type { GgaOut } from './xc';

export interface DensityTermsStrainRy {
  hartree: Float64Array;
  gga: Float64Array;
  core: Float64Array;
  ewald: Float64Array;
}

/** dρ_c,t/d|G| at |G| = q (QE `deriv_drhoc`): (4π/Ω)∫r³ρ_c(r)·j0'(qr)dr. */
function coreFormFactorSlope(pp: Pseudopotential, omega: number, q: number, msh: number, aux: Float64Array): number {
  const r = pp.rBohr;
  const rho = pp.rhoCore as Float64Array;
  for (let i = 0; i < msh; i++) {
    const x = q * r[i];
    // j0'(x) = (x·cos x − sin x)/x², −x/3 + x³/30 near 0
    const dj = x < 1e-3 ? -x / 3 + (x * x * x) / 30 : (x * Math.cos(x) - Math.sin(x)) / (x * x);
    aux[i] = r[i] * r[i] * r[i] * rho[i] * dj;
  }
  return (4 * Math.PI * simpson(msh, aux, pp.rabBohr)) / omega;
}

/**
 * dρ_c,t/d|G| on the sphere: the derivative of exactly what coreFormFactorOnSphere gives (exact per
 * shell when there are few shells; else the derivative of its 4-point Lagrange interpolant, same
 * table and the same decision across ranks).
 */
export function coreFormFactorSlopeOnSphere(pp: Pseudopotential, omega: number, gs: GSphere, layout: GridLayout, maxShells = 20000): Float64Array {
  const msh = qeRadialCutoffPoints(pp.rBohr);
  const aux = new Float64Array(msh);
  const exact = perShell(gs, maxShells, layout, (q) => coreFormFactorSlope(pp, omega, q, msh, aux));
  if (exact) return exact;
  const out = new Float64Array(gs.count);
  // the table of coreFormFactorOnSphere (values, not slopes), differentiated through the interpolant
  const dq = 0.005;
  let gmax = 0;
  for (let i = 0; i < gs.count; i++) gmax = Math.max(gmax, gs.g2[i]);
  const nq = Math.ceil(Math.sqrt(gmax) / dq) + 4;
  const tab = new Float64Array(nq);
  const r = pp.rBohr;
  const rho = pp.rhoCore as Float64Array;
  for (let j = 0; j < nq; j++) {
    const q = j * dq;
    for (let i = 0; i < msh; i++) {
      aux[i] = r[i] * r[i] * rho[i] * (q < 1e-8 ? 1 : besselJ0(q * r[i]));
    }
    tab[j] = (4 * Math.PI * simpson(msh, aux, pp.rabBohr)) / omega;
  }
  for (let i = 0; i < gs.count; i++) {
    const q = Math.sqrt(gs.g2[i]);
    const px = q / dq;
    const j = Math.min(Math.max(Math.floor(px), 1), nq - 3);
    const x = px - j;
    const d =
      (-(3 * x * x - 6 * x + 2) * tab[j - 1]) / 6 + ((3 * x * x - 4 * x - 1) * tab[j]) / 2 - ((3 * x * x - 2 * x - 2) * tab[j + 1]) / 2 + ((3 * x * x - 1) * tab[j + 2]) / 6;
    out[i] = d / dq;
  }
  return out;
}

/** Adds c·G_a·G_b (row-major) for G number i. */
function addOuter(out: Float64Array, g: Float64Array, c: number): void {
  for (let a = 0; a < 3; a++) for (let b = 0; b < 3; b++) out[3 * a + b] += c * g[a] * g[b];
}

/**
 * ∂E_ewald/∂ε_ab (Ry) of ewald.ts' sums: G-space (4π/Ω)[−Q²/4α + Σ|S|²φ(G²)], φ(x) = e^(−x/4α)/x,
 * gives −δ_ab·E_G + (4π/Ω)Σ|S|²φ·2G_aG_b(1/4α + 1/G²); the real-space pairs Σ f'(r)·r_a·r_b/r.
 */
export function ewaldStrainDerivativeRy(cellBohr: number[][], fractional: number[][], zVal: number[], gs: GSphere, ecutrhoRy: number, split?: { reduce: (parts: Float64Array) => Float64Array; realSpaceHere: boolean }): Float64Array {
  const omega = Math.abs(det3(cellBohr));
  const charge = zVal.reduce((a, b) => a + b, 0);
  const alpha = qeEwaldAlpha(charge, ecutrhoRy);
  const sf = structureFactor(gs, fractional, zVal);
  const out = new Float64Array(9);
  const g = new Float64Array(3);
  let sumG = 0;
  for (let i = 0; i < gs.count; i++) {
    const g2 = gs.g2[i];
    if (g2 < 1e-8) continue;
    const s2 = sf[2 * i] ** 2 + sf[2 * i + 1] ** 2;
    const phi = Math.exp(-g2 / alpha / 4) / g2;
    sumG += s2 * phi;
    gs.gVector(i, g);
    addOuter(out, g, s2 * phi * 2 * (1 / (4 * alpha) + 1 / g2));
  }
  for (let k = 0; k < 9; k++) out[k] *= (4 * Math.PI) / omega;
  const diag = -((4 * Math.PI) / omega) * sumG; // this rank's share of −E_G (the G=0 term once, below)
  for (let a = 0; a < 3; a++) out[4 * a] += diag;
  if (!split || split.realSpaceHere) {
    for (let a = 0; a < 3; a++) out[4 * a] += ((4 * Math.PI) / omega) * ((charge * charge) / alpha / 4);
    ewaldRealSpaceRy(cellBohr, fractional, zVal, alpha, undefined, out);
  }
  return split ? split.reduce(out) : out;
}

/** J·ñ's stencil (energy-gradient.ts): s = −2ε, −ε, ε, 2ε with weights (1, −8, 8, −1)/12ε. */
const stencil = (eps: number) => ({ steps: [-2 * eps, -eps, eps, 2 * eps], weights: [1, -8, 8, -1].map((w) => w / (12 * eps)) });

/**
 * The hartree, gga, core and ewald parts (Ry, reduced over ranks) of ∂Q/∂ε at fixed density values;
 * the volume part needs the reduced energy terms and is added by the caller (energy-gradient.ts).
 * `jn` = J·ñ on the points, `eps` its stencil step.
 */
export function densityTermsStrainRy(
  f: EnergyTermsFields,
  jn: Float64Array,
  eps: number,
  o: { species: string[]; pseudopotentials: Record<string, Pseudopotential>; ecutrhoRy: number },
): DensityTermsStrainRy {
  const { gs, nLocal, nGrid, layout, functional } = f.xc;
  const omega = f.omegaBohr3;
  const dv = omega / nGrid;
  const g = new Float64Array(3);
  // Hartree
  const hartree = new Float64Array(9);
  for (let i = 0; i < gs.count; i++) {
    const g2 = gs.g2[i];
    if (g2 < 1e-8) continue;
    gs.gVector(i, g);
    addOuter(hartree, g, (-8 * Math.PI * omega * (f.rhoG[2 * i] ** 2 + f.rhoG[2 * i + 1] ** 2)) / (g2 * g2));
  }
  // PBE's gradient term
  const gga = new Float64Array(9);
  if (functional === 'pbe') {
    const totG = new Float64Array(2 * gs.count);
    for (let i = 0; i < 2 * gs.count; i++) totG[i] = f.rhoG[i] + (f.rhoCoreG ? f.rhoCoreG[i] : 0);
    const [gx, gy, gz] = gradientOnGrid(f.xc, totG);
    const [nx, ny, nz] = gradientOnGrid(f.xc, f.rhoG);
    const { steps, weights } = stencil(eps);
    const ss = [0, ...steps];
    const ws = [1, ...weights.map((w) => -w)];
    const out: GgaOut = { sx: 0, sc: 0, v1x: 0, v2x: 0, v1c: 0, v2c: 0 };
    for (let i = 0; i < nLocal; i++) {
      const tot = f.rho[i] + (f.rhoCore ? f.rhoCore[i] : 0);
      for (let k = 0; k < 5; k++) {
        const s = ss[k];
        g[0] = gx[i] + s * nx[i];
        g[1] = gy[i] + s * ny[i];
        g[2] = gz[i] + s * nz[i];
        if (!pbePoint(tot + s * f.rho[i], g[0] * g[0] + g[1] * g[1] + g[2] * g[2], out)) continue;
        addOuter(gga, g, -dv * ws[k] * 2 * (out.v2x + out.v2c));
      }
    }
  }
  // core charge
  const core = new Float64Array(9);
  if (f.rhoCoreG) {
    const w = new Float64Array(nLocal);
    for (let i = 0; i < nLocal; i++) w[i] = f.vxc[i] - jn[i];
    const wG = toSphere(f, w);
    for (const [t, form] of f.coreForms) {
      const slope = coreFormFactorSlopeOnSphere(o.pseudopotentials[t], omega, gs, layout);
      const sf = structureFactor(
        gs,
        f.fractional,
        o.species.map((s) => (s === t ? 1 : 0)),
      );
      let diag = 0;
      for (let i = 0; i < gs.count; i++) {
        // Re[w(G)*·S_t(G)]
        const ws = wG[2 * i] * sf[2 * i] + wG[2 * i + 1] * sf[2 * i + 1];
        diag -= omega * ws * form[i];
        const q = Math.sqrt(gs.g2[i]);
        if (q < 1e-8) continue;
        gs.gVector(i, g);
        addOuter(core, g, (-omega * ws * slope[i]) / q);
      }
      for (let a = 0; a < 3; a++) core[4 * a] += diag;
    }
  }
  const split = layout.distributed ? { reduce: (parts: Float64Array) => layout.allreduceSum(parts), realSpaceHere: layout.rank === 0 } : undefined;
  const ewald = ewaldStrainDerivativeRy(f.cellBohr, f.fractional, f.zVal, gs, o.ecutrhoRy, split);
  if (layout.distributed) {
    const all = layout.allreduceSum(Float64Array.from([...hartree, ...gga, ...core]));
    hartree.set(all.subarray(0, 9));
    gga.set(all.subarray(9, 18));
    core.set(all.subarray(18, 27));
  }
  return { hartree, gga, core, ewald };
}
