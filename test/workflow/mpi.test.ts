/**
 * `mpirun -np N mala-ts predict`: the observables do not depend on the rank count (the energy
 * terms run on FFTW-MPI slabs with N > 1; no rank gathers the density).
 *
 * Every run uses one BLAS thread per rank: the float32 GEMM of the network rounds differently
 * with a different thread count (≈1e-8 relative in E_band, measured), which is not a property of
 * the decomposition. Blocks of planes are fixed by the grid, so each point's descriptors and
 * LDOS are bit-identical for any N; only the float64 DOS sums change order.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import execa from 'execa';
import { BispectrumCalculator } from '../../src/descriptors/bispectrum';
import { malaBispectrumDefaults } from '../../src/descriptors/mala-defaults';
import { splitRange } from '../../src/parallel/comm';
import { fccSupercell, rattle } from '../../src/structure/crystal';
import { blockGridIndices, blockPointCount, gridBlocks, planeBlocks, toGridOrder, windowAtoms, WindowedDescriptors } from '../../src/parallel/plane-blocks';
import { writeSmallPredictModel } from '../network/synthetic';
import { mpirunRootArgs, mpiTestEnv, referenceDir, repoRoot, tempDir } from '../helpers';

const cli = path.join(repoRoot, 'bin', 'mala-ts.js');
const observables = ['fermi_energy_ev', 'band_energy_ev', 'entropy_contribution_ev', 'total_energy_ev', 'density_electrons', 'number_of_electrons'];

async function mpiPredict(np: number, args: string[], outDir?: string): Promise<Record<string, unknown>> {
  const r = await execa('mpirun', [...mpirunRootArgs, '-np', String(np), 'node', cli, 'predict', ...args, '--json', ...(outDir ? ['--out', outDir] : [])], { env: mpiTestEnv, reject: false });
  assert.equal(r.exitCode, 0, `mpirun -np ${np}: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

function assertSame(a: Record<string, unknown>, b: Record<string, unknown>, what: string): void {
  for (const k of observables) {
    const x = a[k] as number;
    const y = b[k] as number;
    assert.ok(Number.isFinite(x) && Number.isFinite(y), `${what}: ${k} ${x} ${y}`);
    const rel = Math.abs(x - y) / Math.max(Math.abs(x), 1e-300);
    assert.ok(rel <= 1e-8, `${what}: ${k} ${x} vs ${y} (relative ${rel.toExponential(2)})`);
  }
}

const alFixture = path.join(repoRoot, 'fixtures', 'al-fcc-qe', 'Al.pw.scf.out');

/** predict of the Al fixture on each rank count, outputs in dir/<tag><np>: each run reports its rank count and writes exactly the four outputs (no temporary file left). */
async function alOnRanks(dir: string, model: string, nps: number[], extra: string[], tag: string): Promise<Record<string, unknown>[]> {
  const runs: Record<string, unknown>[] = [];
  for (const np of nps) {
    const out = path.join(dir, `${tag}${np}`);
    const r = await mpiPredict(np, [alFixture, '--model', model, ...extra], out);
    assert.equal(r.mpi_ranks, np);
    assert.deepEqual(fs.readdirSync(out).sort(), ['density.cube', 'dos.csv', 'dos.svg', 'results.json']);
    runs.push(r);
  }
  return runs;
}

