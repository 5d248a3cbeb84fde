/** The nets the network benchmarks time (the wide net and MALA's Be net), and their helpers. */
import type { NetworkSpec } from '../src/network/mlp';
import type { Rng } from '../src/network/rng';

export const benchNets: { name: string; spec: NetworkSpec }[] = [
  { name: '91→400→400→400→250', spec: { layerSizes: [91, 400, 400, 400, 250], activations: ['LeakyReLU', 'LeakyReLU', 'LeakyReLU', 'LeakyReLU'] } },
  { name: 'Be model 91→100→11', spec: { layerSizes: [91, 100, 11], activations: ['ReLU', null] } },
];

/** Multiply-adds of one forward pass per point. */
export function macs(sizes: number[]): number {
  let m = 0;
  for (let i = 0; i + 1 < sizes.length; i++) m += sizes[i] * sizes[i + 1];
  return m;
}

/** Uniform values in [-1, 1). */
export function randomArray(rng: Rng, n: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = 2 * rng.uniform() - 1;
  return a;
}
