/** The engine's energy step with src/qe: MALA's total energy (spec §5.11) on the engine's grid layout. */
import { totalEnergy, totalEnergyWithGradient, type Pseudopotential } from '../qe';
import type { Atoms } from '../structure/atoms';
import type { EnergyStep } from './engine';

export function qeEnergyStep(o: { atoms: Atoms; grid: [number, number, number]; ecutrhoRy: number; pseudopotentials: Record<string, Pseudopotential> }): EnergyStep {
  return ({ densityPerA3, layout, bandEnergyEv, entropyContributionEv, gradient, strain }) => {
    const inp = {
      cellAngstrom: o.atoms.cellAngstrom,
      positionsAngstrom: o.atoms.positionsAngstrom,
      species: o.atoms.symbols,
      grid: o.grid,
      densityPerA3,
      ecutrhoRy: o.ecutrhoRy,
      bandEnergyEv,
      entropyContributionEv,
      pseudopotentials: o.pseudopotentials,
      layout,
    };
    if (gradient) {
      const g = totalEnergyWithGradient(inp, { strain });
      const t = g.energy;
      return {
        totalEnergy: { totalEnergyEv: t.totalEnergyEv, termsEv: t.termsEv },
        gVectorCount: t.details.gVectorCount,
        xcFunctional: t.details.functional,
        gradient: { densityGradient: g.gradient.densityAdjointEvA3, explicitForcesEvPerA: g.gradient.explicitForcesEvPerA, strainDerivativeEv: g.gradient.strainDerivativeEv },
      };
    }
    const t = totalEnergy(inp);
    return { totalEnergy: { totalEnergyEv: t.totalEnergyEv, termsEv: t.termsEv }, gVectorCount: t.details.gVectorCount, xcFunctional: t.details.functional };
  };
}
