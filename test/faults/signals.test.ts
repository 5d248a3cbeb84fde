/**
 * Fault suite, signals (issue 14): SIGINT/SIGTERM remove the temporary, spill and LAMMPS files;
 * the --np launcher forwards the signal to mpirun and waits for it; generate says it was
 * interrupted instead of blaming the input.
 */
import { strict as assert } from 'node:assert';
import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeSmallPredictModel } from '../network/synthetic';
import { repoRoot, tempDir } from '../helpers';
import { cli, leftovers } from './helpers';

interface Run {
  child: ChildProcess;
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string; stdout: string }>;
}

function start(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): Run {
  const child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (b) => (stdout += b));
  child.stderr!.on('data', (b) => (stderr += b));
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string; stdout: string }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal, stderr, stdout })));
  return { child, done };
}

/** Poll until `cond` holds (or fail after `ms`). */
async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const names = (dir: string) => (fs.existsSync(dir) ? fs.readdirSync(dir) : []);

describe('faults: signals leave nothing behind', function () {
  this.timeout(180000);
  let t: { dir: string; cleanup: () => void };
  beforeEach(() => {
    t = tempDir();
  });
  afterEach(() => t.cleanup());

  it('SIGINT during predict removes the LDOS spill, the .tmp file and the mala-ts-bispectrum-* folder; exit 130', async () => {
    const model = writeSmallPredictModel(t.dir);
    const out = path.join(t.dir, 'out');
    const qeOut = path.join(repoRoot, 'fixtures', 'al-fcc-qe', 'Al.pw.scf.out');
    // a tiny memory budget spills the LDOS to TMPDIR; small blocks give the signal a chance between them
    const run = start(process.execPath, [cli, 'predict', qeOut, '--model', model, '--grid', '24,24,24', '--temperature', '1000', '--electrons', '12', '--block-points', '576', '--memory', '0.05', '--out', out], { TMPDIR: t.dir, MALA_TS_DESCRIPTOR_ENGINE: 'lammps' }); // LAMMPS: the engine with a temporary folder
    await until(() => names(t.dir).some((f) => f.startsWith('mala-ts-bispectrum-')) && names(t.dir).some((f) => /mala-ts-ldos-.*\.tmp$/.test(f)), 90000, 'the spill and the LAMMPS folder');
    run.child.kill('SIGINT');
    const r = await run.done;
    assert.equal(r.code, 130, r.stderr);
    assert.match(r.stderr, /mala-ts: interrupted \(SIGINT\); removed \d+ temporary files?/);
    assert.doesNotMatch(r.stderr, /^\s+at /m);
    assert.deepEqual(leftovers(t.dir), []);
    assert.ok(!fs.existsSync(path.join(out, 'results.json')));
  });

  it('SIGTERM during descriptors removes the .tmp output and the LAMMPS folder; exit 143', async () => {
    const xyz = path.join(t.dir, 'S.xyz');
    fs.writeFileSync(xyz, '1\nLattice="4 0 0 0 4 0 0 0 4" Properties=species:S:1:pos:R:3 pbc="T T T"\nAl 0 0 0\n');
    const out = path.join(t.dir, 'o', 'd.npy');
    // a run of ≈ 2 s on an idle machine (24³ with twojmax 4 took 0.4 s, too short for the 100 ms poll to see the folder and the .tmp at once)
    const run = start(process.execPath, [cli, 'descriptors', xyz, '--grid', '48,48,48', '--twojmax', '6', '-o', out], { TMPDIR: t.dir, MALA_TS_DESCRIPTOR_ENGINE: 'lammps' });
    await until(() => names(t.dir).some((f) => f.startsWith('mala-ts-bispectrum-')) && names(path.dirname(out)).some((f) => f.endsWith('.tmp')), 90000, 'the output .tmp and the LAMMPS folder');
    run.child.kill('SIGTERM');
    const r = await run.done;
    assert.equal(r.code, 143, r.stderr);
    assert.match(r.stderr, /interrupted \(SIGTERM\)/);
    assert.deepEqual(leftovers(t.dir), []);
    assert.ok(!fs.existsSync(out));
  });

  it('generate on SIGINT says it was interrupted (not "pw.x exited with status undefined … fix the input") and stops pw.x', async () => {
    const fakePw = path.join(t.dir, 'fakepw.sh');
    const pidFile = path.join(t.dir, 'pw.pid');
    fs.writeFileSync(fakePw, `#!/bin/bash\necho $$ > ${pidFile}\necho "fake pw.x started"\nwhile true; do sleep 0.1; done\n`, { mode: 0o755 });
    const qe = path.join(repoRoot, 'fixtures', 'al-fcc-qe');
    const run = start(process.execPath, [cli, 'generate', '--qe-input', path.join(qe, 'Al.pw.scf.in'), '--energy-grid=-5,0.5,30', '--out', path.join(t.dir, 'out'), '--pw', fakePw, '--pseudo-dir', qe]);
    await until(() => fs.existsSync(pidFile) && fs.readFileSync(pidFile, 'utf8').trim() !== '', 60000, 'pw.x to start');
    run.child.kill('SIGINT');
    const r = await run.done;
    assert.equal(r.code, 130, r.stderr);
    assert.match(r.stderr, /mala-ts: interrupted \(SIGINT\) while .*fakepw\.sh was running/);
    assert.match(r.stderr, /fix: run the same command again: generate resumes/);
    assert.doesNotMatch(r.stderr, /status undefined|fix the input/);
    const pid = Number(fs.readFileSync(pidFile, 'utf8'));
    assert.throws(() => process.kill(pid, 0), /ESRCH/, 'pw.x was stopped');
  });

  it('the --np launcher forwards SIGTERM to mpirun and exits only after mpirun has (no orphaned ranks)', async () => {
    const fakeMpirun = path.join(t.dir, 'fake-mpirun.sh');
    const marker = path.join(t.dir, 'marker');
    // stands in for mpirun: on SIGTERM it takes a moment to stop its ranks, then exits
    fs.writeFileSync(fakeMpirun, `#!/bin/bash\necho $$ > ${marker}.pid\ntrap 'echo "got TERM" >> ${marker}; sleep 0.5; echo "ranks stopped" >> ${marker}; exit 0' TERM\necho ready\nwhile true; do sleep 0.1; done\n`, { mode: 0o755 });
    const script = [
      `const c = require(${JSON.stringify(path.join(repoRoot, 'src/util/cleanup.ts'))});`,
      `const l = require(${JSON.stringify(path.join(repoRoot, 'src/parallel/launch.ts'))});`,
      'c.installSignalCleanup();',
      `l.relaunchUnderMpi(2, [], { program: ${JSON.stringify(fakeMpirun)}, flags: [] }).then((code) => { require('node:fs').appendFileSync(${JSON.stringify(marker)}, 'launcher exits ' + code + '\\n'); process.exitCode = code; });`,
    ].join('\n');
    const run = start(process.execPath, ['--require', 'tsx/cjs', '-e', script]);
    await until(() => run.child.stdout !== null && fs.existsSync(`${marker}.pid`), 30000, 'mpirun to start');
    await new Promise((r) => setTimeout(r, 300)); // (its trap is set once it has written the pid)
    run.child.kill('SIGTERM');
    const r = await run.done;
    assert.equal(r.code, 143, r.stderr);
    assert.deepEqual(fs.readFileSync(marker, 'utf8').trim().split('\n'), ['got TERM', 'ranks stopped', 'launcher exits 143']);
    const pid = Number(fs.readFileSync(`${marker}.pid`, 'utf8'));
    assert.throws(() => process.kill(pid, 0), /ESRCH/, 'mpirun is gone');
  });
});
