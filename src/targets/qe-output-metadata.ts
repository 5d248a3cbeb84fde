/**
 * The few facts the observables need from a Quantum ESPRESSO pw.x output (or input): electron
 * count, smearing width → temperature, FFT grid, cell and atoms. A small stand-in until the
 * structure readers (src/structure/, qe-output reader) exist; it follows MALA's parsing
 * (spec §5.10, §1.2): cell = celldm(1)·a(i) (celldm has more digits than "lattice parameter"),
 * T = degauss·Rydberg/kB, grid from the first "FFT dimensions" line (the dense grid).
 */
import * as fs from 'node:fs';
import { MalaError } from '../errors';
import { bohrAngstrom, rydbergToKelvin } from '../structure/units';

export interface QeMetadata {
  file: string;
  kind: 'pw-output' | 'pw-input';
  numberOfElectrons?: number;
  /** QE's smearing name as printed ("Fermi-Dirac", "gaussian", "fermi-dirac", ...). */
  smearing?: string;
  degaussRy?: number;
  temperatureK?: number;
  gridShape?: [number, number, number];
  /** Cell rows in Å. */
  cellAngstrom?: number[][];
  species?: string[];
  /** Cartesian positions in Å. */
  positionsAngstrom?: number[][];
  /** QE's printed Fermi energy (eV), for reference. */
  fermiEnergyDftEv?: number;
  /** Density cutoff (Ry), needed by the total-energy terms. */
  ecutrhoRy?: number;
  /** Species → UPF file name, as pw.x read them. */
  pseudopotentialFiles?: Record<string, string>;
}

const SYMBOLS = 'X H He Li Be B C N O F Ne Na Mg Al Si P S Cl Ar K Ca Sc Ti V Cr Mn Fe Co Ni Cu Zn Ga Ge As Se Br Kr Rb Sr Y Zr Nb Mo Tc Ru Rh Pd Ag Cd In Sn Sb Te I Xe Cs Ba La Ce Pr Nd Pm Sm Eu Gd Tb Dy Ho Er Tm Yb Lu Hf Ta W Re Os Ir Pt Au Hg Tl Pb Bi Po At Rn Fr Ra Ac Th Pa U Np Pu'.split(' ');

/** Atomic number of a QE species label ("Be", "Be1", "Fe_up" → the element). */
export function atomicNumberOf(label: string): number {
  const m = /^([A-Z][a-z]?)/.exec(label);
  const z = m ? SYMBOLS.indexOf(m[1]) : -1;
  if (z <= 0) {
    const z1 = m ? SYMBOLS.indexOf(m[1][0]) : -1;
    if (z1 > 0) return z1;
    throw new MalaError(`cannot tell the element of species '${label}'`, { fix: 'name QE species by their element symbol (e.g. Be, Al1)' });
  }
  return z;
}

function num(s: string | undefined, file: string, what: string): number {
  const v = Number((s ?? '').replace(/[dD]/, 'e'));
  if (!Number.isFinite(v)) throw new MalaError(`cannot read ${what} ('${s}')`, { file, fix: 'pass an unmodified pw.x output or input' });
  return v;
}

