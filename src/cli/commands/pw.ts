import * as fs from 'node:fs';
import type { Command } from 'commander';
import { commandSummary } from './table';
import { checkInputFile, maxTextInputBytes } from '../../io/input-file';
import { MalaError } from '../../errors';
import { defaultProgress } from '../../util/progress';
import { followPwDropIn, runPwDropIn } from '../../workflow/pw';
import { followPwIpi, runPwIpi } from '../../workflow/pw-ipi';
import { finalizeWorld, launchedByMpi, worldComm, type Communicator } from '../../parallel/comm';
import { broadcastText } from '../../parallel/lockstep';
import { relaunchForNp } from '../../parallel/launch';
import { abortOnRankFailure } from '../../parallel/rank-failure';
import { createForceEvaluator } from '../../workflow/force-evaluator';
import { parseIpiAddress } from '../../io/ipi-client';
import { fortranF } from '../../io/pw-output';
import { evToRy } from '../../structure/units';
import { positiveNumber } from './predict';
import { backendOption, deviceOption, pseudoDirOption, modelFileOption } from '../options';

interface Opts {
  model?: string;
  pseudoDir?: string;
  memory: string;
  backend: string;
  device?: string;
  strictDomain?: boolean;
  ipi?: string;
  np?: string;
}

const INPUT_FLAGS = ['-i', '-in', '-inp', '-input'];
// pw.x's parallelisation flags (each takes a value): accepted so that job scripts run unchanged.
const PARALLEL_FLAGS = ['-nk', '-npool', '-npools', '-nd', '-ndiag', '-northo', '-nt', '-ntg', '-ntask_groups', '-nb', '-nband', '-nbgrp', '-ni', '-nimage', '-nimages', '-nyfft', '-nh', '-pd'];

/** pw.x's own command-line arguments → the input file (undefined: standard input). */
export function parsePwArgs(args: string[], warn: (m: string) => void): string | undefined {
  let input: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i].toLowerCase();
    const value = args[i + 1];
    if (INPUT_FLAGS.includes(a)) {
      if (value === undefined) throw new MalaError(`${args[i]} needs a file name`, { fix: 'write pw -in scf.in' });
      input = value;
      i++;
    } else if (PARALLEL_FLAGS.includes(a)) {
      if (value === undefined) throw new MalaError(`${args[i]} needs a value`);
      warn(`${args[i]} ${value} ignored (pw.x parallelisation option)`);
      i++;
    } else {
      throw new MalaError(`unknown pw.x argument '${args[i]}'`, { fix: 'use pw -in scf.in (or pw < scf.in) with --model FILE' });
    }
  }
  return input;
}

/** pw.x's `-ipi ADDRESS` / `--ipi ADDRESS` among the pw.x arguments (commander takes `--ipi` itself when it comes first). */
export function takeIpiArg(args: string[]): { address?: string; rest: string[] } {
  const rest: string[] = [];
  let address: string | undefined;
  for (let i = 0; i < args.length; i++) {
    if (['-ipi', '--ipi'].includes(args[i].toLowerCase())) {
      if (args[i + 1] === undefined) throw new MalaError(`${args[i]} needs an address`, { fix: 'write --ipi HOST:PORT or --ipi NAME:UNIX' });
      address = args[++i];
    } else rest.push(args[i]);
  }
  return { address, rest };
}

function readStdin(): string {
  if (process.stdin.isTTY) {
    throw new MalaError('no pw.x input given', { fix: 'pass -in scf.in, or redirect it: mala-ts pw < scf.in' });
  }
  return fs.readFileSync(0, 'utf8');
}

