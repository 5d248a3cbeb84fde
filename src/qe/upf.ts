/**
 * Reader for Unified Pseudopotential Format files, versions 1 (tagged text sections) and 2 (XML):
 * only what the density-based energy terms need (radial mesh, core charge, valence charge,
 * functional). Non-local projectors, augmentation and wavefunctions are not read.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { checkInputFile, maxTextInputBytes } from '../io/input-file';
import { MalaError } from '../errors';

/** Exchange–correlation functionals this port implements exactly as QE 6.7 does. */
export type XcFunctionalName = 'pz' | 'pbe';

export interface Pseudopotential {
  file: string;
  format: 'upf1' | 'upf2';
  element: string;
  /** Valence charge Z_val (electrons). */
  zValence: number;
  /** Functional string as written in the file (e.g. "PBE", " SLA  PZ   NOGX NOGC"). */
  functionalRaw: string;
  /** Normalised functional, or undefined when this port does not implement it. */
  functional: XcFunctionalName | undefined;
  /** Radial mesh r (Bohr) and its integration weights dr/di (Bohr). */
  rBohr: Float64Array;
  rabBohr: Float64Array;
  /** Core charge ρ_atc(r) (1/Bohr³, without 4πr²) when the file has a non-linear core correction. */
  rhoCore?: Float64Array;
}

/** QE's names of the functionals we implement (short names and the four-part long form). */
const functionalAliases: Record<string, XcFunctionalName> = {
  PZ: 'pz',
  LDA: 'pz',
  'SLA PZ': 'pz',
  'SLA PZ NOGX NOGC': 'pz',
  PBE: 'pbe',
  'SLA PW PBX PBC': 'pbe',
  'SLA PW PBE PBE': 'pbe',
  'SLA PW PBX PBC PBE': 'pbe',
};

/** Map a UPF functional string to one we implement (undefined if unsupported). */
export function normaliseFunctional(raw: string): XcFunctionalName | undefined {
  const key = raw.trim().toUpperCase().replace(/[-_\s]+/g, ' ');
  return functionalAliases[key];
}

function parseNumbers(text: string, file: string, what: string): Float64Array {
  const tokens = text.trim().split(/\s+/).filter((t) => t.length > 0);
  const out = new Float64Array(tokens.length);
  for (let i = 0; i < tokens.length; i++) {
    const v = Number(tokens[i].replace(/[dD]/, 'e'));
    if (!Number.isFinite(v)) throw new MalaError(`malformed number '${tokens[i]}' in ${what}`, { file, fix: 'use an unmodified UPF file' });
    out[i] = v;
  }
  return out;
}

/** Inner text of the first <TAG ...>...</TAG> (TAG exact, attributes allowed). */
function section(text: string, tag: string): { attrs: string; body: string } | undefined {
  const open = new RegExp(`<${tag}(\\s[^>]*)?>`, 'i');
  const m = open.exec(text);
  if (!m) return undefined;
  if (m[0].endsWith('/>')) return { attrs: m[1] ?? '', body: '' };
  const start = m.index + m[0].length;
  const end = text.toUpperCase().indexOf(`</${tag.toUpperCase()}>`, start);
  if (end < 0) return undefined;
  return { attrs: m[1] ?? '', body: text.slice(start, end) };
}

function attribute(attrs: string, name: string): string | undefined {
  const m = new RegExp(`\\b${name}\\s*=\\s*"([^"]*)"`, 'i').exec(attrs) ?? new RegExp(`\\b${name}\\s*=\\s*'([^']*)'`, 'i').exec(attrs);
  return m ? m[1] : undefined;
}

function isTrue(v: string | undefined): boolean {
  return v !== undefined && /^\s*\.?t(rue)?\.?\s*$/i.test(v);
}

