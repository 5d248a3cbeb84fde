/**
 * A training step with a given gradient of the loss with respect to the network's outputs, through
 * the backends' one training primitive, the MSE step (issue 16: the force and energy terms of
 * `mala-ts finetune`). The MSE of N rows of K outputs, mean over all N·K values, has
 * ∂loss/∂out = 2·(out − y)/(N·K); so the targets y = out − g·N·K/2 give exactly ∂loss/∂out = g,
 * and the backend's own backward pass and Adam update do the rest.
 */

/** The targets whose MSE gradient at `out` (N rows × K) is `gradient`; written into `y` (new when absent). */
export function targetsForOutputGradient(out: Float32Array, gradient: ArrayLike<number>, rows: number, outputs: number, y = new Float32Array(out.length)): Float32Array {
  if (out.length !== rows * outputs || gradient.length !== out.length || y.length !== out.length) {
    throw new Error(`targetsForOutputGradient: ${out.length} outputs, ${gradient.length} gradients, ${y.length} targets for ${rows}×${outputs}`);
  }
  const half = (rows * outputs) / 2;
  for (let i = 0; i < out.length; i++) y[i] = out[i] - gradient[i] * half;
  return y;
}
