import { strict as assert } from 'node:assert';
import { MalaError } from '../../src/errors';
import { createInferenceNet, float64Path, requireVjp, TsNet, type InferenceNet, type Scaling } from '../../src/network/backends';
import { ACTIVATIONS, forwardTs, initParameters, type NetworkSpec } from '../../src/network/mlp';
import { Rng } from '../../src/network/rng';
import { LdosModel } from '../../src/network/model';
import { centralDifferences, describeEachBackend, relMax, relNorm, requireBackend, vjpScalings } from './backend-suite';
import { makeModelData, randomArray } from './synthetic';

function randomInput(rng: Rng, n: number, lo = -2, hi = 2): Float32Array {
  return Float32Array.from({ length: n }, () => lo + (hi - lo) * rng.uniform());
}

describe('network vjp: the float64 checking path and torch against ts', function () {
  this.timeout(60000);

  it('ts float64: predictVjpFloat64 matches central differences of predictFloat64 to 1e-7, every activation and restriction', async function () {
    const rng = new Rng(17);
    const n = 4;
    let worst = 0;
    for (const act of ACTIVATIONS) {
      for (const sc of vjpScalings()) {
        const spec: NetworkSpec = { layerSizes: [5, 11, 8, 3], activations: [act, act, sc.restrict === 'none' ? null : act] };
        const net = new TsNet(spec, initParameters(spec, rng));
        net.setScaling(sc);
        const x = Float64Array.from(randomInput(rng, n * 5), (v) => v + 1e-3 * rng.uniform()); // not float32 values
        const cot = Float64Array.from(randomInput(rng, n * 3));
        const { out, gradInput } = net.predictVjpFloat64(x, n, cot);
        assert.deepEqual(out, net.predictFloat64(x, n));
        const fd = await centralDifferences((xx) => net.predictFloat64(xx, n), x, cot, 1e-4);
        const r = relNorm(gradInput, fd);
        worst = Math.max(worst, r);
        assert.ok(r < 1e-7, `${act}, ${sc.restrict}: vjp vs central differences ${r}`);
      }
    }
    console.log(`      worst relative difference ${worst.toExponential(2)}`);
  });

  it('ts float64: forward and predict agree with the float32 ones; predictVjp (float32 forward) agrees with the float64 vjp', async function () {
    const rng = new Rng(4);
    const spec: NetworkSpec = { layerSizes: [5, 20, 20, 3], activations: ['LeakyReLU', 'Tanh', null] };
    const params = initParameters(spec, rng);
    const net = new TsNet(spec, params);
    const n = 30;
    const x = randomInput(rng, n * 5);
    const f64 = net.forwardFloat64(x, n);
    assert.ok(relMax(Float32Array.from(f64), forwardTs(spec, params, x, n)) < 1e-6);
    for (const sc of vjpScalings()) {
      net.setScaling(sc);
      assert.ok(relMax(Float32Array.from(net.predictFloat64(x, n)), await net.predict(x, n)) < 1e-6, sc.restrict);
      const cot = Float64Array.from(randomInput(rng, n * 3));
      const a = await net.predictVjp(x, n, cot);
      assert.ok(relNorm(a.gradInput, net.predictVjpFloat64(x, n, cot).gradInput) < 1e-5, sc.restrict);
    }
  });

  it('float64Path accepts only ts nets; requireVjp names a backend without a vjp', function () {
    const spec: NetworkSpec = { layerSizes: [2, 2], activations: [null] };
    const params = [Float32Array.of(1, 0, 0, 1), Float32Array.of(0, 0)];
    const ts = createInferenceNet(spec, params, { backend: 'ts' });
    assert.equal(float64Path(ts), ts);
    const noVjp: InferenceNet = { name: 'novjp', device: 'cpu', spec, forward: ts.forward.bind(ts), setScaling: () => undefined, predict: ts.predict.bind(ts) };
    assert.throws(() => float64Path(noVjp), (e: unknown) => e instanceof MalaError && /float64 checking path runs on the ts network backend, not 'novjp'/.test(e.message) && /--backend ts/.test(e.fix ?? ''));
    assert.throws(() => requireVjp(noVjp), (e: unknown) => e instanceof MalaError && /'novjp' network backend cannot back-propagate to its inputs/.test(e.message) && /--backend torch or --backend ts/.test(e.fix ?? ''));
    assert.equal(typeof requireVjp(ts), 'function');
  });

  it('torch and ts agree on a 91→128→128→131 LeakyReLU net with MALA-like scaling and the clamp', async function () {
    requireBackend(this, 'torch');
    const rng = new Rng(8);
    const spec: NetworkSpec = { layerSizes: [91, 128, 128, 131], activations: ['LeakyReLU', 'LeakyReLU', null] };
    const params = initParameters(spec, rng);
    const n = 300;
    const sc: Scaling = {
      inShift: randomInput(rng, 91, -1, 1), inScale: randomInput(rng, 91, 0.5, 2),
      outShift: Float32Array.of(-0.05), outScale: Float32Array.of(0.3), restrict: 'zero_out_negative',
    };
    const torch = createInferenceNet(spec, params, { backend: 'torch' });
    const ts = new TsNet(spec, params);
    torch.setScaling(sc);
    ts.setScaling(sc);
    const x = randomInput(rng, n * 91);
    const cot = Float64Array.from(randomInput(rng, n * 131));
    const a = await requireVjp(torch)(x, n, cot);
    const b = await ts.predictVjp(x, n, cot);
    const c = ts.predictVjpFloat64(x, n, cot);
    assert.ok(a.out.some((v) => v === 0) && a.out.some((v) => v > 0), 'some outputs clamped, some not');
    assert.ok(relMax(a.out, b.out) < 1e-5, `out ${relMax(a.out, b.out)}`);
    const rTs = relNorm(a.gradInput, b.gradInput), r64 = relNorm(a.gradInput, c.gradInput);
    console.log(`      torch vs ts ${rTs.toExponential(2)}, torch vs ts float64 ${r64.toExponential(2)}`);
    assert.ok(rTs < 1e-5 && r64 < 1e-5, `gradInput: torch vs ts ${rTs}, vs float64 ${r64}`);
    // the addon takes a global shift with a per-output scale (and the reverse) too
    const outScale = randomInput(rng, 131, 0.2, 0.4);
    for (const [shift, scale] of [[Float32Array.of(-0.05), outScale], [new Float32Array(131).fill(-0.05), Float32Array.of(0.3)]]) {
      torch.setScaling({ ...sc, outShift: shift, outScale: scale });
      const mixed = await torch.predictVjp!(x, n, cot);
      assert.deepEqual(mixed.out, await torch.predict(x, n));
      torch.setScaling({ ...sc, outShift: new Float32Array(131).fill(-0.05), outScale: scale.length === 1 ? new Float32Array(131).fill(0.3) : scale });
      const full = await torch.predictVjp!(x, n, cot);
      assert.deepEqual(mixed.out, full.out);
      assert.deepEqual(mixed.gradInput, full.gradInput);
    }
  });
});

