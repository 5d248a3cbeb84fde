/**
 * What `mala-ts test` reports: per-snapshot errors of the model against the snapshot's LDOS (as
 * MALA's Tester) and against QE, the summary, the --max-error limits, the table and the JSON.
 * Definitions (docs/tester.md):
 *
 *   band, total  (predicted − reference) · 1000 / N_atoms, meV/atom; each LDOS with its own
 *                self-consistent E_F (MALA's Tester `band_energy`, `total_energy`);
 *   fermi        predicted − reference E_F, meV (MALA's `fermi_energy`, which is in eV);
 *   dos          max and mean over energies of |DOS_pred − DOS_target| / N_atoms, states/eV/atom
 *                (MALA's `dos` is the mean, not per atom);
 *   density      mean over points of |n_pred − n_target| / n_target · 100, % (MALA's
 *                `density_relative`), and the mean |n_pred − n_target|, 1/Å³ (MALA's `density`).
 */
import { MalaError } from '../errors';
import { sigmaCoverage, type SigmaCoverage } from '../engine/ensemble';
import { energyTermNames, type EnergyTermName } from '../qe/total-energy';
import type { ParityPoint } from '../io/plot';

/** Observables of one LDOS (the engine's), as the comparison needs them. */
export interface SnapshotObservables {
  fermiEnergyEv: number;
  bandEnergyEv: number;
  totalEnergyEv?: number;
  /** The total energy's terms (QE's names), eV: which of them carries an error. */
  termsEv?: Record<EnergyTermName, number>;
}

export interface SnapshotErrors {
  name: string;
  atomCount: number;
  predicted: SnapshotObservables;
  /** From the snapshot's LDOS; none for a QE reference (pw.x output only), and then no errors vs the target. */
  target?: SnapshotObservables;
  qe: { fermiEnergyEv?: number; totalEnergyEv?: number; bandEnergyEv?: number; sources: string[] };
  /** Model vs the target LDOS. */
  bandMeVPerAtom?: number;
  totalMeVPerAtom?: number;
  /** The total energy's error split into its terms (they sum to totalMeVPerAtom), meV/atom. */
  termsMeVPerAtom?: Record<EnergyTermName, number>;
  fermiMeV?: number;
  dosMaxPerEvAtom?: number;
  dosMeanPerEvAtom?: number;
  densityMapePercent?: number;
  densityMaePerA3?: number;
  /** Model vs QE's numbers (when present). */
  bandQeMeVPerAtom?: number;
  totalQeMeVPerAtom?: number;
  fermiQeMeV?: number;
  /** The target LDOS vs QE: what the LDOS representation itself costs. */
  targetBandQeMeVPerAtom?: number;
  targetTotalQeMeVPerAtom?: number;
  targetFermiQeMeV?: number;
  /** An ensemble model: its size and the members' spread σ (sample standard deviation) of the energies, predict's uncertainty. */
  ensembleSize?: number;
  sigmaBandMeVPerAtom?: number;
  sigmaTotalMeVPerAtom?: number;
  sigmaFermiMeV?: number;
  /** --forces (tester-forces.ts): forces vs QE's, eV/Å; stress vs QE's, GPa (pw.x's sign), where QE printed one. */
  forceRmseEvPerA?: number;
  forceMaxEvPerA?: number;
  qeForceRmsEvPerA?: number;
  stressMaxGpa?: number;
  pressureErrorGpa?: number;
  pressureModelGpa?: number;
  pressureQeGpa?: number;
  /** --forces: the forces themselves, model and QE, eV/Å, one row per atom in the structure's order. */
  forcesModelEvPerA?: number[][];
  forcesQeEvPerA?: number[][];
  /** A model with an energy reference: the shift s(n) of its energy grid for this snapshot, eV (issue 18). */
  energyReferenceShiftEv?: number;
  /** The shortest distance between two atoms (periodic images included), Å: how compressed or disordered the frame is. */
  closestAtomsAngstrom?: number;
  /** Domain check of the snapshot (src/domain/): score in σ of the training cells, inside or not. */
  domainScoreSigma?: number;
  inDomain?: boolean;
  warnings: string[];
  seconds: number;
}

