/**
 * Fault suite, watch (issue 14): a symlink loop dropped into the folder crashed the watcher
 * (an uncaught ELOOP; a link to '..' also made an endless tree of paths); deleting the watched
 * folder was silent.
 */
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { watchFolder, type WatchRecord } from '../../src/workflow/watch';
import { writeSmallPredictModel } from '../network/synthetic';
import { tempDir } from '../helpers';
import { cli } from './helpers';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const xyz = '1\nLattice="4 0 0 0 4 0 0 0 4" Properties=species:S:1:pos:R:3 pbc="T T T"\nAl 0 0 0\n';

describe('faults: watch survives', function () {
  this.timeout(60000);
  let t: { dir: string; cleanup: () => void };
  beforeEach(() => {
    t = tempDir();
  });
  afterEach(() => t.cleanup());

  it('symlink loops (a link to itself, a → b → a, sub/up → ..) do not crash it; a later file is predicted once', async () => {
    const dir = path.join(t.dir, 'in');
    fs.mkdirSync(dir);
    const records: WatchRecord[] = [];
    const uncaught: unknown[] = [];
    const onUncaught = (e: unknown) => uncaught.push(e);
    process.on('uncaughtException', onUncaught);
    const h = watchFolder({ dir, model: writeSmallPredictModel(t.dir), logFile: path.join(t.dir, 'log.jsonl'), settleMs: 100, predictOptions: { grid: [6, 6, 6], temperatureK: 1000, electrons: 3 }, onRecord: (r) => records.push(r) });
    try {
      await h.ready;
      fs.symlinkSync('loop.xyz', path.join(dir, 'loop.xyz'));
      fs.symlinkSync('b', path.join(dir, 'a'));
      fs.symlinkSync('a', path.join(dir, 'b'));
      fs.mkdirSync(path.join(dir, 'sub'));
      fs.symlinkSync('..', path.join(dir, 'sub', 'up'));
      await sleep(1000);
      fs.writeFileSync(path.join(dir, 'later.xyz'), xyz);
      for (let i = 0; i < 100 && !records.some((r) => r.file.endsWith('later.xyz')); i++) await sleep(100);
      await h.idle();
      await sleep(500);
      assert.deepEqual(uncaught, []);
      const later = records.filter((r) => r.file.endsWith('later.xyz'));
      assert.equal(later.length, 1, JSON.stringify(records.map((r) => r.file)));
      assert.equal(later[0].file, path.join(dir, 'later.xyz'), 'not through sub/up/…');
      assert.ok(later[0].ok, later[0].error);
      assert.ok(records.every((r) => r.ok || /symlink loop/.test(r.error ?? '')), JSON.stringify(records));
    } finally {
      process.off('uncaughtException', onUncaught);
      await h.stop();
    }
    await h.closed;
  });

  it('the watched folder deleted: one message, a JSON error line, exit 1', async () => {
    const dir = path.join(t.dir, 'in');
    fs.mkdirSync(dir);
    const log = path.join(t.dir, 'log.jsonl');
    const child = spawn(process.execPath, [cli, 'watch', dir, '--model', writeSmallPredictModel(t.dir), '--log', log], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    for (let i = 0; i < 300 && !/watching /.test(stderr); i++) await sleep(100);
    assert.match(stderr, /watching /);
    fs.rmSync(dir, { recursive: true });
    const timer = setTimeout(() => child.kill('SIGKILL'), 15000);
    const code = await exited;
    clearTimeout(timer);
    assert.equal(code, 1, stderr);
    assert.match(stderr, /mala-ts: error: the watched folder .*in was deleted or moved; stopped watching\n {2}fix: recreate the folder/);
    assert.doesNotMatch(stderr, /^\s+at /m);
    assert.equal(stderr.match(/was deleted/g)?.length, 1, stderr);
    const lines = fs.readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as WatchRecord);
    assert.equal(lines.length, 1);
    assert.equal(lines[0].ok, false);
    assert.match(lines[0].error ?? '', /was deleted or moved/);
  });
});
