/**
 * Bispectrum descriptors on the real-space grid, computed by LAMMPS `compute sna/grid` through
 * its C library with MALA's parameters (spec §2), from lammps-inputs/bispectrum-grid.in.
 *
 * Output layout is ours/MALA's: (nx, ny, nz, F) float32, z fastest, F = ncoeff (+3 leading xyz
 * columns in Å when asked). LAMMPS returns rows x fastest; we transpose.
 *
 * Bounded memory: LAMMPS holds two double copies of the grid array it computes (local and
 * global). A block of x-planes r, r+m, r+2m, … (m dividing nx) is computed as a grid of nx/m
 * planes with all atoms shifted by −r/nx·a1 (periodicity makes that exact), so any grid can be
 * computed in runs of at most `maxPointsPerRun` points; single planes (m = nx) are the unit the
 * streaming pipeline uses (`computePlanes`). The same shift along a2 computes only rows
 * q, q+s, q+2s, … of a plane (s dividing ny, `computeRows`), so a block never has to be a whole
 * plane: big cells run in blocks of a fixed size.
 *
 * xyz columns are the grid-point positions r = (i/nx)a1 + (j/ny)a2 + (k/nz)a3 in the frame of the
 * structure as read (MALA takes them from LAMMPS, whose frame is the same for cells of the form
 * (ax,0,0),(bx,by,0),(cx,cy,cz), e.g. all QE ibrav cells and Be2).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Lammps } from '../../bindings/lammps';
import { repoRoot } from '../../bindings/native-paths';
import { MalaError } from '../errors';
import { Atoms, speciesOf, validateAtoms, wrapAtoms, fractionalPositions } from '../structure/atoms';
import { lammpsDataText, restrictedTriclinic } from '../structure/lammps-data';
import { GridShape, gridPointAngstrom, validateGrid } from '../grid/grid';
import { registerTemp } from '../util/cleanup';
import { Progress, silentProgress } from '../util/progress';
import { bispectrumCount, bispectrumRangeProblem, type BispectrumParameters } from './bispectrum-parameters';
import { malaBispectrumDefaults, malaElementRadius } from './mala-defaults';

export { bispectrumCount, bispectrumIndices, type BispectrumParameters } from './bispectrum-parameters';

/** Features per grid point: coefficients plus 3 xyz columns when `xyz`. */
export function descriptorFeatureCount(params: BispectrumParameters, xyz: boolean): number {
  return bispectrumCount(params.twojmax, params.quadraticflag) + (xyz ? 3 : 0);
}

export function validateParameters(p: BispectrumParameters, nspecies: number): void {
  const bad = (what: string, fix: string): never => {
    throw new MalaError(`invalid bispectrum parameter: ${what}`, { fix });
  };
  if (!Number.isInteger(p.twojmax) || p.twojmax < 0) bad(`twojmax = ${p.twojmax}`, `twojmax must be a non-negative (even) integer, MALA uses ${malaBispectrumDefaults.twojmax}`);
  if (!(p.rcutfacAngstrom > 0) || !Number.isFinite(p.rcutfacAngstrom)) bad(`rcutfac = ${p.rcutfacAngstrom}`, `the cutoff must be a positive length in Å, MALA uses ${malaBispectrumDefaults.rcutfacAngstrom}`);
  if (!(p.rfac0 > 0 && p.rfac0 <= 1)) bad(`rfac0 = ${p.rfac0}`, `rfac0 must be in (0, 1], MALA uses ${malaBispectrumDefaults.rfac0}`);
  if (!(p.rmin0Angstrom >= 0 && p.rmin0Angstrom < p.rcutfacAngstrom)) bad(`rmin0 = ${p.rmin0Angstrom}`, 'rmin0 must be in [0, rcutfac)');
  const range = bispectrumRangeProblem(p); // the upper bounds
  if (range) bad(range.what, range.range);
  for (const [name, list] of [['element weights', p.elementWeights], ['element radii', p.elementRadii]] as const) {
    if (!list) continue;
    if (list.length !== nspecies) bad(`${list.length} ${name} for ${nspecies} elements`, `give one value per element, in alphabetical element order`);
    if (list.some((w) => !(w > 0) || !Number.isFinite(w))) bad(`${name} ${list.join(',')}`, `${name} must be positive numbers`);
  }
}

