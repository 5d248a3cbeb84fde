/**
 * The LDOS predicted by the network, block by block: descriptors of a grid block (a
 * DescriptorSource) → `model.predictLdos` → the block's LDOS. One network batch per block, so the
 * batch composition never depends on the MPI decomposition. Points come in block order (this
 * rank's run of blocks); `toLayout` moves per-point values to the energy terms' grid layout.
 */
import { GridShape } from '../grid/grid';
import type { LdosModel } from '../network/model';
import { blockPointCount, GridBlock } from '../parallel/plane-blocks';
import { blocksToSlabs } from '../parallel/slab-fft';
import { addTiming } from './types';
import type { DescriptorSource } from './descriptor-source';
import type { LdosSource } from './ldos-source';
import { yieldToSignals } from '../util/cleanup';

export interface NetworkSourceOptions {
  model: Pick<LdosModel, 'predictLdos'>;
  /** LDOS energies per point (the model's energy grid). */
  energyCount: number;
  descriptors: DescriptorSource;
  grid: GridShape;
  /** Every block of the grid (fixed by the grid and block size), and this rank's run [b0, b1). */
  blocks: readonly GridBlock[];
  range: [number, number];
  /** Where the source books descriptors_s and network_s. */
  timings: Record<string, number>;
  /**
   * Compute the next block's descriptors (CPU, this thread) while the network runs this block
   * (its own thread; on a GPU): predict sets it for a GPU net. Then network_s is the time from
   * handing a block to the network to its LDOS, which overlaps descriptors_s, and one more
   * block of descriptors (4·F bytes a point) is in memory. Off: one stage after the other.
   */
  overlap?: boolean;
  /** Sees each block's descriptors (block index, n points × features), e.g. the domain check (src/domain/). */
  onDescriptors?: (block: number, descriptors: Float32Array, n: number) => void;
}

export function networkLdosSource(o: NetworkSourceOptions): LdosSource {
  const { grid, blocks } = o;
  const [b0, b1] = o.range;
  const [, ny, nz] = grid;
  let closed = false;
  let pointCount = 0;
  for (let b = b0; b < b1; b++) pointCount += blockPointCount(blocks[b], grid);
  return {
    gridShape: grid,
    pointCount,
    energyCount: o.energyCount,
    kind: 'computed',
    names: { dosPass: 'network LDOS', densityPass: 'predicted LDOS', dos: 'predicted DOS' },
    clampNegative: true,
    async pass(sink, progress) {
      progress.start('predict LDOS', pointCount, 'points');
      const firstPointOf = (block: GridBlock) => (block.i0 * ny + block.rowStart) * nz;
      const computeDescriptors = (b: number) => {
        const t0 = performance.now();
        const d = o.descriptors.computeBlock(blocks[b]);
        addTiming(o.timings, 'descriptors_s', t0);
        o.onDescriptors?.(b, d, blockPointCount(blocks[b], grid));
        return d;
      };
      if (o.overlap) {
        let next = b0 < b1 ? computeDescriptors(b0) : undefined;
        for (let b = b0; b < b1; b++) {
          const n = blockPointCount(blocks[b], grid);
          const t0 = performance.now();
          const pending = o.model.predictLdos(next!, n, { pointOffset: firstPointOf(blocks[b]), chunkPoints: n });
          pending.catch(() => undefined); // awaited below; no unhandled rejection while descriptors run
          // let the network call reach its worker thread before this thread is busy with descriptors
          await new Promise((resolve) => setImmediate(resolve));
          next = b + 1 < b1 ? computeDescriptors(b + 1) : undefined;
          const ldos = await pending;
          addTiming(o.timings, 'network_s', t0);
          sink.addPoints(ldos, firstPointOf(blocks[b]));
          progress.tick(n);
        }
        progress.stop();
        return;
      }
      for (let b = b0; b < b1; b++) {
        const block = blocks[b];
        const n = blockPointCount(block, grid);
        // grid index of the block's first point (for messages about bad values)
        const firstGridPoint = firstPointOf(block);
        const descriptors = computeDescriptors(b);
        const t0 = performance.now();
        const ldos = await o.model.predictLdos(descriptors, n, { pointOffset: firstGridPoint, chunkPoints: n });
        addTiming(o.timings, 'network_s', t0);
        sink.addPoints(ldos, firstGridPoint);
        progress.tick(n);
        await yieldToSignals(); // a Ctrl-C is handled between blocks (src/util/cleanup.ts)
      }
      progress.stop();
    },
    toLayout: (values, layout) => blocksToSlabs(values, blocks, layout),
    close: () => {
      if (!closed) o.descriptors.close();
      closed = true;
    },
  };
}
