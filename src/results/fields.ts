/**
 * One description of a prediction's results: one row per quantity, with its JSON key, unit and
 * label, and where it appears (terminal summary, calculator property, pw.x-format output). The
 * views in ./views.ts (results.json / --json, the summary, the calculator, the pw output) read
 * only this table, so adding a result quantity is one row here.
 *
 * The JSON keys are the shipped ones (results.json, `predict --json`, `observables --json`) and
 * the table's order is their key order: users diff and parse these files, so neither changes.
 *
 * Types only from workflow/ and io/ (no value import: this module sits below both).
 */
import * as path from 'node:path';
import type { PwOutputInput } from '../io/pw-output';
import { kTEv } from '../structure/units';
import type { ObservablesResult } from '../engine/types';
import type { PredictResult } from './predict-result';
import { domainJson, domainSummary } from '../domain/domain-check';
import type { EnsembleSpread } from '../engine/ensemble';
import { evPerA3InGpa } from '../engine/stress';

/** ASE's implemented_properties; each is a row's `calculator` name below (a test checks both ways). */
export const implementedProperties = [
  'energy',
  'free_energy',
  'fermi_level',
  'band_energy',
  'entropy_contribution',
  'energy_contributions',
  'number_of_electrons',
  'dos',
  'forces',
] as const;
export type PropertyName = (typeof implementedProperties)[number];

/** A summary line: [label, text] (labels are padded to one column) or a line printed as it is. */
export type SummaryLine = readonly [string, string] | string;

export interface SummaryEntry<R> {
  /** head/tail: predict's lines around the observables body (`formatPredictSummary`). Default body. */
  section?: 'head' | 'body' | 'tail';
  /** Position within the section (ties: table order). Default 100: after the energies, before files and warnings. */
  order?: number;
  /** The lines; default one line `label  value unit`, none when the value is undefined. */
  lines?: (r: R) => SummaryLine[];
}

/** The pw.x-format output's inputs that come from the result (src/io/pw-output.ts). */
export type PwResultKey = 'electrons' | 'grid' | 'gVectorCount' | 'xcFunctional' | 'fermiEnergyEv' | 'totalEnergyEv' | 'termsEv' | 'modelName';
export type PwResultValues = Pick<PwOutputInput, PwResultKey>;

export interface ResultField<R> {
  /** The result's field, or a name for a value derived from one (`totalEnergyEv` of `totalEnergy`). */
  key: string;
  /** The value; default `r[key]`. */
  value?: (r: R) => unknown;
  /** Unit of the value ('' for counts, flags, names). */
  unit: string;
  /** What a person reads (summary label, documentation). */
  label: string;
  /** results.json / --json key; none: not in the JSON. */
  jsonKey?: string;
  /** The JSON value when it differs from the value (plain arrays, snake_case inner keys). */
  json?: (r: R) => unknown;
  /** Whether the key is written at all; default always (even when the value is undefined). */
  jsonIf?: (r: R) => boolean;
  summary?: SummaryEntry<R> | SummaryEntry<R>[];
  /** MalaCalculator property names (ASE's), and the property value when it differs from the value. */
  calculator?: { names: PropertyName[]; value?: (r: R) => unknown };
  /** Which input of the pw.x-format output it feeds, and that input's value when it differs. */
  pw?: { key: PwResultKey; value?: (r: R) => unknown };
}

/** The numbers of the summary: fixed 6 digits, exponent for small ones. */
export const fmt = (v: number, digits = 6): string => (Math.abs(v) < 1e-3 && v !== 0 ? v.toExponential(digits - 1) : v.toFixed(digits));