/** Per-type weights as MALA passes them: given list rescaled to max 1, or all 1. */
export function effectiveWeights(p: BispectrumParameters, nspecies: number): number[] {
  if (!p.elementWeights) return new Array(nspecies).fill(1);
  const max = Math.max(...p.elementWeights);
  return p.elementWeights.map((w) => w / max);
}

export const bispectrumTemplate = path.join(repoRoot, 'lammps-inputs', 'bispectrum-grid.in');

/** Characters LAMMPS reads in a path argument as they are (no splitting, no $ substitution, no # comment, no quote). */
const lammpsPlainPath = /^[\w/.+,@%=:~-]+$/;

/**
 * The folder for LAMMPS' data file: $TMPDIR when LAMMPS can read a path in it, else the first
 * plain writable system temp folder (a TMPDIR with a space split `read_data` into two words;
 * LAMMPS' quoting does not cover $, quotes and non-ASCII names either).
 */
export function lammpsTempBase(tmpdir = os.tmpdir()): string {
  const writable = (d: string): boolean => {
    try {
      fs.accessSync(d, fs.constants.W_OK);
      return fs.statSync(d).isDirectory();
    } catch {
      return false;
    }
  };
  const base = [tmpdir, '/tmp', '/var/tmp', '/dev/shm'].find((d) => lammpsPlainPath.test(d) && writable(d));
  if (!base) {
    throw new MalaError(`no temporary folder LAMMPS can read its data file from: ${tmpdir} has characters (spaces, quotes, $, #, non-ASCII) that LAMMPS splits or substitutes`, {
      fix: 'set TMPDIR to a writable folder with a plain name (letters, digits, _ - . /), e.g. TMPDIR=$HOME/tmp',
    });
  }
  return base;
}

/** LAMMPS variables of the template for one run (strings as LAMMPS reads them). */
export function templateVariables(
  params: BispectrumParameters,
  nspecies: number,
  datafile: string,
  grid: GridShape,
  shiftxAngstrom: number,
  pbc: [boolean, boolean, boolean],
  shiftyAngstrom = 0,
): Record<string, string> {
  const radii = params.elementRadii ?? new Array(nspecies).fill(malaElementRadius);
  return {
    datafile,
    ngridx: String(grid[0]),
    ngridy: String(grid[1]),
    ngridz: String(grid[2]),
    twojmax: String(params.twojmax),
    rcutfac: String(params.rcutfacAngstrom),
    rfac0: String(params.rfac0),
    rmin0: String(params.rmin0Angstrom),
    radii: radii.map(String).join(' '),
    weights: effectiveWeights(params, nspecies).map(String).join(' '),
    rcutneigh: String(2 * params.rcutfacAngstrom * Math.max(...radii)),
    switch: String(params.switchflag),
    bzero: String(params.bzeroflag),
    quadratic: String(params.quadraticflag),
    boundary: pbc.map((p) => (p ? 'p' : 'f')).join(' '),
    shiftx: String(shiftxAngstrom),
    shifty: String(shiftyAngstrom),
  };
}

export interface BispectrumOptions {
  /** Prepend the 3 xyz columns (MALA's `descriptors_contain_xyz`, default true there). */
  xyz?: boolean;
  /** Most grid points LAMMPS computes in one run (memory ≈ 16·(ncoeff+3) bytes each). */
  maxPointsPerRun?: number;
  libraryPath?: string;
  /**
   * MPI communicator LAMMPS runs on, as a Fortran handle (MPI_Comm_c2f): e.g. MPI_COMM_SELF so
   * each rank runs its own serial LAMMPS. Undefined → MPI_COMM_WORLD (or no MPI).
   */
  fortranCommunicator?: number;
  progress?: Progress;
}

