/**
 * pw.x inputs from a template: a complete, runnable pw.x input whose structure (nat,
 * CELL_PARAMETERS, ATOMIC_POSITIONS) is replaced by an Atoms, and whose namelist values can be
 * overridden (prefix, outdir, pseudo_dir). Text-level edits, so everything else the user wrote
 * (comments, exotic keys) passes through to pw.x unchanged.
 */
import { MalaError } from '../errors';
import { Atoms } from '../structure/atoms';
import { parseQeInput, NamelistValue } from '../structure/qe-input';

/** Fortran literal for a namelist value. */
export function fortranLiteral(v: NamelistValue): string {
  if (typeof v === 'boolean') return v ? '.true.' : '.false.';
  if (typeof v === 'number') {
    if (Number.isInteger(v)) return String(v);
    return String(v).replace('e', 'd');
  }
  return `'${v.replace(/'/g, "''")}'`;
}

interface Block {
  start: number;
  end: number; // exclusive line index
}

function namelistBlock(lines: string[], name: string): Block | undefined {
  const re = new RegExp(`^\\s*&${name}\\b`, 'i');
  const start = lines.findIndex((l) => re.test(l));
  if (start < 0) return undefined;
  for (let i = start; i < lines.length; i++) {
    // a line that is just "/" (possibly with a comment) ends the namelist
    if (/^\s*\/\s*(!.*)?$/.test(lines[i]) || (i > start && /^\s*&/.test(lines[i]))) return { start, end: i };
  }
  return undefined;
}

/**
 * Set `key = value` in a namelist: replaces every existing assignment of the key (also inside a
 * comma-separated line) and otherwise appends a line before the closing '/'. Creates the
 * namelist after the last existing one if absent.
 */
