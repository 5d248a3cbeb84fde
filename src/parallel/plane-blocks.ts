/**
 * The grid in fixed blocks of x-planes, the unit of work of `predict` on one rank or many.
 *
 * Blocks depend on the grid only (and on the memory budget when that is tiny), never on the rank
 * count: ranks take contiguous runs of whole blocks, each block's descriptors are computed the
 * same way wherever it runs, and the network sees each block as one batch. So the LDOS of every
 * point, and everything derived from it, is the same for any number of ranks (up to the order of
 * the float64 DOS sums).
 *
 * Linear cost: LAMMPS' `compute sna/grid` checks every atom (local and ghost) for every grid
 * point, so computing a plane of a big cell from all atoms costs O(N) per point and O(N²) in all.
 * A block is therefore computed from a *window*: the atoms within the descriptor cutoff of the
 * block along a1 (plus a one-plane margin), in a periodic cell of (block + 2·pad) planes along a1
 * and the full cell along a2, a3. Periodic images of the window are at least `pad` planes away
 * from the block, farther than the cutoff, so every grid point sees exactly its true neighbours.
 * The window's cost per point grows with the cross-section (N^(2/3)) only for the cheap distance
 * test; the neighbour set, and the SNAP work, stay constant.
 * Small cells (window ≥ cell) and cells not periodic along a1 use the whole cell.
 */
import { BispectrumCalculator, BispectrumParameters } from '../descriptors/bispectrum';
import { GridShape } from '../grid/grid';
import { Atoms, Mat3, Vec3, cellVolumeA3, cross, fractionalPositions, norm, speciesOf, vecMat } from '../structure/atoms';

/** Blocks [i0, i1) of `planesPerBlock` x-planes (the last one may be shorter). */
export function planeBlocks(nx: number, planesPerBlock: number): [number, number][] {
  const k = Math.max(1, Math.min(nx, Math.floor(planesPerBlock)));
  const out: [number, number][] = [];
  for (let i0 = 0; i0 < nx; i0 += k) out.push([i0, Math.min(nx, i0 + k)]);
  return out;
}

/** Points a block should at least hold so the network runs on reasonable batches. */
export const minBlockPoints = 4096;

/** Planes per block from the grid alone: ≥ minBlockPoints points, capped by `maxPlanes` (memory). */
export function planesPerBlockFor(grid: GridShape, maxPlanes: number): number {
  const [nx, ny, nz] = grid;
  return Math.max(1, Math.min(nx, Math.ceil(minBlockPoints / (ny * nz)), Math.floor(maxPlanes)));
}

/** Largest pair cutoff of sna/grid (Å): 2·rcutfac·max radius (MALA radii 0.5 → rcutfac). */
export function descriptorCutoffAngstrom(params: BispectrumParameters): number {
  const radii = params.elementRadii ?? [0.5];
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
export function windowAtoms(atoms: Atoms, grid: GridShape, i0: number, i1: number, cutoffAngstrom: number): { atoms: Atoms; planes: number; pad: number } | undefined {
  const nx = grid[0];
  if (!atoms.pbc[0]) return undefined;
  const cell = atoms.cellAngstrom;
  const pad = Math.ceil(cutoffAngstrom / planeSpacingAngstrom(cell, nx)) + 1;
  const planes = i1 - i0 + 2 * pad;
  if (planes >= nx) return undefined;
  const origin = i0 - pad;
  const frac = fractionalPositions(atoms);
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

/** Descriptors (no xyz columns) of blocks of x-planes, each from its window (see above). */
export class WindowedDescriptors {
  private whole?: BispectrumCalculator;
  private window?: BispectrumCalculator;
  readonly cutoffAngstrom: number;
  /** Blocks computed from a window / from the whole cell (for reports and tests). */
  windowed = 0;
  wholeCell = 0;

  constructor(
    private readonly atoms: Atoms,
    private readonly grid: GridShape,
    private readonly params: BispectrumParameters,
    private readonly libraryPath?: string,
  ) {
    this.cutoffAngstrom = descriptorCutoffAngstrom(params);
  }

  /** Descriptors of planes [i0, i1) as (i1−i0, ny, nz, F) float32. Always call with the same blocks. */
  computePlanes(i0: number, i1: number): Float32Array {
    const [, ny, nz] = this.grid;
    const w = windowAtoms(this.atoms, this.grid, i0, i1, this.cutoffAngstrom);
    if (!w) {
      this.wholeCell++;
      this.whole ??= new BispectrumCalculator(this.atoms, this.grid, this.params, { xyz: false, maxPointsPerRun: (i1 - i0) * ny * nz, libraryPath: this.libraryPath });
      return this.whole.computePlanes(i0, i1);
    }
    this.windowed++;
    // One LAMMPS instance for all windows (only the structure changes from block to block).
    if (this.window) this.window.setStructure(w.atoms, [w.planes, ny, nz]);
    else this.window = new BispectrumCalculator(w.atoms, [w.planes, ny, nz], this.params, { xyz: false, maxPointsPerRun: ny * nz, libraryPath: this.libraryPath });
    return this.window.computePlanes(w.pad, w.pad + (i1 - i0));
  }

  close(): void {
    this.whole?.close();
    this.whole = undefined;
    this.window?.close();
    this.window = undefined;
  }
}
