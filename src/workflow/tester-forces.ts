/**
 * `mala-ts test --forces`: the model's forces (and, where the pw.x output has a stress block, its
 * stress) on a snapshot's structure against QE's (issue 16's accuracy check, on any data folder
 * `generate` writes from a tprnfor/tstress input).
 *
 * The forces need the descriptors' gradient, so the descriptors are computed again from the atoms
 * (`predict` with forces), not read from the snapshot's .in.npy; its energies agree with the
 * file-based ones to the descriptors' float32 rounding.
 *
 * Definitions (docs/tester.md): force RMSE over the 3N Cartesian components and the largest |ΔF|
 * component, eV/Å; stress: the largest |Δσ| component and the pressure error P_model − P_QE, GPa
 * (pw.x's sign, positive under compression).
 */
import { MalaError } from '../errors';
import { evPerA3InGpa, KBAR_PER_GPA } from '../engine/stress';
import type { LdosModel } from '../network/model';
import type { StructureRead } from '../structure/registry';
import { qeForcesRyPerBohr, qeStressKbar } from '../structure/qe-output';
import { bohrAngstrom, rydbergEv } from '../structure/units';
import { predict } from './predict';


/** QE's forces (eV/Å) and stress (GPa, pw.x's sign) from a pw.x output's text; stress undefined without tstress. */
export interface QeForcesReference {
  forcesEvPerA: number[][];
  stressGpa?: number[][];
}

/** Read QE's forces (required) and stress (optional) from a pw.x output; a MalaError naming the file without forces. */
export function qeForcesReference(outputText: string, file: string): QeForcesReference {
  let ry: number[][];
  try {
    ry = qeForcesRyPerBohr(outputText, file);
  } catch (e) {
    throw new MalaError('--forces: the pw.x output has no "Forces acting on atoms" block', {
      file,
      fix: 'make the snapshot from a pw.x input with tprnfor = .true. (and tstress = .true. for the stress), or drop --forces',
      cause: e,
    });
  }
  const kbar = qeStressKbar(outputText);
  return {
    forcesEvPerA: ry.map((r) => r.map((x) => (x * rydbergEv) / bohrAngstrom)),
    stressGpa: kbar?.map((r) => r.map((x) => x / KBAR_PER_GPA)),
  };
}

export interface ForceErrors {
  forceRmseEvPerA: number;
  forceMaxEvPerA: number;
  /** QE's rms force component: the scale the RMSE is read against. */
  qeForceRmsEvPerA: number;
  stressMaxGpa?: number;
  pressureErrorGpa?: number;
  pressureModelGpa?: number;
  pressureQeGpa?: number;
}

/** A snapshot's forces, model and QE, eV/Å, one row per atom (the JSON's `forces_ev_per_angstrom`: parity plots, residual fits). */
export interface SnapshotForces extends ForceErrors {
  forcesModelEvPerA: number[][];
  forcesQeEvPerA: number[][];
}

/** Errors of predicted forces (eV/Å) and stress (eV/Å³, ASE's sign) against QE's. */
export function forceErrors(forcesEvPerA: number[][], stressEvPerA3: number[][] | undefined, qe: QeForcesReference, file: string): ForceErrors {
  if (forcesEvPerA.length !== qe.forcesEvPerA.length) {
    throw new MalaError(`--forces: the pw.x output has forces on ${qe.forcesEvPerA.length} atoms, the structure ${forcesEvPerA.length}`, { file, fix: 'use the complete pw.x output of the snapshot' });
  }
  let sq = 0;
  let qsq = 0;
  let max = 0;
  forcesEvPerA.forEach((f, a) =>
    f.forEach((x, k) => {
      const d = x - qe.forcesEvPerA[a][k];
      sq += d * d;
      qsq += qe.forcesEvPerA[a][k] ** 2;
      max = Math.max(max, Math.abs(d));
    }),
  );
  const n = 3 * forcesEvPerA.length;
  const out: ForceErrors = { forceRmseEvPerA: Math.sqrt(sq / n), forceMaxEvPerA: max, qeForceRmsEvPerA: Math.sqrt(qsq / n) };
  if (stressEvPerA3 && qe.stressGpa) {
    // pw.x prints −σ
    const model = stressEvPerA3.map((r) => r.map((x) => -x * evPerA3InGpa));
    let smax = 0;
    for (let a = 0; a < 3; a++) for (let b = 0; b < 3; b++) smax = Math.max(smax, Math.abs(model[a][b] - qe.stressGpa[a][b]));
    const p = (m: number[][]) => (m[0][0] + m[1][1] + m[2][2]) / 3;
    Object.assign(out, { stressMaxGpa: smax, pressureModelGpa: p(model), pressureQeGpa: p(qe.stressGpa), pressureErrorGpa: p(model) - p(qe.stressGpa) });
  }
  return out;
}

/** Predict forces (and stress where QE has one) on the snapshot's structure and compare with QE's. */
export async function snapshotForceErrors(
  read: StructureRead,
  file: string,
  qe: QeForcesReference,
  model: LdosModel,
  o: { pseudoDir?: string; temperatureK: number; memoryMb?: number; warn?: (m: string) => void },
): Promise<SnapshotForces> {
  const r = await predict({
    structureRead: read,
    structureFile: file,
    model,
    pseudoDir: o.pseudoDir,
    temperatureK: o.temperatureK,
    memoryMb: o.memoryMb,
    requireTotalEnergy: true,
    forces: true,
    stress: qe.stressGpa !== undefined,
    // what the model's validation records (or that it records none) is what this run is measuring: not a row's warning
    quoteForceValidation: false,
    warn: o.warn,
  });
  return { ...forceErrors(r.forcesEvPerA!, r.stressEvPerA3, qe, file), forcesModelEvPerA: r.forcesEvPerA!, forcesQeEvPerA: qe.forcesEvPerA };
}
