/**
 * MALA's data scalers (spec §3.2): "None", "standard", "minmax" (alias "normal"), and their
 * "feature-wise-" variants. Fitted on training data only; transform and inverse in float32 as
 * MALA does (each step rounded to float32). Serialized in MALA's current JSON scaler format
 * (`*.iscaler.json`), which is also what our model archive stores.
 */
import { MalaError } from '../errors';

const f = Math.fround;

export interface ScalerJson {
  typestring: string;
  use_ddp: boolean;
  scale_standard: boolean;
  scale_minmax: boolean;
  feature_wise: boolean;
  cantransform: boolean;
  means: number[][];
  stds: number[][];
  maxs: number[][];
  mins: number[][];
  total_mean: number;
  total_std: number;
  total_max: number;
  total_min: number;
  total_data_count: number;
}

export class DataScaler {
  readonly typestring: string;
  readonly standard: boolean;
  readonly minmax: boolean;
  readonly featureWise: boolean;
  /** Per-feature (feature-wise) or one-element (global) parameters, float32. */
  shift: Float32Array = new Float32Array(0);
  /** Divisor: std or (max − min). */
  scale: Float32Array = new Float32Array(0);
  /** Number of features the scaler was fitted on (0 for global or unfitted). */
  nFeatures = 0;
  fitted = false;
  private raw: { means: Float32Array; stds: Float32Array; mins: Float32Array; maxs: Float32Array; totalMean: number; totalStd: number; totalMin: number; totalMax: number; count: number } = { means: new Float32Array(0), stds: new Float32Array(0), mins: new Float32Array(0), maxs: new Float32Array(0), totalMean: 0, totalStd: 0, totalMin: Infinity, totalMax: -Infinity, count: 0 };

  constructor(typestring: string) {
    const t = typestring ?? 'None';
    this.typestring = t;
    this.standard = t.includes('standard');
    this.minmax = t.includes('normal') || t.includes('minmax');
    this.featureWise = t.includes('feature-wise');
    if (t !== 'None' && !this.standard && !this.minmax) {
      throw new MalaError(`unknown scaler type '${t}'`, { fix: "use None, standard, minmax, feature-wise-standard or feature-wise-minmax" });
    }
    this.fitted = !this.standard && !this.minmax;
  }

  get isIdentity(): boolean {
    return !this.standard && !this.minmax;
  }

  /** Fit on rows of nFeatures values (float64 accumulation; std is the unbiased N−1 one). */
  fit(data: Float32Array, nFeatures: number): this {
    if (this.isIdentity) return this;
    const nRows = data.length / nFeatures;
    if (!Number.isInteger(nRows) || nRows < 2) throw new MalaError(`cannot fit a ${this.typestring} scaler on ${data.length} values of ${nFeatures} features`);
    const nCol = this.featureWise ? nFeatures : 1;
    const sum = new Float64Array(nCol), sq = new Float64Array(nCol), mn = new Float64Array(nCol).fill(Infinity), mx = new Float64Array(nCol).fill(-Infinity);
    const cnt = this.featureWise ? nRows : nRows * nFeatures;
    for (let r = 0; r < nRows; r++) {
      for (let c = 0; c < nFeatures; c++) {
        const v = data[r * nFeatures + c];
        const k = this.featureWise ? c : 0;
        sum[k] += v;
        if (v < mn[k]) mn[k] = v;
        if (v > mx[k]) mx[k] = v;
      }
    }
    const mean = sum.map((s) => s / cnt);
    for (let r = 0; r < nRows; r++) {
      for (let c = 0; c < nFeatures; c++) {
        const k = this.featureWise ? c : 0;
        const d = data[r * nFeatures + c] - mean[k];
        sq[k] += d * d;
      }
    }
    // A constant column would divide by zero; scale it by 1 instead (it carries no information).
    const std = sq.map((s) => Math.sqrt(s / (cnt - 1)) || 1);
    this.nFeatures = this.featureWise ? nFeatures : 0;
    this.raw = {
      means: this.featureWise && this.standard ? Float32Array.from(mean) : new Float32Array(0),
      stds: this.featureWise && this.standard ? Float32Array.from(std) : new Float32Array(0),
      mins: this.featureWise && this.minmax ? Float32Array.from(mn) : new Float32Array(0),
      maxs: this.featureWise && this.minmax ? Float32Array.from(mx) : new Float32Array(0),
      totalMean: !this.featureWise && this.standard ? f(mean[0]) : 0,
      totalStd: !this.featureWise && this.standard ? f(std[0]) : 0,
      totalMin: !this.featureWise && this.minmax ? f(mn[0]) : Infinity,
      totalMax: !this.featureWise && this.minmax ? f(mx[0]) : -Infinity,
      count: cnt,
    };
    this.derive();
    return this;
  }

  private derive(): void {
    const r = this.raw;
    if (this.standard) {
      this.shift = this.featureWise ? r.means : Float32Array.of(r.totalMean);
      this.scale = this.featureWise ? r.stds : Float32Array.of(r.totalStd);
    } else if (this.minmax) {
      this.shift = this.featureWise ? r.mins : Float32Array.of(r.totalMin);
      this.scale = this.featureWise ? r.maxs.map((m, i) => f(m - r.mins[i]) || 1) : Float32Array.of(f(r.totalMax - r.totalMin) || 1);
    }
    this.nFeatures = this.featureWise ? this.shift.length : 0;
    this.fitted = true;
  }

