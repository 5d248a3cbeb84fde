/**
 * Small private readers of QE files for the energy module: pw.x input and output (structure,
 * cutoffs, species → pseudopotential file, printed energies), pp.x density cube and filplot.
 * Interim: src/structure/ (Atoms + QE readers) and src/io/cube.ts are being written in parallel;
 * once they land these should be replaced by them (kept minimal on purpose).
 */
import * as fs from 'node:fs';
import { MalaError } from '../errors';
import { bohrAngstrom } from '../structure/units';

export interface QeStructure {
  /** Cell rows (Å). */
  cellAngstrom: number[][];
  /** Cartesian positions (Å). */
  positionsAngstrom: number[][];
  species: string[];
  /** Species → pseudopotential file name (ATOMIC_SPECIES or "PseudoPot. #" lines). */
  pseudopotentialFiles: Record<string, string>;
  pseudoDir?: string;
  ecutrhoRy: number;
  /** FFT grid when the file states it (pw.x output). */
  grid?: [number, number, number];
  gVectorCount?: number;
  /** Printed energies (Ry) of a pw.x output, after "End of self-consistent calculation". */
  printedEnergiesRy?: Partial<Record<'total' | 'smearing' | 'oneElectron' | 'hartree' | 'xc' | 'ewald', number>>;
}

function readText(file: string, what: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new MalaError(`cannot read ${what}: ${(e as Error).message}`, { file, fix: 'check the path', cause: e });
  }
}

const num = (s: string): number => Number(s.replace(/[dD]/, 'e'));

/** Read a pw.x input or output (decided by content). */
export function readQeStructure(file: string): QeStructure {
  const text = readText(file, 'QE structure file');
  return /Program PWSCF/.test(text) ? parsePwOutput(text, file) : parsePwInput(text, file);
}

