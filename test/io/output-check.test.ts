import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MalaError } from '../../src/errors';
import { checkOutput, checkOutputs } from '../../src/io/output-check';
import { tempDir } from '../helpers';

/** The MalaError checkOutput throws, or a failure when it throws none. */
function refusal(f: () => void): MalaError {
  try {
    f();
  } catch (e) {
    assert.ok(e instanceof MalaError, `a MalaError, got ${(e as Error)?.stack}`);
    return e;
  }
  assert.fail('the output was accepted');
}

describe('io/output-check: outputs are checked before any computation', () => {
  let t: { dir: string; cleanup: () => void };
  beforeEach(() => {
    t = tempDir();
  });
  afterEach(() => t.cleanup());

  it('refuses /proc/res at once (mkdirSync hung there forever) and special files such as /dev/full', () => {
    const t0 = Date.now();
    assert.match(refusal(() => checkOutput({ path: '/proc/res', kind: 'dir', flag: '--out' })).message, /--out \/proc\/res is inside \/proc, a kernel file system/);
    assert.match(refusal(() => checkOutput({ path: '/proc/res/x.npy', kind: 'file', flag: '-o' })).message, /inside \/proc/);
    assert.ok(Date.now() - t0 < 2000);
    assert.match(refusal(() => checkOutput({ path: '/dev/full', kind: 'file', flag: '--json-out' })).message, /--json-out \/dev\/full is a character device, not a regular file/);
    const fifo = path.join(t.dir, 'fifo');
    require('node:child_process').execFileSync('mkfifo', [fifo]);
    assert.match(refusal(() => checkOutput({ path: fifo, kind: 'file', flag: '--out' })).message, /is a FIFO/);
  });

  it('refuses a folder where a file is written, a file where a folder is needed, and a path inside a file', () => {
    const file = path.join(t.dir, 'a.txt');
    fs.writeFileSync(file, 'x');
    fs.mkdirSync(path.join(t.dir, 'out', 'results.json'), { recursive: true });
    const e1 = refusal(() => checkOutput({ path: path.join(t.dir, 'out', 'results.json'), kind: 'file', flag: '--out' }));
    assert.match(e1.message, /results\.json is a folder; a file is written there/);
    assert.ok(e1.fix);
    assert.match(refusal(() => checkOutput({ path: file, kind: 'dir', flag: '--out' })).message, /a\.txt is a file; a folder is needed there/);
    assert.match(refusal(() => checkOutput({ path: path.join(file, 'sub', 'd.npy'), kind: 'file', flag: '-o' })).message, /a part of the path is a file|is a file, not a folder/);
  });

  it('refuses an output that is one of the inputs (same path, another spelling, a hard link)', () => {
    const input = path.join(t.dir, 'S.out');
    fs.writeFileSync(input, 'pw.x output');
    const link = path.join(t.dir, 'link.out');
    fs.linkSync(input, link);
    for (const out of [input, path.join(t.dir, '.', 'S.out'), link]) {
      assert.match(refusal(() => checkOutputs([{ path: out, kind: 'file', flag: '-o' }], [input])).message, /is the input file .*S\.out: writing it would destroy the input/);
    }
    assert.equal(fs.readFileSync(input, 'utf8'), 'pw.x output');
  });

  it('accepts a new file in a folder still to be made, and leaves nothing behind (the probe file goes)', () => {
    checkOutputs([
      { path: path.join(t.dir, 'new', 'deeper', 'd.npy'), kind: 'file', flag: '-o' },
      { path: path.join(t.dir, 'results'), kind: 'dir', flag: '--out' },
      { path: path.join(t.dir, 'existing.json'), kind: 'file', flag: '--json-out' },
    ]);
    assert.deepEqual(fs.readdirSync(t.dir), []);
  });

  it('names the folder and the reason when a new file cannot be created there (read-only file system)', () => {
    const realFs = require('node:fs') as { openSync: (...a: unknown[]) => number };
    const open = realFs.openSync;
    realFs.openSync = (p: unknown, ...rest: unknown[]) => {
      if (String(p).includes('.mala-ts-probe-')) throw Object.assign(new Error('EROFS: read-only file system'), { code: 'EROFS' });
      return open(p, ...rest);
    };
    try {
      const e = refusal(() => checkOutput({ path: path.join(t.dir, 'results'), kind: 'dir', flag: '--out' }));
      assert.match(e.message, /--out .*results: the folder .* is on a read-only file system/);
    } finally {
      realFs.openSync = open;
    }
  });

  it('refuses an output larger than the free space, with both sizes in the message', () => {
    const e = refusal(() => checkOutput({ path: path.join(t.dir, 'ldos.npy'), kind: 'file', flag: '--out', expectedBytes: 1e18 }));
    assert.match(e.message, /needs about 1000000000\.0 GB, but .* has [\d.]+ GB free/);
  });
});
