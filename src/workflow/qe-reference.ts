/**
 * A folder of QE references from snapshots `mala-ts generate` made: per snapshot its pw.x output
 * trimmed to what verbosity 'low' prints (src/io/pw-output-trim.ts), its info.json (QE's
 * eigenvalue band energy, E_F, temperature) and, when given, its pw.x input. `mala-ts test` tests
 * a model on such a folder as on the full data, against QE's numbers and forces (no LDOS), so a
 * validation set made once (hours of QE) stays usable where its LDOS is gone: a few kB per frame
 * can live in the repository, the LDOS (megabytes) cannot (issue 18).
 *
 * Every trimmed output is read back before it is written: the atoms, grid, cutoffs, smearing,
 * E_F, energies, forces and stress must equal the full output's, else nothing is written.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MalaError } from '../errors';
import { writeFileAtomic } from '../io/atomic-write';
import { trimPwOutput } from '../io/pw-output-trim';
import { parseQeOutput, qeForcesRyPerBohr, qeStressKbar } from '../structure/qe-output';

export interface QeReferenceOptions {
  /** The data folder generate wrote (<name>.pw.scf.out, <name>.info.json). */
  dataDir: string;
  names: readonly string[];
  outDir: string;
  /** Where each snapshot's pw.x input is (a function of its name), to keep beside it; none: no input kept. */
  inputOf?: (name: string) => string;
}

export interface QeReferenceFile {
  name: string;
  /** Bytes of the full and the trimmed pw.x output. */
  fullBytes: number;
  trimmedBytes: number;
}

/** What the tester reads from a pw.x output, as JSON (NaN-free) for the read-back comparison. */
function readBack(text: string, file: string): string {
  const o = parseQeOutput(text, file);
  return JSON.stringify({
    atoms: o.atoms,
    ecut: [o.ecutwfcRy, o.ecutrhoRy],
    smearing: [o.smearing, o.degaussRy],
    fermi: o.fermiEnergyEv,
    electrons: o.numberOfElectrons,
    grid: o.fftGrid,
    gVectors: o.denseGVectorCount,
    pseudopotentials: o.pseudopotentials,
    energies: o.energiesRy,
    converged: o.converged,
    forces: /Forces acting on atoms/.test(text) ? qeForcesRyPerBohr(text, file) : undefined,
    stress: qeStressKbar(text),
  });
}

/** Write the QE references of `names` into `outDir`; returns each one's sizes. */
export function writeQeReferences(o: QeReferenceOptions): QeReferenceFile[] {
  const at = (name: string, ext: string) => path.join(o.dataDir, `${name}${ext}`);
  // every input checked before anything is written
  for (const name of o.names) {
    for (const f of [at(name, '.pw.scf.out'), at(name, '.info.json'), ...(o.inputOf ? [o.inputOf(name)] : [])]) {
      if (!fs.existsSync(f)) throw new MalaError(`snapshot ${name}: ${path.basename(f)} is missing`, { file: f, fix: 'make the snapshot first (mala-ts generate; make al-broad-validation), or leave it out' });
    }
  }
  // every output trimmed and read back before the first file is written
  const trimmed = o.names.map((name) => {
    const source = at(name, '.pw.scf.out');
    const full = fs.readFileSync(source, 'utf8');
    if (!/JOB DONE/.test(full)) throw new MalaError(`snapshot ${name}: the pw.x output does not end with JOB DONE`, { file: source, fix: 'remake the snapshot (mala-ts generate resumes it)' });
    const { text } = trimPwOutput(full);
    if (readBack(text, source) !== readBack(full, source)) {
      throw new MalaError(`snapshot ${name}: the trimmed pw.x output does not read back as the full one`, { file: source, fix: 'report this: src/io/pw-output-trim.ts left out a line the reader needs' });
    }
    return { name, text, fullBytes: Buffer.byteLength(full) };
  });
  fs.mkdirSync(o.outDir, { recursive: true });
  const written: QeReferenceFile[] = [];
  for (const { name, text, fullBytes } of trimmed) {
    writeFileAtomic(path.join(o.outDir, `${name}.pw.scf.out`), text);
    writeFileAtomic(path.join(o.outDir, `${name}.info.json`), fs.readFileSync(at(name, '.info.json')));
    if (o.inputOf) writeFileAtomic(path.join(o.outDir, `${name}.pw.scf.in`), fs.readFileSync(o.inputOf(name)));
    written.push({ name, fullBytes, trimmedBytes: Buffer.byteLength(text) });
  }
  return written;
}