/** DOS (per energy) and densities (per point, the same order) of predicted and target LDOS. */
export function dosAndDensityErrors(dosPredPerEv: ArrayLike<number>, dosTargetPerEv: ArrayLike<number>, nPred: ArrayLike<number>, nTarget: ArrayLike<number>, atomCount: number): Required<Pick<SnapshotErrors, 'dosMaxPerEvAtom' | 'dosMeanPerEvAtom' | 'densityMapePercent' | 'densityMaePerA3'>> {
  if (dosPredPerEv.length !== dosTargetPerEv.length || nPred.length !== nTarget.length) throw new Error('dosAndDensityErrors: lengths differ');
  let dmax = 0;
  let dsum = 0;
  for (let k = 0; k < dosPredPerEv.length; k++) {
    const d = Math.abs(dosPredPerEv[k] - dosTargetPerEv[k]);
    dmax = Math.max(dmax, d);
    dsum += d;
  }
  let rel = 0;
  let abs = 0;
  for (let i = 0; i < nTarget.length; i++) {
    const d = Math.abs(nPred[i] - nTarget[i]);
    abs += d;
    rel += d / Math.abs(nTarget[i]); // MALA divides by the target as it is (an empty point gives ∞, as there)
  }
  return { dosMaxPerEvAtom: dmax / atomCount, dosMeanPerEvAtom: dsum / dosPredPerEv.length / atomCount, densityMapePercent: (100 * rel) / nTarget.length, densityMaePerA3: abs / nTarget.length };
}

const perAtomMeV = (a: number | undefined, b: number | undefined, atoms: number) => (a === undefined || b === undefined ? undefined : ((a - b) * 1000) / atoms);
const meV = (a: number | undefined, b: number | undefined) => (a === undefined || b === undefined ? undefined : (a - b) * 1000);

/** Each term's error, meV/atom, where both sides have their terms. */
function termErrors(predicted: SnapshotObservables, target: SnapshotObservables | undefined, atomCount: number): Record<EnergyTermName, number> | undefined {
  const p = predicted.termsEv;
  const t = target?.termsEv;
  if (!p || !t) return undefined;
  const out = {} as Record<EnergyTermName, number>;
  for (const k of energyTermNames) out[k] = ((p[k] - t[k]) * 1000) / atomCount;
  return out;
}

/** Energy errors of one snapshot from its three sets of numbers (no target: a QE reference, QE's errors only). */
export function energyErrors(predicted: SnapshotObservables, target: SnapshotObservables | undefined, qe: SnapshotErrors['qe'], atomCount: number): Pick<SnapshotErrors, 'bandMeVPerAtom' | 'totalMeVPerAtom' | 'termsMeVPerAtom' | 'fermiMeV' | 'bandQeMeVPerAtom' | 'totalQeMeVPerAtom' | 'fermiQeMeV' | 'targetBandQeMeVPerAtom' | 'targetTotalQeMeVPerAtom' | 'targetFermiQeMeV'> {
  return {
    bandMeVPerAtom: perAtomMeV(predicted.bandEnergyEv, target?.bandEnergyEv, atomCount),
    totalMeVPerAtom: perAtomMeV(predicted.totalEnergyEv, target?.totalEnergyEv, atomCount),
    termsMeVPerAtom: termErrors(predicted, target, atomCount),
    fermiMeV: meV(predicted.fermiEnergyEv, target?.fermiEnergyEv),
    bandQeMeVPerAtom: perAtomMeV(predicted.bandEnergyEv, qe.bandEnergyEv, atomCount),
    totalQeMeVPerAtom: perAtomMeV(predicted.totalEnergyEv, qe.totalEnergyEv, atomCount),
    fermiQeMeV: meV(predicted.fermiEnergyEv, qe.fermiEnergyEv),
    targetBandQeMeVPerAtom: perAtomMeV(target?.bandEnergyEv, qe.bandEnergyEv, atomCount),
    targetTotalQeMeVPerAtom: perAtomMeV(target?.totalEnergyEv, qe.totalEnergyEv, atomCount),
    targetFermiQeMeV: meV(target?.fermiEnergyEv, qe.fermiEnergyEv),
  };
}

