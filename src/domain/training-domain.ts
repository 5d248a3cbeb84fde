/**
 * The training domain of a model: what it was trained on (elements, descriptor statistics per
 * feature over grid points and of whole structures, atomic number density, electronic
 * temperatures, cutoffs, smearing, grid spacing). Stored in the model archive (model.json
 * `domain`, versioned; absent in archives written before it existed) and compared with each
 * prediction by ./domain-check.ts.
 *
 * Plain data and float64 accumulators only: no files, no processes.
 */
import { cellVolumeA3, speciesOf, type Atoms } from '../structure/atoms';

export const DOMAIN_VERSION = 1;

/** Per-feature statistics (arrays of length featureCount). */
export interface FeatureStats {
  count: number;
  min: number[];
  max: number[];
  mean: number[];
  std: number[];
}

export interface TrainingDomain {
  version: number;
  elements: string[];
  featureCount: number;
  /** Over every training grid point. */
  points: FeatureStats;
  /** Over training structures, of each structure's mean descriptor vector. */
  structures: FeatureStats;
  /** Atoms per Å³ over the training structures, when their cells were known. */
  numberDensityPerA3?: { min: number; max: number };
  /** Atoms per training cell and the cells' edge lengths (Å), when known. */
  atomCounts?: number[];
  cellLengthsAngstrom?: { min: number; max: number };
  /** Distinct electronic temperatures (K), density cutoffs (Ry), smearing kinds of the training data. */
  temperaturesK?: number[];
  ecutrhoRy?: number[];
  smearing?: string[];
  /** Grid spacing (Å, edge length / points along it) range of the training grids. */
  gridSpacingAngstrom?: { min: number; max: number };
  /** How the domain was recorded (command or workflow). */
  recordedBy?: string;
}

/** Running per-feature sums in float64: count, Σx, Σx², min, max. */
export class FeatureAccumulator {
  count = 0;
  readonly sum: Float64Array;
  readonly sumSq: Float64Array;
  readonly min: Float64Array;
  readonly max: Float64Array;
  constructor(readonly featureCount: number) {
    this.sum = new Float64Array(featureCount);
    this.sumSq = new Float64Array(featureCount);
    this.min = new Float64Array(featureCount).fill(Infinity);
    this.max = new Float64Array(featureCount).fill(-Infinity);
  }

  /** Add n points of x (point-major, `featureCount` values each). */
  addPoints(x: ArrayLike<number>, n: number): void {
    const F = this.featureCount;
    for (let p = 0; p < n; p++) {
      const o = p * F;
      for (let k = 0; k < F; k++) {
        const v = x[o + k];
        this.sum[k] += v;
        this.sumSq[k] += v * v;
        if (v < this.min[k]) this.min[k] = v;
        if (v > this.max[k]) this.max[k] = v;
      }
    }
    this.count += n;
  }

  mean(): number[] {
    return Array.from(this.sum, (s) => s / Math.max(this.count, 1));
  }

  stats(): FeatureStats {
    const mean = this.mean();
    const std = mean.map((m, k) => Math.sqrt(Math.max(0, this.sumSq[k] / Math.max(this.count, 1) - m * m)));
    return { count: this.count, min: Array.from(this.min), max: Array.from(this.max), mean, std };
  }
}

/** Facts of one training structure besides its descriptors (each optional). */
export interface StructureFacts {
  atoms?: Atoms;
  temperatureK?: number;
  ecutrhoRy?: number;
  smearing?: string;
  /** FFT grid of the descriptors (spacing = cell edge / points). */
  grid?: readonly number[];
}

/** QE's smearing names → one name per kind (fd, gaussian, mv, mp). */
export function smearingKind(name: string | undefined): string | undefined {
  if (name === undefined) return undefined;
  const s = name.toLowerCase().trim();
  if (['fermi-dirac', 'f-d', 'fd'].includes(s)) return 'fermi-dirac';
  if (['gaussian', 'gauss'].includes(s)) return 'gaussian';
  if (['marzari-vanderbilt', 'cold', 'm-v', 'mv'].includes(s)) return 'marzari-vanderbilt';
  if (['methfessel-paxton', 'm-p', 'mp'].includes(s)) return 'methfessel-paxton';
  return s;
}

const edgeLengths = (atoms: Atoms) => atoms.cellAngstrom.map((v) => Math.hypot(v[0], v[1], v[2]));

/** Builds a TrainingDomain structure by structure, without keeping the descriptors. */
export class TrainingDomainBuilder {
  private readonly points: FeatureAccumulator;
  private readonly structures: FeatureAccumulator;
  private readonly elements = new Set<string>();
  private readonly densities: number[] = [];
  private readonly atomCounts = new Set<number>();
  private readonly lengths: number[] = [];
  private readonly temperatures = new Set<number>();
  private readonly ecutrho = new Set<number>();
  private readonly smearing = new Set<string>();
  private readonly spacings: number[] = [];

  constructor(readonly featureCount: number) {
    this.points = new FeatureAccumulator(featureCount);
    this.structures = new FeatureAccumulator(featureCount);
  }

  /** One structure: its descriptors (n points × featureCount, no xyz columns) and facts. */
  addStructure(x: ArrayLike<number>, n: number, facts: StructureFacts = {}): void {
    const one = new FeatureAccumulator(this.featureCount);
    one.addPoints(x, n);
    this.points.addPoints(x, n);
    this.structures.addPoints(one.mean(), 1);
    const a = facts.atoms;
    if (a) {
      speciesOf(a).forEach((s) => this.elements.add(s));
      this.densities.push(a.symbols.length / cellVolumeA3(a.cellAngstrom));
      this.atomCounts.add(a.symbols.length);
      const l = edgeLengths(a);
      this.lengths.push(...l);
      if (facts.grid) facts.grid.forEach((g, i) => this.spacings.push(l[i] / g));
    }
    // temperatures to 0.1 mK: Ry → K conversions of one degauss agree to far better than that
    if (facts.temperatureK !== undefined) this.temperatures.add(Math.round(facts.temperatureK * 1e4) / 1e4);
    if (facts.ecutrhoRy !== undefined) this.ecutrho.add(facts.ecutrhoRy);
    const kind = smearingKind(facts.smearing);
    if (kind) this.smearing.add(kind);
  }

  /** Elements the descriptors alone cannot tell (e.g. from the model's reference data). */
  addElements(elements: readonly string[]): void {
    elements.forEach((e) => this.elements.add(e));
  }

  finish(recordedBy?: string): TrainingDomain {
    const range = (v: number[]) => (v.length ? { min: Math.min(...v), max: Math.max(...v) } : undefined);
    const sorted = <T>(s: Set<T>) => (s.size ? [...s].sort() : undefined);
    return {
      version: DOMAIN_VERSION,
      elements: [...this.elements].sort(),
      featureCount: this.featureCount,
      points: this.points.stats(),
      structures: this.structures.stats(),
      numberDensityPerA3: range(this.densities),
      atomCounts: this.atomCounts.size ? [...this.atomCounts].sort((a, b) => a - b) : undefined,
      cellLengthsAngstrom: range(this.lengths),
      temperaturesK: this.temperatures.size ? [...this.temperatures].sort((a, b) => a - b) : undefined,
      ecutrhoRy: this.ecutrho.size ? [...this.ecutrho].sort((a, b) => a - b) : undefined,
      smearing: sorted(this.smearing),
      gridSpacingAngstrom: range(this.spacings),
      recordedBy,
    };
  }
}