function parsePwInput(text: string, file: string): QeStructure {
  const bad = (what: string): MalaError => new MalaError(`not a usable pw.x input (${what})`, { file, fix: 'pass a pw.x input or output file' });
  const nl = (key: string): string | undefined => {
    const m = new RegExp(`^\\s*${key.replace(/[()]/g, '\\$&')}\\s*=\\s*([^,\\n!]+)`, 'im').exec(text);
    return m ? m[1].trim().replace(/^['"]|['"]$/g, '') : undefined;
  };
  const ecutwfc = nl('ecutwfc');
  const ecutrho = nl('ecutrho');
  if (!ecutwfc && !ecutrho) throw bad('no ecutwfc');
  const ecutrhoRy = ecutrho ? num(ecutrho) : 4 * num(ecutwfc as string);
  const ibrav = Number(nl('ibrav') ?? '0');
  if (ibrav !== 0) throw bad(`ibrav = ${ibrav}; only ibrav = 0 with CELL_PARAMETERS is read here`);
  const nat = Number(nl('nat'));
  const lines = text.split('\n');
  const card = (name: string): { opt: string; start: number } | undefined => {
    const i = lines.findIndex((l) => new RegExp(`^\\s*${name}\\b`, 'i').test(l));
    if (i < 0) return undefined;
    const opt = (lines[i].replace(new RegExp(`^\\s*${name}`, 'i'), '').replace(/[{}()]/g, ' ').trim().split(/\s+/)[0] ?? '').toLowerCase();
    return { opt, start: i + 1 };
  };
  const rows = (start: number, n: number): string[][] =>
    lines
      .slice(start)
      .filter((l) => l.trim() && !/^\s*[!#]/.test(l))
      .slice(0, n)
      .map((l) => l.trim().split(/\s+/));
  const celldm1 = nl('celldm(1)');
  const alatBohr = celldm1 ? num(celldm1) : undefined;
  const cc = card('CELL_PARAMETERS');
  if (!cc) throw bad('no CELL_PARAMETERS');
  const cellScale = cc.opt === 'bohr' ? bohrAngstrom : cc.opt === 'alat' || (cc.opt === '' && alatBohr) ? (alatBohr ?? NaN) * bohrAngstrom : 1;
  const cellAngstrom = rows(cc.start, 3).map((r) => r.slice(0, 3).map((x) => num(x) * cellScale));
  const ap = card('ATOMIC_POSITIONS');
  if (!ap) throw bad('no ATOMIC_POSITIONS');
  const atomRows = rows(ap.start, nat);
  const species = atomRows.map((r) => r[0]);
  const raw = atomRows.map((r) => r.slice(1, 4).map(num));
  const alatA = alatBohr ? alatBohr * bohrAngstrom : Math.hypot(...cellAngstrom[0]);
  const positionsAngstrom = raw.map((p) => {
    if (ap.opt === 'crystal') return [0, 1, 2].map((k) => p[0] * cellAngstrom[0][k] + p[1] * cellAngstrom[1][k] + p[2] * cellAngstrom[2][k]);
    if (ap.opt === 'bohr') return p.map((x) => x * bohrAngstrom);
    if (ap.opt === 'alat' || ap.opt === '') return p.map((x) => x * alatA);
    return p;
  });
  const as = card('ATOMIC_SPECIES');
  const pseudopotentialFiles: Record<string, string> = {};
  if (as) {
    const ntyp = Number(nl('ntyp') ?? new Set(species).size);
    for (const r of rows(as.start, ntyp)) if (r.length >= 3) pseudopotentialFiles[r[0]] = r[2];
  }
  const all = [...cellAngstrom.flat(), ...positionsAngstrom.flat()];
  if (cellAngstrom.length !== 3 || positionsAngstrom.length !== nat || all.some((x) => !Number.isFinite(x))) throw bad('malformed cell or positions');
  return { cellAngstrom, positionsAngstrom, species, pseudopotentialFiles, pseudoDir: nl('pseudo_dir'), ecutrhoRy };
}

function parsePwOutput(text: string, file: string): QeStructure {
  const bad = (what: string): MalaError => new MalaError(`not a usable pw.x output (${what})`, { file, fix: 'pass a complete pw.x output file' });
  const grab = (re: RegExp): string | undefined => re.exec(text)?.[1];
  const alat = num(grab(/celldm\(1\)=\s*(\S+)/) ?? grab(/lattice parameter \(alat\)\s*=\s*(\S+)/) ?? 'NaN');
  const ecut = num(grab(/charge density cutoff\s*=\s*(\S+)/) ?? 'NaN');
  if (!Number.isFinite(alat) || !Number.isFinite(ecut)) throw bad('no lattice parameter or charge density cutoff');
  const cellAngstrom = [1, 2, 3].map((i) => {
    const m = new RegExp(`a\\(${i}\\) = \\(\\s*(\\S+)\\s+(\\S+)\\s+(\\S+)\\s*\\)`).exec(text);
    if (!m) throw bad('no crystal axes');
    return [num(m[1]), num(m[2]), num(m[3])].map((x) => x * alat * bohrAngstrom);
  });
  const posBlock = /positions \(alat units\)\n([\s\S]*?)\n\s*\n/.exec(text);
  if (!posBlock) throw bad('no atomic positions');
  const species: string[] = [];
  const positionsAngstrom: number[][] = [];
  for (const l of posBlock[1].split('\n')) {
    const m = /^\s*\d+\s+(\S+)\s+tau\(\s*\d+\)\s*=\s*\(\s*(\S+)\s+(\S+)\s+(\S+)/.exec(l);
    if (!m) continue;
    species.push(m[1]);
    positionsAngstrom.push([m[2], m[3], m[4]].map((x) => num(x) * alat * bohrAngstrom));
  }
  const pseudopotentialFiles: Record<string, string> = {};
  const ppRe = /PseudoPot\. #\s*\d+ for\s+(\S+)\s+read from file:\s*\n\s*(\S+)/g;
  for (let m = ppRe.exec(text); m; m = ppRe.exec(text)) pseudopotentialFiles[m[1]] = m[2].split('/').pop() as string;
  const gm = /Dense\s+grid:\s*(\d+) G-vectors\s+FFT dimensions:\s*\(\s*(\d+),\s*(\d+),\s*(\d+)\)/.exec(text);
  const after = text.slice(Math.max(0, text.lastIndexOf('End of self-consistent calculation')));
  const energy = (re: RegExp): number | undefined => {
    const m = re.exec(after);
    return m ? num(m[1]) : undefined;
  };
  return {
    cellAngstrom,
    positionsAngstrom,
    species,
    pseudopotentialFiles,
    ecutrhoRy: ecut,
    grid: gm ? [Number(gm[2]), Number(gm[3]), Number(gm[4])] : undefined,
    gVectorCount: gm ? Number(gm[1]) : undefined,
    printedEnergiesRy: {
      total: energy(/!\s+total energy\s*=\s*(\S+)/),
      smearing: energy(/smearing contrib\. \(-TS\)\s*=\s*(\S+)/),
      oneElectron: energy(/one-electron contribution\s*=\s*(\S+)/),
      hartree: energy(/hartree contribution\s*=\s*(\S+)/),
      xc: energy(/xc contribution\s*=\s*(\S+)/),
      ewald: energy(/ewald contribution\s*=\s*(\S+)/),
    },
  };
}

export interface GridDensity {
  grid: [number, number, number];
  /** (nx, ny, nz), z fastest, 1/Å³. */
  densityPerA3: Float64Array;
}

/** Gaussian cube from pp.x (Bohr units, z fastest) → density in 1/Å³. */
export function readDensityCube(file: string): GridDensity {
  const lines = readText(file, 'cube file').split('\n');
  const bad = (what: string): MalaError => new MalaError(`not a readable cube file (${what})`, { file, fix: 'pass a Gaussian cube written by pp.x' });
  if (lines.length < 7) throw bad('too short');
  const nat = Math.abs(Number(lines[2].trim().split(/\s+/)[0]));
  const dims = [3, 4, 5].map((i) => Number(lines[i].trim().split(/\s+/)[0]));
  if (!Number.isInteger(nat) || dims.some((n) => !Number.isInteger(n) || n === 0)) throw bad('bad header');
  if (dims.some((n) => n < 0)) throw bad('Ångström cube (negative counts) is not supported');
  const values = lines.slice(6 + nat).join(' ').trim().split(/\s+/).map(num);
  const n = dims[0] * dims[1] * dims[2];
  if (values.length !== n || values.some((v) => !Number.isFinite(v))) throw bad(`expected ${n} values, found ${values.length}`);
  const densityPerA3 = new Float64Array(n);
  const toA3 = 1 / bohrAngstrom ** 3;
  for (let i = 0; i < n; i++) densityPerA3[i] = values[i] * toA3;
  return { grid: dims as [number, number, number], densityPerA3 };
}

/** pp.x intermediate "filplot" file (10 digits, x fastest) → density in 1/Å³, z fastest. */
export function readDensityFilplot(file: string): GridDensity {
  const lines = readText(file, 'filplot file').split('\n');
  const h = lines[1].trim().split(/\s+/).map(Number);
  const [nr1x, nr2x, nr3x, nr1, nr2, nr3, nat, ntyp] = h;
  const ibrav = Number(lines[2].trim().split(/\s+/)[0]);
  const start = 3 + (ibrav === 0 ? 3 : 0) + 1 + ntyp + nat;
  const values = lines.slice(start).join(' ').trim().split(/\s+/).map(num);
  if (values.length !== nr1x * nr2x * nr3x || values.some((v) => !Number.isFinite(v))) {
    throw new MalaError(`not a readable filplot file (expected ${nr1x * nr2x * nr3x} values, found ${values.length})`, { file, fix: 'pass an unmodified pp.x filplot file' });
  }
  const out = new Float64Array(nr1 * nr2 * nr3);
  const toA3 = 1 / bohrAngstrom ** 3;
  for (let k = 0; k < nr3; k++)
    for (let j = 0; j < nr2; j++)
      for (let i = 0; i < nr1; i++) out[(i * nr2 + j) * nr3 + k] = values[(k * nr2x + j) * nr1x + i] * toA3;
  return { grid: [nr1, nr2, nr3], densityPerA3: out };
}
