/**
 * One suite for every network backend (as tfjs runs one suite for all of its backends).
 * `describeEachBackend(title, fn)` runs `fn(name)` for each registered backend and skips visibly
 * ("! SKIPPED: backend X unavailable: reason") where one cannot run here. `backendConformance`
 * holds the backend-agnostic checks, against the reference MLP of src/network/mlp.ts.
 */
import { strict as assert } from 'node:assert';
import { MalaError } from '../../src/errors';
import { backendNames, createInferenceNet, createTrainableNet, getBackend, NON_FINITE_COTANGENT, NON_FINITE_INPUT, requireVjp, TsNet, type InferenceNet, type Scaling } from '../../src/network/backends';
import { LdosModel } from '../../src/network/model';
import { ACTIVATIONS, adamUpdate, defaultAdam, forwardTs, initParameters, mseGradientsTs, type AdamHyper, type NetworkSpec, type Parameters } from '../../src/network/mlp';
import { Rng } from '../../src/network/rng';
import { makeModelData, randomArray } from './synthetic';

/** Skip the calling test or hook, with a visible line, unless backend `name` can run here. */
export function requireBackend(ctx: Mocha.Context, name: string, purpose: 'inference' | 'training' = 'inference'): void {
  const def = getBackend(name);
  const a = def ? def.availability() : { ok: false, reason: 'not registered' };
  let why = a.ok ? '' : `backend ${name} unavailable: ${a.reason}`;
  if (!why && purpose === 'training' && !def!.createTraining) why = `backend ${name} runs inference only`;
  if (why) {
    console.warn(`    ! SKIPPED: ${why}`);
    ctx.skip();
  }
}

/** `describe(title [name], fn(name))` for one backend; its tests skip visibly when it cannot run. */
export function describeBackend(title: string, name: string, fn: (name: string) => void): void {
  describe(`${title} [${name}]`, function () {
    before(function () {
      requireBackend(this, name);
    });
    fn(name);
  });
}

/** `describeBackend` for every backend registered when the test file loads. */
export function describeEachBackend(title: string, fn: (name: string) => void): void {
  for (const name of backendNames()) describeBackend(title, name, fn);
}

/** max |a−b| / max |b|: relative to the scale of the output. */
export function relMax(a: Float32Array, b: Float32Array): number {
  let d = 0, s = 0;
  for (let i = 0; i < b.length; i++) {
    d = Math.max(d, Math.abs(a[i] - b[i]));
    s = Math.max(s, Math.abs(b[i]));
  }
  return d / s;
}

function randomInput(rng: Rng, n: number): Float32Array {
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = 4 * rng.uniform() - 2;
  return x;
}

/** `steps` Adam steps of the reference MLP (mlp.ts); returns the losses and the parameters. */
function referenceAdam(spec: NetworkSpec, params: Parameters, x: Float32Array, y: Float32Array, n: number, hyper: Partial<AdamHyper>, steps: number): { losses: number[]; params: Parameters } {
  const p = params.map((a) => Float32Array.from(a));
  const m = p.map((a) => new Float32Array(a.length));
  const v = p.map((a) => new Float32Array(a.length));
  const losses: number[] = [];
  for (let s = 1; s <= steps; s++) {
    const { loss, grads } = mseGradientsTs(spec, p, x, y, n);
    losses.push(loss);
    adamUpdate(p, grads, m, v, s, { ...defaultAdam, ...hyper });
  }
  return { losses, params: p };
}

/** ‖a − b‖ / ‖b‖ (Euclidean). */
export function relNorm(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0, s = 0;
  for (let i = 0; i < b.length; i++) {
    d += (a[i] - b[i]) ** 2;
    s += b[i] ** 2;
  }
  return Math.sqrt(d / s);
}

/** Central differences of s(x) = Σ cotangent·f(x) in every input value (f's outputs summed in float64). */
export async function centralDifferences(f: (x: Float32Array | Float64Array) => Promise<ArrayLike<number>> | ArrayLike<number>, x: Float32Array | Float64Array, cotangent: Float64Array, step: number): Promise<Float64Array> {
  const g = new Float64Array(x.length);
  const dot = (y: ArrayLike<number>) => {
    let v = 0;
    for (let k = 0; k < cotangent.length; k++) v += cotangent[k] * y[k];
    return v;
  };
  for (let j = 0; j < x.length; j++) {
    const xp = x.slice(), xm = x.slice();
    xp[j] += step;
    xm[j] -= step;
    g[j] = (dot(await f(xp)) - dot(await f(xm))) / (xp[j] - xm[j]); // the step as rounded to x's precision
  }
  return g;
}

