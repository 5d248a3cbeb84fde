import { strict as assert } from 'node:assert';
import { describeFailure, systemErrorToMala } from '../../src/cli/fail';
import { MalaError } from '../../src/errors';

function errno(code: string, extra: Partial<NodeJS.ErrnoException> = {}): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: something, write`), { code, syscall: 'write', ...extra });
}

describe('cli/fail: how the CLI ends on an error', () => {
  it('turns ENOSPC, EROFS, EACCES, EISDIR, EEXIST, EFBIG, EPIPE into one message with a fix, exit 1, no stack', () => {
    const cases: [string, RegExp][] = [
      ['ENOSPC', /no space left on the device while writing \/tmp\/mala-ts-ldos-1\.npy \(ENOSPC in write\)\n {2}fix: .*TMPDIR/],
      ['EROFS', /\/tmp\/mala-ts-ldos-1\.npy is on a read-only file system/],
      ['EACCES', /permission denied: \/tmp\/mala-ts-ldos-1\.npy/],
      ['EISDIR', /is a folder where a file is needed/],
      ['EEXIST', /already exists/],
      ['EFBIG', /grew beyond the largest file allowed \(ulimit -f/],
      ['EPIPE', /was closed before everything was written/],
    ];
    for (const [code, re] of cases) {
      const { text, exitCode } = describeFailure(errno(code, { path: '/tmp/mala-ts-ldos-1.npy' }), false);
      assert.equal(exitCode, 1, code);
      assert.match(text, /^mala-ts: error: /);
      assert.match(text, re);
      assert.doesNotMatch(text, /\n\s+at /, `${code}: no stack trace`);
    }
  });

  it('finds the system error behind a wrapping error (cause), and leaves other errors alone', () => {
    const wrapped = new Error('saving failed', { cause: errno('EROFS', { path: '/ro/model.zip' }) });
    assert.match(systemErrorToMala(wrapped)!.message, /\/ro\/model\.zip is on a read-only file system/);
    assert.equal(systemErrorToMala(new MalaError('x')), undefined);
    assert.equal(systemErrorToMala(errno('ECONNRESET')), undefined);
  });

  it('standard output that is full says to redirect it', () => {
    const { text } = describeFailure(errno('ENOSPC', { path: 'standard output' }), false);
    assert.match(text, /while writing standard output .*\n {2}fix: redirect standard output/);
  });

  it('a bug is exit 2 with the message only; --debug adds the stack', () => {
    const bug = new TypeError('x is undefined');
    const plain = describeFailure(bug, false);
    assert.equal(plain.exitCode, 2);
    assert.match(plain.text, /internal error \(please report\): x is undefined\n {2}\(run with --debug for the stack trace\)/);
    assert.doesNotMatch(plain.text, /\n\s+at /);
    assert.match(describeFailure(bug, true).text, /\n\s+at /);
    assert.match(describeFailure(new MalaError('bad', { fix: 'do y' }), true).text, /^mala-ts: error: bad\n {2}fix: do y\nMalaError: bad\n\s+at /);
  });
});
