/**
 * Fault suite, second independent probe (issue 14): the cases a new user hit that the first
 * probe did not cover. Each test fails without its fix.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import * as net from 'node:net';
import { MalaError } from '../../src/errors';
import { runIpiClient } from '../../src/io/ipi-client';
import { writeNpy } from '../../src/io/npy';
import { repoRoot, tempDir } from '../helpers';
import { assertCleanError, cli, mt, smallInferInputs } from './helpers';

const be2 = path.join(repoRoot, 'fixtures', 'be2-ldos-qe');

describe('faults (probe 2): two outputs on one path', function () {
  this.timeout(120000);
  let t: { dir: string; cleanup: () => void };
  beforeEach(() => (t = tempDir()));
  afterEach(() => t.cleanup());

  const observables = (extra: string[]) => mt(['observables', '--ldos', be2, '--energy-grid', '-5,2.5,11', '--structure', path.join(be2, 'Be.pw.scf.out'), ...extra]);

  it('observables --dos-out x.csv --json-out x.csv: refused before computing (the JSON silently replaced the DOS, exit 0)', () => {
    const x = path.join(t.dir, 'x.csv');
    assertCleanError(observables(['--dos-out', x, '--json-out', x]), /--dos-out and --json-out both name .*x\.csv: the second output would overwrite the first/);
    assert.equal(fs.existsSync(x), false, 'nothing written');
  });

  it('observables --density-out y.npy --json-out ./sub/../y.npy: the same file under two spellings is refused too', () => {
    fs.mkdirSync(path.join(t.dir, 'sub'));
    const y = path.join(t.dir, 'y.npy');
    assertCleanError(observables(['--density-out', y, '--json-out', path.join(t.dir, 'sub', '..', 'y.npy')]), /--density-out and --json-out both name/);
    assert.deepEqual(fs.readdirSync(t.dir), ['sub']);
  });

  it('observables with distinct outputs still writes all of them', () => {
    const r = observables(['--dos-out', path.join(t.dir, 'd.csv'), '--json-out', path.join(t.dir, 'r.json'), '--json']);
    assert.equal(r.status, 0, r.stderr);
    assert.ok(fs.readFileSync(path.join(t.dir, 'd.csv'), 'utf8').split('\n').length > 5);
    assert.ok(JSON.parse(fs.readFileSync(path.join(t.dir, 'r.json'), 'utf8')).fermi_energy_ev > 0);
  });
});

describe('faults (probe 2): sample into a folder an earlier run used', function () {
  this.timeout(120000);
  let t: { dir: string; cleanup: () => void };
  beforeEach(() => (t = tempDir()));
  afterEach(() => t.cleanup());

  it('a second run with fewer frames removes the first run\'s extra frames (two trajectories were mixed silently)', () => {
    const template = path.join(repoRoot, 'fixtures', 'al-forces', 'Al4_298K_6.pw.scf.in');
    const out = path.join(t.dir, 'frames');
    const sample = (extra: string[]) => mt(['sample', '--qe-template', template, '--out', out, '--equilibration', '0.01', '--interval', '0.01', ...extra]);
    assert.equal(sample(['--frames', '3']).status, 0);
    fs.writeFileSync(path.join(out, 'Al_7.pw.scf.in'), 'my own file\n'); // not written by sample: kept
    const r = sample(['--frames', '2', '--seed', '5']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /removed 1 frame file of an earlier sample run .*Al_2\.pw\.scf\.in/);
    const frames = fs.readdirSync(out).filter((f) => f.endsWith('.pw.scf.in')).sort();
    assert.deepEqual(frames, ['Al_0.pw.scf.in', 'Al_1.pw.scf.in', 'Al_7.pw.scf.in']);
    for (const f of frames.slice(0, 2)) assert.match(fs.readFileSync(path.join(out, f), 'utf8').split('\n')[0], /seed 5,/);
    const md = JSON.parse(fs.readFileSync(path.join(out, 'Al.md.json'), 'utf8'));
    assert.equal(md.frames.length, 2);
  });
});

describe('faults (probe 2): a bad input under MPI gives one message', function () {
  this.timeout(120000);
  let t: { dir: string; cleanup: () => void };
  beforeEach(() => (t = tempDir()));
  afterEach(() => t.cleanup());
  const model = path.join(repoRoot, 'models', 'al-fcc-298K', 'model.zip');
  const errorLines = (stderr: string) => stderr.split('\n').filter((l) => /^mala-ts: error/.test(l));

  it('pw --np 2 and predict --np 2 on a malformed pw.x input: one error (every rank printed it), exit 1, no hang', () => {
    const bad = path.join(t.dir, 'bad.in');
    const good = fs.readFileSync(path.join(repoRoot, 'fixtures', 'al-forces', 'Al4_298K_6.pw.scf.in'), 'utf8');
    fs.writeFileSync(bad, good.replace('ATOMIC_SPECIES', 'ATOMIC_SPECIEZ'));
    for (const args of [['pw', '--np', '2', '--model', model, '-in', bad], ['predict', '--np', '2', '--model', model, bad]]) {
      const r = mt(args, { timeoutMs: 60000 });
      assert.equal(r.error, undefined, `no hang: ${r.error}`);
      assert.equal(r.status, 1, r.stderr);
      assert.deepEqual(errorLines(r.stderr).map((l) => l.replace(/rank \d/, 'rank N')), [`mala-ts: error on MPI rank N: ${bad}: malformed QE input: unexpected line 'ATOMIC_SPECIEZ' outside any namelist or card`], r.stderr);
      assert.doesNotMatch(r.stderr, /interrupted/, 'the rank that rank 0 aborted ends silently');
    }
  });
});

describe('faults (probe 2): generate stops everything its pw.x started', function () {
  this.timeout(120000);
  let t: { dir: string; cleanup: () => void };
  beforeEach(() => (t = tempDir()));
  afterEach(() => t.cleanup());

  it('SIGINT while a pw.x wrapper script runs: the wrapper\'s child is stopped too (it was left running with ppid 1)', async () => {
    const wrapper = path.join(t.dir, 'pw-wrapper.sh');
    const childPidFile = path.join(t.dir, 'child.pid');
    // as a site's pw.x wrapper (mpirun pw.x …): the work runs in a child of the script
    fs.writeFileSync(wrapper, `#!/bin/bash\nsleep 60 &\necho $! > ${childPidFile}\nwait\n`, { mode: 0o755 });
    const qe = path.join(repoRoot, 'fixtures', 'al-fcc-qe');
    const child = spawn(process.execPath, [cli, 'generate', '--qe-input', path.join(qe, 'Al.pw.scf.in'), '--energy-grid=-5,0.5,30', '--out', path.join(t.dir, 'out'), '--pw', wrapper, '--pseudo-dir', qe], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (b) => (stderr += b));
    const done = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const t0 = Date.now();
    while (!(fs.existsSync(childPidFile) && fs.readFileSync(childPidFile, 'utf8').trim() !== '')) {
      if (Date.now() - t0 > 60000) assert.fail('the wrapper did not start');
      await new Promise((r) => setTimeout(r, 100));
    }
    child.kill('SIGINT');
    assert.equal(await done, 130, stderr);
    const pid = Number(fs.readFileSync(childPidFile, 'utf8'));
    // gone, or a zombie waiting for init to reap it (on a busy machine that takes a moment)
    const gone = () => {
      try {
        process.kill(pid, 0);
      } catch {
        return true;
      }
      try {
        return /^\d+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
      } catch {
        return true;
      }
    };
    for (let i = 0; i < 50 && !gone(); i++) await new Promise((r) => setTimeout(r, 100));
    const alive = !gone();
    if (alive) process.kill(pid, 'SIGKILL');
    assert.equal(alive, false, 'the wrapper\'s child was stopped with it');
  });
});

describe('faults (probe 2): MALA_TS_BACKEND is read by the commands', function () {
  this.timeout(120000);
  let t: { dir: string; cleanup: () => void };
  beforeEach(() => (t = tempDir()));
  afterEach(() => t.cleanup());

  it('infer with MALA_TS_BACKEND=ts runs the TypeScript network; junk there is refused naming the variable (both were ignored: --backend defaulted to auto)', () => {
    const { model, descriptors } = smallInferInputs(t.dir);
    const out = path.join(t.dir, 'l.npy');
    const ts = mt(['infer', '--model', model, '--descriptors', descriptors, '--out', out], { env: { MALA_TS_BACKEND: 'ts' } });
    assert.equal(ts.status, 0, ts.stderr);
    assert.match(ts.stdout, /plain-TypeScript network/);
    assertCleanError(mt(['infer', '--model', model, '--descriptors', descriptors, '--out', out], { env: { MALA_TS_BACKEND: 'junk' } }), /unknown backend 'junk' \(MALA_TS_BACKEND\)/);
    const flag = mt(['infer', '--model', model, '--descriptors', descriptors, '--out', out, '--backend', 'ts'], { env: { MALA_TS_BACKEND: 'junk' } });
    assert.equal(flag.status, 0, `the option wins over the variable: ${flag.stderr}`);
  });
});

describe('faults (probe 2): two trainings on one --out', function () {
  this.timeout(120000);
  let t: { dir: string; cleanup: () => void };
  beforeEach(() => (t = tempDir()));
  afterEach(() => t.cleanup());

  it('a second train --out X (ensemble or not) while one runs is refused, naming the running pid (it shared member files silently)', async () => {
    const desc = path.join(t.dir, 'd.npy');
    const ldos = path.join(t.dir, 'l.npy');
    writeNpy(desc, new Float32Array(4 * 4 * 4 * 94).map((_, i) => ((i * 7919) % 101) / 101), [4, 4, 4, 94]);
    writeNpy(ldos, new Float32Array(4 * 4 * 4 * 11).map((_, i) => ((i * 104729) % 37) / 37), [4, 4, 4, 11]);
    const out = path.join(t.dir, 'm.zip');
    const args = (extra: string[]) => ['train', '--descriptors', desc, '--ldos', ldos, '--validation', `${desc}:${ldos}`, '--energy-grid=-5,1,11', '--layers', '4', '--out', out, ...extra];
    const first = spawn(process.execPath, [cli, ...args(['--epochs', '100000', '--ensemble', '2'])], { stdio: ['ignore', 'ignore', 'pipe'] });
    let firstErr = '';
    first.stderr!.on('data', (b) => (firstErr += b));
    const firstDone = new Promise((resolve) => first.on('exit', resolve));
    try {
      const t0 = Date.now();
      while (!/epoch 1:/.test(firstErr)) {
        if (Date.now() - t0 > 60000) assert.fail(`the first training did not start:\n${firstErr}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      for (const extra of [['--epochs', '1', '--ensemble', '2'], ['--epochs', '1']]) {
        assertCleanError(mt(args(extra)), new RegExp(`--out .*m\\.zip is in use by another mala-ts run \\(pid ${first.pid}`));
      }
    } finally {
      first.kill('SIGTERM');
      await firstDone;
    }
    assert.deepEqual(fs.readdirSync(t.dir).sort(), ['d.npy', 'l.npy'], 'nothing left: no model, no member, no lock');
  });
});

describe('faults (probe 2): a signal to an MPI job is reported once', function () {
  this.timeout(120000);
  let t: { dir: string; cleanup: () => void };
  beforeEach(() => (t = tempDir()));
  afterEach(() => t.cleanup());

  it('SIGTERM to pw --np 2 during md: exit 143, one "interrupted" line (each rank printed one), no rank left', async () => {
    const input = path.join(t.dir, 'md.in');
    const scf = fs.readFileSync(path.join(repoRoot, 'fixtures', 'al-forces', 'Al4_298K_6.pw.scf.in'), 'utf8');
    fs.writeFileSync(input, scf.replace("calculation = 'scf'", "calculation = 'md'\n  nstep = 50"));
    const model = path.join(repoRoot, 'models', 'al-fcc-298K', 'model.zip');
    const child = spawn(process.execPath, [cli, 'pw', '--np', '2', '--model', model, '-in', input], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (b) => (stderr += b));
    const done = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const t0 = Date.now();
    while (!/warning: forces/.test(stderr)) {
      if (Date.now() - t0 > 60000) assert.fail(`the ranks did not start:\n${stderr}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    child.kill('SIGTERM');
    assert.equal(await done, 143, stderr);
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(stderr.split('\n').filter((l) => /interrupted/.test(l)).length, 1, stderr);
  });
});

describe('faults (probe 2): an empty --out', function () {
  it('predict --out \'\' is refused at once (it silently wrote nothing)', () => {
    const r = mt(['predict', path.join(repoRoot, 'fixtures', 'al-forces', 'Al4_298K_6.pw.scf.in'), '--model', path.join(repoRoot, 'models', 'al-fcc-298K', 'model.zip'), '--out', '']);
    assertCleanError(r, /--out needs a folder name/);
  });
});

describe('faults (probe 2): i-PI server sends NaN', function () {
  it('a NaN position from the server is blamed on the server, and nothing is evaluated (it read "check the atomic positions")', async () => {
    const name = `mala-ts-probe2-${process.pid}`;
    const socketPath = `/tmp/ipi_${name}`;
    fs.rmSync(socketPath, { force: true });
    const server = net.createServer((c) => {
      const head = (m: string) => Buffer.from(m.padEnd(12));
      const cell = Buffer.alloc(148);
      for (const [i, v] of [[0, 8], [4, 8], [8, 8], [9, 0.125], [13, 0.125], [17, 0.125]]) cell.writeDoubleLE(v, 8 * i);
      cell.writeInt32LE(1, 144);
      const pos = Buffer.alloc(24);
      pos.writeDoubleLE(Number.NaN, 0);
      c.write(Buffer.concat([head('POSDATA'), cell, pos]));
      c.on('error', () => undefined);
    });
    await new Promise<void>((r) => server.listen(socketPath, r));
    let evaluated = false;
    try {
      await assert.rejects(
        runIpiClient(`${name}:UNIX`, async () => {
          evaluated = true;
          throw new Error('not reached');
        }),
        (e: unknown) => e instanceof MalaError && /the i-PI server sent a non-finite position for atom 1 \(NaN/.test(e.message),
      );
    } finally {
      server.close();
      fs.rmSync(socketPath, { force: true });
    }
    assert.equal(evaluated, false);
  });
});

describe('faults (probe 2): options that name nothing', function () {
  this.timeout(60000);
  it("test --snapshots ',,' is refused (it tested every snapshot, as if --snapshots were absent)", () => {
    const r = mt(['test', '--model', path.join(repoRoot, 'models', 'al-fcc-298K', 'model.zip'), '--data', be2, '--snapshots', ',,']);
    assertCleanError(r, /--snapshots ',,' names no snapshot/);
  });

  it('a MALA_TS_MODEL that names nothing is refused naming the variable, in predict, pw, watch and test', () => {
    const env = { MALA_TS_MODEL: '/nonexistent/model.zip' };
    const pw = path.join(repoRoot, 'fixtures', 'al-forces', 'Al4_298K_6.pw.scf.in');
    for (const args of [['predict', pw], ['pw', '-in', pw], ['watch', be2], ['test', '--data', be2]]) {
      assertCleanError(mt(args, { env }), /MALA_TS_MODEL names '\/nonexistent\/model\.zip', which does not exist/);
    }
  });
});

describe('faults (probe 2): an interrupt during model-domain', function () {
  this.timeout(120000);
  it('SIGTERM during the descriptor work: exit 143 and the model untouched (it was replaced, then "interrupted" was reported)', async () => {
    const t = tempDir();
    try {
      const model = path.join(t.dir, 'model.zip');
      fs.copyFileSync(path.join(repoRoot, 'models', 'al-fcc-298K', 'model.zip'), model);
      const before = fs.readFileSync(model);
      // 108 atoms on the model's 72³ grid: seconds of synchronous descriptor work on any machine
      const child = spawn(process.execPath, [cli, 'model-domain', '--model', model, '--structures', path.join(repoRoot, 'examples', 'al108-298K.pw.scf.in')], { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr!.on('data', (b) => (stderr += b));
      const done = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      await new Promise((r) => setTimeout(r, 2500));
      child.kill('SIGTERM');
      assert.equal(await done, 143, stderr);
      assert.ok(fs.readFileSync(model).equals(before), 'the model was replaced although the run was interrupted');
      assert.deepEqual(fs.readdirSync(t.dir), ['model.zip'], 'no staged file left');
    } finally {
      t.cleanup();
    }
  });
});