describeEachBackend('LdosModel.predictLdosVjp', (name) => {
  it('chunks like predictLdos: the LDOS is predictLdos\'s, the gradient matches central differences of the float64 path', async function () {
    const m = makeModelData(6);
    m.weights[3].fill(-0.3); // some outputs below the scaler minimum: the clamp is exercised
    const model = new LdosModel(m, 'synthetic', { backend: name });
    const n = 40;
    const x = randomArray(new Rng(7), n * 14, 0, 10);
    const cot = Float64Array.from(randomArray(new Rng(8), n * 9));
    const { ldos, gradDescriptors } = await model.predictLdosVjp(x, n, cot, { chunkPoints: 7 });
    assert.deepEqual(ldos, await model.predictLdos(x, n, { chunkPoints: 7 }));
    assert.ok(ldos.some((v) => v === 0) && ldos.some((v) => v > 0), 'clamped and unclamped values');
    const ref = float64Path(new LdosModel(m, 'synthetic', { backend: 'ts' }).backend());
    const x64 = Float64Array.from(x);
    const fd = await centralDifferences((xx) => ref.predictFloat64(xx, n), x64, cot, 1e-3);
    assert.ok(relNorm(ref.predictVjpFloat64(x64, n, cot).gradInput, fd) < 1e-7, 'the float64 reference');
    assert.ok(relNorm(gradDescriptors, fd) < 1e-5, `${name}: ${relNorm(gradDescriptors, fd)}`);
  });

  it('names the grid point of a NaN descriptor, and rejects a cotangent of the wrong length', async function () {
    const model = new LdosModel(makeModelData(10), 'synthetic', { backend: name });
    const x = randomArray(new Rng(1), 5 * 14);
    x[3 * 14 + 2] = NaN;
    await assert.rejects(model.predictLdosVjp(x, 5, new Float64Array(5 * 9), { pointOffset: 100, chunkPoints: 2 }), (e: unknown) => e instanceof MalaError && /descriptor 2 of grid point 103 is NaN/.test(e.message));
    await assert.rejects(model.predictLdosVjp(x, 5, new Float64Array(5)), (e: unknown) => e instanceof MalaError && /LDOS cotangent has 5 values, expected 45/.test(e.message));
  });
});
