/**
 * The inverse of blocksToSlabs (slab-fft.ts): a field on the layout's x-slabs (e.g. the density
 * adjoint u = ∂E/∂n from src/qe/energy-gradient.ts) moved back to this rank's blocks, in block
 * order, so it meets the LDOS rows of the same points (forces, issue 16). One alltoallv; each
 * rank works out what to send and where what arrives goes from the block list alone.
 */
import type { GridLayout } from '../qe/grid-layout';
import { slabOwner } from '../qe/grid-layout';
import { splitRange } from './comm';
import { blockGridIndices, GridBlock } from './plane-blocks';
import { forEachSlabPointByBlockOwner } from './slab-fft';

/** This rank's blocks [b0, b1) (splitRange over the ranks; all blocks when serial), values in block order. */
export function slabsToBlocks(slab: Float64Array, blocks: readonly GridBlock[], layout: GridLayout): Float64Array {
  const { grid, size, rank, slabs } = layout;
  const plane = grid[1] * grid[2];
  const [x0, x1] = slabs[rank];
  if (slab.length !== (x1 - x0) * plane) throw new Error(`slabsToBlocks: ${slab.length} values for x-planes [${x0}, ${x1}) of ${plane} points`);
  if (!layout.distributed) {
    const idx = blocks.map((b) => blockGridIndices(b, grid));
    const out = new Float64Array(idx.reduce((s, a) => s + a.length, 0));
    let p = 0;
    for (const a of idx) for (let i = 0; i < a.length; i++) out[p++] = slab[a[i]];
    return out;
  }
  // send: to each rank r, my slab's points of r's blocks, in r's block order
  const counts = new Int32Array(size);
  const parts: number[] = [];
  forEachSlabPointByBlockOwner(blocks, layout, (owner, at) => {
    parts.push(slab[at]);
    counts[owner]++;
  });
  const recv = layout.alltoallv(Float64Array.from(parts), counts);
  // what arrives: from each rank s in order, my blocks' points in s's slab, in block order
  const [b0, b1] = splitRange(blocks.length, size, rank);
  const mine = [];
  for (let b = b0; b < b1; b++) mine.push(blockGridIndices(blocks[b], grid));
  const from = new Int32Array(size);
  for (const idx of mine) for (let i = 0; i < idx.length; i++) from[slabOwner(slabs, Math.floor(idx[i] / plane))]++;
  const next = new Int32Array(size);
  for (let s = 1; s < size; s++) next[s] = next[s - 1] + from[s - 1];
  const out = new Float64Array(mine.reduce((s, a) => s + a.length, 0));
  let p = 0;
  for (const idx of mine) for (let i = 0; i < idx.length; i++) out[p++] = recv[next[slabOwner(slabs, Math.floor(idx[i] / plane))]++];
  if (p !== recv.length) throw new Error(`slabsToBlocks: received ${recv.length} values for ${p} points`);
  return out;
}
