/**
 * What a network backend offers: `InferenceNet` (forward and the scaled `predict` the model
 * needs) and `TrainableNet` (adds MSE + Adam for the trainer). A backend is registered once by
 * name and priority (registry.ts); callers never see which one runs.
 */
import type { DeviceProbe } from '../device';
import type { AdamHyper, NetworkSpec, Parameters } from '../mlp';

/** Adam's state as torch.optim.Adam keeps it, one moment array per parameter. */
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

/** Message of the error `predict` throws for NaN/±inf inputs (callers locate the value). */
export const NON_FINITE_INPUT = 'non-finite input value';

/** Message of the error `predictVjp` throws for NaN/±inf cotangent values. */
export const NON_FINITE_COTANGENT = 'non-finite cotangent value';

/** `predict`'s output and the vector–Jacobian product of `predict` at the same input. */
export interface PredictVjp {
  /** predict(x), exactly as `predict` gives it (n × nOut). */
  out: Float32Array;
  /** gradInput[p·nIn + j] = Σ_k cotangent[p·nOut + k] · ∂out[p·nOut + k]/∂x[p·nIn + j] (n × nIn). */
  gradInput: Float64Array;
}

/** A network ready for inference. */
export interface InferenceNet {
  /** The registered backend name ('torch', 'ts', ...). */
  readonly name: string;
  /** 'cpu', 'cuda:0' or 'ts'. */
  readonly device: string;
  readonly spec: NetworkSpec;
  /** net(x) for n points into a new Float32Array (n × nOut). */
  forward(x: Float32Array, nPoints: number): Promise<Float32Array>;
  /** Set the scaling used by `predict`. */
  setScaling(s: Scaling): void;
  /** scale → net → unscale → restrict, for n points; does not modify x; rejects NaN/±inf inputs with NON_FINITE_INPUT. */
  predict(x: Float32Array, nPoints: number, out?: Float32Array): Promise<Float32Array>;
  /**
   * Back-propagation to the inputs (forces): `predict` and the cotangent (n × nOut) pulled back
   * through restrict, output unscaling, the net and input scaling. The derivative of the clamp of
   * 'zero_out_negative' is 0 where the unscaled output is < 0, that of 'absolute_values' its sign.
   * Rejects NaN/±inf inputs (NON_FINITE_INPUT) and cotangents (NON_FINITE_COTANGENT).
   * Optional: `requireVjp` (vjp.ts) gives the error for a backend without it.
   */
  predictVjp?(x: Float32Array, nPoints: number, cotangent: Float64Array): Promise<PredictVjp>;
}

/** A network the trainer can optimise: MSE loss and torch.optim.Adam's update. */
export interface TrainableNet extends InferenceNet {
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

/** Options every backend factory receives. */
export interface NetOptions {
  /** Device: 'cpu' or 'cuda:N' once the registry has resolved the request (src/network/device.ts); backends without devices ignore it. */
  device?: string;
}

/** Whether a backend can run here; `reason` says why not, `fix` how to make it run. */
export interface Availability {
  ok: boolean;
  reason: string;
  fix?: string;
}

/** One entry of the backend registry. */
export interface BackendDefinition {
  /** Lower-case name used by --backend and $MALA_TS_BACKEND ('auto' is reserved). */
  name: string;
  /** `auto` takes the available backend with the highest priority. */
  priority: number;
  /** What the fallback warning calls it, e.g. 'libtorch addon'. */
  label: string;
  /** Cheap after the first call (cache what you load). */
  availability(): Availability;
  /** Its devices (for --device); absent: the backend runs on the CPU only. Called when available. */
  devices?(): DeviceProbe;
  /** A net with these parameters (copied) for inference. */
  createInference(spec: NetworkSpec, params: Parameters, opts: NetOptions): InferenceNet;
  /** A net with these parameters (copied) for training; absent for inference-only backends. */
  createTraining?(spec: NetworkSpec, params: Parameters, opts: NetOptions): TrainableNet;
}
