/**
 * The domain check of one prediction: compares a structure (its descriptors, gathered block by
 * block without keeping them, and its calculation settings) with the model's training domain
 * (./training-domain.ts) and says, in words that name the quantity, what lies outside.
 *
 * - structure score: the largest |cell-mean descriptor − training cells' mean| over features, in
 *   standard deviations of the training cells' means (a floor keeps a feature that hardly varied
 *   in training from dividing by ~0). Above STRUCTURE_SIGMA_LIMIT the cell is out of the domain.
 * - grid points: the fraction of points with a feature outside the training range widened by
 *   POINT_RANGE_MARGIN of its width; above POINT_FRACTION_LIMIT the cell is out of the domain.
 * - settings: atomic number density (±DENSITY_MARGIN), electronic temperature (±TEMPERATURE_MARGIN),
 *   ecutrho and smearing kind (equal to a training value).
 */
import { bispectrumIndices } from '../descriptors/bispectrum-parameters';
import type { Communicator } from '../parallel/comm';
import { cellVolumeA3, type Atoms } from '../structure/atoms';
import { smearingKind, type TrainingDomain } from './training-domain';

/** Cell-mean deviation (training cells' σ) above which a structure is out of the domain. */
export const STRUCTURE_SIGMA_LIMIT = 6;
/** σ floor of the training cells' means, as a fraction of the points' σ of that feature. */
export const STRUCTURE_SIGMA_FLOOR = 0.02;
/** Per-feature point range widened by this fraction of its width on each side. */
export const POINT_RANGE_MARGIN = 0.05;
/** Fraction of grid points outside the ranges above which the structure is out of the domain. */
export const POINT_FRACTION_LIMIT = 0.01;
/** Relative margins of the density and temperature ranges. */
export const DENSITY_MARGIN = 0.005;
export const TEMPERATURE_MARGIN = 0.01;

/** The calculation's settings and structure as predict knows them (src/qe/calculation-context.ts). */
export interface DomainInputs {
  atoms: Atoms;
  temperatureK: number;
  ecutrhoRy?: number;
  /** QE's smearing name of the input, when it has one. */
  smearing?: string;
}

export interface DomainFinding {
  /** What is checked: 'number_density', 'temperature', 'ecutrho', 'smearing', 'descriptors_cell', 'descriptors_points'. */
  check: string;
  /** The warning text. */
  message: string;
}

/** What results.json's `domain` holds. */
export interface DomainReport {
  /** false: the model records no training domain (nothing was checked). */
  known: boolean;
  inDomain: boolean;
  /** Structure score: largest cell-mean deviation in training-cell σ (limit STRUCTURE_SIGMA_LIMIT). */
  score?: number;
  scoreLimit?: number;
  /** The feature of that largest deviation. */
  worstFeature?: string;
  /** Fraction of grid points with a feature outside the training range (with the margin), and the feature most often outside. */
  pointsOutsideFraction?: number;
  pointsOutsideFeature?: string;
  numberDensityPerA3?: number;
  findings: DomainFinding[];
  note?: string;
}

export const UNKNOWN_DOMAIN_NOTE = 'the model records no training domain (an archive from before domain data); the structure was not checked against it';

/** A feature's name: bispectrum B[k] with its (2j1, 2j2, 2j) of LAMMPS' order, else F[k]. */
export function featureLabel(k: number, descriptorType: string | undefined, twojmax: number | undefined): string {
  if (descriptorType === 'Bispectrum' && twojmax !== undefined) {
    const idx = bispectrumIndices(twojmax)[k];
    if (idx) return `bispectrum B[${k}] (2j1=${idx[0]},2j2=${idx[1]},2j=${idx[2]})`;
  }
  return `descriptor F[${k}]`;
}

const pct = (x: number) => `${+(x * 100).toFixed(2)} %`;
const g4 = (x: number) => +x.toPrecision(4);

/** Gathers the descriptors of a prediction block by block (each block once, however many passes). */
export class DomainMonitor {
  /** Per-feature sums over the structure's points (the cell mean is all the score needs) and their count. */
  readonly sum: Float64Array;
  count = 0;
  readonly outsideByFeature: Float64Array;
  outsidePoints = 0;
  private readonly lo: Float64Array;
  private readonly hi: Float64Array;
  private readonly seen = new Set<number>();

