/**
 * The native bispectrum engine's threads (bindings/sna): descriptors from 1, 2 and 3 threads are the
 * same bytes (each point's row is written by one thread, from batches that do not depend on the
 * thread count), on the 108-atom Al example and on MALA's Be2 snapshot, with point counts that split
 * unevenly into batches, chunks and threads. A race on a shared scratch buffer, or a row written at
 * the wrong place, changes bytes. Also: the thread policy (MPI ranks share the cores), and a worker
 * thread's error arriving as a JavaScript exception.
 */
import { strict as assert } from 'node:assert';
import * as os from 'node:os';
import * as path from 'node:path';
import { malaBispectrumDefaults } from '../../src/descriptors/mala-defaults';
import { NativeBispectrum, atomImagesNear, blockPointsAngstrom } from '../../src/descriptors/bispectrum-native';
import { bispectrumCount } from '../../src/descriptors/bispectrum';
import type { GridShape } from '../../src/grid/grid';
import { readNpy } from '../../src/io/npy';
import { descriptorCutoffAngstrom } from '../../src/parallel/plane-blocks';
import { fractionalPositions, speciesOf, wrapAtoms, type Atoms } from '../../src/structure/atoms';
import { readStructure } from '../../src/structure/registry';
import { referenceDir, repoRoot } from '../helpers';

/** Descriptors of the whole grid in ONE kernel call (many chunks) with `threads`, float32. */
function wholeGrid(atoms: Atoms, grid: GridShape, threads: number | undefined, twojmax = 10): { out: Float32Array; calc: NativeBispectrum } {
  const calc = new NativeBispectrum(atoms, grid, { ...malaBispectrumDefaults, twojmax });
  calc.threads = threads;
  const points = blockPointsAngstrom(atoms.cellAngstrom, grid, { i0: 0, i1: grid[0], rowStart: 0, rowStride: 1 });
  return { out: calc.computePoints(points) as Float32Array, calc };
}

function sameBytes(a: Float32Array | Float64Array, b: Float32Array | Float64Array, label: string): void {
  assert.equal(a.length, b.length, `${label}: lengths`);
  const ba = Buffer.from(a.buffer, a.byteOffset, a.byteLength);
  const bb = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  if (ba.equals(bb)) return;
  const i = a.findIndex((x, k) => !Object.is(x, b[k]));
  assert.fail(`${label}: value ${i} differs (${a[i]} vs ${b[i]})`);
}

