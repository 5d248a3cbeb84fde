import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Command, type Option } from 'commander';
import { backendOption } from '../../src/cli/options';
import { MalaError } from '../../src/errors';
import {
  backendNames, createInferenceNet, createTrainableNet, registerBackend, resolveBackend, TsNet, unregisterBackend, type BackendDefinition,
} from '../../src/network/backends';
import { LdosModel } from '../../src/network/model';
import { backendConformance, describeBackend, requireBackend } from './backend-suite';
import { makeModelData } from './synthetic';
import { COMMANDS } from '../../src/cli/commands/table';

/** The "dummy backend in a test": the TS network under another name and a top priority. */
class DummyNet extends TsNet {
  override readonly name = 'dummy';
  override readonly device = 'dummy';
}
const dummy: BackendDefinition = {
  name: 'dummy',
  priority: 1000,
  label: 'dummy test backend',
  availability: () => ({ ok: true, reason: '' }),
  createInference: (spec, params) => new DummyNet(spec, params),
  createTraining: (spec, params) => new DummyNet(spec, params),
};
/** Registered with an even higher priority, but never available here. */
const broken: BackendDefinition = {
  name: 'dummy-broken',
  priority: 2000,
  label: 'broken test backend',
  availability: () => ({ ok: false, reason: 'no such device in this test', fix: 'do not use it' }),
  createInference: () => assert.fail('created an unavailable backend'),
};

/** The --backend option of every command under src/cli/commands that has one. */
function backendOptions(): { command: string; option: Option }[] {
  const program = new Command();
  const dir = path.resolve(__dirname, '../../src/cli/commands');
  for (const { name } of COMMANDS) (require(path.join(dir, name)) as { register(p: Command): void }).register(program); // every command module (src/cli/commands/table.ts)
  return program.commands.flatMap((c) => c.options.filter((o) => o.long === '--backend').map((option) => ({ command: c.name(), option })));
}

describe('network/backend registry', function () {
  this.timeout(60000);
  const saved = { backend: process.env.MALA_TS_BACKEND, quiet: process.env.MALA_TS_QUIET_FALLBACK };
  before(() => {
    delete process.env.MALA_TS_BACKEND;
    process.env.MALA_TS_QUIET_FALLBACK = '1'; // auto passing over dummy-broken would use up the one-time warning
    registerBackend(dummy);
    registerBackend(broken);
  });
  after(() => {
    unregisterBackend('dummy');
    unregisterBackend('dummy-broken');
    for (const [k, v] of [['MALA_TS_BACKEND', saved.backend], ['MALA_TS_QUIET_FALLBACK', saved.quiet]] as const) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });

  it('a registered backend appears in the --backend help and validation of every command that has it', function () {
    const found = backendOptions();
    assert.deepEqual(found.map((f) => f.command).sort(), ['finetune', 'infer', 'predict', 'pw', 'test', 'train', 'watch']);
    for (const { command, option } of found) {
      assert.equal(option.description, 'network backend: auto, dummy-broken, dummy, torch or ts', command);
      assert.equal(option.defaultValue, 'auto');
      assert.equal(option.parseArg!('dummy', undefined), 'dummy');
      assert.throws(() => option.parseArg!('tpu', undefined), (e: unknown) => e instanceof MalaError && /unknown backend 'tpu'/.test(e.message) && /dummy/.test(e.fix ?? ''));
    }
    unregisterBackend('dummy');
    try {
      assert.equal(backendOption().description, 'network backend: auto, dummy-broken, torch or ts', 'the names come from the registry');
      assert.throws(() => backendOption().parseArg!('dummy', undefined), /unknown backend 'dummy'/);
    } finally {
      registerBackend(dummy);
    }
  });

  it('auto takes the available backend with the highest priority, skipping unavailable ones', function () {
    assert.deepEqual(backendNames().slice(0, 2), ['dummy-broken', 'dummy']);
    const r = resolveBackend('auto');
    assert.equal(r.name, 'dummy');
    assert.deepEqual(r.skipped.map((s) => s.name), ['dummy-broken']);
    assert.match(r.reason, /no such device/);
    assert.equal(resolveBackend().name, 'dummy', '$MALA_TS_BACKEND unset means auto');
    assert.equal(createInferenceNet({ layerSizes: [2, 2], activations: [null] }, [Float32Array.of(1, 0, 0, 1), Float32Array.of(0, 0)]).name, 'dummy');
    assert.equal(createTrainableNet({ layerSizes: [2, 2], activations: [null] }, [Float32Array.of(1, 0, 0, 1), Float32Array.of(0, 0)]).name, 'dummy');
    assert.equal(new LdosModel(makeModelData(1), 'synthetic', { backend: 'auto' }).backend().name, 'dummy');
    assert.equal(resolveBackend('ts').name, 'ts', 'a name still picks that backend');
    unregisterBackend('dummy');
    try {
      assert.notEqual(resolveBackend('auto').name, 'dummy');
    } finally {
      registerBackend(dummy);
    }
  });

  it('$MALA_TS_BACKEND picks a backend; unknown, unavailable and inference-only requests fail clearly', function () {
    process.env.MALA_TS_BACKEND = 'ts';
    try {
      assert.equal(resolveBackend().name, 'ts');
      assert.equal(resolveBackend('dummy').name, 'dummy', 'the option wins over the variable');
    } finally {
      delete process.env.MALA_TS_BACKEND;
    }
    assert.throws(() => resolveBackend('tpu'), (e: unknown) => e instanceof MalaError && /unknown network backend 'tpu'/.test(e.message) && /'dummy'.*'ts' or 'auto'/.test(e.fix ?? ''));
    assert.throws(() => resolveBackend('dummy-broken'), (e: unknown) => e instanceof MalaError && /broken test backend is required but unavailable: no such device/.test(e.message) && e.fix === 'do not use it');
    const inferenceOnly = { ...dummy, name: 'dummy-inference', priority: 5000, createTraining: undefined };
    registerBackend(inferenceOnly);
    try {
      assert.equal(resolveBackend('auto', 'inference').name, 'dummy-inference');
      assert.equal(resolveBackend('auto', 'training').name, 'dummy', 'training skips inference-only backends');
      assert.throws(() => resolveBackend('dummy-inference', 'training'), /runs inference only/);
    } finally {
      unregisterBackend('dummy-inference');
    }
    assert.throws(() => registerBackend(dummy), /already registered/);
    assert.throws(() => registerBackend({ ...dummy, name: 'auto' }), /invalid network backend name/);
  });

  // The shared suite, run against the dummy exactly as against torch and ts.
  describeBackend('shared backend suite', 'dummy', backendConformance);

  it('the shared suite skips an unavailable backend visibly instead of running it', () => {
    // requireBackend is what describeBackend's before-hook calls: it must print the notice and skip
    let skipped = 0;
    const lines: string[] = [];
    const warn = console.warn;
    console.warn = (m: string) => lines.push(m);
    try {
      requireBackend({ skip: () => skipped++ } as unknown as Mocha.Context, 'dummy-broken');
      requireBackend({ skip: () => skipped++ } as unknown as Mocha.Context, 'dummy');
    } finally {
      console.warn = warn;
    }
    assert.equal(skipped, 1, 'only the unavailable backend is skipped');
    assert.deepEqual(lines, ['    ! SKIPPED: backend dummy-broken unavailable: no such device in this test']);
  });
});
