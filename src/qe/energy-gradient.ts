/**
 * Derivatives of QE's density terms (energy-terms.ts) for forces (issue 16):
 *
 *  Q(n, R) = E_H[ñ] + E_xc[ñ + ρ_core(R)] − ∫ñ(v_H + v_xc) + E_ewald(R),  ñ = P·n
 *          = −E_H[ñ] + E_xc[ñ + ρ_core] − ∫ñ·v_xc + E_ewald      (∫ñ·v_H = 2E_H)
 *
 * with P the (symmetric) low-pass filter to the ecutrho sphere. Differentiating, with
 * J = ∂v_xc/∂ρ (the Hessian of the discrete E_xc over dv, symmetric):
 *
 *  ∂Q/∂ñ_j = −dv·(v_H + J·ñ)_j,  so  u = ∂Q/∂n = −dv·P[v_H + J·ñ]   (the density adjoint)
 *  ∂Q/∂R_a = ∫(v_xc − J·ñ)·∂ρ_core/∂R_a + ∂E_ewald/∂R_a             (at fixed n)
 *
 * J·ñ = d/dε v_xc[(1+ε)ñ + ρ_core] at ε = 0, by a 4-point central difference in ε (exact enough:
 * truncation ~ε⁴, rounding ~1e-16/ε; LDA and PBE alike, PBE's gradient terms included; see
 * xcHessianTimesDensity for how PBE's transforms are shared). The core term in G-space:
 * ∂Q/∂R_a = Ω·∇f(R_a) with f's coefficients w(G)·ρ_c,t(|G|), w = v_xc − J·ñ.
 *
 * Where QE's cuts switch a point on or off (|ρ_tot| ≤ 1e-10 for LDA; |ρ_tot| ≤ 1e-6 or
 * |∇ρ|² ≤ 1e-10 for PBE, e.g. where a core charge's Fourier ringing drives ñ + ρ_core through 0)
 * the energy itself jumps (~1e-6 eV per point); at negative ρ_tot QE's PBE potential is not the
 * derivative of its energy (the sign is applied to the energy only). The gradient here is exact
 * away from such points; they do not show in the Al, Be2 and test cases (tests at 1e-6).
 * Works on the serial grid and on MPI slabs (every step is the energy terms' own collective code).
 */
import { ryToEv, bohr3InAngstrom3 } from '../structure/units';
import { computeEnergyTerms, divergenceOnGrid, EnergyTermsFields, EnergyTermsInput, EnergyTermsRy, gradientOnGrid, ldaPoint, pbePoint, qeBohrAngstrom, toSphere } from './energy-terms';
import type { GgaOut, LdaOut } from './xc';
import { ewaldForcesRyPerBohr } from './ewald-forces';
import { addGradientAtAtoms } from './field-gradient';
import { wholeGridLayout } from './grid-layout';
import { densityTermsStrainRy, DensityTermsStrainRy } from './energy-stress';

export interface EnergyGradientOptions {
  /** Relative step ε of the directional difference for J·ñ (default 1e-3, 4-point stencil). */
  xcRelativeStep?: number;
  /** Also ∂Q/∂ε at fixed density values (energy-stress.ts): `strainDerivativeEv`. */
  strain?: boolean;
}

export interface EnergyGradient {
  /** The energy terms, as computeEnergyTerms gives them (same numbers). */
  terms: EnergyTermsRy;
  /**
   * u_i = ∂E_QE/∂n_i in eV·Å³ (eV per 1/Å³ of density at grid point i; the voxel volume is
   * included): the first-order change of E_QE is Σ_i u_i·δn_i. This process's points (the slab
   * when distributed), z fastest.
   */
  densityAdjointEvA3: Float64Array;
  /** −∂E_ewald/∂R (eV/Å), 3 per atom. */
  ewaldForcesEvPerA: Float64Array;
  /** −∂E_QE/∂R through the core charge at fixed density (eV/Å), 3 per atom; zeros without NLCC. */
  coreForcesEvPerA: Float64Array;
  /** Sum of the two: the explicit forces at fixed density (eV/Å). */
  explicitForcesEvPerA: Float64Array;
  /**
   * With `strain`: ∂E_QE/∂ε_ab (eV, 9 values row-major) for r → r·(I + ε) of cell, atoms and grid
   * at fixed density values per grid point, and its parts (volume, hartree, gga, core, ewald).
   */
  strainDerivativeEv?: Float64Array;
  strainPartsEv?: Record<'volume' | keyof DensityTermsStrainRy, Float64Array>;
  /** Wall seconds: energyTerms (computeEnergyTerms itself), xcHessian (J·ñ), densityAdjoint, coreForces, ewaldForces. */
  timingsS: Record<string, number>;
}

