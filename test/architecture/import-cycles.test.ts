import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { importCycles, importGraph } from '../../scripts/import-cycles';
import { repoRoot, tempDir } from '../helpers';

const script = path.join(repoRoot, 'scripts', 'import-cycles.ts');

/** Write files (relative path → text) under dir. */
function writeTree(dir: string, files: Record<string, string>): void {
  for (const [f, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
    fs.writeFileSync(path.join(dir, f), text);
  }
}

describe('architecture/import cycles (scripts/import-cycles.ts)', function () {
  this.timeout(60000);

  it('finds type-only, re-export and folder-index cycles, and nothing in an acyclic tree', function () {
    const tmp = tempDir();
    try {
      writeTree(tmp.dir, {
        'a.ts': "import type { B } from './b';\nexport interface A { b?: B }\n",
        'b.ts': "import { a } from './a';\nexport type B = number;\nexport const x = a;\n",
        'p/index.ts': "export * from '../q';\n",
        'q.ts': "import * as p from './p';\nimport * as fs from 'node:fs';\nexport const y = [p, fs];\n",
        'leaf.ts': "import { x } from './b';\nexport const z = x;\n",
      });
      const rel = (c: string[]) => c.map((f) => path.relative(tmp.dir, f));
      assert.deepEqual(importCycles(importGraph(tmp.dir)).map(rel).sort(), [['a.ts', 'b.ts', 'a.ts'], [path.join('p', 'index.ts'), 'q.ts', path.join('p', 'index.ts')]]);
      const r = spawnSync(process.execPath, ['-r', 'tsx/cjs', script, tmp.dir], { encoding: 'utf8' });
      assert.equal(r.status, 1, r.stderr);
      assert.match(r.stdout, /cycle: a\.ts → b\.ts → a\.ts/);
      fs.rmSync(path.join(tmp.dir, 'b.ts'));
      fs.rmSync(path.join(tmp.dir, 'q.ts'));
      assert.deepEqual(importCycles(importGraph(tmp.dir)), []);
    } finally {
      tmp.cleanup();
    }
  });

  it('src/ has no import cycle', function () {
    const src = path.join(repoRoot, 'src');
    const cycles = importCycles(importGraph(src)).map((c) => c.map((f) => path.relative(src, f)).join(' → '));
    assert.deepEqual(cycles, [], `import cycles under src/:\n  ${cycles.join('\n  ')}`);
  });
});
