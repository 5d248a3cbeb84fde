/**
 * Quantum ESPRESSO pw.x output reader: the (final) structure, cutoffs, smearing, Fermi energy,
 * number of electrons, FFT grid and energy terms.
 *
 * The structure is read the way ASE's espresso-out reader does (MALA relies on it): cell =
 * celldm(1) × "crystal axes" (printed with 6 decimals), positions = celldm(1) × "positions (alat
 * units)" (7 decimals). For relaxations the last ATOMIC_POSITIONS / CELL_PARAMETERS block wins.
 */
import { MalaError } from '../errors';
import { Atoms, Mat3, Vec3, cartesianFromFractional, validateAtoms } from './atoms';
import { labelToSymbol } from './elements';
import { bohrAngstrom, rydbergEv } from './units';

export interface QeEnergiesRy {
  /** "! total energy" (F = E − TS with smearing). */
  total?: number;
  smearingContribution?: number;
  oneElectron?: number;
  hartree?: number;
  xc?: number;
  ewald?: number;
}

export interface QeOutput {
  atoms: Atoms;
  ecutwfcRy?: number;
  ecutrhoRy?: number;
  /** e.g. "Fermi-Dirac", "gaussian", "Methfessel-Paxton", "Marzari-Vanderbilt". */
  smearing?: string;
  /** Smearing width as printed (4 decimals), Ry. */
  degaussRy?: number;
  fermiEnergyEv?: number;
  numberOfElectrons?: number;
  /** Dense-grid FFT dimensions (the first "FFT dimensions" line, as MALA's descriptors read it). */
  fftGrid?: [number, number, number];
  /** G-vectors in the dense grid's sphere ("Dense  grid: N G-vectors"). */
  denseGVectorCount?: number;
  bravaisLatticeIndex?: number;
  /** Pseudopotential file per element symbol. */
  pseudopotentials: Record<string, string>;
  /** Energy terms of the last completed SCF, Ry. */
  energiesRy: QeEnergiesRy;
  /** Whether "convergence has been achieved" was printed. */
  converged: boolean;
}

const f = (s: string): number => Number(s.replace(/[dD]/, 'e'));

function fail(file: string, message: string): never {
  throw new MalaError(`malformed QE output: ${message}`, { file, fix: 'give a complete pw.x output file (the text pw.x prints to standard output)' });
}

function vec3(line: string, re: RegExp, file: string): Vec3 {
  const m = re.exec(line);
  if (!m) fail(file, `cannot read '${line.trim()}'`);
  const v = [f(m[1]), f(m[2]), f(m[3])];
  if (v.some((x) => !Number.isFinite(x))) fail(file, `cannot read '${line.trim()}'`);
  return v as Vec3;
}

const NUM = '([-+]?\\d*\\.?\\d+(?:[eEdD][-+]?\\d+)?)';
const TRIPLE = new RegExp(`\\(\\s*${NUM}\\s+${NUM}\\s+${NUM}\\s*\\)`);
// QE can print adjacent negative numbers without spaces ("-0.1250-0.2165"), hence [\s]* between
const TRIPLE_TIGHT = new RegExp(`\\(\\s*${NUM}\\s*${NUM}\\s*${NUM}\\s*\\)`);

export function looksLikeQeOutput(text: string): boolean {
  return /Program PWSCF/.test(text.slice(0, 20000)) || /bravais-lattice index/.test(text.slice(0, 50000));
}

