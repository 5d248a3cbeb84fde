/**
 * The grid in fixed blocks, the unit of work of `predict` on one rank or many.
 *
 * A block is a run of whole x-planes, or, when one plane holds more points than a block may
 * (big cells), one x-plane's rows q, q+s, q+2s, … (s divides ny): every block then holds at most
 * `maxBlockPoints` points, whatever the size of the cell, and the memory in flight (descriptors,
 * LAMMPS' arrays, the network batch, the LDOS block) is bounded by that, not by the system.
 *
 * Blocks depend on the grid and the block size only (never on the rank count): ranks take
 * contiguous runs of whole blocks, each block's descriptors are computed the same way wherever
 * it runs, and the network sees each block as one batch. So the LDOS of every point, and
 * everything derived from it, is the same for any number of ranks (up to the order of the
 * float64 DOS sums). Points are handled in block order; `blockGridIndices` maps them back.
 *
 * Linear cost: LAMMPS' `compute sna/grid` checks every atom (local and ghost) for every grid
 * point, so computing a plane of a big cell from all atoms costs O(N) per point and O(N²) in all.
 * A block is therefore computed from a *window*: the atoms within the descriptor cutoff of the
 * block along a1 (plus a one-plane margin), in a periodic cell of (block + 2·pad) planes along a1
 * and the full cell along a2, a3. Periodic images of the window are at least `pad` planes away
 * from the block, farther than the cutoff, so every grid point sees exactly its true neighbours.
 * The window's cost per point grows with the cross-section (N^(2/3)) only for the cheap distance
 * test; the neighbour set, and the SNAP work, stay constant. (A window along a2 as well would
 * make LAMMPS compute the padding rows too: sna/grid's grid always spans its whole box.)
 * Small cells (window ≥ cell) and cells not periodic along a1 use the whole cell.
 */
import { BispectrumCalculator, BispectrumParameters } from '../descriptors/bispectrum';
import { GridShape } from '../grid/grid';
import { Atoms, Mat3, Vec3, cellVolumeA3, cross, fractionalPositions, norm, speciesOf, vecMat } from '../structure/atoms';
import { malaElementRadius } from '../descriptors/mala-defaults';

/** Blocks [i0, i1) of `planesPerBlock` x-planes (the last one may be shorter). */
export function planeBlocks(nx: number, planesPerBlock: number): [number, number][] {
  const k = Math.max(1, Math.min(nx, Math.floor(planesPerBlock)));
  const out: [number, number][] = [];
  for (let i0 = 0; i0 < nx; i0 += k) out.push([i0, Math.min(nx, i0 + k)]);
  return out;
}

/** Points a block should at least hold so the network runs on reasonable batches. */
export const minBlockPoints = 4096;

/** Default largest block (points): about 190 MB in flight at twojmax 10 with 131 energies. */
export const defaultMaxBlockPoints = 1 << 16;

/** x-planes [i0, i1) × rows rowStart, rowStart + rowStride, … (rowStride divides ny) × all z. */
export interface GridBlock {
  i0: number;
  i1: number;
  rowStart: number;
  rowStride: number;
}

/** Points of a block. */
export function blockPointCount(b: GridBlock, grid: GridShape): number {
  return (b.i1 - b.i0) * (grid[1] / b.rowStride) * grid[2];
}

/**
 * The grid in blocks of at most `maxBlockPoints` points (at least one row): whole planes,
 * ≥ minBlockPoints per block where planes are small; rows of single planes where a plane is
 * bigger than `maxBlockPoints` (only along a periodic a2: `splitRows`). Plane-major order.
 */
export function gridBlocks(grid: GridShape, maxBlockPoints: number, splitRows = true): GridBlock[] {
  const [nx, ny, nz] = grid;
  const plane = ny * nz;
  const out: GridBlock[] = [];
  if (plane <= maxBlockPoints || !splitRows || ny === 1) {
    const k = Math.max(1, Math.min(nx, Math.ceil(minBlockPoints / plane), Math.floor(maxBlockPoints / plane)));
    for (const [i0, i1] of planeBlocks(nx, k)) out.push({ i0, i1, rowStart: 0, rowStride: 1 });
    return out;
  }
  // the smallest row stride s (a divisor of ny) whose ny/s rows fit; one row (s = ny) at worst
  let s = 2;
  while (s < ny && (ny % s !== 0 || (ny / s) * nz > maxBlockPoints)) s++;
  for (let i = 0; i < nx; i++) for (let q = 0; q < s; q++) out.push({ i0: i, i1: i + 1, rowStart: q, rowStride: s });
  return out;
}

/** Flat grid index ((i·ny + j)·nz + k) of each point of a block, in block order. */
export function blockGridIndices(b: GridBlock, grid: GridShape): Int32Array {
  const [, ny, nz] = grid;
  const rows = ny / b.rowStride;
  const out = new Int32Array(blockPointCount(b, grid));
  let p = 0;
  for (let i = b.i0; i < b.i1; i++)
    for (let r = 0; r < rows; r++) {
      const base = (i * ny + b.rowStart + r * b.rowStride) * nz;
      for (let k = 0; k < nz; k++) out[p++] = base + k;
    }
  return out;
}

/** True when blocks [from, to) are whole planes, i.e. block order is grid order there. */
export function blocksInGridOrder(blocks: readonly GridBlock[], from = 0, to = blocks.length): boolean {
  for (let b = from; b < to; b++) if (blocks[b].rowStride !== 1) return false;
  return true;
}

