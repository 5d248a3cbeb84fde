/**
 * Access to a net's vector–Jacobian product (`InferenceNet.predictVjp`), which forces need and
 * not every backend offers: one clear error where it is missing.
 */
import { MalaError } from '../../errors';
import type { InferenceNet, PredictVjp } from './types';

/** The net's `predictVjp`, bound; a MalaError naming the backend when it has none. */
export function requireVjp(net: InferenceNet): (x: Float32Array, nPoints: number, cotangent: Float64Array) => Promise<PredictVjp> {
  if (typeof net.predictVjp !== 'function') {
    throw new MalaError(`the '${net.name}' network backend cannot back-propagate to its inputs, which forces need`, { fix: 'use --backend torch or --backend ts (MALA_TS_BACKEND)' });
  }
  return net.predictVjp.bind(net);
}

/** The message `predictVjp` rejects a cotangent of the wrong length with. */
export function cotangentLengthError(cotangent: Float64Array, nPoints: number, nOut: number): string | undefined {
  const want = nPoints * nOut;
  return cotangent.length === want ? undefined : `cotangent has ${cotangent.length} values, expected ${want} (${nPoints} points × ${nOut} outputs)`;
}