  private check(nFeatures: number): void {
    if (!this.fitted) throw new MalaError(`the ${this.typestring} scaler is not fitted`);
    if (this.featureWise && this.nFeatures !== nFeatures) {
      throw new MalaError(`the scaler has ${this.nFeatures} features but the data has ${nFeatures}`, { fix: 'use descriptors/LDOS computed with the same settings as the model' });
    }
  }

  /** x → x' in place (rows of nFeatures). */
  transform(data: Float32Array, nFeatures: number): Float32Array {
    if (this.isIdentity) return data;
    this.check(nFeatures);
    const fw = this.featureWise;
    for (let i = 0; i < data.length; i++) {
      const k = fw ? i % nFeatures : 0;
      data[i] = f(f(data[i] - this.shift[k]) / this.scale[k]);
    }
    return data;
  }

  /** x' → x in place. */
  inverse(data: Float32Array, nFeatures: number): Float32Array {
    if (this.isIdentity) return data;
    this.check(nFeatures);
    const fw = this.featureWise;
    for (let i = 0; i < data.length; i++) {
      const k = fw ? i % nFeatures : 0;
      data[i] = f(f(data[i] * this.scale[k]) + this.shift[k]);
    }
    return data;
  }

  toJSON(): ScalerJson {
    const r = this.raw;
    const nested = (a: Float32Array) => (a.length ? [Array.from(a)] : []);
    const finite = (x: number) => (Number.isFinite(x) ? x : x > 0 ? 'inf' : '-inf') as number;
    return {
      typestring: this.typestring,
      use_ddp: false,
      scale_standard: this.standard,
      scale_minmax: this.minmax,
      feature_wise: this.featureWise,
      cantransform: this.fitted,
      means: nested(r.means),
      stds: nested(r.stds),
      maxs: nested(r.maxs),
      mins: nested(r.mins),
      total_mean: r.totalMean,
      total_std: r.totalStd,
      total_max: finite(r.totalMax),
      total_min: finite(r.totalMin),
      total_data_count: r.count,
    };
  }

  /**
   * A fitted global minmax scaler turned feature-wise, with feature k's range divided by √w_k:
   * the scaled targets are (x − min)·√w_k / (max − min), so the training loss (MSE on scaled
   * values) weighs feature k's squared error by w_k. Stored as an ordinary
   * feature-wise-minmax scaler, so inference and MALA's format are unchanged.
   */
  static weightedMinmax(global: DataScaler, weights: ArrayLike<number>): DataScaler {
    if (!global.fitted || !global.minmax || global.featureWise) throw new Error('weightedMinmax: needs a fitted global minmax scaler');
    for (let k = 0; k < weights.length; k++) if (!(weights[k] > 0) || !Number.isFinite(weights[k])) throw new MalaError(`output weight ${k} is ${weights[k]}: weights must be positive and finite`);
    const min = global.shift[0];
    const range = global.scale[0];
    const n = weights.length;
    return DataScaler.fromMala(
      {
        typestring: 'feature-wise-minmax',
        mins: [Array.from({ length: n }, () => min)],
        maxs: [Array.from({ length: n }, (_, k) => f(min + range / Math.sqrt(weights[k])))],
        total_data_count: global.raw.count,
      },
      'weighted output scaler',
    );
  }

  /** From MALA's JSON scaler (also our archive's), or the attribute dict of a legacy pickle. */
  static fromMala(o: Record<string, unknown>, where: string): DataScaler {
    if (typeof o.typestring !== 'string') throw new MalaError(`scaler without a typestring`, { file: where });
    const s = new DataScaler(o.typestring);
    if (s.isIdentity) return s;
    const arr = (v: unknown): Float32Array => {
      if (v === undefined || v === null) return new Float32Array(0);
      if (typeof v === 'object' && v !== null && 'data' in v) return Float32Array.from((v as { data: ArrayLike<number> }).data);
      if (Array.isArray(v)) return Float32Array.from((v as unknown[]).flat(3) as number[]);
      throw new MalaError(`malformed scaler array`, { file: where });
    };
    const num = (v: unknown, dflt: number): number => {
      if (v === undefined || v === null) return dflt;
      if (typeof v === 'number') return v;
      if (v === 'inf' || v === 'Infinity') return Infinity;
      if (v === '-inf' || v === '-Infinity') return -Infinity;
      if (typeof v === 'object' && 'data' in (v as object)) {
        const d = (v as { data: ArrayLike<number> }).data;
        return d.length ? d[0] : dflt;
      }
      throw new MalaError(`malformed scaler number ${JSON.stringify(v)}`, { file: where });
    };
    s.raw = {
      means: arr(o.means), stds: arr(o.stds), mins: arr(o.mins), maxs: arr(o.maxs),
      totalMean: f(num(o.total_mean, 0)), totalStd: f(num(o.total_std, 0)),
      totalMin: f(num(o.total_min, Infinity)), totalMax: f(num(o.total_max, -Infinity)),
      count: num(o.total_data_count, 0),
    };
    s.derive();
    const bad = Array.from(s.scale).some((x) => !(x > 0) || !Number.isFinite(x)) || Array.from(s.shift).some((x) => !Number.isFinite(x));
    if (bad || s.shift.length === 0) throw new MalaError(`the ${s.typestring} scaler has missing, zero or non-finite parameters`, { file: where, fix: 'the model file is damaged; re-export it' });
    return s;
  }
}