/** Quantities of every result (`observables` and `predict`), in JSON key order. */
export const observableFields: ResultField<ObservablesResult>[] = [
  {
    key: 'fermiEnergyEv',
    unit: 'eV',
    label: 'Fermi energy',
    jsonKey: 'fermi_energy_ev',
    summary: {
      order: 40,
      lines: (r) => [[r.fermiEnergyIsSelfConsistent ? 'Fermi energy (self-consistent)' : 'Fermi energy (given)', `${fmt(r.fermiEnergyEv, 6)} eV${r.fermiEnergyDftEv !== undefined ? `  (DFT printed ${r.fermiEnergyDftEv} eV)` : ''}`]],
    },
    calculator: { names: ['fermi_level'] },
    pw: { key: 'fermiEnergyEv' },
  },
  { key: 'fermiEnergyIsSelfConsistent', unit: '', label: 'Fermi energy is self-consistent', jsonKey: 'fermi_energy_is_self_consistent' },
  { key: 'bandEnergyEv', unit: 'eV', label: 'band energy', jsonKey: 'band_energy_ev', summary: { order: 50 }, calculator: { names: ['band_energy'] } },
  { key: 'entropyContributionEv', unit: 'eV', label: 'entropy contribution −TS', jsonKey: 'entropy_contribution_ev', summary: { order: 60 }, calculator: { names: ['entropy_contribution'] } },
  { key: 'numberOfElectrons', unit: 'electrons', label: 'N(E_F)', jsonKey: 'number_of_electrons', calculator: { names: ['number_of_electrons'] } },
  {
    key: 'electronsRequested',
    unit: 'electrons',
    label: 'electrons',
    jsonKey: 'number_of_electrons_requested',
    summary: { order: 30, lines: (r) => [['electrons', `${fmt(r.electronsRequested, 6)} requested, N(E_F) = ${fmt(r.numberOfElectrons, 9)}`]] },
    pw: { key: 'electrons' },
  },
  {
    key: 'densityElectrons',
    unit: 'electrons',
    label: 'density',
    jsonKey: 'density_electrons',
    summary: { order: 70, lines: (r) => [['density', `∫n dV = ${fmt(r.densityElectrons, 6)} electrons, n in [${fmt(r.densityMinPerA3, 5)}, ${fmt(r.densityMaxPerA3, 5)}] 1/Å³`]] },
  },
  { key: 'densityMinPerA3', unit: '1/Å³', label: 'smallest density', jsonKey: 'density_min_per_a3' },
  { key: 'densityMaxPerA3', unit: '1/Å³', label: 'largest density', jsonKey: 'density_max_per_a3' },
  {
    key: 'temperatureK',
    unit: 'K',
    label: 'temperature',
    jsonKey: 'temperature_k',
    summary: { order: 20, lines: (r) => [['temperature', `${r.temperatureK.toFixed(4)} K  (kT = ${fmt(kTEv(r.temperatureK), 6)} eV)`]] },
  },
  {
    key: 'energyGrid',
    unit: 'eV',
    label: 'LDOS energy grid',
    jsonKey: 'energy_grid',
    json: (r) => ({ offset_ev: r.energyGrid.offsetEv, spacing_ev: r.energyGrid.spacingEv, count: r.energyGrid.count }),
  },
  {
    // a predict result's (issue 18): the model's energy reference moved the grid above by s(n); absent without one
    key: 'energyReference',
    value: (r) => (r as Partial<PredictResult>).energyReference?.shiftEv,
    unit: 'eV',
    label: 'energy reference shift',
    jsonKey: 'energy_reference_shift_ev',
    jsonIf: (r) => (r as Partial<PredictResult>).energyReference !== undefined,
    summary: { order: 15, lines: (r) => energyReferenceSummary((r as Partial<PredictResult>).energyReference) },
  },
  { key: 'energiesEv', unit: 'eV', label: 'DOS energies', jsonKey: 'energies_ev', json: (r) => Array.from(r.energiesEv) },
  {
    key: 'dosPerEv',
    unit: '1/eV',
    label: 'DOS',
    jsonKey: 'dos_per_ev',
    json: (r) => Array.from(r.dosPerEv),
    calculator: { names: ['dos'], value: (r) => ({ energiesEv: r.energiesEv, dosPerEv: r.dosPerEv }) },
  },
  { key: 'gridShape', unit: '', label: 'real-space grid', jsonKey: 'grid_shape', pw: { key: 'grid' } },
  { key: 'pointCount', unit: '', label: 'grid points' },
  { key: 'voxelVolumeA3', unit: 'Å³', label: 'voxel volume', jsonKey: 'voxel_volume_a3' },
  {
    key: 'ldosSource',
    unit: '',
    label: 'LDOS',
    jsonKey: 'ldos',
    summary: {
      order: 10,
      lines: (r) => [['LDOS', `${r.ldosSource}  (grid ${r.gridShape.join('×')}, ${r.energyGrid.count} energies ${r.energiesEv[0]}…${r.energiesEv[r.energiesEv.length - 1]} eV)`]],
    },
  },
  {
    key: 'warnings',
    unit: '',
    label: 'warning',
    jsonKey: 'warnings',
    summary: [
      { order: 910, lines: (r) => r.warnings.map((w) => ['warning', w] as const) },
      // predict repeats them after its timings, where a long summary ends
      { section: 'tail', order: 30, lines: (r) => r.warnings.map((w) => `warning: ${w}`) },
    ],
  },
  { key: 'outputs', unit: '', label: 'wrote', jsonKey: 'outputs', summary: { order: 900, lines: (r) => Object.entries(r.outputs).map(([k, v]) => [`wrote ${k}`, v] as const) } },
  {
    key: 'timingsS',
    unit: 's',
    label: 'timings',
    jsonKey: 'timings_s',
    summary: {
      section: 'tail',
      order: 10,
      lines: (r) => {
        const stages = ['descriptors_s', 'network_s', 'dos_s', 'fermi_s', 'density_s', 'total_energy_s', 'ensemble_s', 'forces_s', 'outputs_s', 'total_s'];
        const t = stages.filter((k) => r.timingsS[k] !== undefined).map((k) => `${k.replace(/_s$/, '')} ${r.timingsS[k].toFixed(2)} s`);
        return [['timings', t.join(' | ')]];
      },
    },
  },
  { key: 'structureFile', unit: '', label: 'structure', jsonKey: 'structure', jsonIf: (r) => !!r.structureFile },
  { key: 'fermiEnergyDftEv', unit: 'eV', label: 'Fermi energy printed by DFT', jsonKey: 'fermi_energy_dft_ev', jsonIf: (r) => r.fermiEnergyDftEv !== undefined },
  {
    key: 'totalEnergyEv',
    value: (r) => r.totalEnergy?.totalEnergyEv,
    unit: 'eV',
    label: 'total energy',
    jsonKey: 'total_energy_ev',
    jsonIf: (r) => !!r.totalEnergy,
    summary: { order: 80 },
    // MALA's total energy is the free energy F = E − TS (as MALA's own ASE calculator)
    calculator: { names: ['energy', 'free_energy'] },
    pw: { key: 'totalEnergyEv' },
  },
  {
    key: 'energyContributionsEv',
    value: (r) => r.totalEnergy?.termsEv,
    unit: 'eV',
    label: 'energy terms',
    jsonKey: 'energy_contributions_ev',
    jsonIf: (r) => !!r.totalEnergy,
    summary: { order: 90, lines: (r) => Object.entries(r.totalEnergy?.termsEv ?? {}).map(([k, v]) => [`  ${k}`, `${fmt(v, 6)} eV`] as const) },
    calculator: { names: ['energy_contributions'], value: (r) => (r.totalEnergy ? { ...r.totalEnergy.termsEv } : undefined) },
    pw: { key: 'termsEv' },
  },
];

