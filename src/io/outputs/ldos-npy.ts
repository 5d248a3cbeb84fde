/**
 * ldos.npy (nx, ny, nz, N_E): streamed by the engine's spill store while the LDOS is computed
 * (src/engine/ldos-store.ts), so there is nothing left to write, only to check.
 */
import type { OutputWriter } from './output';

export const ldosNpy: OutputWriter = {
  kind: 'ldos',
  extension: '.npy',
  label: '.npy',
  write: (file, ctx) => {
    if (ctx.ldosFile !== file) throw new Error(`the LDOS was not stored in ${file}: plan the store with this file`);
  },
};
