/**
 * `mala-ts model-info M`: what a model is and what it was trained on: format and versions, the
 * archive's and the weights' sha256, network, descriptors, energy grid, the training domain
 * (src/domain/), the data recipe, the ensemble size, and the validation table `mala-ts test --out`
 * wrote next to the model (VALIDATION.json; not inside the archive, whose sha256 it records).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { unzipSync } from 'fflate';
import { MalaError } from '../errors';
import type { TrainingDomain } from '../domain/training-domain';
import { featureLabel } from '../domain/domain-check';
import { readModelData, sha256 } from '../network/model';
import { programName } from '../util/package-paths';
import { formatTestTable, sigmaCoverageOfRows } from './tester-report';
import type { EnergyReference } from '../targets/energy-reference';
import type { SigmaValidation } from '../engine/ensemble';

export interface ModelInfo {
  file: string;
  sha256: string;
  weightsSha256?: string;
  format?: string;
  formatVersion?: number;
  createdBy?: string;
  readBy: string;
  ensembleSize: number;
  network: { layerSizes: number[]; activations: (string | null)[] };
  descriptors: Record<string, unknown>;
  energyGrid: { offsetEv: number; spacingEv: number; count: number };
  /** The density-dependent shift of the energy axis (issue 18); undefined: the axis is energyGrid itself. */
  energyReference?: EnergyReference;
  /** RECIPE.md next to the model, when there is one. */
  recipe?: string;
  provenance?: Record<string, unknown>;
  /** Undefined: the model records none (an imported MALA model, an archive from before domain data). */
  domain?: TrainingDomain;
  /** VALIDATION.json next to the model (`mala-ts test --json --out`), as written. */
  validation?: Record<string, unknown>;
  validationFile?: string;
}

export const VALIDATION_FILE = 'VALIDATION.json';

/** The validation report next to the model, when there is one. */
function readValidation(file: string): Record<string, unknown> | undefined {
  if (!fs.existsSync(file)) return undefined;
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch (e) {
    throw new MalaError(`cannot read the validation table: ${(e as Error).message}`, { file, fix: 'write it again: mala-ts test --model M --data DIR --json --out ' + file, cause: e });
  }
}

/** What a model's VALIDATION.json records of its forces and stress against QE (`mala-ts test --forces`). */
export interface RecordedForceValidation {
  file: string;
  snapshots: number;
  forceRmseMaxEvPerA?: number;
  forceRmseMeanEvPerA?: number;
  stressMaxGpa?: number;
}

/** VALIDATION.json next to `modelFile` when it was written for this very file (its sha256); else undefined. */
function thisModelsValidation(modelFile: string): { file: string; v: Record<string, unknown> } | undefined {
  const file = path.join(path.dirname(path.resolve(modelFile)), VALIDATION_FILE);
  let v: Record<string, unknown> | undefined;
  try {
    v = readValidation(file);
  } catch {
    return undefined; // model-info reports a broken table; a prediction goes on without it
  }
  if (!v || typeof v.model_sha256 !== 'string' || v.model_sha256 !== modelFileSha256(modelFile)) return undefined;
  return { file, v };
}

/**
 * The force and stress errors VALIDATION.json next to `modelFile` records, when it was written for
 * this very file (its sha256) and holds them; else undefined.
 */
export function recordedForceValidation(modelFile: string): RecordedForceValidation | undefined {
  const table = thisModelsValidation(modelFile);
  if (!table) return undefined;
  const { file, v } = table;
  const summary = (v.summary ?? {}) as Record<string, { mean_abs?: number; max_abs?: number; count?: number }>;
  const f = summary.force_rmse_ev_per_angstrom;
  const st = summary.stress_max_abs_gpa;
  if (!f && !st) return undefined;
  return { file, snapshots: Array.isArray(v.snapshots) ? v.snapshots.length : 0, forceRmseMaxEvPerA: f?.max_abs, forceRmseMeanEvPerA: f?.mean_abs, stressMaxGpa: st?.max_abs };
}

