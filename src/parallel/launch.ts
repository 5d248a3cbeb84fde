/**
 * `mala-ts predict --np N`: the same command relaunched under `mpirun -np N`, so a user gets
 * every core of a workstation without writing the launcher line. Clusters use `srun`/`mpirun`
 * themselves (docs/slurm-predict.sh); this is only a convenience over the same MPI path.
 */
import { spawn } from 'node:child_process';
import execa from 'execa';
import { MalaError } from '../errors';
import { launchedByMpi } from './comm';
import { onInterrupt, signalExitCode } from '../util/cleanup';

/** Arguments of the current command without `--np N` / `--np=N`. */
export function argsWithoutNp(argv: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--np') {
      i++;
      continue;
    }
    if (argv[i].startsWith('--np=')) continue;
    out.push(argv[i]);
  }
  return out;
}

/** Open MPI refuses root without --allow-run-as-root; other MPIs do not know the flag. */
function launcherFlags(): string[] {
  const r = execa.sync('mpirun', ['--version'], { reject: false });
  if (r.failed && (r as { code?: string }).code === 'ENOENT') {
    throw new MalaError('--np needs mpirun, which is not installed', { fix: 'apt-get install openmpi-bin (make setup does), or run without --np' });
  }
  const openMpi = /Open MPI/i.test(`${r.stdout}${r.stderr}`);
  return openMpi && process.getuid?.() === 0 ? ['--allow-run-as-root'] : [];
}

/**
 * Run `mpirun -np N node <this script> <args>` with our stdio; resolves to its exit code. A
 * SIGINT/SIGTERM to us is forwarded to mpirun (which passes it to the ranks) and we wait for it
 * to exit, so no rank outlives the launcher; the exit code is then 128 + the signal.
 * (`launcher`: tests replace mpirun with a stand-in that takes the same arguments.)
 */
export function relaunchUnderMpi(ranks: number, args: string[], launcher: { program: string; flags: string[] } = { program: 'mpirun', flags: launcherFlags() }): Promise<number> {
  const cmd = ['-np', String(ranks), ...launcher.flags, process.execPath, ...process.execArgv, process.argv[1], ...args];
  return new Promise((resolve, reject) => {
    // One BLAS thread per rank: the ranks already fill the cores (and results then match any rank count).
    // MALA_TS_UNDER_LAUNCHER: the ranks leave the "interrupted" line to us (a rank busy in native
    // code when mpirun kills it could not print it; we always can)
    const env = { ...process.env, OPENBLAS_NUM_THREADS: process.env.OPENBLAS_NUM_THREADS ?? '1', OMP_NUM_THREADS: process.env.OMP_NUM_THREADS ?? '1', MALA_TS_UNDER_LAUNCHER: '1' };
    const child = spawn(launcher.program, cmd, { stdio: 'inherit', env });
    let forwarded: NodeJS.Signals | undefined;
    const stopForwarding = onInterrupt((signal) => {
      forwarded = signal;
      child.kill(signal);
    });
    child.on('error', (e) => {
      stopForwarding();
      reject(e);
    });
    child.on('exit', (code, signal) => {
      stopForwarding();
      if (forwarded) {
        process.stderr.write(`mala-ts: interrupted (${forwarded})\n`);
        resolve(signalExitCode(forwarded));
      }
      else resolve(code ?? (signal ? 128 + 1 : 1));
    });
  });
}

/**
 * A command's `--np N` (parsed as a positive number, and as given): outside an MPI launch with
 * N > 1, run the same command under `mpirun -np N` and set the exit code; true when it did (the
 * caller then returns).
 */
export async function relaunchForNp(np: number | undefined, given: string | undefined): Promise<boolean> {
  if (np === undefined || launchedByMpi()) return false;
  if (!Number.isInteger(np)) throw new MalaError(`--np ${given} must be a whole number of ranks`);
  if (np === 1) return false;
  process.exitCode = await relaunchUnderMpi(np, argsWithoutNp(process.argv.slice(2)));
  return true;
}
