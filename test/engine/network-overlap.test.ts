import { strict as assert } from 'node:assert';
import { networkLdosSource } from '../../src/engine/network-source';
import type { GridShape } from '../../src/grid/grid';
import { gridBlocks } from '../../src/parallel/plane-blocks';
import { silentProgress } from '../../src/util/progress';

// predict's GPU path: the next block's descriptors are computed while the network runs this block.
describe('engine: network source overlapping descriptors and network (GPU path)', () => {
  const grid: GridShape = [4, 3, 2];
  const blocks = gridBlocks(grid, 6, false); // one plane (6 points) per block
  const F = 2;
  const nE = 3;

  /** A run of the source: the LDOS it delivers, and the order of descriptor and network events. */
  async function run(overlap: boolean) {
    const events: string[] = [];
    const descriptors = {
      computeBlock(b: { i0: number }) {
        events.push(`descriptors ${b.i0}`);
        return Float32Array.from({ length: 6 * F }, (_, k) => 100 * b.i0 + k);
      },
      close() {},
    };
    const model = {
      // a network that takes a while (as a GPU call does) and whose output identifies its input
      predictLdos: (x: Float32Array, n: number) => {
        const block = Math.floor(x[0] / 100);
        events.push(`network ${block} start`);
        return new Promise<Float32Array>((resolve) =>
          setTimeout(() => {
            events.push(`network ${block} done`);
            resolve(Float32Array.from({ length: n * nE }, (_, k) => x[0] + k));
          }, 20),
        );
      },
    };
    const timings: Record<string, number> = {};
    const src = networkLdosSource({ model, descriptors, grid, blocks, range: [0, blocks.length], energyCount: nE, timings, overlap });
    const got: { first: number; values: number[] }[] = [];
    const sink = {
      addPoints: (c: Float32Array | Float64Array, first: number) => void got.push({ first, values: Array.from(c) }),
      addEnergySlice: () => assert.fail('the network source delivers points'),
    };
    await src.pass(sink, silentProgress, 'DOS');
    return { events, got, timings };
  }

  it('gives the same LDOS, in the same order, with and without overlap', async () => {
    const a = await run(false);
    const b = await run(true);
    assert.equal(blocks.length, 4);
    assert.deepEqual(b.got, a.got);
    assert.deepEqual(a.got.map((g) => g.first), [0, 6, 12, 18]);
    for (const r of [a, b]) assert.ok(r.timings.descriptors_s >= 0 && r.timings.network_s > 0, 'both stages booked');
  });

  it('with overlap, block b+1\'s descriptors are computed while the network runs block b; without, strictly one after the other', async () => {
    const seq = (await run(false)).events;
    assert.deepEqual(seq.slice(0, 6), ['descriptors 0', 'network 0 start', 'network 0 done', 'descriptors 1', 'network 1 start', 'network 1 done']);
    const ov = (await run(true)).events;
    assert.deepEqual(ov.slice(0, 6), ['descriptors 0', 'network 0 start', 'descriptors 1', 'network 0 done', 'network 1 start', 'descriptors 2']);
    assert.equal(ov.filter((e) => e.startsWith('descriptors')).length, 4, 'each block once, none beyond the last');
  });
});