/** Saves the environment variables and puts them back after fn. */
function withEnv<T>(vars: Record<string, string | undefined>, fn: () => T): T {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  try {
    for (const [k, v] of Object.entries(vars)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    return fn();
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

const al108 = path.join(repoRoot, 'examples', 'al108-298K.pw.scf.in');

describe('descriptors: native bispectrum engine on threads (bindings/sna)', function () {
  this.timeout(300000);

  it('gives the same bytes on 1, 2 and 3 threads for the 108-atom Al cell (7³ grid: 343 points, 11 chunks, a short last batch)', () => {
    const atoms = readStructure(al108).atoms;
    const grid: GridShape = [7, 7, 7];
    const one = wholeGrid(atoms, grid, 1).out;
    assert.ok(one.some((x) => x !== 0));
    for (const t of [2, 3]) sameBytes(wholeGrid(atoms, grid, t).out, one, `Al108, ${t} threads`);
  });

  it('gives the same bytes on 1, 2 and 3 threads for MALA\'s Be2 snapshot on its 18×18×27 grid, which equal MALA\'s descriptors', function () {
    const dir = referenceDir(this);
    const atoms = readStructure(path.join(dir, 'Be_snapshot0.out')).atoms;
    const grid: GridShape = [18, 18, 27];
    const one = wholeGrid(atoms, grid, 1).out;
    for (const t of [2, 3]) sameBytes(wholeGrid(atoms, grid, t).out, one, `Be2, ${t} threads`);
    // and they are MALA's numbers (columns after xyz; largest error over a column relative to its largest value)
    const ref = readNpy(path.join(dir, 'Be_snapshot0.in.npy')).data;
    const F = bispectrumCount(10);
    for (let c = 0; c < F; c++) {
      let d = 0;
      let m = 0;
      for (let p = 0; p < one.length / F; p++) {
        d = Math.max(d, Math.abs(one[p * F + c] - ref[p * (F + 3) + 3 + c]));
        m = Math.max(m, Math.abs(ref[p * (F + 3) + 3 + c]));
      }
      assert.ok(d <= 1e-6 * m, `Be2 column ${c}: ${d} of ${m}`);
    }
  });

  it('puts every point\'s row where the point is: a multi-chunk call on 3 threads equals the points computed one per call', () => {
    const atoms = readStructure(al108).atoms;
    const grid: GridShape = [5, 5, 11]; // 275 points: 35 batches of 8, 9 chunks
    const calc = new NativeBispectrum(atoms, grid, { ...malaBispectrumDefaults, twojmax: 6 });
    const F = bispectrumCount(6);
    const points = blockPointsAngstrom(atoms.cellAngstrom, grid, { i0: 0, i1: grid[0], rowStart: 0, rowStride: 1 });
    const w = wrapAtoms(atoms);
    const species = speciesOf(atoms);
    const { images, types } = atomImagesNear(atoms.cellAngstrom, atoms.pbc, fractionalPositions(w), atoms.symbols.map((s) => species.indexOf(s)), points, descriptorCutoffAngstrom(calc.params));
    const all = new Float64Array((points.length / 3) * F);
    calc.engine.compute(images, types, points, all, 3);
    const single = new Float64Array(F);
    for (let p = 0; p < points.length / 3; p++) {
      calc.engine.compute(images, types, points.subarray(3 * p, 3 * p + 3), single, 1);
      for (let c = 0; c < F; c++) assert.ok(Math.abs(all[p * F + c] - single[c]) <= 1e-12 * Math.max(1, Math.abs(single[c])), `point ${p}, column ${c}: ${all[p * F + c]} vs ${single[c]}`);
    }
  });

  it('gives forces (the adjoint, on the same policy) of the same bytes on 1, 2 and 3 threads', () => {
    const atoms = readStructure(al108).atoms;
    const grid: GridShape = [3, 6, 19]; // 342 points: 43 batches, 11 chunks
    const calc = new NativeBispectrum(atoms, grid, { ...malaBispectrumDefaults, twojmax: 6 });
    const block = { i0: 0, i1: grid[0], rowStart: 0, rowStride: 1 };
    const beta = calc.computeBlockFloat64(block).map((x, i) => 1e-4 * Math.sin(i) * x);
    const run = (t: string) => withEnv({ MALA_TS_SNA_THREADS: t }, () => calc.blockForces(block, beta));
    const one = run('1');
    assert.ok(one.some((x) => Math.abs(x) > 1e-6));
    for (const t of ['2', '3']) sameBytes(run(t), one, `forces, ${t} threads`);
  });

  it('shares one thread policy: $MALA_TS_SNA_THREADS, else the cores per MPI rank on the node, at least 1', () => {
    const calc = new NativeBispectrum(readStructure(al108).atoms, [2, 2, 2], { ...malaBispectrumDefaults, twojmax: 2 });
    const clear = { MALA_TS_SNA_THREADS: undefined, OMPI_COMM_WORLD_LOCAL_SIZE: undefined, MPI_LOCALNRANKS: undefined };
    // the cores as the addon counts them (online CPUs; os.cpus() counts the same on Linux)
    const cores = withEnv(clear, () => calc.engine.threads);
    console.log(`      policy without MPI: ${cores} threads (os.cpus(): ${os.cpus().length})`);
    assert.ok(cores >= 1);
    withEnv({ ...clear, OMPI_COMM_WORLD_LOCAL_SIZE: '2' }, () => assert.equal(calc.engine.threads, Math.max(1, Math.floor(cores / 2))));
    withEnv({ ...clear, MPI_LOCALNRANKS: String(cores) }, () => assert.equal(calc.engine.threads, 1));
    withEnv({ ...clear, OMPI_COMM_WORLD_LOCAL_SIZE: String(4 * cores) }, () => assert.equal(calc.engine.threads, 1));
    withEnv({ ...clear, MALA_TS_SNA_THREADS: '3', OMPI_COMM_WORLD_LOCAL_SIZE: '2' }, () => assert.equal(calc.engine.threads, 3));
  });

  it('refuses a thread count that is not a whole number ≥ 1', () => {
    const calc = new NativeBispectrum(readStructure(al108).atoms, [2, 2, 2], { ...malaBispectrumDefaults, twojmax: 2 });
    const pts = new Float64Array(3);
    const out = new Float64Array(calc.featureCount);
    for (const t of [0, -1, 1.5, NaN]) assert.throws(() => calc.engine.compute(new Float64Array(0), new Int32Array(0), pts, out, t), RangeError, String(t));
  });

  it('turns an error in a worker thread into a JavaScript exception, for descriptors and forces, and runs on afterwards', () => {
    const atoms = readStructure(al108).atoms;
    const grid: GridShape = [4, 4, 8]; // 128 points: 16 batches, 4 chunks
    const calc = new NativeBispectrum(atoms, grid, { ...malaBispectrumDefaults, twojmax: 4 });
    calc.threads = 2;
    const block = { i0: 0, i1: grid[0], rowStart: 0, rowStride: 1 };
    const good = calc.computeBlockFloat64(block);
    const beta = new Float64Array(good.length).fill(1e-3);
    const forces = calc.blockForces(block, beta);
    for (const chunk of ['0', '3']) {
      withEnv({ MALA_TS_SNA_FAULT_CHUNK: chunk, MALA_TS_SNA_THREADS: '2' }, () => {
        assert.throws(() => calc.computeBlockFloat64(block), (e: unknown) => e instanceof Error && new RegExp(`native bispectrum engine: fault injected in chunk ${chunk}`).test(e.message));
        assert.throws(() => calc.blockForces(block, beta), (e: unknown) => e instanceof Error && /fault injected/.test(e.message));
      });
    }
    sameBytes(calc.computeBlockFloat64(block), good, 'after the errors');
    sameBytes(calc.blockForces(block, beta), forces, 'forces after the errors');
  });
});
