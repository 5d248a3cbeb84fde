/**
 * Compute backends for the network: libtorch (the addon, fast, async off the main thread) or
 * plain TypeScript (reference, fallback). Both expose the same `NetBackend`, so the trainer and
 * inference do not care which one runs. Choice: `backend` option, else $MALA_TS_BACKEND
 * ('torch' | 'ts' | 'auto'), else auto = libtorch when the addon loads, TS with a warning otherwise.
 */
import { loadTorchAddon, type TorchNet } from '../../bindings/torch';
import { MalaError } from '../errors';
import { adamUpdate, defaultAdam, forwardTs, mseGradientsTs, type AdamHyper, type NetworkSpec, type Parameters, parameterShapes } from './mlp';

export type BackendName = 'torch' | 'ts';

export interface OptimizerState {
  step: number;
  expAvg: Parameters;
  expAvgSq: Parameters;
}

/** Data scaling around the net for `predict` (MALA's scalers + restrict_targets). */
export interface Scaling {
  /** Length 0 (no scaling), 1 (global) or the feature count; float32. */
  inShift: Float32Array;
  inScale: Float32Array;
  outShift: Float32Array;
  outScale: Float32Array;
  restrict: 'none' | 'zero_out_negative' | 'absolute_values';
}

const RESTRICT_CODE = { none: 0, zero_out_negative: 1, absolute_values: 2 } as const;

/** Message of the error `predict` throws for NaN/±inf inputs (callers locate the value). */
export const NON_FINITE_INPUT = 'non-finite input value';

export interface NetBackend {
  readonly name: BackendName;
  /** 'cpu', 'cuda:0' or 'ts'. */
  readonly device: string;
  readonly spec: NetworkSpec;
  /** net(x) for n points into a new Float32Array (n × nOut). */
  forward(x: Float32Array, nPoints: number): Promise<Float32Array>;
  /** Set the scaling used by `predict`. */
  setScaling(s: Scaling): void;
  /** scale → net → unscale → restrict, for n points; does not modify x; rejects NaN/±inf inputs. */
  predict(x: Float32Array, nPoints: number, out?: Float32Array): Promise<Float32Array>;
  /** One Adam step on the batch MSE; resolves with the loss before the update. */
  trainStep(x: Float32Array, y: Float32Array, nPoints: number): Promise<number>;
  /** Σ (net(x) − y)² of the batch in float64. */
  lossSum(x: Float32Array, y: Float32Array, nPoints: number): Promise<number>;
  getParameters(): Parameters;
  setParameters(p: Parameters): void;
  configureAdam(h: Partial<AdamHyper>): void;
  getOptimizerState(): OptimizerState;
  setOptimizerState(s: OptimizerState): void;
}

let warned = false;

function warnFallback(reason: string): void {
  if (warned || process.env.MALA_TS_QUIET_FALLBACK === '1') return;
  warned = true;
  process.stderr.write(`mala-ts: warning: libtorch addon unavailable, using the plain-TypeScript network (about 20× slower).\n  reason: ${reason}\n`);
}

/** Which backend `createNet` would use, and why. */
export function resolveBackend(requested?: BackendName | 'auto'): { name: BackendName; reason: string } {
  const want = requested ?? ((process.env.MALA_TS_BACKEND as BackendName | 'auto' | undefined) || 'auto');
  if (want !== 'auto' && want !== 'torch' && want !== 'ts') {
    throw new MalaError(`unknown network backend '${want}'`, { fix: "use 'torch', 'ts' or 'auto' (MALA_TS_BACKEND)" });
  }
  if (want === 'ts') return { name: 'ts', reason: 'requested' };
  const { addon, reason } = loadTorchAddon();
  if (addon) return { name: 'torch', reason: '' };
  if (want === 'torch') throw new MalaError(`the libtorch addon is required but unavailable: ${reason}`, { fix: "run 'make setup', or use the TS backend (MALA_TS_BACKEND=ts)" });
  return { name: 'ts', reason };
}

/** A network with the given parameters on the chosen backend (parameters are copied). */
export function createNet(spec: NetworkSpec, params: Parameters, opts: { backend?: BackendName | 'auto'; device?: string } = {}): NetBackend {
  const { name, reason } = resolveBackend(opts.backend);
  if (name === 'ts') {
    if (reason !== 'requested') warnFallback(reason);
    return new TsNet(spec, params);
  }
  return new TorchBackend(spec, params, opts.device);
}

class TorchBackend implements NetBackend {
  readonly name = 'torch' as const;
  readonly spec: NetworkSpec;
  private net: TorchNet;
  // One call at a time per net: libtorch/OpenBLAS already use every core.
  private queue: Promise<unknown> = Promise.resolve();

  constructor(spec: NetworkSpec, params: Parameters, device?: string) {
    this.spec = spec;
    const { addon } = loadTorchAddon();
    try {
      this.net = new addon!.Net(spec.layerSizes, spec.activations.map((a) => a ?? ''), device ?? 'auto');
    } catch (e) {
      throw new MalaError(`libtorch could not create the network: ${(e as Error).message}`, { fix: 'check MALA_TS_DEVICE (auto, cpu, cuda)' });
    }
    this.net.setParameters(params);
  }

  get device(): string {
    return this.net.device;
  }

  private serial<T>(f: () => Promise<T>): Promise<T> {
    const p = this.queue.then(f, f);
    this.queue = p.catch(() => undefined);
    return p;
  }

