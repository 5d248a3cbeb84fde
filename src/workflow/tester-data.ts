/**
 * The snapshots `mala-ts test` reads from a data folder, and their checks before any work: what
 * `mala-ts generate` writes (<name>.in.npy descriptors, <name>.out.npy LDOS, <name>.info.json,
 * <name>.pw.scf.out) and MALA's own layout (<name>.out = the pw.x output, as in its Be2 data).
 * A folder without any .npy holds QE references only: each <name>.pw.scf.out (with its
 * info.json, when there is one) is a snapshot whose descriptors are computed from its atoms and
 * whose errors are against QE's numbers alone (no LDOS, so no DOS or density errors). Such a
 * folder is a few kB per frame where the LDOS is megabytes: models/al-fcc-broad/validation-qe.
 * Every problem is one MalaError naming the file and the fix.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MalaError } from '../errors';
import { NpyFile } from '../io/npy';

export interface SnapshotFiles {
  name: string;
  /** <name>.in.npy: (nx, ny, nz, F) or (nx, ny, nz, 3 + F) with MALA's xyz columns; none in a QE-reference folder. */
  descriptorsFile?: string;
  /** <name>.out.npy: (nx, ny, nz, N_E), 1/(eV·Å³); none in a QE-reference folder. */
  ldosFile?: string;
  /** <name>.pw.scf.out (mala-ts generate) or <name>.out (MALA's data). */
  structureFile: string;
  /** <name>.info.json, when there is one (QE's eigenvalue band energy, E_F). */
  infoFile?: string;
}

const LAYOUT_FIX = 'pass a folder written by mala-ts generate: <name>.in.npy (descriptors), <name>.out.npy (LDOS) and <name>.pw.scf.out (pw.x output) per snapshot; or a folder of pw.x outputs (<name>.pw.scf.out, no .npy) to test against QE\'s numbers alone';
const QE_OUTPUT = '.pw.scf.out';

/** Natural order: Al4_298K_2 before Al4_298K_10. */
function naturalCompare(a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true });
}

/** `names` (in their order, each once) when every one is among `all`, else one error naming those that are not; none named: all. */
function chooseSnapshots(all: string[], names: readonly string[] | undefined, dataDir: string, missing: (unknown: string[]) => string): string[] {
  if (!names || names.length === 0) return all;
  const unknown = names.filter((n) => !all.includes(n));
  if (unknown.length > 0) throw new MalaError(`--snapshots: ${missing(unknown)} in the data folder`, { file: dataDir, fix: `choose from ${all.join(', ')}` });
  return [...new Set(names)];
}

/** The snapshots of `dataDir` (all, or those named, in the order named). */
export function findSnapshots(dataDir: string, names?: readonly string[]): SnapshotFiles[] {
  let st: fs.Stats;
  try {
    st = fs.statSync(dataDir);
  } catch {
    throw new MalaError('data folder not found', { file: dataDir, fix: `check the path; ${LAYOUT_FIX}` });
  }
  if (!st.isDirectory()) throw new MalaError('--data must be a folder, not a file', { file: dataDir, fix: LAYOUT_FIX });
  const files = new Set(fs.readdirSync(dataDir));
  const stems = (ext: string) => [...files].filter((f) => f.endsWith(ext) && f.length > ext.length).map((f) => f.slice(0, -ext.length));
  const inputs = new Set(stems('.in.npy'));
  const outputs = new Set(stems('.out.npy'));
  const all = [...new Set([...inputs, ...outputs])].sort(naturalCompare);
  // no .npy at all: a folder of QE references (a generate folder with a frame in progress still has its other frames' .npy)
  if (all.length === 0) return qeReferenceSnapshots(dataDir, files, stems(QE_OUTPUT).sort(naturalCompare), names);
  return chooseSnapshots(all, names, dataDir, (u) => `no snapshot ${u.join(', ')}`).map((name) => {
    const at = (f: string) => path.join(dataDir, f);
    if (!outputs.has(name)) throw new MalaError(`snapshot ${name} has descriptors but no LDOS`, { file: at(`${name}.out.npy`), fix: `put the snapshot's LDOS there (mala-ts generate writes it), or leave ${name} out with --snapshots` });
    if (!inputs.has(name)) throw new MalaError(`snapshot ${name} has an LDOS but no descriptors`, { file: at(`${name}.in.npy`), fix: `compute them with the model's parameters (mala-ts descriptors, or mala-ts generate), or leave ${name} out with --snapshots` });
    const structure = [`${name}.pw.scf.out`, `${name}.out`].find((f) => files.has(f));
    if (!structure) {
      throw new MalaError(`snapshot ${name} has no pw.x output (${name}.pw.scf.out or ${name}.out): the temperature, electron count, cell and atoms come from it`, {
        file: at(`${name}.pw.scf.out`),
        fix: 'put the pw.x output of the snapshot there (mala-ts generate writes it)',
      });
    }
    const info = `${name}.info.json`;
    return { name, descriptorsFile: at(`${name}.in.npy`), ldosFile: at(`${name}.out.npy`), structureFile: at(structure), infoFile: files.has(info) ? at(info) : undefined };
  });
}

/** The snapshots of a folder of pw.x outputs (no .npy): descriptors from the atoms, errors against QE's numbers. */
function qeReferenceSnapshots(dataDir: string, files: ReadonlySet<string>, all: string[], names?: readonly string[]): SnapshotFiles[] {
  if (all.length === 0) throw new MalaError(`no snapshots in the data folder (no <name>.in.npy / <name>.out.npy files, and no <name>${QE_OUTPUT} pw.x outputs)`, { file: dataDir, fix: LAYOUT_FIX });
  return chooseSnapshots(all, names, dataDir, (u) => `no pw.x output ${u.map((n) => n + QE_OUTPUT).join(', ')}`).map((name) => {
    const info = `${name}.info.json`;
    return { name, structureFile: path.join(dataDir, name + QE_OUTPUT), infoFile: files.has(info) ? path.join(dataDir, info) : undefined };
  });
}