/** The quantities a --max-error limit can name, with their unit and where the value is. */
export const LIMIT_QUANTITIES = {
  band: { unit: 'meV/atom', label: 'band energy error vs the target LDOS', get: (r: SnapshotErrors) => r.bandMeVPerAtom, json: 'band_mev_per_atom' },
  total: { unit: 'meV/atom', label: 'total energy error vs the target LDOS', get: (r: SnapshotErrors) => r.totalMeVPerAtom, json: 'total_mev_per_atom' },
  fermi: { unit: 'meV', label: 'Fermi energy error vs the target LDOS', get: (r: SnapshotErrors) => r.fermiMeV, json: 'fermi_mev' },
  'band-qe': { unit: 'meV/atom', label: 'band energy error vs QE', get: (r: SnapshotErrors) => r.bandQeMeVPerAtom, json: 'band_qe_mev_per_atom' },
  'total-qe': { unit: 'meV/atom', label: 'total energy error vs QE', get: (r: SnapshotErrors) => r.totalQeMeVPerAtom, json: 'total_qe_mev_per_atom' },
  'fermi-qe': { unit: 'meV', label: 'Fermi energy error vs QE', get: (r: SnapshotErrors) => r.fermiQeMeV, json: 'fermi_qe_mev' },
  dos: { unit: 'states/eV/atom', label: 'max |ΔDOS|', get: (r: SnapshotErrors) => r.dosMaxPerEvAtom, json: 'dos_max_abs_per_ev_atom' },
  density: { unit: '%', label: 'density mean absolute relative error', get: (r: SnapshotErrors) => r.densityMapePercent, json: 'density_mape_percent' },
  'forces-qe': { unit: 'eV/Å', label: 'force RMSE vs QE', get: (r: SnapshotErrors) => r.forceRmseEvPerA, json: 'force_rmse_ev_per_angstrom' },
  'stress-qe': { unit: 'GPa', label: 'max |Δσ| vs QE', get: (r: SnapshotErrors) => r.stressMaxGpa, json: 'stress_max_abs_gpa' },
} as const;

export type LimitQuantity = keyof typeof LIMIT_QUANTITIES;
export type ErrorLimits = Partial<Record<LimitQuantity, number>>;

const LIMIT_FIX = `e.g. --max-error total=5,band=5,fermi=20 (meV/atom, meV/atom, meV; vs the target LDOS); also ${Object.keys(LIMIT_QUANTITIES).filter((k) => !['band', 'total', 'fermi'].includes(k)).join(', ')}`;

/** `total=5,band=5,fermi=20` → limits on |error|. */
export function parseMaxError(spec: string): ErrorLimits {
  const limits: ErrorLimits = {};
  for (const part of spec.split(',').map((p) => p.trim()).filter((p) => p)) {
    const m = /^([a-z-]+)\s*=\s*(\S+)$/.exec(part);
    if (!m) throw new MalaError(`--max-error: cannot read '${part}' (expected quantity=limit)`, { fix: LIMIT_FIX });
    const key = m[1] as LimitQuantity;
    if (!(key in LIMIT_QUANTITIES)) throw new MalaError(`--max-error: unknown quantity '${m[1]}'`, { fix: `use ${Object.keys(LIMIT_QUANTITIES).join(', ')}; ${LIMIT_FIX}` });
    const v = Number(m[2]);
    if (!(v >= 0) || !Number.isFinite(v)) throw new MalaError(`--max-error: the limit of ${key} must be a number ≥ 0, got '${m[2]}'`, { fix: LIMIT_FIX });
    limits[key] = v;
  }
  if (Object.keys(limits).length === 0) throw new MalaError('--max-error names no limit', { fix: LIMIT_FIX });
  return limits;
}

export interface LimitFailure {
  snapshot: string;
  quantity: LimitQuantity;
  value: number;
  limit: number;
  unit: string;
}

/** Every (snapshot, quantity) whose |error| exceeds its limit; a value that is missing fails too (it cannot be shown to hold). */
export function checkLimits(rows: readonly SnapshotErrors[], limits: ErrorLimits): LimitFailure[] {
  return limitFailures(rows, limits, (r) => r.name, (r, k) => LIMIT_QUANTITIES[k].get(r));
}

