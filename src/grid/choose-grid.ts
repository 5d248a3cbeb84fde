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

/**
 * The grid for a structure read from `read.file` (see the module comment for the order).
 * `refuseCoarser` (the CLI's `--grid` without `--force-grid`): an explicit grid coarser along any
 * axis than the one the file states (or QE's rule gives for its ecutrho) is refused: the density
 * cutoff's G-sphere does not fit on it, so the density and every energy term would be wrong.
 */
export function chooseGrid(read: Pick<StructureRead, 'atoms' | 'file' | 'qeInput' | 'qeOutput'>, explicit?: readonly number[], ecutrhoRy?: number, refuseCoarser = false): GridChoice {
  if (explicit) {
    const grid = validateGrid(explicit, read.file);
    if (refuseCoarser) checkNotCoarser(grid, ownGridOrNone(read, ecutrhoRy), read.file);
    return { grid, source: 'explicit' };
  }
  const out = read.qeOutput?.fftGrid;
  if (out) return { grid: validateGrid(out, read.file), source: 'qe-output' };
  const nr = read.qeInput?.fftGrid;
  if (nr) return { grid: validateGrid(nr, read.file), source: 'qe-input-nr' };
  const ecut = ecutrhoRy ?? read.qeInput?.ecutrhoRy ?? read.qeOutput?.ecutrhoRy;
  if (ecut !== undefined) return { grid: qeFftGrid(read.atoms.cellAngstrom, ecut, read.file), source: 'qe-rule', ecutrhoRy: ecut };
  throw new MalaError('no grid for the descriptors', {
    file: read.file,
    fix: 'pass the grid (--grid NX,NY,NZ) or the charge-density cutoff of the QE calculation (--ecutrho RY) so QE\'s FFT grid can be chosen',
  });
}

function ownGridOrNone(read: Pick<StructureRead, 'atoms' | 'file' | 'qeInput' | 'qeOutput'>, ecutrhoRy?: number): GridChoice | undefined {
  try {
    return chooseGrid(read, undefined, ecutrhoRy);
  } catch (e) {
    if (e instanceof MalaError) return undefined; // no grid of its own: nothing to compare with
    throw e;
  }
}

const sourceWords: Record<GridSource, string> = {
  explicit: 'given',
  'qe-output': 'states (pw.x\'s FFT dimensions)',
  'qe-input-nr': 'states (nr1, nr2, nr3)',
  'qe-rule': 'needs (QE\'s rule for',
};

function checkNotCoarser(grid: GridShape, own: GridChoice | undefined, file: string): void {
  if (!own || own.grid.every((n, i) => grid[i] >= n)) return;
  const axes = own.grid.map((n, i) => (grid[i] < n ? 'xyz'[i] : '')).join('');
  const cutoff = own.source === 'qe-rule' ? ` ecutrho ${own.ecutrhoRy} Ry)` : '';
  throw new MalaError(
    `--grid ${grid.join(',')} is coarser along ${axes.split('').join(', ')} than the grid ${own.grid.join(',')} that ${file} ${sourceWords[own.source]}${cutoff}: the density cutoff's G-sphere does not fit on it, so the density and the energy terms would be wrong`,
    { file, fix: `drop --grid to use ${own.grid.join(',')} (or give a finer grid), or add --force-grid to use ${grid.join(',')} anyway` },
  );
}
