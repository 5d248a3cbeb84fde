/**
 * LAMMPS data files (read and write) and LAMMPS text dumps (read).
 *
 * Read: orthogonal, restricted-triclinic (xy xz yz) and general-triclinic (avec/bvec/cvec) boxes;
 * atom styles atomic, charge, molecular/bond/angle, full; image flags. LAMMPS knows types, not
 * elements: a type's element comes from the Masses comment ("1 9.012 # Be", as ASE and we write
 * it), else from `typeElements`, else from a unique match of its mass to an element.
 *
 * Write: atom style atomic, types in alphabetical element order (MALA's convention), cell
 * converted to LAMMPS' restricted-triclinic frame (a1 ∥ x, a2 in the xy plane); fractional
 * coordinates are kept exactly, so grid point (i,j,k) means the same place in both frames.
 */
import { MalaError } from '../errors';
import { Atoms, Mat3, Vec3, cartesianFromFractional, dot, fractionalPositions, norm, speciesOf, validateAtoms } from './atoms';
import { atomicMassU, elementSymbols, isElement } from './elements';

export interface LammpsReadOptions {
  /** Element of each atom type, type 1 first (overrides Masses comments and masses). */
  typeElements?: string[];
}

function fail(file: string, message: string, fix = 'check the file against the LAMMPS read_data documentation'): never {
  throw new MalaError(`malformed LAMMPS data file: ${message}`, { file, fix });
}

const SECTIONS = new Set([
  'Atoms', 'Velocities', 'Masses', 'Ellipsoids', 'Lines', 'Triangles', 'Bodies', 'Bonds', 'Angles', 'Dihedrals', 'Impropers',
  'Pair Coeffs', 'PairIJ Coeffs', 'Bond Coeffs', 'Angle Coeffs', 'Dihedral Coeffs', 'Improper Coeffs',
  'BondBond Coeffs', 'BondAngle Coeffs', 'MiddleBondTorsion Coeffs', 'EndBondTorsion Coeffs', 'AngleTorsion Coeffs',
  'AngleAngleTorsion Coeffs', 'BondBond13 Coeffs', 'AngleAngle Coeffs',
]);

/** Element of each type: explicit list, Masses comment, or unique mass match (±0.01 u). */
function resolveTypeElements(ntypes: number, masses: Map<number, { massU: number; comment: string }>, opts: LammpsReadOptions, file: string): string[] {
  if (opts.typeElements) {
    if (opts.typeElements.length < ntypes) {
      throw new MalaError(`${ntypes} atom types but only ${opts.typeElements.length} elements given`, { file, fix: 'give one element per atom type, type 1 first' });
    }
    for (const e of opts.typeElements) if (!isElement(e)) throw new MalaError(`unknown element '${e}'`, { file, fix: 'use chemical symbols such as H, Be, Al' });
    return opts.typeElements.slice(0, ntypes);
  }
  const out: string[] = [];
  for (let t = 1; t <= ntypes; t++) {
    const m = masses.get(t);
    const fromComment = m?.comment.split(/\s+/).find((w) => isElement(w));
    if (fromComment) {
      out.push(fromComment);
      continue;
    }
    if (m) {
      const hits = elementSymbols.filter((s) => Math.abs(atomicMassU(s) - m.massU) < 0.01);
      if (hits.length === 1) {
        out.push(hits[0]);
        continue;
      }
    }
    throw new MalaError(`cannot tell the element of atom type ${t}`, {
      file,
      fix: 'name it in the Masses section ("1 9.0121831 # Be") or pass the elements of the types (e.g. --elements Be,H)',
    });
  }
  return out;
}

/** Atom style → column indices of type and x (0-based, after the id). */
function styleColumns(style: string, ncols: number, file: string): { type: number; x: number } {
  switch (style) {
    case 'atomic':
      return { type: 1, x: 2 };
    case 'charge':
      return { type: 1, x: 3 };
    case 'molecular':
    case 'bond':
    case 'angle':
      return { type: 2, x: 3 };
    case 'full':
      return { type: 2, x: 4 };
    case '':
      if (ncols === 5 || ncols === 8) return { type: 1, x: 2 };
      if (ncols === 7 || ncols === 10) return { type: 2, x: 4 };
      return fail(file, `cannot tell the atom style from ${ncols} columns`, 'add the style after the section name: "Atoms # atomic"');
    default:
      return fail(file, `atom style '${style}' is not supported`, 'use atom style atomic, charge, molecular, bond, angle or full');
  }
}