export function register(program: Command): void {
  program
    .command('pw')
    .description(commandSummary('pw'))
    .argument('[pw-args...]', 'pw.x arguments: -in/-i/-inp/-input FILE (default: standard input); -nk etc. are ignored')
    .allowUnknownOption(true)
    .allowExcessArguments(true)
    .option('--model <file>', 'mala-ts model or MALA model zip (default: $MALA_TS_MODEL)')
    .addOption(pseudoDirOption('UPF folder (default: pseudo_dir of the input, else $ESPRESSO_PSEUDO, as pw.x)'))
    .option('--memory <MB>', 'memory budget for descriptors, LDOS and density', '4096')
    .option('--ipi <address>', 'pw.x\'s driver mode: serve energies and forces to an i-PI server (i-PI, ASE\'s SocketIOCalculator) at HOST:PORT (TCP) or NAME:UNIX (the UNIX socket /tmp/ipi_NAME) until it says EXIT')
    .option('--strict-domain', 'fail (exit 1) instead of warning when the structure or its settings lie outside the model\'s training domain')
    .addOption(backendOption())
    .addOption(deviceOption())
    .option('--np <N>', 'run on N MPI ranks (relaunches itself under mpirun -np N; the same as mpirun -np N mala-ts pw ...)')
    .action(async (pwArgs: string[], opts: Opts) => {
      if (await relaunchForNp(positiveNumber(opts.np, '--np', '2'), opts.np)) return;
      // Under mpirun/srun every rank runs this: rank 0 reads standard input, writes the output and
      // drives relax, md and the i-PI socket; the others share each prediction (src/parallel/lockstep.ts).
      const comm = launchedByMpi() ? worldComm() : undefined;
      try {
        await runPw(pwArgs, opts, comm);
      } catch (e) {
        if (comm && comm.size > 1) {
          // the other ranks would wait forever in the next collective; one message per job (src/parallel/rank-failure.ts)
          await abortOnRankFailure(e, comm);
        }
        throw e;
      }
      finalizeWorld();
    });
}

/** pw on this rank: rank 0 (or a serial run) does everything; another rank follows rank 0. */
async function runPw(pwArgs: string[], opts: Opts, comm: Communicator | undefined): Promise<void> {
  const root = !comm || comm.rank === 0;
  const warn = root ? (m: string) => process.stderr.write(`mala-ts: warning: ${m}\n`) : () => undefined;
  const fromArgs = takeIpiArg(pwArgs);
  if (opts.ipi !== undefined && fromArgs.address !== undefined && opts.ipi !== fromArgs.address) {
    throw new MalaError(`two --ipi addresses: '${opts.ipi}' and '${fromArgs.address}'`, { fix: 'give --ipi once' });
  }
  const ipi = opts.ipi ?? fromArgs.address;
  if (ipi !== undefined) parseIpiAddress(ipi); // a bad address fails before anything is read
  const inputFile = parsePwArgs(fromArgs.rest, warn);
  const model = modelFileOption(opts.model);
  let inputText: string;
  if (inputFile === undefined) {
    // mpirun gives standard input to rank 0 alone (as pw.x, which reads it there and sends it on)
    inputText = comm && comm.size > 1 ? broadcastText(comm, root ? readStdin() : '') : readStdin();
  } else {
    checkInputFile(inputFile, 'pw.x input', { maxBytes: maxTextInputBytes });
    try {
      inputText = fs.readFileSync(inputFile, 'utf8');
    } catch (e) {
      throw new MalaError(`cannot read the pw.x input: ${(e as Error).message}`, { file: inputFile, fix: 'check the path given to -in', cause: e });
    }
  }
  const common = {
    inputText,
    inputFile,
    modelFile: model,
    pseudoDir: opts.pseudoDir,
    memoryMb: positiveNumber(opts.memory, '--memory'),
    backend: opts.backend,
    device: opts.device,
    progress: root ? defaultProgress() : undefined,
    warn,
    strictDomain: opts.strictDomain,
    comm,
  };
  if (!root) {
    // this rank's share of every prediction rank 0 makes; rank 0 alone writes
    if (ipi !== undefined) await followPwIpi({ ...common, comm: comm!, address: ipi }, createForceEvaluator);
    else await followPwDropIn({ ...common, comm: comm! });
    return;
  }
  if (ipi !== undefined) {
    // driver mode: stdout gets pw.x-style driver lines, one per step
    const out = (m: string) => process.stdout.write(`     ${m}\n`);
    const onStep = (step: number, energyEv: number) => out(`@ DRIVER MODE: step ${step}: total energy = ${fortranF(evToRy(energyEv), 17, 8)} Ry`);
    const { steps } = await runPwIpi({ ...common, address: ipi, log: out, onStep }, createForceEvaluator);
    out(`@ DRIVER MODE: ${steps} step${steps === 1 ? '' : 's'} served`);
    return;
  }
  // stdout carries the pw.x output only; warnings and progress go to stderr
  // relax/md steps are written as they are computed (as pw.x does); scf at the end
  let streamed = false;
  const r = await runPwDropIn({
    ...common,
    write: (t) => {
      streamed = true;
      process.stdout.write(t);
    },
  });
  if (!streamed) process.stdout.write(r.output);
  if (r.dynamics && !r.dynamics.converged && r.dynamics.calculation === 'relax') process.exitCode = 1;
}
