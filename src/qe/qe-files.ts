/**
 * What the energy module needs from QE files: a pw.x input or output as read by the shared
 * structure readers (src/structure/), in the energy module's terms, and pp.x density files
 * (cube via src/io/cube.ts, plus the 10-digit "filplot" intermediate file).
 */
import * as fs from 'node:fs';
import { MalaError } from '../errors';
import { readCube, type Cube } from '../io/cube';
import { readStructure } from '../structure/registry';
import { checkSpinUnpolarised, qeFileFacts } from './calculation-context';
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
  /** "number of electrons" a pw.x output prints. */
  numberOfElectrons?: number;
  /** tot_charge of a pw.x input's &SYSTEM (0 when absent). */
  totCharge?: number;
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
  const read = readStructure(file);
  const atoms = read.atoms;
  const f = qeFileFacts(read);
  if (!f.kind) throw new MalaError(`not a Quantum ESPRESSO pw.x input or output (read as ${read.format})`, { file, fix: 'pass the pw.x input or output of the calculation' });
  checkSpinUnpolarised(read, file);
  if (f.ecutrhoRy === undefined) throw new MalaError('no density cutoff (ecutwfc/ecutrho) in the QE file', { file, fix: 'pass the pw.x input or output of the calculation' });
  const base = {
    cellAngstrom: atoms.cellAngstrom.map((r) => [...r]),
    positionsAngstrom: atoms.positionsAngstrom.map((p) => [...p]),
    species: [...atoms.symbols],
    pseudopotentialFiles: f.pseudopotentialFiles ?? {},
    ecutrhoRy: f.ecutrhoRy,
  };
  const o = read.qeOutput;
  if (o) {
    const e = o.energiesRy;
    return {
      ...base,
      grid: o.fftGrid,
      numberOfElectrons: o.numberOfElectrons,
      gVectorCount: o.denseGVectorCount,
      printedEnergiesRy: { total: e.total, smearing: e.smearingContribution, oneElectron: e.oneElectron, hartree: e.hartree, xc: e.xc, ewald: e.ewald },
    };
  }
  const totCharge = read.qeInput?.namelists.system?.tot_charge;
  return { ...base, pseudoDir: f.pseudoDir, grid: read.qeInput?.fftGrid, totCharge: typeof totCharge === 'number' ? totCharge : undefined };
}

export interface GridDensity {
  grid: [number, number, number];
  /** (nx, ny, nz), z fastest, 1/Å³. */
  densityPerA3: Float64Array;
  /** A cube's header (cell, atoms): what structure the density is of. */
  header?: Omit<Cube, 'data'>;
}

/** Gaussian cube from pp.x (Bohr units, z fastest) → density in 1/Å³. */
export function readDensityCube(file: string): GridDensity {
  const c = readCube(file);
  const toA3 = 1 / bohrAngstrom ** 3;
  const densityPerA3 = new Float64Array(c.data.length);
  for (let i = 0; i < densityPerA3.length; i++) densityPerA3[i] = c.data[i] * toA3;
  const { data: _values, ...header } = c;
  return { grid: [c.shape[0], c.shape[1], c.shape[2]], densityPerA3, header };
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
