import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Command } from 'commander';
import execa from 'execa';
import { findLammpsLibrary } from '../../bindings/lammps';
import { loadTorchAddon } from '../../bindings/torch';
import { MalaError } from '../../src/errors';
import { MalaCalculator, readStructure } from '../../src/index';
import { createInferenceNet, createTrainableNet, netDeviceChoice, resolveNet } from '../../src/network/backends';
import { resolveDevice, type DeviceProbe } from '../../src/network/device';
import { initParameters, type NetworkSpec } from '../../src/network/mlp';
import { Rng } from '../../src/network/rng';
import { loadModel } from '../../src/network/model';
import { formatPredictSummary, predictResultJson } from '../../src/results/views';
import { predict } from '../../src/workflow/predict';
import { referenceDir, repoRoot } from '../helpers';
import { COMMANDS } from '../../src/cli/commands/table';

const cpuOnly: DeviceProbe = { label: 'libtorch addon', builtWithCuda: false, cudaDeviceCount: 0 };
const cudaNoGpu: DeviceProbe = { label: 'libtorch addon', builtWithCuda: true, cudaDeviceCount: 0 };
const cudaTwo: DeviceProbe = { label: 'libtorch addon', builtWithCuda: true, cudaDeviceCount: 2 };
const tsOnly: DeviceProbe = { label: 'plain-TypeScript network', builtWithCuda: false, cudaDeviceCount: 0, noCudaReason: 'the network backend is the plain-TypeScript network, which runs on the CPU only' };

const isMala = (re: RegExp, fix?: RegExp) => (e: unknown) => e instanceof MalaError && re.test(e.message) && (!fix || fix.test(e.fix ?? ''));

function withEnv<T>(name: string, value: string | undefined, f: () => T): T {
  const saved = process.env[name];
  if (value === undefined) delete process.env[name];
  else process.env[name] = value;
  try {
    return f();
  } finally {
    if (saved === undefined) delete process.env[name];
    else process.env[name] = saved;
  }
}