describe('workflow: predict across MPI ranks', function () {
  this.timeout(300000);

  it('Al fixture with a small random model: 1, 2 and 3 ranks agree to 1e-8; one set of outputs (density.cube from every rank\'s slab)', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const model = writeSmallPredictModel(dir);
      const runs = await alOnRanks(dir, model, [1, 2, 3], [], 'np');
      assert.ok(Math.abs((runs[0].density_electrons as number) - 12) < 1e-6, `density integrates to N_e: ${runs[0].density_electrons}`);
      assertSame(runs[0], runs[1], '1 vs 2 ranks');
      assertSame(runs[0], runs[2], '1 vs 3 ranks');
      // the density (written by the ranks in turn from their FFT slabs) is the same file
      assert.equal(fs.readFileSync(path.join(dir, 'np1', 'density.cube'), 'utf8'), fs.readFileSync(path.join(dir, 'np3', 'density.cube'), 'utf8'));
      // blocks smaller than a plane (rows 0, 3, 6, … of a 24×24 plane): ranks split planes, the
      // density comes back in grid order, and only the network batches change (float32 rounding)
      const split = await alOnRanks(dir, model, [1, 3], ['--block-points', '200'], 'split');
      assert.equal(split[0].max_block_points, 192);
      assert.equal(split[0].block_count, 72);
      assertSame(split[0], split[1], 'rows blocks, 1 vs 3 ranks');
      assert.equal(fs.readFileSync(path.join(dir, 'split1', 'density.cube'), 'utf8'), fs.readFileSync(path.join(dir, 'split3', 'density.cube'), 'utf8'));
      for (const k of observables) {
        const rel = Math.abs((split[0][k] as number) - (runs[0][k] as number)) / Math.abs(runs[0][k] as number);
        assert.ok(rel < 1e-6, `rows blocks vs plane blocks: ${k} ${split[0][k]} vs ${runs[0][k]}`);
      }
    } finally {
      cleanup();
    }
  });

  it('a grid with 25 x-planes (split 13/12 and 9/9/7 in FFTW-MPI slabs): 1, 2 and 3 ranks agree to 1e-8 and write the same density.cube', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const model = writeSmallPredictModel(dir);
      const runs = await alOnRanks(dir, model, [1, 2, 3], ['--grid', '25,24,24'], 'np');
      for (const r of runs) assert.deepEqual(r.grid_shape, [25, 24, 24]);
      assert.ok(Number.isFinite(runs[0].total_energy_ev as number));
      assertSame(runs[0], runs[1], '25 planes, 1 vs 2 ranks');
      assertSame(runs[0], runs[2], '25 planes, 1 vs 3 ranks');
      const one = fs.readFileSync(path.join(dir, 'np1', 'density.cube'), 'utf8');
      assert.equal(fs.readFileSync(path.join(dir, 'np2', 'density.cube'), 'utf8'), one);
      assert.equal(fs.readFileSync(path.join(dir, 'np3', 'density.cube'), 'utf8'), one);
    } finally {
      cleanup();
    }
  });

  it('Be2 with MALA\'s Be_model: 1, 2 and 3 ranks agree to 1e-8 and match spec §6.2', async function () {
    const be2 = referenceDir(this);
    const args = [path.join(be2, 'Be_snapshot0.out'), '--model', path.join(be2, 'Be_model.zip'), '--pseudo-dir', be2];
    const one = await mpiPredict(1, args);
    assert.ok(Math.abs((one.band_energy_ev as number) - 12.45397) < 1e-5);
    assert.ok(Math.abs((one.total_energy_ev as number) + 72.81359) < 1e-5);
    for (const np of [2, 3]) {
      const r = await mpiPredict(np, args);
      assert.equal(r.mpi_ranks, np);
      assertSame(one, r, `1 vs ${np} ranks`);
      console.log(`      ${np} ranks: ΔE_band ${((r.band_energy_ev as number) - (one.band_energy_ev as number)).toExponential(2)} eV, ΔE_total ${((r.total_energy_ev as number) - (one.total_energy_ev as number)).toExponential(2)} eV, largest rank peak ${(r.peak_rss_max_rank_mb as number).toFixed(0)} MB`);
    }
  });

  it('forces: 1, 2 and 3 ranks agree to 1e-9 eV/Å (each rank back-propagates its blocks; ∂E/∂n returns from the FFTW slabs)', async () => {
    const frame = path.join(repoRoot, 'fixtures', 'al-forces', 'Al4_298K_6.pw.scf.in');
    const args = [frame, '--model', path.join(repoRoot, 'models', 'al-fcc-298K', 'model.zip'), '--pseudo-dir', path.join(repoRoot, 'fixtures', 'al-fcc-qe'), '--forces', '--block-points', '1200'];
    const runs = [];
    for (const np of [1, 2, 3]) runs.push(await mpiPredict(np, args));
    const f1 = runs[0].forces_ev_per_angstrom as number[][];
    assert.equal(f1.length, 4);
    assert.ok(Math.max(...f1.flat().map(Math.abs)) > 0.1);
    for (const r of runs.slice(1)) {
      assertSame(runs[0], r, `forces run on ${r.mpi_ranks} ranks`);
      const f = r.forces_ev_per_angstrom as number[][];
      const d = Math.max(...f.flatMap((row, i) => row.map((x, k) => Math.abs(x - f1[i][k]))));
      assert.ok(d < 1e-9, `${r.mpi_ranks} ranks: forces differ by ${d} eV/Å`);
    }
  });

  it('stress: 1, 2 and 3 ranks agree to 1e-9 relative (descriptor part summed over ranks; density terms on the FFTW slabs; Ewald split)', async () => {
    const frame = path.join(repoRoot, 'fixtures', 'al-forces', 'Al4_298K_6.pw.scf.in');
    const args = [frame, '--model', path.join(repoRoot, 'models', 'al-fcc-298K', 'model.zip'), '--pseudo-dir', path.join(repoRoot, 'fixtures', 'al-fcc-qe'), '--stress', '--block-points', '1200'];
    const runs = [];
    for (const np of [1, 2, 3]) runs.push(await mpiPredict(np, args));
    const s1 = runs[0].stress_ev_per_angstrom3 as number[][];
    const scale = Math.max(...s1.flat().map(Math.abs));
    assert.ok(scale > 1e-3);
    for (const r of runs.slice(1)) {
      assertSame(runs[0], r, `stress run on ${r.mpi_ranks} ranks`);
      const s = r.stress_ev_per_angstrom3 as number[][];
      const d = Math.max(...s.flatMap((row, i) => row.map((x, k) => Math.abs(x - s1[i][k]))));
      assert.ok(d < 1e-9 * scale, `${r.mpi_ranks} ranks: stress differs by ${d} eV/Å³`);
    }
  });

  it('stress of Be2 (PBE + core charge: the GGA and core strain terms on the slabs): 1 and 2 ranks agree to 1e-9 relative', async function () {
    const be2 = referenceDir(this);
    const args = [path.join(be2, 'Be_snapshot0.out'), '--model', path.join(be2, 'Be_model.zip'), '--pseudo-dir', be2, '--stress'];
    const [one, two] = [await mpiPredict(1, args), await mpiPredict(2, args)];
    const s1 = one.stress_ev_per_angstrom3 as number[][];
    const s2 = two.stress_ev_per_angstrom3 as number[][];
    const scale = Math.max(...s1.flat().map(Math.abs));
    const d = Math.max(...s2.flatMap((row, i) => row.map((x, k) => Math.abs(x - s1[i][k]))));
    assert.ok(scale > 1e-3 && d < 1e-9 * scale, `2 ranks: stress differs by ${d} eV/Å³ (scale ${scale})`);
  });

  it('predict --np 2 relaunches itself under mpirun and gives the same observables', async function () {
    const be2 = referenceDir(this);
    const args = [path.join(be2, 'Be_snapshot0.out'), '--model', path.join(be2, 'Be_model.zip'), '--pseudo-dir', be2, '--json'];
    const serial = await execa('node', [cli, 'predict', ...args], { env: mpiTestEnv, reject: false });
    const ranks = await execa('node', [cli, 'predict', ...args, '--np', '2'], { env: mpiTestEnv, reject: false });
    assert.equal(ranks.exitCode, 0, ranks.stderr);
    const a = JSON.parse(serial.stdout);
    const b = JSON.parse(ranks.stdout);
    assert.equal(b.mpi_ranks, 2);
    assertSame(a, b, 'serial vs --np 2');
  });

  it('an error on one rank only ends every rank with the message naming the rank and the file (no hang)', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const model = writeSmallPredictModel(dir);
      const missing = path.join(dir, 'missing-on-rank-1.zip');
      // mpirun's MPMD form: rank 0 gets a good model and starts working, rank 1 alone a missing one
      const rank = (m: string): string[] => ['-np', '1', 'node', cli, 'predict', alFixture, '--model', m, '--json'];
      const t0 = Date.now();
      const r = await execa('mpirun', [...mpirunRootArgs, ...rank(model), ':', ...rank(missing)], { env: mpiTestEnv, reject: false, timeout: 120000 });
      const seconds = (Date.now() - t0) / 1000;
      assert.equal(r.timedOut, false, `mpirun still running after ${seconds} s: the healthy rank hangs`);
      assert.notEqual(r.exitCode, 0);
      assert.match(r.stderr, /model/);
      assert.match(r.stderr, /error on MPI rank 1: \S*missing-on-rank-1\.zip: model not found/);
      assert.doesNotMatch(r.stderr, /error on MPI rank 0/, 'rank 0 had nothing wrong');
      assert.equal(r.stdout.trim(), '', 'no result printed');
      assert.ok(seconds < 60, `the job took ${seconds} s to end`);
    } finally {
      cleanup();
    }
  });
});

