/**
 * `mala-ts pw --ipi ADDRESS`: pw.x's driver mode. The pw.x input is read once (species, settings,
 * the structure the server's atoms must match), the force evaluator is built once from it, and
 * then every configuration the i-PI server (i-PI, ASE's SocketIOCalculator) sends is evaluated
 * until the server says EXIT or closes the connection.
 */
import { MalaError } from '../errors';
import { parseIpiAddress, runIpiClient } from '../io/ipi-client';
import type { Communicator } from '../parallel/comm';
import { driveLockstep, followLockstep } from '../parallel/lockstep';
import { parseStructure } from '../structure/registry';
import type { ForceEvaluator, ForceEvaluatorRequest } from './force-evaluator';
import type { PwDropInOptions } from './pw';

export interface PwIpiOptions extends Omit<PwDropInOptions, 'now'> {
  /** pw.x's --ipi address: HOST:PORT (TCP) or NAME:UNIX (the UNIX socket /tmp/ipi_NAME). */
  address: string;
  /** Driver messages and one line per step (the CLI writes them to standard output, as pw.x does). */
  log?: (message: string) => void;
  /** Called after each served configuration (1-based step, energy in eV). */
  onStep?: (step: number, energyEv: number) => void;
}

/** Builds the evaluator from the input read once; the CLI passes createForceEvaluator (src/workflow/force-evaluator.ts). */
export type ForceEvaluatorFactory = (request: ForceEvaluatorRequest) => Promise<ForceEvaluator>;

export const NO_STRESS_WARNING = 'stress is not computed without tstress = .true. in the pw.x input: the virial sent to the i-PI server is zero (ASE reports zero stress)';

/** Serve the forces of the pw.x input's model to the i-PI server at `opts.address`; resolves with the number of steps served. */
export async function runPwIpi(opts: PwIpiOptions, createEvaluator: ForceEvaluatorFactory): Promise<{ steps: number }> {
  parseIpiAddress(opts.address); // a bad address fails before any work
  const inputLabel = opts.inputFile ?? '<standard input>';
  const read = parseStructure(opts.inputText, inputLabel, { format: 'qe-in' });
  const atomCount = read.atoms.symbols.length;
  const own = await createEvaluator({ ...opts, read, inputLabel });
  // under MPI this rank (0) owns the socket; each configuration goes to the other ranks
  // (followPwIpi), which predict it with us
  const lock = opts.comm && opts.comm.size > 1 ? driveLockstep(opts.comm, atomCount, own) : undefined;
  const evaluate = lock?.evaluate ?? own;
  let steps = 0;
  await runIpiClient(
    opts.address,
    async (cellAngstrom, positionsAngstrom) => {
      // the species come from the input: the server's atoms must be the input's, in its order
      if (positionsAngstrom.length !== atomCount) {
        throw new MalaError(`the i-PI server sent ${positionsAngstrom.length} atoms; the pw.x input has ${atomCount}`, {
          file: inputLabel,
          fix: 'give mala-ts the pw.x input of the structure the server drives (same atoms, same order)',
        });
      }
      return evaluate(cellAngstrom, positionsAngstrom);
    },
    {
      log: opts.log,
      onNoVirial: () => opts.warn?.(NO_STRESS_WARNING),
      onStep: (s) => {
        steps = s.index;
        opts.onStep?.(s.index, s.energyEv);
      },
    },
  );
  lock?.finish();
  return { steps };
}

/** An MPI rank other than 0 under `pw --ipi`: its share of every configuration rank 0 receives; resolves with their number. */
export async function followPwIpi(opts: Omit<PwIpiOptions, 'log' | 'onStep'> & { comm: Communicator }, createEvaluator: ForceEvaluatorFactory): Promise<number> {
  parseIpiAddress(opts.address); // as rank 0: a bad address fails on every rank
  const inputLabel = opts.inputFile ?? '<standard input>';
  const read = parseStructure(opts.inputText, inputLabel, { format: 'qe-in' });
  const evaluate = await createEvaluator({ ...opts, read, inputLabel });
  return followLockstep(opts.comm, read.atoms.symbols.length, evaluate);
}
