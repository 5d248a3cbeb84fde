import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * Write a file so that a crash never leaves a half-written result that looks whole:
 * write to a temporary name in the same directory, fsync, then rename over the target.
 */
export function writeFileAtomic(target: string, data: string | Uint8Array | ReadonlyArray<Uint8Array>): void {
  const dir = path.dirname(path.resolve(target));
  fs.mkdirSync(dir, { recursive: true });
  const tmp = path.join(dir, `.${path.basename(target)}.${process.pid}.${Date.now()}.tmp`);
  const fd = fs.openSync(tmp, 'w');
  try {
    const parts = typeof data === 'string' || data instanceof Uint8Array ? [data] : data;
    for (const part of parts) {
      if (typeof part === 'string') fs.writeSync(fd, part);
      else {
        let off = 0;
        while (off < part.byteLength) off += fs.writeSync(fd, part, off, part.byteLength - off);
      }
    }
    fs.fsyncSync(fd);
  } catch (e) {
    fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw e;
  }
  fs.closeSync(fd);
  fs.renameSync(tmp, target);
}

/**
 * Stream a large file to a temporary name and rename on `commit()`; `abort()` removes it.
 * For outputs too large to build in memory (LDOS, descriptors of big grids).
 */
export class AtomicFileWriter {
  readonly target: string;
  readonly tmpPath: string;
  private fd: number | null;

  constructor(target: string) {
    this.target = target;
    const dir = path.dirname(path.resolve(target));
    fs.mkdirSync(dir, { recursive: true });
    this.tmpPath = path.join(dir, `.${path.basename(target)}.${process.pid}.${Date.now()}.tmp`);
    this.fd = fs.openSync(this.tmpPath, 'w');
  }

  write(chunk: Uint8Array | string): void {
    if (this.fd === null) throw new Error(`AtomicFileWriter(${this.target}) already closed`);
    if (typeof chunk === 'string') {
      fs.writeSync(this.fd, chunk);
      return;
    }
    let off = 0;
    while (off < chunk.byteLength) off += fs.writeSync(this.fd, chunk, off, chunk.byteLength - off);
  }

  commit(): void {
    if (this.fd === null) return;
    fs.fsyncSync(this.fd);
    fs.closeSync(this.fd);
    this.fd = null;
    fs.renameSync(this.tmpPath, this.target);
  }

  abort(): void {
    if (this.fd !== null) {
      fs.closeSync(this.fd);
      this.fd = null;
    }
    fs.rmSync(this.tmpPath, { force: true });
  }
}