/** Read a UPF v1 or v2 file. Missing or malformed files throw one MalaError naming the file. */
export function readUpf(file: string): Pseudopotential {
  let text: string;
  checkInputFile(file, 'pseudopotential', { maxBytes: maxTextInputBytes });
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new MalaError(code === 'ENOENT' ? `pseudopotential file not found: ${file}` : `cannot read pseudopotential ${file}: ${(e as Error).message}`, {
      file,
      fix: 'pass --pseudo-dir with the folder holding the UPF files named in the structure file (ATOMIC_SPECIES)',
      cause: e,
    });
  }
  const bad = (what: string): MalaError =>
    new MalaError(`${path.basename(file)} is not a readable UPF pseudopotential (${what})`, { file, fix: 'use a UPF v1 or v2 file as written by QE or pslibrary' });
  const v2 = /<UPF\s+version\s*=\s*"2/i.test(text);
  const header = section(text, 'PP_HEADER');
  if (!header) throw bad('no <PP_HEADER>');
  let element: string;
  let zValence: number;
  let functionalRaw: string;
  let nlcc: boolean;
  if (v2) {
    element = (attribute(header.attrs, 'element') ?? '').trim();
    zValence = Number(attribute(header.attrs, 'z_valence')?.replace(/[dD]/, 'e'));
    functionalRaw = attribute(header.attrs, 'functional') ?? '';
    nlcc = isTrue(attribute(header.attrs, 'core_correction'));
  } else {
    // v1 header: one value per line followed by its description.
    const lines = header.body.split('\n');
    const lineWith = (label: RegExp): string | undefined => lines.find((l) => label.test(l));
    element = (lines.filter((l) => l.trim().length > 0)[1] ?? '').trim().split(/\s+/)[0] ?? '';
    zValence = Number((lineWith(/Z valence/i) ?? '').trim().split(/\s+/)[0]);
    const fl = lineWith(/Exchange-Correlation functional/i) ?? '';
    // QE reads the first 20 characters; the long form is four words.
    functionalRaw = fl.replace(/Exchange-Correlation functional.*/i, '').trim().split(/\s+/).slice(0, 4).join(' ');
    nlcc = isTrue((lineWith(/Nonlinear Core Correction/i) ?? '').trim().split(/\s+/)[0]);
  }
  if (!Number.isFinite(zValence) || zValence <= 0) throw bad('no valid z_valence');
  if (!functionalRaw.trim()) throw bad('no functional');
  const mesh = section(text, 'PP_MESH');
  const rSec = section(mesh?.body ?? text, 'PP_R');
  const rabSec = section(mesh?.body ?? text, 'PP_RAB');
  if (!rSec || !rabSec) throw bad('no <PP_R>/<PP_RAB> radial mesh');
  const rBohr = parseNumbers(rSec.body, file, 'PP_R');
  const rabBohr = parseNumbers(rabSec.body, file, 'PP_RAB');
  if (rBohr.length < 3 || rabBohr.length !== rBohr.length) throw bad(`PP_R has ${rBohr.length} points, PP_RAB ${rabBohr.length}`);
  let rhoCore: Float64Array | undefined;
  if (nlcc) {
    const c = section(text, 'PP_NLCC');
    if (!c) throw bad('core correction announced but no <PP_NLCC>');
    rhoCore = parseNumbers(c.body, file, 'PP_NLCC');
    if (rhoCore.length !== rBohr.length) throw bad(`PP_NLCC has ${rhoCore.length} points, mesh ${rBohr.length}`);
  }
  return {
    file,
    format: v2 ? 'upf2' : 'upf1',
    element,
    zValence,
    functionalRaw,
    functional: normaliseFunctional(functionalRaw),
    rBohr,
    rabBohr,
    rhoCore,
  };
}

/**
 * Find and read the pseudopotential of each species. `files` maps species → file name (from the
 * structure's ATOMIC_SPECIES); without an entry, the single `<Species>[._-]*.upf` file in `dir`
 * (case-insensitive) is used.
 */
/**
 * pw.x's check that a pseudopotential is for its species: a UPF of another element under the
 * right file name gave a wrong valence and functional silently (issue 14). Species labels such as
 * Fe1 or Fe_up name the element by their leading letters.
 */
export function checkUpfElement(upfElement: string, species: string, file: string): void {
  const element = (label: string) => (/^[A-Za-z]{1,2}/.exec(label.trim())?.[0] ?? '').toLowerCase();
  const want = element(species);
  const got = element(upfElement);
  if (!got || !want || got === want) return;
  throw new MalaError(`the pseudopotential ${path.basename(file)} is for ${upfElement.trim()}, not for the species ${species}`, {
    file,
    fix: `use a UPF file for ${species} (its PP_HEADER element must be ${species})`,
  });
}

export function loadPseudopotentials(species: string[], dir: string, files: Record<string, string> = {}): Record<string, Pseudopotential> {
  const out: Record<string, Pseudopotential> = {};
  for (const s of [...new Set(species)]) {
    let name = files[s];
    if (!name) {
      let entries: string[];
      try {
        entries = fs.readdirSync(dir);
      } catch (e) {
        throw new MalaError(`pseudopotential folder not readable: ${dir}`, { file: dir, fix: 'pass --pseudo-dir with an existing folder of UPF files', cause: e });
      }
      const re = new RegExp(`^${s}([._-].*)?\\.upf$`, 'i');
      const hits = entries.filter((e) => re.test(e));
      if (hits.length !== 1) {
        throw new MalaError(
          hits.length === 0 ? `no pseudopotential for ${s} in ${dir}` : `several pseudopotentials for ${s} in ${dir}: ${hits.join(', ')}`,
          { file: dir, fix: `name the file for ${s} in the structure's ATOMIC_SPECIES, or keep exactly one ${s}*.UPF in the folder` },
        );
      }
      name = hits[0];
    }
    const file = path.isAbsolute(name) ? name : path.join(dir, name);
    const pp = readUpf(file);
    checkUpfElement(pp.element, s, file);
    out[s] = pp;
  }
  return out;
}
