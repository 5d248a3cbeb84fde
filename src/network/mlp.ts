/**
 * The LDOS network: MALA's feed-forward net (Linear layers, each optionally followed by an
 * activation), its PyTorch-default initialisation, and a plain-TypeScript forward/backward pass
 * with torch's Adam. The TS pass is the reference the libtorch addon is tested against and the
 * fallback when the addon cannot load (about 20× slower).
 *
 * Parameters are a flat list W0, b0, W1, b1, ... with W in PyTorch layout [out][in], float32,
 * exactly `state_dict` order of MALA's `layers.0.weight, layers.0.bias, layers.2.weight, ...`.
 */
import { MalaError } from '../errors';
import { Rng } from './rng';

export const ACTIVATIONS = ['ReLU', 'LeakyReLU', 'Sigmoid', 'Tanh'] as const;
export type Activation = (typeof ACTIVATIONS)[number];

export interface NetworkSpec {
  /** [nInputFeatures, hidden..., nEnergies]. */
  layerSizes: number[];
  /** One entry per Linear layer (length layerSizes.length − 1); null = no activation. */
  activations: (Activation | null)[];
}

export type Parameters = Float32Array[];

/** Most weights a network may have: 2 GiB of float32, the largest member a model archive may hold. */
export const maxNetworkParameters = 2 ** 29;

export function checkSpec(spec: NetworkSpec, where = 'network'): void {
  const { layerSizes, activations } = spec;
  if (!Array.isArray(layerSizes) || layerSizes.length < 2 || layerSizes.some((s) => !Number.isInteger(s) || s <= 0)) {
    throw new MalaError(`${where}: layer sizes must be ≥ 2 positive integers, got ${JSON.stringify(layerSizes)}`);
  }
  // a model file's or --hidden's sizes are allocated as float32 weights (and Adam's two copies in training): bound them first
  const weights = layerSizes.slice(1).reduce((n, out, l) => n + out * (layerSizes[l] + 1), 0);
  if (weights > maxNetworkParameters) {
    throw new MalaError(`${where}: layer sizes ${layerSizes.join('→')} make ${weights.toExponential(2)} weights (${((weights * 4) / 2 ** 30).toFixed(1)} GiB as float32), more than the ${maxNetworkParameters.toExponential(0)} a network may have`, { fix: 'use smaller layers (MALA\'s networks have ~10⁵–10⁷ weights)' });
  }
  if (!Array.isArray(activations) || activations.length !== layerSizes.length - 1) {
    throw new MalaError(`${where}: need ${layerSizes.length - 1} activation entries (one per Linear layer), got ${JSON.stringify(activations)}`);
  }
  for (const a of activations) {
    if (a !== null && !ACTIVATIONS.includes(a)) throw new MalaError(`${where}: unknown activation '${a}'`, { fix: `use one of ${ACTIVATIONS.join(', ')}` });
  }
}

/** Every weight finite: a NaN weight made every LDOS value NaN, reported as a corrupt LDOS file. */
export function checkParametersFinite(spec: NetworkSpec, params: Parameters, where: string): void {
  params.forEach((p, i) => {
    const k = p.findIndex((v) => !Number.isFinite(v));
    if (k >= 0) {
      const layer = Math.floor(i / 2);
      throw new MalaError(`the model's network has a non-finite ${i % 2 ? 'bias' : 'weight'} (${p[k]}) in Linear layer ${layer + 1} of ${spec.layerSizes.length - 1} (value ${k})`, {
        file: where,
        fix: 'the model is damaged or its training diverged; re-train (a lower learning rate) or use another model file',
      });
    }
  });
}

/** Shapes of the parameter list: [out, in] and [out] per layer. */
export function parameterShapes(spec: NetworkSpec): number[][] {
  const shapes: number[][] = [];
  for (let l = 0; l + 1 < spec.layerSizes.length; l++) {
    shapes.push([spec.layerSizes[l + 1], spec.layerSizes[l]], [spec.layerSizes[l + 1]]);
  }
  return shapes;
}

/**
 * Activations as MALA builds them from `layer_activations` (spec §4.1): a single name means every
 * Linear (the output too when `includeOutput`); a list gives entry i to Linear i, missing → none.
 */
