/**
 * Back-propagation of the MLP (mlp.ts) to its inputs: the vector–Jacobian product
 * gIn = Jᵀ·gOut that forces need (∂E/∂descriptors from ∂E/∂LDOS), and a float64 forward pass
 * for finite-difference checks. Accumulation is float64 throughout; the float32 path reads the
 * float32 layer outputs of mlp.ts' forward, so its forward values are exactly forwardTs's.
 */
import { activate, activationGrad, type NetworkSpec, type Parameters } from './mlp';

type Real = Float32Array | Float64Array;

/** gIn[n×nIn] = gOut[n×nOut]·W (W is [nOut][nIn]); four outputs per pass over a row of gIn. */
function linearTransposed(g: Float64Array, w: Float32Array, n: number, nIn: number, nOut: number): Float64Array {
  const dx = new Float64Array(n * nIn);
  for (let p = 0; p < n; p++) {
    const xo = p * nIn;
    const go = p * nOut;
    let o = 0;
    for (; o + 3 < nOut; o += 4) {
      const d0 = g[go + o], d1 = g[go + o + 1], d2 = g[go + o + 2], d3 = g[go + o + 3];
      if (d0 === 0 && d1 === 0 && d2 === 0 && d3 === 0) continue; // ReLU zeros and clamped outputs
      const w0 = o * nIn, w1 = w0 + nIn, w2 = w1 + nIn, w3 = w2 + nIn;
      for (let i = 0; i < nIn; i++) dx[xo + i] += d0 * w[w0 + i] + d1 * w[w1 + i] + d2 * w[w2 + i] + d3 * w[w3 + i];
    }
    for (; o < nOut; o++) {
      const d = g[go + o];
      if (d === 0) continue;
      const w0 = o * nIn;
      for (let i = 0; i < nIn; i++) dx[xo + i] += d * w[w0 + i];
    }
  }
  return dx;
}

/**
 * gIn[p·nIn + j] = Σ_k gOut[p·nOut + k] · ∂net(x)_pk/∂x_pj, from the layer outputs `hs` of the
 * forward pass at x (hs[0] = x, hs[L] = net(x); mlp.ts' forwardAll or forwardAll64). gOut is not modified.
 */
export function inputVjp(spec: NetworkSpec, params: Parameters, hs: Real[], gOut: Float64Array, n: number): Float64Array {
  const L = spec.layerSizes.length - 1;
  let g: Float64Array = Float64Array.from(gOut);
  for (let l = L - 1; l >= 0; l--) {
    activationGrad(g, hs[l + 1], spec.activations[l]);
    g = linearTransposed(g, params[2 * l], n, spec.layerSizes[l], spec.layerSizes[l + 1]);
  }
  return g;
}

/** All layer outputs in float64 (the float32 weights taken exactly); [0] is the input. For checking, not speed. */
export function forwardAll64(spec: NetworkSpec, params: Parameters, x: Float64Array, n: number): Float64Array[] {
  const hs = [x];
  for (let l = 0; l + 1 < spec.layerSizes.length; l++) {
    const nIn = spec.layerSizes[l], nOut = spec.layerSizes[l + 1];
    const w = params[2 * l], b = params[2 * l + 1], xin = hs[l];
    const h = new Float64Array(n * nOut);
    for (let p = 0; p < n; p++) {
      for (let o = 0; o < nOut; o++) {
        let s = 0;
        for (let i = 0; i < nIn; i++) s += xin[p * nIn + i] * w[o * nIn + i];
        h[p * nOut + o] = s + b[o];
      }
    }
    activate(h, spec.activations[l]);
    hs.push(h);
  }
  return hs;
}