/** The σ calibration VALIDATION.json next to `modelFile` records, when written for this very file and holding σ; else undefined. */
export function recordedSigmaValidation(modelFile: string): SigmaValidation | undefined {
  const table = thisModelsValidation(modelFile);
  if (!table || !Array.isArray(table.v.snapshots)) return undefined;
  const coverage = sigmaCoverageOfRows(table.v.snapshots as Record<string, unknown>[]);
  return coverage && { file: table.file, ...coverage };
}

const version = programName;

const fileHashes = new Map<string, { mtimeMs: number; size: number; sha256: string }>();

/** sha256 of a model file (remembered per path, size and mtime: the calculator predicts many times); undefined for a folder or a missing file. */
export function modelFileSha256(file: string): string | undefined {
  try {
    const st = fs.statSync(file);
    if (!st.isFile()) return undefined;
    const known = fileHashes.get(file);
    if (known && known.mtimeMs === st.mtimeMs && known.size === st.size) return known.sha256;
    const h = sha256(fs.readFileSync(file));
    fileHashes.set(file, { mtimeMs: st.mtimeMs, size: st.size, sha256: h });
    return h;
  } catch {
    return undefined;
  }
}

const NO_DOMAIN_FIX = 'record it from the training structures: mala-ts model-domain --model M --structures ... (see models/al-fcc-298K/RECIPE.md)';

/** The model's info, its training domain required (an error naming the fix when it records none). */
export function modelInfo(file: string): ModelInfo & { domain: TrainingDomain } {
  const i = readModelInfo(file);
  if (!i.domain) {
    throw new MalaError('the model records no training domain (an archive from before domain data, or a MALA model)', { file, fix: NO_DOMAIN_FIX });
  }
  return i as ModelInfo & { domain: TrainingDomain };
}

/**
 * The model's info; a model with no recorded training domain (e.g. an imported MALA model) is
 * still described (`mala-ts model-info` says "no training domain recorded" and how to record one).
 */
export function readModelInfo(file: string): ModelInfo {
  if (!fs.existsSync(file)) throw new MalaError('model not found', { file, fix: 'check the path of the model archive (e.g. models/al-fcc-298K/model.zip)' });
  const m = readModelData(file);
  const bytes = fs.statSync(file).isFile() ? fs.readFileSync(file) : undefined;
  let json: { format?: string; formatVersion?: number; createdBy?: string; weights?: { sha256?: string } } = {};
  if (bytes) {
    try {
      json = JSON.parse(Buffer.from(unzipSync(bytes)['model.json']).toString('utf8'));
    } catch {
      // readModelData read it already; a folder or a MALA model has no such header
    }
  }
  const recipe = path.join(path.dirname(path.resolve(file)), 'RECIPE.md');
  const validationFile = path.join(path.dirname(path.resolve(file)), VALIDATION_FILE);
  const validation = readValidation(validationFile);
  return {
    file,
    sha256: bytes ? sha256(bytes) : '',
    weightsSha256: json.weights?.sha256,
    format: json.format,
    formatVersion: json.formatVersion,
    createdBy: json.createdBy,
    readBy: version(),
    ensembleSize: m.ensemble?.length || 1,
    network: { layerSizes: m.spec.layerSizes, activations: m.spec.activations },
    descriptors: { ...m.descriptors },
    energyGrid: { offsetEv: m.energyGrid.offsetEv, spacingEv: m.energyGrid.spacingEv, count: m.energyGrid.count },
    energyReference: m.energyReference,
    recipe: fs.existsSync(recipe) ? path.relative(process.cwd(), recipe) || recipe : undefined,
    provenance: m.provenance,
    domain: m.domain,
    validation,
    validationFile: validation ? path.relative(process.cwd(), validationFile) || validationFile : undefined,
  };
}

