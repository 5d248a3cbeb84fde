import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import execa from 'execa';
import { globToRegExp } from '../../src/workflow/watch';
import { referenceDir, repoRoot, tempDir } from '../helpers';

const cli = path.join(repoRoot, 'bin', 'mala-ts.js');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, f: () => T | undefined, timeoutMs: number): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = f();
    if (v !== undefined) return v;
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

// complete lines only: read while the watcher writes, the file can end in part of a line (a
// reader of a growing file sees a write(2) as it lands), as any tail -f consumer must allow for
const readLines = (file: string): string[] => {
  if (!fs.existsSync(file)) return [];
  const text = fs.readFileSync(file, 'utf8');
  return text.slice(0, text.lastIndexOf('\n') + 1).split('\n').filter((l) => l.length > 0);
};

describe('workflow: watch patterns', () => {
  it('globs: *, ?, {a,b}, [..], ** and paths', () => {
    const re = globToRegExp('*.{xyz,out}');
    assert.ok(re.test('a.xyz') && re.test('Be_snapshot0.out'));
    assert.ok(!re.test('a.xyz.tmp') && !re.test('sub/a.xyz') && !re.test('a.in'));
    assert.ok(globToRegExp('frame_??.dump').test('frame_07.dump'));
    assert.ok(!globToRegExp('frame_[!0]*.dump').test('frame_07.dump'));
    assert.ok(globToRegExp('runs/**/*.out').test('runs/a/b/x.out'));
    assert.ok(globToRegExp('runs/**/*.out').test('runs/x.out'));
    assert.throws(() => globToRegExp('*.{xyz'), /unbalanced/);
  });
});

describe('workflow: mala-ts watch (Be2, CLI in a child process)', function () {
  this.timeout(240000);
  let be2: string;

  before(function () {
    be2 = referenceDir(this);
  });

  it('predicts two dropped structures, logs a clear error for a malformed one, keeps running, stops cleanly on SIGINT', async () => {
    const { dir, cleanup } = tempDir();
    const watched = path.join(dir, 'in');
    fs.mkdirSync(watched);
    const log = path.join(dir, 'results.jsonl');
    const child = execa('node', [cli, 'watch', watched, '--model', path.join(be2, 'Be_model.zip'), '--pseudo-dir', be2, '--log', log, '--out', path.join(dir, 'out'), '--settle', '300'], {
      reject: false,
      env: { MALA_TS_QUIET: '1' },
    });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    try {
      await until('the watcher to be ready', () => (/watching /.test(stderr) ? true : undefined), 60000);

      // written in two parts with a pause shorter than --settle: read once, when complete
      const text0 = fs.readFileSync(path.join(be2, 'Be_snapshot0.out'), 'utf8');
      const f0 = path.join(watched, 'snap0.out');
      fs.writeFileSync(f0, text0.slice(0, 2000));
      await sleep(100);
      fs.appendFileSync(f0, text0.slice(2000));
      fs.copyFileSync(path.join(be2, 'Be_snapshot1.out'), path.join(watched, 'snap1.out'));
      fs.writeFileSync(path.join(watched, 'broken.xyz'), '2\nLattice="1 0 0 0 1 0"\nBe 0 0\n');
      fs.writeFileSync(path.join(watched, 'notes.txt'), 'not a structure, not matched by the pattern\n');

      const lines = await until('three log lines', () => {
        const l = readLines(log);
        return l.length >= 3 ? l : undefined;
      }, 180000);
      await sleep(1000); // nothing more should come (no duplicate for the two-part write, no notes.txt)
      assert.equal(readLines(log).length, 3, readLines(log).join('\n'));
      assert.equal(child.exitCode, null, 'the watcher is still running');

      const records = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
      const byName = new Map(records.map((r) => [path.basename(r.file as string), r]));
      // spec §6.2 (Be_model on the Be2 snapshots)
      for (const [name, total, band] of [['snap0.out', -72.81359, 12.45397], ['snap1.out', -72.89387, 12.26025]] as const) {
        const r = byName.get(name)!;
        assert.ok(r, `${name} logged`);
        assert.equal(r.ok, true);
        assert.ok(Math.abs((r.total_energy_ev as number) - total) < 1e-5, `${name} E_total ${r.total_energy_ev}`);
        assert.ok(Math.abs((r.band_energy_ev as number) - band) < 1e-5, `${name} E_band ${r.band_energy_ev}`);
        assert.equal(r.energies_ev, undefined, 'no DOS arrays in the log');
        assert.ok(fs.statSync(path.join(dir, 'out', name, 'results.json')).size > 0);
      }
      const bad = byName.get('broken.xyz')!;
      assert.equal(bad.ok, false);
      assert.match(bad.error as string, /extxyz|Lattice|position/i);
      assert.match(stderr, /error: .*broken\.xyz/);

      child.kill('SIGINT');
      const done = await child;
      assert.equal(done.exitCode, 0, stderr);
      assert.match(stderr, /stopped; 3 line\(s\) written/);
      // every line whole and parseable after the stop
      const after = fs.readFileSync(log, 'utf8');
      assert.ok(after.endsWith('\n'));
      for (const l of readLines(log)) JSON.parse(l);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      cleanup();
    }
  });

  it('fails at once with a clear message for a missing folder or model', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const noDir = await execa('node', [cli, 'watch', path.join(dir, 'nope'), '--model', path.join(be2, 'Be_model.zip')], { reject: false });
      assert.equal(noDir.exitCode, 1);
      assert.match(noDir.stderr, /nope is not a folder/);
      const noModel = await execa('node', [cli, 'watch', dir, '--model', path.join(dir, 'missing.zip')], { reject: false });
      assert.equal(noModel.exitCode, 1);
      assert.match(noModel.stderr, /missing\.zip/);
      assert.doesNotMatch(noDir.stderr + noModel.stderr, /internal error/);
    } finally {
      cleanup();
    }
  });
});