export type SnapshotWithLdos = SnapshotFiles & { descriptorsFile: string; ldosFile: string };

/** A snapshot with its descriptors and LDOS files (not a QE reference). */
export const hasLdos = (s: SnapshotFiles): s is SnapshotWithLdos => s.descriptorsFile !== undefined && s.ldosFile !== undefined;

function npyShape(file: string): number[] {
  const f = new NpyFile(file);
  try {
    return [...f.shape];
  } finally {
    f.close();
  }
}

/**
 * The shapes of one snapshot against the model, from the .npy headers only: descriptor features,
 * LDOS energies, and the same grid for descriptors and LDOS. Returns the grid.
 */
export function checkSnapshotShapes(s: SnapshotWithLdos, model: { nFeatures: number; nEnergies: number; source: string }): [number, number, number] {
  const d = npyShape(s.descriptorsFile);
  const l = npyShape(s.ldosFile);
  if (d.length !== 4) throw new MalaError(`descriptors have shape (${d.join(', ')}); expected (nx, ny, nz, features)`, { file: s.descriptorsFile, fix: 'use descriptors on the 3-D grid, as mala-ts generate or mala-ts descriptors write them' });
  if (l.length !== 4) throw new MalaError(`LDOS has shape (${l.join(', ')}); expected (nx, ny, nz, energies)`, { file: s.ldosFile, fix: 'use the LDOS on the 3-D grid, as mala-ts generate writes it' });
  const F = d[3];
  if (F !== model.nFeatures && F !== model.nFeatures + 3) {
    throw new MalaError(`descriptors have ${F} features per point but the model ${model.source} expects ${model.nFeatures} (or ${model.nFeatures + 3} with xyz columns)`, {
      file: s.descriptorsFile,
      fix: "compute the descriptors with the model's parameters (mala-ts descriptors), or test the model these descriptors were made for",
    });
  }
  if (l[3] !== model.nEnergies) {
    throw new MalaError(`LDOS has ${l[3]} energies per point but the model ${model.source} predicts ${model.nEnergies}`, {
      file: s.ldosFile,
      fix: "make the LDOS on the model's energy grid (mala-ts model-info shows it; mala-ts generate --energy-grid)",
    });
  }
  if (d[0] !== l[0] || d[1] !== l[1] || d[2] !== l[2]) {
    throw new MalaError(`the grids do not match: descriptors ${d.slice(0, 3).join('×')} (${path.basename(s.descriptorsFile)}), LDOS ${l.slice(0, 3).join('×')} (${path.basename(s.ldosFile)})`, {
      file: s.ldosFile,
      fix: 'descriptors and LDOS must be of the same snapshot on the same FFT grid; regenerate the snapshot (mala-ts generate)',
    });
  }
  return [d[0], d[1], d[2]];
}

/** QE's own numbers for a snapshot: E_F and "!" energy from the pw.x output; the eigenvalue band energy from info.json. */
export interface QeReference {
  fermiEnergyEv?: number;
  totalEnergyEv?: number;
  /** MALA's band_energy_dft_calculation (Σ w f ε, info.json), when present. */
  bandEnergyEv?: number;
  /** Where each came from. */
  sources: string[];
}

/** The snapshot's info.json ({} when it has none). */
function readInfo(s: SnapshotFiles): Record<string, unknown> {
  if (!s.infoFile) return {};
  try {
    return JSON.parse(fs.readFileSync(s.infoFile, 'utf8')) as Record<string, unknown>;
  } catch (e) {
    throw new MalaError(`cannot read ${path.basename(s.infoFile)}: ${(e as Error).message}`, { file: s.infoFile, fix: 'regenerate the snapshot, or delete the broken info.json', cause: e });
  }
}

/**
 * The electronic temperature of the QE run (K) from info.json's `temperature` (MALA's field, full
 * precision), when it has one. The pw.x output prints degauss with 4 decimals only: 0.0006 Ry is
 * 94.7 K for a 100 K run, 0.0019 Ry 300.0 K for 298 K.
 */
export function infoTemperatureK(s: SnapshotFiles): number | undefined {
  const t = readInfo(s).temperature;
  return typeof t === 'number' && t > 0 ? t : undefined;
}

/** info.json's values (full precision) first, else the pw.x output's printed ones. */
export function qeReference(s: SnapshotFiles, output: { fermiEnergyEv?: number; totalEnergyEv?: number }): QeReference {
  const info = readInfo(s);
  const num = (k: string) => (typeof info[k] === 'number' ? (info[k] as number) : undefined);
  const r: QeReference = { sources: [] };
  const fromInfo = (k: string) => {
    const v = num(k);
    if (v !== undefined) r.sources.push(`${k} (${path.basename(s.infoFile!)})`);
    return v;
  };
  r.fermiEnergyEv = fromInfo('fermi_energy_dft');
  r.totalEnergyEv = fromInfo('total_energy_dft_calculation');
  r.bandEnergyEv = fromInfo('band_energy_dft_calculation');
  if (r.fermiEnergyEv === undefined && output.fermiEnergyEv !== undefined) {
    r.fermiEnergyEv = output.fermiEnergyEv;
    r.sources.push(`Fermi energy (${path.basename(s.structureFile)})`);
  }
  if (r.totalEnergyEv === undefined && output.totalEnergyEv !== undefined) {
    r.totalEnergyEv = output.totalEnergyEv;
    r.sources.push(`! total energy (${path.basename(s.structureFile)})`);
  }
  return r;
}
