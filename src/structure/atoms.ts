/**
 * The atomic structure every reader produces and every consumer takes: cell rows and Cartesian
 * positions in Å (ASE's convention: cell row i is lattice vector a_i), one element symbol per
 * atom, periodicity per cell axis.
 */
import { MalaError } from '../errors';
import { atomicNumber } from './elements';

export type Vec3 = [number, number, number];
export type Mat3 = [Vec3, Vec3, Vec3];

export interface Atoms {
  /** Lattice vectors a1, a2, a3 as rows, Å. */
  cellAngstrom: Mat3;
  /** Cartesian positions, Å, one row per atom. */
  positionsAngstrom: Vec3[];
  /** Chemical symbol per atom ("Be"). */
  symbols: string[];
  /** Periodic along a1, a2, a3. */
  pbc: [boolean, boolean, boolean];
}

export const dot = (a: Vec3, b: Vec3): number => a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
export const cross = (a: Vec3, b: Vec3): Vec3 => [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];
export const norm = (a: Vec3): number => Math.sqrt(dot(a, a));

/**
 * det(cell) = a1 · (a2 × a3) (negative for a left-handed cell), for any 3×3 rows (Å³ for a cell in
 * Å). The one determinant of the code base.
 */
export function det3(m: readonly (readonly number[])[]): number {
  // a1 · (a2 × a3) written out, in dot()/cross()'s order of operations
  return m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) + m[0][1] * (m[1][2] * m[2][0] - m[1][0] * m[2][2]) + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0]);
}

/** Cell volume |det(cell)|, Å³. */
export function cellVolumeA3(cell: Mat3): number {
  return Math.abs(det3(cell));
}

/** Inverse of a 3×3 matrix (rows), throws on a singular matrix. */
export function inv3(m: Mat3): Mat3 {
  const d = det3(m);
  if (d === 0 || !Number.isFinite(d)) throw new RangeError('singular 3x3 matrix');
  const c0 = cross(m[1], m[2]);
  const c1 = cross(m[2], m[0]);
  const c2 = cross(m[0], m[1]);
  // inverse = [c0 c1 c2] (as columns) / det
  return [
    [c0[0] / d, c1[0] / d, c2[0] / d],
    [c0[1] / d, c1[1] / d, c2[1] / d],
    [c0[2] / d, c1[2] / d, c2[2] / d],
  ];
}

/** Row vector times matrix: v · M. */
export function vecMat(v: Vec3, m: Mat3): Vec3 {
  return [
    v[0] * m[0][0] + v[1] * m[1][0] + v[2] * m[2][0],
    v[0] * m[0][1] + v[1] * m[1][1] + v[2] * m[2][1],
    v[0] * m[0][2] + v[1] * m[1][2] + v[2] * m[2][2],
  ];
}

/** Fractional (scaled) coordinates of every atom: r = s · cell. */
export function fractionalPositions(atoms: Atoms): Vec3[] {
  const inv = inv3(atoms.cellAngstrom);
  return atoms.positionsAngstrom.map((r) => vecMat(r, inv));
}

/** Cartesian positions from fractional ones. */
export function cartesianFromFractional(frac: Vec3[], cell: Mat3): Vec3[] {
  return frac.map((s) => vecMat(s, cell));
}

/**
 * Wrap atoms into the cell along periodic axes (fractional coordinates mod 1 in [0, 1)), as MALA
 * does before computing descriptors. Returns a new Atoms.
 */
export function wrapAtoms(atoms: Atoms): Atoms {
  const frac = fractionalPositions(atoms).map(
    (s) =>
      s.map((x, d) => {
        if (!atoms.pbc[d]) return x;
        let w = x - Math.floor(x);
        // x slightly below an integer can round to exactly 1 after the subtraction
        if (w >= 1) w -= 1;
        return w;
      }) as Vec3,
  );
  return { ...atoms, positionsAngstrom: cartesianFromFractional(frac, atoms.cellAngstrom) };
}

/** Species in alphabetical order of their symbols (MALA's and LAMMPS-type order). */
export function speciesOf(atoms: Atoms): string[] {
  return [...new Set(atoms.symbols)].sort();
}

/** Largest cell edge accepted (Å): a 10⁶ Å cell is not a structure (its volume overflowed: "det = Infinity"). */
export const maxCellEdgeAngstrom = 1e6;

/**
 * What is wrong with a cell (rows, Å), in words, or undefined: a zero or absurdly long vector,
 * two parallel vectors, three coplanar ones (|det| ≤ 1e-10·|a1||a2||a3|).
 */
export function cellProblem(cell: Mat3): string | undefined {
  const len = cell.map((r) => norm(r as Vec3));
  const v = (i: number) => `a${i + 1} = (${cell[i].map((x) => Number(x.toPrecision(6))).join(', ')}) Å`;
  for (let i = 0; i < 3; i++) if (len[i] === 0) return `has zero volume: vector ${v(i)} is zero`;
  for (let i = 0; i < 3; i++) {
    const biggest = Math.max(...cell[i].map(Math.abs)); // (|a|² overflows first)
    if (!(biggest <= maxCellEdgeAngstrom)) return `vector ${v(i)} has a component of ${biggest.toExponential(2)} Å, beyond any structure (at most ${maxCellEdgeAngstrom} Å: wrong units?)`;
  }
  for (let i = 0; i < 3; i++) {
    for (let j = i + 1; j < 3; j++) {
      const [a, b] = [cell[i], cell[j]];
      const c = [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]] as Vec3;
      if (norm(c) <= 1e-10 * len[i] * len[j]) return `has zero volume: ${v(i)} and ${v(j)} are parallel`;
    }
  }
  const d = det3(cell);
  if (Math.abs(d) <= 1e-10 * len[0] * len[1] * len[2]) return `has zero volume: ${v(0)}, ${v(1)} and ${v(2)} lie in one plane (det = ${d.toExponential(3)} Å³)`;
  return undefined;
}

/**
 * Check an Atoms for what every consumer relies on; throws one MalaError naming `file`.
 * Cell volume must be non-zero relative to its edge lengths (|det| > 1e-10·|a1||a2||a3|).
 */
export function validateAtoms(atoms: Atoms, file?: string): Atoms {
  const cell = atoms.cellAngstrom;
  if (!Array.isArray(cell) || cell.length !== 3 || cell.some((r) => r.length !== 3 || r.some((x) => !Number.isFinite(x)))) {
    throw new MalaError('the cell must be 3 finite lattice vectors', { file, fix: 'give the three cell vectors in Å' });
  }
  const problem = cellProblem(cell as Mat3);
  if (problem) {
    throw new MalaError(`the cell ${problem}`, { file, fix: 'give three linearly independent cell vectors in Å; check CELL_PARAMETERS / the box / the Lattice' });
  }
  if (atoms.positionsAngstrom.length !== atoms.symbols.length) {
    throw new MalaError(`${atoms.positionsAngstrom.length} positions but ${atoms.symbols.length} species`, { file, fix: 'give one species per atom' });
  }
  if (atoms.symbols.length === 0) throw new MalaError('the structure has no atoms', { file, fix: 'add atoms to the structure' });
  for (const r of atoms.positionsAngstrom) {
    if (r.length !== 3 || r.some((x) => !Number.isFinite(x))) {
      throw new MalaError('an atom position is not a finite 3-vector', { file, fix: 'check the atomic positions' });
    }
  }
  for (const s of atoms.symbols) atomicNumber(s, file);
  return atoms;
}
