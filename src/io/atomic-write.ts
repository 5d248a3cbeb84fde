import * as fs from 'node:fs';
import * as path from 'node:path';
import { registerTemp } from '../util/cleanup';

/**
 * Write a file so that a failure never leaves a half-written result that looks whole: write to a
 * temporary name in the same folder, check that every byte was written, fsync, then rename over
 * the target. The temporary file is removed on every error path, and on SIGINT/SIGTERM
 * (src/util/cleanup.ts).
 */

/** fs.writeSync's buffer form; tests pass one that writes short or fails. */
export type WriteBytes = (fd: number, buffer: Uint8Array, offset: number, length: number) => number;

export interface AtomicWriteOptions {
  /** Replaces fs.writeSync (tests: a full disk). */
  writeBytes?: WriteBytes;
}

const defaultWrite: WriteBytes = (fd, buffer, offset, length) => fs.writeSync(fd, buffer, offset, length);

/** An ENOSPC error as the file system would raise it, for a write that made no progress. */
function noProgressError(file: string, wanted: number): NodeJS.ErrnoException {
  const e: NodeJS.ErrnoException = new Error(`ENOSPC: no space left on device, write (0 of ${wanted} bytes written), '${file}'`);
  e.code = 'ENOSPC';
  e.syscall = 'write';
  e.path = file;
  return e;
}

/**
 * Every byte of `data` to `fd`: a short write continues where it stopped (a string is encoded
 * first: fs.writeSync(fd, string) would drop the rest of a short write), and a write that makes
 * no progress is an ENOSPC error.
 */
export function writeAll(fd: number, data: Uint8Array | string, file: string, write: WriteBytes = defaultWrite): void {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  let off = 0;
  while (off < bytes.byteLength) {
    let n: number;
    try {
      n = write(fd, bytes, off, bytes.byteLength - off);
    } catch (e) {
      // a write error names no file (it has an fd); the message should
      const x = e as NodeJS.ErrnoException;
      if (x && typeof x === 'object' && !x.path) x.path = file;
      throw e;
    }
    if (!(n > 0)) throw noProgressError(file, bytes.byteLength - off);
    off += n;
  }
}

/** The temporary name next to `target` (same folder, so the rename is atomic). */
function tmpNameFor(target: string): string {
  const dir = path.dirname(path.resolve(target));
  return path.join(dir, `.${path.basename(target)}.${process.pid}.${Date.now()}.${Math.random().toString(36).slice(2, 8)}.tmp`);
}

export function writeFileAtomic(target: string, data: string | Uint8Array | ReadonlyArray<Uint8Array>, opts: AtomicWriteOptions = {}): void {
  const w = new AtomicFileWriter(target, opts);
  try {
    const parts = typeof data === 'string' || data instanceof Uint8Array ? [data] : data;
    for (const part of parts) w.write(part);
    w.commit();
  } catch (e) {
    w.abort();
    throw e;
  }
}

/**
 * Stream a large file to a temporary name and rename on `commit()`; `abort()` removes it.
 * For outputs too large to build in memory (LDOS, descriptors of big grids). A failed write or
 * commit removes the temporary file before it throws.
 */
export class AtomicFileWriter {
  readonly target: string;
  readonly tmpPath: string;
  private fd: number | null;
  private readonly writeBytes: WriteBytes;
  private readonly unregister: () => void;

  constructor(target: string, opts: AtomicWriteOptions = {}) {
    this.target = target;
    this.writeBytes = opts.writeBytes ?? defaultWrite;
    fs.mkdirSync(path.dirname(path.resolve(target)), { recursive: true });
    this.tmpPath = tmpNameFor(target);
    this.unregister = registerTemp(this.tmpPath);
    try {
      this.fd = fs.openSync(this.tmpPath, 'wx');
    } catch (e) {
      this.unregister();
      throw e;
    }
  }

  write(chunk: Uint8Array | string): void {
    if (this.fd === null) throw new Error(`AtomicFileWriter(${this.target}) already closed`);
    try {
      writeAll(this.fd, chunk, this.target, this.writeBytes);
    } catch (e) {
      this.abort();
      throw e;
    }
  }

  commit(): void {
    if (this.fd === null) return;
    try {
      fs.fsyncSync(this.fd);
      fs.closeSync(this.fd);
      this.fd = null;
      fs.renameSync(this.tmpPath, this.target);
    } catch (e) {
      this.abort();
      throw e;
    }
    this.unregister();
  }

  abort(): void {
    if (this.fd !== null) {
      try {
        fs.closeSync(this.fd);
      } catch {
        // closing can report a deferred write error; the file goes anyway
      }
      this.fd = null;
    }
    fs.rmSync(this.tmpPath, { force: true });
    this.unregister();
  }
}
