/**
 * Descriptors of grid blocks, the input of the network source (network-source.ts): LAMMPS'
 * bispectrum from an atom window per block (src/parallel/plane-blocks.ts), or a precomputed .npy.
 * The seam where a descriptor registry plugs in: anything with `computeBlock` and `close` works.
 */
import { MalaError } from '../errors';
import { BispectrumParameters } from '../descriptors/bispectrum';
import { GridShape } from '../grid/grid';
import { NpyFile } from '../io/npy';
import { blockPointCount, GridBlock, WindowedDescriptors } from '../parallel/plane-blocks';
import type { Communicator } from '../parallel/comm';
import type { Atoms } from '../structure/atoms';
import { setDefaultFortranCommunicator } from '../../bindings/lammps';

/** Descriptors of a block of the grid, without xyz columns, (planes, rows, nz, F) float32. */
export interface DescriptorSource {
  computeBlock(b: GridBlock): Float32Array;
  close(): void;
  /** Blocks computed from an atom window / from the whole cell (LAMMPS sources only). */
  readonly windowed?: number;
  readonly wholeCell?: number;
}

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
      let p = 0;
      // one read per row of z points (rows of a split block are not contiguous in the file)
      for (let i = b.i0; i < b.i1; i++)
        for (let j = b.rowStart; j < ny; j += b.rowStride) {
          const raw = f.readRows((i * ny + j) * nz, nz);
          for (let k = 0; k < nz; k++, p++) for (let c = 0; c < nFeatures; c++) out[p * nFeatures + c] = raw[k * F + skip + c];
        }
      return out;
    },
    close: () => {
      if (!closed) f.close();
      closed = true;
    },
  };
}

/**
 * predict's descriptors: the .npy when given, else LAMMPS' bispectrum by atom windows. Under
 * several MPI ranks each rank runs its own serial LAMMPS (MPI_COMM_SELF).
 */
export function openDescriptorSource(opts: { file?: string; atoms: Atoms; grid: GridShape; params: BispectrumParameters; nFeatures: number; modelSource: string; comm: Communicator }): DescriptorSource {
  if (opts.file) return descriptorFileSource(opts.file, opts.grid, opts.nFeatures, opts.modelSource);
  if (opts.comm.size > 1 && opts.comm.selfFortranHandle !== undefined) setDefaultFortranCommunicator(opts.comm.selfFortranHandle);
  return new WindowedDescriptors(opts.atoms, opts.grid, opts.params);
}
