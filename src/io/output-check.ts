/**
 * Check outputs first: every command validates the paths it will write BEFORE it computes
 * anything, so a bad --out costs a second, not a training run. One check per path:
 *
 *   - a file output is not a folder and not a special file (/dev/full, a FIFO, /proc/…);
 *   - a folder output is not an existing file;
 *   - the nearest existing folder above it accepts a new file (a probe file is created and
 *     removed: this catches read-only mounts, permissions, /proc, where access() would not);
 *   - it is not the same file as one of the command's inputs;
 *   - with `expectedBytes`, the file system has that much free space.
 *
 * Nothing is created except the probe; the writers create missing folders when they write.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MalaError } from '../errors';

export interface OutputTarget {
  /** The path as the user gave it. */
  path: string;
  /** A file is written there, or a folder that will hold files. */
  kind: 'file' | 'dir';
  /** The option that named it, for the message (e.g. '--out'). */
  flag: string;
  /** Approximate size of the file, for the free-space check. */
  expectedBytes?: number;
  /** What to do when there is not enough room (default: free space or write elsewhere). */
  spaceFix?: string;
}

function statOrUndefined(p: string): fs.Stats | undefined {
  try {
    return fs.statSync(p);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    if (code === 'ENOTDIR') throw new MalaError(`cannot write ${p}: a part of the path is a file, not a folder`, { file: p, fix: 'choose a path whose folders are folders' });
    if (code === 'ELOOP') throw new MalaError(`cannot write ${p}: the path has a symbolic link loop`, { file: p, fix: 'choose another path' });
    throw new MalaError(`cannot write ${p}: ${(e as Error).message}`, { file: p, fix: 'choose a path you can write to', cause: e });
  }
}

function kindOf(st: fs.Stats): string {
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isFIFO()) return 'a FIFO (named pipe)';
  if (st.isSocket()) return 'a socket';
  return 'not a regular file';
}

/** Kernel pseudo file systems: nothing there is an output. */
const PSEUDO_ROOTS = ['/proc', '/sys', '/dev'];

function inPseudoFs(abs: string): string | undefined {
  if (abs === '/dev/shm' || abs.startsWith('/dev/shm/')) return undefined; // a tmpfs, fine for files
  return PSEUDO_ROOTS.find((r) => abs === r || abs.startsWith(`${r}/`));
}

/** The nearest existing ancestor of `abs` (itself when it exists); must be a folder. */
function existingAncestor(abs: string, t: OutputTarget): string {
  let dir = path.dirname(abs);
  for (;;) {
    const st = statOrUndefined(dir);
    if (st) {
      if (!st.isDirectory()) throw new MalaError(`${t.flag} ${t.path}: ${dir} is a file, not a folder`, { file: t.path, fix: `choose a ${t.kind === 'dir' ? 'folder' : 'file'} path that is not inside a file` });
      return dir;
    }
    const up = path.dirname(dir);
    if (up === dir) return dir;
    dir = up;
  }
}

/** Create and remove a probe file in `dir`: the one test that read-only mounts, ACLs and /proc all answer truthfully. */
function probeWritable(dir: string, t: OutputTarget): void {
  const probe = path.join(dir, `.mala-ts-probe-${process.pid}-${Math.random().toString(36).slice(2, 8)}`);
  try {
    fs.closeSync(fs.openSync(probe, 'wx'));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'EROFS' ? 'is on a read-only file system' : code === 'EACCES' || code === 'EPERM' ? 'is not writable by you' : code === 'ENOSPC' || code === 'EDQUOT' ? 'is on a full file system' : `does not accept new files (${code ?? (e as Error).message})`;
    throw new MalaError(`${t.flag} ${t.path}: the folder ${dir} ${why}`, { file: t.path, fix: 'choose an output path in a folder you can write to' });
  }
  fs.rmSync(probe, { force: true });
}

