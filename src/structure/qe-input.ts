/**
 * Quantum ESPRESSO pw.x input reader: the namelists (&CONTROL, &SYSTEM, ...) and the cards
 * ATOMIC_SPECIES, CELL_PARAMETERS, ATOMIC_POSITIONS. The cell follows QE's latgen conventions
 * for every ibrav of QE 6.7 (0, 1, 2, 3, -3, 4, 5, -5, 6, 7, 8, 9, -9, 91, 10, 11, 12, -12, 13, -13,
 * 14; checked against pw.x's own lattice vectors, fixtures/qe-ibrav) with celldm(1..6) or A, B, C,
 * cosAB, cosAC, cosBC.
 * Also returns the cutoffs, so a user's input yields QE's FFT grid (src/grid/).
 */
import { MalaError } from '../errors';
import { bohrAngstrom } from './units';
import { Atoms, Mat3, Vec3, cartesianFromFractional, norm, validateAtoms } from './atoms';
import { labelToSymbol } from './elements';

export type NamelistValue = number | string | boolean;
/** Namelists by lower-case name; keys lower-case, indexed keys as "celldm(1)". */
export type Namelists = Record<string, Record<string, NamelistValue>>;

export interface QeInput {
  atoms: Atoms;
  namelists: Namelists;
  /** Species label → element and mass (u) and pseudopotential file, from ATOMIC_SPECIES. */
  species: { label: string; symbol: string; massU: number; pseudopotential: string }[];
  /** Per-atom species labels as written (may differ from symbols, e.g. "Fe1"). */
  labels: string[];
  ecutwfcRy?: number;
  /** ecutrho (default 4·ecutwfc, as in QE). */
  ecutrhoRy?: number;
  /** nr1, nr2, nr3 when the input fixes the dense FFT grid. */
  fftGrid?: [number, number, number];
}

const CARDS = ['ATOMIC_SPECIES', 'ATOMIC_POSITIONS', 'CELL_PARAMETERS', 'K_POINTS', 'OCCUPATIONS', 'CONSTRAINTS', 'ATOMIC_FORCES', 'ADDITIONAL_K_POINTS', 'SOLVENTS', 'HUBBARD', 'ATOMIC_VELOCITIES', 'REF_CELL_PARAMETERS'];

function fail(file: string, message: string, fix = 'check the file against the pw.x input description (https://www.quantum-espresso.org/Doc/INPUT_PW.html)'): never {
  throw new MalaError(`malformed QE input: ${message}`, { file, fix });
}

/** Remove a '!' or '#' comment, ignoring those inside quotes. */
function stripComment(line: string): string {
  let q: string | null = null;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (q) {
      if (c === q) q = null;
    } else if (c === "'" || c === '"') q = c;
    else if (c === '!' || c === '#') return line.slice(0, i);
  }
  return line;
}

/** A Fortran number ("1.0d-3", "40", "-.5E2") or undefined. */
export function parseFortranNumber(s: string): number | undefined {
  const t = s.trim().replace(/[dD]/, 'e');
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(t)) return undefined;
  return Number(t);
}

function parseValue(raw: string, file: string, key: string): NamelistValue {
  const v = raw.trim();
  if (/^'.*'$/.test(v) || /^".*"$/.test(v)) return v.slice(1, -1);
  const lv = v.toLowerCase();
  if (/^\.?t(rue)?\.?$/.test(lv)) return true;
  if (/^\.?f(alse)?\.?$/.test(lv)) return false;
  const n = parseFortranNumber(v);
  if (n === undefined) fail(file, `cannot read the value '${v}' of ${key}`);
  return n;
}

/** Split a namelist body into "key = value" assignments (commas or newlines separate them). */
function parseNamelistBody(body: string, name: string, file: string): Record<string, NamelistValue> {
  const out: Record<string, NamelistValue> = {};
  // tokens: key = value, values may be quoted strings containing commas
  const re = /([A-Za-z_][A-Za-z0-9_]*(?:\(\s*\d+(?:\s*,\s*\d+)*\s*\))?)\s*=\s*('[^']*'|"[^"]*"|[^,\s]+)/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(body))) {
    const key = m[1].toLowerCase().replace(/\s+/g, '');
    out[key] = parseValue(m[2], file, key);
  }
  const leftover = body.replace(re, '').replace(/[,\s]/g, '');
  if (leftover.length > 0) fail(file, `cannot read '${leftover.slice(0, 40)}' in namelist &${name}`);
  return out;
}

