/**
 * Where a computed LDOS waits between the engine's DOS pass and its density pass (the density
 * needs the Fermi level, which needs the whole DOS): in memory, or spilled block by block to a
 * float32 .npy and streamed back. Recomputing descriptors instead would double the dominant
 * cost; a spill file costs one sequential write and read. The spill file can be the user's
 * ldos.npy (kept), or a temporary one (deleted).
 */
import * as fs from 'node:fs';
import { NpyFile, NpyStreamWriter } from '../io/npy';
import { registerTemp } from '../util/cleanup';

export interface LdosStore {
  readonly kind: 'memory' | 'disk';
  add(ldos: Float32Array | Float64Array): void;
  /** Calls back with consecutive blocks (first point index in store order, values). */
  forEach(cb: (block: Float32Array | Float64Array, firstPoint: number) => void): void;
  /** Drop what is stored; a spill file is kept when `keep` (the user's ldos.npy), else deleted. */
  finish(keep: boolean): void;
}

/** How the engine stores a computed LDOS. */
export type LdosStorePlan =
  | { kind: 'memory' }
  /** `shape`: of the .npy (points × N_E, or the grid's (nx, ny, nz, N_E) for a kept ldos.npy); `chunkPoints`: points read back at a time; `keep`: the file is an output. */
  | { kind: 'disk'; file: string; shape: number[]; chunkPoints: number; keep: boolean };

export function openLdosStore(plan: LdosStorePlan, energyCount: number): LdosStore {
  return plan.kind === 'memory' ? memoryStore(energyCount) : diskStore(plan.file, plan.shape, plan.chunkPoints, plan.keep);
}

export function memoryStore(energyCount: number): LdosStore {
  const blocks: (Float32Array | Float64Array)[] = [];
  return {
    kind: 'memory',
    add: (b) => blocks.push(b),
    forEach: (cb) => {
      let p = 0;
      for (const b of blocks) {
        cb(b, p);
        p += b.length / energyCount;
      }
    },
    finish: () => {
      blocks.length = 0;
    },
  };
}

/** `keep`: the file is the user's (ldos.npy); otherwise a temporary spill, removed on a signal or exit too (src/util/cleanup.ts). */
export function diskStore(file: string, shape: number[], chunkPoints: number, keep = true): LdosStore {
  const unregister = keep ? () => undefined : registerTemp(file);
  const writer = new NpyStreamWriter(file, shape, 'float32');
  let closed = false;
  return {
    kind: 'disk',
    add: (b) => writer.write(b),
    forEach: (cb) => {
      if (!closed) {
        writer.close();
        closed = true;
      }
      const f = new NpyFile(file);
      try {
        for (let p = 0; p < f.rowCount; p += chunkPoints) {
          const n = Math.min(chunkPoints, f.rowCount - p);
          cb(f.readRows(p, n) as Float32Array, p);
        }
      } finally {
        f.close();
      }
    },
    finish: (keep) => {
      if (!closed) {
        writer.abort();
        closed = true;
      } else if (!keep) fs.rmSync(file, { force: true });
      unregister();
    },
  };
}
