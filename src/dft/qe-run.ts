/**
 * Running Quantum ESPRESSO programs (pw.x, pp.x) as child processes: optional MPI
 * (`mpirun -np N`, with --allow-run-as-root when we are root), k-point pools, the program's
 * standard output streamed to a file and to a line callback (progress), and failures turned
 * into one MalaError quoting the lines of QE's output that say what went wrong.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type execa = require('execa');
import { MalaError } from '../errors';
import { interruptedBy, onInterrupt } from '../util/cleanup';
import { passAutogroupNice } from '../util/autogroup';

export interface QeRunOptions {
  /** Program name or path, e.g. 'pw.x'. */
  program: string;
  /** Input file (passed with -in), relative to cwd or absolute. */
  inputFile: string;
  /** Where stdout+stderr go (overwritten). */
  outputFile: string;
  cwd: string;
  /** MPI ranks; 1 runs the program directly. */
  np?: number;
  /** k-point pools (-nk); only > 1 with np > 1. */
  pools?: number;
  /** Extra environment (OMP_NUM_THREADS=1 is always set: QE+MPI with threads oversubscribes). */
  env?: Record<string, string>;
  /** Called for every output line as it arrives. */
  onLine?: (line: string) => void;
  /** Kill after this many seconds. */
  timeoutS?: number;
  /** mpirun executable (default 'mpirun'). */
  mpirun?: string;
}

export interface QeRunResult {
  wallSeconds: number;
  output: string;
}

/** The argv of a QE run (exported for tests and for the report of what was run). */
export function qeCommandLine(o: Pick<QeRunOptions, 'program' | 'inputFile' | 'np' | 'pools' | 'mpirun'>): string[] {
  const np = o.np ?? 1;
  const prog = [o.program];
  if ((o.pools ?? 1) > 1 && np > 1) prog.push('-nk', String(o.pools));
  prog.push('-in', o.inputFile);
  if (np <= 1) return prog;
  const mpi = [o.mpirun ?? 'mpirun'];
  if (typeof process.getuid === 'function' && process.getuid() === 0) mpi.push('--allow-run-as-root');
  // oversubscribe: a user may ask for more ranks than cores reported to Open MPI (e.g. in containers)
  mpi.push('--oversubscribe', '-np', String(np));
  return [...mpi, ...prog];
}

/**
 * The lines of a QE output that explain a failure: the %%%% error block, "convergence NOT
 * achieved", missing files, MPI aborts; else the last lines.
 */
export function qeFailureExcerpt(output: string, maxLines = 12): string {
  const lines = output.split(/\r?\n/);
  const picks: string[] = [];
  const block = lines.findIndex((l) => /^\s*%{20,}/.test(l));
  if (block >= 0) {
    let end = lines.findIndex((l, i) => i > block && /^\s*%{20,}/.test(l));
    if (end < 0) end = Math.min(lines.length - 1, block + 6);
    picks.push(...lines.slice(block, end + 1));
  }
  const patterns = [/convergence NOT achieved/i, /Error in routine/i, /file .* not found/i, /No such file/i, /cannot open/i, /MPI_ABORT/i, /not enough bands/i, /S matrix not positive definite/i, /too many bands/i, /Killed|Segmentation fault|SIGSEGV|oom/i];
  for (const [i, l] of lines.entries()) {
    if (patterns.some((p) => p.test(l)) && !picks.includes(l)) {
      picks.push(...lines.slice(Math.max(0, i - 1), i + 2).filter((x) => !picks.includes(x)));
    }
    if (picks.length >= maxLines) break;
  }
  const chosen = picks.length > 0 ? picks : lines.filter((l) => l.trim() !== '').slice(-maxLines);
  return chosen.slice(0, maxLines).map((l) => `    | ${l}`).join('\n');
}

/** Why a finished QE output is not a success, or undefined when it is. */
export function qeOutputProblem(program: string, output: string): string | undefined {
  if (/convergence NOT achieved/i.test(output)) return `${program} did not converge`;
  if (/^\s*%{20,}/m.test(output) || /Error in routine/i.test(output)) return `${program} stopped with an error`;
  if (!/JOB DONE/.test(output)) return `${program} ended without "JOB DONE" (crashed or was killed)`;
  return undefined;
}

/** Fix suggestions for common QE failures, keyed by what the output says. */
function fixFor(program: string, output: string): string {
  if (/convergence NOT achieved/i.test(output)) return 'raise electron_maxstep or lower mixing_beta in &ELECTRONS of the pw.x input';
  if (/pseudo|\.UPF|\.upf/i.test(qeFailureExcerpt(output))) return 'check pseudo_dir in &CONTROL and the file names in ATOMIC_SPECIES';
  if (/reading inputpp namelist|reading namelist/i.test(output)) return `the ${program} input has a key this QE version does not know; see the quoted lines`;
  return `read ${program}'s full output (path above) and fix the input`;
}

/** A program given as a path ('./fakepw.sh') is relative to the user's folder, not to the run folder the child starts in. */
function userProgramPath(p: string): string {
  return p.includes('/') && !path.isAbsolute(p) ? path.resolve(p) : p;
}

