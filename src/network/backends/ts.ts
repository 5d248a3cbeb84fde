/**
 * The plain-TypeScript backend: the reference MLP of mlp.ts (always available, about 20× slower
 * than libtorch; the fallback of 'auto').
 */
import { MalaError } from '../../errors';
import { forwardAll64, inputVjp } from '../mlp-vjp';
import { adamUpdate, defaultAdam, forwardAll, forwardTs, mseGradientsTs, parameterShapes, type AdamHyper, type NetworkSpec, type Parameters } from '../mlp';
import { registerBackend } from './registry';
import { NON_FINITE_COTANGENT, NON_FINITE_INPUT, type InferenceNet, type OptimizerState, type PredictVjp, type Scaling, type TrainableNet } from './types';
import { cotangentLengthError } from './vjp';

const identity = (v: number): number => v;

/** The plain-TS backend: synchronous work wrapped in promises. */
export class TsNet implements TrainableNet {
  readonly name: string = 'ts';
  readonly device: string = 'ts';
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
    const y = forwardTs(this.spec, this.params, this.scaledInput(x, nPoints, new Float32Array(nPoints * this.nIn), Math.fround), nPoints);
    this.unscaleRestrict(y, Math.fround);
    if (out) {
      out.set(y);
      return out;
    }
    return y;
  }
  /** predict and its vector–Jacobian product: float32 forward (predict's exact values), float64 back-propagation. */
  async predictVjp(x: Float32Array, nPoints: number, cotangent: Float64Array): Promise<PredictVjp> {
    this.checkCotangent(cotangent, nPoints);
    const hs = forwardAll(this.spec, this.params, this.scaledInput(x, nPoints, new Float32Array(nPoints * this.nIn), Math.fround), nPoints);
    const out = Float32Array.from(hs[hs.length - 1]); // hs[L] stays the activation output the backward pass needs
    return { out, gradInput: this.backward(hs, out, cotangent, nPoints, Math.fround) };
  }
  /**
   * The float64 checking path (finite differences of forces): forward(x) computed in float64
   * throughout from the float32 weights. x may be float64. Synchronous.
   */
  forwardFloat64(x: Float32Array | Float64Array, nPoints: number): Float64Array {
    const hs = forwardAll64(this.spec, this.params, Float64Array.from(x.subarray(0, nPoints * this.nIn)), nPoints);
    return hs[hs.length - 1];
  }
  /** `predict` in float64 throughout (scaling, net, unscaling, restrict); x may be float64. Synchronous. */
  predictFloat64(x: Float32Array | Float64Array, nPoints: number): Float64Array {
    const y = this.forwardFloat64(this.scaledInput(x, nPoints, new Float64Array(nPoints * this.nIn), identity), nPoints);
    this.unscaleRestrict(y, identity);
    return y;
  }
  /** `predictVjp` in float64 throughout; x may be float64. Synchronous. */
  predictVjpFloat64(x: Float32Array | Float64Array, nPoints: number, cotangent: Float64Array): { out: Float64Array; gradInput: Float64Array } {
    this.checkCotangent(cotangent, nPoints);
    const hs = forwardAll64(this.spec, this.params, this.scaledInput(x, nPoints, new Float64Array(nPoints * this.nIn), identity), nPoints);
    const out = Float64Array.from(hs[hs.length - 1]);
    return { out, gradInput: this.backward(hs, out, cotangent, nPoints, identity) };
  }

  private get nIn(): number {
    return this.spec.layerSizes[0];
  }
  private get nOut(): number {
    return this.spec.layerSizes[this.spec.layerSizes.length - 1];
  }
  /** dst = (x − inShift)/inScale with rounding `f` (Math.fround: MALA's float32 scaler); rejects NaN/±inf. */
  private scaledInput<T extends Float32Array | Float64Array>(x: Float32Array | Float64Array, nPoints: number, dst: T, f: (v: number) => number): T {
    const { inShift, inScale } = this.scaling;
    const nIn = this.nIn;
    for (let i = 0; i < nPoints * nIn; i++) {
      const v = x[i];
      if (!Number.isFinite(v)) throw new Error(NON_FINITE_INPUT);
      if (inScale.length) {
        const k = inScale.length === 1 ? 0 : i % nIn;
        dst[i] = f(f(v - inShift[k]) / inScale[k]);
      } else dst[i] = v;
    }
    return dst;
  }
  /** In place: y ← restrict(y·outScale + outShift) with rounding `f`; with `dOut`, dOut ← ∂y_new/∂y per value. */
  private unscaleRestrict(y: Float32Array | Float64Array, f: (v: number) => number, dOut?: Float64Array): void {
    const { outShift, outScale, restrict } = this.scaling;
    const nOut = this.nOut;
    for (let i = 0; i < y.length; i++) {
      let d = 1;
      if (outScale.length) {
        const k = outScale.length === 1 ? 0 : i % nOut;
        d = outScale[k];
        y[i] = f(f(y[i] * d) + outShift[k]);
      }
      const u = y[i];
      // torch's derivatives: clamp_min passes the gradient where u ≥ 0, abs multiplies by sgn(u)
      if (restrict === 'zero_out_negative') {
        if (u < 0) {
          y[i] = 0;
          d = 0;
        }
      } else if (restrict === 'absolute_values') {
        y[i] = Math.abs(u);
        d *= Math.sign(u);
      }
      if (dOut) dOut[i] = d;
    }
  }
  private checkCotangent(cotangent: Float64Array, nPoints: number): void {
    const bad = cotangentLengthError(cotangent, nPoints, this.nOut);
    if (bad) throw new RangeError(bad);
    for (let i = 0; i < cotangent.length; i++) if (!Number.isFinite(cotangent[i])) throw new Error(NON_FINITE_COTANGENT);
  }
  /** gradInput from the forward layer outputs hs (net output hs[L], still raw) and `out` (unscaled in place here). */
  private backward(hs: (Float32Array | Float64Array)[], out: Float32Array | Float64Array, cotangent: Float64Array, nPoints: number, f: (v: number) => number): Float64Array {
    const g = new Float64Array(out.length);
    this.unscaleRestrict(out, f, g);
    for (let i = 0; i < g.length; i++) g[i] *= cotangent[i];
    const gradInput = inputVjp(this.spec, this.params, hs, g, nPoints);
    const { inScale } = this.scaling;
    if (inScale.length) for (let i = 0; i < gradInput.length; i++) gradInput[i] /= inScale[inScale.length === 1 ? 0 : i % this.nIn];
    return gradInput;
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

/**
 * The float64 checking path of a net: the net itself when it runs on the ts backend (create it,
 * or the LdosModel, with `{ backend: 'ts' }`, i.e. --backend ts / MALA_TS_BACKEND=ts), else a MalaError.
 */
export function float64Path(net: InferenceNet): TsNet {
  if (net instanceof TsNet) return net;
  throw new MalaError(`the float64 checking path runs on the ts network backend, not '${net.name}'`, { fix: 'create the network with --backend ts (MALA_TS_BACKEND=ts)' });
}

registerBackend({
  name: 'ts',
  priority: 0,
  label: 'plain-TypeScript network (about 20× slower)',
  availability: () => ({ ok: true, reason: '' }),
  createInference: (spec, params) => new TsNet(spec, params),
  createTraining: (spec, params) => new TsNet(spec, params),
});