export function parseQeOutput(text: string, file = '<QE output>'): QeOutput {
  const lines = text.split(/\r?\n/);
  let alatA: number | undefined;
  let nat: number | undefined;
  let cellAlat: Vec3[] | undefined;
  let symbols: string[] | undefined;
  let posAlat: Vec3[] | undefined;
  let cell: Mat3 | undefined;
  const out: QeOutput = { atoms: undefined as unknown as Atoms, pseudopotentials: {}, energiesRy: {}, converged: false };
  let finalPositions: { unit: string; labels: string[]; values: Vec3[] } | undefined;
  let afterScfEnd = false;
  let scfEnergies: QeEnergiesRy = {};

  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    let m: RegExpExecArray | null;
    if (alatA === undefined && (m = /celldm\(1\)=\s*(\S+)/.exec(line))) alatA = f(m[1]) * bohrAngstrom;
    else if ((m = /bravais-lattice index\s*=\s*(-?\d+)/.exec(line))) out.bravaisLatticeIndex = Number(m[1]);
    else if ((m = /number of atoms\/cell\s*=\s*(\d+)/.exec(line))) nat = Number(m[1]);
    else if ((m = /number of electrons\s*=\s*(\S+)/.exec(line))) out.numberOfElectrons ??= f(m[1]);
    else if ((m = /kinetic-energy cutoff\s*=\s*(\S+)\s*Ry/.exec(line))) out.ecutwfcRy ??= f(m[1]);
    else if ((m = /charge density cutoff\s*=\s*(\S+)\s*Ry/.exec(line))) out.ecutrhoRy ??= f(m[1]);
    else if ((m = /(\S+)\s+smearing, width \(Ry\)=\s*(\S+)/.exec(line))) {
      out.smearing ??= m[1];
      out.degaussRy ??= f(m[2]);
    } else if ((m = /FFT dimensions:\s*\(\s*(\d+),\s*(\d+),\s*(\d+)\s*\)/.exec(line))) {
      out.fftGrid ??= [Number(m[1]), Number(m[2]), Number(m[3])];
      const g = /Dense\s+grid:\s*(\d+)\s+G-vectors/.exec(line);
      if (g) out.denseGVectorCount ??= Number(g[1]);
    } else if ((m = /PseudoPot\.\s*#\s*\d+\s+for\s+(\S+)\s+read from file/.exec(line))) {
      const next = (lines[i + 1] ?? '').trim();
      out.pseudopotentials[labelToSymbol(m[1], file)] = next.split('/').pop() ?? next;
    } else if (cellAlat === undefined && /crystal axes:/.test(line)) {
      cellAlat = [1, 2, 3].map((k) => vec3(lines[i + k] ?? '', TRIPLE, file));
      i += 3;
    } else if (posAlat === undefined && /positions \(alat units\)/.test(line)) {
      if (nat === undefined) fail(file, 'positions before "number of atoms/cell"');
      symbols = [];
      posAlat = [];
      for (let k = 1; k <= nat; k++) {
        const l = lines[i + k] ?? '';
        const sm = /^\s*\d+\s+(\S+)\s+tau\(/.exec(l);
        if (!sm) fail(file, `cannot read atom ${k} in '${l.trim()}'`);
        symbols.push(labelToSymbol(sm[1], file));
        posAlat.push(vec3(l, TRIPLE_TIGHT, file));
      }
      i += nat;
    } else if ((m = /^\s*CELL_PARAMETERS\s*\(?\s*(alat|bohr|angstrom)?\s*=?\s*([-+\d.eEdD]*)\)?/.exec(line))) {
      const unit = m[1] ?? 'alat';
      const blockAlat = m[2] ? f(m[2]) * bohrAngstrom : alatA;
      const rows = [1, 2, 3].map((k) => (lines[i + k] ?? '').trim().split(/\s+/).slice(0, 3).map(f)) as Mat3;
      if (rows.some((r) => r.length !== 3 || r.some((x) => !Number.isFinite(x)))) fail(file, 'cannot read a CELL_PARAMETERS block');
      const s = unit === 'angstrom' ? 1 : unit === 'bohr' ? bohrAngstrom : (blockAlat ?? NaN);
      cell = rows.map((r) => r.map((x) => x * s)) as Mat3;
      i += 3;
    } else if ((m = /^\s*ATOMIC_POSITIONS\s*\(?\s*(alat|bohr|angstrom|crystal)?\s*\)?/.exec(line))) {
      if (nat === undefined) fail(file, 'ATOMIC_POSITIONS before "number of atoms/cell"');
      const labels: string[] = [];
      const values: Vec3[] = [];
      for (let k = 1; k <= nat; k++) {
        const t = (lines[i + k] ?? '').trim().split(/\s+/);
        const v = t.slice(1, 4).map(f);
        if (t.length < 4 || v.some((x) => !Number.isFinite(x))) fail(file, `cannot read an ATOMIC_POSITIONS line '${(lines[i + k] ?? '').trim()}'`);
        labels.push(t[0]);
        values.push(v as Vec3);
      }
      finalPositions = { unit: m[1] ?? 'alat', labels, values };
      i += nat;
    } else if ((m = /the Fermi energy is\s+(\S+)\s*ev/.exec(line))) out.fermiEnergyEv = f(m[1]);
    else if (/End of self-consistent calculation/.test(line)) {
      afterScfEnd = true;
      scfEnergies = {};
    } else if (afterScfEnd) {
      const take = (re: RegExp, key: keyof QeEnergiesRy): void => {
        const mm = re.exec(line);
        if (mm && scfEnergies[key] === undefined) scfEnergies[key] = f(mm[1]);
      };
      take(/^!\s+total energy\s*=\s*(\S+)\s*Ry/, 'total');
      take(/smearing contrib\. \(-TS\)\s*=\s*(\S+)\s*Ry/, 'smearingContribution');
      take(/one-electron contribution\s*=\s*(\S+)\s*Ry/, 'oneElectron');
      take(/hartree contribution\s*=\s*(\S+)\s*Ry/, 'hartree');
      take(/xc contribution\s*=\s*(\S+)\s*Ry/, 'xc');
      take(/ewald contribution\s*=\s*(\S+)\s*Ry/, 'ewald');
      if (/convergence has been achieved/.test(line)) {
        out.converged = true;
        out.energiesRy = scfEnergies;
        afterScfEnd = false;
      }
    }
  }
  if (!out.converged && Object.keys(scfEnergies).length > 0) out.energiesRy = scfEnergies;

  if (alatA === undefined || cellAlat === undefined || nat === undefined || posAlat === undefined || symbols === undefined) {
    fail(file, 'no structure found (celldm(1), crystal axes and atomic positions are printed at the start of every pw.x run)');
  }
  if (!cell) cell = cellAlat.map((r) => r.map((x) => x * alatA!)) as Mat3;
  let positions: Vec3[] = posAlat.map((r) => r.map((x) => x * alatA!) as Vec3);
  if (finalPositions) {
    const { unit, values } = finalPositions;
    symbols = finalPositions.labels.map((l) => labelToSymbol(l, file));
    if (unit === 'angstrom') positions = values;
    else if (unit === 'bohr') positions = values.map((r) => r.map((x) => x * bohrAngstrom) as Vec3);
    else if (unit === 'crystal') positions = cartesianFromFractional(values, cell);
    else positions = values.map((r) => r.map((x) => x * alatA!) as Vec3);
  }
  out.atoms = validateAtoms({ cellAngstrom: cell, positionsAngstrom: positions, symbols, pbc: [true, true, true] }, file);
  return out;
}

/** Energy terms in eV (× Rydberg, ASE's constant). */
const FORCE_ROW = /^\s*atom\s+\d+\s+type\s+\d+\s+force\s*=\s*(\S+)\s+(\S+)\s+(\S+)\s*$/;

/**
 * The forces of the last "Forces acting on atoms" block of a pw.x output, Ry/Bohr, one row per atom
 * in input order (the total forces: the contribution blocks verbosity 'high' prints after it are
 * not part of it).
 */
export function qeForcesRyPerBohr(text: string, file = '<QE output>'): number[][] {
  const lines = text.split(/\r?\n/);
  let start = -1;
  lines.forEach((l, i) => {
    if (/Forces acting on atoms/.test(l)) start = i;
  });
  if (start < 0) throw new MalaError('no "Forces acting on atoms" block in the QE output', { file, fix: 'run pw.x with tprnfor = .true. (make al-forces-reference)' });
  const rows: number[][] = [];
  for (let i = start + 1; i < lines.length; i++) {
    const m = FORCE_ROW.exec(lines[i]);
    if (m) rows.push([Number(m[1]), Number(m[2]), Number(m[3])]);
    else if (rows.length > 0 || lines[i].trim() !== '') break;
  }
  if (rows.length === 0 || rows.some((r) => r.some((x) => !Number.isFinite(x)))) {
    throw new MalaError('cannot read the "Forces acting on atoms" block of the QE output', { file, fix: 'give the complete pw.x output' });
  }
  return rows;
}

/** QE's "Total force" (√Σ F², Ry/Bohr) of the last block, undefined if not printed. */
export function qeTotalForceRyPerBohr(text: string): number | undefined {
  const all = [...text.matchAll(/Total force\s*=\s*(\S+)/g)];
  return all.length ? Number(all[all.length - 1][1]) : undefined;
}

/** QE's clock format ("4.33s", "1m 2.30s", "1h 2m") → seconds. */
export function qeClockSeconds(s: string): number {
  let t = 0;
  for (const m of s.matchAll(/([\d.]+)\s*([hms])/g)) t += Number(m[1]) * (m[2] === 'h' ? 3600 : m[2] === 'm' ? 60 : 1);
  return t;
}

/** pw.x's own CPU and wall time from its final "PWSCF : … CPU … WALL" line (undefined if absent). */
export function pwscfTimesS(output: string): { cpuS: number; wallS: number } | undefined {
  const m = /^\s*PWSCF\s*:(.*?)CPU(.*?)WALL\s*$/m.exec(output);
  return m ? { cpuS: qeClockSeconds(m[1]), wallS: qeClockSeconds(m[2]) } : undefined;
}

export function qeEnergiesEv(e: QeEnergiesRy): QeEnergiesRy {
  const o: QeEnergiesRy = {};
  for (const [k, v] of Object.entries(e) as [keyof QeEnergiesRy, number][]) o[k] = v * rydbergEv;
  return o;
}

/** pw.x's last "total   stress" block in kbar (pw.x's sign: positive under compression), or undefined without one. */
export function qeStressKbar(text: string): number[][] | undefined {
  const i = text.lastIndexOf('total   stress');
  if (i < 0) return undefined;
  const rows = text.slice(i).split('\n').slice(1, 4);
  return rows.map((l) => l.trim().split(/\s+/).slice(3, 6).map(Number));
}
