/**
 * Loader of the libtorch addon (bindings/torch/build/Release/mala_torch.node, built by
 * scripts/setup.sh with node-gyp; see torch-config.js for which libtorch it links).
 * No physics here: a typed view of the addon and one function that finds it.
 *
 * `loadTorchAddon()` returns the addon or null with the reason; callers decide whether to fall
 * back (src/network/backend.ts does, with a warning). $MALA_TS_TORCH_ADDON points at another build.
 */
import * as fs from 'node:fs';
import { addonBuildCommand, packagePath } from '../../src/util/package-paths';

/** Adam hyper-parameters; the update is torch.optim.Adam's. */
export interface AdamConfig {
  lr?: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  weightDecay?: number;
}

export interface AdamState {
  step: number;
  expAvg: Float32Array[];
  expAvgSq: Float32Array[];
}

/** A feed-forward net held by libtorch (parameters on the chosen device). */
export interface TorchNet {
  /** 'cpu' or 'cuda:0'. */
  readonly device: string;
  /** out[n×nOut] = net(x[n×nIn]); resolves when `out` is filled. Runs off the main thread. */
  forward(x: Float32Array, out: Float32Array, nPoints: number): Promise<number>;
  /** forward with the scaling/restriction of setScaling; rejects non-finite inputs. */
  predict(x: Float32Array, out: Float32Array, nPoints: number): Promise<number>;
  /** Shift/scale arrays of length 0 (none), 1 (global) or the feature count; restrict 0 none, 1 negatives → 0, 2 |y|. */
  setScaling(inShift: Float32Array, inScale: Float32Array, outShift: Float32Array, outScale: Float32Array, restrict: number): void;
  /**
   * predict (the same values) and gradInput = cotangentᵀ·∂predict/∂x by autograd, float32 inside,
   * cotangent and gradInput float64; rejects non-finite inputs and cotangents. Builds from 2026-12 on.
   */
  predictVjp?(x: Float32Array, cotangent: Float64Array, out: Float32Array, gradInput: Float64Array, nPoints: number): Promise<number>;
  /** One Adam step on MSE(net(x), y); resolves with the batch loss before the update. */
  trainStep(x: Float32Array, y: Float32Array, nPoints: number): Promise<number>;
  /** Σ (net(x) − y)² over the batch, accumulated in float64. */
  lossSum(x: Float32Array, y: Float32Array, nPoints: number): Promise<number>;
  /** W0, b0, W1, b1, ... with W in PyTorch layout [out][in] (copies). */
  getParameters(): Float32Array[];
  setParameters(params: Float32Array[]): void;
  configureAdam(cfg: AdamConfig): void;
  getOptimizerState(): AdamState;
  setOptimizerState(state: AdamState): void;
}

export interface TorchAddon {
  Net: new (layerSizes: number[], activations: string[], device?: string) => TorchNet;
  /** cudaBatchPoints and inferenceMode: builds from 2026-12 on (CUDA batch size; 'NoGradGuard' or 'InferenceMode'). */
  info(): { torchVersion: string; cudaAvailable: boolean; cudaDeviceCount: number; intraOpThreads: number; builtWithCuda: boolean; cudaBatchPoints?: number; inferenceMode?: string; /** OpenBLAS threads that blocked CPU inference spreads its row blocks over (1: other BLAS) */ blasThreads?: number };
  manualSeed(seed: number): void;
}

export const addonPath = process.env.MALA_TS_TORCH_ADDON || packagePath('bindings', 'torch', 'build', 'Release', 'mala_torch.node');

let cached: { addon: TorchAddon | null; reason: string } | undefined;

/** The addon, or null and why it could not be loaded (missing build, missing libtorch...). */
export function loadTorchAddon(): { addon: TorchAddon | null; reason: string } {
  if (cached) return cached;
  if (!fs.existsSync(addonPath)) {
    cached = { addon: null, reason: `${addonPath} does not exist (${addonBuildCommand()} to build the libtorch addon)` };
    return cached;
  }
  try {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const addon = require(addonPath) as TorchAddon;
    cached = { addon, reason: '' };
  } catch (e) {
    cached = { addon: null, reason: `${addonPath} failed to load: ${(e as Error).message.split('\n')[0]} (is libtorch installed? ${addonBuildCommand()})` };
  }
  return cached;
}
