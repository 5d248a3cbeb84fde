/**
 * The network backend for small work. Loading the libtorch addon costs about a second of a
 * process's life (dlopen of libtorch and OpenBLAS), while the TypeScript network multiplies at
 * about 0.5 GMAC/s: below a few hundred million multiply-adds the TypeScript network has finished
 * before libtorch has loaded (`npx tsx bench/backend-crossover.ts` measures both sides, in fresh
 * processes, interleaved). So when nobody chose a backend (no --backend, MALA_TS_BACKEND unset or
 * 'auto', no CUDA request), work below SMALL_WORK_MACS runs on the TypeScript network.
 * Forces do not enter the choice: a structure gets the same network, so the same numbers, from
 * predict, predict --forces and pw (Be2 with forces took the same time on both backends, 3.2–4.0 s as a
 * process: `time node bin/mala-ts.js predict Be.pw.scf.in --model Be_model.zip --forces --backend ts|torch`).
 */
import type { NetworkSpec } from './mlp';

/** Multiply-adds below which auto picks the TypeScript network (≈ 0.2–0.4 s of it on this machine's cores). */
export const SMALL_WORK_MACS = 2e8;

/** Multiply-adds of one forward pass per point. */
export function macsPerPoint(spec: NetworkSpec): number {
  let m = 0;
  for (let l = 0; l + 1 < spec.layerSizes.length; l++) m += spec.layerSizes[l] * spec.layerSizes[l + 1];
  return m;
}

export interface SmallWorkRequest {
  /** The caller's backend option (undefined: $MALA_TS_BACKEND, else auto). */
  backend?: string;
  /** The caller's device option (undefined: $MALA_TS_DEVICE, else auto). */
  device?: string;
  spec: NetworkSpec;
  /** Points the network will see in this process (the whole grid, the same on every MPI rank). */
  points: number;
  /** Networks that will each see them (ensemble members). */
  networks: number;
}

/** Why the TypeScript network is the one for this work, or undefined when auto should stay as it is. */
export function smallWorkReason(r: SmallWorkRequest): string | undefined {
  const backend = r.backend ?? (process.env.MALA_TS_BACKEND || 'auto');
  const device = r.device ?? (process.env.MALA_TS_DEVICE || 'auto');
  if (backend !== 'auto' || device.startsWith('cuda')) return undefined;
  const macs = r.points * macsPerPoint(r.spec) * r.networks;
  if (!(macs > 0) || macs > SMALL_WORK_MACS) return undefined;
  return `auto: the TypeScript network on the CPU: ${(macs / 1e6).toFixed(0)} M multiply-adds are done before libtorch would have loaded (auto below ${SMALL_WORK_MACS / 1e6} M; --backend torch to choose it)`;
}
