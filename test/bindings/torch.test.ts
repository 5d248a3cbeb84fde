import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
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
