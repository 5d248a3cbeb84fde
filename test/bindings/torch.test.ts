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

  // predict's scaling, unscaling and clamp run inside the row blocks (no tensor ops): they must be
  // exactly (x − shift)/scale, then y·scale + shift (a float product, then a float sum), then
  // negatives → 0, as the tensor ops were. The net part is the addon's own forward on the
  // pre-scaled input (same blocks, same GEMMs), so the comparison is bitwise: a reciprocal
  // multiply, a fused multiply-add, a wrong stride or a skipped step would differ. LeakyReLU
  // must be x > 0 ? x : 0.01·x exactly (1-row blocks give each point alone).
  it('predict in blocks: the scaling, unscaling and clamp are the float32 operations, bit for bit', async function () {
    if (!addon) this.skip();
    let seed = 11;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648) * 2 - 1;
    const [nIn, nHid, nOut, n] = [7, 9, 5, 2051];
    const net = new addon!.Net([nIn, nHid, nOut], ['LeakyReLU', ''], 'cpu');
    const params = [new Float32Array(nHid * nIn).map(rand), new Float32Array(nHid).map(rand), new Float32Array(nOut * nHid).map(rand), new Float32Array(nOut).map(rand)];
    net.setParameters(params);
    const inShift = new Float32Array(nIn).map(rand), inScale = new Float32Array(nIn).map(() => 0.3 + Math.abs(rand()));
    const outShift = new Float32Array(nOut).map(rand), outScale = new Float32Array(nOut).map(() => 0.1 + Math.abs(rand()));
    const x = new Float32Array(n * nIn).map(() => 3 * rand());
    const scaled = x.map((v, i) => Math.fround(Math.fround(v - inShift[i % nIn]) / inScale[i % nIn]));
    const raw = new Float32Array(n * nOut);
    await net.forward(scaled, raw, n);
    const want = raw.map((v, i) => Math.max(0, Math.fround(Math.fround(v * outScale[i % nOut]) + outShift[i % nOut])));
    net.setScaling(inShift, inScale, outShift, outScale, 1);
    const got = new Float32Array(n * nOut).fill(NaN);
    await net.predict(x, got, n);
    assert.ok(want.some((v) => v === 0) && want.some((v) => v > 0), 'the clamp acts on some values');
    const i = got.findIndex((v, k) => v !== want[k]);
    assert.equal(i, -1, `value ${i}: ${got[i]} vs ${want[i]}`);
    // LeakyReLU exactly, each point in its own block (no GEMM rounding between points)
    const one = new addon!.Net([nIn, nHid], ['LeakyReLU'], 'cpu');
    one.setParameters(params.slice(0, 2));
    const lin = new addon!.Net([nIn, nHid], [''], 'cpu');
    lin.setParameters(params.slice(0, 2));
    const before = process.env.MALA_TS_CPU_BLOCK_ROWS;
    process.env.MALA_TS_CPU_BLOCK_ROWS = '1';
    try {
      const [a, b] = [new Float32Array(64 * nHid), new Float32Array(64 * nHid)];
      await one.forward(x, a, 64);
      await lin.forward(x, b, 64);
      const leak = b.map((v) => (v > 0 ? v : Math.fround(v * Math.fround(0.01))));
      assert.ok(b.some((v) => v < 0), 'some pre-activations are negative');
      assert.deepEqual(Array.from(a), Array.from(leak));
    } finally {
      if (before === undefined) delete process.env.MALA_TS_CPU_BLOCK_ROWS;
      else process.env.MALA_TS_CPU_BLOCK_ROWS = before;
    }
  });

  // Each row block checks its own input rows now (no whole-array pass first): a NaN in the last
  // block of a multi-block, multi-thread call must still reject it.
  it('predict rejects a non-finite value in the last row block', async function () {
    if (!addon) this.skip();
    const net = new addon!.Net([3, 4, 2], ['ReLU', ''], 'cpu');
    net.setParameters([new Float32Array(12).fill(0.1), new Float32Array(4), new Float32Array(8).fill(0.1), new Float32Array(2)]);
    const n = 20000;
    const x = new Float32Array(n * 3).fill(0.5);
    x[n * 3 - 1] = NaN;
    await assert.rejects(net.predict(x, new Float32Array(n * 2), n), /non-finite input value/);
    x[n * 3 - 1] = -Infinity;
    await assert.rejects(net.predict(x, new Float32Array(n * 2), n), /non-finite input value/);
    await net.predict(x, new Float32Array(n * 2), n - 1); // the last point excluded: resolves
  });

  // Small CPU calls run on the calling thread; one that finds the net busy (a training step in a
  // libuv thread) must queue instead. Whether the step has taken the net yet is up to the thread
  // pool, so the predict gives the values before or after the step, never a mixture.
  it('a small predict issued during a training step gives the values before or after it', async function () {
    if (!addon) this.skip();
    const net = new addon!.Net([91, 100, 11], ['ReLU', ''], 'cpu');
    let seed = 5;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648) * 2 - 1;
    net.setParameters([new Float32Array(9100).map(rand), new Float32Array(100).map(rand), new Float32Array(1100).map(rand), new Float32Array(11).map(rand)]);
    const n = 1024;
    const x = new Float32Array(n * 91).map(rand);
    const xt = new Float32Array(20000 * 91).map(rand), yt = new Float32Array(20000 * 11);
    const before = new Float32Array(n * 11);
    await net.predict(x, before, n);
    const busy = net.trainStep(xt, yt, 20000);
    const during = new Float32Array(n * 11);
    const p = net.predict(x, during, n);
    await Promise.all([busy, p]);
    const after = new Float32Array(n * 11);
    await net.predict(x, after, n);
    assert.notDeepEqual(Array.from(before), Array.from(after), 'the step changed the weights');
    const same = (a: Float32Array) => a.every((v, i) => v === during[i]);
    assert.ok(same(before) || same(after), 'predict during the step gave neither the values before nor after it');
  });

  // A CPU training step of more rows than a chunk (4 MiB of the widest activation; here forced to
  // 1000 rows with MALA_TS_TRAIN_CHUNK_ROWS) adds the chunks' gradients up: the same loss and
  // steps as one whole-batch pass, to float32 summation order. A chunk's gradient lost (each chunk
  // starting from zero) or a chunk's loss weighed as a whole batch's is far outside that.
  it('a training step in row chunks gives the loss and weights of the whole-batch step', async function () {
    if (!addon) this.skip();
    let seed = 11;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648) * 2 - 1;
    const params = [new Float32Array(9100).map(rand), new Float32Array(100).map(rand), new Float32Array(1100).map(rand), new Float32Array(11).map(rand)];
    const n = 4500; // 4 chunks of 1000 and one of 500
    const x = new Float32Array(n * 91).map(rand);
    const y = new Float32Array(n * 11).map(rand);
    const run = async (chunkRows: string) => {
      const net = new addon!.Net([91, 100, 11], ['LeakyReLU', ''], 'cpu');
      net.setParameters(params);
      net.configureAdam({ lr: 1e-3, weightDecay: 0 });
      const before = new Float32Array(n * 11);
      await net.forward(x, before, n);
      const losses: number[] = [];
      const old = process.env.MALA_TS_TRAIN_CHUNK_ROWS;
      process.env.MALA_TS_TRAIN_CHUNK_ROWS = chunkRows;
      try {
        for (let step = 0; step < 3; step++) losses.push(await net.trainStep(x, y, n));
      } finally {
        if (old === undefined) delete process.env.MALA_TS_TRAIN_CHUNK_ROWS;
        else process.env.MALA_TS_TRAIN_CHUNK_ROWS = old;
      }
      let mse = 0;
      for (let i = 0; i < n * 11; i++) mse += (before[i] - y[i]) ** 2;
      return { losses, mse: mse / (n * 11), weights: net.getParameters() };
    };
    const whole = await run('1000000');
    const chunked = await run('1000');
    assert.ok(Math.abs(whole.losses[0] - whole.mse) <= 1e-6 * whole.mse, `whole-batch loss ${whole.losses[0]} vs ${whole.mse}`);
    chunked.losses.forEach((l, k) => assert.ok(Math.abs(l - whole.losses[k]) <= 1e-6 * whole.losses[k], `step ${k + 1}: chunked loss ${l} vs whole ${whole.losses[k]}`));
    assert.ok(whole.losses[2] < whole.losses[0], 'the steps lower the loss');
    let worst = 0;
    chunked.weights.forEach((w, l) => w.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - whole.weights[l][i])))));
    // three Adam steps of 1e-3 move a weight by up to 3e-3; the chunks' rounding moves it by far less
    assert.ok(worst <= 1e-6, `largest weight difference after 3 steps ${worst}`);
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