const ryPerBohrToEvPerA = (x: number): number => ryToEv(x) / qeBohrAngstrom;

/**
 * J·ñ (Ry) = d/ds v_xc[ρ_tot + s·ñ] at s = 0, 4-point stencil in s (±ε, ±2ε). v_xc = v_lda + v1 −
 * P∇·h is evaluated point-wise except the divergence, and ∇ρ_tot(s) = ∇ρ_tot + s·∇ñ, so the
 * difference is taken point-wise (of v_lda, v1 and h) and one divergence of dh/ds closes it:
 * 7 transforms for PBE instead of 4 × 5 for four whole XC evaluations, the same numbers to rounding.
 */
function xcHessianTimesDensity(f: EnergyTermsFields, eps: number): Float64Array {
  const { rho, rhoG, rhoCore, rhoCoreG } = f;
  const { functional, gs, nLocal } = f.xc;
  const steps = [-2 * eps, -eps, eps, 2 * eps];
  const weights = [1, -8, 8, -1].map((w) => w / (12 * eps));
  const out = new Float64Array(nLocal);
  const lda: LdaOut = { ex: 0, ec: 0, vx: 0, vc: 0 };
  for (let i = 0; i < nLocal; i++) {
    const tot = rho[i] + (rhoCore ? rhoCore[i] : 0);
    let d = 0;
    for (let k = 0; k < 4; k++) if (ldaPoint(functional, tot + steps[k] * rho[i], lda)) d += weights[k] * 2 * (lda.vx + lda.vc);
    out[i] = d;
  }
  if (functional !== 'pbe') return out;
  const totG = new Float64Array(2 * gs.count);
  for (let i = 0; i < 2 * gs.count; i++) totG[i] = rhoG[i] + (rhoCoreG ? rhoCoreG[i] : 0);
  const [gx, gy, gz] = gradientOnGrid(f.xc, totG);
  const [nx, ny, nz] = gradientOnGrid(f.xc, rhoG);
  const gga: GgaOut = { sx: 0, sc: 0, v1x: 0, v2x: 0, v1c: 0, v2c: 0 };
  // dh/ds into (nx, ny, nz) once each point's ∇ñ is read
  for (let i = 0; i < nLocal; i++) {
    const tot = rho[i] + (rhoCore ? rhoCore[i] : 0);
    let dv1 = 0;
    let hx = 0;
    let hy = 0;
    let hz = 0;
    for (let k = 0; k < 4; k++) {
      const s = steps[k];
      const ax = gx[i] + s * nx[i];
      const ay = gy[i] + s * ny[i];
      const az = gz[i] + s * nz[i];
      if (!pbePoint(tot + s * rho[i], ax * ax + ay * ay + az * az, gga)) continue;
      const w = weights[k];
      dv1 += w * 2 * (gga.v1x + gga.v1c);
      const wv2 = w * 2 * (gga.v2x + gga.v2c);
      hx += wv2 * ax;
      hy += wv2 * ay;
      hz += wv2 * az;
    }
    out[i] += dv1;
    nx[i] = hx;
    ny[i] = hy;
    nz[i] = hz;
  }
  divergenceOnGrid(f.xc, nx, ny, nz, nx);
  for (let i = 0; i < nLocal; i++) out[i] -= nx[i];
  return out;
}

/**
 * The energy terms plus u = ∂E_QE/∂n and the explicit forces (Ewald + core correction). Costs the
 * energy terms plus four point-wise XC evaluations, 3 transforms (PBE: 10), and ~8 flops per atom
 * and G-vector for each G-space force (Ewald; core correction per species with a core charge).
 * Measured (bench/energy-gradient.ts, 2 busy cores, fcc Al 256 atoms, 90³ grid, 347k G): LDA
 * 0.72 s energy terms → 2.1 s with the gradient (Ewald forces 0.7 s); PBE + core 1.1 s → 4.4 s.
 */