/** The same on the rows of a report's JSON (a merged table: tester-merge.ts). */
export function checkLimitsJson(rows: readonly Record<string, unknown>[], limits: ErrorLimits): LimitFailure[] {
  return limitFailures(rows, limits, (r) => String(r.name), (r, k) => (typeof r[LIMIT_QUANTITIES[k].json] === 'number' ? (r[LIMIT_QUANTITIES[k].json] as number) : undefined));
}

function limitFailures<R>(rows: readonly R[], limits: ErrorLimits, name: (r: R) => string, get: (r: R, k: LimitQuantity) => number | undefined): LimitFailure[] {
  const out: LimitFailure[] = [];
  for (const r of rows) {
    for (const [k, limit] of Object.entries(limits) as [LimitQuantity, number][]) {
      const v = get(r, k);
      if (v === undefined || !(Math.abs(v) <= limit)) out.push({ snapshot: name(r), quantity: k, value: v ?? NaN, limit, unit: LIMIT_QUANTITIES[k].unit });
    }
  }
  return out;
}

/** A failure as the JSON has it (NaN, a missing value, as null). */
export const failureJson = (f: LimitFailure) => ({ snapshot: f.snapshot, quantity: f.quantity, value: Number.isNaN(f.value) ? null : f.value, limit: f.limit, unit: f.unit });

type JsonRow = Record<string, unknown>;
const numberAt = (r: JsonRow, key: string): number | undefined => (typeof r[key] === 'number' ? (r[key] as number) : undefined);

/** Summary columns: key in the JSON, value of a JSON row (so that merged tables are summarised as fresh ones). */
const SUMMARY: [string, (r: JsonRow) => number | undefined][] = [
  ...[
    'band_mev_per_atom',
    'total_mev_per_atom',
    'fermi_mev',
    'band_qe_mev_per_atom',
    'total_qe_mev_per_atom',
    'fermi_qe_mev',
    'dos_max_abs_per_ev_atom',
    'dos_mean_abs_per_ev_atom',
    'density_mape_percent',
    'density_mae_per_a3',
    'force_rmse_ev_per_angstrom',
    'force_max_abs_ev_per_angstrom',
    'stress_max_abs_gpa',
    'pressure_error_gpa',
  ].map((k): [string, (r: JsonRow) => number | undefined] => [k, (r) => numberAt(r, k)]),
  ['ensemble_sigma_total_mev_per_atom', (r) => (r.ensemble ? numberAt(r.ensemble as JsonRow, 'sigma_total_mev_per_atom') : undefined)],
];

/** Mean and max |error| per quantity over the snapshots (JSON rows) that have it. */
export function summarize(rows: readonly JsonRow[]): Record<string, { mean_abs: number; max_abs: number; count: number }> {
  const s: Record<string, { mean_abs: number; max_abs: number; count: number }> = {};
  for (const [key, get] of SUMMARY) {
    const v = rows.map(get).filter((x): x is number => x !== undefined).map(Math.abs);
    if (v.length) s[key] = { mean_abs: v.reduce((a, b) => a + b, 0) / v.length, max_abs: Math.max(...v), count: v.length };
  }
  return s;
}

export interface TestReport {
  model: string;
  modelSha256?: string;
  malaTsVersion?: string;
  dataDir: string;
  rows: SnapshotErrors[];
  limits?: ErrorLimits;
  failures: LimitFailure[];
}

