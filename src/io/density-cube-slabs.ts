/**
 * density.cube from the MPI ranks' x-slabs (1/Å³, grid order within the slab), without
 * gathering: a cube's values run z fastest in x-plane order, so the slabs in rank order are its
 * body. Rank 0 writes the header and its planes to a temporary file next to the target, every
 * other rank in turn appends its planes (one x-plane formatted at a time), rank 0 renames: the
 * same bytes as the serial writer. The folder must be visible to every rank (one node, or a
 * shared file system).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Communicator } from '../parallel/comm';
import type { GridLayout } from '../qe/grid-layout';
import { bohr3InAngstrom3 } from '../structure/units';
import { registerTemp } from '../util/cleanup';
import { writeAll } from './atomic-write';
import { formatCubeColumns, formatCubeHeader } from './cube';
import { densityCubeHeader, DensityFileContext } from './density-file';

export function writeDensityCubeFromSlabs(file: string, slabPerA3: Float64Array, layout: GridLayout, comm: Communicator, ctx: DensityFileContext): void {
  const [, ny, nz] = layout.grid;
  const plane = ny * nz;
  // a temporary name every rank agrees on (rank 0's pid and clock)
  const tag = comm.allreduceMax(new Float64Array(comm.rank === 0 ? [process.pid, Date.now()] : [0, 0]));
  const tmp = path.join(path.dirname(path.resolve(file)), `.${path.basename(file)}.${tag[0]}.${tag[1]}.tmp`);
  const header = comm.rank === 0 ? formatCubeHeader(densityCubeHeader(file, ctx)) : '';
  if (comm.rank === 0) fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  // every rank registers it: whichever is interrupted or fails removes it (a short write is an error, not a truncated cube)
  const unregister = registerTemp(tmp);
  try {
    for (let r = 0; r < comm.size; r++) {
      if (r === comm.rank) {
        const fd = fs.openSync(tmp, r === 0 ? 'w' : 'a');
        try {
          if (r === 0) writeAll(fd, header, tmp);
          for (let x = 0; x < layout.nxLocal; x++) writeAll(fd, formatCubeColumns(slabPerA3.subarray(x * plane, (x + 1) * plane), nz, bohr3InAngstrom3), tmp);
          fs.fsyncSync(fd);
        } finally {
          fs.closeSync(fd);
        }
      }
      comm.barrier();
    }
    if (comm.rank === 0) fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  } finally {
    unregister();
  }
}
