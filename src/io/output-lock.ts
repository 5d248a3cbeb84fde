/**
 * One run per output folder (issue 14, P1): two commands writing the same `--out` at once mixed
 * their files (one run's density.cube next to the other's results.json). A run takes an exclusive
 * lock on its output folder before it writes there: a lock file next to the folder,
 * `.<name>.mala-ts-lock` (beside it, so that the folder holds only results, and a folder still to
 * be made is not made early), created with O_EXCL and holding the owner's pid and host. A second
 * run is refused, naming the folder and the other pid. The lock goes when the run ends (and at
 * exit or on SIGINT/SIGTERM: src/util/cleanup.ts); a lock whose process is gone (kill -9, a crash)
 * is taken over. Within one process the lock is re-entrant (watch, the calculator and tests run
 * predict repeatedly).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { MalaError } from '../errors';
import { registerTemp } from '../util/cleanup';

interface LockInfo {
  pid: number;
  host: string;
  started: string;
  command: string;
}

interface Held {
  file: string;
  count: number;
  unregister: () => void;
  createdParent?: string;
}

/** Lock file → this process's hold on it. */
const held = new Map<string, Held>();

/** The lock file of an output folder (its parent's real path, so two spellings share one lock). */
export function outputLockFile(dir: string): string {
  const abs = path.resolve(dir);
  let parent = path.dirname(abs);
  try {
    parent = fs.realpathSync(parent);
  } catch {
    // a parent still to be made: its spelled path
  }
  return path.join(parent, `.${path.basename(abs)}.mala-ts-lock`);
}

function readLock(file: string): LockInfo | undefined {
  try {
    const j = JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<LockInfo>;
    return typeof j.pid === 'number' ? (j as LockInfo) : undefined;
  } catch {
    return undefined;
  }
}

/** Whether the lock's owner may still run (another host: assumed so; a pid we may not signal: alive). */
function ownerAlive(info: LockInfo): boolean {
  if (info.host !== os.hostname()) return true;
  try {
    process.kill(info.pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function tryCreate(file: string, info: LockInfo): boolean {
  let fd: number;
  try {
    fd = fs.openSync(file, 'wx');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  }
  try {
    fs.writeSync(fd, `${JSON.stringify(info)}\n`);
  } finally {
    fs.closeSync(fd);
  }
  return true;
}

/**
 * Take the output folder `dir` for this run; throws a MalaError naming the folder and the other
 * run's pid when another live process holds it. Returns the release function (also safe to call
 * twice); `releaseOutputLock(dir)` does the same.
 */
export function lockOutputDir(dir: string, label = `--out ${dir}`): () => void {
  const file = outputLockFile(dir);
  const mine = held.get(file);
  if (mine) {
    mine.count++;
    return once(() => releaseLockFile(file));
  }
  const parent = path.dirname(file);
  let createdParent: string | undefined;
  if (!fs.existsSync(parent)) createdParent = fs.mkdirSync(parent, { recursive: true }) ?? undefined;
  const info: LockInfo = { pid: process.pid, host: os.hostname(), started: new Date().toISOString(), command: process.argv.slice(2).join(' ').slice(0, 300) };
  let taken = false;
  try {
    taken = tryCreate(file, info);
    if (!taken) {
      const other = readLock(file);
      if (other && ownerAlive(other)) {
        throw new MalaError(`${label} is in use by another mala-ts run (pid ${other.pid}${other.host !== info.host ? ` on ${other.host}` : ''}, since ${other.started}${other.command ? `: mala-ts ${other.command}` : ''}); two runs writing one folder would mix their files`, {
          file: dir,
          fix: `wait for that run to finish or write elsewhere (if no such run is going on, remove ${file})`,
        });
      }
      // the owner is gone (killed, crashed) or the file is unreadable: take it over. (Two runs
      // taking over the same stale lock at once: the O_EXCL create lets only one of them in.)
      fs.rmSync(file, { force: true });
      taken = tryCreate(file, info);
      if (!taken) {
        const now = readLock(file);
        throw new MalaError(`${label} was just taken by another mala-ts run (pid ${now?.pid ?? '?'})`, { file: dir, fix: 'wait for that run to finish or write elsewhere' });
      }
    }
  } catch (e) {
    if (!taken && createdParent) removeEmptyDirs(createdParent, parent);
    if (e instanceof MalaError) throw e;
    const code = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
    throw new MalaError(`${label}: cannot create the lock file ${file} (${code})`, { file: dir, fix: 'choose an output folder in a folder you can write to', cause: e });
  }
  held.set(file, { file, count: 1, unregister: registerTemp(file), createdParent });
  return once(() => releaseLockFile(file));
}

/** Release this process's hold on `dir`'s lock (no-op when it holds none). */
export function releaseOutputLock(dir: string): void {
  releaseLockFile(outputLockFile(dir));
}

function releaseLockFile(file: string): void {
  const h = held.get(file);
  if (!h || --h.count > 0) return;
  held.delete(file);
  // only our own lock (a takeover after we were presumed dead is not ours to remove)
  if (readLock(file)?.pid === process.pid) fs.rmSync(file, { force: true });
  h.unregister();
  // folders the lock made that the run left empty (a run that failed before writing)
  if (h.createdParent) removeEmptyDirs(h.createdParent, path.dirname(file));
}

/** rmdir the empty folders from `leaf` up to and including `top` (those a lock created). */
function removeEmptyDirs(top: string, leaf: string): void {
  for (let d = leaf; ; d = path.dirname(d)) {
    try {
      fs.rmdirSync(d);
    } catch {
      return;
    }
    if (d === top || path.dirname(d) === d) return;
  }
}

function once(fn: () => void): () => void {
  let done = false;
  return () => {
    if (done) return;
    done = true;
    fn();
  };
}