export const DEFINITIONS = {
  sign: 'error = model − reference',
  band_mev_per_atom: "band energy, each LDOS with its own self-consistent E_F, meV/atom (MALA Tester 'band_energy')",
  total_mev_per_atom: "total energy (MALA's formula, the free energy E − TS), meV/atom (MALA Tester 'total_energy')",
  fermi_mev: "self-consistent Fermi energy, meV (MALA Tester 'fermi_energy', there in eV)",
  terms_mev_per_atom:
    "total_mev_per_atom split into the total energy's terms (QE's names: e_band, e_rho_times_v_hxc the double-counting −∫n·v_Hxc, e_hartree, e_xc, e_ewald, e_entropy −TS), meV/atom, each model − target; they sum to total_mev_per_atom; predicted/target terms_ev the terms themselves, eV",
  qe: "QE's numbers: E_F and the eigenvalue band energy Σ w f ε from info.json (else the pw.x output's E_F), the total energy = pw.x's '!' line",
  dos_max_abs_per_ev_atom: 'max over energies of |DOS_model − DOS_target| / N_atoms, states/eV/atom',
  dos_mean_abs_per_ev_atom: "mean over energies of |DOS_model − DOS_target| / N_atoms, states/eV/atom (MALA Tester 'dos' without the 1/N_atoms)",
  density_mape_percent: "mean over grid points of |n_model − n_target| / n_target · 100 (MALA Tester 'density_relative')",
  density_mae_per_a3: "mean over grid points of |n_model − n_target|, electrons/Å³ (MALA Tester 'density')",
  force_rmse_ev_per_angstrom: "--forces: RMSE over the 3N Cartesian components of F_model − F_QE (pw.x's last 'Forces acting on atoms'), eV/Å; descriptors recomputed from the atoms",
  forces_ev_per_angstrom: "--forces: the forces themselves, {model, qe}, eV/Å, one [Fx, Fy, Fz] row per atom in the structure's order (parity plots, bench/force-residual-pairs.ts)",
  ensemble: "an ensemble model is tested as predict runs it (the members' mean LDOS); sigma_*: the members' sample standard deviation, predict's uncertainty",
  energy_reference_shift_ev:
    "a model with an energy reference: its LDOS energies for the snapshot are its grid shifted by this (eV); the target LDOS stays on the grid as written, so the DOS errors compare the target's energies inside the shifted grid's span, the model's DOS linearly interpolated to them",
  data: "a table grown with `mala-ts test --merge`: each row's data folder (the top-level data lists them all); the summary and the failures cover every row, with the limits of the run that wrote it",
  closest_atoms_angstrom: 'the shortest distance between two atoms of the snapshot, periodic images included, Å (hot or compressed frames have short ones)',
  stress_max_abs_gpa: "--forces, where pw.x printed a stress (tstress): max over the 9 components of |σ_model − σ_QE|, GPa (pw.x's sign); pressure_error_gpa: P_model − P_QE",
};

const observablesJson = (o: SnapshotObservables) => ({ fermi_energy_ev: o.fermiEnergyEv, band_energy_ev: o.bandEnergyEv, total_energy_ev: o.totalEnergyEv, ...(o.termsEv ? { terms_ev: o.termsEv } : {}) });

