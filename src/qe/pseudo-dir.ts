/**
 * Where the pseudopotentials are: ONE rule for every command (predict, pw, energy, generate,
 * watch, the calculator). It is pw.x's own, plus the folders pw.x is usually run from:
 *
 *   1. `--pseudo-dir DIR` (relative to the working directory), and nothing else when given;
 *   2. pw.x's folder: `pseudo_dir` of &CONTROL (relative to the working directory, `~` expanded),
 *      else $ESPRESSO_PSEUDO, else $HOME/espresso/pseudo;
 *   3. a relative `pseudo_dir` read from the input file's folder (pw.x is usually run there: job
 *      scripts, ASE's Espresso calculator, MALA's recreate_data);
 *   4. the structure file's own folder (where QE also looks on a restart, pseudo_dir_cur).
 *
 * The first candidate that holds every file wins. `mala-ts pw` is pw.x and uses only the first.
 */
import * as os from 'node:os';
import * as path from 'node:path';
import { MalaError } from '../errors';

export interface PseudoDirRequest {
  /** --pseudo-dir */
  explicit?: string;
  /** `pseudo_dir` of the pw.x input's &CONTROL. */
  inputPseudoDir?: string;
  /** The structure file (its folder is a candidate); none for standard input or atoms. */
  structureFile?: string;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
}

export interface PseudoDirCandidate {
  dir: string;
  /** Why this folder: '--pseudo-dir', 'pseudo_dir in &CONTROL', '$ESPRESSO_PSEUDO', ... */
  from: string;
}

/** The candidate folders, in the order of the rule above, without repeats. */
export function pseudoDirCandidates(r: PseudoDirRequest): PseudoDirCandidate[] {
  const cwd = r.cwd ?? process.cwd();
  const env = r.env ?? process.env;
  const home = env.HOME ?? os.homedir();
  const resolveFrom = (base: string, d: string) => path.resolve(base, d.trim().replace(/^~(?=\/|$)/, home));
  if (r.explicit) return [{ dir: resolveFrom(cwd, r.explicit), from: '--pseudo-dir' }];
  const out: PseudoDirCandidate[] = [];
  const add = (c: PseudoDirCandidate) => {
    if (!out.some((o) => o.dir === c.dir)) out.push(c);
  };
  const fromInput = r.inputPseudoDir?.trim() ? r.inputPseudoDir : undefined;
  if (fromInput) add({ dir: resolveFrom(cwd, fromInput), from: 'pseudo_dir in &CONTROL' });
  else if (env.ESPRESSO_PSEUDO) add({ dir: resolveFrom(cwd, env.ESPRESSO_PSEUDO), from: '$ESPRESSO_PSEUDO' });
  else add({ dir: path.join(home, 'espresso', 'pseudo'), from: "pw.x's default $HOME/espresso/pseudo" });
  if (r.structureFile) {
    const folder = path.dirname(path.resolve(cwd, r.structureFile));
    if (fromInput) add({ dir: resolveFrom(folder, fromInput), from: "pseudo_dir in &CONTROL, read from the input file's folder" });
    add({ dir: folder, from: "the structure file's folder" });
  }
  return out;
}

/**
 * The first candidate for which `load(dir)` succeeds (e.g. reading the UPF files), with what it
 * returned; else one error naming every folder tried and why the first failed.
 */
export function firstPseudoDir<T>(r: PseudoDirRequest, load: (dir: string) => T): { dir: string; from: string; value: T } {
  const candidates = pseudoDirCandidates(r);
  let first: unknown;
  for (const c of candidates) {
    try {
      return { ...c, value: load(c.dir) };
    } catch (e) {
      if (!(e instanceof MalaError)) throw e;
      first ??= e;
    }
  }
  const e = first as MalaError;
  const tried = candidates.map((c) => `${c.dir} (${c.from})`).join(', ');
  throw new MalaError(candidates.length > 1 ? `${e.message}; also tried ${tried}` : e.message, {
    file: e.file,
    fix: e.fix ?? 'pass --pseudo-dir DIR with the UPF files, or set pseudo_dir in &CONTROL',
    cause: e,
  });
}
