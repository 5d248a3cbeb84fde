/**
 * A detached child (runQe's pw.x) is a session, so an autogroup, of its own: passAutogroupNice gives
 * it the caller's autogroup nice, so that a run asked to yield keeps yielding (src/util/autogroup.ts).
 */
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { autogroupNice, passAutogroupNice } from '../../src/util/autogroup';
import { tempDir } from '../helpers';

describe('autogroup: a detached child keeps the caller\'s session nice', () => {
  it('reads the nice of /proc/<pid>/autogroup\'s line', () => {
    assert.equal(autogroupNice('/autogroup-2886 nice 19\n'), 19);
    assert.equal(autogroupNice('/autogroup-7 nice -5'), -5);
    assert.equal(autogroupNice('/autogroup-7 nice 0'), 0);
    assert.equal(autogroupNice(''), undefined);
  });

  it('a detached child\'s autogroup gets the caller\'s nice; a caller at 0 writes nothing', async function () {
    if (!fs.existsSync('/proc/self/autogroup')) {
      console.warn('      SKIPPED: this kernel has no /proc/<pid>/autogroup (autogroup scheduling off)');
      this.skip();
    }
    const t = tempDir();
    const child = spawn('sleep', ['30'], { detached: true, stdio: 'ignore' });
    try {
      const self = path.join(t.dir, 'self');
      fs.writeFileSync(self, '/autogroup-1 nice 7\n');
      assert.equal(passAutogroupNice(child.pid, { self, child: (p) => `/proc/${p}/autogroup` }), 7);
      assert.equal(autogroupNice(fs.readFileSync(`/proc/${child.pid}/autogroup`, 'utf8')), 7);
      fs.writeFileSync(self, '/autogroup-1 nice 0\n');
      const untouched = path.join(t.dir, 'child');
      assert.equal(passAutogroupNice(child.pid, { self, child: () => untouched }), undefined);
      assert.ok(!fs.existsSync(untouched));
    } finally {
      child.kill('SIGKILL');
      t.cleanup();
    }
  });
});
