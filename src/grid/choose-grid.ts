/**
 * The real-space grid of a structure, first match wins: an explicit grid; the FFT grid printed in
 * a QE output; nr1..nr3 of a QE input; QE's own choice for the cell and ecutrho (from the file,
 * or given).
 */
import { MalaError } from '../errors';
import type { StructureRead } from '../structure/registry';
import { GridShape, qeFftGrid, validateGrid } from './grid';

export type GridSource = 'explicit' | 'qe-output' | 'qe-input-nr' | 'qe-rule';

export interface GridChoice {
  grid: GridShape;
  source: GridSource;
  /** ecutrho used when the grid came from QE's rule. */
  ecutrhoRy?: number;
}

/** The grid for a structure read from `read.file` (see the module comment for the order). */
export function chooseGrid(read: Pick<StructureRead, 'atoms' | 'file' | 'qeInput' | 'qeOutput'>, explicit?: readonly number[], ecutrhoRy?: number): GridChoice {
  if (explicit) return { grid: validateGrid(explicit, read.file), source: 'explicit' };
  const out = read.qeOutput?.fftGrid;
  if (out) return { grid: validateGrid(out, read.file), source: 'qe-output' };
  const nr = read.qeInput?.fftGrid;
  if (nr) return { grid: validateGrid(nr, read.file), source: 'qe-input-nr' };
  const ecut = ecutrhoRy ?? read.qeInput?.ecutrhoRy ?? read.qeOutput?.ecutrhoRy;
  if (ecut !== undefined) return { grid: qeFftGrid(read.atoms.cellAngstrom, ecut), source: 'qe-rule', ecutrhoRy: ecut };
  throw new MalaError('no grid for the descriptors', {
    file: read.file,
    fix: 'pass the grid (--grid NX,NY,NZ) or the charge-density cutoff of the QE calculation (--ecutrho RY) so QE\'s FFT grid can be chosen',
  });
}