export function energyGradient(inp: EnergyTermsInput, opts: EnergyGradientOptions = {}): EnergyGradient {
  const eps = opts.xcRelativeStep ?? 1e-3;
  const nat = inp.positionsAngstrom.length;
  const layout = inp.layout ?? wholeGridLayout(inp.grid);
  let u: Float64Array | undefined;
  const coreRy = new Float64Array(3 * nat);
  let ewaldRy: Float64Array | undefined;
  let strainRy: DensityTermsStrainRy | undefined;
  const timingsS: Record<string, number> = {};
  let t = process.hrtime.bigint();
  const lap = (name: string): void => {
    const now = process.hrtime.bigint();
    timingsS[name] = Number(now - t) / 1e9;
    t = now;
  };
  const terms = computeEnergyTerms({ ...inp, layout }, (f) => {
    const { gs, nLocal, nGrid, toReal } = f.xc;
    const dv = f.omegaBohr3 / nGrid;
    lap('energyTerms');
    const jn = xcHessianTimesDensity(f, eps);
    lap('xcHessian');
    // u = −dv·P[v_H + J·ñ] in Ry per Bohr⁻³, then per (1/Å³) and eV
    const wG = toSphere(f, jn);
    for (let i = 0; i < gs.count; i++) {
      const g2 = gs.g2[i];
      if (g2 < 1e-8) continue;
      wG[2 * i] += (8 * Math.PI * f.rhoG[2 * i]) / g2;
      wG[2 * i + 1] += (8 * Math.PI * f.rhoG[2 * i + 1]) / g2;
    }
    u = new Float64Array(nLocal);
    toReal(wG, u);
    const scale = -ryToEv(dv * bohr3InAngstrom3);
    for (let i = 0; i < nLocal; i++) u[i] *= scale;
    lap('densityAdjoint');
    // core correction: −Ω·∇f(R_a), f = Σ_G (v_xc − J·ñ)(G)·ρ_c,t(|G|)·e^(iG·r) per species t
    if (f.rhoCoreG) {
      const w = new Float64Array(nLocal);
      for (let i = 0; i < nLocal; i++) w[i] = f.vxc[i] - jn[i];
      const cG = toSphere(f, w);
      for (const [t, form] of f.coreForms) {
        const coeffs = new Float64Array(2 * gs.count);
        for (let i = 0; i < gs.count; i++) {
          coeffs[2 * i] = cG[2 * i] * form[i];
          coeffs[2 * i + 1] = cG[2 * i + 1] * form[i];
        }
        addGradientAtAtoms(gs, coeffs, f.fractional, coreRy, (a) => inp.species[a] === t);
      }
      for (let k = 0; k < 3 * nat; k++) coreRy[k] *= -f.omegaBohr3;
      if (layout.distributed) layout.allreduceSum(coreRy);
    }
    lap('coreForces');
    const split = layout.distributed ? { reduce: (parts: Float64Array) => layout.allreduceSum(parts), realSpaceHere: layout.rank === 0 } : undefined;
    ewaldRy = ewaldForcesRyPerBohr(f.cellBohr, f.fractional, f.zVal, gs, inp.ecutrhoRy, { split });
    lap('ewaldForces');
    if (opts.strain) {
      strainRy = densityTermsStrainRy(f, jn, eps, { species: inp.species, pseudopotentials: inp.pseudopotentials, ecutrhoRy: inp.ecutrhoRy });
      lap('strain');
    }
  });
  const ewaldForcesEvPerA = Float64Array.from(ewaldRy as Float64Array, ryPerBohrToEvPerA);
  const coreForcesEvPerA = Float64Array.from(coreRy, ryPerBohrToEvPerA);
  const explicitForcesEvPerA = ewaldForcesEvPerA.map((x, k) => x + coreForcesEvPerA[k]);
  let strainDerivativeEv: Float64Array | undefined;
  let strainPartsEv: EnergyGradient['strainPartsEv'];
  if (strainRy) {
    // Ω and dv scale with 1 + tr ε: each of −E_H, E_xc, −∫ñ·v_xc once on the diagonal
    const volume = new Float64Array(9);
    for (let a = 0; a < 3; a++) volume[4 * a] = -terms.hartreeRy + terms.xcRy - terms.vtxcRy;
    const partsRy = { volume, ...strainRy };
    strainPartsEv = {} as NonNullable<EnergyGradient['strainPartsEv']>;
    strainDerivativeEv = new Float64Array(9);
    for (const [k, v] of Object.entries(partsRy) as [keyof typeof partsRy, Float64Array][]) {
      strainPartsEv[k] = v.map(ryToEv);
      for (let j = 0; j < 9; j++) strainDerivativeEv[j] += strainPartsEv[k][j];
    }
  }
  return { terms, densityAdjointEvA3: u as Float64Array, ewaldForcesEvPerA, coreForcesEvPerA, explicitForcesEvPerA, strainDerivativeEv, strainPartsEv, timingsS };
}