/** Scalings for the vjp checks: none, global, feature-wise (5 inputs, 3 outputs), each restrict mode. */
export function vjpScalings(): Scaling[] {
  const none = new Float32Array(0);
  return [
    { inShift: none, inScale: none, outShift: none, outScale: none, restrict: 'none' },
    { inShift: Float32Array.of(0.5), inScale: Float32Array.of(2), outShift: Float32Array.of(-0.2), outScale: Float32Array.of(3), restrict: 'absolute_values' },
    { inShift: Float32Array.of(0, 1, -1, 0.5, 2), inScale: Float32Array.of(1, 2, 0.5, 4, 3), outShift: Float32Array.of(0.1, -0.3, 0.05), outScale: Float32Array.of(1, 10, 0.5), restrict: 'zero_out_negative' },
  ];
}

/** The checks every backend must pass (use with describeEachBackend / describeBackend). */
export function backendConformance(name: string): void {
  it('forward agrees with the reference MLP to 1e-5 on random nets and inputs', async function () {
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
      const net = createInferenceNet(spec, params, { backend: name });
      assert.equal(net.name, name);
      const got = await net.forward(x, n);
      const want = forwardTs(spec, params, x, n);
      assert.equal(got.length, want.length);
      assert.ok(relMax(got, want) < 1e-5, `trial ${trial} ${sizes.join('-')}: rel diff ${relMax(got, want)}`);
    }
  });

  it('LdosModel.predictLdos scales, runs the net, unscales and clamps negatives to zero', async function () {
    const m = makeModelData(6);
    m.weights[3].fill(-0.3); // push some outputs below the scaler minimum
    const model = new LdosModel(m, 'synthetic', { backend: name });
    assert.equal(model.backend().name, name);
    const n = 40;
    const x = randomArray(new Rng(7), n * 14, 0, 10);
    const copy = Float32Array.from(x);
    const got = await model.predictLdos(x, n);
    assert.deepEqual(x, copy, 'the input is not modified');
    const xs = m.inputScaler.transform(Float32Array.from(x), 14);
    const raw = m.outputScaler.inverse(forwardTs(m.spec, m.weights, xs, n), 9);
    let negatives = 0;
    const scale = Math.max(...raw);
    for (let i = 0; i < raw.length; i++) {
      if (raw[i] < 0) negatives++;
      assert.ok(Math.abs(got[i] - Math.max(0, raw[i])) <= 1e-6 * scale, `value ${i}: ${got[i]} vs ${Math.max(0, raw[i])}`);
      if (raw[i] < -1e-6 * scale) assert.equal(got[i], 0);
    }
    assert.ok(negatives > 0, 'test needs some negative raw outputs');
  });

  it('predict applies global scaling, absolute_values and no scaling, into `out` when given', async function () {
    const rng = new Rng(21);
    const spec: NetworkSpec = { layerSizes: [5, 8, 3], activations: ['Tanh', null] };
    const params = initParameters(spec, rng);
    const n = 17;
    const x = randomInput(rng, n * 5);
    const net = createInferenceNet(spec, params, { backend: name });
    const none = new Float32Array(0);
    const cases: [Scaling, (y: number, k: number) => number, (v: number, k: number) => number][] = [
      [{ inShift: none, inScale: none, outShift: none, outScale: none, restrict: 'none' }, (v) => v, (v) => v],
      [{ inShift: Float32Array.of(0.5), inScale: Float32Array.of(2), outShift: Float32Array.of(-1), outScale: Float32Array.of(3), restrict: 'absolute_values' }, (v) => (v - 0.5) / 2, (v) => Math.abs(v * 3 - 1)],
      [{ inShift: Float32Array.of(0, 1, 2, 3, 4), inScale: Float32Array.of(1, 2, 3, 4, 5), outShift: Float32Array.of(0.1, 0.2, 0.3), outScale: Float32Array.of(1, 10, 100), restrict: 'zero_out_negative' },
        (v, k) => (v - k) / (k + 1), (v, k) => Math.max(0, v * [1, 10, 100][k] + [0.1, 0.2, 0.3][k])],
    ];
    for (const [sc, scaleIn, unscale] of cases) {
      net.setScaling(sc);
      const copy = Float32Array.from(x);
      const out = new Float32Array(n * 3);
      const got = await net.predict(x, n, out);
      assert.equal(got, out, 'writes into the caller\'s array');
      assert.deepEqual(x, copy, 'the input is not modified');
      const raw = forwardTs(spec, params, x.map((v, i) => scaleIn(v, i % 5)), n);
      const want = raw.map((v, i) => unscale(v, i % 3));
      assert.ok(relMax(got, want) < 1e-5, `${sc.restrict}: rel diff ${relMax(got, want)}`);
    }
  });

  it('predict rejects NaN and ±inf inputs; LdosModel names the point and feature', async function () {
    const spec: NetworkSpec = { layerSizes: [4, 6, 2], activations: ['ReLU', null] };
    const net = createInferenceNet(spec, initParameters(spec, new Rng(2)), { backend: name });
    const none = new Float32Array(0);
    net.setScaling({ inShift: none, inScale: none, outShift: none, outScale: none, restrict: 'none' });
    for (const bad of [NaN, Infinity, -Infinity]) {
      const x = randomInput(new Rng(3), 5 * 4);
      x[13] = bad;
      await assert.rejects(net.predict(x, 5), (e: unknown) => (e as Error).message.includes(NON_FINITE_INPUT), `${bad}`);
    }
    const model = new LdosModel(makeModelData(10), 'synthetic', { backend: name });
    const x = randomArray(new Rng(1), 5 * 14);
    x[3 * 14 + 2] = NaN;
    await assert.rejects(model.predictLdos(x, 5), (e: unknown) => e instanceof MalaError && /descriptor 2 of grid point 3 is NaN/.test(e.message));
  });

  it('predictVjp: predict\'s output, and gradients matching central differences and the float64 reference', async function () {
    const rng = new Rng(31);
    const probe = createInferenceNet({ layerSizes: [1, 1], activations: [null] }, [Float32Array.of(1), Float32Array.of(0)], { backend: name });
    if (!probe.predictVjp) {
      assert.throws(() => requireVjp(probe), (e: unknown) => e instanceof MalaError && e.message.includes(`'${name}' network backend cannot back-propagate`));
      this.skip();
    }
    const n = 6;
    for (const [t, sc] of vjpScalings().entries()) {
      // smooth activations for the float32 differences; kinks (ReLU, the clamp) are checked in float64 (vjp.test.ts)
      const spec: NetworkSpec = { layerSizes: [5, 12, 9, 3], activations: [['Tanh', 'Sigmoid', 'Tanh'][t] as 'Tanh', 'Sigmoid', t === 0 ? null : 'Tanh'] };
      const params = initParameters(spec, rng);
      const net = createInferenceNet(spec, params, { backend: name });
      net.setScaling(sc);
      const x = randomInput(rng, n * 5);
      const cot = Float64Array.from(randomInput(rng, n * 3));
      const copy = Float32Array.from(x);
      const { out, gradInput } = await requireVjp(net)(x, n, cot);
      assert.deepEqual(x, copy, 'the input is not modified');
      const want = await net.predict(x, n);
      if (net.device.startsWith('cuda')) assert.ok(relMax(out, want) < 1e-6, `${sc.restrict}: out vs predict ${relMax(out, want)}`);
      else assert.deepEqual(out, want, `${sc.restrict}: out is predict's output`);
      assert.ok(gradInput instanceof Float64Array && gradInput.length === n * 5);
      const fd = await centralDifferences((xx) => net.predict(xx as Float32Array, n), x, cot, 1e-2);
      assert.ok(relNorm(gradInput, fd) < 1e-2, `${sc.restrict}: vjp vs float32 central differences ${relNorm(gradInput, fd)}`);
      const ref = new TsNet(spec, params);
      ref.setScaling(sc);
      const r64 = ref.predictVjpFloat64(x, n, cot).gradInput;
      assert.ok(relNorm(gradInput, r64) < 1e-5, `${sc.restrict}: vjp vs the float64 reference ${relNorm(gradInput, r64)}`);
    }
  });

  it('predictVjp through the restriction: clamped outputs pass no gradient, absolute values flip its sign', async function () {
    const rng = new Rng(5);
    const spec: NetworkSpec = { layerSizes: [5, 16, 3], activations: ['LeakyReLU', null] };
    const params = initParameters(spec, rng);
    const n = 40;
    const x = randomInput(rng, n * 5);
    const none = new Float32Array(0);
    const at = async (restrict: Scaling['restrict'], cot: Float64Array): Promise<Float64Array> => {
      const net = createInferenceNet(spec, params, { backend: name });
      if (!net.predictVjp) this.skip();
      net.setScaling({ inShift: none, inScale: none, outShift: Float32Array.of(-0.1), outScale: Float32Array.of(2), restrict });
      return (await net.predictVjp!(x, n, cot)).gradInput;
    };
    const raw = forwardTs(spec, params, x, n).map((v) => 2 * v - 0.1);
    const negative = Float64Array.from(raw, (v) => (v < -1e-3 ? 1 : 0));
    const positive = Float64Array.from(raw, (v) => (v > 1e-3 ? 1 : 0));
    assert.ok(negative.some((v) => v) && positive.some((v) => v), 'test needs outputs of both signs');
    const gNone = await at('none', negative);
    assert.ok(gNone.some((v) => Math.abs(v) > 1e-3));
    assert.ok((await at('zero_out_negative', negative)).every((v) => v === 0), 'no gradient through clamped outputs');
    assert.ok(relNorm(await at('zero_out_negative', positive), await at('none', positive)) < 1e-12, 'unclamped outputs pass it unchanged');
    assert.ok(relNorm(await at('absolute_values', negative), gNone.map((v) => -v)) < 1e-12, '|y| flips the sign below zero');
    assert.ok(relNorm(await at('absolute_values', positive), await at('none', positive)) < 1e-12, 'and keeps it above');
  });

  it('predictVjp rejects a cotangent of the wrong length and NaN/±inf inputs and cotangents', async function () {
    const spec: NetworkSpec = { layerSizes: [4, 6, 2], activations: ['ReLU', null] };
    const net: InferenceNet = createInferenceNet(spec, initParameters(spec, new Rng(2)), { backend: name });
    if (!net.predictVjp) this.skip();
    const none = new Float32Array(0);
    net.setScaling({ inShift: none, inScale: none, outShift: none, outScale: none, restrict: 'none' });
    const x = randomInput(new Rng(3), 5 * 4);
    await assert.rejects(net.predictVjp!(x, 5, new Float64Array(9)), /cotangent has 9 values, expected 10 \(5 points × 2 outputs\)/);
    const bad = Float32Array.from(x);
    bad[13] = NaN;
    await assert.rejects(net.predictVjp!(bad, 5, new Float64Array(10)), (e: unknown) => (e as Error).message.includes(NON_FINITE_INPUT));
    for (const v of [NaN, Infinity]) {
      const cot = new Float64Array(10);
      cot[7] = v;
      await assert.rejects(net.predictVjp!(x, 5, cot), (e: unknown) => (e as Error).message.includes(NON_FINITE_COTANGENT), `${v}`);
    }
    assert.equal((await net.predictVjp!(x, 5, new Float64Array(10))).gradInput.length, 20, 'the net still works after the errors');
  });

  it('training steps (MSE + Adam with weight decay) agree with the reference', async function () {
    requireBackend(this, name, 'training');
    const rng = new Rng(11);
    const spec: NetworkSpec = { layerSizes: [13, 32, 24, 5], activations: ['LeakyReLU', 'Tanh', 'Sigmoid'] };
    const params = initParameters(spec, rng);
    const net = createTrainableNet(spec, params, { backend: name });
    assert.equal(net.name, name);
    const hyper = { lr: 3e-3, weightDecay: 1e-3 };
    net.configureAdam(hyper);
    const n = 64;
    const x = randomInput(rng, n * 13);
    const y = randomInput(rng, n * 5);
    const ref = referenceAdam(spec, params, x, y, n, hyper, 5);
    for (let s = 0; s < 5; s++) {
      const l = await net.trainStep(x, y, n);
      assert.ok(Math.abs(l - ref.losses[s]) / ref.losses[s] < 1e-5, `step ${s}: loss ${l} vs ${ref.losses[s]}`);
    }
    const p = net.getParameters();
    for (let k = 0; k < p.length; k++) assert.ok(relMax(p[k], ref.params[k]) < 1e-4, `param ${k}: ${relMax(p[k], ref.params[k])}`);
    assert.equal(net.getOptimizerState().step, 5);
    const sse = await net.lossSum(x, y, n);
    const out = forwardTs(spec, ref.params, x, n);
    let sseRef = 0;
    for (let i = 0; i < out.length; i++) sseRef += (out[i] - y[i]) ** 2;
    assert.ok(Math.abs(sse - sseRef) / sseRef < 1e-5, `lossSum ${sse} vs ${sseRef}`);
  });

  it('parameters round-trip as copies, and the optimizer state so a restored net continues identically', async function () {
    requireBackend(this, name, 'training');
    const rng = new Rng(3);
    const spec: NetworkSpec = { layerSizes: [6, 10, 3], activations: ['ReLU', null] };
    const params = initParameters(spec, rng);
    const a = createTrainableNet(spec, params, { backend: name });
    assert.deepEqual(a.getParameters(), params);
    a.getParameters()[0].fill(7); // a copy: the net is unchanged
    params[1].fill(7); // the net copied its parameters too
    assert.notDeepEqual(a.getParameters()[0], new Float32Array(params[0].length).fill(7));
    assert.notDeepEqual(a.getParameters()[1], params[1]);
    const x = randomInput(rng, 20 * 6);
    const y = randomInput(rng, 20 * 3);
    await a.trainStep(x, y, 20);
    const b = createTrainableNet(spec, initParameters(spec, new Rng(99)), { backend: name });
    b.setParameters(a.getParameters());
    assert.deepEqual(b.getParameters(), a.getParameters());
    b.setOptimizerState(a.getOptimizerState());
    assert.deepEqual(b.getOptimizerState(), a.getOptimizerState());
    await a.trainStep(x, y, 20);
    await b.trainStep(x, y, 20);
    assert.deepEqual(b.getParameters(), a.getParameters());
  });
}
