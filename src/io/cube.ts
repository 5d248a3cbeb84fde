/**
 * Gaussian cube files exactly as Quantum ESPRESSO's pp.x writes them (`output_format=6`,
 * PP/src/cube.f90; qe-notes.md §3): two comment lines; `nat, origin` (I5,3F12.6); three lines
 * `n_i, a_i/n_i` in Bohr; nat lines `Z, charge, x, y, z` (I5,4F12.6, Bohr); then the values in
 * 6E13.5, one (i1,i2) column of n3 values at a time, so **i3 (z) runs fastest** and the data is a
 * C-order (n1,n2,n3) array — MALA's layout. LDOS cubes (plot_num=3) hold 1/(Ry·Bohr³).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { checkInputFile } from './input-file';
import { MalaError } from '../errors';
import { bohrAngstrom, bohr3InAngstrom3, rydbergEv } from '../structure/units';
import { writeFileAtomic } from './atomic-write';

export interface CubeAtom {
  atomicNumber: number;
  /** pp.x writes Z again here (not the valence charge). */
  charge: number;
  positionBohr: [number, number, number];
}

export interface Cube {
  /** The two comment lines, verbatim (pp.x: " Cubefile created from PWScf calculation", title). */
  comments: [string, string];
  originBohr: [number, number, number];
  /** Grid (n1, n2, n3). */
  shape: [number, number, number];
  /** Voxel vectors a_i/n_i as rows, in Bohr. */
  voxelBohr: [number, number, number][];
  atoms: CubeAtom[];
  /** n1·n2·n3 values, C order (i3 fastest), in the file's units. */
  data: Float64Array;
}

/** 1/(Ry·Bohr³) → 1/(eV·Å³): what a pp.x LDOS cube value is multiplied by for MALA units. */
export const LDOS_CUBE_TO_PER_EV_A3 = 1 / (rydbergEv * bohr3InAngstrom3);

function fail(file: string, msg: string): MalaError {
  return new MalaError(`malformed cube file: ${msg}`, { file, fix: 'pass a Gaussian cube file as written by pp.x (output_format=6)' });
}

/** Parse cube text. Negative n_i (Gaussian's Å flag) is converted to Bohr. */
export function parseCube(text: string, file = '<cube>'): Cube {
  // Header: walk lines by hand so the data block can be tokenized without splitting into lines.
  let pos = 0;
  const nextLine = (): string => {
    if (pos >= text.length) throw fail(file, 'file ends inside the header');
    let end = text.indexOf('\n', pos);
    if (end < 0) end = text.length;
    const line = text.slice(pos, end).replace(/\r$/, '');
    pos = end + 1;
    return line;
  };
  const nums = (line: string, count: number, what: string): number[] => {
    const t = line.trim().split(/\s+/).slice(0, count).map(Number);
    if (t.length < count || t.some((v) => !Number.isFinite(v))) throw fail(file, `cannot read ${what} from '${line}'`);
    return t;
  };
  const comments: [string, string] = [nextLine(), nextLine()];
  const l3 = nums(nextLine(), 4, 'natoms and origin');
  const nat = Math.abs(l3[0]);
  if (!Number.isInteger(nat)) throw fail(file, `bad atom count ${l3[0]}`);
  const originBohr: [number, number, number] = [l3[1], l3[2], l3[3]];
  const shape: [number, number, number] = [0, 0, 0];
  const voxelBohr: [number, number, number][] = [];
  let angstrom = false;
  for (let i = 0; i < 3; i++) {
    const v = nums(nextLine(), 4, `grid axis ${i + 1}`);
    if (!Number.isInteger(v[0]) || v[0] === 0) throw fail(file, `bad grid size ${v[0]} on axis ${i + 1}`);
    if (v[0] < 0) angstrom = true;
    shape[i] = Math.abs(v[0]);
    voxelBohr.push([v[1], v[2], v[3]]);
  }
  const toBohr = angstrom ? 1 / bohrAngstrom : 1;
  if (angstrom) {
    for (const row of voxelBohr) for (let j = 0; j < 3; j++) row[j] *= toBohr;
    for (let j = 0; j < 3; j++) originBohr[j] *= toBohr;
  }
  const atoms: CubeAtom[] = [];
  for (let a = 0; a < nat; a++) {
    const v = nums(nextLine(), 5, `atom ${a + 1}`);
    atoms.push({ atomicNumber: v[0], charge: v[1], positionBohr: [v[2] * toBohr, v[3] * toBohr, v[4] * toBohr] });
  }
  const count = shape[0] * shape[1] * shape[2];
  const data = new Float64Array(count);
  // Tokenize the data block: whitespace-separated numbers.
  let n = 0;
  const len = text.length;
  let i = pos;
  while (i < len) {
    let c = text.charCodeAt(i);
    while (c === 32 || c === 10 || c === 13 || c === 9) {
      i++;
      if (i >= len) break;
      c = text.charCodeAt(i);
    }
    if (i >= len) break;
    const start = i;
    while (i < len) {
      c = text.charCodeAt(i);
      if (c === 32 || c === 10 || c === 13 || c === 9) break;
      i++;
    }
    if (n >= count) throw fail(file, `more than the ${count} values of a ${shape.join('×')} grid`);
    const v = Number(text.slice(start, i));
    if (Number.isNaN(v) && text.slice(start, i) !== 'NaN') throw fail(file, `'${text.slice(start, i)}' is not a number (value ${n + 1})`);
    data[n++] = v;
  }
  if (n !== count) throw fail(file, `${n} values but a ${shape.join('×')} grid needs ${count} (file truncated?)`);
  return { comments, originBohr, shape, voxelBohr, atoms, data };
}

