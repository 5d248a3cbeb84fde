/**
 * Results that each MPI rank computed for its own slots (ensemble members dealt out over the
 * ranks), given to every rank: one allreduce in which a rank contributes its slots' values and
 * −0 everywhere else. x + (−0) = x for every float, +0 and −0 included, so every rank gets each
 * value bit for bit whatever the reduction order.
 */
import type { Communicator } from './comm';

/**
 * Every slot's arrays on every rank. `mine` holds this rank's slots (slot → arrays); `shapes`
 * gives each slot's array lengths (the same for every slot), and every slot is some rank's.
 */
export function shareFloat32Slots(comm: Communicator, slots: number, shapes: readonly number[], mine: ReadonlyMap<number, readonly Float32Array[]>): Float32Array[][] {
  const per = shapes.reduce((a, b) => a + b, 0);
  const m = new Float64Array(slots * per).fill(-0);
  for (const [k, arrays] of mine) {
    if (arrays.length !== shapes.length) throw new Error(`shareFloat32Slots: slot ${k} has ${arrays.length} arrays, expected ${shapes.length}`);
    let o = k * per;
    arrays.forEach((a, i) => {
      if (a.length !== shapes[i]) throw new Error(`shareFloat32Slots: slot ${k} array ${i} has ${a.length} values, expected ${shapes[i]}`);
      m.set(a, o);
      o += a.length;
    });
  }
  comm.allreduceSum(m);
  return Array.from({ length: slots }, (_, k) => {
    let o = k * per;
    return shapes.map((n) => {
      const a = Float32Array.from(m.subarray(o, o + n));
      o += n;
      return a;
    });
  });
}

/** Every slot's text on every rank (e.g. a member's epoch history as JSON); a rank gives its own slots'. */
export function shareTextSlots(comm: Communicator, slots: number, mine: ReadonlyMap<number, string>): string[] {
  const bytes = new Map([...mine].map(([k, t]) => [k, Buffer.from(t, 'utf8')] as const));
  const lengths = new Float64Array(slots).fill(-0);
  for (const [k, b] of bytes) lengths[k] = b.length;
  comm.allreduceSum(lengths);
  const offsets = [0];
  for (let k = 0; k < slots; k++) offsets.push(offsets[k] + lengths[k]);
  const m = new Float64Array(offsets[slots]).fill(-0);
  for (const [k, b] of bytes) for (let i = 0; i < b.length; i++) m[offsets[k] + i] = b[i];
  comm.allreduceSum(m);
  return Array.from({ length: slots }, (_, k) => Buffer.from(Uint8Array.from(m.subarray(offsets[k], offsets[k + 1]))).toString('utf8'));
}
