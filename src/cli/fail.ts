/**
 * How the CLI ends on an error: a MalaError prints its message and fix (exit 1); a system error
 * a user can fix (disk full, read-only, permissions, a closed pipe…) becomes one such message
 * too; anything else is a bug (exit 2). Stack traces only with --debug (or MALA_TS_DEBUG=1).
 */
import { isMalaError, MalaError, printableText } from '../errors';
import { interruptedBy, signalExitCode } from '../util/cleanup';

/** The fix for each errno a user can do something about. */
const SYSTEM_ERRORS: Record<string, { what: (p: string) => string; fix: string }> = {
  ENOSPC: { what: (p) => `no space left on the device while writing ${p}`, fix: 'free space or write elsewhere; a temporary LDOS spill goes to $TMPDIR (point TMPDIR to a larger disk, or raise --memory to keep it in memory)' },
  EDQUOT: { what: (p) => `disk quota exceeded while writing ${p}`, fix: 'free space in your quota or write elsewhere' },
  EROFS: { what: (p) => `${p} is on a read-only file system`, fix: 'write to a folder on a writable disk' },
  EACCES: { what: (p) => `permission denied: ${p}`, fix: 'choose a path you may write (or read), or fix its permissions' },
  EPERM: { what: (p) => `operation not permitted: ${p}`, fix: 'choose a path you may write, or fix its permissions' },
  EISDIR: { what: (p) => `${p} is a folder where a file is needed`, fix: 'give a file name' },
  ENOTDIR: { what: (p) => `a part of ${p} is a file where a folder is needed`, fix: 'check the path' },
  EEXIST: { what: (p) => `${p} already exists`, fix: 'remove it or choose another name' },
  EFBIG: { what: (p) => `${p} grew beyond the largest file allowed (ulimit -f, or the file system's limit)`, fix: 'raise the limit (ulimit -f unlimited) or write to another file system' },
  EPIPE: { what: (p) => `${p} was closed before everything was written`, fix: 'keep the reading end of the pipe open until mala-ts exits' },
  EMFILE: { what: (p) => `too many open files (${p})`, fix: 'raise the limit: ulimit -n 4096' },
};

function errnoOf(e: unknown): NodeJS.ErrnoException | undefined {
  for (let x = e as NodeJS.ErrnoException | undefined, depth = 0; x && depth < 5; x = (x as { cause?: NodeJS.ErrnoException }).cause, depth++) {
    if (typeof x.code === 'string' && x.code in SYSTEM_ERRORS) return x;
  }
  return undefined;
}

/** A user-fixable system error (ENOSPC, EROFS, EACCES, …) as a MalaError; undefined for others. */
export function systemErrorToMala(e: unknown): MalaError | undefined {
  if (isMalaError(e)) return undefined;
  const x = errnoOf(e);
  if (!x) return undefined;
  const s = SYSTEM_ERRORS[x.code!];
  const where = x.path ?? (x as { dest?: string }).dest ?? (x.syscall === 'write' ? 'the output pipe or file' : 'a file');
  const stdio = where === 'standard output' || where === 'standard error';
  const fix = stdio && x.code !== 'EPIPE' ? `redirect ${where} to a file on a disk with room (or to a program that reads it)` : s.fix;
  return new MalaError(`${s.what(where)} (${x.code}${x.syscall ? ` in ${x.syscall}` : ''})`, { fix, cause: e });
}

/** The text the CLI prints for `e` and its exit status. */
export function describeFailure(e: unknown, debug: boolean): { text: string; exitCode: number } {
  const signal = interruptedBy();
  const stack = debug && e instanceof Error && e.stack ? `\n${e.stack}` : '';
  if (signal) {
    // a step that knows it was interrupted says what it was doing (and how to resume); anything else is a consequence
    const text = isMalaError(e) && e.message.startsWith('interrupted') ? e.describe() : `interrupted (${signal})`;
    return { text: `mala-ts: ${text}${stack}\n`, exitCode: signalExitCode(signal) };
  }
  const mala = isMalaError(e) ? e : systemErrorToMala(e);
  if (mala) return { text: `mala-ts: error: ${mala.describe()}${stack}\n`, exitCode: 1 };
  const msg = printableText(e instanceof Error ? e.message : String(e));
  return { text: `mala-ts: internal error (please report): ${debug ? (e as Error)?.stack ?? msg : `${msg}\n  (run with --debug for the stack trace)`}\n`, exitCode: 2 };
}

let debugMode = false;

/** --debug (anywhere on the command line) or MALA_TS_DEBUG=1: removed from argv, remembered for `fail`. */
export function takeDebugFlag(argv: string[]): string[] {
  const rest = argv.filter((a) => a !== '--debug');
  debugMode = rest.length !== argv.length || process.env.MALA_TS_DEBUG === '1';
  return rest;
}

export function debugEnabled(): boolean {
  return debugMode;
}

/** Print the failure and exit (registered temporary files go with the process' exit hook). */
export function fail(e: unknown): never {
  const { text, exitCode } = describeFailure(e, debugMode);
  try {
    process.stderr.write(text);
  } catch {
    // stderr itself is gone: the exit status still tells
  }
  process.exit(exitCode);
}