/** What `predict` adds (after the observables' keys in results.json). */
export const predictFields: ResultField<PredictResult>[] = [
  { key: 'modelFile', unit: '', label: 'model', jsonKey: 'model', summary: { section: 'head', order: 20 }, pw: { key: 'modelName', value: (r) => path.basename(r.modelFile) } },
  {
    key: 'atomCount',
    unit: '',
    label: 'atoms',
    jsonKey: 'atom_count',
    summary: { section: 'head', order: 10, lines: (r) => [['structure', `${r.structureFile}  (${r.atomCount} atoms: ${r.species.join(', ')}; grid ${r.gridShape.join('×')} from ${r.gridSource})`]] },
  },
  { key: 'species', unit: '', label: 'species', jsonKey: 'species' },
  { key: 'gridSource', unit: '', label: 'grid from', jsonKey: 'grid_source' },
  { key: 'ldosStorage', unit: '', label: 'LDOS kept', jsonKey: 'ldos_storage' },
  { key: 'planesPerSlab', unit: '', label: 'x-planes per block', jsonKey: 'planes_per_slab' },
  { key: 'blockCount', unit: '', label: 'blocks', jsonKey: 'block_count' },
  { key: 'maxBlockPoints', unit: '', label: 'largest block (points)', jsonKey: 'max_block_points' },
  { key: 'memoryBudgetMb', unit: 'MB', label: 'memory budget', jsonKey: 'memory_budget_mb' },
  {
    key: 'peakRssMb',
    unit: 'MB',
    label: 'peak memory',
    jsonKey: 'peak_rss_mb',
    summary: {
      section: 'tail',
      order: 20,
      lines: (r) => {
        const ranks = r.ranks > 1 ? `${r.ranks} MPI ranks, largest rank peak ${r.peakRssMaxRankMb.toFixed(0)} MB; ` : '';
        return [['memory', `${ranks}peak ${r.peakRssMb.toFixed(0)} MB (budget ${r.memoryBudgetMb} MB; LDOS kept ${r.ldosStorage === 'memory' ? 'in memory' : 'on disk'}; ${r.blockCount} blocks of ≤ ${r.maxBlockPoints} points)`]];
      },
    },
  },
  { key: 'ranks', unit: '', label: 'MPI ranks', jsonKey: 'mpi_ranks' },
  { key: 'planeRange', unit: '', label: "this rank's x-planes" },
  { key: 'peakRssMaxRankMb', unit: 'MB', label: 'largest peak memory of any rank', jsonKey: 'peak_rss_max_rank_mb' },
  { key: 'descriptorBlocks', unit: '', label: 'descriptor blocks (atom window, whole cell)', jsonKey: 'descriptor_blocks' },
  { key: 'gVectorCount', unit: '', label: 'G-vectors in the ecutrho sphere', pw: { key: 'gVectorCount' } },
  { key: 'xcFunctional', unit: '', label: 'XC functional', pw: { key: 'xcFunctional' } },
  {
    key: 'device',
    unit: '',
    label: 'network device',
    jsonKey: 'device',
    json: (r) => (r.device ? { name: r.device.device, requested: r.device.requested, reason: r.device.reason } : undefined),
    jsonIf: (r) => r.device !== undefined,
    summary: { section: 'head', order: 30, lines: (r) => (r.device ? [['device', `${r.device.device}  (${r.device.reason})`]] : []) },
  },
  {
    key: 'domain',
    unit: '',
    label: 'training domain',
    jsonKey: 'domain',
    jsonIf: (r) => r.domain !== undefined,
    json: (r) => domainJson(r.domain!),
    summary: { section: 'head', order: 30, lines: (r) => (r.domain ? [['domain', domainSummary(r.domain)]] : []) },
  },
  {
    key: 'forcesEvPerA',
    unit: 'eV/Å',
    label: 'forces',
    jsonKey: 'forces_ev_per_angstrom',
    jsonIf: (r) => r.forcesEvPerA !== undefined,
    summary: { order: 95, lines: (r) => (r.forcesEvPerA ? forcesSummary(r.forcesEvPerA) : []) },
    calculator: { names: ['forces'], value: (r) => r.forcesEvPerA?.map((f) => [...f]) },
  },
  {
    key: 'stressEvPerA3',
    unit: 'eV/Å³',
    label: 'stress',
    jsonKey: 'stress_ev_per_angstrom3',
    jsonIf: (r) => r.stressEvPerA3 !== undefined,
    summary: { order: 96, lines: (r) => (r.stressEvPerA3 ? stressSummary(r.stressEvPerA3) : []) },
    // (not a calculator property row: MalaCalculator.getStress reads it; test/results/fields.test.ts
    // pins the property set, in which 'stress' is still refused by getProperty)
  },
  {
    key: 'uncertainty',
    unit: 'eV',
    label: 'uncertainty (ensemble spread)',
    jsonKey: 'uncertainty',
    jsonIf: (r) => r.uncertainty !== undefined,
    json: (r) => uncertaintyJson(r.uncertainty!),
    summary: { order: 92, lines: (r) => (r.uncertainty ? uncertaintySummary(r.uncertainty) : []) },
  },
  { key: 'modelSha256', unit: '', label: 'model sha256', jsonKey: 'model_sha256', jsonIf: (r) => r.modelSha256 !== undefined },
  { key: 'malaTsVersion', unit: '', label: 'mala-ts version', jsonKey: 'mala_ts_version', jsonIf: (r) => r.malaTsVersion !== undefined },
];

