/**
 * src/parallel/share-slots.ts under mpirun: every rank gets every slot's float32 values bit for
 * bit (−0, subnormals and NaN included; a sum with +0 as the other ranks' share would turn −0 into
 * +0) and every slot's text, whichever rank gave it.
 */
import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import execa from 'execa';
import { mpirunRootArgs, mpiTestEnv, repoRoot } from '../helpers';
import { slotArrays, slotText, SLOTS } from './share-slots-data';

const worker = path.join(repoRoot, 'test', 'parallel', 'share-slots-worker.ts');

describe('parallel: slots shared over MPI ranks (ensemble members dealt out)', function () {
  this.timeout(120000);
  it('3 ranks: each rank ends with every slot\'s arrays, bit for bit, and texts', async () => {
    const r = await execa('mpirun', [...mpirunRootArgs, '-np', '3', 'node', '-r', 'tsx/cjs', worker], { env: mpiTestEnv, reject: false, cwd: repoRoot });
    assert.equal(r.exitCode, 0, r.stderr);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { rank: number; mine: number[]; arrays: number[][][]; texts: string[] });
    assert.deepEqual(lines.map((l) => l.rank).sort(), [0, 1, 2]);
    const bits = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));
    const want = [...Array(SLOTS).keys()].map((k) => slotArrays(k).map(bits));
    for (const l of lines) {
      assert.deepEqual(l.mine, [0, 1, 2, 3, 4].filter((k) => k % 3 === l.rank));
      assert.deepEqual(l.arrays, want, `rank ${l.rank}`);
      assert.deepEqual(l.texts, [...Array(SLOTS).keys()].map(slotText), `rank ${l.rank}`);
    }
  });
});
