/** slabsToBlocks on the whole-grid (serial) layout undoes blocksToSlabs; MPI ranks: distributed-gradient.test.ts. */
import { strict as assert } from 'node:assert';
import { blockGridIndices, gridBlocks } from '../../src/parallel/plane-blocks';
import { blocksToSlabs } from '../../src/parallel/slab-fft';
import { slabsToBlocks } from '../../src/parallel/slabs-to-blocks';
import { wholeGridLayout } from '../../src/qe/grid-layout';

describe('parallel: slabsToBlocks (serial layout)', () => {
  it('returns every block point in block order: whole planes, plane groups and row blocks', () => {
    for (const [grid, maxPoints] of [
      [[24, 24, 24], 200],
      [[5, 12, 10], 40],
      [[25, 24, 24], 5000],
    ] as [[number, number, number], number][]) {
      const blocks = gridBlocks(grid, maxPoints);
      const parts: number[] = [];
      for (const b of blocks) parts.push(...blockGridIndices(b, grid));
      const layout = wholeGridLayout(grid);
      const back = slabsToBlocks(blocksToSlabs(Float64Array.from(parts), blocks, layout), blocks, layout);
      assert.deepEqual(Array.from(back), parts, `grid ${grid.join('×')}`);
    }
  });
});