/** --json and VALIDATION.json: per-snapshot rows, summary, limits, failures (snake_case). */
export function testReportJson(r: TestReport): Record<string, unknown> {
  const snapshots: JsonRow[] = r.rows.map((s) => ({
    name: s.name,
    atoms: s.atomCount,
    band_mev_per_atom: s.bandMeVPerAtom,
    total_mev_per_atom: s.totalMeVPerAtom,
    ...(s.termsMeVPerAtom ? { terms_mev_per_atom: s.termsMeVPerAtom } : {}),
    fermi_mev: s.fermiMeV,
    band_qe_mev_per_atom: s.bandQeMeVPerAtom,
    total_qe_mev_per_atom: s.totalQeMeVPerAtom,
    fermi_qe_mev: s.fermiQeMeV,
    dos_max_abs_per_ev_atom: s.dosMaxPerEvAtom,
    dos_mean_abs_per_ev_atom: s.dosMeanPerEvAtom,
    density_mape_percent: s.densityMapePercent,
    density_mae_per_a3: s.densityMaePerA3,
    force_rmse_ev_per_angstrom: s.forceRmseEvPerA,
    force_max_abs_ev_per_angstrom: s.forceMaxEvPerA,
    qe_force_rms_ev_per_angstrom: s.qeForceRmsEvPerA,
    stress_max_abs_gpa: s.stressMaxGpa,
    pressure_error_gpa: s.pressureErrorGpa,
    pressure_gpa: s.pressureModelGpa === undefined ? undefined : { model: s.pressureModelGpa, qe: s.pressureQeGpa },
    forces_ev_per_angstrom: s.forcesModelEvPerA === undefined ? undefined : { model: s.forcesModelEvPerA, qe: s.forcesQeEvPerA },
    ensemble: s.ensembleSize === undefined ? undefined : { size: s.ensembleSize, sigma_band_mev_per_atom: s.sigmaBandMeVPerAtom, sigma_total_mev_per_atom: s.sigmaTotalMeVPerAtom, sigma_fermi_mev: s.sigmaFermiMeV },
    target_vs_qe: s.target ? { band_mev_per_atom: s.targetBandQeMeVPerAtom, total_mev_per_atom: s.targetTotalQeMeVPerAtom, fermi_mev: s.targetFermiQeMeV } : undefined,
    predicted: observablesJson(s.predicted),
    target: s.target ? observablesJson(s.target) : undefined,
    qe: { fermi_energy_ev: s.qe.fermiEnergyEv, band_energy_ev: s.qe.bandEnergyEv, total_energy_ev: s.qe.totalEnergyEv, sources: s.qe.sources },
    ...(s.energyReferenceShiftEv !== undefined ? { energy_reference_shift_ev: s.energyReferenceShiftEv } : {}),
    closest_atoms_angstrom: s.closestAtomsAngstrom,
    domain_score_sigma: s.domainScoreSigma,
    in_domain: s.inDomain,
    warnings: s.warnings,
    seconds: s.seconds,
  }));
  return {
    model: r.model,
    model_sha256: r.modelSha256,
    mala_ts_version: r.malaTsVersion,
    data: r.dataDir,
    definitions: DEFINITIONS,
    snapshots,
    summary: summarize(snapshots),
    max_error: r.limits,
    failures: r.failures.map(failureJson),
    passed: r.failures.length === 0,
  };
}

const signed = (v: number | undefined, d = 2) => (v === undefined ? '–' : `${v >= 0 ? '+' : ''}${v.toFixed(d)}`);
const fixed = (v: number | undefined, d: number) => (v === undefined ? '–' : v.toFixed(d));

/** A row's forces, model and QE, eV/Å, one [Fx, Fy, Fz] per atom. */
export interface RowForcesEvPerA {
  model: number[][];
  qe: number[][];
}

const isForceRows = (v: unknown): v is number[][] =>
  Array.isArray(v) && v.every((f) => Array.isArray(f) && f.length === 3 && f.every((x) => typeof x === 'number' && Number.isFinite(x)));

/**
 * The forces of one row of a `mala-ts test --forces --json` table (`forces_ev_per_angstrom`), or
 * undefined when the row has none (a test without --forces). The one reader of that field: a row
 * whose model and QE forces are not both one finite [Fx, Fy, Fz] per atom, as many atoms each, is
 * an error (`where` names the file), not NaNs in a plot or a fit.
 */
export function rowForcesEvPerA(row: Record<string, unknown> | undefined, where: string): RowForcesEvPerA | undefined {
  const f = row?.forces_ev_per_angstrom as { model?: unknown; qe?: unknown } | undefined;
  if (f === undefined || f === null) return undefined;
  if (!isForceRows(f.model) || !isForceRows(f.qe) || f.model.length !== f.qe.length || f.model.length === 0) {
    throw new Error(`${where}: row ${String(row?.name)}: forces_ev_per_angstrom is not {model, qe} with one finite [Fx, Fy, Fz] per atom for both (remake the table with mala-ts test --forces --json)`);
  }
  return { model: f.model, qe: f.qe };
}

/** The same, for readers that need every row's forces: a row without them is an error naming the file. */
export function requireRowForcesEvPerA(row: Record<string, unknown>, where: string): RowForcesEvPerA {
  const f = rowForcesEvPerA(row, where);
  if (!f) throw new Error(`${where}: row ${String(row.name)} has no forces_ev_per_angstrom (make the table with mala-ts test --forces --json, 2026-12-07 or later)`);
  return f;
}

