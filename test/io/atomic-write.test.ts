import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { AtomicFileWriter, writeFileAtomic, type WriteBytes } from '../../src/io/atomic-write';
import { NpyStreamWriter } from '../../src/io/npy';
import { registeredTemps } from '../../src/util/cleanup';
import { repoRoot, tempDir } from '../helpers';

/** A disk that takes `room` bytes, then writes short (what write(2) does when it fills up), then nothing. */
function fillingDisk(room: number): WriteBytes {
  let left = room;
  return (fd, buffer, offset, length) => {
    const n = Math.min(length, left);
    left -= n;
    return n === 0 ? 0 : fs.writeSync(fd, buffer, offset, n);
  };
}

describe('io/atomic-write: atomic writes that are atomic', () => {
  let t: { dir: string; cleanup: () => void };
  beforeEach(() => {
    t = tempDir();
  });
  afterEach(() => t.cleanup());

  it('a short write of a string is continued, not dropped (fs.writeSync(fd, string) returned short and the rest was lost)', () => {
    const realFs = require('node:fs') as { writeSync: (...a: unknown[]) => number };
    const write = realFs.writeSync;
    // every call writes at most 7 bytes, as a nearly full disk or a signal-interrupted write does
    realFs.writeSync = (fd: unknown, data: unknown, ...rest: unknown[]) => {
      if (typeof data === 'string') return write(fd, data.slice(0, 7));
      const [off, len] = rest as [number, number];
      return write(fd, data, off, Math.min(len, 7));
    };
    const target = path.join(t.dir, 'density.cube');
    const text = 'a cube of many lines\n'.repeat(50);
    try {
      writeFileAtomic(target, text);
    } finally {
      realFs.writeSync = write;
    }
    assert.equal(fs.readFileSync(target, 'utf8'), text);
  });

  it('a full disk fails the write, removes the temporary file and never renames a truncated file into place', () => {
    const target = path.join(t.dir, 'density.cube');
    fs.writeFileSync(target, 'the previous result');
    assert.throws(() => writeFileAtomic(target, 'x'.repeat(10000), { writeBytes: fillingDisk(4096) }), (e: NodeJS.ErrnoException) => e.code === 'ENOSPC' && /0 of 5904 bytes/.test(e.message));
    assert.equal(fs.readFileSync(target, 'utf8'), 'the previous result', 'the old file stays whole');
    assert.deepEqual(fs.readdirSync(t.dir), ['density.cube'], 'no .tmp left');
    assert.deepEqual(registeredTemps().filter((f) => f.startsWith(t.dir)), [], 'unregistered from the cleanup list');
  });

  it('a streamed .npy (NpyStreamWriter, the LDOS spill) that hits ENOSPC leaves no temporary file', () => {
    const target = path.join(t.dir, 'ldos.npy');
    const w = new AtomicFileWriter(target, { writeBytes: fillingDisk(1000) });
    assert.ok(registeredTemps().includes(w.tmpPath), 'the temp file is registered for signals');
    assert.throws(() => w.write(new Uint8Array(5000)), /ENOSPC/);
    assert.deepEqual(fs.readdirSync(t.dir), []);
    assert.ok(!registeredTemps().includes(w.tmpPath));
    const npy = new NpyStreamWriter(path.join(t.dir, 'x.npy'), [10, 4], 'float32');
    npy.write(new Float32Array(20));
    npy.abort();
    assert.deepEqual(fs.readdirSync(t.dir), []);
  });

  it('under `ulimit -f` (EFBIG after a short write) the target never appears truncated', function () {
    this.timeout(60000);
    const target = path.join(t.dir, 'results.json');
    const script = `require(${JSON.stringify(path.join(repoRoot, 'src/io/atomic-write.ts'))}).writeFileAtomic(${JSON.stringify(target)}, 'y'.repeat(100000))`;
    const r = spawnSync('bash', ['-c', 'ulimit -f 8; exec "$0" "$@"', process.execPath, '--require', 'tsx/cjs', '-e', script], { cwd: repoRoot, encoding: 'utf8' });
    assert.notEqual(r.status, 0, 'the write must fail');
    assert.match(r.stderr, /EFBIG/);
    assert.deepEqual(fs.readdirSync(t.dir), [], 'no truncated results.json, no .tmp');
  });
});
