/**
 * One entry point for structure files: `readStructure(file)` picks the reader by extension, and
 * by content when the extension says nothing (or lies: QE outputs are often *.log). Writers by
 * format name or extension.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { checkInputFile, maxTextInputBytes } from '../io/input-file';
import { MalaError } from '../errors';
import { writeFileAtomic } from '../io/atomic-write';
import { Atoms } from './atoms';
import { extxyzText, looksLikeExtxyz, parseExtxyz } from './extxyz';
import { lammpsDataText, looksLikeLammpsData, looksLikeLammpsDump, parseLammpsData, parseLammpsDump } from './lammps-data';
import { QeInput, looksLikeQeInput, parseQeInput } from './qe-input';
import { QeOutput, looksLikeQeOutput, parseQeOutput } from './qe-output';

export type StructureFormat = 'qe-in' | 'qe-out' | 'lammps-data' | 'lammps-dump' | 'extxyz';

export interface ReadOptions {
  /** Force a format instead of detecting it. */
  format?: StructureFormat;
  /** LAMMPS data/dump: element of each atom type, type 1 first. */
  typeElements?: string[];
}

export interface StructureRead {
  atoms: Atoms;
  format: StructureFormat;
  file: string;
  /** Everything else the QE reader found (cutoffs, FFT grid, energies...). */
  qeInput?: QeInput;
  qeOutput?: QeOutput;
}

interface FormatEntry {
  format: StructureFormat;
  description: string;
  extensions: string[];
  sniff: (text: string) => boolean;
  read: (text: string, file: string, opts: ReadOptions) => Omit<StructureRead, 'format' | 'file'>;
}

const FORMATS: FormatEntry[] = [
  {
    format: 'qe-out',
    description: 'Quantum ESPRESSO pw.x output',
    extensions: ['.out', '.pwo', '.log'],
    sniff: looksLikeQeOutput,
    read: (t, f) => {
      const q = parseQeOutput(t, f);
      return { atoms: q.atoms, qeOutput: q };
    },
  },
  {
    format: 'qe-in',
    description: 'Quantum ESPRESSO pw.x input',
    extensions: ['.in', '.pwi'],
    sniff: looksLikeQeInput,
    read: (t, f) => {
      const q = parseQeInput(t, f);
      return { atoms: q.atoms, qeInput: q };
    },
  },
  {
    format: 'lammps-data',
    description: 'LAMMPS data file',
    extensions: ['.data', '.lmp', '.lammps', '.lmpdat'],
    sniff: looksLikeLammpsData,
    read: (t, f, o) => ({ atoms: parseLammpsData(t, f, { typeElements: o.typeElements }) }),
  },
  {
    format: 'lammps-dump',
    description: 'LAMMPS text dump (last frame)',
    extensions: ['.dump', '.lammpstrj'],
    sniff: looksLikeLammpsDump,
    read: (t, f, o) => ({ atoms: parseLammpsDump(t, f, { typeElements: o.typeElements }) }),
  },
  {
    format: 'extxyz',
    description: 'extended XYZ (last frame)',
    extensions: ['.xyz', '.extxyz'],
    sniff: looksLikeExtxyz,
    read: (t, f) => ({ atoms: parseExtxyz(t, f) }),
  },
];

export const structureFormats: readonly StructureFormat[] = FORMATS.map((f) => f.format);

function supported(): string {
  return FORMATS.map((f) => `${f.description} (${f.extensions.join(', ')})`).join('; ');
}

/** Detect the format of a structure text: content first for ambiguous extensions. */
export function detectFormat(file: string, text: string): StructureFormat {
  const ext = path.extname(file).toLowerCase();
  const byExt = FORMATS.filter((f) => f.extensions.includes(ext));
  // an extension match is trusted when the content agrees or nothing else recognises it
  const sniffed = FORMATS.filter((f) => f.sniff(text));
  const agree = byExt.find((f) => sniffed.includes(f));
  if (agree) return agree.format;
  if (sniffed.length > 0) return sniffed[0].format;
  if (byExt.length === 1) return byExt[0].format;
  throw new MalaError('unknown structure format', { file, fix: `supported: ${supported()}; or name the format explicitly` });
}

/** Parse a structure from text; `file` is for format detection and error messages. */
export function parseStructure(text: string, file: string, opts: ReadOptions = {}): StructureRead {
  const format = opts.format ?? detectFormat(file, text);
  const entry = FORMATS.find((f) => f.format === format);
  if (!entry) throw new MalaError(`unknown structure format '${format}'`, { file, fix: `use one of ${structureFormats.join(', ')}` });
  return { ...entry.read(text, file, opts), format, file };
}

/** Read a structure file of any supported format. */
export function readStructure(file: string, opts: ReadOptions = {}): StructureRead {
  let text: string;
  checkInputFile(file, 'structure file', { maxBytes: maxTextInputBytes });
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new MalaError(`cannot read structure file: ${(e as Error).message}`, { file, fix: 'check the path', cause: e });
  }
  if (text.includes('\0')) throw new MalaError('unknown structure format (binary file)', { file, fix: `supported: ${supported()}` });
  return parseStructure(text, file, opts);
}

export type WritableFormat = 'lammps-data' | 'extxyz';

/** Structure as text in a writable format. */
export function structureText(atoms: Atoms, format: WritableFormat): string {
  return format === 'lammps-data' ? lammpsDataText(atoms) : extxyzText(atoms);
}

/** Write a structure (format from `format` or the extension), atomically. */
export function writeStructure(file: string, atoms: Atoms, format?: WritableFormat): void {
  const ext = path.extname(file).toLowerCase();
  const f: WritableFormat | undefined = format ?? (['.xyz', '.extxyz'].includes(ext) ? 'extxyz' : ['.data', '.lmp', '.lammps', '.lmpdat'].includes(ext) ? 'lammps-data' : undefined);
  if (!f) throw new MalaError(`cannot tell the output structure format from '${ext || file}'`, { file, fix: 'use .data/.lmp (LAMMPS data) or .xyz/.extxyz (extended XYZ)' });
  writeFileAtomic(file, structureText(atoms, f));
}
