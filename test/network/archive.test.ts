import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { unzipSync, zipSync } from 'fflate';
import { MalaError } from '../../src/errors';
import { encodeModel, loadModel, LdosModel, readModelData, saveModelData } from '../../src/network/model';
import { Rng } from '../../src/network/rng';
import { referenceDir, tempDir } from '../helpers';
import { makeModelData, randomArray } from './synthetic';

describe('network/model archive', function () {
  this.timeout(60000);
  let tmp: ReturnType<typeof tempDir>;
  beforeEach(() => (tmp = tempDir()));
  afterEach(() => tmp.cleanup());

  it('round-trips architecture, scalers, descriptor parameters, energy grid and weights', async function () {
    const m = makeModelData(1);
    const file = path.join(tmp.dir, 'model.zip');
    saveModelData(file, m);
    const back = readModelData(file);
    assert.deepEqual(back.spec, m.spec);
    assert.deepEqual(back.weights, m.weights);
    assert.deepEqual(back.descriptors, m.descriptors);
    assert.deepEqual(back.energyGrid, m.energyGrid);
    assert.deepEqual(back.reference, m.reference);
    assert.deepEqual(back.inputScaler.toJSON(), m.inputScaler.toJSON());
    assert.deepEqual(back.outputScaler.toJSON(), m.outputScaler.toJSON());
    const x = randomArray(new Rng(2), 30 * 14, 0, 10);
    assert.deepEqual(await loadModel(file).predictLdos(x, 30), await new LdosModel(m).predictLdos(x, 30));
    // The unpacked folder (what a Python user sees) loads too.
    const dir = path.join(tmp.dir, 'unpacked');
    fs.mkdirSync(dir);
    for (const [n, b] of Object.entries(unzipSync(fs.readFileSync(file)))) fs.writeFileSync(path.join(dir, n), b);
    assert.deepEqual(readModelData(dir).weights, m.weights);
    const json = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8'));
    assert.equal(json.format, 'mala-ts-model');
    assert.equal(json.formatVersion, 1);
    assert.deepEqual(json.network.parameterNames, ['layers.0.weight', 'layers.0.bias', 'layers.2.weight', 'layers.2.bias']);
  });

  it('rejects corrupted, truncated, foreign and too-new files with one clear MalaError', function () {
    const file = path.join(tmp.dir, 'm.zip');
    const bytes = encodeModel(makeModelData(3));
    const expectErr = (b: Uint8Array, re: RegExp) => {
      fs.writeFileSync(file, b);
      assert.throws(() => loadModel(file), (e: unknown) => e instanceof MalaError && re.test(e.message) && e.file === file && !!e.fix);
    };
    // A flipped byte in the weights (stored, so the data sits in the zip verbatim).
    const flipped = Uint8Array.from(bytes);
    flipped[flipped.length - 400] ^= 0xff;
    expectErr(flipped, /damaged|checksum/);
    expectErr(bytes.subarray(0, bytes.length - 50), /damaged|truncated/);
    expectErr(bytes.subarray(0, 1000), /damaged|truncated/);
    expectErr(Buffer.from('hello, not a model'), /not a model archive/);
    const files = unzipSync(bytes);
    const j = JSON.parse(Buffer.from(files['model.json']).toString());
    j.formatVersion = 99;
    expectErr(zipSync({ ...files, 'model.json': Buffer.from(JSON.stringify(j)) }), /newer/);
    expectErr(zipSync({ 'model.json': Buffer.from('{"format": "mala-ts-model", "formatV') }), /not valid JSON/);
    assert.throws(() => loadModel(path.join(tmp.dir, 'missing.zip')), /model not found/);
  });

  it('a save that fails midway leaves the previous model intact and no temporary file', function () {
    const file = path.join(tmp.dir, 'm.zip');
    saveModelData(file, makeModelData(4));
    const before = fs.readFileSync(file);
    // Patch the real module object (the `fs` import above is a namespace wrapper).
    const realFs = require('node:fs') as { writeSync: (...a: unknown[]) => number };
    const orig = realFs.writeSync;
    let calls = 0;
    realFs.writeSync = (fd: unknown, buf: unknown, off: unknown, len: unknown) => {
      // First call writes half the bytes, the next one fails: a crash in the middle of the file.
      if (++calls > 1) throw new Error('disk full (simulated)');
      return orig(fd, buf, off, Math.floor((len as number) / 2));
    };
    try {
      assert.throws(() => saveModelData(file, makeModelData(5)), /disk full/);
    } finally {
      realFs.writeSync = orig;
    }
    assert.ok(calls > 1, 'the simulated failure happened after a partial write');
    assert.deepEqual(fs.readFileSync(file), before);
    assert.deepEqual(fs.readdirSync(tmp.dir), ['m.zip']);
  });

  it('a process killed (SIGKILL) while saving never leaves a broken model', async function () {
    const file = path.join(tmp.dir, 'big.zip');
    for (const delayMs of [150, 400]) {
      const child = spawn(process.execPath, ['-r', 'tsx/cjs', path.join(__dirname, 'archive-child.ts'), file, String(delayMs)], { stdio: ['ignore', 'pipe', 'inherit'] });
      await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
      await new Promise((r) => setTimeout(r, delayMs));
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
      if (fs.existsSync(file)) {
        const m = readModelData(file); // must load: complete or absent, never half-written
        assert.deepEqual(m.spec.layerSizes, [91, 700, 700, 700, 250]);
      }
    }
    assert.ok(fs.existsSync(file), 'at least one save completed, so the kills hit a process that was writing');
  });

  it('MALA zips that are truncated give a clear error', function () {
    const dir = referenceDir(this);
    const bytes = fs.readFileSync(path.join(dir, 'Be_model.zip'));
    const file = path.join(tmp.dir, 'Be_model.zip');
    fs.writeFileSync(file, bytes.subarray(0, 30000));
    assert.throws(() => loadModel(file), (e: unknown) => e instanceof MalaError && /damaged|truncated|not a MALA model/.test(e.message));
  });
});

describe('network/LdosModel.predictLdos', function () {
  // Scaling, clamping and NaN checks on each backend: the shared suite (backend-suite.ts, backends.test.ts).

  it('gives the same result for any chunk size', async function () {
    const model = new LdosModel(makeModelData(8));
    const n = 101;
    const x = randomArray(new Rng(9), n * 14, 0, 10);
    // Equal up to float32 rounding: BLAS blocks a 7-row GEMM differently from a 101-row one.
    const a = await model.predictLdos(x, n, { chunkPoints: 7 });
    const b = await model.predictLdos(x, n);
    const scale = Math.max(...b);
    assert.ok(scale > 0);
    for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i] - b[i]) <= 1e-6 * scale, `value ${i}: ${a[i]} vs ${b[i]}`);
  });

  it('rejects mismatched feature counts and NaN with clear errors', async function () {
    const model = new LdosModel(makeModelData(10));
    await assert.rejects(model.predictLdos(new Float32Array(5 * 17), 5), (e: unknown) => e instanceof MalaError && /17 features per point but the model .* expects 14/.test(e.message) && /xyz/.test(e.fix ?? ''));
    await assert.rejects(model.predictLdos(new Float32Array(5 * 15), 5), /15 features per point/);
    const x = randomArray(new Rng(1), 5 * 14);
    x[3 * 14 + 2] = NaN;
    await assert.rejects(model.predictLdos(x, 5), /descriptor 2 of grid point 3 is NaN/);
  });
});