/** The validation lines: which file, for which model, then `mala-ts test`'s own table, indented. */
function formatValidation(i: ModelInfo): string {
  const v = i.validation;
  if (!v) return `none: no ${VALIDATION_FILE} next to the model (make one: mala-ts test --model ${i.file} --data DIR --json --out ${path.join(path.dirname(i.file), VALIDATION_FILE)})\n`;
  const rows = Array.isArray(v.snapshots) ? v.snapshots.length : 0;
  const sha = typeof v.model_sha256 === 'string' ? v.model_sha256 : undefined;
  const stale = sha && i.sha256 && sha !== i.sha256 ? `; recorded for another model file (sha256 ${sha.slice(0, 16)}…), not this one` : '';
  const head = `${path.basename(i.validationFile ?? VALIDATION_FILE)}: ${rows} snapshot${rows === 1 ? '' : 's'}, data ${String(v.data ?? '?')}${stale}\n`;
  return head + formatTestTable(v).split('\n').filter((l) => l).map((l) => `  ${l}\n`).join('');
}

/** The energy reference's line (none without one): s(n) = slope·(n − n₀) and how the slope was fitted. */
function energyReferenceLines(i: ModelInfo): [string, string][] {
  const r = i.energyReference;
  if (!r) return [];
  const fit = r.fit ? `; fitted to the Fermi energies of ${r.fit.frames} training frames, rms residual ${r.fit.rmsResidualMeV.toFixed(1)} meV (${r.fit.source})` : '; no fit recorded';
  return [['  reference', `shifted by s(n) = ${+r.slopeEvA3.toPrecision(6)} eV·Å³ × (n − ${+r.densityPerA3.toPrecision(6)} atoms/Å³), n the structure's atoms per volume (${r.kind})${fit}`]];
}

/**
 * A recording command for the summary: a run of file arguments (a flag's list of paths, as
 * model-domain's --structures and --descriptors) is shown as its first file, "…" and the count;
 * the JSON keeps the command whole.
 */
export function shortCommand(cmd: string, keep = 1): string {
  const words = cmd.split(' ');
  const out: string[] = [];
  for (let i = 0; i < words.length; ) {
    if (words[i].startsWith('-') || !words[i].includes('/')) {
      out.push(words[i++]);
      continue;
    }
    let j = i;
    while (j < words.length && !words[j].startsWith('-') && words[j].includes('/')) j++;
    const run = words.slice(i, j);
    out.push(...(run.length > keep + 1 ? [...run.slice(0, keep), `… (${run.length} files)`] : run));
    i = j;
  }
  return out.join(' ');
}

/** The summary a person reads. */
export function formatModelInfo(i: ModelInfo): string {
  const d = i.domain;
  if (!d) return formatModelInfoWithoutDomain(i);
  const r = (x: { min: number; max: number } | undefined, digits: number, unit: string) => (x ? `${x.min.toFixed(digits)}–${x.max.toFixed(digits)} ${unit}` : 'not recorded');
  const spread = d.structures.std.map((s, k) => ({ k, s: s / Math.max(d.points.std[k], 1e-300) })).sort((a, b) => b.s - a.s)[0];
  const lines: [string, string][] = [
    ['model', `${i.file}  (${i.format ?? 'model'} v${i.formatVersion ?? '?'}, written by ${i.createdBy ?? '?'}, read by ${i.readBy})`],
    ['sha256', `${i.sha256}${i.weightsSha256 ? `  (weights ${i.weightsSha256})` : ''}`],
    ['network', `${i.network.layerSizes.join(' → ')} (${i.network.activations.map((a) => a ?? 'linear').join(', ')}); ensemble of ${i.ensembleSize}`],
    ['descriptors', `${String(i.descriptors.type)} twojmax ${String(i.descriptors.twojmax)}, rcutfac ${String(i.descriptors.rcutfac)} Å, ${d.featureCount} features`],
    ['energy grid', `${i.energyGrid.count} energies from ${i.energyGrid.offsetEv} eV, spacing ${i.energyGrid.spacingEv} eV`],
    ...energyReferenceLines(i),
    ['domain', `${d.elements.join(', ')}; ${d.structures.count} training structures (${d.atomCounts?.join(', ') ?? '?'} atoms), ${d.points.count} grid points`],
    ['  density', r(d.numberDensityPerA3, 5, 'atoms/Å³')],
    ['  cell edges', r(d.cellLengthsAngstrom, 4, 'Å')],
    ['  temperature', d.temperaturesK ? `${d.temperaturesK.join(', ')} K` : 'not recorded'],
    ['  ecutrho', d.ecutrhoRy ? `${d.ecutrhoRy.join(', ')} Ry` : 'not recorded'],
    ['  smearing', d.smearing?.join(', ') ?? 'not recorded'],
    ['  grid spacing', r(d.gridSpacingAngstrom, 4, 'Å')],
    ['  descriptors', `per-feature min/max/mean/std over points and over cell means; most varied across cells: ${featureLabel(spread.k, String(i.descriptors.type), Number(i.descriptors.twojmax))}`],
    ['  recorded by', shortCommand(d.recordedBy ?? '?')],
    ['recipe', i.recipe ?? 'no RECIPE.md next to the model'],
  ];
  const w = Math.max(...lines.map((l) => l[0].length));
  return lines.map(([k, v]) => `${k.padEnd(w)}  ${v}\n`).join('') + `${'validation'.padEnd(w)}  ${formatValidation(i)}`;
}