export function parseLammpsData(text: string, file = '<LAMMPS data>', opts: LammpsReadOptions = {}): Atoms {
  const lines = text.split(/\r?\n/);
  let natoms: number | undefined;
  let ntypes: number | undefined;
  const lo = [0, 0, 0];
  const hi: (number | undefined)[] = [undefined, undefined, undefined];
  let tilt: Vec3 = [0, 0, 0];
  let general: Vec3[] | undefined;
  let origin: Vec3 | undefined;
  let i = 1; // line 1 is a comment
  for (; i < lines.length; i++) {
    const raw = lines[i];
    const l = raw.replace(/#.*/, '').trim();
    if (!l) continue;
    if (SECTIONS.has(l)) break;
    const t = l.split(/\s+/);
    const n = t.map(Number);
    let m: RegExpExecArray | null;
    if (/\batoms$/.test(l)) natoms = n[0];
    else if (/\batom types$/.test(l)) ntypes = n[0];
    else if ((m = /^(\S+)\s+(\S+)\s+([xyz])lo\s+\3hi$/.exec(l))) {
      const d = 'xyz'.indexOf(m[3]);
      lo[d] = Number(m[1]);
      hi[d] = Number(m[2]);
    } else if (/xy\s+xz\s+yz$/.test(l)) tilt = [n[0], n[1], n[2]];
    else if ((m = /^(\S+)\s+(\S+)\s+(\S+)\s+([abc])vec$/.exec(l))) {
      general ??= [];
      general['abc'.indexOf(m[4])] = [Number(m[1]), Number(m[2]), Number(m[3])];
    } else if (/abc origin$/.test(l)) origin = [n[0], n[1], n[2]];
    // other header lines (bonds, extra/... per atom, ellipsoids) do not matter here
  }
  if (natoms === undefined || !Number.isInteger(natoms)) fail(file, 'no "N atoms" line in the header');
  if (ntypes === undefined || !Number.isInteger(ntypes)) fail(file, 'no "N atom types" line in the header');
  let cell: Mat3;
  let shift: Vec3;
  if (general) {
    if (general.length !== 3 || general.some((v) => !v || v.some((x) => !Number.isFinite(x)))) fail(file, 'avec, bvec and cvec must all be given');
    cell = general as Mat3;
    shift = origin ?? [0, 0, 0];
  } else {
    if (hi.some((h) => h === undefined)) fail(file, 'the box needs xlo xhi, ylo yhi and zlo zhi lines');
    const L = hi.map((h, d) => (h as number) - lo[d]);
    cell = [
      [L[0], 0, 0],
      [tilt[0], L[1], 0],
      [tilt[1], tilt[2], L[2]],
    ];
    shift = lo as Vec3;
  }
  if ([...cell.flat(), ...shift].some((x) => !Number.isFinite(x))) fail(file, 'cannot read the box');

  const masses = new Map<number, { massU: number; comment: string }>();
  let atomLines: string[] | undefined;
  let style = '';
  while (i < lines.length) {
    const header = lines[i].trim();
    const name = header.replace(/#.*/, '').trim();
    i++;
    if (!name) continue;
    if (!SECTIONS.has(name)) fail(file, `unexpected line '${header.slice(0, 60)}'`);
    const body: string[] = [];
    // skip the blank line after the header, then read until the next blank line
    while (i < lines.length && !lines[i].trim()) i++;
    while (i < lines.length && lines[i].trim()) body.push(lines[i++]);
    if (name === 'Masses') {
      for (const b of body) {
        const [data, comment = ''] = b.split('#');
        const t = data.trim().split(/\s+/);
        masses.set(Number(t[0]), { massU: Number(t[1]), comment: comment.trim() });
      }
    } else if (name === 'Atoms') {
      atomLines = body;
      style = (/#\s*(\S+)/.exec(header)?.[1] ?? '').toLowerCase();
    }
  }
  if (!atomLines) fail(file, 'no Atoms section');
  if (atomLines.length !== natoms) fail(file, `the header says ${natoms} atoms but the Atoms section has ${atomLines.length} lines`);
  const typeElements = resolveTypeElements(ntypes, masses, opts, file);
  const rows = atomLines.map((l) => l.replace(/#.*/, '').trim().split(/\s+/).map(Number));
  const cols = styleColumns(style, rows[0]?.length ?? 0, file);
  const atoms = rows
    .map((r, k) => {
      if (r.some((x) => !Number.isFinite(x)) || r.length < cols.x + 3) fail(file, `cannot read atom line '${atomLines![k].trim()}'`);
      const type = r[cols.type];
      if (!Number.isInteger(type) || type < 1 || type > ntypes!) fail(file, `atom type ${type} outside 1..${ntypes}`);
      let p: Vec3 = [r[cols.x] - shift[0], r[cols.x + 1] - shift[1], r[cols.x + 2] - shift[2]];
      const img = r.slice(cols.x + 3, cols.x + 6);
      if (img.length === 3) p = [0, 1, 2].map((d) => p[d] + img[0] * cell[0][d] + img[1] * cell[1][d] + img[2] * cell[2][d]) as Vec3;
      return { id: r[0], symbol: typeElements[type - 1], p };
    })
    .sort((a, b) => a.id - b.id);
  return validateAtoms({ cellAngstrom: cell, positionsAngstrom: atoms.map((a) => a.p), symbols: atoms.map((a) => a.symbol), pbc: [true, true, true] }, file);
}

export function looksLikeLammpsData(text: string): boolean {
  const head = text.slice(0, 20000);
  return /^\s*\d+\s+atoms\s*$/m.test(head) && (/\bxlo\s+xhi\b/.test(head) || /\bavec\b/.test(head));
}

/**
 * The cell in LAMMPS' restricted-triclinic form (rows (lx,0,0), (xy,ly,0), (xz,yz,lz), positive
 * diagonal). A cell already of that form is returned unchanged (bit for bit); a left-handed cell
 * comes out mirrored, which leaves bispectrum descriptors unchanged (they are O(3) invariant).
 */
export function restrictedTriclinic(cell: Mat3): Mat3 {
  const [a, b, c] = cell;
  if (a[1] === 0 && a[2] === 0 && b[2] === 0 && a[0] > 0 && b[1] > 0 && c[2] > 0) return cell;
  const ax = norm(a);
  const bx = dot(b, a) / ax;
  const by = Math.sqrt(Math.max(dot(b, b) - bx * bx, 0));
  const cx = dot(c, a) / ax;
  const cy = (dot(b, c) - bx * cx) / by;
  const cz = Math.sqrt(Math.max(dot(c, c) - cx * cx - cy * cy, 0));
  return [
    [ax, 0, 0],
    [bx, by, 0],
    [cx, cy, cz],
  ];
}

/** The same structure in LAMMPS' frame: restricted-triclinic cell, same fractional coordinates. */
export function toLammpsFrame(atoms: Atoms): Atoms {
  const cell = restrictedTriclinic(atoms.cellAngstrom);
  if (cell === atoms.cellAngstrom) return atoms;
  return { ...atoms, cellAngstrom: cell, positionsAngstrom: cartesianFromFractional(fractionalPositions(atoms), cell) };
}

const fmt = (x: number): string => (Object.is(x, -0) ? '0' : String(x));

/**
 * LAMMPS data text (atom style atomic). `species` fixes the type order (default: alphabetical);
 * returns it too.
 */
export function lammpsDataText(atoms: Atoms, species: string[] = speciesOf(atoms), comment = 'written by mala-ts'): string {
  const a = toLammpsFrame(atoms);
  const [[lx], [xy, ly], [xz, yz, lz]] = a.cellAngstrom;
  const typeOf = new Map(species.map((s, k) => [s, k + 1]));
  for (const s of atoms.symbols) if (!typeOf.has(s)) throw new MalaError(`element ${s} is missing from the species order ${species.join(',')}`);
  const out: string[] = [
    `${comment.replace(/\n/g, ' ')} (units metal, atom style atomic)`,
    '',
    `${atoms.symbols.length} atoms`,
    `${species.length} atom types`,
    '',
    `0 ${fmt(lx)} xlo xhi`,
    `0 ${fmt(ly)} ylo yhi`,
    `0 ${fmt(lz)} zlo zhi`,
  ];
  if (xy !== 0 || xz !== 0 || yz !== 0) out.push(`${fmt(xy)} ${fmt(xz)} ${fmt(yz)} xy xz yz`);
  out.push('', 'Masses', '');
  species.forEach((s, k) => out.push(`${k + 1} ${atomicMassU(s)} # ${s}`));
  out.push('', 'Atoms # atomic', '');
  a.positionsAngstrom.forEach((p, k) => out.push(`${k + 1} ${typeOf.get(atoms.symbols[k])} ${fmt(p[0])} ${fmt(p[1])} ${fmt(p[2])}`));
  out.push('');
  return out.join('\n');
}

/** Read the last frame of a LAMMPS text dump (`dump atom` / `dump custom` with x y z, xs ys zs or xu yu zu). */
export function parseLammpsDump(text: string, file = '<LAMMPS dump>', opts: LammpsReadOptions = {}): Atoms {
  const start = text.lastIndexOf('ITEM: TIMESTEP');
  if (start < 0) fail(file, 'no "ITEM: TIMESTEP" in the dump');
  const lines = text.slice(start).split(/\r?\n/);
  let natoms: number | undefined;
  let cell: Mat3 | undefined;
  let shift: Vec3 = [0, 0, 0];
  let i = 0;
  let cols: string[] | undefined;
  for (; i < lines.length; i++) {
    const l = lines[i];
    if (l.startsWith('ITEM: NUMBER OF ATOMS')) natoms = Number(lines[++i]);
    else if (l.startsWith('ITEM: BOX BOUNDS')) {
      const b = [1, 2, 3].map((k) => lines[i + k].trim().split(/\s+/).map(Number));
      const triclinic = /xy\s+xz\s+yz/.test(l);
      const [xy, xz, yz] = triclinic ? [b[0][2], b[1][2], b[2][2]] : [0, 0, 0];
      // dump bounds are the bounding box of the tilted cell; undo that (LAMMPS howto triclinic)
      const xlo = b[0][0] - Math.min(0, xy, xz, xy + xz);
      const xhi = b[0][1] - Math.max(0, xy, xz, xy + xz);
      const ylo = b[1][0] - Math.min(0, yz);
      const yhi = b[1][1] - Math.max(0, yz);
      cell = [
        [xhi - xlo, 0, 0],
        [xy, yhi - ylo, 0],
        [xz, yz, b[2][1] - b[2][0]],
      ];
      shift = [xlo, ylo, b[2][0]];
      i += 3;
    } else if (l.startsWith('ITEM: ATOMS')) {
      cols = l.slice('ITEM: ATOMS'.length).trim().split(/\s+/);
      i++;
      break;
    }
  }
  if (natoms === undefined || !cell || !cols) fail(file, 'the last frame lacks NUMBER OF ATOMS, BOX BOUNDS or ATOMS', 'give a complete LAMMPS text dump');
  const col = (n: string): number => cols!.indexOf(n);
  const kind = ['x', 'xu', 'xs', 'xsu'].find((k) => col(k) >= 0);
  if (!kind) fail(file, 'the dump has no x/xu/xs columns', 'dump with "dump custom ... id type x y z"');
  const ix = col(kind);
  const names = kind.startsWith('xs') ? ['ys', 'zs'].map((n) => n + kind.slice(2)) : ['y', 'z'].map((n) => n + kind.slice(1));
  const [iy, iz] = names.map(col);
  const ie = col('element');
  const it = col('type');
  let typeElements: string[] | undefined = opts.typeElements;
  const rows = lines.slice(i, i + natoms).map((l) => l.trim().split(/\s+/));
  if (rows.length < natoms || rows.some((r) => r.length < cols!.length)) fail(file, 'the last frame is incomplete', 'give a complete LAMMPS text dump');
  const symbols = rows.map((r) => {
    if (ie >= 0 && !opts.typeElements) return r[ie];
    if (it < 0 || !typeElements) {
      throw new MalaError('the dump does not name elements', { file, fix: 'dump an "element" column (dump_modify element ...) or pass the elements of the types (e.g. --elements Be,H)' });
    }
    return typeElements[Number(r[it]) - 1] ?? fail(file, `atom type ${r[it]} has no element`);
  });
  typeElements = undefined;
  const raw = rows.map((r) => [Number(r[ix]), Number(r[iy]), Number(r[iz])] as Vec3);
  const positions = kind.startsWith('xs') ? cartesianFromFractional(raw, cell) : raw.map((p) => [p[0] - shift[0], p[1] - shift[1], p[2] - shift[2]] as Vec3);
  const ids = col('id') >= 0 ? rows.map((r) => Number(r[col('id')])) : rows.map((_, k) => k);
  const order = ids.map((_, k) => k).sort((a, b) => ids[a] - ids[b]);
  return validateAtoms(
    { cellAngstrom: cell, positionsAngstrom: order.map((k) => positions[k]), symbols: order.map((k) => symbols[k]), pbc: [true, true, true] },
    file,
  );
}

export function looksLikeLammpsDump(text: string): boolean {
  return text.slice(0, 200).includes('ITEM: TIMESTEP');
}