export function setNamelistValue(text: string, namelist: string, key: string, value: NamelistValue | undefined): string {
  const lines = text.split(/\r?\n/);
  let block = namelistBlock(lines, namelist);
  if (!block) {
    if (value === undefined) return text;
    // new namelists go before the first card (after the others)
    const firstCard = lines.findIndex((l) => /^\s*[A-Z_]+(\s|$|\{|\()/.test(l) && !/^\s*&/.test(l) && !/^\s*[!#]/.test(l) && /^(ATOMIC_SPECIES|ATOMIC_POSITIONS|K_POINTS|CELL_PARAMETERS)/i.test(l.trim()));
    const at = firstCard < 0 ? lines.length : firstCard;
    lines.splice(at, 0, `&${namelist.toUpperCase()}`, '/');
    block = { start: at, end: at + 1 };
  }
  const keyRe = new RegExp(`(^|[\\s,])${key.replace(/[()]/g, (c) => `\\${c}`)}\\s*=\\s*('[^']*'|"[^"]*"|[^,!\\s]+)\\s*,?`, 'i');
  let replaced = false;
  for (let i = block.start; i < block.end; i++) {
    const code = lines[i].split('!')[0];
    if (keyRe.test(code)) {
      const rest = lines[i].slice(code.length);
      if (replaced || value === undefined) lines[i] = code.replace(keyRe, '$1').replace(/^\s*,?\s*$/, '') + rest;
      else lines[i] = code.replace(keyRe, `$1${key} = ${fortranLiteral(value)},`).replace(/,\s*$/, '') + rest;
      replaced = true;
    }
  }
  if (!replaced && value !== undefined) lines.splice(block.end, 0, `  ${key} = ${fortranLiteral(value)}`);
  return lines.join('\n');
}

const CARD_NAMES = ['ATOMIC_SPECIES', 'ATOMIC_POSITIONS', 'CELL_PARAMETERS', 'K_POINTS', 'OCCUPATIONS', 'CONSTRAINTS', 'ATOMIC_FORCES', 'ADDITIONAL_K_POINTS', 'HUBBARD', 'ATOMIC_VELOCITIES'];

/** Replace a card (header + body, up to the next card or namelist) with new lines. */
export function replaceCard(text: string, card: string, newLines: string[]): string {
  const lines = text.split(/\r?\n/);
  const isHeader = (l: string): boolean => CARD_NAMES.some((c) => new RegExp(`^\\s*${c}\\b`, 'i').test(l)) || /^\s*&/.test(l);
  const start = lines.findIndex((l) => new RegExp(`^\\s*${card}\\b`, 'i').test(l));
  if (start < 0) return `${text.replace(/\s*$/, '')}\n${newLines.join('\n')}\n`;
  let end = start + 1;
  while (end < lines.length && !isHeader(lines[end])) end++;
  lines.splice(start, end - start, ...newLines);
  return lines.join('\n');
}

export interface TemplateOptions {
  /** Monkhorst–Pack grid to write instead of the template's (e.g. scaled down for a supercell). */
  kpoints?: [number, number, number];
  /** nbnd to set in &SYSTEM. */
  nbnd?: number;
  /** Comment line put at the top (provenance). */
  comment?: string;
}

const fmt = (x: number): string => x.toFixed(10).padStart(16);

/**
 * A pw.x input for `atoms` from a template input: the template must use ibrav = 0 and list every
 * species of `atoms` in ATOMIC_SPECIES; nat, the cell and the positions (Å) are replaced.
 */
export function qeInputFromTemplate(template: string, atoms: Atoms, templateFile = '<template>', opts: TemplateOptions = {}): string {
  const parsed = parseQeInput(template, templateFile);
  const ibrav = parsed.namelists.system?.ibrav;
  if (ibrav !== 0) {
    throw new MalaError(`the QE template uses ibrav = ${ibrav}; structures can only be put into an ibrav = 0 template`, { file: templateFile, fix: "set ibrav = 0 in &SYSTEM and give CELL_PARAMETERS angstrom" });
  }
  const labelOf = new Map(parsed.species.map((s) => [s.symbol, s.label]));
  for (const s of new Set(atoms.symbols)) {
    if (!labelOf.has(s)) throw new MalaError(`the QE template has no ATOMIC_SPECIES entry for ${s}`, { file: templateFile, fix: `add a line "${s} <mass> <pseudopotential>.UPF" to ATOMIC_SPECIES` });
  }
  let text = template;
  text = setNamelistValue(text, 'system', 'nat', atoms.symbols.length);
  for (const k of ['celldm(1)', 'celldm(2)', 'celldm(3)', 'celldm(4)', 'celldm(5)', 'celldm(6)', 'A', 'B', 'C', 'cosAB', 'cosAC', 'cosBC']) text = setNamelistValue(text, 'system', k, undefined);
  text = replaceCard(text, 'CELL_PARAMETERS', ['CELL_PARAMETERS angstrom', ...atoms.cellAngstrom.map((r) => r.map(fmt).join(''))]);
  text = replaceCard(text, 'ATOMIC_POSITIONS', [
    'ATOMIC_POSITIONS angstrom',
    ...atoms.positionsAngstrom.map((p, i) => `${labelOf.get(atoms.symbols[i])!.padEnd(4)}${p.map(fmt).join('')}`),
  ]);
  if (opts.nbnd !== undefined) text = setNamelistValue(text, 'system', 'nbnd', opts.nbnd);
  if (opts.kpoints) {
    const k = opts.kpoints;
    if (k.some((n) => !Number.isInteger(n) || n < 1)) throw new MalaError(`invalid k-point grid ${k.join('x')}`, { fix: 'give three positive integers' });
    text = replaceCard(text, 'K_POINTS', ['K_POINTS automatic', `${k[0]} ${k[1]} ${k[2]} 0 0 0`]);
  }
  if (opts.comment) text = `! ${opts.comment}\n${text}`;
  // check the result parses to the structure we meant
  const back = parseQeInput(text, templateFile);
  if (back.atoms.symbols.length !== atoms.symbols.length) throw new Error('internal: template rewrite lost atoms');
  return text.endsWith('\n') ? text : `${text}\n`;
}

/** The Monkhorst–Pack grid of an input's `K_POINTS automatic` card, if it has one. */
export function automaticKpoints(text: string): [number, number, number] | undefined {
  const lines = text.split(/\r?\n/);
  const i = lines.findIndex((l) => /^\s*K_POINTS\s*[({]?\s*automatic/i.test(l));
  if (i < 0 || i + 1 >= lines.length) return undefined;
  const n = lines[i + 1].trim().split(/\s+/).slice(0, 3).map(Number);
  return n.length === 3 && n.every((x) => Number.isInteger(x) && x > 0) ? (n as [number, number, number]) : undefined;
}