interface Card {
  name: string;
  option: string;
  lines: string[][];
}

/** Parse namelists and cards. */
export function parseQeInputText(text: string, file: string): { namelists: Namelists; cards: Map<string, Card> } {
  const lines = text.split(/\r?\n/).map(stripComment);
  const namelists: Namelists = {};
  const cards = new Map<string, Card>();
  let i = 0;
  let current: Card | null = null;
  while (i < lines.length) {
    const line = lines[i].trim();
    i++;
    if (!line) continue;
    if (line.startsWith('&')) {
      const name = line.slice(1).split(/\s+/)[0].toLowerCase();
      let body = line.slice(1 + name.length);
      let closed = false;
      // a namelist ends at a line that is "/" (possibly after assignments on the same line)
      const endsHere = (s: string): boolean => /(^|[\s,])\/\s*$/.test(s);
      if (endsHere(body)) {
        body = body.replace(/\/\s*$/, '');
        closed = true;
      }
      while (!closed && i < lines.length) {
        const l = lines[i];
        i++;
        if (endsHere(l.trim())) {
          body += '\n' + l.trim().replace(/\/\s*$/, '');
          closed = true;
        } else body += '\n' + l;
      }
      if (!closed) fail(file, `namelist &${name} is not closed with '/'`);
      namelists[name] = parseNamelistBody(body, name, file);
      current = null;
      continue;
    }
    const word = line.split(/[\s{(]+/)[0].toUpperCase();
    if (CARDS.includes(word)) {
      const optMatch = /^[A-Za-z_]+\s*[{(]?\s*([A-Za-z_]+)?\s*[})]?/.exec(line);
      current = { name: word, option: (optMatch?.[1] ?? '').toLowerCase(), lines: [] };
      cards.set(word, current);
      continue;
    }
    if (line === '/') continue; // stray terminator after cards (seen in ASE-written inputs)
    if (current) current.lines.push(line.split(/\s+/));
    else fail(file, `unexpected line '${line.slice(0, 60)}' outside any namelist or card`);
  }
  if (!namelists.system) fail(file, 'no &SYSTEM namelist');
  return { namelists, cards };
}

function num(v: NamelistValue | undefined, key: string, file: string): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'number') fail(file, `${key} must be a number`);
  return v;
}

