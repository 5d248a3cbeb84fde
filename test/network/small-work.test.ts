import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import { loadTorchAddon } from '../../bindings/torch';
import { LdosModel, loadModel } from '../../src/network/model';
import { macsPerPoint, SMALL_WORK_MACS, smallWorkReason } from '../../src/network/small-work';
import { predict } from '../../src/workflow/predict';
import { referenceDir } from '../helpers';
import { makeModelData } from './synthetic';

// auto picks the TypeScript network for work that ends before libtorch would have loaded
describe('network backend for small work (src/network/small-work.ts)', function () {
  this.timeout(60000);
  const spec = { layerSizes: [91, 100, 11], activations: ['LeakyReLU', null] as (string | null)[] } as const;
  const perPoint = 91 * 100 + 100 * 11;
  const savedEnv = { b: process.env.MALA_TS_BACKEND, d: process.env.MALA_TS_DEVICE };
  beforeEach(() => {
    delete process.env.MALA_TS_BACKEND;
    delete process.env.MALA_TS_DEVICE;
  });
  after(() => {
    for (const [k, v] of [['MALA_TS_BACKEND', savedEnv.b], ['MALA_TS_DEVICE', savedEnv.d]] as const) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });

  it('chooses by multiply-adds (points × per point × networks) against SMALL_WORK_MACS', function () {
    assert.equal(macsPerPoint(spec as never), perPoint);
    const below = Math.floor(SMALL_WORK_MACS / perPoint);
    const req = { spec: spec as never, networks: 1 };
    assert.match(smallWorkReason({ ...req, points: below })!, /^auto: the TypeScript network on the CPU: \d+ M multiply-adds/);
    assert.equal(smallWorkReason({ ...req, points: below + 1 }), undefined);
    assert.equal(smallWorkReason({ ...req, points: Math.ceil(below / 2) + 1, networks: 2 }), undefined, 'two networks double the work');
    assert.ok(smallWorkReason({ ...req, points: Math.floor(below / 2), networks: 2 }));
  });

  it('leaves a chosen backend or a CUDA request alone (options and environment)', function () {
    const req = { spec: spec as never, networks: 1, points: 1000 };
    assert.equal(smallWorkReason({ ...req, backend: 'torch' }), undefined);
    assert.equal(smallWorkReason({ ...req, device: 'cuda' }), undefined);
    process.env.MALA_TS_BACKEND = 'torch';
    assert.equal(smallWorkReason(req), undefined);
    process.env.MALA_TS_BACKEND = 'auto';
    assert.ok(smallWorkReason(req));
    process.env.MALA_TS_DEVICE = 'cuda:0';
    assert.equal(smallWorkReason(req), undefined);
  });

  it('an LdosModel switches before its network exists, reports why as the device reason, and never after', function () {
    const small = new LdosModel(makeModelData(3, [91, 100, 11]), 'synthetic');
    assert.ok(small.chooseBackendForWork(1000));
    assert.equal(small.backendName(), 'ts');
    assert.match(small.deviceChoice().reason, /TypeScript network/);
    if (!loadTorchAddon().addon) return; // the rest needs libtorch (make setup builds it)
    const big = new LdosModel(makeModelData(3, [91, 100, 11]), 'synthetic');
    assert.equal(big.chooseBackendForWork(1e7), undefined);
    assert.equal(big.backendName(), 'torch');
    const made = new LdosModel(makeModelData(3, [91, 100, 11]), 'synthetic');
    made.backend(); // network made first: the choice is fixed
    assert.equal(made.chooseBackendForWork(10), undefined);
    assert.equal(made.backendName(), 'torch');
  });

  it('predict: auto on Be2 runs the TypeScript network, a reused model keeps libtorch, same energies to 1e-6 eV', async function () {
    const be2 = referenceDir(this);
    if (!loadTorchAddon().addon) this.skip();
    const s = path.join(be2, 'Be_snapshot0.out');
    const own = await predict({ structureFile: s, modelFile: path.join(be2, 'Be_model.zip'), pseudoDir: be2 });
    assert.match(own.device!.reason, /TypeScript network/);
    const reused = await predict({ structureFile: s, model: loadModel(path.join(be2, 'Be_model.zip')), pseudoDir: be2 });
    assert.doesNotMatch(reused.device!.reason, /TypeScript/);
    console.log(`      ts vs torch: ΔE_total ${own.totalEnergy!.totalEnergyEv - reused.totalEnergy!.totalEnergyEv} eV, ΔE_band ${own.bandEnergyEv - reused.bandEnergyEv} eV, ΔE_F ${own.fermiEnergyEv - reused.fermiEnergyEv} eV`);
    // float32 networks that sum in other orders: measured 1.2e-7 eV apart
    assert.ok(Math.abs(own.totalEnergy!.totalEnergyEv - reused.totalEnergy!.totalEnergyEv) < 1e-6, 'total energy');
    assert.ok(Math.abs(own.bandEnergyEv - reused.bandEnergyEv) < 1e-6, 'band energy');
    assert.ok(Math.abs(own.fermiEnergyEv - reused.fermiEnergyEv) < 1e-6, 'Fermi energy');
  });
});
