/**
 * energyGradient (u = ∂E/∂n and the explicit forces) on FFTW-MPI x-slabs against the serial
 * whole-grid computation, on 1, 2 and 3 ranks: LDA, and PBE with a core charge on an uneven grid;
 * and slabsToBlocks (u back to the LDOS blocks) as the inverse of blocksToSlabs.
 */
import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import execa from 'execa';
import { loadMpiAddon } from '../../bindings/mpi';
import { mpirunRootArgs, mpiTestEnv, repoRoot } from '../helpers';

const worker = path.join(repoRoot, 'test', 'parallel', 'distributed-gradient-worker.ts');

describe('parallel: energy gradient (density adjoint, Ewald and core forces) on FFTW-MPI slabs', function () {
  this.timeout(300000);
  it('equals the serial one (u to 1e-10 of its largest value: J·ñ is a difference quotient, rounding ÷ ε) on 1, 2 and 3 ranks, forces the same on every rank', async function () {
    if (!loadMpiAddon().addon) {
      console.warn(`    ! SKIPPED: ${loadMpiAddon().reason}`);
      this.skip();
    }
    for (const np of [1, 2, 3]) {
      const r = await execa('mpirun', [...mpirunRootArgs, '-np', String(np), 'node', '-r', 'tsx/cjs', worker], { env: mpiTestEnv, reject: false, cwd: repoRoot });
      assert.equal(r.exitCode, 0, `mpirun -np ${np}: ${r.stderr}`);
      const rep = JSON.parse(r.stdout.trim().split('\n').pop() as string);
      assert.equal(rep.ranks, np);
      assert.ok(rep.slabsToBlocksOk, `${np} ranks: slabsToBlocks does not undo blocksToSlabs`);
      for (const [name, c] of Object.entries(rep.cases) as [string, { maxUDiff: number; maxU: number; maxForceDiff: number; sameForcesOnAllRanks: boolean }][]) {
        assert.ok(c.maxUDiff <= 1e-10 * c.maxU, `${np} ranks, ${name}: u differs by ${c.maxUDiff} (max |u| ${c.maxU})`);
        assert.ok(c.maxForceDiff <= 1e-10, `${np} ranks, ${name}: forces differ by ${c.maxForceDiff} eV/Å`);
        assert.ok(c.sameForcesOnAllRanks, `${np} ranks, ${name}: ranks disagree`);
      }
    }
  });
});
