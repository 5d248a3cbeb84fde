/**
 * Nothing left behind: a registry of temporary files and folders (atomic writers' .tmp files,
 * the LDOS spill, LAMMPS' mala-ts-bispectrum-* folders) removed on SIGINT, SIGTERM and on any
 * exit, and of "interrupt owners" (a running pw.x, the mpirun of `--np`) that get a signal
 * forwarded and finish themselves instead of the process exiting at once.
 *
 * The CLI calls `installSignalCleanup()`; a library user gets the registry and the removal at
 * process exit, but keeps its own signal handling. Node runs a signal handler only when the
 * event loop gets control, i.e. between blocks of a long native computation.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';

/** Path → whether it is a folder (removed recursively). */
const registered = new Map<string, boolean>();
/** Called with the signal instead of exiting, while registered; `repeats`: also for a second signal. */
const owners = new Map<(signal: NodeJS.Signals) => void, { repeats: boolean }>();
let received: NodeJS.Signals | undefined;
let cliInstalled = false;
let exitHookInstalled = false;
let listening = false;

function ensureExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => removeRegistered());
}

/** Remove `file` (or the folder, with `dir`) when the process exits or is interrupted; returns the unregister function. */
export function registerTemp(file: string, dir = false): () => void {
  ensureExitHook();
  registered.set(file, dir);
  return () => {
    registered.delete(file);
  };
}

/** What is registered now (for tests and messages). */
export function registeredTemps(): string[] {
  return [...registered.keys()];
}

/** Remove every registered file and folder now; returns how many existed. Never throws. */
export function removeRegistered(): number {
  let removed = 0;
  for (const [p, dir] of registered) {
    try {
      if (fs.existsSync(p)) removed++;
      fs.rmSync(p, { recursive: dir, force: true });
    } catch {
      // best effort: the process is ending anyway
    }
    registered.delete(p);
  }
  return removed;
}

/** The signal this process received, if any (a step that was interrupted reports that, not its own failure). */
export function interruptedBy(): NodeJS.Signals | undefined {
  return received;
}

/** Exit status for a signal, as a shell reports it (130 for SIGINT, 143 for SIGTERM). */
export function signalExitCode(signal: NodeJS.Signals): number {
  return 128 + (os.constants.signals[signal] ?? 1);
}

let quietSignals = false;

/** From now on a SIGINT/SIGTERM ends the process without a message (an MPI rank whose failure rank 0 reports). */
export function exitQuietlyOnSignal(): void {
  quietSignals = true;
  listen(true);
}

/** This process's MPI rank from the launcher's environment (0 outside MPI). */
function mpiRankFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  const r = Number(env.OMPI_COMM_WORLD_RANK ?? env.PMIX_RANK ?? env.PMI_RANK ?? 0);
  return Number.isFinite(r) ? r : 0;
}

function exitOnSignal(signal: NodeJS.Signals): never {
  const n = removeRegistered();
  // under MPI every rank gets the signal: rank 0 says so once for the job, or `--np`'s launcher does
  if (!quietSignals && mpiRankFromEnv() === 0 && process.env.MALA_TS_UNDER_LAUNCHER !== '1') process.stderr.write(`mala-ts: interrupted (${signal})${n > 0 ? `; removed ${n} temporary file${n > 1 ? 's' : ''}` : ''}\n`);
  process.exit(signalExitCode(signal));
}

function onSignal(signal: NodeJS.Signals): void {
  const again = received !== undefined;
  received = signal;
  const takers = [...owners].filter(([, o]) => !again || o.repeats).map(([fn]) => fn);
  if (takers.length > 0) {
    for (const fn of takers) fn(signal);
    return;
  }
  // no owner, or a second Ctrl-C: stop now
  exitOnSignal(signal);
}

function listen(on: boolean): void {
  if (on === listening) return;
  listening = on;
  for (const s of ['SIGINT', 'SIGTERM'] as const) {
    if (on) process.on(s, onSignal);
    else process.removeListener(s, onSignal);
  }
}

/** CLI: on SIGINT/SIGTERM remove the registered files and exit 128+n (after the owners finished, when there are some). */
export function installSignalCleanup(): void {
  cliInstalled = true;
  ensureExitHook();
  listen(true);
}

/**
 * While registered, a SIGINT/SIGTERM is passed to `fn` (e.g. to forward it to a child and wait
 * for it) instead of exiting; a second signal exits at once, unless `repeats` (the owner has its
 * own "again: stop now"). Returns the unregister function.
 */
export function onInterrupt(fn: (signal: NodeJS.Signals) => void, opts: { repeats?: boolean } = {}): () => void {
  owners.set(fn, { repeats: opts.repeats ?? false });
  listen(true);
  return () => {
    owners.delete(fn);
    if (owners.size === 0 && !cliInstalled) listen(false);
  };
}

/**
 * Let the event loop run once (a pending SIGINT/SIGTERM handler among it): long computations
 * call it between blocks, since Node runs no signal handler while JavaScript or native code runs.
 */
export function yieldToSignals(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Tests: forget a received signal. */
export function resetInterruptForTests(): void {
  received = undefined;
}