/** Read a cube file; `.gz` files are decompressed on the fly. */
export function readCube(file: string): Cube {
  let raw: Buffer;
  checkInputFile(file, 'cube file');
  try {
    raw = fs.readFileSync(file);
  } catch (e) {
    throw new MalaError(`cannot read cube file: ${(e as Error).message}`, { file, fix: 'check the path', cause: e });
  }
  if (file.toLowerCase().endsWith('.gz')) {
    try {
      raw = zlib.gunzipSync(raw);
    } catch (e) {
      throw new MalaError(`cannot decompress cube file: ${(e as Error).message}`, { file, fix: 'the .gz file is damaged; regenerate it', cause: e });
    }
  }
  return parseCube(raw.toString('latin1'), file);
}

/** Whether a file name looks like a cube (`.cube` or `.cube.gz`). */
export function isCubeFileName(file: string): boolean {
  return /\.cube(\.gz)?$/i.test(file);
}

const i5 = (v: number): string => String(v).padStart(5);
const f12 = (v: number): string => {
  const s = v.toFixed(6);
  return (s === '-0.000000' ? '0.000000' : s).padStart(12);
};

/** Fortran E13.5: " 0.19917E-01" (mantissa in [0.1, 1), 5 digits), as pp.x writes values. */
export function fortranE13_5(v: number): string {
  if (v === 0 || !Number.isFinite(v)) return (v === 0 ? '0.00000E+00' : String(v)).padStart(13);
  const [mant, expText] = Math.abs(v).toExponential(4).split('e');
  const digits = mant.replace('.', '');
  const e = Number(expText) + 1;
  const ae = Math.abs(e);
  // Fortran drops the 'E' for three-digit exponents: 0.12345-100
  const exp = ae < 100 ? `E${e < 0 ? '-' : '+'}${String(ae).padStart(2, '0')}` : `${e < 0 ? '-' : '+'}${ae}`;
  return `${v < 0 ? '-' : ''}0.${digits}${exp}`.padStart(13);
}

/** The cube as text, byte for byte as pp.x formats it. */
export function formatCube(cube: Cube): string {
  const [n1, n2, n3] = cube.shape;
  if (cube.data.length !== n1 * n2 * n3) throw new Error(`formatCube: ${cube.data.length} values for a ${cube.shape.join('×')} grid`);
  return formatCubeHeader(cube) + formatCubeColumns(cube.data, n3);
}