  constructor(readonly domain: TrainingDomain) {
    const F = domain.featureCount;
    this.sum = new Float64Array(F);
    this.outsideByFeature = new Float64Array(F);
    this.lo = new Float64Array(F);
    this.hi = new Float64Array(F);
    for (let k = 0; k < F; k++) {
      const w = domain.points.max[k] - domain.points.min[k];
      const m = Math.max(POINT_RANGE_MARGIN * w, 1e-6 * Math.abs(domain.points.max[k]), 1e-12);
      this.lo[k] = domain.points.min[k] - m;
      this.hi[k] = domain.points.max[k] + m;
    }
  }

  /** The descriptors of block `block` (n points × featureCount); a block seen before is ignored. */
  addBlock(block: number, x: ArrayLike<number>, n: number): void {
    if (this.seen.has(block)) return;
    this.seen.add(block);
    const F = this.sum.length;
    // one pass per point: the sums for the cell mean and the range test (same order as before)
    for (let p = 0; p < n; p++) {
      let out = false;
      for (let k = 0; k < F; k++) {
        const v = x[p * F + k];
        this.sum[k] += v;
        if (v < this.lo[k] || v > this.hi[k]) {
          this.outsideByFeature[k]++;
          out = true;
        }
      }
      if (out) this.outsidePoints++;
    }
    this.count += n;
  }

  /** Sums over MPI ranks (every rank calls it; each holds only its own blocks). */
  reduce(comm: Communicator): { count: number; sum: Float64Array; outsidePoints: number; outsideByFeature: Float64Array } {
    const F = this.sum.length;
    const packed = new Float64Array(2 * F + 2);
    packed.set(this.sum, 0);
    packed.set(this.outsideByFeature, F);
    packed[2 * F] = this.count;
    packed[2 * F + 1] = this.outsidePoints;
    const all = comm.allreduceSum(packed);
    return { sum: all.slice(0, F), outsideByFeature: all.slice(F, 2 * F), count: all[2 * F], outsidePoints: all[2 * F + 1] };
  }
}

function rangeText(min: number, max: number, digits = 4): string {
  return `${min.toFixed(digits)}–${max.toFixed(digits)}`;
}

/** The settings part of the check (before any descriptor): density, temperature, ecutrho, smearing. */
export function checkSettings(domain: TrainingDomain, input: DomainInputs): DomainFinding[] {
  const out: DomainFinding[] = [];
  const a = input.atoms;
  const density = a.symbols.length / cellVolumeA3(a.cellAngstrom);
  const d = domain.numberDensityPerA3;
  if (d && (density < d.min * (1 - DENSITY_MARGIN) || density > d.max * (1 + DENSITY_MARGIN))) {
    out.push({ check: 'number_density', message: `atomic number density ${density.toFixed(4)} Å⁻³ is outside the training range ${rangeText(d.min, d.max)} (±${pct(DENSITY_MARGIN)}): the model was not trained at this density (strained or compressed cell?)` });
  }
  const ts = domain.temperaturesK;
  if (ts?.length) {
    const lo = Math.min(...ts);
    const hi = Math.max(...ts);
    if (input.temperatureK < lo * (1 - TEMPERATURE_MARGIN) || input.temperatureK > hi * (1 + TEMPERATURE_MARGIN)) {
      out.push({ check: 'temperature', message: `electronic temperature ${input.temperatureK.toFixed(1)} K is outside the training range ${lo.toFixed(1)}–${hi.toFixed(1)} K (±${pct(TEMPERATURE_MARGIN)})` });
    }
  }
  const es = domain.ecutrhoRy;
  if (es?.length && input.ecutrhoRy !== undefined && !es.some((e) => Math.abs(e - input.ecutrhoRy!) <= 1e-6 * e)) {
    out.push({ check: 'ecutrho', message: `ecutrho ${input.ecutrhoRy} Ry differs from the training data's ${es.join(', ')} Ry (the model's LDOS and grid were made at that cutoff)` });
  }
  const kind = smearingKind(input.smearing);
  const ks = domain.smearing;
  if (ks?.length && kind !== undefined && !ks.includes(kind)) {
    out.push({ check: 'smearing', message: `smearing '${input.smearing}' (${kind}) differs from the training data's ${ks.join(', ')}` });
  }
  return out;
}