  forward(x: Float32Array, nPoints: number): Promise<Float32Array> {
    const out = new Float32Array(nPoints * this.spec.layerSizes[this.spec.layerSizes.length - 1]);
    return this.serial(() => this.net.forward(x, out, nPoints).then(() => out));
  }
  setScaling(sc: Scaling): void {
    this.net.setScaling(sc.inShift, sc.inScale, sc.outShift, sc.outScale, RESTRICT_CODE[sc.restrict]);
  }
  predict(x: Float32Array, nPoints: number, out?: Float32Array): Promise<Float32Array> {
    const y = out ?? new Float32Array(nPoints * this.spec.layerSizes[this.spec.layerSizes.length - 1]);
    return this.serial(() => this.net.predict(x, y, nPoints).then(() => y));
  }
  trainStep(x: Float32Array, y: Float32Array, nPoints: number): Promise<number> {
    return this.serial(() => this.net.trainStep(x, y, nPoints));
  }
  lossSum(x: Float32Array, y: Float32Array, nPoints: number): Promise<number> {
    return this.serial(() => this.net.lossSum(x, y, nPoints));
  }
  getParameters(): Parameters {
    return this.net.getParameters();
  }
  setParameters(p: Parameters): void {
    this.net.setParameters(p);
  }
  configureAdam(h: Partial<AdamHyper>): void {
    this.net.configureAdam(h);
  }
  getOptimizerState(): OptimizerState {
    return this.net.getOptimizerState();
  }
  setOptimizerState(s: OptimizerState): void {
    this.net.setOptimizerState(s);
  }
}

/** The plain-TS backend: synchronous work wrapped in promises. */
export class TsNet implements NetBackend {
  readonly name = 'ts' as const;
  readonly device = 'ts';
  readonly spec: NetworkSpec;
  private params: Parameters;
  private adam: AdamHyper = { ...defaultAdam };
  private state: OptimizerState;

  constructor(spec: NetworkSpec, params: Parameters) {
    this.spec = spec;
    const shapes = parameterShapes(spec);
    this.params = shapes.map((s, i) => {
      const n = s.reduce((a, b) => a * b, 1);
      if (!params[i] || params[i].length !== n) throw new MalaError(`parameter ${i} has ${params[i]?.length} values, expected ${n} (shape ${s.join('×')})`);
      return Float32Array.from(params[i]);
    });
    this.state = { step: 0, expAvg: this.params.map((p) => new Float32Array(p.length)), expAvgSq: this.params.map((p) => new Float32Array(p.length)) };
  }

  async forward(x: Float32Array, nPoints: number): Promise<Float32Array> {
    return forwardTs(this.spec, this.params, x, nPoints);
  }
  private scaling: Scaling = { inShift: new Float32Array(0), inScale: new Float32Array(0), outShift: new Float32Array(0), outScale: new Float32Array(0), restrict: 'none' };
  setScaling(sc: Scaling): void {
    this.scaling = { ...sc, inShift: Float32Array.from(sc.inShift), inScale: Float32Array.from(sc.inScale), outShift: Float32Array.from(sc.outShift), outScale: Float32Array.from(sc.outScale) };
  }
  async predict(x: Float32Array, nPoints: number, out?: Float32Array): Promise<Float32Array> {
    const f = Math.fround;
    const { inShift, inScale, outShift, outScale, restrict } = this.scaling;
    const nIn = this.spec.layerSizes[0];
    const nOut = this.spec.layerSizes[this.spec.layerSizes.length - 1];
    const xs = Float32Array.from(x.subarray(0, nPoints * nIn));
    for (let i = 0; i < xs.length; i++) {
      if (!Number.isFinite(xs[i])) throw new Error(NON_FINITE_INPUT);
      if (inScale.length) {
        const k = inScale.length === 1 ? 0 : i % nIn;
        xs[i] = f(f(xs[i] - inShift[k]) / inScale[k]);
      }
    }
    const y = forwardTs(this.spec, this.params, xs, nPoints);
    for (let i = 0; i < y.length; i++) {
      if (outScale.length) {
        const k = outScale.length === 1 ? 0 : i % nOut;
        y[i] = f(f(y[i] * outScale[k]) + outShift[k]);
      }
      if (restrict === 'zero_out_negative' && y[i] < 0) y[i] = 0;
      else if (restrict === 'absolute_values') y[i] = Math.abs(y[i]);
    }
    if (out) {
      out.set(y);
      return out;
    }
    return y;
  }
  async trainStep(x: Float32Array, y: Float32Array, nPoints: number): Promise<number> {
    const { loss, grads } = mseGradientsTs(this.spec, this.params, x, y, nPoints);
    this.state.step += 1;
    adamUpdate(this.params, grads, this.state.expAvg, this.state.expAvgSq, this.state.step, this.adam);
    return loss;
  }
  async lossSum(x: Float32Array, y: Float32Array, nPoints: number): Promise<number> {
    const out = forwardTs(this.spec, this.params, x, nPoints);
    let s = 0;
    for (let i = 0; i < out.length; i++) s += (out[i] - y[i]) ** 2;
    return s;
  }
  getParameters(): Parameters {
    return this.params.map((p) => Float32Array.from(p));
  }
  setParameters(p: Parameters): void {
    p.forEach((a, i) => this.params[i].set(a));
  }
  configureAdam(h: Partial<AdamHyper>): void {
    this.adam = { ...this.adam, ...Object.fromEntries(Object.entries(h).filter(([, v]) => v !== undefined)) };
  }
  getOptimizerState(): OptimizerState {
    return { step: this.state.step, expAvg: this.state.expAvg.map((a) => Float32Array.from(a)), expAvgSq: this.state.expAvgSq.map((a) => Float32Array.from(a)) };
  }
  setOptimizerState(s: OptimizerState): void {
    this.state = { step: s.step, expAvg: s.expAvg.map((a) => Float32Array.from(a)), expAvgSq: s.expAvgSq.map((a) => Float32Array.from(a)) };
  }
}
