/**
 * Descriptors of grid blocks, the input of the network source (network-source.ts): the model's
 * descriptor type from the registry (src/descriptors/registry.ts; LAMMPS' bispectrum by atom
 * windows), or a precomputed .npy.
 */
import { MalaError } from '../errors';
import type { DescriptorEngine } from '../descriptors/descriptor-type';
import { openDescriptors, type DescriptorBlockSource } from '../descriptors/registry';
import { GridShape } from '../grid/grid';
import { NpyFile } from '../io/npy';
import { blockPointCount } from '../parallel/plane-blocks';
import type { Communicator } from '../parallel/comm';
import type { Atoms } from '../structure/atoms';

/** Descriptors of a block of the grid, without xyz columns, (planes, rows, nz, F) float32. */
export type DescriptorSource = Pick<DescriptorBlockSource, 'computeBlock' | 'close' | 'report' | 'blockForces' | 'computeBlockFloat64'>;

/** Descriptors read from a .npy (nx, ny, nz, F or F+3: MALA's 3 leading xyz columns are dropped). */
export function descriptorFileSource(file: string, grid: GridShape, nFeatures: number, modelSource: string): DescriptorSource {
  const f = new NpyFile(file);
  const shape = f.shape;
  const F = shape[shape.length - 1];
  const skip = F === nFeatures + 3 ? 3 : F === nFeatures ? 0 : -1;
  if (skip < 0) {
    f.close();
    throw new MalaError(`descriptors have ${F} features per point but the model ${modelSource} expects ${nFeatures} (or ${nFeatures + 3} with xyz columns)`, {
      file,
      fix: 'compute the descriptors with the model\'s parameters (mala-ts descriptors, or let predict compute them)',
    });
  }
  if (shape.length !== 4 || shape[0] !== grid[0] || shape[1] !== grid[1] || shape[2] !== grid[2]) {
    f.close();
    throw new MalaError(`descriptors have shape (${shape.join(', ')}) but the structure's grid is ${grid.join('×')}`, { file, fix: 'use the descriptors of this structure, or pass --grid to match them' });
  }
  const [, ny, nz] = grid;
  let closed = false;
  return {
    computeBlock(b) {
      const out = new Float32Array(blockPointCount(b, grid) * nFeatures);
      const copy = (raw: ArrayLike<number>, first: number, points: number) => {
        for (let k = 0; k < points; k++) for (let c = 0; c < nFeatures; c++) out[(first + k) * nFeatures + c] = raw[k * F + skip + c];
      };
      const n = blockPointCount(b, grid);
      // whole planes are contiguous in the file: one read; rows of a split block are not: one per row
      if (b.rowStride === 1) {
        copy(f.readRows(b.i0 * ny * nz, n), 0, n);
        return out;
      }
      let p = 0;
      for (let i = b.i0; i < b.i1; i++)
        for (let j = b.rowStart; j < ny; j += b.rowStride, p += nz) copy(f.readRows((i * ny + j) * nz, nz), p, nz);
      return out;
    },
    close: () => {
      if (!closed) f.close();
      closed = true;
    },
  };
}

/** predict's descriptors: the .npy when given, else the model's descriptor type on this rank's communicator. */
export function openDescriptorSource(opts: { file?: string; atoms: Atoms; grid: GridShape; descriptors: Readonly<{ type: string }>; engine?: DescriptorEngine; nFeatures: number; modelSource: string; comm: Communicator }): DescriptorSource {
  if (opts.file) return descriptorFileSource(opts.file, opts.grid, opts.nFeatures, opts.modelSource);
  return openDescriptors(opts.descriptors, { atoms: opts.atoms, grid: opts.grid, comm: opts.comm, engine: opts.engine }, opts.modelSource);
}