/** Why `cmd` could not be started (ENOENT, EACCES), said for a name looked up on PATH or for a path. */
function notStarted(cmd: string, code: string): MalaError {
  if (!cmd.includes('/')) {
    return new MalaError(`cannot run '${cmd}': not found on PATH`, { fix: cmd === 'mpirun' ? 'install openmpi-bin or run without --np' : 'install Quantum ESPRESSO (Debian: apt-get install quantum-espresso) or put pw.x/pp.x on PATH' });
  }
  if (!fs.existsSync(cmd)) return new MalaError(`cannot run '${cmd}': no such file`, { fix: 'check the path (a relative path is taken from the folder mala-ts runs in)' });
  if (code === 'EACCES') return new MalaError(`cannot run '${cmd}': it is not executable (or is a folder)`, { fix: `chmod +x ${cmd}` });
  return new MalaError(`cannot run '${cmd}': the interpreter its first line (#!) names was not found`, { fix: `fix the #! line of ${cmd}` });
}

/** Signal the child's whole process group (it was started detached), else the child alone. */
function killGroup(child: { pid?: number; kill: (s: NodeJS.Signals) => boolean }, signal: NodeJS.Signals): void {
  try {
    if (child.pid !== undefined) {
      process.kill(-child.pid, signal);
      return;
    }
  } catch {
    // the group is gone already, or was never made: fall back to the child itself
  }
  child.kill(signal);
}

/** Run a QE program; resolves with its output on success, throws a MalaError quoting QE otherwise. */
export async function runQe(o: QeRunOptions): Promise<QeRunResult> {
  const argv = qeCommandLine({ ...o, program: userProgramPath(o.program), mpirun: o.mpirun === undefined ? undefined : userProgramPath(o.mpirun) });
  fs.mkdirSync(o.cwd, { recursive: true });
  const outPath = path.resolve(o.cwd, o.outputFile);
  const out = fs.createWriteStream(outPath);
  const t0 = Date.now();
  // execa on first use: it costs ~90 ms of every command's start-up otherwise
  const child = (require('execa') as typeof execa)(argv[0], argv.slice(1), {
    cwd: o.cwd,
    env: { OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1', ...o.env },
    all: true,
    reject: false,
    stdin: 'ignore',
    timeout: o.timeoutS ? o.timeoutS * 1000 : undefined,
    buffer: false,
    // its own process group, so that a Ctrl-C reaches everything it started (a pw.x wrapper
    // script's children too), not just the wrapper: see the forwarding below
    detached: true,
  });
  // its own session is its own autogroup: keep a niced caller's yielding (src/util/autogroup.ts)
  passAutogroupNice(child.pid);
  const chunks: string[] = [];
  let partial = '';
  child.all?.on('data', (buf: Buffer) => {
    const s = buf.toString('utf8');
    out.write(s);
    chunks.push(s);
    if (o.onLine) {
      const parts = (partial + s).split('\n');
      partial = parts.pop() ?? '';
      for (const l of parts) o.onLine(l);
    }
  });
  // a Ctrl-C on us must not leave an orphaned mpirun spinning on the cores: forward it, wait, then say so
  let interrupted: NodeJS.Signals | undefined;
  const stopForwarding = onInterrupt((signal) => {
    interrupted = signal;
    killGroup(child, 'SIGTERM');
  });
  let res: execa.ExecaReturnBase<string> & { failed?: boolean; timedOut?: boolean; originalMessage?: string };
  try {
    res = await child;
  } finally {
    stopForwarding();
    await new Promise<void>((r) => out.end(r));
  }
  // killed by a Ctrl-C (ours, or the terminal's to the whole process group): not a QE failure
  const signalled = interrupted ?? interruptedBy() ?? (res.signal === 'SIGINT' ? 'SIGINT' : undefined);
  if (signalled) {
    throw new MalaError(`interrupted (${signalled}) while ${o.program} was running; its partial output is ${outPath}`, { fix: 'run the same command again: generate resumes after the last finished stage' });
  }
  if (partial && o.onLine) o.onLine(partial);
  const output = chunks.join('');
  const wallSeconds = (Date.now() - t0) / 1000;
  const code = (res as { code?: string }).code ?? /\b(ENOENT|EACCES)\b/.exec(res.originalMessage ?? '')?.[1];
  if (code === 'ENOENT' || code === 'EACCES') throw notStarted(argv[0], code);
  const status = res.exitCode !== 0 || res.signal ? `${o.program} exited with status ${res.exitCode}${res.signal ? ` (${res.signal})` : ''}` : undefined;
  const said = /convergence NOT achieved|Error in routine|^\s*%{20,}/im.test(output) ? qeOutputProblem(o.program, output) : undefined;
  const problem = res.timedOut ? `${o.program} exceeded the time limit of ${o.timeoutS} s` : said ? `${said}${status ? ` (${status.replace(`${o.program} `, '')})` : ''}` : status ?? qeOutputProblem(o.program, output);
  if (problem) {
    throw new MalaError(`${problem}; command: ${argv.join(' ')} (in ${o.cwd}); relevant output lines:\n${qeFailureExcerpt(output)}`, { file: outPath, fix: fixFor(o.program, output) });
  }
  return { wallSeconds, output };
}