/** Default run size: 2^18 points ≈ 400 MB of LAMMPS arrays at twojmax 10. */
export const defaultMaxPointsPerRun = 1 << 18;

/**
 * Atoms as LAMMPS gets them: wrapped into the cell (MALA's Descriptor.enforce_pbc). Along a
 * non-periodic axis atoms must already lie inside, or LAMMPS would drop them.
 */
function prepareAtoms(atoms: Atoms): Atoms {
  const frac = fractionalPositions(atoms);
  atoms.pbc.forEach((p, d) => {
    if (!p && frac.some((s) => s[d] < 0 || s[d] >= 1)) {
      throw new MalaError(`atoms lie outside the cell along the non-periodic axis a${d + 1}`, { fix: 'enlarge the cell along that axis or make it periodic' });
    }
  });
  return wrapAtoms(atoms);
}

/**
 * One structure + grid + parameters, ready to compute any part of the grid. Holds a LAMMPS
 * instance and a temporary data file: always `close()` it.
 */
export class BispectrumCalculator {
  private gridShape: GridShape;
  readonly params: BispectrumParameters;
  readonly species: string[];
  readonly xyz: boolean;
  /** Features per grid point in the output. */
  readonly featureCount: number;
  readonly ncoeff: number;
  private atoms: Atoms;
  /** a1 = (lx, 0, 0) and a2 = (xy, ly, 0) in LAMMPS' frame (Å), for the shifts. */
  private lammpsCell: number[][];
  private tmp: string;
  /** The tmp folder leaves with a signal or an exit too (src/util/cleanup.ts). */
  private unregisterTmp: () => void;
  private readonly datafile: string;
  private readonly template: string;
  private lmp?: Lammps;
  private readonly maxPointsPerRun: number;

  constructor(atoms: Atoms, grid: readonly number[], params: BispectrumParameters = malaBispectrumDefaults, opts: BispectrumOptions = {}) {
    this.gridShape = validateGrid(grid);
    validateAtoms(atoms);
    this.species = speciesOf(atoms);
    validateParameters(params, this.species.length);
    this.params = params;
    this.xyz = opts.xyz ?? false;
    this.ncoeff = bispectrumCount(params.twojmax, params.quadraticflag);
    this.featureCount = this.ncoeff + (this.xyz ? 3 : 0);
    this.maxPointsPerRun = Math.max(1, opts.maxPointsPerRun ?? defaultMaxPointsPerRun);
    this.atoms = prepareAtoms(atoms);
    this.lammpsCell = restrictedTriclinic(this.atoms.cellAngstrom);
    this.template = fs.readFileSync(bispectrumTemplate, 'utf8');
    // LAMMPS first: opening it initialises MPI, which can abort natively (no exit hook runs then), and the folder would be left
    this.tmp = '';
    this.unregisterTmp = () => undefined;
    this.datafile = '';
    try {
      this.lmp = new Lammps({ libraryPath: opts.libraryPath, fortranCommunicator: opts.fortranCommunicator });
      if (!this.lmp.hasStyle('compute', 'sna/grid')) {
        throw new MalaError(`the LAMMPS library ${this.lmp.libraryPath} has no compute sna/grid`, { fix: 'use a LAMMPS built with the ML-SNAP package (`make setup` builds one)' });
      }
      this.tmp = fs.mkdtempSync(path.join(lammpsTempBase(), 'mala-ts-bispectrum-'));
      this.unregisterTmp = registerTemp(this.tmp, true);
      this.datafile = path.join(this.tmp, 'structure.data');
      fs.writeFileSync(this.datafile, lammpsDataText(this.atoms, this.species, 'mala-ts bispectrum input'));
    } catch (e) {
      this.close();
      throw e;
    }
  }

