/** density as a Gaussian cube (1/Bohr³, like pp.x plot_num=0); from every rank's slab under MPI. */
import { writeDensityCubeFromSlabs } from '../density-cube-slabs';
import { writeDensityFile } from '../density-file';
import type { OutputWriter } from './output';

export const densityCube: OutputWriter = {
  kind: 'density',
  extension: '.cube',
  label: '.cube (1/Bohr³, QE style)',
  collective: true,
  write: (file, ctx) => {
    if (ctx.layout?.distributed) writeDensityCubeFromSlabs(file, ctx.densityPerA3, ctx.layout, ctx.comm, ctx.densityFile);
    else writeDensityFile(file, ctx.densityPerA3, ctx.densityFile);
  },
};
