/**
 * What predict says about the trust in its forces and stress: the errors against QE that the
 * model's VALIDATION.json records (`mala-ts test --forces`), or that it records none. Above the
 * limits a relaxation needs (issue 16: force RMSE 0.05 eV/Å; stress 1 GPa) it is a warning.
 */
import { recordedForceValidation } from './model-info';

/** Force RMSE (eV/Å) and stress error (GPa) above which recorded validation is still a warning. */
export const FORCE_RMSE_GOAL_EV_PER_A = 0.05;
export const STRESS_GOAL_GPA = 1;

export function forceValidationWarnings(modelFile: string, asked: { forces: boolean; stress: boolean }): string[] {
  const v = recordedForceValidation(modelFile);
  const out: string[] = [];
  if (asked.stress) {
    if (v?.stressMaxGpa === undefined) {
      out.push(`stress: the model ${modelFile} records no validation of its stress against DFT; a model trained on LDOS at one density can be far off (the shipped Al model: P ≈ −300 GPa on 298 K frames where QE gives −3.4 GPa, docs/stress.md)`);
    } else if (v.stressMaxGpa > STRESS_GOAL_GPA) {
      out.push(`stress: the model's validation (${v.file}, ${v.snapshots} frames against QE) records errors up to ${v.stressMaxGpa.toFixed(2)} GPa per component, above ${STRESS_GOAL_GPA} GPa`);
    }
  }
  if (asked.forces) {
    if (v?.forceRmseMaxEvPerA === undefined) {
      out.push(`forces: the model ${modelFile} records no validation of its forces against DFT; a model trained on LDOS alone can be far off (make one: mala-ts test --forces --out VALIDATION.json; docs/forces.md)`);
    } else if (v.forceRmseMaxEvPerA > FORCE_RMSE_GOAL_EV_PER_A) {
      out.push(`forces: the model's validation (${v.file}, ${v.snapshots} frames against QE) records force RMSEs of ${v.forceRmseMeanEvPerA!.toFixed(3)} eV/Å on average and up to ${v.forceRmseMaxEvPerA.toFixed(3)} eV/Å, above the ${FORCE_RMSE_GOAL_EV_PER_A} eV/Å a relaxation needs`);
    }
  }
  return out;
}
