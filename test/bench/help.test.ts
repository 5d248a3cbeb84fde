import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import execa from 'execa';
import { repoRoot } from '../helpers';

// Benchmarks are not tests, but each must answer --help at once instead of starting a run.
const libraries = new Set(['help.ts', 'fit.ts', 'gaussian-density.ts', 'nets.ts', 'torch-peer.ts', 'force-tables.ts', 'stats.ts']);

describe('bench: every benchmark answers --help without running', () => {
  it('prints its usage and exits 0 quickly', async function () {
    this.timeout(120000);
    const files = fs.readdirSync(path.join(repoRoot, 'bench')).filter((f) => f.endsWith('.ts') && !libraries.has(f));
    assert.ok(files.length >= 10, `found ${files.length} benchmarks`);
    const tsx = path.join(repoRoot, 'node_modules', '.bin', 'tsx');
    const runs = await Promise.all(files.map((f) => execa(tsx, [path.join('bench', f), '--help'], { cwd: repoRoot, reject: false, timeout: 60000 })));
    runs.forEach((r, i) => {
      assert.equal(r.exitCode, 0, `${files[i]} --help: exit ${r.exitCode}\n${r.stderr}`);
      // its own usage: a benchmark that imports another must not print the other's
      assert.equal(/npx tsx bench\/([\w.-]+)/.exec(r.stdout)?.[1], files[i], `${files[i]} --help printed no usage of its own:\n${r.stdout.slice(0, 300)}`);
    });
  });
});
