/**
 * The energy axis of a model's LDOS for one structure (issue 18): the model's grid, shifted by its
 * energy reference's s(n) at the structure's atom density (src/targets/energy-reference.ts). Every
 * consumer that runs the network on a structure (predict and so pw, watch, the calculator, i-PI;
 * the tester) takes the axis from here; a model without a reference gives its own grid, shift 0.
 */
import type { Atoms } from '../structure/atoms';
import type { ModelData } from '../network/model-data';
import type { EnergyGrid } from '../targets/energy-grid';
import { atomDensityPerA3, energyGridFor, referenceShiftEv, referenceStressEvPerA3 } from '../targets/energy-reference';
import type { AppliedEnergyReference } from '../results/predict-result';

export interface StructureEnergyAxis {
  /** The energies the network's outputs sit on for this structure. */
  grid: EnergyGrid;
  /** With a reference: the shift s(n) applied (eV), the structure's atom density (Å⁻³) and the reference (results.json `energy_reference_shift_ev`). */
  applied?: AppliedEnergyReference;
}

type Cell = Pick<Atoms, 'symbols' | 'cellAngstrom'>;

/** The structure's energy axis for this model. */
export function structureEnergyAxis(model: Pick<ModelData, 'energyGrid' | 'energyReference'>, atoms: Cell): StructureEnergyAxis {
  const ref = model.energyReference;
  const grid = energyGridFor(model.energyGrid, ref, atoms.symbols.length, atoms.cellAngstrom);
  if (!ref) return { grid };
  const densityPerA3 = atomDensityPerA3(atoms.symbols.length, atoms.cellAngstrom);
  return { grid, applied: { shiftEv: referenceShiftEv(ref, densityPerA3), densityPerA3, reference: ref } };
}

/**
 * The engine's stress (eV/Å³) plus the reference's term: the printed energy holds N_e·s(n), and n
 * follows the strain (dn/dε_ab = −n·δ_ab). The sign is checked against finite differences of the
 * printed energy in test/workflow/energy-reference.test.ts.
 */
export function withReferenceStress(stressEvPerA3: number[][], model: Pick<ModelData, 'energyReference'>, electrons: number, atoms: Cell): number[][] {
  if (!model.energyReference) return stressEvPerA3;
  const r = referenceStressEvPerA3(model.energyReference, electrons, atoms.symbols.length, atoms.cellAngstrom);
  return stressEvPerA3.map((row, a) => row.map((x, b) => x + r[a][b]));
}