  get grid(): GridShape {
    return this.gridShape;
  }

  /**
   * Point this calculator at another structure and grid with the same species, keeping its
   * LAMMPS instance: for many small runs (one per block of a big cell) this avoids opening and
   * closing LAMMPS each time, and the heap growth that comes with it.
   */
  setStructure(atoms: Atoms, grid: readonly number[]): void {
    if (!this.lmp) throw new MalaError('this BispectrumCalculator is closed');
    const g = validateGrid(grid);
    validateAtoms(atoms);
    const species = speciesOf(atoms);
    if (species.join() !== this.species.join()) throw new MalaError(`setStructure: species ${species.join(',')} differ from ${this.species.join(',')}`);
    this.atoms = prepareAtoms(atoms);
    this.gridShape = g;
    this.lammpsCell = restrictedTriclinic(this.atoms.cellAngstrom);
    fs.writeFileSync(this.datafile, lammpsDataText(this.atoms, this.species, 'mala-ts bispectrum input'));
  }

  get pointCount(): number {
    return this.grid[0] * this.grid[1] * this.grid[2];
  }

  /**
   * LAMMPS run for x-planes r, r+m, …, r+(nx/m−1)m (m divides nx) and, of those, rows q, q+s, …
   * (s divides ny). Returns the raw array (rows x fastest over the sub-grid, columns xyz +
   * coefficients).
   */
  private run(r: number, m: number, q = 0, s = 1): Float64Array {
    const lmp = this.lmp;
    if (!lmp) throw new MalaError('this BispectrumCalculator is closed');
    const [nx, ny, nz] = this.grid;
    const sub: GridShape = [nx / m, ny / s, nz];
    const [a1, a2] = this.lammpsCell;
    // shift by −(r/nx)·a1 − (q/ny)·a2: the sub-grid's point (i, j, k) is the grid's (r + i·m, q + j·s, k)
    const shiftx = (-r / nx) * a1[0] - (q / ny) * a2[0];
    const shifty = (-q / ny) * a2[1];
    const vars = templateVariables(this.params, this.species.length, this.datafile, sub, shiftx, this.atoms.pbc, shifty);
    lmp.command('clear');
    for (const [k, v] of Object.entries(vars)) lmp.command(`variable ${k} string "${v}"`);
    lmp.commands(this.template);
    const a = lmp.extractComputeArray('bgrid', 'global');
    const rows = sub[0] * sub[1] * nz;
    if (a.rows !== rows || a.cols !== 3 + this.ncoeff) {
      throw new MalaError(`LAMMPS returned a ${a.rows}×${a.cols} grid array, expected ${rows}×${3 + this.ncoeff}`);
    }
    return a.data;
  }

  /**
   * Copy one run's rows into `out` (layout (planes, rows, nz, F)): sub-grid plane i goes to
   * output plane `outPlane(i)`, its row j is grid row `rowOf(j)` (for the xyz columns).
   */
  private scatter(raw: Float64Array, subNx: number, subNy: number, planeOf: (i: number) => number, out: Float32Array, outPlane: (i: number) => number, rowOf: (j: number) => number = (j) => j): void {
    const [, , nz] = this.grid;
    const F = this.featureCount;
    const cols = 3 + this.ncoeff;
    const off = this.xyz ? 0 : 3;
    for (let k = 0; k < nz; k++)
      for (let j = 0; j < subNy; j++)
        for (let i = 0; i < subNx; i++) {
          const src = ((k * subNy + j) * subNx + i) * cols;
          const dst = ((outPlane(i) * subNy + j) * nz + k) * F;
          for (let c = off; c < cols; c++) out[dst + c - off] = raw[src + c];
          if (this.xyz) {
            const p = gridPointAngstrom(this.atoms.cellAngstrom, this.grid, planeOf(i), rowOf(j), k);
            out[dst] = p[0];
            out[dst + 1] = p[1];
            out[dst + 2] = p[2];
          }
        }
  }

