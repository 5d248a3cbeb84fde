import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { repoRoot, tempDir } from '../helpers';
import { parseQeInput } from '../../src/structure/qe-input';
import { sampleSnapshots } from '../../src/workflow/sample';
import { MalaError } from '../../src/errors';

describe('workflow/sample: EAM MD frames → pw.x inputs (LAMMPS)', function () {
  this.timeout(60000);
  const template = path.join(repoRoot, 'qe-inputs', 'al-fcc-298K.pw.scf.in');

  it('writes decorrelated, displaced frames into the template, reproducibly for a seed; k and nbnd follow the supercell', () => {
    const t = tempDir();
    try {
      const run = (dir: string) => sampleSnapshots({ qeTemplate: template, outDir: dir, prefix: 'Al', frames: 2, equilibrationPs: 0.2, intervalPs: 0.2, seed: 7, supercell: [2, 1, 1] });
      const a = run(path.join(t.dir, 'a'));
      const b = run(path.join(t.dir, 'b'));
      assert.equal(a.length, 2);
      const q = parseQeInput(fs.readFileSync(a[0].file, 'utf8'), a[0].file);
      assert.equal(q.atoms.symbols.length, 8);
      assert.ok(Math.abs(q.atoms.cellAngstrom[0][0] - 8.1) < 1e-9);
      assert.equal(q.namelists.system.nbnd, 24);
      assert.match(fs.readFileSync(a[0].file, 'utf8'), /K_POINTS automatic\n4 8 8 0 0 0/);
      // thermal displacements of a few hundredths to tenths of an Å from the lattice sites
      let maxDisp = 0;
      for (const p of q.atoms.positionsAngstrom) {
        for (const x of p) {
          const d = Math.abs(x / 2.025 - Math.round(x / 2.025)) * 2.025;
          maxDisp = Math.max(maxDisp, d);
        }
      }
      assert.ok(maxDisp > 0.01 && maxDisp < 0.6, `max displacement ${maxDisp}`);
      assert.notDeepEqual(a[0].atoms.positionsAngstrom, a[1].atoms.positionsAngstrom);
      assert.equal(fs.readFileSync(a[1].file, 'utf8'), fs.readFileSync(b[1].file, 'utf8'));
      assert.ok(fs.existsSync(path.join(t.dir, 'a', 'Al.md.json')) && fs.existsSync(path.join(t.dir, 'a', 'Al.frames.xyz')));
      assert.throws(() => sampleSnapshots({ qeTemplate: template, outDir: t.dir, prefix: 'x', potential: '/nope.eam.alloy' }), (e: unknown) => e instanceof MalaError && /potential/.test(e.message));
    } finally {
      t.cleanup();
    }
  });
});