function checkFreeSpace(dir: string, t: OutputTarget): void {
  if (!t.expectedBytes || typeof fs.statfsSync !== 'function') return;
  let freeBytes: number;
  try {
    const s = fs.statfsSync(dir);
    freeBytes = Number(s.bavail) * Number(s.bsize);
  } catch {
    return; // unknown: the writer reports ENOSPC if it comes to that
  }
  if (freeBytes < t.expectedBytes) {
    const gb = (b: number) => `${(b / 1e9).toFixed(b < 1e9 ? 3 : 1)} GB`;
    throw new MalaError(`${t.flag} ${t.path} needs about ${gb(t.expectedBytes)}, but ${dir} has ${gb(freeBytes)} free`, { file: t.path, fix: t.spaceFix ?? 'free space there or write to another file system' });
  }
}

/** Same file as an input (hard links and symlinks included), when the output exists. */
function sameFile(out: fs.Stats, input: string): boolean {
  const st = statOrUndefinedQuiet(input);
  return st !== undefined && st.dev === out.dev && st.ino === out.ino;
}

function statOrUndefinedQuiet(p: string): fs.Stats | undefined {
  try {
    return fs.statSync(p);
  } catch {
    return undefined;
  }
}

/** Check one output; throws a MalaError naming the path, the problem and the fix. */
export function checkOutput(t: OutputTarget, inputs: readonly (string | undefined)[] = []): void {
  if (!t.path || t.path.trim() === '') throw new MalaError(`${t.flag} needs a path`, { fix: `e.g. ${t.flag} ${t.kind === 'dir' ? 'results' : 'out.npy'}` });
  const abs = path.resolve(t.path);
  const st = statOrUndefined(abs);
  if (st && t.kind === 'file' && !st.isFile() && !st.isDirectory()) throw new MalaError(`${t.flag} ${t.path} is ${kindOf(st)}, not a regular file`, { file: t.path, fix: 'write to a regular file' });
  const pseudo = inPseudoFs(abs);
  if (pseudo) {
    throw new MalaError(`${t.flag} ${t.path} is inside ${pseudo}, a kernel file system, not a place for results`, { file: t.path, fix: 'write to a folder on a disk' });
  }
  if (st) {
    if (t.kind === 'file') {
      if (st.isDirectory()) throw new MalaError(`${t.flag} ${t.path} is a folder; a file is written there`, { file: t.path, fix: 'give a file name (or remove the folder)' });
      const same = inputs.find((i) => i !== undefined && sameFile(st, i));
      if (same !== undefined) throw new MalaError(`${t.flag} ${t.path} is the input file ${same}: writing it would destroy the input`, { file: t.path, fix: 'choose another output name' });
    } else if (!st.isDirectory()) {
      throw new MalaError(`${t.flag} ${t.path} is ${st.isFile() ? 'a file' : kindOf(st)}; a folder is needed there`, { file: t.path, fix: 'give a folder name (or remove the file)' });
    }
  }
  // files are written in the target's folder (atomic rename), folders are created in their parent
  const dir = st && t.kind === 'dir' ? abs : existingAncestor(abs, t);
  probeWritable(dir, t);
  checkFreeSpace(dir, t);
}

/** Where a path will land: its real path, or its real parent folder plus its name when it does not exist yet. */
function landingPath(p: string): string {
  const abs = path.resolve(p);
  try {
    return fs.realpathSync(abs);
  } catch {
    try {
      return path.join(fs.realpathSync(path.dirname(abs)), path.basename(abs));
    } catch {
      return abs;
    }
  }
}

/** Two outputs on one path: the second writer would silently replace the first one's file. */
function checkDistinct(targets: readonly OutputTarget[]): void {
  const seen = new Map<string, OutputTarget>();
  for (const t of targets) {
    if (!t.path || t.path.trim() === '') continue;
    const key = landingPath(t.path);
    const first = seen.get(key);
    if (first) {
      const flags = first.flag === t.flag ? `${t.flag} is given twice and` : `${first.flag} and ${t.flag}`;
      throw new MalaError(`${flags} both name ${t.path}: the second output would overwrite the first`, { file: t.path, fix: `give ${t.flag} another path` });
    }
    seen.set(key, t);
  }
}

/** Check every output of a command before it computes; `inputs` are the files it reads. Two outputs may not share a path. */
export function checkOutputs(targets: readonly OutputTarget[], inputs: readonly (string | undefined)[] = []): void {
  checkDistinct(targets);
  for (const t of targets) checkOutput(t, inputs);
}
