/**
 * Where the project's own native builds live (the setup script puts them there) and how a user
 * overrides them. Shared by every loader in bindings/.
 */
import { spawnSync } from 'node:child_process';
import * as os from 'node:os';
import * as path from 'node:path';
import * as fs from 'node:fs';
import koffi from 'koffi';
import { MalaError } from '../src/errors';
import { packageRoot } from '../src/util/package-paths';

/** Cache folder of builds and downloads: $MALA_TS_CACHE, else $XDG_CACHE_HOME/mala-ts, else ~/.cache/mala-ts. */
export function cacheDir(): string {
  if (process.env.MALA_TS_CACHE) return process.env.MALA_TS_CACHE;
  const base = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(base, 'mala-ts');
}

/** Package root: the checkout, or the installed package (found the same way from src/ or dist/). */
export const repoRoot = packageRoot();

/** First existing file among candidates, or undefined. */
export function firstExisting(candidates: string[]): string | undefined {
  return candidates.find((c) => {
    try {
      return fs.statSync(c).isFile();
    } catch {
      return false;
    }
  });
}

/** Candidate paths of a Debian multiarch library (e.g. 'libfftw3.so.3'). */
export function systemLibraryCandidates(soname: string): string[] {
  const dirs = ['/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib64', '/usr/lib', '/usr/local/lib'];
  return dirs.map((d) => path.join(d, soname));
}

/**
 * A system library's path: the caller's explicit path, else the one in environment variable
 * `envVar`, else the first Debian multiarch location of `soname` that exists.
 */
export function findSystemLibrary(soname: string, envVar: string, libraryPath?: string): string | undefined {
  const explicit = [libraryPath, process.env[envVar]].filter((c): c is string => typeof c === 'string' && c.length > 0);
  return firstExisting(explicit.length ? explicit : systemLibraryCandidates(soname));
}

export interface NativeLibrarySpec {
  /** How users call it in messages, e.g. "FFTW3 library (libfftw3.so.3)". */
  label: string;
  /** Path found by the caller's search, if any. */
  found: string | undefined;
  /** What the user asked for (argument or environment variable), for the message. */
  wanted?: string;
  /** One sentence: how to get the library when it is missing. */
  missingFix: string;
  /** One sentence: what to do when the file exists but does not load. */
  brokenFix: string;
}

/** koffi.load with the project's two clear errors: not found, and found but not loadable. */
/** How loading `file` ends a process ('aborted it (SIGABRT)', 'made it exit with status 1: …'), or undefined when it loads or fails with a catchable error. */
function loadKillsProcess(file: string): string | undefined {
  const script = "try { require(process.argv[1]).load(process.argv[2]); } catch { process.stdout.write('caught'); process.exit(0); } process.stdout.write('loaded');";
  const r = spawnSync(process.execPath, ['-e', script, require.resolve('koffi'), file], { encoding: 'utf8', timeout: 60000 });
  if (r.status === 0 && /^(loaded|caught)$/.test(r.stdout)) return undefined;
  const said = (r.stderr ?? '').trim().split('\n').slice(-2).join(' ').slice(0, 300);
  const how = r.signal ? `aborted the process (${r.signal})` : `made the process exit with status ${r.status}`;
  return said ? `${how} after printing: ${said}` : how;
}

export function openNativeLibrary(spec: NativeLibrarySpec): ReturnType<typeof koffi.load> & { path: string } {
  if (!spec.found) {
    throw new MalaError(spec.wanted ? `${spec.label} not found at ${spec.wanted}` : `${spec.label} not found`, { file: spec.wanted, fix: spec.missingFix });
  }
  // a library the user chose is loaded once in a child first: one whose initialisation aborts or
  // exits would otherwise end this process (and `doctor`) without a word
  // (not inside an MPI job: a fork there can upset the MPI transport)
  const inMpiJob = ['OMPI_COMM_WORLD_SIZE', 'PMI_RANK', 'PMIX_RANK'].some((k) => process.env[k] !== undefined);
  if (spec.wanted && !inMpiJob) {
    const died = loadKillsProcess(spec.found);
    if (died) throw new MalaError(`${spec.label} ${spec.found} fails in its own initialisation code: loading it ${died}`, { file: spec.found, fix: spec.brokenFix });
  }
  try {
    return Object.assign(koffi.load(spec.found), { path: spec.found });
  } catch (e) {
    throw new MalaError(`cannot load ${spec.label} ${spec.found}: ${(e as Error).message}`, { file: spec.found, fix: spec.brokenFix, cause: e });
  }
}

/**
 * Free space Open MPI needs in TMPDIR to start (its session folder and PMIx's shared-memory
 * files): with 8 MB free MPI_Init aborted the process natively (`doctor` included), 16 MB worked
 * (Open MPI 4.1, PMIx 3).
 */
export const mpiTempBytesNeeded = 16 * 2 ** 20;
let mpiTempChecked = false;

/** Before the first MPI start of this process (LAMMPS' singleton, the MPI addon): refuse a TMPDIR too full for it. */
export function checkMpiTempSpace(what: string): void {
  if (mpiTempChecked) return;
  const dir = os.tmpdir();
  let freeBytes: number;
  try {
    const s = fs.statfsSync(dir);
    freeBytes = s.bavail * s.bsize;
  } catch {
    return; // no such folder: MPI falls back or says so itself
  }
  if (freeBytes < mpiTempBytesNeeded) {
    throw new MalaError(`${dir} (TMPDIR) has ${(freeBytes / 2 ** 20).toFixed(2)} MB free, but MPI needs about ${mpiTempBytesNeeded / 2 ** 20} MB there to start (${what}): it would abort inside MPI_Init`, {
      file: dir,
      fix: 'free space there, or set TMPDIR to a folder with room',
    });
  }
  mpiTempChecked = true;
}