/** Values of all blocks, given in block order, put into grid order. */
export function toGridOrder(values: Float64Array, blocks: readonly GridBlock[], grid: GridShape): Float64Array {
  if (blocksInGridOrder(blocks)) return values;
  const out = new Float64Array(values.length);
  let p = 0;
  for (const b of blocks) {
    const idx = blockGridIndices(b, grid);
    for (let i = 0; i < idx.length; i++) out[idx[i]] = values[p++];
  }
  return out;
}

/** Largest pair cutoff of sna/grid (Å): 2·rcutfac·max radius (MALA radii 0.5 → rcutfac). */
export function descriptorCutoffAngstrom(params: BispectrumParameters): number {
  const radii = params.elementRadii ?? [malaElementRadius];
  return 2 * params.rcutfacAngstrom * Math.max(...radii);
}

/** Distance between consecutive x-planes of the grid, measured along the plane normal (Å). */
export function planeSpacingAngstrom(cell: Mat3, nx: number): number {
  return cellVolumeA3(cell) / norm(cross(cell[1], cell[2])) / nx;
}

/**
 * The atoms a block of planes [i0, i1) needs, in a periodic sub-cell of `planes` x-planes that
 * starts `pad` planes before i0; undefined when the window would cover the whole cell (or a
 * species would be missing from it, which would renumber the LAMMPS types).
 */
export function windowAtoms(atoms: Atoms, grid: GridShape, i0: number, i1: number, cutoffAngstrom: number, fractional?: Vec3[]): { atoms: Atoms; planes: number; pad: number } | undefined {
  const nx = grid[0];
  if (!atoms.pbc[0]) return undefined;
  const cell = atoms.cellAngstrom;
  const pad = Math.ceil(cutoffAngstrom / planeSpacingAngstrom(cell, nx)) + 1;
  const planes = i1 - i0 + 2 * pad;
  if (planes >= nx) return undefined;
  const origin = i0 - pad;
  const frac = fractional ?? fractionalPositions(atoms);
  const a1: Vec3 = cell[0].map((x) => (x * planes) / nx) as Vec3;
  const sub: Mat3 = [a1, cell[1], cell[2]];
  const pos: Vec3[] = [];
  const sym: string[] = [];
  frac.forEach((s, a) => {
    // position along a1 in plane units, relative to the window's first plane, mod nx
    let u = s[0] * nx - origin;
    u -= Math.floor(u / nx) * nx;
    if (u >= nx) u -= nx;
    if (u < planes) {
      pos.push(vecMat([u / planes, s[1], s[2]], sub));
      sym.push(atoms.symbols[a]);
    }
  });
  const win: Atoms = { cellAngstrom: sub, positionsAngstrom: pos, symbols: sym, pbc: atoms.pbc };
  if (speciesOf(win).join() !== speciesOf(atoms).join()) return undefined;
  return { atoms: win, planes, pad };
}

/** Descriptors (no xyz columns) of grid blocks, each from its window (see above). */
export class WindowedDescriptors {
  private whole?: BispectrumCalculator;
  private window?: BispectrumCalculator;
  private windowKey = '';
  private windowOfKey?: ReturnType<typeof windowAtoms>;
  private windowChanged = false;
  private fractional?: Vec3[];
  readonly cutoffAngstrom: number;
  /** Blocks computed from a window / from the whole cell (for reports and tests). */
  windowed = 0;
  wholeCell = 0;

  constructor(
    private readonly atoms: Atoms,
    private readonly grid: GridShape,
    private readonly params: BispectrumParameters,
    private readonly lammps: { libraryPath?: string; fortranCommunicator?: number } = {},
  ) {
    this.cutoffAngstrom = descriptorCutoffAngstrom(params);
  }

  /** Descriptors of planes [i0, i1) as (i1−i0, ny, nz, F) float32. */
  computePlanes(i0: number, i1: number): Float32Array {
    return this.computeBlock({ i0, i1, rowStart: 0, rowStride: 1 });
  }

  /** Descriptors of a block as (planes, rows, nz, F) float32. Always call with the same blocks. */
  computeBlock(b: GridBlock): Float32Array {
    const [, ny, nz] = this.grid;
    const { i0, i1, rowStart, rowStride } = b;
    // consecutive row blocks of one plane share their window
    const key = `${i0}:${i1}`;
    if (key !== this.windowKey) {
      this.fractional ??= fractionalPositions(this.atoms);
      this.windowOfKey = windowAtoms(this.atoms, this.grid, i0, i1, this.cutoffAngstrom, this.fractional);
      this.windowChanged = true;
      this.windowKey = key;
    }
    const w = this.windowOfKey;
    if (!w) {
      this.wholeCell++;
      this.whole ??= new BispectrumCalculator(this.atoms, this.grid, this.params, { xyz: false, maxPointsPerRun: (i1 - i0) * ny * nz, ...this.lammps });
      return rowStride === 1 ? this.whole.computePlanes(i0, i1) : this.whole.computeRows(i0, i1, rowStart, rowStride);
    }
    this.windowed++;
    // One LAMMPS instance for all windows (only the structure changes from window to window).
    if (!this.window) this.window = new BispectrumCalculator(w.atoms, [w.planes, ny, nz], this.params, { xyz: false, maxPointsPerRun: ny * nz, ...this.lammps });
    else if (this.windowChanged) this.window.setStructure(w.atoms, [w.planes, ny, nz]);
    this.windowChanged = false;
    return this.window.computeRows(w.pad, w.pad + (i1 - i0), rowStart, rowStride);
  }

  close(): void {
    this.whole?.close();
    this.whole = undefined;
    this.window?.close();
    this.window = undefined;
  }
}
