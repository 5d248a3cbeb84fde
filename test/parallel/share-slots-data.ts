/** What test/parallel/share-slots-worker.ts shares: per slot, float32 arrays with −0, +0, a subnormal, ±huge and NaN, and a text. */
export const SLOTS = 5;
export const SHAPES = [4, 3];

export function slotArrays(k: number): Float32Array[] {
  return [Float32Array.of(k + 0.5, -0, 0, 1e-45), Float32Array.of(-3.4e38 / (k + 1), k % 2 ? NaN : -0, 2 ** -k)];
}

/** Texts of different lengths, one empty, one with characters of several UTF-8 bytes. */
export function slotText(k: number): string {
  return ['', 'σ(E) ≤ 5 meV/atom', 'x'.repeat(k * 7), '{"epoch":1}', 'Å → ∞'][k];
}