export function activationsFromMala(layerActivations: string | (string | null)[], nLinear: number, includeOutput = true): (Activation | null)[] {
  const out: (Activation | null)[] = [];
  for (let i = 0; i < nLinear; i++) {
    let a: string | null;
    if (typeof layerActivations === 'string') a = i < nLinear - 1 || includeOutput ? layerActivations : null;
    else a = i < layerActivations.length ? layerActivations[i] : null;
    if (a !== null && !ACTIVATIONS.includes(a as Activation)) throw new MalaError(`unsupported activation '${a}' in the model`, { fix: `mala-ts supports ${ACTIVATIONS.join(', ')}` });
    out.push(a as Activation | null);
  }
  return out;
}

/** PyTorch's nn.Linear default init: W and b ~ U(−1/√fan_in, 1/√fan_in), from a seeded Rng. */
export function initParameters(spec: NetworkSpec, rng: Rng): Parameters {
  return parameterShapes(spec).map((shape, i) => {
    const fanIn = spec.layerSizes[Math.floor(i / 2)];
    const bound = 1 / Math.sqrt(fanIn);
    const a = new Float32Array(shape.reduce((x, y) => x * y, 1));
    for (let k = 0; k < a.length; k++) a[k] = (2 * rng.uniform() - 1) * bound;
    return a;
  });
}

/** h ← act(h) in place (float32 layers here, float64 ones in mlp-vjp.ts' checking path). */
export function activate(h: Float32Array | Float64Array, a: Activation | null): void {
  if (a === null) return;
  const n = h.length;
  if (a === 'ReLU') for (let i = 0; i < n; i++) h[i] = h[i] > 0 ? h[i] : 0;
  else if (a === 'LeakyReLU') for (let i = 0; i < n; i++) h[i] = h[i] > 0 ? h[i] : 0.01 * h[i];
  else if (a === 'Sigmoid') for (let i = 0; i < n; i++) h[i] = 1 / (1 + Math.exp(-h[i]));
  else for (let i = 0; i < n; i++) h[i] = Math.tanh(h[i]);
}

/** dL/dz from dL/dh and h = act(z) (all four activations have derivatives expressible in h; the derivative torch's autograd uses). */
export function activationGrad(dh: Float32Array | Float64Array, h: Float32Array | Float64Array, a: Activation | null): void {
  if (a === null) return;
  const n = dh.length;
  if (a === 'ReLU') for (let i = 0; i < n; i++) dh[i] = h[i] > 0 ? dh[i] : 0;
  else if (a === 'LeakyReLU') for (let i = 0; i < n; i++) dh[i] = h[i] > 0 ? dh[i] : 0.01 * dh[i];
  else if (a === 'Sigmoid') for (let i = 0; i < n; i++) dh[i] *= h[i] * (1 - h[i]);
  else for (let i = 0; i < n; i++) dh[i] *= 1 - h[i] * h[i];
}

/** y[n×out] = x[n×in]·Wᵀ + b, float64 accumulation, two points × two outputs per inner loop. */
function linear(x: Float32Array, w: Float32Array, b: Float32Array, n: number, nIn: number, nOut: number): Float32Array {
  const y = new Float32Array(n * nOut);
  let p = 0;
  for (; p + 1 < n; p += 2) {
    const x0 = p * nIn;
    const x1 = x0 + nIn;
    let o = 0;
    for (; o + 1 < nOut; o += 2) {
      const w0 = o * nIn;
      const w1 = w0 + nIn;
      let s00 = 0, s01 = 0, s10 = 0, s11 = 0;
      for (let i = 0; i < nIn; i++) {
        const a = x[x0 + i];
        const c = x[x1 + i];
        const u = w[w0 + i];
        const v = w[w1 + i];
        s00 += a * u;
        s01 += a * v;
        s10 += c * u;
        s11 += c * v;
      }
      y[p * nOut + o] = s00 + b[o];
      y[p * nOut + o + 1] = s01 + b[o + 1];
      y[(p + 1) * nOut + o] = s10 + b[o];
      y[(p + 1) * nOut + o + 1] = s11 + b[o + 1];
    }
    for (; o < nOut; o++) {
      const w0 = o * nIn;
      let s0 = 0, s1 = 0;
      for (let i = 0; i < nIn; i++) {
        s0 += x[x0 + i] * w[w0 + i];
        s1 += x[x1 + i] * w[w0 + i];
      }
      y[p * nOut + o] = s0 + b[o];
      y[(p + 1) * nOut + o] = s1 + b[o];
    }
  }
  for (; p < n; p++) {
    for (let o = 0; o < nOut; o++) {
      let s = 0;
      for (let i = 0; i < nIn; i++) s += x[p * nIn + i] * w[o * nIn + i];
      y[p * nOut + o] = s + b[o];
    }
  }
  return y;
}

