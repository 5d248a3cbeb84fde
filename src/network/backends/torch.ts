/**
 * The libtorch backend: the N-API addon in bindings/torch (fast; work runs off the main thread,
 * one call at a time per net). Available when the addon builds and loads.
 */
import { loadTorchAddon, type TorchNet } from '../../../bindings/torch';
import { MalaError } from '../../errors';
import type { AdamHyper, NetworkSpec, Parameters } from '../mlp';
import { registerBackend } from './registry';
import type { OptimizerState, PredictVjp, Scaling, TrainableNet } from './types';
import { cotangentLengthError } from './vjp';

const RESTRICT_CODE = { none: 0, zero_out_negative: 1, absolute_values: 2 } as const;

class TorchBackendNet implements TrainableNet {
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
      throw new MalaError(`libtorch could not create the network on '${device ?? 'auto'}': ${(e as Error).message}`, { fix: 'use --device cpu (or auto); for CUDA see the README, GPU' });
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
  /** predict and its vector–Jacobian product by libtorch's autograd (float32; gradInput widened to float64). */
  predictVjp(x: Float32Array, nPoints: number, cotangent: Float64Array): Promise<PredictVjp> {
    if (typeof this.net.predictVjp !== 'function') {
      return Promise.reject(new MalaError('this build of the libtorch addon has no predictVjp (it predates forces)', { fix: "rebuild it: run 'make setup'" }));
    }
    const bad = cotangentLengthError(cotangent, nPoints, this.spec.layerSizes[this.spec.layerSizes.length - 1]);
    if (bad) return Promise.reject(new RangeError(bad));
    const out = new Float32Array(cotangent.length);
    const gradInput = new Float64Array(nPoints * this.spec.layerSizes[0]);
    return this.serial(() => this.net.predictVjp!(x, cotangent, out, gradInput, nPoints).then(() => ({ out, gradInput })));
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

registerBackend({
  name: 'torch',
  priority: 100,
  label: 'libtorch addon',
  availability: () => {
    const { addon, reason } = loadTorchAddon();
    return { ok: !!addon, reason, fix: "run 'make setup', or use the TS backend (MALA_TS_BACKEND=ts)" };
  },
  devices: () => {
    const info = loadTorchAddon().addon!.info();
    return { label: 'libtorch addon', builtWithCuda: info.builtWithCuda, cudaDeviceCount: info.cudaAvailable ? info.cudaDeviceCount : 0 };
  },
  createInference: (spec, params, opts) => new TorchBackendNet(spec, params, opts.device),
  createTraining: (spec, params, opts) => new TorchBackendNet(spec, params, opts.device),
});
