import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { repoRoot, tempDir } from '../helpers';

/**
 * bin/mala-ts.js chooses between the compiled JS (dist/) and the TypeScript sources (through tsx).
 * A fake package with the real bin and two tiny entry points, each printing which one ran.
 */
describe('bin/mala-ts.js: compiled JS or sources', () => {
  let root: string;
  let cleanup: () => void;
  const write = (rel: string, text: string, mtime?: Date) => {
    const f = path.join(root, rel);
    fs.mkdirSync(path.dirname(f), { recursive: true });
    fs.writeFileSync(f, text);
    if (mtime) fs.utimesSync(f, mtime, mtime);
  };
  const run = () => spawnSync(process.execPath, [path.join(root, 'bin', 'mala-ts.js')], { encoding: 'utf8' });
  const past = new Date(Date.now() - 3600e3);
  const earlier = new Date(Date.now() - 7200e3);

  beforeEach(() => {
    ({ dir: root, cleanup } = tempDir('mala-ts-bin-'));
    write('bin/mala-ts.js', fs.readFileSync(path.join(repoRoot, 'bin', 'mala-ts.js'), 'utf8'));
    fs.symlinkSync(path.join(repoRoot, 'node_modules'), path.join(root, 'node_modules'));
    write('dist/src/cli/main.js', "console.log('compiled');\n");
  });
  afterEach(() => cleanup());

  function checkout(sourceTime: Date, builtTime?: Date): void {
    write('src/cli/main.ts', "const from: string = 'sources';\nconsole.log(from);\n", sourceTime);
    fs.utimesSync(path.join(root, 'src', 'cli'), sourceTime, sourceTime);
    fs.utimesSync(path.join(root, 'src'), sourceTime, sourceTime);
    if (builtTime) write('dist/.built', 'stamp\n', builtTime);
  }

  it('an installed package (no src/) runs dist/', () => {
    const r = run();
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, 'compiled\n');
  });

  it('a checkout built after its last source change runs dist/', () => {
    checkout(earlier, past);
    assert.equal(run().stdout, 'compiled\n');
  });

  it('a checkout whose sources changed after the build runs the sources, with nothing on a non-terminal stderr', () => {
    checkout(past, earlier);
    const r = run();
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, 'sources\n');
    assert.equal(r.stderr, '');
  });

  it('a checkout never built (no dist/.built) runs the sources', () => {
    checkout(past);
    assert.equal(run().stdout, 'sources\n');
  });

  it('a deleted source (its folder is newer than the build) runs the sources', () => {
    checkout(earlier, past);
    fs.utimesSync(path.join(root, 'src', 'cli'), new Date(), new Date());
    assert.equal(run().stdout, 'sources\n');
  });
});