const perAtomMev = (ev: number, atoms: number) => (1000 * ev) / atoms;

/** The ensemble's spread in results.json: σ of E_F, E_band, E_total and each member's values. */
function uncertaintyJson(u: EnsembleSpread): Record<string, unknown> {
  return {
    ensemble_size: u.size,
    method: 'sample standard deviation (n - 1) over the members\' own predictions; the reported values are those of the members\' mean LDOS',
    fermi_energy_sigma_ev: u.fermiEnergySigmaEv,
    band_energy_sigma_ev: u.bandEnergySigmaEv,
    band_energy_sigma_mev_per_atom: perAtomMev(u.bandEnergySigmaEv, u.atomCount),
    total_energy_sigma_ev: u.totalEnergySigmaEv,
    total_energy_sigma_mev_per_atom: u.totalEnergySigmaEv === undefined ? undefined : perAtomMev(u.totalEnergySigmaEv, u.atomCount),
    members: u.members.map((m, k) => ({ seed: u.seeds[k], fermi_energy_ev: m.fermiEnergyEv, band_energy_ev: m.bandEnergyEv, entropy_contribution_ev: m.entropyContributionEv, total_energy_ev: m.totalEnergyEv })),
    validation: u.validation
      ? {
          file: u.validation.file,
          frames: u.validation.frames,
          frames_within_sigma: u.validation.covered,
          max_error_over_sigma: u.validation.maxErrorOverSigma,
          mean_abs_total_error_mev_per_atom: u.validation.meanAbsErrorMeVPerAtom,
          mean_total_sigma_mev_per_atom: u.validation.meanSigmaMeVPerAtom,
        }
      : undefined,
  };
}

