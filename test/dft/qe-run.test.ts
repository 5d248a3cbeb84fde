import { strict as assert } from 'node:assert';
import { MalaError } from '../../src/errors';
import { qeCommandLine, qeFailureExcerpt, qeOutputProblem, runQe } from '../../src/dft/qe-run';
import { clearStamp, hashKey, stageDone, writeStamp } from '../../src/dft/stamps';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { repoRoot, tempDir } from '../helpers';
import { parseQeOutputBands, eigenvalueBandEnergy } from '../../src/dft/qe-xml';
import { kBoltzmannEvPerK } from '../../src/structure/units';

describe('dft/qe-run and stamps', () => {
  it('builds mpirun command lines (root needs --allow-run-as-root; pools only with MPI)', () => {
    assert.deepEqual(qeCommandLine({ program: 'pw.x', inputFile: 'a.in' }), ['pw.x', '-in', 'a.in']);
    assert.deepEqual(qeCommandLine({ program: 'pw.x', inputFile: 'a.in', pools: 2 }), ['pw.x', '-in', 'a.in']);
    const mpi = qeCommandLine({ program: 'pp.x', inputFile: 'p.in', np: 2, pools: 2 });
    assert.equal(mpi[0], 'mpirun');
    assert.deepEqual(mpi.slice(-6), ['2', 'pp.x', '-nk', '2', '-in', 'p.in']);
    assert.equal(mpi.includes('--allow-run-as-root'), process.getuid?.() === 0);
  });

  it("quotes QE's error block and recognises unconverged and truncated outputs", () => {
    const out = ['     Program PWSCF v.6.7', ' junk', ' %%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%', '     Error in routine readpp (1):', '     file /x/Al.UPF not found', ' %%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%', '     stopping ...'].join('\n');
    const ex = qeFailureExcerpt(out);
    assert.match(ex, /Error in routine readpp/);
    assert.match(ex, /Al\.UPF not found/);
    assert.doesNotMatch(ex, /junk/);
    assert.match(qeOutputProblem('pw.x', out)!, /stopped with an error/);
    assert.match(qeOutputProblem('pw.x', '  convergence NOT achieved after 100 iterations: stopping\n JOB DONE.')!, /did not converge/);
    assert.match(qeOutputProblem('pw.x', '  iteration #  3\n')!, /JOB DONE/);
    assert.equal(qeOutputProblem('pw.x', 'x\n   JOB DONE.\n'), undefined);
  });

  it('reports a missing program clearly', async () => {
    const t = tempDir();
    try {
      await assert.rejects(runQe({ program: 'no-such-pw.x', inputFile: 'a.in', outputFile: 'a.out', cwd: t.dir }), (e: unknown) => e instanceof MalaError && /not found on PATH/.test(e.message));
    } finally {
      t.cleanup();
    }
  });

  it('stamps: done only with the same key and existing outputs; cleared stages are not done', () => {
    const t = tempDir();
    try {
      const k = hashKey('a', { b: 1 });
      assert.notEqual(k, hashKey('a', { b: 2 }));
      assert.equal(stageDone(t.dir, 's', k), false);
      writeStamp(t.dir, 's', k, { seconds: 1 });
      assert.equal(stageDone(t.dir, 's', k), true);
      assert.equal(stageDone(t.dir, 's', hashKey('other')), false);
      assert.equal(stageDone(t.dir, 's', k, [`${t.dir}/missing.npy`]), false);
      clearStamp(t.dir, 's');
      assert.equal(stageDone(t.dir, 's', k), false);
    } finally {
      t.cleanup();
    }
  });
});

describe('dft/qe-xml: eigenvalues from the pw.x output (fixtures/al-size-transfer, own QE 6.7 run)', () => {
  it('reads printed k-weights and eigenvalues and reproduces the fixture band energy', () => {
    const dir = path.join(repoRoot, 'fixtures', 'al-size-transfer');
    const ref = JSON.parse(fs.readFileSync(path.join(dir, 'qe-reference.json'), 'utf8'));
    const b = parseQeOutputBands(fs.readFileSync(path.join(dir, 'pw.scf.out'), 'utf8'));
    assert.equal(b.kWeights.length, 64);
    assert.equal(b.nbnd, 64);
    assert.ok(Math.abs(b.kWeights.reduce((s, w) => s + w, 0) - 2) < 1e-6);
    assert.equal(b.fermiEnergyEv, 7.7271);
    const { bandEnergyEv, electrons } = eigenvalueBandEnergy(b, b.fermiEnergyEv!, kBoltzmannEvPerK * ref.temperatureK);
    assert.ok(Math.abs(electrons - 96) < 1e-3, `N = ${electrons}`);
    assert.ok(Math.abs(bandEnergyEv - ref.bandEnergyEv) < 1e-9);
    assert.ok(Math.abs(b.eigenvaluesEv[0][0] - -3.4326) < 1e-12);
  });
});