/** Lattice vectors (rows, in units of alat) for a Bravais-lattice index, QE latgen conventions. */
export function latticeFromIbrav(ibrav: number, celldm: number[], file = '<input>'): Mat3 {
  const [c4, c5, c6] = celldm.slice(3); // celldm(2) = b/a, (3) = c/a, (4..6) cosines
  const need = (idx: number, what: string): number => {
    const v = celldm[idx - 1];
    if (!(v !== undefined && Number.isFinite(v) && v !== 0)) fail(file, `ibrav=${ibrav} needs celldm(${idx}) (${what})`);
    return v;
  };
  switch (ibrav) {
    case 1:
      return [[1, 0, 0], [0, 1, 0], [0, 0, 1]];
    case 2:
      return [[-0.5, 0, 0.5], [0, 0.5, 0.5], [-0.5, 0.5, 0]];
    case 3:
      return [[0.5, 0.5, 0.5], [-0.5, 0.5, 0.5], [-0.5, -0.5, 0.5]];
    case -3:
      return [[-0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0.5, 0.5, -0.5]];
    case 4: {
      const ca = need(3, 'c/a');
      return [[1, 0, 0], [-0.5, Math.sqrt(3) / 2, 0], [0, 0, ca]];
    }
    case 5: {
      const cg = need(4, 'cos(gamma)');
      if (cg <= -0.5 || cg >= 1) fail(file, 'ibrav=5 needs -1/2 < celldm(4) < 1');
      const tx = Math.sqrt((1 - cg) / 2);
      const ty = Math.sqrt((1 - cg) / 6);
      const tz = Math.sqrt((1 + 2 * cg) / 3);
      return [[tx, -ty, tz], [0, 2 * ty, tz], [-tx, -ty, tz]];
    }
    case -5: {
      // trigonal R with the 3-fold axis along <111>
      const cg = need(4, 'cos(gamma)');
      if (cg <= -0.5 || cg >= 1) fail(file, 'ibrav=-5 needs -1/2 < celldm(4) < 1');
      const ty = Math.sqrt((1 - cg) / 6);
      const tz = Math.sqrt((1 + 2 * cg) / 3);
      const a1 = 1 / Math.sqrt(3);
      const u = a1 * (tz - 2 * Math.sqrt(2) * ty);
      const v = a1 * (tz + Math.sqrt(2) * ty);
      return [[u, v, v], [v, u, v], [v, v, u]];
    }
    case 6: {
      const ca = need(3, 'c/a');
      return [[1, 0, 0], [0, 1, 0], [0, 0, ca]];
    }
    case 7: {
      const ca = need(3, 'c/a');
      return [[0.5, -0.5, ca / 2], [0.5, 0.5, ca / 2], [-0.5, -0.5, ca / 2]];
    }
    case 8: {
      const ba = need(2, 'b/a');
      const ca = need(3, 'c/a');
      return [[1, 0, 0], [0, ba, 0], [0, 0, ca]];
    }
    case 9:
    case -9:
    case 91:
    case 10:
    case 11: {
      const ba = need(2, 'b/a');
      const ca = need(3, 'c/a');
      const [b, c] = [ba / 2, ca / 2];
      if (ibrav === 9) return [[0.5, b, 0], [-0.5, b, 0], [0, 0, ca]]; // C-centred
      if (ibrav === -9) return [[0.5, -b, 0], [0.5, b, 0], [0, 0, ca]];
      if (ibrav === 91) return [[1, 0, 0], [0, b, -c], [0, b, c]]; // A-centred
      if (ibrav === 10) return [[0.5, 0, c], [0.5, b, 0], [0, b, c]]; // face-centred
      return [[0.5, b, c], [-0.5, b, c], [-0.5, -b, c]]; // body-centred
    }
    case 12:
    case 13: {
      // monoclinic, unique axis c: celldm(4) = cos(gamma)
      const ba = need(2, 'b/a');
      const ca = need(3, 'c/a');
      const cg = c4 ?? 0;
      if (!(Math.abs(cg) < 1)) fail(file, `ibrav=${ibrav} needs |celldm(4)| < 1`);
      const a2: [number, number, number] = [ba * cg, ba * Math.sqrt(1 - cg * cg), 0];
      return ibrav === 12 ? [[1, 0, 0], a2, [0, 0, ca]] : [[0.5, 0, -ca / 2], a2, [0.5, 0, ca / 2]];
    }
    case -12:
    case -13: {
      // monoclinic, unique axis b: celldm(5) = cos(beta)
      const ba = need(2, 'b/a');
      const ca = need(3, 'c/a');
      const cb = c5 ?? 0;
      if (!(Math.abs(cb) < 1)) fail(file, `ibrav=${ibrav} needs |celldm(5)| < 1`);
      const a3: [number, number, number] = [ca * cb, 0, ca * Math.sqrt(1 - cb * cb)];
      return ibrav === -12 ? [[1, 0, 0], [0, ba, 0], a3] : [[0.5, ba / 2, 0], [-0.5, ba / 2, 0], a3];
    }
    case 14: {
      const ba = need(2, 'b/a');
      const ca = need(3, 'c/a');
      const [cosA, cosB, cosG] = [c4 ?? 0, c5 ?? 0, c6 ?? 0];
      const sinG = Math.sqrt(1 - cosG * cosG);
      const t = 1 + 2 * cosA * cosB * cosG - cosA * cosA - cosB * cosB - cosG * cosG;
      if (!(sinG > 0) || !(t > 0)) fail(file, 'ibrav=14: the angles celldm(4..6) do not form a cell');
      return [
        [1, 0, 0],
        [ba * cosG, ba * sinG, 0],
        [ca * cosB, (ca * (cosA - cosB * cosG)) / sinG, (ca * Math.sqrt(t)) / sinG],
      ];
    }
    default:
      fail(file, `ibrav=${ibrav} is not a Bravais-lattice index of QE`, 'use ibrav = 0 with CELL_PARAMETERS, or one of 1, 2, 3, -3, 4, 5, -5, 6, 7, 8, 9, -9, 91, 10, 11, 12, -12, 13, -13, 14');
  }
}