/** The lines before the values: comments, origin, grid and voxels, atoms. */
export function formatCubeHeader(cube: Omit<Cube, 'data'>): string {
  const parts: string[] = [cube.comments[0], '\n', cube.comments[1], '\n'];
  parts.push(i5(cube.atoms.length), ...cube.originBohr.map(f12), '\n');
  for (let i = 0; i < 3; i++) parts.push(i5(cube.shape[i]), ...cube.voxelBohr[i].map(f12), '\n');
  for (const a of cube.atoms) parts.push(i5(a.atomicNumber), f12(a.charge), ...a.positionBohr.map(f12), '\n');
  return parts.join('');
}

/**
 * Whole (i1, i2) columns of n3 values each (value·scale), 6 per line, as in the body of a cube:
 * consecutive x-planes of a grid format to consecutive pieces of its file.
 */
export function formatCubeColumns(data: ArrayLike<number>, n3: number, scale = 1): string {
  if (data.length % n3 !== 0) throw new Error(`formatCubeColumns: ${data.length} values are not whole columns of ${n3}`);
  const parts: string[] = [];
  for (let o = 0; o < data.length; o += n3) {
    let line = '';
    for (let k = 0; k < n3; k++) {
      line += fortranE13_5(scale === 1 ? data[o + k] : data[o + k] * scale);
      if (k % 6 === 5 || k === n3 - 1) {
        parts.push(line, '\n');
        line = '';
      }
    }
  }
  return parts.join('');
}

/** Write a cube atomically. */
export function writeCube(file: string, cube: Cube): void {
  writeFileAtomic(file, formatCube(cube));
}

/** Cell rows a_i = n_i·voxel_i in Å. */
export function cubeCellAngstrom(cube: Cube): number[][] {
  return cube.voxelBohr.map((row, i) => row.map((v) => v * cube.shape[i] * bohrAngstrom));
}

/** Voxel volume |det(voxel)| in Å³. */
export function cubeVoxelVolumeA3(cube: Cube): number {
  const [a, b, c] = cube.voxelBohr;
  const det = a[0] * (b[1] * c[2] - b[2] * c[1]) - a[1] * (b[0] * c[2] - b[2] * c[0]) + a[2] * (b[0] * c[1] - b[1] * c[0]);
  return Math.abs(det) * bohr3InAngstrom3;
}

/**
 * Order pp.x LDOS cube files by their energy index: pp.x names them `<filplot>NN<fileout>`,
 * e.g. `tmp.pp01Be_ldos.cube` … `tmp.pp11Be_ldos.cube` (1-based, zero-padded). The index is
 * the first number after "pp" if present, else the last number in the file name.
 */
export function sortLdosCubeFiles(files: string[]): string[] {
  const keyed = files.map((f) => {
    const base = path.basename(f);
    const m = /pp0*(\d+)/.exec(base) ?? /(\d+)(?!.*\d)/.exec(base);
    if (!m) throw new MalaError(`cannot tell the energy index of LDOS cube '${base}' from its name`, { file: f, fix: "name LDOS cubes as pp.x does (e.g. tmp.pp01Be_ldos.cube, one per energy) or pass a single .npy" });
    return { f, k: Number(m[1]) };
  });
  keyed.sort((a, b) => a.k - b.k);
  for (let i = 1; i < keyed.length; i++) {
    if (keyed[i].k === keyed[i - 1].k) throw new MalaError(`two LDOS cubes have energy index ${keyed[i].k}: ${keyed[i - 1].f} and ${keyed[i].f}`, { fix: 'pass each energy once' });
    if (keyed[i].k !== keyed[i - 1].k + 1) throw new MalaError(`LDOS cubes skip energy index ${keyed[i - 1].k + 1} (between ${path.basename(keyed[i - 1].f)} and ${path.basename(keyed[i].f)})`, { fix: 'pass all pp.x LDOS cubes of the energy grid' });
  }
  return keyed.map((x) => x.f);
}