/** The summary of a model that records no training domain: everything else, and how to record one. */
function formatModelInfoWithoutDomain(i: ModelInfo): string {
  const features = i.network.layerSizes[0];
  const lines: [string, string][] = [
    ['model', `${i.file}  (${i.format ?? 'model'} v${i.formatVersion ?? '?'}, written by ${i.createdBy ?? '?'}, read by ${i.readBy})`],
    ['sha256', `${i.sha256 || '(a folder: no archive checksum)'}${i.weightsSha256 ? `  (weights ${i.weightsSha256})` : ''}`],
    ['network', `${i.network.layerSizes.join(' → ')} (${i.network.activations.map((a) => a ?? 'linear').join(', ')}); ensemble of ${i.ensembleSize}`],
    ['descriptors', `${String(i.descriptors.type)} twojmax ${String(i.descriptors.twojmax)}, rcutfac ${String(i.descriptors.rcutfac)} Å, ${features} features`],
    ['energy grid', `${i.energyGrid.count} energies from ${i.energyGrid.offsetEv} eV, spacing ${i.energyGrid.spacingEv} eV`],
    ...energyReferenceLines(i),
    ['domain', `no training domain recorded (predictions are not checked against one); ${NO_DOMAIN_FIX}`],
    ['recipe', i.recipe ?? 'no RECIPE.md next to the model'],
  ];
  const w = Math.max(...lines.map((l) => l[0].length), 'validation'.length);
  return lines.map(([k, v]) => `${k.padEnd(w)}  ${v}\n`).join('') + `${'validation'.padEnd(w)}  ${formatValidation(i)}`;
}

/** --json: snake_case keys. */
export function modelInfoJson(i: ModelInfo): Record<string, unknown> {
  return {
    file: i.file,
    sha256: i.sha256,
    weights_sha256: i.weightsSha256,
    format: i.format,
    format_version: i.formatVersion,
    created_by: i.createdBy,
    read_by: i.readBy,
    ensemble_size: i.ensembleSize,
    network: { layer_sizes: i.network.layerSizes, activations: i.network.activations },
    descriptors: i.descriptors,
    energy_grid: { offset_ev: i.energyGrid.offsetEv, spacing_ev: i.energyGrid.spacingEv, count: i.energyGrid.count },
    energy_reference: i.energyReference
      ? { kind: i.energyReference.kind, slope_ev_a3: i.energyReference.slopeEvA3, density_per_a3: i.energyReference.densityPerA3, fit: i.energyReference.fit ? { frames: i.energyReference.fit.frames, rms_residual_mev: i.energyReference.fit.rmsResidualMeV, source: i.energyReference.fit.source } : undefined }
      : null,
    recipe: i.recipe,
    provenance: i.provenance,
    domain: i.domain ?? null,
    validation: i.validation,
  };
}