  /** Descriptors of x-planes [i0, i1): Float32Array of shape (i1−i0, ny, nz, F). One LAMMPS run per plane. */
  computePlanes(i0: number, i1: number, progress: Progress = silentProgress): Float32Array {
    const [nx, ny, nz] = this.grid;
    if (!(Number.isInteger(i0) && Number.isInteger(i1) && 0 <= i0 && i0 < i1 && i1 <= nx)) throw new RangeError(`planes ${i0}..${i1} outside 0..${nx}`);
    if (i0 === 0 && i1 === nx && this.pointCount <= this.maxPointsPerRun) {
      const out = new Float32Array(this.pointCount * this.featureCount);
      this.scatter(this.run(0, 1), nx, ny, (i) => i, out, (i) => i);
      progress.tick(this.pointCount);
      return out;
    }
    return this.computeRows(i0, i1, 0, 1, progress);
  }

  /**
   * Descriptors of rows q, q+s, q+2s, … (s divides ny) of x-planes [i0, i1): Float32Array of
   * shape (i1−i0, ny/s, nz, F). One LAMMPS run of ny/s·nz points per plane. Rows along a
   * non-periodic a2 cannot be shifted: there s must be 1.
   */
  computeRows(i0: number, i1: number, q: number, s: number, progress: Progress = silentProgress): Float32Array {
    const [nx, ny, nz] = this.grid;
    if (!(Number.isInteger(i0) && Number.isInteger(i1) && 0 <= i0 && i0 < i1 && i1 <= nx)) throw new RangeError(`planes ${i0}..${i1} outside 0..${nx}`);
    if (!(Number.isInteger(s) && s >= 1 && ny % s === 0 && Number.isInteger(q) && q >= 0 && q < s)) throw new RangeError(`rows ${q} mod ${s} do not split ${ny} rows`);
    if (s > 1 && !this.atoms.pbc[1]) throw new RangeError('rows of a plane can only be computed separately along a periodic a2');
    const subNy = ny / s;
    const out = new Float32Array((i1 - i0) * subNy * nz * this.featureCount);
    for (let i = i0; i < i1; i++) {
      this.scatter(this.run(i, nx, q, s), 1, subNy, () => i, out, () => i - i0, (j) => q + j * s);
      progress.tick(subNy * nz);
    }
    return out;
  }

  /**
   * The whole grid, (nx, ny, nz, F): one run when it fits `maxPointsPerRun`, otherwise runs over
   * interleaved x-planes (the smallest divisor m of nx whose runs fit), scattered into place.
   */
  computeAll(progress: Progress = silentProgress): Float32Array {
    const [nx, ny, nz] = this.grid;
    let m = 1;
    while (m < nx && (nx % m !== 0 || (nx / m) * ny * nz > this.maxPointsPerRun)) m++;
    const out = new Float32Array(this.pointCount * this.featureCount);
    progress.start('descriptors', this.pointCount, 'points');
    try {
      for (let r = 0; r < m; r++) {
        this.scatter(this.run(r, m), nx / m, ny, (i) => r + i * m, out, (i) => r + i * m);
        progress.tick((nx / m) * ny * nz);
      }
    } finally {
      progress.stop();
    }
    return out;
  }

  close(): void {
    this.lmp?.close();
    this.lmp = undefined;
    if (this.tmp) fs.rmSync(this.tmp, { recursive: true, force: true });
    this.unregisterTmp();
  }
}

/** Convenience: descriptors of the whole grid, (nx, ny, nz, F) float32. */
export function computeBispectrum(atoms: Atoms, grid: readonly number[], params: BispectrumParameters = malaBispectrumDefaults, opts: BispectrumOptions = {}): Float32Array {
  const calc = new BispectrumCalculator(atoms, grid, params, opts);
  try {
    return calc.computeAll(opts.progress);
  } finally {
    calc.close();
  }
}
