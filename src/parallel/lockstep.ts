/**
 * A loop of collective evaluations that rank 0 drives and the other MPI ranks follow: pw's relax
 * and md (the optimiser and the integrator run on rank 0) and `pw --ipi` (rank 0 owns the socket).
 * Before each evaluation rank 0 sends the configuration (cell and positions) to every rank, so
 * all ranks evaluate the same structure together (the evaluation itself is collective: predict
 * with the communicator); at the end it sends "stop". Only rank 0 sees the results it returns.
 *
 * The message is one allreduce of 1 + 9 + 3n doubles in which the other ranks contribute zeros:
 * adding zeros is exact, so every rank gets rank 0's values bit for bit.
 */
import type { Communicator } from './comm';

export type StructureEvaluator<T> = (cellAngstrom: number[][], positionsAngstrom: number[][]) => Promise<T>;

function exchange(comm: Communicator, atomCount: number, go: boolean, cell?: number[][], positions?: number[][]): { go: boolean; cell: number[][]; positions: number[][] } {
  const m = new Float64Array(1 + 9 + 3 * atomCount);
  if (comm.rank === 0) {
    m[0] = go ? 1 : 0;
    if (go) {
      if (positions!.length !== atomCount) throw new Error(`lockstep: ${positions!.length} positions for ${atomCount} atoms`);
      for (let i = 0; i < 3; i++) for (let k = 0; k < 3; k++) m[1 + 3 * i + k] = cell![i][k];
      positions!.forEach((p, a) => p.forEach((v, k) => (m[10 + 3 * a + k] = v)));
    }
  }
  comm.allreduceSum(m);
  const rows = (off: number, n: number) => Array.from({ length: n }, (_, i) => [m[off + 3 * i], m[off + 3 * i + 1], m[off + 3 * i + 2]]);
  return { go: m[0] === 1, cell: rows(1, 3), positions: rows(10, atomCount) };
}

/** Rank 0's side: an evaluator that first sends each configuration to the followers, and `finish` to send them "stop". */
export function driveLockstep<T>(comm: Communicator, atomCount: number, evaluate: StructureEvaluator<T>): { evaluate: StructureEvaluator<T>; finish: () => void } {
  if (comm.rank !== 0) throw new Error('driveLockstep runs on rank 0; the other ranks call followLockstep');
  let finished = false;
  return {
    evaluate: (cell, positions) => {
      if (finished) throw new Error('lockstep: evaluation after finish');
      const { cell: c, positions: p } = exchange(comm, atomCount, true, cell, positions);
      return evaluate(c, p);
    },
    finish: () => {
      if (finished) return;
      finished = true;
      exchange(comm, atomCount, false);
    },
  };
}

/** The other ranks' side: evaluate what rank 0 sends until it says stop; resolves with the number of evaluations. */
export async function followLockstep<T>(comm: Communicator, atomCount: number, evaluate: StructureEvaluator<T>): Promise<number> {
  if (comm.rank === 0) throw new Error('followLockstep runs on ranks other than 0');
  let steps = 0;
  for (;;) {
    const m = exchange(comm, atomCount, false);
    if (!m.go) return steps;
    await evaluate(m.cell, m.positions);
    steps++;
  }
}

/** Rank 0's text on every rank (pw's standard input, which mpirun gives to rank 0 alone). */
export function broadcastText(comm: Communicator, text: string): string {
  const bytes = comm.rank === 0 ? Buffer.from(text, 'utf8') : Buffer.alloc(0);
  const n = comm.allreduceSum(new Float64Array([comm.rank === 0 ? bytes.length : 0]))[0];
  const m = new Float64Array(n);
  if (comm.rank === 0) for (let i = 0; i < n; i++) m[i] = bytes[i];
  comm.allreduceSum(m);
  return comm.rank === 0 ? text : Buffer.from(Uint8Array.from(m)).toString('utf8');
}
