import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import execa from 'execa';
import { readNpy } from '../../src/io/npy';
import { loadModel } from '../../src/network/model';
import { referenceDir, repoRoot, tempDir } from '../helpers';

describe('mala-ts import-model', () => {
  it('converts MALA\'s Be_model.zip to a mala-ts archive that predicts the same LDOS', async function () {
    const be2 = referenceDir(this);
    const { dir, cleanup } = tempDir();
    try {
      const out = path.join(dir, 'be.zip');
      const r = await execa('node', [path.join(repoRoot, 'bin', 'mala-ts.js'), 'import-model', path.join(be2, 'Be_model.zip'), '--out', out], { reject: false });
      assert.equal(r.exitCode, 0, r.stderr);
      assert.match(r.stdout, /91→100→11/);
      const mala = loadModel(path.join(be2, 'Be_model.zip'), { backend: 'ts' });
      const ours = loadModel(out, { backend: 'ts' });
      assert.deepEqual(ours.data.energyGrid, mala.data.energyGrid);
      assert.deepEqual(ours.data.descriptors, mala.data.descriptors);
      // 200 grid points of snapshot 0, xyz columns dropped.
      const d = readNpy(path.join(be2, 'Be_snapshot0.in.npy'));
      const n = 200;
      const x = new Float32Array(n * 91);
      for (let p = 0; p < n; p++) for (let c = 0; c < 91; c++) x[p * 91 + c] = d.data[p * 94 + 3 + c];
      const a = await mala.predictLdos(x, n);
      const b = await ours.predictLdos(x, n);
      assert.deepEqual(Array.from(b), Array.from(a));
    } finally {
      cleanup();
    }
  });
});