describe('network/device: --device cpu|cuda|auto', function () {
  this.timeout(120000);

  it('auto picks CUDA only when the backend was built with it and a device is visible, and says why', () => {
    withEnv('MALA_TS_DEVICE', undefined, () => {
      assert.deepEqual(resolveDevice(undefined, cudaTwo), { device: 'cuda:0', requested: 'auto', reason: 'auto: the libtorch addon has CUDA and 2 devices visible' });
      assert.deepEqual(resolveDevice('auto', cpuOnly), { device: 'cpu', requested: 'auto', reason: 'auto: the libtorch addon was built against a CPU-only libtorch' });
      assert.deepEqual(resolveDevice('auto', cudaNoGpu), { device: 'cpu', requested: 'auto', reason: 'auto: the libtorch addon has CUDA but no CUDA device is visible' });
      assert.match(resolveDevice('auto', tsOnly).reason, /^auto: the network backend is the plain-TypeScript network, which runs on the CPU only/);
      for (const p of [cpuOnly, cudaNoGpu, cudaTwo, tsOnly]) assert.deepEqual(resolveDevice('cpu', p), { device: 'cpu', requested: 'cpu', reason: 'requested' });
      assert.equal(resolveDevice('cuda', cudaTwo).device, 'cuda:0');
      assert.equal(resolveDevice('CUDA:1', cudaTwo).device, 'cuda:1');
    });
  });

  it('cuda where there is none is one MalaError naming the flag, the cause and the fix', () => {
    withEnv('MALA_TS_DEVICE', undefined, () => {
      assert.throws(() => resolveDevice('cuda', cpuOnly), isMala(/^--device cuda cannot be met: the libtorch addon was built against a CPU-only libtorch$/, /MALA_TS_LIBTORCH=.*make setup.*--device cpu/));
      assert.throws(() => resolveDevice('cuda', cudaNoGpu), isMala(/^--device cuda cannot be met: the libtorch addon has CUDA but no CUDA device is visible$/, /nvidia-smi and CUDA_VISIBLE_DEVICES/));
      assert.throws(() => resolveDevice('cuda', tsOnly), isMala(/plain-TypeScript network, which runs on the CPU only/, /MALA_TS_LIBTORCH/));
      assert.throws(() => resolveDevice('cuda:2', cudaTwo), isMala(/--device cuda:2 cannot be met: the libtorch addon sees 2 CUDA devices \(cuda:0…cuda:1\)/));
      assert.throws(() => resolveDevice('tpu', cudaTwo), isMala(/unknown device 'tpu' \(--device\)/, /cpu, cuda, cuda:N or auto/));
    });
  });

  it('$MALA_TS_DEVICE is the default request, the option wins, and its errors name the variable', () => {
    withEnv('MALA_TS_DEVICE', 'cpu', () => {
      assert.equal(resolveDevice(undefined, cudaTwo).device, 'cpu');
      assert.equal(resolveDevice('cuda', cudaTwo).device, 'cuda:0');
    });
    withEnv('MALA_TS_DEVICE', 'cuda', () => assert.throws(() => resolveDevice(undefined, cpuOnly), isMala(/^MALA_TS_DEVICE=cuda cannot be met/)));
    withEnv('MALA_TS_DEVICE', 'gpu', () => assert.throws(() => resolveDevice(undefined, cpuOnly), isMala(/unknown device 'gpu' \(MALA_TS_DEVICE\)/)));
  });

  it('every command with --backend has --device, validated when parsed', () => {
    const program = new Command();
    const dir = path.resolve(__dirname, '../../src/cli/commands');
    for (const { name } of COMMANDS) (require(path.join(dir, name)) as { register(p: Command): void }).register(program); // every command module (src/cli/commands/table.ts)
    const withDevice = program.commands.filter((c) => c.options.some((o) => o.long === '--device'));
    assert.deepEqual(withDevice.map((c) => c.name()).sort(), ['infer', 'predict', 'pw', 'test', 'train', 'watch']);
    for (const c of withDevice) {
      const o = c.options.find((x) => x.long === '--device')!;
      assert.equal(o.defaultValue, undefined, 'no default, so $MALA_TS_DEVICE applies');
      assert.equal(o.parseArg!('Cuda:0', undefined), 'cuda:0');
      assert.throws(() => o.parseArg!('gpu', undefined), /unknown device 'gpu'/);
    }
  });

  describe('on this machine', function () {
    const spec: NetworkSpec = { layerSizes: [3, 4, 2], activations: ['ReLU', null] };
    const params = [new Float32Array(12).fill(0.1), new Float32Array(4), new Float32Array(8).fill(0.2), new Float32Array(2)];
    let be2: string;
    before(function () {
      be2 = referenceDir(this);
    });

    it('--device cpu works on every backend; the TS backend refuses cuda', async () => {
      for (const backend of ['ts', 'auto']) {
        const net = createInferenceNet(spec, params, { backend, device: 'cpu' });
        assert.deepEqual(netDeviceChoice(net), { device: 'cpu', requested: 'cpu', reason: 'requested' });
        const y = await net.forward(Float32Array.of(1, 2, 3), 1);
        assert.ok(Math.abs(y[0] - 0.48) < 1e-6, `${y[0]}`);
      }
      assert.throws(() => createInferenceNet(spec, params, { backend: 'ts', device: 'cuda' }), isMala(/--device cuda cannot be met: the network backend is the plain-TypeScript/));
    });

    it('the libtorch addon: auto picks what info() reports; cuda without it is a MalaError, and the addon itself throws (no crash)', function () {
      const { addon } = loadTorchAddon();
      if (!addon) {
        console.warn('    ! SKIPPED: libtorch addon unavailable');
        this.skip();
      }
      const info = addon!.info();
      const cuda = info.builtWithCuda && info.cudaAvailable && info.cudaDeviceCount > 0;
      const r = withEnv('MALA_TS_DEVICE', undefined, () => resolveNet({ backend: 'torch' }));
      assert.equal(r.device.device, cuda ? 'cuda:0' : 'cpu');
      assert.match(r.device.reason, cuda ? /has CUDA and \d+ devices? visible/ : /CPU-only libtorch|no CUDA device is visible/);
      assert.equal(createInferenceNet(spec, params, { backend: 'torch', device: 'cpu' }).device, 'cpu');
      if (!cuda) {
        assert.throws(() => createInferenceNet(spec, params, { backend: 'torch', device: 'cuda' }), isMala(/--device cuda cannot be met: the libtorch addon/));
        // the addon's own backstop, bypassing the TS check: a JS exception, the process lives on
        assert.throws(() => new addon!.Net([3, 2], [''], 'cuda'), (e: unknown) => e instanceof Error && /requested but (this addon was built against a CPU-only libtorch|no CUDA device is visible)/.test(e.message));
      }
    });

    it('predict reports the device in the summary and in JSON; --device cuda fails before any work', async () => {
      const model = loadModel(path.join(be2, 'Be_model.zip'), { device: 'cpu' });
      const structureFile = path.join(be2, 'Be_snapshot0.out');
      const descriptorsFile = path.join(be2, 'Be_snapshot0.in.npy');
      const r = await predict({ structureFile, model, pseudoDir: be2, descriptorsFile });
      assert.deepEqual(r.device, { device: 'cpu', requested: 'cpu', reason: 'requested' });
      assert.deepEqual(predictResultJson(r).device, { name: 'cpu', requested: 'cpu', reason: 'requested' });
      assert.match(formatPredictSummary(r), /\ndevice +cpu {2}\(requested\)\n/);
      const info = loadTorchAddon().addon?.info();
      if (info?.builtWithCuda && info.cudaAvailable) return;
      await assert.rejects(predict({ structureFile, modelFile: path.join(be2, 'Be_model.zip'), device: 'cuda', pseudoDir: be2, descriptorsFile }), isMala(/--device cuda cannot be met/));
    });

    it('the CLI: predict --device cuda exits 1 with the one error; --device cpu --json has the device key', async () => {
      const info = loadTorchAddon().addon?.info();
      const cli = path.join(repoRoot, 'bin', 'mala-ts.js');
      const args = ['predict', path.join(be2, 'Be_snapshot0.out'), '--model', path.join(be2, 'Be_model.zip'), '--pseudo-dir', be2, '--descriptors', path.join(be2, 'Be_snapshot0.in.npy'), '--json'];
      const env = { MALA_TS_DEVICE: '' };
      if (!(info?.builtWithCuda && info.cudaAvailable)) {
        const bad = await execa('node', [cli, ...args, '--device', 'cuda'], { reject: false, env });
        assert.equal(bad.exitCode, 1, bad.stderr);
        assert.match(bad.stderr, /--device cuda cannot be met: the (libtorch addon|network backend)/);
        assert.match(bad.stderr, /--device cpu/);
        assert.ok(!/\n\s+at /.test(bad.stderr), `no stack trace:\n${bad.stderr}`);
      }
      const ok = await execa('node', [cli, ...args, '--device', 'auto'], { reject: false, env });
      assert.equal(ok.exitCode, 0, ok.stderr);
      const j = JSON.parse(ok.stdout);
      assert.equal(j.device.requested, 'auto');
      assert.match(j.device.reason, /^auto: /);
      assert.equal(j.device.name, info?.builtWithCuda && info.cudaAvailable ? 'cuda:0' : 'cpu');
    });

    it('MalaCalculator accepts device', async () => {
      const atoms = readStructure(path.join(be2, 'Be_snapshot0.out')).atoms;
      // the calculator computes descriptors with LAMMPS (the GPU machine of gpu-check.sh has none)
      if (findLammpsLibrary()) {
        const calc = new MalaCalculator({ model: path.join(be2, 'Be_model.zip'), pseudoDir: be2, device: 'cpu' });
        const e = await calc.getPotentialEnergy(atoms);
        assert.ok(Math.abs(e - -72.81359) < 1e-5, `E ${e}`);
        assert.deepEqual(calc.prediction?.device, { device: 'cpu', requested: 'cpu', reason: 'requested' });
      } else console.warn('    ! SKIPPED: no LAMMPS here: the calculator\'s energy on --device cpu is not checked');
      const info = loadTorchAddon().addon?.info();
      if (info?.builtWithCuda && info.cudaAvailable) return;
      const bad = new MalaCalculator({ model: path.join(be2, 'Be_model.zip'), pseudoDir: be2, device: 'cuda' });
      await assert.rejects(bad.getPotentialEnergy(atoms), isMala(/--device cuda cannot be met/));
    });
  });

  // The addon's CUDA path (scripts/gpu-check.sh runs this file on a GPU); skipped elsewhere.
  describe('on CUDA', function () {
    const spec: NetworkSpec = { layerSizes: [91, 128, 128, 131], activations: ['LeakyReLU', 'LeakyReLU', null] };
    const rng = new Rng(3);
    const params = initParameters(spec, rng);
    const random = (n: number, lo = -1, hi = 1) => Float32Array.from({ length: n }, () => lo + (hi - lo) * rng.uniform());
    const relMax = (a: Float32Array, b: Float32Array) => {
      let m = 0;
      let scale = 0;
      for (let i = 0; i < a.length; i++) scale = Math.max(scale, Math.abs(b[i]));
      for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]) / scale);
      return m;
    };
    before(function () {
      const info = loadTorchAddon().addon?.info();
      if (!(info?.builtWithCuda && info.cudaAvailable && info.cudaDeviceCount > 0)) {
        console.warn(`    ! SKIPPED: no CUDA here (${info ? (info.builtWithCuda ? 'no GPU visible' : 'addon built against a CPU-only libtorch') : 'no libtorch addon'}); scripts/gpu-check.sh runs these on a GPU`);
        this.skip();
      }
    });

    it('predict on cuda equals the cpu to 1e-5 (relative to the largest value) across pinned-batch boundaries; rejects non-finite inputs; weights stay put', async () => {
      const saved = process.env.MALA_TS_CUDA_BATCH_POINTS;
      process.env.MALA_TS_CUDA_BATCH_POINTS = '1000'; // 2500 points = 3 batches, the last one partial
      try {
        const n = 2500;
        const x = random(n * 91, -2, 2);
        const sc = { inShift: random(91), inScale: random(91, 0.5, 2), outShift: random(131, 0, 0.1), outScale: random(131, 0.5, 1), restrict: 'zero_out_negative' as const };
        const cpu = createInferenceNet(spec, params, { backend: 'torch', device: 'cpu' });
        const gpu = createInferenceNet(spec, params, { backend: 'torch', device: 'cuda' });
        assert.equal(gpu.device, 'cuda:0');
        cpu.setScaling(sc);
        gpu.setScaling(sc);
        const want = await cpu.predict(x, n);
        const got = await gpu.predict(x, n);
        assert.ok(relMax(got, want) < 1e-5, `rel diff ${relMax(got, want)}`);
        assert.equal(got.filter((v) => v < 0).length, 0, 'restrict on the device');
        const bad = Float32Array.from(x);
        bad[2100 * 91 + 5] = NaN; // in the last batch
        await assert.rejects(gpu.predict(bad, n), /non-finite input value/);
        assert.ok(relMax(await gpu.predict(x, n), want) < 1e-5, 'still works after a rejected call');
        const back = (gpu as unknown as { getParameters(): Float32Array[] }).getParameters();
        back.forEach((p, i) => assert.deepEqual(p, params[i], `parameter ${i} unchanged on the device`));
      } finally {
        if (saved === undefined) delete process.env.MALA_TS_CUDA_BATCH_POINTS;
        else process.env.MALA_TS_CUDA_BATCH_POINTS = saved;
      }
    });

    it('predictVjp on cuda equals the cpu (out to 1e-5, gradInput to 1e-5 of its norm) across batch boundaries; rejects non-finite values', async () => {
      const saved = process.env.MALA_TS_CUDA_BATCH_POINTS;
      process.env.MALA_TS_CUDA_BATCH_POINTS = '1000'; // 2500 points = 3 batches, the last one partial
      try {
        const n = 2500;
        const x = random(n * 91, -2, 2);
        const cot = Float64Array.from(random(n * 131));
        const sc = { inShift: random(91), inScale: random(91, 0.5, 2), outShift: random(131, 0, 0.1), outScale: random(131, 0.5, 1), restrict: 'zero_out_negative' as const };
        const [cpu, gpu] = ['cpu', 'cuda'].map((device) => createInferenceNet(spec, params, { backend: 'torch', device }));
        cpu.setScaling(sc);
        gpu.setScaling(sc);
        const want = await cpu.predictVjp!(x, n, cot);
        const got = await gpu.predictVjp!(x, n, cot);
        assert.ok(relMax(got.out, want.out) < 1e-5, `out: rel diff ${relMax(got.out, want.out)}`);
        assert.ok(relMax(got.out, await gpu.predict(x, n)) < 1e-6, 'out is predict on the device');
        let d = 0, s = 0;
        for (let i = 0; i < want.gradInput.length; i++) {
          d += (got.gradInput[i] - want.gradInput[i]) ** 2;
          s += want.gradInput[i] ** 2;
        }
        assert.ok(Math.sqrt(d / s) < 1e-5, `gradInput: rel diff ${Math.sqrt(d / s)}`);
        const bad = Float32Array.from(x);
        bad[2100 * 91 + 5] = NaN;
        await assert.rejects(gpu.predictVjp!(bad, n, cot), /non-finite input value/);
      } finally {
        if (saved === undefined) delete process.env.MALA_TS_CUDA_BATCH_POINTS;
        else process.env.MALA_TS_CUDA_BATCH_POINTS = saved;
      }
    });

    it('trains on cuda as on the cpu: 20 Adam steps, losses within 1e-5 and parameters within 1e-4 (relative), the README\'s tolerance', async () => {
      const nets = ['cpu', 'cuda'].map((device) => createTrainableNet(spec, params, { backend: 'torch', device }));
      for (const net of nets) net.configureAdam({ lr: 1e-3 });
      const x = random(512 * 91);
      const y = random(512 * 131, 0, 1);
      for (let step = 0; step < 20; step++) {
        const [a, b] = await Promise.all(nets.map((net) => net.trainStep(x, y, 512)));
        assert.ok(Math.abs(a - b) / a < 1e-5, `step ${step}: loss ${b} on cuda vs ${a} on cpu`);
      }
      const [pa, pb] = nets.map((net) => net.getParameters());
      pa.forEach((p, i) => assert.ok(relMax(pb[i], p) < 1e-4, `parameter ${i}: ${relMax(pb[i], p)}`));
    });
  });
});
