/**
 * Compute backends for the network, by name through an open registry (src/network/backends/):
 * libtorch (the addon, fast, async off the main thread) and plain TypeScript (reference,
 * fallback). Choice: `backend` option, else $MALA_TS_BACKEND (a registered name or 'auto'),
 * else auto = the available backend with the highest priority (libtorch when the addon loads,
 * TS with a warning otherwise). This module keeps the names existing callers import.
 */
import type { NetworkSpec, Parameters } from './mlp';
import { createTrainableNet, type CreateNetOptions, type TrainableNet } from './backends';

export * from './backends';

/** @deprecated the trainable net; inference code takes `InferenceNet`. */
export type NetBackend = TrainableNet;

/** A trainable network on the chosen backend (parameters are copied): `createTrainableNet`. */
export function createNet(spec: NetworkSpec, params: Parameters, opts: CreateNetOptions = {}): TrainableNet {
  return createTrainableNet(spec, params, opts);
}