/** Every force component of the rows that carry forces (`forces_ev_per_angstrom`), for the parity plot. */
export function forceParityPoints(rows: readonly Record<string, unknown>[], where = 'the test table'): ParityPoint[] {
  const points: ParityPoint[] = [];
  for (const row of rows) {
    const f = rowForcesEvPerA(row, where);
    if (!f) continue;
    f.qe.forEach((q, a) => q.forEach((x, k) => points.push({ snapshot: String(row.name), qeEvPerA: x, modelEvPerA: f.model[a][k] })));
  }
  return points;
}

/** σ(E_total) of an ensemble's rows (JSON, snake_case) against their |total-energy error vs QE|; undefined without an ensemble. */
export function sigmaCoverageOfRows(rows: readonly Record<string, unknown>[]): SigmaCoverage | undefined {
  const pairs: [number, number][] = [];
  for (const row of rows) {
    const err = row?.total_qe_mev_per_atom;
    const sigma = (row?.ensemble as { sigma_total_mev_per_atom?: unknown } | undefined)?.sigma_total_mev_per_atom;
    if (typeof err === 'number' && typeof sigma === 'number') pairs.push([err, sigma]);
  }
  return sigmaCoverage(pairs);
}

/** The table a person reads, from the JSON (so that model-info prints a stored VALIDATION.json the same way). */
export function formatTestTable(j: Record<string, unknown>): string {
  const rows = (j.snapshots as Record<string, unknown>[]) ?? [];
  const n = (r: Record<string, unknown>, k: string) => (typeof r[k] === 'number' ? (r[k] as number) : undefined);
  // --forces columns only when some snapshot has them
  const hasF = rows.some((r) => typeof r.force_rmse_ev_per_angstrom === 'number');
  const hasS = rows.some((r) => typeof r.stress_max_abs_gpa === 'number');
  const sig = (r: Record<string, unknown>) => (r.ensemble as { sigma_total_mev_per_atom?: number } | undefined)?.sigma_total_mev_per_atom;
  const hasE = rows.some((r) => typeof sig(r) === 'number');
  // the closest pair marks the frames a network gets most wrong (models/al-fcc-broad/RECIPE.md, "Close pairs")
  const hasC = rows.some((r) => typeof r.closest_atoms_angstrom === 'number');
  // the columns against the target LDOS only when some snapshot has one (not on QE references alone)
  const hasT = rows.length === 0 || rows.some((r) => r.target !== undefined);
  const head = ['snapshot', 'atoms', ...(hasT ? ['ΔE_band', 'ΔE_tot', 'ΔE_F'] : []), 'ΔE_band QE', 'ΔE_tot QE', 'ΔE_F QE', ...(hasT ? ['max|ΔDOS|', 'Δn'] : []), ...(hasF ? ['F RMSE', 'max|ΔF|'] : []), ...(hasS ? ['max|Δσ|', 'ΔP'] : []), ...(hasE ? ['σ(E_tot)'] : []), ...(hasC ? ['closest'] : [])];
  const units = ['', '', ...(hasT ? ['meV/atom', 'meV/atom', 'meV'] : []), 'meV/atom', 'meV/atom', 'meV', ...(hasT ? ['1/eV/atom', '%'] : []), ...(hasF ? ['eV/Å', 'eV/Å'] : []), ...(hasS ? ['GPa', 'GPa'] : []), ...(hasE ? ['meV/atom'] : []), ...(hasC ? ['Å'] : [])];
  const body = rows.map((r) => [
    String(r.name) + (r.in_domain === false ? ' (!)' : ''),
    String(r.atoms),
    ...(hasT ? [signed(n(r, 'band_mev_per_atom')), signed(n(r, 'total_mev_per_atom')), signed(n(r, 'fermi_mev'), 1)] : []),
    signed(n(r, 'band_qe_mev_per_atom')),
    signed(n(r, 'total_qe_mev_per_atom')),
    signed(n(r, 'fermi_qe_mev'), 1),
    ...(hasT ? [fixed(n(r, 'dos_max_abs_per_ev_atom'), 4), fixed(n(r, 'density_mape_percent'), 3)] : []),
    ...(hasF ? [fixed(n(r, 'force_rmse_ev_per_angstrom'), 4), fixed(n(r, 'force_max_abs_ev_per_angstrom'), 4)] : []),
    ...(hasS ? [fixed(n(r, 'stress_max_abs_gpa'), 2), signed(n(r, 'pressure_error_gpa'))] : []),
    ...(hasE ? [fixed(sig(r), 2)] : []),
    ...(hasC ? [fixed(n(r, 'closest_atoms_angstrom'), 3)] : []),
  ]);
  const all = [head, units, ...body];
  const w = head.map((_, c) => Math.max(...all.map((row) => row[c].length)));
  const line = (row: string[]) => row.map((v, c) => (c === 0 ? v.padEnd(w[c]) : v.padStart(w[c]))).join('  ').trimEnd() + '\n';
  let text = all.map(line).join('');
  const s = (j.summary ?? {}) as Record<string, { mean_abs: number; max_abs: number }>;
  const part = (key: string, label: string, unit: string, d = 2) => (s[key] ? `${label} ${s[key].mean_abs.toFixed(d)}/${s[key].max_abs.toFixed(d)} ${unit}` : undefined);
  const parts = [
    part('band_mev_per_atom', 'band', 'meV/atom'),
    part('total_mev_per_atom', 'total', 'meV/atom'),
    part('fermi_mev', 'E_F', 'meV', 1),
    part('band_qe_mev_per_atom', 'band vs QE', 'meV/atom'),
    part('total_qe_mev_per_atom', 'total vs QE', 'meV/atom'),
    part('fermi_qe_mev', 'E_F vs QE', 'meV', 1),
    part('dos_max_abs_per_ev_atom', 'max|ΔDOS|', '1/eV/atom', 4),
    part('density_mape_percent', 'density', '%', 3),
    part('force_rmse_ev_per_angstrom', 'force RMSE vs QE', 'eV/Å', 4),
    part('stress_max_abs_gpa', 'max|Δσ| vs QE', 'GPa'),
    part('pressure_error_gpa', 'ΔP vs QE', 'GPa'),
    part('ensemble_sigma_total_mev_per_atom', 'ensemble σ(E_tot)', 'meV/atom'),
  ].filter((p) => p);
  text += `summary over ${rows.length} snapshot${rows.length === 1 ? '' : 's'}, mean/max |error|: ${parts.join('; ')}\n`;
  const cov = sigmaCoverageOfRows(rows);
  if (cov) text += `ensemble σ(E_tot) against |ΔE_tot QE|: within 1σ on ${cov.covered} of ${cov.frames} snapshots, within 2σ on ${cov.coveredTwoSigma}; largest |error|/σ ${cov.maxErrorOverSigma.toFixed(1)}; mean σ ${cov.meanSigmaMeVPerAtom.toFixed(2)} against mean |error| ${cov.meanAbsErrorMeVPerAtom.toFixed(2)} meV/atom\n`;
  // a table of QE references only (pw.x outputs, no LDOS) has no target columns' values
  text += hasT
    ? 'Δ = model − reference; reference: the snapshot\'s LDOS (as MALA\'s Tester), "QE" columns: pw.x\'s numbers; Δn: mean |relative density error|'
    : 'Δ = model − reference; "QE" columns: pw.x\'s numbers (pw.x outputs only: no LDOS, so no errors vs a target LDOS)';
  text += rows.some((r) => r.in_domain === false) ? '; (!) outside the training domain\n' : '\n';
  const failures = (j.failures as { snapshot: string; quantity: string; value: number | null; limit: number; unit: string }[]) ?? [];
  const limits = j.max_error as Record<string, number> | undefined;
  if (limits) {
    const spec = Object.entries(limits).map(([k, v]) => `${k}=${v}`).join(',');
    if (failures.length === 0) text += `PASSED --max-error ${spec} on every snapshot\n`;
    for (const f of failures) {
      const label = LIMIT_QUANTITIES[f.quantity as LimitQuantity]?.label ?? f.quantity;
      text += `FAILED ${f.snapshot}: ${label} ${f.value === null ? 'not available' : `${signed(f.value)} ${f.unit}`}, limit ${f.limit} ${f.unit}\n`;
    }
  }
  return text;
}
