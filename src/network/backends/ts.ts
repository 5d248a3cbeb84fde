/**
 * The plain-TypeScript backend: the reference MLP of mlp.ts (always available, about 20× slower
 * than libtorch; the fallback of 'auto').
 */
import { MalaError } from '../../errors';
import { adamUpdate, defaultAdam, forwardTs, mseGradientsTs, parameterShapes, type AdamHyper, type NetworkSpec, type Parameters } from '../mlp';
import { registerBackend } from './registry';
import { NON_FINITE_INPUT, type OptimizerState, type Scaling, type TrainableNet } from './types';

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

registerBackend({
  name: 'ts',
  priority: 0,
  label: 'plain-TypeScript network (about 20× slower)',
  availability: () => ({ ok: true, reason: '' }),
  createInference: (spec, params) => new TsNet(spec, params),
  createTraining: (spec, params) => new TsNet(spec, params),
});