/** All layer outputs (after activation); [0] is the input (mlp-vjp.ts back-propagates through them). */
export function forwardAll(spec: NetworkSpec, params: Parameters, x: Float32Array, n: number): Float32Array[] {
  const hs = [x];
  const L = spec.layerSizes.length - 1;
  for (let l = 0; l < L; l++) {
    const h = linear(hs[l], params[2 * l], params[2 * l + 1], n, spec.layerSizes[l], spec.layerSizes[l + 1]);
    activate(h, spec.activations[l]);
    hs.push(h);
  }
  return hs;
}

/** Reference forward pass: returns net(x) for n points (x is n × layerSizes[0], row-major). */
export function forwardTs(spec: NetworkSpec, params: Parameters, x: Float32Array, n: number): Float32Array {
  const hs = forwardAll(spec, params, x, n);
  return hs[hs.length - 1];
}

/** Mean squared error of the batch and the gradients of all parameters (same order). */
export function mseGradientsTs(spec: NetworkSpec, params: Parameters, x: Float32Array, y: Float32Array, n: number): { loss: number; grads: Parameters } {
  const hs = forwardAll(spec, params, x, n);
  const L = spec.layerSizes.length - 1;
  const out = hs[L];
  const scale = 2 / out.length;
  let loss = 0;
  let dh = new Float32Array(out.length);
  for (let i = 0; i < out.length; i++) {
    const d = out[i] - y[i];
    loss += d * d;
    dh[i] = scale * d;
  }
  const grads: Parameters = new Array(2 * L);
  for (let l = L - 1; l >= 0; l--) {
    const nIn = spec.layerSizes[l];
    const nOut = spec.layerSizes[l + 1];
    activationGrad(dh, hs[l + 1], spec.activations[l]);
    const xin = hs[l];
    const gw = new Float64Array(nOut * nIn);
    const gb = new Float64Array(nOut);
    for (let p = 0; p < n; p++) {
      for (let o = 0; o < nOut; o++) {
        const d = dh[p * nOut + o];
        if (d === 0) continue;
        gb[o] += d;
        const wo = o * nIn;
        const xo = p * nIn;
        for (let i = 0; i < nIn; i++) gw[wo + i] += d * xin[xo + i];
      }
    }
    grads[2 * l] = Float32Array.from(gw);
    grads[2 * l + 1] = Float32Array.from(gb);
    if (l > 0) {
      const w = params[2 * l];
      const dx = new Float32Array(n * nIn);
      for (let p = 0; p < n; p++) {
        for (let o = 0; o < nOut; o++) {
          const d = dh[p * nOut + o];
          if (d === 0) continue;
          const wo = o * nIn;
          const xo = p * nIn;
          for (let i = 0; i < nIn; i++) dx[xo + i] += d * w[wo + i];
        }
      }
      dh = dx;
    }
  }
  return { loss: loss / out.length, grads };
}

export interface AdamHyper {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
}

export const defaultAdam: AdamHyper = { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 };

/** torch.optim.Adam's update (single-tensor form), in place; `step` is the new step count (≥ 1). */
export function adamUpdate(params: Parameters, grads: Parameters, m: Parameters, v: Parameters, step: number, h: AdamHyper): void {
  const bc1 = 1 - Math.pow(h.beta1, step);
  const bc2Sqrt = Math.sqrt(1 - Math.pow(h.beta2, step));
  const stepSize = h.lr / bc1;
  for (let k = 0; k < params.length; k++) {
    const p = params[k], g = grads[k], mk = m[k], vk = v[k];
    for (let i = 0; i < p.length; i++) {
      const gi = h.weightDecay !== 0 ? g[i] + h.weightDecay * p[i] : g[i];
      mk[i] = h.beta1 * mk[i] + (1 - h.beta1) * gi;
      vk[i] = h.beta2 * vk[i] + (1 - h.beta2) * gi * gi;
      p[i] -= (stepSize * mk[i]) / (Math.sqrt(vk[i]) / bc2Sqrt + h.eps);
    }
  }
}