export function parseQeOutputMetadata(text: string, file: string): QeMetadata {
  const md: QeMetadata = { file, kind: 'pw-output' };
  const lines = text.split(/\r?\n/);
  let celldm1: number | undefined;
  const axes: number[][] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    let m: RegExpExecArray | null;
    if (md.numberOfElectrons === undefined && (m = /number of electrons\s*=\s*(\S+)/.exec(line))) md.numberOfElectrons = num(m[1], file, 'number of electrons');
    else if (md.degaussRy === undefined && (m = /(\S+)\s+smearing, width \(Ry\)=\s*(\S+)/.exec(line))) {
      md.smearing = m[1];
      md.degaussRy = num(m[2], file, 'smearing width');
      md.temperatureK = rydbergToKelvin(md.degaussRy);
    } else if (!md.gridShape && (m = /FFT dimensions:\s*\(\s*(\d+),\s*(\d+),\s*(\d+)\)/.exec(line))) md.gridShape = [Number(m[1]), Number(m[2]), Number(m[3])];
    else if (celldm1 === undefined && (m = /celldm\(1\)=\s*(\S+)/.exec(line))) celldm1 = num(m[1], file, 'celldm(1)');
    else if (axes.length < 3 && (m = /^\s*a\((\d)\) = \(\s*(\S+)\s+(\S+)\s+(\S+)\s*\)/.exec(line))) axes.push([num(m[2], file, 'a(i)'), num(m[3], file, 'a(i)'), num(m[4], file, 'a(i)')]);
    else if (!md.positionsAngstrom && /site n\.\s+atom\s+positions \(alat units\)/.test(line) && celldm1 !== undefined) {
      md.species = [];
      md.positionsAngstrom = [];
      const alatA = celldm1 * bohrAngstrom;
      for (let j = i + 1; j < lines.length; j++) {
        const t = /^\s*\d+\s+(\S+)\s+tau\(\s*\d+\)\s*=\s*\(\s*(\S+)\s+(\S+)\s+(\S+)/.exec(lines[j]);
        if (!t) break;
        md.species.push(t[1]);
        md.positionsAngstrom.push([2, 3, 4].map((k) => num(t[k], file, 'tau') * alatA));
      }
    } else if ((m = /the Fermi energy is\s+(\S+)\s+ev/.exec(line))) md.fermiEnergyDftEv = num(m[1], file, 'Fermi energy');
    else if (md.ecutrhoRy === undefined && (m = /charge density cutoff\s*=\s*(\S+)\s+Ry/.exec(line))) md.ecutrhoRy = num(m[1], file, 'charge density cutoff');
    else if ((m = /PseudoPot\. #\s*\d+ for (\S+)\s+read from file/.exec(line)) && i + 1 < lines.length) {
      md.pseudopotentialFiles ??= {};
      md.pseudopotentialFiles[m[1]] = lines[i + 1].trim().split(/[\\/]/).pop() ?? '';
    }
  }
  if (celldm1 !== undefined && axes.length === 3) md.cellAngstrom = axes.map((r) => r.map((v) => v * celldm1! * bohrAngstrom));
  return md;
}

/** A pw.x input: cell, atoms and degauss (the electron count and grid are not in it). */
export function parseQeInputMetadata(text: string, file: string): QeMetadata {
  const md: QeMetadata = { file, kind: 'pw-input' };
  const clean = text.replace(/!.*$/gm, '');
  const key = (name: string): string | undefined => {
    const m = new RegExp(`\\b${name.replace(/[()]/g, '\\$&')}\\s*=\\s*([^,\\n]+)`, 'i').exec(clean);
    return m ? m[1].trim().replace(/^['"]|['"]$/g, '') : undefined;
  };
  const degauss = key('degauss');
  if (degauss !== undefined) {
    md.degaussRy = num(degauss, file, 'degauss');
    md.temperatureK = rydbergToKelvin(md.degaussRy);
    md.smearing = key('smearing') ?? 'gaussian';
  }
  const ecutrho = key('ecutrho');
  const ecutwfc = key('ecutwfc');
  if (ecutrho !== undefined) md.ecutrhoRy = num(ecutrho, file, 'ecutrho');
  else if (ecutwfc !== undefined) md.ecutrhoRy = 4 * num(ecutwfc, file, 'ecutwfc');
  const celldm1 = key('celldm(1)');
  const aParam = key('A');
  const alatA = celldm1 !== undefined ? num(celldm1, file, 'celldm(1)') * bohrAngstrom : aParam !== undefined ? num(aParam, file, 'A') : undefined;
  const lines = clean.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const m = /^\s*CELL_PARAMETERS\s*[({]?\s*(\w*)/i.exec(lines[i]);
    if (!m) continue;
    const unit = m[1].toLowerCase() || 'alat';
    const scale = unit === 'angstrom' ? 1 : unit === 'bohr' ? bohrAngstrom : alatA;
    if (scale === undefined) throw new MalaError('CELL_PARAMETERS alat without celldm(1) or A', { file, fix: 'give CELL_PARAMETERS in angstrom or bohr' });
    md.cellAngstrom = [1, 2, 3].map((k) => lines[i + k].trim().split(/\s+/).slice(0, 3).map((v) => num(v, file, 'CELL_PARAMETERS') * scale));
  }
  const nat = Number(key('nat'));
  for (let i = 0; i < lines.length; i++) {
    const m = /^\s*ATOMIC_POSITIONS\s*[({]?\s*(\w*)/i.exec(lines[i]);
    if (!m || !Number.isInteger(nat)) continue;
    const unit = m[1].toLowerCase() || 'alat';
    md.species = [];
    md.positionsAngstrom = [];
    for (let k = 1; k <= nat; k++) {
      const t = lines[i + k].trim().split(/\s+/);
      const p = t.slice(1, 4).map((v) => num(v, file, 'ATOMIC_POSITIONS'));
      let r: number[];
      if (unit === 'crystal') {
        if (!md.cellAngstrom) throw new MalaError('crystal positions need CELL_PARAMETERS', { file });
        const c = md.cellAngstrom;
        r = [0, 1, 2].map((j) => p[0] * c[0][j] + p[1] * c[1][j] + p[2] * c[2][j]);
      } else {
        const s = unit === 'angstrom' ? 1 : unit === 'bohr' ? bohrAngstrom : alatA;
        if (s === undefined) throw new MalaError(`ATOMIC_POSITIONS ${unit} needs celldm(1) or A`, { file });
        r = p.map((v) => v * s);
      }
      md.species.push(t[0]);
      md.positionsAngstrom.push(r);
    }
  }
  return md;
}

/** Read a pw.x output or input (told apart by content). */
export function readQeMetadata(file: string): QeMetadata {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new MalaError(`cannot read QE file: ${(e as Error).message}`, { file, fix: 'check the path of --structure', cause: e });
  }
  if (/Program PWSCF/.test(text) || /number of electrons\s*=/.test(text)) return parseQeOutputMetadata(text, file);
  if (/&system/i.test(text)) return parseQeInputMetadata(text, file);
  throw new MalaError('not a Quantum ESPRESSO pw.x output or input', { file, fix: 'pass the pw.x output (or input) the LDOS belongs to with --structure' });
}
