import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { loadTorchAddon } from '../../bindings/torch';
import { createNet, TsNet } from '../../src/network/backend';
import { ACTIVATIONS, initParameters, type NetworkSpec } from '../../src/network/mlp';
import { Rng } from '../../src/network/rng';

function randomInput(rng: Rng, n: number): Float32Array {
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = 4 * rng.uniform() - 2;
  return x;
}

/** max |a−b| / max |b|: relative to the scale of the output. */
function relMax(a: Float32Array, b: Float32Array): number {
  let d = 0, s = 0;
  for (let i = 0; i < b.length; i++) {
    d = Math.max(d, Math.abs(a[i] - b[i]));
    s = Math.max(s, Math.abs(b[i]));
  }
  return d / s;
}

describe('libtorch addon', function () {
  this.timeout(30000);
  const { addon, reason } = loadTorchAddon();

  it('loads (built by make setup) with one intra-op thread', function () {
    assert.ok(addon, `addon did not load: ${reason}`);
    const info = addon!.info();
    assert.equal(info.intraOpThreads, 1);
    assert.match(info.torchVersion, /^\d+\.\d+/);
  });

  it('forward agrees with the TS reference to 1e-5 on random nets and inputs', async function () {
    if (!addon) this.skip();
    const rng = new Rng(7);
    for (let trial = 0; trial < 8; trial++) {
      const depth = 1 + (trial % 4);
      const sizes = [1 + Math.floor(rng.uniform() * 120)];
      for (let d = 0; d < depth; d++) sizes.push(1 + Math.floor(rng.uniform() * 150));
      const activations = sizes.slice(1).map((_, i) => (i === depth - 1 && trial % 2 === 0 ? null : ACTIVATIONS[(trial + i) % 4]));
      const spec: NetworkSpec = { layerSizes: sizes, activations };
      const params = initParameters(spec, rng);
      const n = 1 + Math.floor(rng.uniform() * 300);
      const x = randomInput(rng, n * sizes[0]);
      const torch = createNet(spec, params, { backend: 'torch' });
      assert.equal(torch.name, 'torch');
      const got = await torch.forward(x, n);
      const want = await new TsNet(spec, params).forward(x, n);
      assert.ok(relMax(got, want) < 1e-5, `trial ${trial} ${sizes.join('-')}: rel diff ${relMax(got, want)}`);
    }
  });

  it('training steps (MSE + Adam with weight decay) agree with the TS reference', async function () {
    if (!addon) this.skip();
    const rng = new Rng(11);
    const spec: NetworkSpec = { layerSizes: [13, 32, 24, 5], activations: ['LeakyReLU', 'Tanh', 'Sigmoid'] };
    const params = initParameters(spec, rng);
    const torch = createNet(spec, params, { backend: 'torch' });
    const ts = new TsNet(spec, params);
    const hyper = { lr: 3e-3, weightDecay: 1e-3 };
    torch.configureAdam(hyper);
    ts.configureAdam(hyper);
    const n = 64;
    const x = randomInput(rng, n * 13);
    const y = randomInput(rng, n * 5);
    for (let s = 0; s < 5; s++) {
      const lt = await torch.trainStep(x, y, n);
      const lr = await ts.trainStep(x, y, n);
      assert.ok(Math.abs(lt - lr) / lr < 1e-5, `step ${s}: loss ${lt} vs ${lr}`);
    }
    const pt = torch.getParameters();
    const pr = ts.getParameters();
    for (let k = 0; k < pt.length; k++) assert.ok(relMax(pt[k], pr[k]) < 1e-4, `param ${k}: ${relMax(pt[k], pr[k])}`);
    assert.equal(torch.getOptimizerState().step, 5);
    const sse = await torch.lossSum(x, y, n);
    const sseRef = await ts.lossSum(x, y, n);
    assert.ok(Math.abs(sse - sseRef) / sseRef < 1e-5);
  });

  it('optimizer state round-trips so a restored net continues identically', async function () {
    if (!addon) this.skip();
    const rng = new Rng(3);
    const spec: NetworkSpec = { layerSizes: [6, 10, 3], activations: ['ReLU', null] };
    const a = createNet(spec, initParameters(spec, rng), { backend: 'torch' });
    const x = randomInput(rng, 20 * 6);
    const y = randomInput(rng, 20 * 3);
    await a.trainStep(x, y, 20);
    const b = createNet(spec, a.getParameters(), { backend: 'torch' });
    b.setOptimizerState(a.getOptimizerState());
    await a.trainStep(x, y, 20);
    await b.trainStep(x, y, 20);
    assert.deepEqual(b.getParameters(), a.getParameters());
  });

  it('rejects wrong array sizes and types with clear errors', async function () {
    if (!addon) this.skip();
    const spec: NetworkSpec = { layerSizes: [4, 3], activations: [null] };
    const net = new addon!.Net(spec.layerSizes, [''], 'cpu');
    assert.throws(() => net.forward(new Float32Array(7), new Float32Array(6), 2), /x has 7 values, needs 8/);
    assert.throws(() => net.forward(new Float64Array(8) as unknown as Float32Array, new Float32Array(6), 2), /Float32Array/);
    assert.throws(() => new addon!.Net([4, 3], ['Swish']), /unknown activation/);
    assert.throws(() => net.setParameters([new Float32Array(3)]), /expected an array of 2/);
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
