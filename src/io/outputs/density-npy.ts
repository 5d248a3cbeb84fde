/** density as MALA's .npy (nx, ny, nz, 1) in 1/Å³. */
import { MalaError } from '../../errors';
import { writeDensityFile } from '../density-file';
import type { OutputWriter } from './output';

export const densityNpy: OutputWriter = {
  kind: 'density',
  extension: '.npy',
  label: '.npy (1/Å³, MALA style)',
  write: (file, ctx) => {
    if (ctx.layout?.distributed) throw new MalaError('a density .npy is written by one process; the density is spread over MPI ranks', { file, fix: 'write the density as .cube, or run without mpirun' });
    writeDensityFile(file, ctx.densityPerA3, ctx.densityFile);
  },
};
