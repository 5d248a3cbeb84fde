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
import { slabsToBlocks } from '../parallel/slabs-to-blocks';
import { MalaError } from '../errors';
import { addTiming } from './types';
import type { DescriptorSource } from './descriptor-source';
import type { LdosSource } from './ldos-source';
import { ldosGradientRows } from '../targets/dos-adjoint';
import { yieldToSignals } from '../util/cleanup';

export interface NetworkSourceOptions {
  /** predictLdos; the forces' backward pass and the float64 path need the other two. */
  model: Pick<LdosModel, 'predictLdos'> & Partial<Pick<LdosModel, 'descriptorGradient' | 'predictLdosFloat64'>>;
  /**
   * An ensemble's networks (2 or more; LdosModel.members()): each runs on every block's descriptors
   * (computed once), the sink gets their mean LDOS and each member's (addMemberPoints). The forces'
   * backward pass and `float64` need the same two optional methods of each member as of `model`.
   * Absent or one: `model` alone.
   */
  members?: (Pick<LdosModel, 'predictLdos'> & Partial<Pick<LdosModel, 'descriptorGradient' | 'predictLdosFloat64'>>)[];
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
  /** Atoms of the structure (the forces of a rank without blocks are zeros of this length). */
  atomCount?: number;
  /**
   * Descriptors, LDOS and the backward pass in float64 throughout (the native kernel's float64
   * output, the ts backend's float64 path): the checking path of the forces' finite-difference
   * tests, several times slower. Not with `overlap`.
   */
  float64?: boolean;
  /**
   * Keep each block's descriptors from the LDOS pass for the forces' backward pass (float32, F
   * values a point: the budget's business, predict decides), instead of computing them again.
   */
  keepDescriptors?: boolean;
}

/** Points per network VJP call of the backward pass (β: N_E float64 values a point). */
const VJP_CHUNK_POINTS = 8192;