/** Energy (eV) in a pp.x LDOS cube title ("Energy =  -5.0000 eV, broadening = ..."), if present. */
export function ldosCubeEnergyEv(cube: Cube): number | undefined {
  const m = /Energy\s*=\s*([-+0-9.Ee]+)\s*eV/.exec(cube.comments[1]);
  return m ? Number(m[1]) : undefined;
}

export interface LdosCubeSetOptions {
  /** Expected grid (n1, n2, n3); checked when given. */
  shape?: number[];
  /** Energies in eV to check against the cube titles (pp.x prints 4 decimals). */
  energiesEv?: ArrayLike<number>;
  /** The set's first cube and its file: every other cube's header must equal it (grid, cell, atoms). */
  first?: { cube: Cube; file: string };
}

/** pp.x writes the header with 6 decimals (Bohr): anything beyond that rounding is another structure. */
const headerTolBohr = 2e-6;

/** What differs between two cube headers (grid, origin, voxel/cell, atoms), or undefined. */
export function cubeHeaderDifference(a: Omit<Cube, 'data'>, b: Omit<Cube, 'data'>): string | undefined {
  const vec = (v: readonly number[]) => `(${v.map((x) => x.toFixed(6)).join(', ')})`;
  const close = (u: readonly number[], v: readonly number[]) => u.every((x, i) => Math.abs(x - v[i]) <= headerTolBohr * Math.max(1, Math.abs(x)));
  if (a.shape.some((n, i) => n !== b.shape[i])) return `grid ${b.shape.join('×')} instead of ${a.shape.join('×')}`;
  if (!close(a.originBohr, b.originBohr)) return `origin ${vec(b.originBohr)} instead of ${vec(a.originBohr)} Bohr`;
  for (let i = 0; i < 3; i++) if (!close(a.voxelBohr[i], b.voxelBohr[i])) return `cell: voxel vector ${i + 1} ${vec(b.voxelBohr[i])} instead of ${vec(a.voxelBohr[i])} Bohr`;
  if (a.atoms.length !== b.atoms.length) return `${b.atoms.length} atoms instead of ${a.atoms.length}`;
  for (let i = 0; i < a.atoms.length; i++) {
    const [p, q] = [a.atoms[i], b.atoms[i]];
    if (p.atomicNumber !== q.atomicNumber) return `atom ${i + 1} has Z = ${q.atomicNumber} instead of ${p.atomicNumber}`;
    if (!close(p.positionBohr, q.positionBohr)) return `atom ${i + 1} at ${vec(q.positionBohr)} instead of ${vec(p.positionBohr)} Bohr`;
  }
  return undefined;
}

/**
 * Read one LDOS cube as an energy slice in MALA units 1/(eV·Å³) (C order, z fastest), checking
 * its grid and, when the title carries it, its energy.
 */
export function readLdosCubeSlice(file: string, energyIndex: number, opts: LdosCubeSetOptions = {}): { cube: Cube; ldosPerEvA3: Float64Array } {
  const cube = readCube(file);
  if (opts.shape && (opts.shape.length !== 3 || opts.shape.some((n, i) => n !== cube.shape[i]))) {
    throw new MalaError(`LDOS cube grid ${cube.shape.join('×')} does not match the expected grid ${opts.shape.join('×')}`, { file, fix: 'use cubes from the same pp.x run as the structure (same FFT grid)' });
  }
  const diff = opts.first && opts.first.cube !== cube ? cubeHeaderDifference(opts.first.cube, cube) : undefined;
  if (diff) {
    throw new MalaError(`LDOS cube ${energyIndex + 1} has another header than the first cube ${opts.first!.file}: ${diff}`, { file, fix: 'use the cubes of one pp.x run (one structure), one per energy' });
  }
  const e = ldosCubeEnergyEv(cube);
  if (e !== undefined && opts.energiesEv) {
    const want = opts.energiesEv[energyIndex];
    if (Math.abs(e - want) > 1e-3) {
      throw new MalaError(`LDOS cube ${energyIndex + 1} is at ${e} eV but the energy grid puts energy index ${energyIndex} at ${want} eV`, { file, fix: 'give the energy grid pp.x used (emin,delta_e,count) with --energy-grid, and all cubes in order' });
    }
  }
  const out = new Float64Array(cube.data.length);
  for (let i = 0; i < out.length; i++) out[i] = cube.data[i] * LDOS_CUBE_TO_PER_EV_A3;
  return { cube, ldosPerEvA3: out };
}

