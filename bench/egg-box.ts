/**
 * The grid's share of the force error (issue 16; a diagnostic, not a test): how much a prediction
 * changes when every atom moves by the same vector. The energy of the physics is translation
 * invariant, but the descriptors are evaluated on QE's fixed real-space grid, so a shift by part
 * of a grid voxel changes what the network sees (the "egg-box" effect). That change is a floor
 * under the force error that no model or training data can remove at that grid.
 *
 *   npx tsx bench/egg-box.ts --model M --structure FILE [--pseudo-dir D] [--shifts 6] [--out egg-box.json]
 *
 * Predicts the structure as given (energy and forces, the model's default backend and native
 * descriptor kernel), then after --shifts rigid translations by fractions of one voxel (Halton
 * points, bases 2, 3, 5, of the voxel spanned by cell row i / grid points i), then after a
 * translation by one whole voxel along every axis: the control, which maps the grid onto itself
 * and must change nothing beyond rounding. Per shift: the total energy change (meV/atom), the
 * RMS and largest change of a force component (eV/Å) against the unshifted prediction, and |ΣF|
 * (eV/Å; zero for an energy that is exactly translation invariant). The summary puts the RMS of
 * the force change over all sub-voxel shifts (the egg-box floor) beside the model's force RMSE
 * against QE from its VALIDATION.json when it has one.
 */
import { writeFileAtomic } from '../src/io/atomic-write';
import { LdosModel, loadModel } from '../src/network/model';
import { Atoms, Mat3, Vec3 } from '../src/structure/atoms';
import { readStructure, StructureRead } from '../src/structure/registry';
import { recordedForceValidation } from '../src/workflow/model-info';
import { predict } from '../src/workflow/predict';
import { forceErrors } from '../src/workflow/tester-forces';
import { arg, helpIfAsked } from './help';

if (require.main === module) helpIfAsked(__filename);

/** The i-th point (i ≥ 1) of the Halton sequence in base b, in (0, 1). */
function radicalInverse(i: number, b: number): number {
  let f = 1;
  let r = 0;
  for (let n = i; n > 0; n = Math.floor(n / b)) {
    f /= b;
    r += f * (n % b);
  }
  return r;
}

/** `count` fractional offsets inside one voxel (Halton points 1..count, bases 2, 3, 5), none on a grid point. */
export function subVoxelFractions(count: number): Vec3[] {
  return Array.from({ length: count }, (_, k) => [radicalInverse(k + 1, 2), radicalInverse(k + 1, 3), radicalInverse(k + 1, 5)] as Vec3);
}

/** Fractions (f1, f2, f3) of a voxel as a Cartesian vector, Å: Σ_i f_i · cell row i / grid_i. */
export function voxelShiftAngstrom(cell: Mat3, grid: readonly number[], fractions: Vec3): Vec3 {
  const v: Vec3 = [0, 0, 0];
  for (let i = 0; i < 3; i++) for (let d = 0; d < 3; d++) v[d] += (fractions[i] * cell[i][d]) / grid[i];
  return v;
}

/** Every atom moved by the same vector (Å); cell and species unchanged. */
export function translatedAtoms(atoms: Atoms, shiftAngstrom: Vec3): Atoms {
  return { ...atoms, positionsAngstrom: atoms.positionsAngstrom.map((p) => [p[0] + shiftAngstrom[0], p[1] + shiftAngstrom[1], p[2] + shiftAngstrom[2]] as Vec3) };
}

export interface EnergyForces {
  totalEnergyEv: number;
  forcesEvPerA: number[][];
}

export interface ShiftChange {
  /** E(shifted) − E(unshifted), meV/atom. */
  energyMeVPerAtom: number;
  /** RMS and largest |ΔF| over all atoms and components, eV/Å. */
  forceRmsEvPerA: number;
  forceMaxEvPerA: number;
  /** |Σ_I F_I| of the shifted prediction, eV/Å. */
  netForceEvPerA: number;
}

/** |Σ_I F_I|, eV/Å: zero for an energy that is exactly translation invariant. */
function netForceEvPerA(f: number[][]): number {
  return Math.hypot(...[0, 1, 2].map((d) => f.reduce((s, v) => s + v[d], 0)));
}

/** How a shifted prediction differs from the unshifted one (atoms in the same order; the force change as the tester's force error). */
export function shiftChange(base: EnergyForces, shifted: EnergyForces): ShiftChange {
  const n = base.forcesEvPerA.length;
  const f = forceErrors(shifted.forcesEvPerA, undefined, { forcesEvPerA: base.forcesEvPerA }, '<the unshifted prediction>');
  return {
    energyMeVPerAtom: ((shifted.totalEnergyEv - base.totalEnergyEv) / n) * 1000,
    forceRmsEvPerA: f.forceRmseEvPerA,
    forceMaxEvPerA: f.forceMaxEvPerA,
    netForceEvPerA: netForceEvPerA(shifted.forcesEvPerA),
  };
}