export function networkLdosSource(o: NetworkSourceOptions): LdosSource {
  const { grid, blocks } = o;
  const [b0, b1] = o.range;
  const [, ny, nz] = grid;
  let closed = false;
  let pointCount = 0;
  const kept = new Map<number, Float32Array>();
  for (let b = b0; b < b1; b++) pointCount += blockPointCount(blocks[b], grid);
  const members = o.members && o.members.length > 1 ? o.members : undefined;
  const nE = o.energyCount;
  // one block's LDOS: the network's, or the ensemble's mean (float64 sum, rounded once) and its members'
  const predictBlock = async (d: Float32Array, n: number, first: number): Promise<{ ldos: Float32Array; perMember?: Float32Array[] }> => {
    if (!members) return { ldos: await o.model.predictLdos(d, n, { pointOffset: first, chunkPoints: n }) };
    const perMember: Float32Array[] = [];
    for (const m of members) perMember.push(await m.predictLdos(d, n, { pointOffset: first, chunkPoints: n }));
    const mean = new Float32Array(n * nE);
    const count = perMember.length;
    for (let i = 0; i < mean.length; i++) {
      let s = 0;
      for (const l of perMember) s += l[i];
      mean[i] = s / count;
    }
    return { ldos: mean, perMember };
  };
  const deliver = (sink: Parameters<LdosSource['pass']>[0], r: { ldos: Float32Array; perMember?: Float32Array[] }, first: number) => {
    sink.addPoints(r.ldos, first);
    if (r.perMember && sink.addMemberPoints) r.perMember.forEach((l, k) => sink.addMemberPoints!(k, l, first));
  };
  return {
    memberCount: members?.length ?? 1,
    gridShape: grid,
    pointCount,
    energyCount: o.energyCount,
    kind: 'computed',
    names: { dosPass: 'network LDOS', densityPass: 'predicted LDOS', dos: 'predicted DOS' },
    clampNegative: true,
    async pass(sink, progress) {
      progress.start('predict LDOS', pointCount, 'points');
      const firstPointOf = (block: GridBlock) => (block.i0 * ny + block.rowStart) * nz;
      if (o.float64) {
        const d64 = o.descriptors.computeBlockFloat64;
        if (!d64) throw new Error('the float64 checking path needs descriptors in float64 (native engine)');
        for (let b = b0; b < b1; b++) {
          const n = blockPointCount(blocks[b], grid);
          const d = d64.call(o.descriptors, blocks[b]);
          if (!members) sink.addPoints(o.model.predictLdosFloat64!(d, n), firstPointOf(blocks[b]));
          else deliverFloat64Mean(sink, members.map((m) => m.predictLdosFloat64!(d, n)), firstPointOf(blocks[b]));
          progress.tick(n);
        }
        progress.stop();
        return;
      }
      const computeDescriptors = (b: number) => {
        const t0 = performance.now();
        const d = o.descriptors.computeBlock(blocks[b]);
        if (o.keepDescriptors) kept.set(b, d);
        addTiming(o.timings, 'descriptors_s', t0);
        o.onDescriptors?.(b, d, blockPointCount(blocks[b], grid));
        return d;
      };
      if (o.overlap) {
        let next = b0 < b1 ? computeDescriptors(b0) : undefined;
        for (let b = b0; b < b1; b++) {
          const n = blockPointCount(blocks[b], grid);
          const t0 = performance.now();
          const pending = predictBlock(next!, n, firstPointOf(blocks[b]));
          pending.catch(() => undefined); // awaited below; no unhandled rejection while descriptors run
          // let the network call reach its worker thread before this thread is busy with descriptors
          await new Promise((resolve) => setImmediate(resolve));
          next = b + 1 < b1 ? computeDescriptors(b + 1) : undefined;
          const ldos = await pending;
          addTiming(o.timings, 'network_s', t0);
          deliver(sink, ldos, firstPointOf(blocks[b]));
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
        const ldos = await predictBlock(descriptors, n, firstGridPoint);
        addTiming(o.timings, 'network_s', t0);
        deliver(sink, ldos, firstGridPoint);
        progress.tick(n);
        await yieldToSignals(); // a Ctrl-C is handled between blocks (src/util/cleanup.ts)
      }
      progress.stop();
    },
    toLayout: (values, layout) => blocksToSlabs(values, blocks, layout),
    fromLayout: (values, layout) => slabsToBlocks(values, blocks, layout),
    // the backward pass: per block, descriptors again (with the kernel's adjoint), the network's
    // VJP of the cotangent (in chunks, so β stays small), then the descriptor adjoint. An
    // ensemble's energy is the mean LDOS's, L̄ = (1/M)·Σ_m L_m: the same cotangent through each
    // member's VJP, averaged, then one descriptor adjoint.
    async forcesPass(cotangent, progress, strainDerivativeEv) {
      const blockForces = o.descriptors.blockForces?.bind(o.descriptors);
      if (!blockForces) throw new MalaError('this descriptor engine cannot differentiate its descriptors', { fix: 'use --descriptor-engine native for forces' });
      if (!o.model.descriptorGradient) throw new Error('forces: the model gives no network VJP');
      if (members && !members.every((m) => m.descriptorGradient)) throw new Error('forces: an ensemble member gives no network VJP');
      const nE = o.energyCount;
      let forces: Float64Array | undefined;
      let first = 0;
      progress.start('forces', pointCount, 'points');
      for (let b = b0; b < b1; b++) {
        const block = blocks[b];
        const n = blockPointCount(block, grid);
        // forces_descriptors_s = forces_recompute_s (descriptors not kept) + forces_adjoint_s (the
        // kernel's adjoint); forces_network_s = forces_cotangent_s (∂E/∂LDOS rows) + forces_vjp_s
        let t0 = performance.now();
        const d = o.float64 ? o.descriptors.computeBlockFloat64!(block) : (kept.get(b) ?? o.descriptors.computeBlock(block));
        kept.delete(b);
        addTiming(o.timings, 'forces_recompute_s', t0);
        addTiming(o.timings, 'forces_descriptors_s', t0);
        const nF = d.length / n;
        const dEdB = new Float64Array(n * nF);
        t0 = performance.now();
        const chunk = Math.max(1, Math.min(n, VJP_CHUNK_POINTS));
        const beta = new Float64Array(chunk * nE);
        for (let p0 = 0; p0 < n; p0 += chunk) {
          const m = Math.min(chunk, n - p0);
          const tc = performance.now();
          const cot = ldosGradientRows(cotangent.adjoint, cotangent.densityGradient, first + p0, m, beta.subarray(0, m * nE));
          addTiming(o.timings, 'forces_cotangent_s', tc);
          const tv = performance.now();
          const rows = d.subarray(p0 * nF, (p0 + m) * nF);
          const vjpOpts = { float64: o.float64, pointOffset: first + p0 };
          if (!members) dEdB.set(await o.model.descriptorGradient!(rows, m, cot, vjpOpts), p0 * nF);
          else await addMeanGradient(members, rows, m, cot, vjpOpts, dEdB.subarray(p0 * nF, (p0 + m) * nF));
          addTiming(o.timings, 'forces_vjp_s', tv);
        }
        addTiming(o.timings, 'forces_network_s', t0);
        t0 = performance.now();
        const f = blockForces(block, dEdB, strainDerivativeEv);
        addTiming(o.timings, 'forces_adjoint_s', t0);
        addTiming(o.timings, 'forces_descriptors_s', t0);
        if (!forces) forces = new Float64Array(f.length);
        for (let i = 0; i < f.length; i++) forces[i] += f[i];
        first += n;
        progress.tick(n);
        await yieldToSignals();
      }
      progress.stop();
      return forces ?? new Float64Array(3 * (o.atomCount ?? 0));
    },
    close: () => {
      if (!closed) o.descriptors.close();
      closed = true;
    },
  };
}

/**
 * Σ_m J_mᵀ·c / M into `out` (zeroed here): the mean LDOS's descriptor gradient, one VJP per member
 * of the same cotangent, summed in member order (float64) and divided as the mean is.
 */
async function addMeanGradient(
  members: NonNullable<NetworkSourceOptions['members']>,
  rows: Float32Array | Float64Array,
  nPoints: number,
  cotangent: Float64Array,
  opts: { float64?: boolean; pointOffset?: number },
  out: Float64Array,
): Promise<void> {
  out.fill(0);
  for (const member of members) {
    const g = await member.descriptorGradient!(rows, nPoints, cotangent, opts);
    for (let i = 0; i < out.length; i++) out[i] += g[i];
  }
  const count = members.length;
  for (let i = 0; i < out.length; i++) out[i] /= count;
}

/** The float64 checking path's ensemble block: the members' mean LDOS (float64) and each member's. */
function deliverFloat64Mean(sink: Parameters<LdosSource['pass']>[0], perMember: Float64Array[], firstPoint: number): void {
  const mean = new Float64Array(perMember[0].length);
  for (let i = 0; i < mean.length; i++) {
    let s = 0;
    for (const l of perMember) s += l[i];
    mean[i] = s / perMember.length;
  }
  sink.addPoints(mean, firstPoint);
  if (sink.addMemberPoints) perMember.forEach((l, k) => sink.addMemberPoints!(k, l, firstPoint));
}