function uncertaintySummary(u: EnsembleSpread): SummaryLine[] {
  return [['uncertainty', uncertaintyText(u)]];
}

/** The ensemble's spread in one line (the summary's `uncertainty` line; a comment line in pw's output). */
export function uncertaintyText(u: EnsembleSpread): string {
  const e = (ev: number) => `${fmt(ev, 6)} eV (${perAtomMev(ev, u.atomCount).toFixed(2)} meV/atom)`;
  const total = u.totalEnergySigmaEv === undefined ? '' : `σ(E_total) ${e(u.totalEnergySigmaEv)}, `;
  const v = u.validation;
  const against = v ? `; on its ${v.frames} validation frames σ(E_total) covered the error against QE on ${v.covered} (${v.coveredTwoSigma} within 2σ), which reached ${v.maxErrorOverSigma.toFixed(1)} σ (VALIDATION.json)` : '';
  return `ensemble of ${u.size}: ${total}σ(E_band) ${e(u.bandEnergySigmaEv)}, σ(E_F) ${(1000 * u.fermiEnergySigmaEv).toFixed(2)} meV${against}`;
}

/** One line: the shift and what it follows (the structure's atom density against the model's reference). */
function energyReferenceSummary(a: PredictResult['energyReference']): SummaryLine[] {
  if (!a) return [];
  const sign = a.shiftEv >= 0 ? '+' : '';
  return [['energy reference', `LDOS energies shifted by ${sign}${fmt(a.shiftEv, 6)} eV = ${fmt(a.reference.slopeEvA3, 4)} eV·Å³ × (n ${a.densityPerA3.toFixed(6)} − n₀ ${a.reference.densityPerA3.toFixed(6)}) atoms/Å³`]];
}

/** Forces in the summary: every atom's for small cells, the largest and the sum (egg-box check) always. */
function forcesSummary(f: number[][]): SummaryLine[] {
  const norm = f.map((v) => Math.hypot(v[0], v[1], v[2]));
  const worst = norm.indexOf(Math.max(...norm));
  const sum = [0, 1, 2].map((d) => f.reduce((s, v) => s + v[d], 0));
  const lines: SummaryLine[] = [['forces', `largest |F| ${fmt(norm[worst], 6)} eV/Å (atom ${worst + 1}), ΣF = (${sum.map((x) => fmt(x, 6)).join(', ')}) eV/Å`]];
  if (f.length <= 16) f.forEach((v, i) => lines.push([`  atom ${i + 1}`, `${v.map((x) => fmt(x, 6).padStart(12)).join(' ')} eV/Å`]));
  return lines;
}

/** σ in GPa (ASE's sign, (1/V)·∂E/∂ε) and the pressure P = −tr σ/3. */
function stressSummary(s: number[][]): SummaryLine[] {
  const gpa = s.map((row) => row.map((x) => x * evPerA3InGpa));
  const lines: SummaryLine[] = [['stress', `pressure P = −tr σ/3 = ${fmt(-(gpa[0][0] + gpa[1][1] + gpa[2][2]) / 3, 4)} GPa; σ (GPa, ASE's sign):`]];
  gpa.forEach((row, a) => lines.push([`  ${'xyz'[a]}`, `${row.map((x) => fmt(x, 4).padStart(10)).join(' ')} GPa`]));
  return lines;
}

/** Every row: what a `predict` result has (observables first). */
export const resultFields: ResultField<PredictResult>[] = [...observableFields, ...predictFields];

/** The row's value in a result. */
export function fieldValue<R>(f: ResultField<R>, r: R): unknown {
  return f.value ? f.value(r) : (r as Record<string, unknown>)[f.key];
}