export interface EggBoxReport {
  structure: string;
  model: string;
  atoms: number;
  grid: number[];
  /** One row per sub-voxel shift, then the whole-voxel control. */
  shifts: (ShiftChange & { fractions: Vec3; shiftAngstrom: Vec3 })[];
  control: ShiftChange & { shiftAngstrom: Vec3 };
  unshiftedNetForceEvPerA: number;
  /** RMS of the force change over all sub-voxel shifts, eV/Å; the largest |energy change|, meV/atom. */
  eggBoxForceRmsEvPerA: number;
  eggBoxEnergyMaxMeVPerAtom: number;
}

/** Predictions of `read` unshifted, after each sub-voxel shift and after one whole voxel. */
export async function measureEggBox(opts: { read: StructureRead; model: LdosModel; pseudoDir?: string; shifts: number; log?: (line: string) => void }): Promise<EggBoxReport> {
  const log = opts.log ?? (() => undefined);
  const run = async (atoms: Atoms) => {
    const r = await predict({ structureRead: { ...opts.read, atoms }, structureFile: opts.read.file, model: opts.model, pseudoDir: opts.pseudoDir, requireTotalEnergy: true, forces: true, quoteForceValidation: false });
    if (!r.forcesEvPerA || !r.totalEnergy) throw new Error(`${opts.read.file}: the prediction has no forces or total energy`);
    return { totalEnergyEv: r.totalEnergy.totalEnergyEv, forcesEvPerA: r.forcesEvPerA, grid: r.gridShape };
  };
  const atoms = opts.read.atoms;
  const base = await run(atoms);
  log(`unshifted: E ${base.totalEnergyEv.toFixed(6)} eV, grid ${base.grid.join('×')}, |ΣF| ${netForceEvPerA(base.forcesEvPerA).toFixed(4)} eV/Å`);
  const shifts: EggBoxReport['shifts'] = [];
  for (const fractions of subVoxelFractions(opts.shifts)) {
    const shiftAngstrom = voxelShiftAngstrom(atoms.cellAngstrom, base.grid, fractions);
    const row = { fractions, shiftAngstrom, ...shiftChange(base, await run(translatedAtoms(atoms, shiftAngstrom))) };
    shifts.push(row);
    log(formatRow(`voxel × (${fractions.map((f) => f.toFixed(3)).join(', ')})`, row));
  }
  const whole = voxelShiftAngstrom(atoms.cellAngstrom, base.grid, [1, 1, 1]);
  const control = { shiftAngstrom: whole, ...shiftChange(base, await run(translatedAtoms(atoms, whole))) };
  log(formatRow('one whole voxel (control)', control));
  const all = shifts.map((s) => s.forceRmsEvPerA ** 2);
  return {
    structure: opts.read.file,
    model: opts.model.source,
    atoms: atoms.positionsAngstrom.length,
    grid: base.grid,
    shifts,
    control,
    unshiftedNetForceEvPerA: netForceEvPerA(base.forcesEvPerA),
    eggBoxForceRmsEvPerA: Math.sqrt(all.reduce((s, x) => s + x, 0) / Math.max(1, all.length)),
    eggBoxEnergyMaxMeVPerAtom: Math.max(0, ...shifts.map((s) => Math.abs(s.energyMeVPerAtom))),
  };
}

function formatRow(what: string, r: ShiftChange): string {
  const e = `${r.energyMeVPerAtom >= 0 ? '+' : ''}${r.energyMeVPerAtom.toFixed(4)}`;
  return `${what.padEnd(34)} ΔE ${e.padStart(9)} meV/atom   ΔF rms ${r.forceRmsEvPerA.toFixed(4)} max ${r.forceMaxEvPerA.toFixed(4)} eV/Å   |ΣF| ${r.netForceEvPerA.toFixed(4)} eV/Å`;
}

async function main(): Promise<void> {
  const modelFile = arg('model');
  const read = readStructure(arg('structure'));
  const shifts = Number(arg('shifts', '6'));
  if (!Number.isInteger(shifts) || shifts < 1) throw new Error(`--shifts ${arg('shifts', '')}: give a whole number ≥ 1`);
  const pseudoDir = arg('pseudo-dir', '') || undefined;
  const out = arg('out', '');
  const model = loadModel(modelFile);
  const report = await measureEggBox({ read, model, pseudoDir, shifts, log: (l) => console.log(l) });
  // the model's own table only (model-info checks that VALIDATION.json was written for this file)
  const qe = recordedForceValidation(modelFile)?.forceRmseMeanEvPerA;
  console.log(
    `\negg-box floor over ${shifts} sub-voxel shifts: force change ${report.eggBoxForceRmsEvPerA.toFixed(4)} eV/Å RMS, energy change up to ${report.eggBoxEnergyMaxMeVPerAtom.toFixed(4)} meV/atom` +
      (qe !== undefined ? `; the model's force RMSE against QE (VALIDATION.json, mean over frames): ${qe.toFixed(3)} eV/Å` : ''),
  );
  if (out) writeFileAtomic(out, JSON.stringify({ ...report, validationForceRmseEvPerA: qe ?? null }, null, 2) + '\n');
}

if (require.main === module) {
  main().catch((e) => {
    console.error(`egg-box: ${(e as Error).message}`);
    process.exit(1);
  });
}
