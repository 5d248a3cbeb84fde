/**
 * Extended XYZ (ASE/extxyz convention): line 1 = atom count, line 2 = key=value pairs with
 * Lattice="a1x a1y a1z a2x ..." (Å), Properties=species:S:1:pos:R:3:..., pbc="T T T"; then one
 * line per atom. Reading takes the last frame (the final structure of a trajectory).
 */
import { MalaError } from '../errors';
import { Atoms, Mat3, Vec3, validateAtoms } from './atoms';
import { labelToSymbol, symbolOf } from './elements';

function fail(file: string, message: string): never {
  throw new MalaError(`malformed extended XYZ file: ${message}`, { file, fix: 'see https://github.com/libAtoms/extxyz for the format; the comment line needs Lattice="..."' });
}

/** key=value pairs of the comment line; values may be "quoted" or {braced}. */
export function parseExtxyzInfo(line: string): Record<string, string> {
  const out: Record<string, string> = {};
  const re = /([A-Za-z_][\w-]*)\s*=\s*("([^"]*)"|\{([^}]*)\}|(\S+))|([A-Za-z_][\w-]*)/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(line))) {
    if (m[6]) out[m[6]] = 'T';
    else out[m[1]] = m[3] ?? m[4] ?? m[5] ?? '';
  }
  return out;
}

interface Frame {
  count: number;
  info: string;
  lines: string[];
}

function frames(text: string, file: string): Frame[] {
  const lines = text.split(/\r?\n/);
  const out: Frame[] = [];
  let i = 0;
  while (i < lines.length) {
    if (!lines[i].trim()) {
      i++;
      continue;
    }
    const count = Number(lines[i].trim());
    if (!Number.isInteger(count) || count < 1) fail(file, `line ${i + 1}: expected the number of atoms, found '${lines[i].trim().slice(0, 40)}'`);
    if (i + 2 + count > lines.length) fail(file, `frame at line ${i + 1} announces ${count} atoms but the file ends first`);
    out.push({ count, info: lines[i + 1], lines: lines.slice(i + 2, i + 2 + count) });
    i += 2 + count;
  }
  if (out.length === 0) fail(file, 'no frames');
  return out;
}

export function parseExtxyz(text: string, file = '<extxyz>', frameIndex = -1): Atoms {
  const all = frames(text, file);
  const idx = frameIndex < 0 ? all.length + frameIndex : frameIndex;
  const frame = all[idx];
  if (!frame) fail(file, `frame ${frameIndex} does not exist (${all.length} frames)`);
  const info = parseExtxyzInfo(frame.info);
  const lattice = (info.Lattice ?? '').trim().split(/\s+/).map(Number);
  if (!info.Lattice) {
    throw new MalaError('the extended XYZ frame has no Lattice', { file, fix: 'descriptors need a periodic cell: add Lattice="a1x a1y a1z a2x a2y a2z a3x a3y a3z" (Å) to the comment line' });
  }
  if (lattice.length !== 9 || lattice.some((x) => !Number.isFinite(x))) fail(file, `Lattice must be 9 numbers, got '${info.Lattice}'`);
  const cell: Mat3 = [lattice.slice(0, 3) as Vec3, lattice.slice(3, 6) as Vec3, lattice.slice(6, 9) as Vec3];
  const pbcTok = (info.pbc ?? 'T T T').trim().split(/\s+/);
  const pbc = [0, 1, 2].map((d) => /^(t|true|1)$/i.test(pbcTok[d] ?? 'T')) as [boolean, boolean, boolean];

  // Properties: name:type:count triples; default species:S:1:pos:R:3
  const props = (info.Properties ?? 'species:S:1:pos:R:3').split(':');
  if (props.length % 3 !== 0) fail(file, `cannot read Properties='${info.Properties}'`);
  let col = 0;
  let speciesCol = -1;
  let zCol = -1;
  let posCol = -1;
  for (let k = 0; k < props.length; k += 3) {
    const [name, , n] = [props[k], props[k + 1], Number(props[k + 2])];
    if (name === 'species') speciesCol = col;
    if (name === 'Z') zCol = col;
    if (name === 'pos') posCol = col;
    col += n;
  }
  if (posCol < 0 || (speciesCol < 0 && zCol < 0)) fail(file, 'Properties must contain pos and species (or Z)');
  const symbols: string[] = [];
  const positions: Vec3[] = [];
  for (const l of frame.lines) {
    const t = l.trim().split(/\s+/);
    if (t.length < col) fail(file, `atom line '${l.trim().slice(0, 60)}' has ${t.length} columns, Properties need ${col}`);
    symbols.push(speciesCol >= 0 ? labelToSymbol(t[speciesCol], file) : symbolOf(Number(t[zCol]), file));
    const p = t.slice(posCol, posCol + 3).map(Number);
    if (p.some((x) => !Number.isFinite(x))) fail(file, `cannot read the position in '${l.trim().slice(0, 60)}'`);
    positions.push(p as Vec3);
  }
  return validateAtoms({ cellAngstrom: cell, positionsAngstrom: positions, symbols, pbc }, file);
}

export function looksLikeExtxyz(text: string): boolean {
  const lines = text.split(/\r?\n/, 3);
  return lines.length >= 2 && /^\s*\d+\s*$/.test(lines[0]) && /Lattice\s*=/.test(lines[1]);
}

const fmt = (x: number): string => (Object.is(x, -0) ? '0' : String(x));

/** One extxyz frame (full double precision). */
export function extxyzText(atoms: Atoms, comment = ''): string {
  const lat = atoms.cellAngstrom.flat().map(fmt).join(' ');
  const pbc = atoms.pbc.map((p) => (p ? 'T' : 'F')).join(' ');
  const extra = comment ? ` comment="${comment.replace(/"/g, "'")}"` : '';
  const out = [String(atoms.symbols.length), `Lattice="${lat}" Properties=species:S:1:pos:R:3 pbc="${pbc}"${extra}`];
  atoms.positionsAngstrom.forEach((p, k) => out.push(`${atoms.symbols[k]} ${fmt(p[0])} ${fmt(p[1])} ${fmt(p[2])}`));
  out.push('');
  return out.join('\n');
}
