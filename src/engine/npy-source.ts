/**
 * An LDOS .npy (nx, ny, nz, N_E) or (points, N_E), 1/(eV·Å³), streamed in blocks of points.
 * Little-endian float files (all MALA data) are read with two reused buffers: the next block is
 * read on libuv's thread pool while this one is summed, and no block is allocated twice.
 */
import * as fs from 'node:fs';
import { MalaError } from '../errors';
import { NpyFile } from '../io/npy';
import type { Progress } from '../util/progress';
import type { LdosSink, LdosSource } from './ldos-source';

/** Block size for streaming: a few MiB stays in cache-friendly territory and keeps memory flat. */
const CHUNK_BYTES = 8 << 20;

/** `chunkPoints`: grid points per block (default: about 8 MiB of float32). `name`: the file as messages call it. */
export function npyLdosSource(file: string, energyCount: number, opts: { chunkPoints?: number; name?: string } = {}): LdosSource {
  const nE = energyCount;
  const chunkPoints = opts.chunkPoints ?? Math.max(1, Math.floor(CHUNK_BYTES / (nE * 4)));
  const name = opts.name ?? file;
  const f = new NpyFile(file);
  const shape = f.shape;
  if (shape.length < 2 || shape[shape.length - 1] !== nE) {
    f.close();
    throw new MalaError(`LDOS has shape (${shape.join(', ')}) but the energy grid has ${nE} energies`, {
      file,
      fix: `the last axis of the LDOS must be the energy axis with the same count as --energy-grid (give --energy-grid OFFSET,SPACING,${shape[shape.length - 1] ?? '?'} if that is what the LDOS was computed with)`,
    });
  }
  const h = f.header;
  const direct = (h.descr === '<f4' || h.descr === '<f8') && h.dataOffset % h.itemSize === 0;
  const rowBytes = nE * h.itemSize;
  let closed = false;
  const each = async (sink: LdosSink, progress: Progress, label: string) => {
    progress.start(label, f.rowCount, 'points');
    if (!direct) {
      for (let p = 0; p < f.rowCount; p += chunkPoints) {
        const n = Math.min(chunkPoints, f.rowCount - p);
        sink.addPoints(f.readRows(p, n), p);
        progress.tick(n);
      }
      progress.stop();
      return;
    }
    const fd = await fs.promises.open(file, 'r');
    try {
      const bufs = [Buffer.allocUnsafeSlow(chunkPoints * rowBytes), Buffer.allocUnsafeSlow(chunkPoints * rowBytes)];
      const readBlock = async (p: number, buf: Buffer): Promise<number> => {
        const n = Math.min(chunkPoints, f.rowCount - p);
        const want = n * rowBytes;
        let off = 0;
        while (off < want) {
          const { bytesRead } = await fd.read(buf, off, want - off, h.dataOffset + p * rowBytes + off);
          if (bytesRead === 0) throw new MalaError('unexpected end of .npy file', { file, fix: 'the file is incomplete; regenerate it' });
          off += bytesRead;
        }
        return n;
      };
      let next = f.rowCount > 0 ? readBlock(0, bufs[0]) : undefined;
      for (let p = 0, i = 0; p < f.rowCount; p += chunkPoints, i ^= 1) {
        const n = await next!;
        next = p + chunkPoints < f.rowCount ? readBlock(p + chunkPoints, bufs[i ^ 1]) : undefined;
        const b = bufs[i];
        const chunk = h.itemSize === 4 ? new Float32Array(b.buffer, b.byteOffset, n * nE) : new Float64Array(b.buffer, b.byteOffset, n * nE);
        try {
          sink.addPoints(chunk, p);
        } catch (e) {
          await next?.catch(() => undefined); // do not leave a read running on a closing file
          throw e;
        }
        progress.tick(n);
      }
    } finally {
      await fd.close();
    }
    progress.stop();
  };
  return {
    gridShape: shape.slice(0, -1),
    pointCount: f.rowCount,
    energyCount: nE,
    kind: 'file',
    names: { dosPass: name, densityPass: name, dos: name },
    clampNegative: false,
    pass: (sink, progress, label) => each(sink, progress, label),
    close: () => {
      if (!closed) f.close();
      closed = true;
    },
  };
}
