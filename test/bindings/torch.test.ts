import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadTorchAddon } from '../../bindings/torch';
import type { NetworkSpec } from '../../src/network/mlp';

describe('libtorch addon', function () {
  this.timeout(30000);
  const { addon, reason } = loadTorchAddon();

  it('loads (built by make setup) with one intra-op thread', function () {
    assert.ok(addon, `addon did not load: ${reason}`);
    const info = addon!.info();
    assert.equal(info.intraOpThreads, 1);
    assert.match(info.torchVersion, /^\d+\.\d+/);
  });

  // forward, predict, training and parameter checks against the reference MLP: the shared backend
  // suite (test/network/backend-suite.ts) runs them on this backend too, in test/network/backends.test.ts.

  it('rejects wrong array sizes and types with clear errors', async function () {
    if (!addon) this.skip();
    const spec: NetworkSpec = { layerSizes: [4, 3], activations: [null] };
    const net = new addon!.Net(spec.layerSizes, [''], 'cpu');
    assert.throws(() => net.forward(new Float32Array(7), new Float32Array(6), 2), /x has 7 values, needs 8/);
    assert.throws(() => net.forward(new Float64Array(8) as unknown as Float32Array, new Float32Array(6), 2), /Float32Array/);
    assert.throws(() => new addon!.Net([4, 3], ['Swish']), /unknown activation/);
    assert.throws(() => net.setParameters([new Float32Array(3)]), /expected an array of 2/);
  });

  // CPU inference runs in row blocks spread over the BLAS's threads (forwardIntoCpuBlocked); every
  // output row must be what one whole-batch pass gives, with and without the scaling, to float32
  // rounding (OpenBLAS's kernels round differently for other matrix heights and thread counts,
  // about 1e-7 of the output's size). A lost, doubled or misplaced block, or a skipped scaling, is far above that.
  it('blocked, multi-threaded CPU inference equals the one-block pass to float32 rounding', async function () {
    if (!addon) this.skip();
    const sizes = [91, 100, 11];
    const net = new addon!.Net(sizes, ['LeakyReLU', ''], 'cpu');
    let seed = 7;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648) * 2 - 1;
    net.setParameters([new Float32Array(100 * 91).map(rand), new Float32Array(100).map(rand), new Float32Array(11 * 100).map(rand), new Float32Array(11).map(rand)]);
    // this machine's OpenBLAS is found, so the blocks really run on several threads where it has them
    assert.equal(addon!.info().blasThreads, Number(process.env.OPENBLAS_NUM_THREADS || process.env.GOTO_NUM_THREADS || process.env.OMP_NUM_THREADS) || os.cpus().length);
    const n = 5003; // not a multiple of any block size
    const x = new Float32Array(n * 91).map(rand);
    const run = async (blockRows: string | undefined, kind: 'forward' | 'predict') => {
      const before = process.env.MALA_TS_CPU_BLOCK_ROWS;
      if (blockRows === undefined) delete process.env.MALA_TS_CPU_BLOCK_ROWS;
      else process.env.MALA_TS_CPU_BLOCK_ROWS = blockRows;
      try {
        const y = new Float32Array(n * 11).fill(NaN);
        await net[kind](x, y, n);
        return y;
      } finally {
        if (before === undefined) delete process.env.MALA_TS_CPU_BLOCK_ROWS;
        else process.env.MALA_TS_CPU_BLOCK_ROWS = before;
      }
    };
    const agrees = (a: Float32Array, b: Float32Array, what: string) => {
      const scale = b.reduce((m, v) => Math.max(m, Math.abs(v)), 0); // sums of 100 terms cancel: compare to their size
      const i = a.findIndex((v, k) => !(Math.abs(v - b[k]) <= 1e-6 * scale));
      assert.equal(i, -1, `${what}: value ${i} differs (${a[i]} vs ${b[i]})`);
    };
    for (const kind of ['forward', 'predict'] as const) {
      if (kind === 'predict') net.setScaling(new Float32Array(91).map(rand), new Float32Array(91).map(() => 1.5), Float32Array.of(0.25), Float32Array.of(2), 1);
      const whole = await run(String(n), kind);
      assert.ok(whole.every(Number.isFinite));
      agrees(await run(undefined, kind), whole, `${kind}, default blocks`);
      agrees(await run('77', kind), whole, `${kind}, 77-row blocks`);
    }
  });

  // Every GEMM of CPU inference runs on one thread (blocks spread over threads, not GEMMs), so the
  // LDOS of a point does not depend on how many BLAS threads the process has: the same bits with
  // OPENBLAS_NUM_THREADS=1 and 2 (OpenBLAS's own threaded GEMM rounds differently).
  it('CPU inference gives the same bits for 1 and 2 BLAS threads', function () {
    if (!addon) this.skip();
    const script = `
      const { loadTorchAddon } = require(${JSON.stringify(path.resolve(__dirname, '../../bindings/torch'))});
      const { createHash } = require('node:crypto');
      const { addon } = loadTorchAddon();
      const net = new addon.Net([91, 100, 11], ['LeakyReLU', ''], 'cpu');
      let seed = 7;
      const rand = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648) * 2 - 1;
      net.setParameters([new Float32Array(9100).map(rand), new Float32Array(100).map(rand), new Float32Array(1100).map(rand), new Float32Array(11).map(rand)]);
      const n = 5003, x = new Float32Array(n * 91).map(rand), y = new Float32Array(n * 11);
      net.forward(x, y, n).then(() => console.log(addon.info().blasThreads, createHash('sha256').update(Buffer.from(y.buffer)).digest('hex')));`;
    const run = (threads: string) => {
      const r = spawnSync(process.execPath, ['-r', 'tsx/cjs', '-e', script], { env: { ...process.env, OPENBLAS_NUM_THREADS: threads, MALA_TS_CPU_BLOCK_ROWS: '' }, encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      return r.stdout.trim().split(' ');
    };
    const [one, two] = [run('1'), run('2')];
    assert.deepEqual([one[0], two[0]], ['1', '2'], 'the children ran with 1 and 2 BLAS threads');
    assert.equal(one[1], two[1], 'the outputs differ between 1 and 2 BLAS threads');
  });

  it('without the addon, the TS fallback runs and says so on stderr; requiring torch then fails clearly', function () {
    const script = `
      const { createNet } = require(${JSON.stringify(path.resolve(__dirname, '../../src/network/backend'))});
      const spec = { layerSizes: [2, 2], activations: [null] };
      const net = createNet(spec, [Float32Array.of(1, 0, 0, 1), Float32Array.of(0.5, -0.5)]);
      net.forward(Float32Array.of(1, 2), 1).then((y) => {
        console.log(net.name, Array.from(y).join(','));
        try { createNet(spec, [Float32Array.of(1, 0, 0, 1), Float32Array.of(0, 0)], { backend: 'torch' }); } catch (e) { console.log('ERR ' + e.message); }
      });`;
    const r = spawnSync(process.execPath, ['-r', 'tsx/cjs', '-e', script], { env: { ...process.env, MALA_TS_TORCH_ADDON: '/nonexistent/mala_torch.node', MALA_TS_BACKEND: '' }, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^ts 1\.5,1\.5$/m);
    assert.match(r.stderr, /warning: libtorch addon unavailable, using the plain-TypeScript network/);
    assert.match(r.stdout, /ERR the libtorch addon is required but unavailable: .*does not exist/);
  });
});