/** The descriptor part: structure score and grid points outside the training ranges. */
export function checkDescriptors(
  domain: TrainingDomain,
  stats: { count: number; sum: ArrayLike<number>; outsidePoints: number; outsideByFeature: ArrayLike<number> },
  label: (k: number) => string,
): { score: number; worstFeature: string; pointsOutsideFraction: number; pointsOutsideFeature?: string; findings: DomainFinding[] } {
  const F = domain.featureCount;
  const s = domain.structures;
  let score = 0;
  let worst = 0;
  for (let k = 0; k < F; k++) {
    const mean = stats.sum[k] / Math.max(stats.count, 1);
    const sigma = Math.max(s.std[k], STRUCTURE_SIGMA_FLOOR * domain.points.std[k], 1e-12);
    const z = Math.abs(mean - s.mean[k]) / sigma;
    if (z > score) {
      score = z;
      worst = k;
    }
  }
  let most = 0;
  for (let k = 1; k < F; k++) if (stats.outsideByFeature[k] > stats.outsideByFeature[most]) most = k;
  const fraction = stats.count > 0 ? stats.outsidePoints / stats.count : 0;
  const findings: DomainFinding[] = [];
  if (score > STRUCTURE_SIGMA_LIMIT) {
    const mean = stats.sum[worst] / Math.max(stats.count, 1);
    findings.push({
      check: 'descriptors_cell',
      message: `${label(worst)} mean over the cell is ${score.toFixed(1)} σ from the training cells (${g4(mean)} vs ${g4(s.mean[worst])} ± ${g4(s.std[worst])}, training cells ${g4(s.min[worst])}–${g4(s.max[worst])}; limit ${STRUCTURE_SIGMA_LIMIT} σ)`,
    });
  }
  if (fraction > POINT_FRACTION_LIMIT) {
    findings.push({
      check: 'descriptors_points',
      message: `${pct(fraction)} of the grid points have a descriptor outside the training range (±${pct(POINT_RANGE_MARGIN)} of its width), most often ${label(most)} (training ${g4(domain.points.min[most])}–${g4(domain.points.max[most])})`,
    });
  }
  return { score, worstFeature: label(worst), pointsOutsideFraction: fraction, pointsOutsideFeature: stats.outsidePoints > 0 ? label(most) : undefined, findings };
}

/** The whole report from the settings' findings and the gathered descriptors. */
export function domainReport(domain: TrainingDomain, input: DomainInputs, settings: DomainFinding[], stats: Parameters<typeof checkDescriptors>[1], label: (k: number) => string): DomainReport {
  const d = checkDescriptors(domain, stats, label);
  const findings = [...settings, ...d.findings];
  return {
    known: true,
    inDomain: findings.length === 0,
    score: d.score,
    scoreLimit: STRUCTURE_SIGMA_LIMIT,
    worstFeature: d.worstFeature,
    pointsOutsideFraction: d.pointsOutsideFraction,
    pointsOutsideFeature: d.pointsOutsideFeature,
    numberDensityPerA3: input.atoms.symbols.length / cellVolumeA3(input.atoms.cellAngstrom),
    findings,
  };
}

/** The warning text of a finding (stderr, JSON warnings, pw output). */
export const domainWarning = (f: DomainFinding): string => `outside the model's training domain: ${f.message}`;

/** One line about the check (summary, pw output comment). */
export function domainSummary(r: DomainReport): string {
  if (!r.known) return `unknown: ${r.note ?? UNKNOWN_DOMAIN_NOTE}`;
  const pts = r.pointsOutsideFraction !== undefined ? `; ${pct(r.pointsOutsideFraction)} of grid points outside the training ranges` : '';
  const score = r.score !== undefined ? `score ${r.score.toFixed(2)} σ (limit ${r.scoreLimit} σ, ${r.worstFeature})${pts}` : '';
  return `${r.inDomain ? 'inside the training domain' : `OUTSIDE the training domain (${r.findings.map((f) => f.check).join(', ')})`}: ${score}`;
}

/** results.json's `domain` object (snake_case keys). */
export function domainJson(r: DomainReport): Record<string, unknown> {
  return {
    known: r.known,
    in_domain: r.inDomain,
    score_sigma: r.score,
    score_limit_sigma: r.scoreLimit,
    worst_feature: r.worstFeature,
    points_outside_fraction: r.pointsOutsideFraction,
    points_outside_feature: r.pointsOutsideFeature,
    number_density_per_a3: r.numberDensityPerA3,
    findings: r.findings.map((f) => ({ check: f.check, message: f.message })),
    note: r.note,
  };
}