describe('parallel: plane blocks and windowed descriptors', function () {
  this.timeout(120000);

  it('splits blocks over any rank count contiguously, without gaps or overlaps', () => {
    for (const units of [1, 5, 7, 18]) {
      for (const size of [1, 2, 3, 4, 8]) {
        let next = 0;
        for (let r = 0; r < size; r++) {
          const [a, b] = splitRange(units, size, r);
          assert.equal(a, next);
          assert.ok(b - a === Math.floor(units / size) || b - a === Math.ceil(units / size));
          next = b;
        }
        assert.equal(next, units);
      }
    }
    assert.deepEqual(planeBlocks(10, 4), [[0, 4], [4, 8], [8, 10]]);
  });

  it('cuts big planes into row blocks of bounded size that cover the grid once', () => {
    const grid: [number, number, number] = [5, 12, 10];
    const blocks = gridBlocks(grid, 40);
    assert.equal(blocks.length, 15, '5 planes × rows mod 3');
    assert.ok(blocks.every((b) => blockPointCount(b, grid) <= 40 && b.rowStride === 3));
    const seen = new Uint8Array(600);
    const values = new Float64Array(600);
    let p = 0;
    for (const b of blocks) for (const g of blockGridIndices(b, grid)) {
      seen[g]++;
      values[p++] = g;
    }
    assert.ok(seen.every((c) => c === 1), 'every point exactly once');
    assert.deepEqual(Array.from(toGridOrder(values, blocks, grid)), Array.from({ length: 600 }, (_, i) => i));
    // small planes: whole planes, one block here; a prime row count falls back to single rows
    assert.deepEqual(gridBlocks([10, 4, 4], 1000), [{ i0: 0, i1: 10, rowStart: 0, rowStride: 1 }]);
    assert.ok(gridBlocks([2, 7, 10], 40).every((b) => b.rowStride === 7));
    assert.ok(gridBlocks([2, 12, 10], 40, false).every((b) => b.rowStride === 1), 'no row split along a non-periodic a2');
  });

  it('a block computed from its atom window equals the whole-cell computation (also across the periodic boundary)', () => {
    const atoms = rattle(fccSupercell('Al', 4.05, [4, 2, 2]), 0.1, 3);
    const grid: [number, number, number] = [40, 6, 6];
    const params = { ...malaBispectrumDefaults, twojmax: 4 };
    const whole = new BispectrumCalculator(atoms, grid, params, { xyz: false, maxPointsPerRun: 36 });
    const win = new WindowedDescriptors(atoms, grid, params);
    try {
      for (const [i0, i1] of [[0, 3], [18, 21], [38, 40]]) {
        const w = windowAtoms(atoms, grid, i0, i1, win.cutoffAngstrom);
        assert.ok(w && w.atoms.symbols.length < atoms.symbols.length, 'the window holds fewer atoms than the cell');
        const a = whole.computePlanes(i0, i1);
        const b = win.computePlanes(i0, i1);
        let worst = 0;
        for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]) / Math.max(1, Math.abs(a[i])));
        assert.ok(worst < 1e-5, `planes ${i0}..${i1}: relative difference ${worst}`);
      }
      assert.equal(win.windowed, 3);
      // rows 1 and 4 of plane 18 from the window, against the whole cell's plane
      const rows = win.computeBlock({ i0: 18, i1: 19, rowStart: 1, rowStride: 3 });
      const plane = whole.computePlanes(18, 19);
      const F = rows.length / (2 * 6);
      let worst = 0;
      for (const [r, j] of [[0, 1], [1, 4]])
        for (let k = 0; k < 6; k++)
          for (let c = 0; c < F; c++) {
            const ref = plane[(j * 6 + k) * F + c];
            worst = Math.max(worst, Math.abs(rows[(r * 6 + k) * F + c] - ref) / Math.max(1, Math.abs(ref)));
          }
      assert.ok(worst < 1e-5, `row block from its window: relative difference ${worst}`);
    } finally {
      whole.close();
      win.close();
    }
  });
});
