/**
 * Forces of QE's Ewald energy (ewald.ts), −∂E_ewald/∂R_a in Ry/Bohr: the exact derivative of the
 * same truncated sums (QE's α, the ecutrho sphere, the real-space cutoff 4/√α), so finite
 * differences of `ewaldEnergy` match to rounding.
 */
import { det3 } from '../structure/atoms';
import { qeEwaldAlpha, ewaldRealSpaceRy } from './ewald';
import { addGradientAtAtoms } from './field-gradient';
import type { GSphere } from './gsphere';
import { structureFactor } from './structure-factor';

export interface EwaldForcesOptions {
  /** As EwaldOptions.split: `gs` is this rank's G-vectors, `reduce` sums over ranks, one rank does real space. */
  split?: { reduce: (parts: Float64Array) => Float64Array; realSpaceHere: boolean };
}

/** −∂E_ewald/∂R_a (Ry/Bohr), 3 per atom (x, y, z), atoms in input order. */
export function ewaldForcesRyPerBohr(cellBohr: number[][], fractional: number[][], zVal: number[], gs: GSphere, ecutrhoRy: number, options: EwaldForcesOptions = {}): Float64Array {
  const nat = fractional.length;
  const omega = Math.abs(det3(cellBohr));
  const charge = zVal.reduce((a, b) => a + b, 0);
  const alpha = qeEwaldAlpha(charge, ecutrhoRy);
  // G-space: E_G = (4π/Ω) Σ_{G≠0} |S(G)|² e^(−G²/4α)/G², and ∂E_G/∂R_a = 2·Z_a·(4π/Ω)·∇f(R_a)
  // with f the field of coefficients S(G)·e^(−G²/4α)/G² (a appears in S and in S*).
  const sf = structureFactor(gs, fractional, zVal);
  const coeffs = new Float64Array(2 * gs.count);
  for (let i = 0; i < gs.count; i++) {
    const g2 = gs.g2[i];
    if (g2 < 1e-8) continue;
    const phi = Math.exp(-g2 / alpha / 4) / g2;
    coeffs[2 * i] = sf[2 * i] * phi;
    coeffs[2 * i + 1] = sf[2 * i + 1] * phi;
  }
  const grad = new Float64Array(3 * nat);
  addGradientAtAtoms(gs, coeffs, fractional, grad, (a) => zVal[a] !== 0);
  const forces = new Float64Array(3 * nat);
  for (let a = 0; a < nat; a++) for (let k = 0; k < 3; k++) forces[3 * a + k] = -2 * zVal[a] * ((4 * Math.PI) / omega) * grad[3 * a + k];
  const split = options.split;
  if (!split || split.realSpaceHere) ewaldRealSpaceRy(cellBohr, fractional, zVal, alpha, forces);
  return split ? split.reduce(forces) : forces;
}