function cardNumbers(card: Card, count: number, from: number, file: string): number[][] {
  if (card.lines.length < count) fail(file, `${card.name} needs ${count} lines, found ${card.lines.length}`);
  return card.lines.slice(0, count).map((toks) => {
    const vals = toks.slice(from, from + 3).map((t) => parseFortranNumber(t));
    if (vals.length < 3 || vals.some((v) => v === undefined)) fail(file, `${card.name}: cannot read '${toks.join(' ')}'`);
    return vals as number[];
  });
}

/** Read a pw.x input from its text. */
export function parseQeInput(text: string, file = '<QE input>'): QeInput {
  const { namelists, cards } = parseQeInputText(text, file);
  const sys = namelists.system;
  const ibrav = num(sys.ibrav, 'ibrav', file);
  if (ibrav === undefined) fail(file, 'ibrav is missing in &SYSTEM');
  const nat = num(sys.nat, 'nat', file);
  if (nat === undefined || !Number.isInteger(nat) || nat < 1) fail(file, 'nat must be a positive integer in &SYSTEM');

  // alat in Å: celldm(1) (Bohr) or A (Å), QE forbids both
  const celldm: number[] = [];
  for (let k = 1; k <= 6; k++) celldm.push(num(sys[`celldm(${k})`], `celldm(${k})`, file) ?? 0);
  const A = num(sys.a, 'A', file);
  if (A !== undefined && celldm[0] !== 0) fail(file, 'both celldm(1) and A are given', 'give either celldm(1..6) (Bohr) or A, B, C (Å), not both');
  if (A !== undefined) {
    // QE abc2celldm: A..C, cosines → celldm
    const B = num(sys.b, 'B', file) ?? 0;
    const C = num(sys.c, 'C', file) ?? 0;
    celldm[0] = A / bohrAngstrom;
    celldm[1] = B / A;
    celldm[2] = C / A;
    const cosAB = num(sys.cosab, 'cosAB', file) ?? 0;
    const cosAC = num(sys.cosac, 'cosAC', file) ?? 0;
    const cosBC = num(sys.cosbc, 'cosBC', file) ?? 0;
    if (ibrav === 14) {
      celldm[3] = cosBC;
      celldm[4] = cosAC;
      celldm[5] = cosAB;
    } else if (ibrav === -12 || ibrav === -13) celldm[4] = cosAC;
    else celldm[3] = cosAB;
  }
  let alatAngstrom = celldm[0] * bohrAngstrom;

  let cell: Mat3;
  if (ibrav === 0) {
    const card = cards.get('CELL_PARAMETERS');
    if (!card) fail(file, 'ibrav = 0 needs a CELL_PARAMETERS card');
    const rows = cardNumbers(card, 3, 0, file) as Mat3;
    let unit = card.option;
    if (unit === '') unit = alatAngstrom > 0 ? 'alat' : 'bohr'; // QE's deprecated default
    if (unit === 'angstrom') cell = rows;
    else if (unit === 'bohr') cell = rows.map((r) => r.map((x) => x * bohrAngstrom)) as Mat3;
    else if (unit === 'alat') {
      if (!(alatAngstrom > 0)) fail(file, 'CELL_PARAMETERS alat needs celldm(1) or A in &SYSTEM');
      cell = rows.map((r) => r.map((x) => x * alatAngstrom)) as Mat3;
    } else fail(file, `unknown CELL_PARAMETERS unit '${card.option}'`, 'use CELL_PARAMETERS angstrom, bohr or alat');
    // without celldm(1)/A, QE takes alat = |a1| (matters for ATOMIC_POSITIONS alat)
    if (!(alatAngstrom > 0)) alatAngstrom = norm(cell[0]);
  } else {
    if (!(alatAngstrom > 0)) fail(file, `ibrav=${ibrav} needs celldm(1) or A in &SYSTEM`);
    cell = latticeFromIbrav(ibrav, celldm, file).map((r) => r.map((x) => x * alatAngstrom)) as Mat3;
  }

  const speciesCard = cards.get('ATOMIC_SPECIES');
  if (!speciesCard) fail(file, 'no ATOMIC_SPECIES card');
  const species = speciesCard.lines.map((t) => {
    const m = parseFortranNumber(t[1] ?? '');
    if (t.length < 2 || m === undefined) fail(file, `ATOMIC_SPECIES: cannot read '${t.join(' ')}'`);
    return { label: t[0], symbol: labelToSymbol(t[0], file), massU: m, pseudopotential: t[2] ?? '' };
  });
  const ntyp = num(sys.ntyp, 'ntyp', file);
  if (ntyp !== undefined && species.length < ntyp) fail(file, `ntyp = ${ntyp} but ATOMIC_SPECIES lists ${species.length} species`);

  const posCard = cards.get('ATOMIC_POSITIONS');
  if (!posCard) fail(file, 'no ATOMIC_POSITIONS card');
  // more lines than nat: pw.x reads nat of them and stops at the next as an unknown card; taking
  // the first nat silently dropped an atom (issue 14)
  if (posCard.lines.length !== nat) fail(file, `nat = ${nat} but ATOMIC_POSITIONS has ${posCard.lines.length} lines`, `set nat to the number of atoms listed (${posCard.lines.length}), or list ${nat}`);
  const labels = posCard.lines.slice(0, nat).map((t) => t[0]);
  const bySpecies = new Map(species.map((s) => [s.label, s.symbol]));
  const symbols = labels.map((l) => {
    const s = bySpecies.get(l);
    if (!s) fail(file, `atom species '${l}' is not listed in ATOMIC_SPECIES`);
    return s;
  });
  const raw = cardNumbers(posCard, nat, 1, file) as Vec3[];
  const unit = posCard.option || 'alat';
  let positions: Vec3[];
  if (unit === 'angstrom') positions = raw;
  else if (unit === 'bohr') positions = raw.map((r) => r.map((x) => x * bohrAngstrom) as Vec3);
  else if (unit === 'alat') positions = raw.map((r) => r.map((x) => x * alatAngstrom) as Vec3);
  else if (unit === 'crystal') positions = cartesianFromFractional(raw, cell);
  else fail(file, `unsupported ATOMIC_POSITIONS unit '${posCard.option}'`, 'use ATOMIC_POSITIONS angstrom, bohr, alat or crystal');

  const atoms = validateAtoms({ cellAngstrom: cell, positionsAngstrom: positions, symbols, pbc: [true, true, true] }, file);
  const ecutwfcRy = num(sys.ecutwfc, 'ecutwfc', file);
  const ecutrhoRy = num(sys.ecutrho, 'ecutrho', file) ?? (ecutwfcRy !== undefined ? 4 * ecutwfcRy : undefined);
  const nr = [sys.nr1, sys.nr2, sys.nr3].map((v, k) => num(v, `nr${k + 1}`, file));
  const fftGrid = nr.every((v) => v !== undefined && v > 0) ? (nr as [number, number, number]) : undefined;
  return { atoms, namelists, species, labels, ecutwfcRy, ecutrhoRy, fftGrid };
}

/** Whether a text looks like a pw.x input (has &SYSTEM and ATOMIC_POSITIONS). */
export function looksLikeQeInput(text: string): boolean {
  return /^\s*&system\b/im.test(text) && /^\s*ATOMIC_POSITIONS/im.test(text);
}
