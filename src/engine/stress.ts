/**
 * The stress of the engine's energy (issue 16): σ = (1/V)·∂E/∂ε for a homogeneous strain
 * r → r·(I + ε) of cell, atoms and grid points (fractional coordinates fixed), E the printed total
 * (free) energy. ASE's sign (σ = −virial/V; negative under compression); pw.x prints −σ (positive
 * pressure under compression), in Ry/Bohr³ and kbar.
 *
 * ∂E/∂ε has three parts, all exact derivatives of the printed energy:
 *   descriptors  Σ_g β_g·∂B_g/∂ε_ab through the native kernel's adjoint (the forces' backward pass);
 *   volume       δ_ab·Σ_ik a_k·L_ik: at fixed LDOS per volume the DOS scales with dv, the Fermi
 *                level keeps the electron count (src/engine/forces.ts);
 *   density      the Hartree, XC (+ GGA gradient, + core charge) and Ewald terms' own derivative at
 *                fixed density values (src/qe/energy-stress.ts).
 * The energy is rotation invariant, so ∂E/∂ε is symmetric up to rounding; the stress is its
 * symmetric part.
 */
import { det3 } from '../structure/atoms';
import { bohrAngstrom, rydbergEv } from '../structure/units';

/** 1 eV/Å³ in GPa (e·10³⁰ Pa / 10⁹). */
export const evPerA3InGpa = 160.21766208;
/** kbar per GPa (pw.x prints the stress in kbar). */
export const KBAR_PER_GPA = 10;

/** σ = sym(∂E/∂ε)/V (eV/Å³, 3×3) from the 9 row-major values of ∂E/∂ε (eV) and the cell (Å). */
export function stressFromStrainDerivative(strainDerivativeEv: ArrayLike<number>, cellAngstrom: number[][]): number[][] {
  if (strainDerivativeEv.length !== 9) throw new Error(`stress: ${strainDerivativeEv.length} strain derivatives, not 9`);
  const volume = Math.abs(det3(cellAngstrom));
  return [0, 1, 2].map((a) => [0, 1, 2].map((b) => (strainDerivativeEv[3 * a + b] + strainDerivativeEv[3 * b + a]) / (2 * volume)));
}

/** The virial −V·σ (eV), as i-PI and ASE's socket protocol take it. */
export function virialEv(stressEvPerA3: number[][], cellAngstrom: number[][]): number[][] {
  const volume = Math.abs(det3(cellAngstrom));
  return stressEvPerA3.map((row) => row.map((x) => -x * volume));
}

/** pw.x's printed stress (−σ) in Ry/Bohr³ (the forces block's Bohr, units.ts) and in kbar, and its pressure P = tr/3 (kbar). */
export function pwStress(stressEvPerA3: number[][]): { ryPerBohr3: number[][]; kbar: number[][]; pressureKbar: number } {
  const ryPerBohr3 = stressEvPerA3.map((row) => row.map((x) => (-x / rydbergEv) * bohrAngstrom ** 3));
  const kbar = stressEvPerA3.map((row) => row.map((x) => -x * evPerA3InGpa * KBAR_PER_GPA));
  return { ryPerBohr3, kbar, pressureKbar: (kbar[0][0] + kbar[1][1] + kbar[2][2]) / 3 };
}
