/**
 * Run under `mpirun -np N node -r tsx/cjs test/parallel/share-slots-worker.ts` (share-slots.test.ts
 * does): 5 slots dealt out over the ranks (slot k on rank k mod N), each rank gives its own slots'
 * arrays and texts and prints, as one JSON line, what every slot holds afterwards.
 */
import { finalizeWorld, worldComm } from '../../src/parallel/comm';
import { shareFloat32Slots, shareTextSlots } from '../../src/parallel/share-slots';
import { slotArrays, slotText, SLOTS, SHAPES } from './share-slots-data';

const comm = worldComm();
const mine = [...Array(SLOTS).keys()].filter((k) => k % comm.size === comm.rank);
const arrays = shareFloat32Slots(comm, SLOTS, SHAPES, new Map(mine.map((k) => [k, slotArrays(k)])));
const texts = shareTextSlots(comm, SLOTS, new Map(mine.map((k) => [k, slotText(k)])));
// -0 does not survive JSON: each value as its float32 bits
const bits = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));
process.stdout.write(`${JSON.stringify({ rank: comm.rank, mine, arrays: arrays.map((s) => s.map(bits)), texts })}\n`);
finalizeWorld();