/**
 * Read a whole set of LDOS cubes into MALA's array (points × N_E, energy fastest) in
 * 1/(eV·Å³), float32 like MALA's `.out.npy`. Needs N·N_E·4 bytes; the observables workflow
 * streams cubes one by one instead.
 */
export function readLdosCubes(files: string[], opts: LdosCubeSetOptions = {}): { shape: [number, number, number, number]; ldosPerEvA3: Float32Array; first: Cube } {
  const sorted = sortLdosCubeFiles(files);
  const nE = sorted.length;
  let first: Cube | undefined;
  let out: Float32Array | undefined;
  for (let k = 0; k < nE; k++) {
    const { cube, ldosPerEvA3 } = readLdosCubeSlice(sorted[k], k, { ...opts, shape: opts.shape ?? first?.shape, first: first && { cube: first, file: sorted[0] } });
    if (!first) {
      first = cube;
      out = new Float32Array(cube.data.length * nE);
    }
    const o = out!;
    for (let p = 0; p < ldosPerEvA3.length; p++) o[p * nE + k] = ldosPerEvA3[p];
  }
  if (!first || !out) throw new MalaError('no LDOS cube files given', { fix: 'pass the pp.x LDOS cubes, one per energy' });
  return { shape: [...first.shape, nE] as [number, number, number, number], ldosPerEvA3: out, first };
}

/**
 * Write an LDOS (points × N_E, 1/(eV·Å³)) as pp.x-style cubes `<prefix>NN<suffix>` in 1/(Ry·Bohr³),
 * one per energy, with pp.x's title line. Returns the file names in energy order.
 */
export function writeLdosCubes(
  dir: string,
  ldosPerEvA3: ArrayLike<number>,
  grid: { shape: [number, number, number]; voxelBohr: [number, number, number][]; atoms: CubeAtom[] },
  energiesEv: ArrayLike<number>,
  opts: { prefix?: string; suffix?: string; broadeningEv?: number } = {},
): string[] {
  const nE = energiesEv.length;
  const nPoints = grid.shape[0] * grid.shape[1] * grid.shape[2];
  if (ldosPerEvA3.length !== nPoints * nE) throw new Error(`writeLdosCubes: ${ldosPerEvA3.length} values for ${nPoints} points × ${nE} energies`);
  const digits = Math.max(2, String(nE).length);
  const files: string[] = [];
  const fmt = (v: number) => v.toFixed(4).padStart(8);
  for (let k = 0; k < nE; k++) {
    const data = new Float64Array(nPoints);
    for (let p = 0; p < nPoints; p++) data[p] = ldosPerEvA3[p * nE + k] / LDOS_CUBE_TO_PER_EV_A3;
    const title = `  Energy = ${fmt(energiesEv[k])} eV, broadening = ${fmt(opts.broadeningEv ?? 0)} eV`;
    const file = path.join(dir, `${opts.prefix ?? 'tmp.pp'}${String(k + 1).padStart(digits, '0')}${opts.suffix ?? '_ldos.cube'}`);
    writeCube(file, { comments: [' Cubefile created from PWScf calculation', title], originBohr: [0, 0, 0], shape: grid.shape, voxelBohr: grid.voxelBohr, atoms: grid.atoms, data });
    files.push(file);
  }
  return files;
}
