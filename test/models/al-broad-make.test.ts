/**
 * The broad Al make targets' parallel steps (mk/al-broad.mk), run with a stand-in for mala-ts (a
 * shell script) on a cache in a temporary folder: no QE, no training.
 * - The data targets' two makes at once (AL_BROAD_JOBS=2): both go down one frame list as a queue,
 *   each frame claimed with flock(1) before anything is made for it. The stand-in writes a frame's
 *   inputs and info.json, logs each generate, and fails the frames named *fail*.
 * - al-broad-finetune's members at once (AL_BROAD_FT_JOBS=2): each member's runs in order, each
 *   from the one before, and the ensemble of every member's last run, in the members' order.
 */
import { strict as assert } from 'node:assert';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { repoRoot } from '../helpers';

const STUB = `#!/bin/sh
cmd=$1; shift
case $cmd in
sample) while [ $# -gt 0 ]; do case $1 in --out) out=$2;; --prefix) p=$2;; esac; shift; done
  mkdir -p "$out"; echo x > "$out/\${p}_0.pw.scf.in" ;;
finetune) while [ $# -gt 0 ]; do case $1 in --out) out=$2;; --model) in=$2;; --checkpoint) ck=$2;; --data) data=$2;; --snapshots) names=$2;; esac; shift; done
  echo "finetune $(basename $in) $(basename $out) $(basename $ck) $(date +%s.%N) $PPID $(basename \${data:-none}) \${names:-all}" >> "$STUB_LOG"; sleep 0.5
  case $in in *bad*) echo "stub: $in is bad" >&2; exit 1;; esac
  echo "from $(basename $in)" > "$out" ;;
train) while [ $# -gt 0 ]; do case $1 in --out) out=$2;; --seed) seed=$2;; --checkpoint) ck=$2;; --ensemble) ens=$2;; esac; shift; done
  echo "train seed=$seed $(basename $ck) $(basename $out) \${ens:-single} $(date +%s.%N) blas=\${OPENBLAS_NUM_THREADS:-unset}" >> "$STUB_LOG"; sleep 0.5
  case $seed in 2) [ -z "$STUB_FAIL_SEED2" ] || { echo "stub: seed 2 fails" >&2; exit 1; };; esac
  echo "seed $seed" > "$out" ;;
test) while [ $# -gt 0 ]; do case $1 in --out) out=$2;; --model) in=$2;; --data) data=$2;; --snapshots) names=$2;; esac; shift; done
  echo "test $(basename $in) $(basename $data) $names $(basename $out)" >> "$STUB_LOG"; echo '{}' > "$out" ;;
variants) echo "variants $*" >> "$STUB_LOG" ;;
ensemble) shift; out=$1; shift; echo "ensemble $(basename $out)$(for m; do printf ' %s' $(basename $m); done)" >> "$STUB_LOG"; echo ensemble > "$out" ;;
generate) while [ $# -gt 0 ]; do case $1 in --out) out=$2;; --name) n=$2;; esac; shift; done
  echo "$n $PPID $(date +%s.%N)" >> "$STUB_LOG"; case $n in *slow*) sleep 3;; *) sleep 0.3;; esac
  case $n in *fail*) echo "stub: $n fails" >&2; exit 1;; esac
  echo '{}' > "$out/$n.info.json" ;;
*) echo "stub: $cmd is not stubbed" >&2; exit 2 ;;
esac
`;

/** A temporary folder with the stand-in (stub.sh) and the path of the log it writes. */
function stubFolder(prefix: string): { dir: string; log: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  fs.writeFileSync(path.join(dir, 'stub.sh'), STUB, { mode: 0o755 });
  return { dir, log: path.join(dir, 'stub.log') };
}

const spec = (name: string, seed: number) => `${name}:2x1x1:300:4.05:300:${seed}`;
const FRAMES = ['q1_8at', 'q2_8at', 'q3_8at_fail', 'q4_8at', 'q5_8at', 'q6_8at'];

describe('mk/al-broad.mk: AL_BROAD_JOBS=2 makes frames as a queue', function () {
  this.timeout(60_000);
  let dir: string;
  let log: string;
  beforeEach(() => {
    ({ dir, log } = stubFolder('al-broad-queue-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  // al-broad-data with only the 8-atom training stage given: the stage function and the claims
  const makeData = (frames: string[]) =>
    spawnSync('make', ['--no-print-directory', 'al-broad-data', 'AL_BROAD_JOBS=2', `AL_BROAD_CACHE=${dir}/cache`, `AL_BROAD_RUN=${dir}/stub.sh`,
      'AL_BROAD_VALID=', 'AL_BROAD_TRAIN=', `AL_BROAD_TRAIN8=${frames.map((f, i) => spec(f, i + 1)).join(' ')}`],
      { cwd: repoRoot, encoding: 'utf8', env: { ...process.env, STUB_LOG: log } });
  const generated = () => (fs.existsSync(log) ? fs.readFileSync(log, 'utf8').trim().split('\n').map((l) => l.split(' ')) : []);

  it('each frame is made once, by either make; a failed frame fails the run and the rest are made; a rerun makes only what is missing', () => {
    const first = makeData(FRAMES);
    assert.notEqual(first.status, 0, 'a failed frame must fail the run');
    assert.match(first.stdout, /al-broad: FAILED training\/q3_8at_fail/);
    const calls = generated();
    const names = calls.map(([n]) => n).sort();
    assert.deepEqual(names, [...FRAMES].sort(), `each frame generated exactly once: ${names.join(' ')}`);
    // both makes took frames (a generate's parent is the recipe shell of the make that ran it)
    assert.equal(new Set(calls.map(([, ppid]) => ppid)).size, 2, 'two makes shared the frames');
    for (const f of FRAMES.filter((n) => !n.includes('fail'))) assert.ok(fs.existsSync(path.join(dir, 'cache', 'training', `${f}.info.json`)), f);

    fs.rmSync(log);
    const again = makeData(FRAMES);
    assert.notEqual(again.status, 0);
    assert.deepEqual(generated().map(([n]) => n), ['q3_8at_fail'], 'the rerun retries only the failed frame');
    // only the first make says which frames it has
    assert.equal((again.stdout.match(/al-broad: have training\/q1_8at/g) ?? []).length, 1);
  });

  // both goals of a lane (validation, then training) given: the 8-atom stage of al-broad-data
  const makeBoth = (jobs: number, valid: string[], train: string[]) =>
    spawnSync('make', ['--no-print-directory', 'al-broad-data', `AL_BROAD_JOBS=${jobs}`, `AL_BROAD_CACHE=${dir}/cache`, `AL_BROAD_RUN=${dir}/stub.sh`,
      `AL_BROAD_VALID=${valid.map((f, i) => spec(f, i + 1)).join(' ')}`, 'AL_BROAD_TRAIN=', `AL_BROAD_TRAIN8=${train.map((f, i) => spec(f, i + 11)).join(' ')}`],
      { cwd: repoRoot, encoding: 'utf8', env: { ...process.env, STUB_LOG: log } });

  it('a make with no validation frame left goes on to the training frames while the other makes the last validation frame', () => {
    const run = makeBoth(2, ['v1_slow_8at'], ['q1_8at', 'q2_8at', 'q3_8at']);
    assert.equal(run.status, 0, run.stderr);
    const calls = generated();
    const slow = calls.find(([n]) => n === 'v1_slow_8at');
    assert.ok(slow, 'the validation frame was made');
    const training = calls.filter(([n]) => n.startsWith('q'));
    assert.equal(training.length, 3);
    // the slow frame takes 3 s; the three training frames (0.3 s each) all start within it, on the other make
    for (const [n, ppid, t] of training) {
      assert.ok(Number(t) < Number(slow[2]) + 2.5, `${n} started ${(Number(t) - Number(slow[2])).toFixed(2)} s after the slow validation frame did`);
      assert.notEqual(ppid, slow[1], `${n} was made by the make that made the slow frame`);
    }
  });

  it('a failed validation frame does not stop a make from its training frames', () => {
    const run = makeBoth(1, ['v1_fail_8at'], ['q1_8at', 'q2_8at']);
    assert.notEqual(run.status, 0, 'a failed frame must fail the run');
    // (al-broad-data's later stage, every validation frame, tries the failed one again)
    assert.deepEqual(generated().map(([n]) => n).slice(0, 3), ['v1_fail_8at', 'q1_8at', 'q2_8at']);
  });

  it('al-broad-next-data leaves the validation frames the repository holds as QE references (AL_BROAD_QE_REFS) to the end, with the rest of al-broad-data', () => {
    const refs = path.join(dir, 'refs');
    fs.mkdirSync(refs);
    fs.writeFileSync(path.join(refs, 'v1_8at.pw.scf.out'), 'JOB DONE\n');
    const empty = ['AL_BROAD_TRAIN16=', 'AL_BROAD_CONT8E=', 'AL_BROAD_HOT8=', 'AL_BROAD_HOT8B=', 'AL_BROAD_CLOSE8=', 'AL_BROAD_TRAIN8=', 'AL_BROAD_TRAIN32='];
    const run = spawnSync('make', ['--no-print-directory', 'al-broad-next-data', 'AL_BROAD_JOBS=1', `AL_BROAD_CACHE=${dir}/cache`, `AL_BROAD_RUN=${dir}/stub.sh`, `AL_BROAD_QE_REFS=${refs}`,
      `AL_BROAD_VALID=${spec('v1_8at', 1)} ${spec('v2_8at', 2)}`, `AL_BROAD_CONT8=${spec('q1_8at', 11)}`, ...empty],
      { cwd: repoRoot, encoding: 'utf8', env: { ...process.env, STUB_LOG: log } });
    assert.equal(run.status, 0, run.stderr);
    assert.deepEqual(generated().map(([n]) => n), ['v2_8at', 'q1_8at', 'v1_8at']);
  });

  it('al-broad-ref-data: the validation frames not held as references, then the hot and c8 frames interleaved, then the rest, each frame the repository holds as a training reference left out', () => {
    const refs = path.join(dir, 'refs');
    const trainRefs = path.join(dir, 'train-refs');
    fs.mkdirSync(refs);
    fs.mkdirSync(trainRefs);
    fs.writeFileSync(path.join(refs, 'v1_8at.pw.scf.out'), 'JOB DONE\n');
    fs.writeFileSync(path.join(trainRefs, 'c2_8at.pw.scf.out'), 'JOB DONE\n');
    const run = spawnSync('make', ['--no-print-directory', 'al-broad-ref-data', 'AL_BROAD_JOBS=1', `AL_BROAD_CACHE=${dir}/cache`, `AL_BROAD_RUN=${dir}/stub.sh`,
      `AL_BROAD_QE_REFS=${refs}`, `AL_BROAD_TRAIN_QE_REFS=${trainRefs}`, `AL_BROAD_VALID=${spec('v1_8at', 1)} ${spec('v2_8at', 2)}`,
      `AL_BROAD_HOT8=${spec('h1_8at', 11)} ${spec('h2_8at', 12)}`, `AL_BROAD_CLOSE8=${spec('p1_8at', 13)}`, 'AL_BROAD_HOT8B=',
      `AL_BROAD_CONT8=${spec('c1_8at', 21)} ${spec('c2_8at', 22)} ${spec('c3_8at', 23)}`, `AL_BROAD_CONT8E=${spec('c4_8at', 24)}`,
      `AL_BROAD_TRAIN16=${spec('t1_16at', 31)}`, 'AL_BROAD_TRAIN32=', `AL_BROAD_TRAIN8=${spec('g1_8at', 41)}`],
      { cwd: repoRoot, encoding: 'utf8', env: { ...process.env, STUB_LOG: log } });
    assert.equal(run.status, 0, run.stderr);
    assert.deepEqual(generated().map(([n]) => n), ['v2_8at', 'h1_8at', 'c1_8at', 'h2_8at', 'p1_8at', 'c3_8at', 'c4_8at', 't1_16at', 'g1_8at']);
  });

  it('a frame another process holds (its claim locked) is skipped, not made twice, and made by a later run', async () => {
    const claimDir = path.join(dir, 'cache', 'training', '.work');
    fs.mkdirSync(claimDir, { recursive: true });
    // one process holds the claim (sleep exec'ed in the shell that took it), so killing it frees the claim
    const holder = spawn('sh', ['-c', `exec 9> '${path.join(claimDir, 'q2_8at.claim')}'; flock 9; exec sleep 30`], { stdio: 'ignore' });
    try {
      // wait until the holder has the lock
      for (let i = 0; i < 50 && spawnSync('flock', ['-n', path.join(claimDir, 'q2_8at.claim'), 'true']).status === 0; i++) await new Promise((r) => setTimeout(r, 100));
      const run = makeData(['q1_8at', 'q2_8at', 'q4_8at']);
      assert.equal(run.status, 0, run.stderr);
      assert.match(run.stdout, /al-broad: training\/q2_8at is being made by another run; on to the next/);
      assert.deepEqual(generated().map(([n]) => n).sort(), ['q1_8at', 'q4_8at']);
      const status = spawnSync('make', ['--no-print-directory', 'al-broad-status', `AL_BROAD_CACHE=${dir}/cache`, `AL_BROAD_TRAIN=${spec('q2_8at', 2)}`,
        'AL_BROAD_VALID=', 'AL_BROAD_CONT8=', 'AL_BROAD_CONT8E=', 'AL_BROAD_HOT8=', 'AL_BROAD_HOT8B=', 'AL_BROAD_CLOSE8='], { cwd: repoRoot, encoding: 'utf8' });
      assert.match(status.stdout, /every training frame: 0 of 1 made; missing 1: q2_8at; being made now: q2_8at/);
    } finally {
      holder.kill();
    }
    await new Promise((r) => holder.once('exit', r));
    fs.rmSync(log);
    assert.equal(makeData(['q1_8at', 'q2_8at', 'q4_8at']).status, 0);
    assert.deepEqual(generated().map(([n]) => n), ['q2_8at']);
  });
});

describe('mk/al-broad.mk: al-broad-finetune tunes AL_BROAD_FT_JOBS members at once', function () {
  this.timeout(60_000);
  let dir: string;
  let log: string;
  beforeEach(() => {
    ({ dir, log } = stubFolder('al-broad-ft-'));
    fs.mkdirSync(path.join(dir, 'work'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const finetune = (members: string[]) => {
    for (const m of members) fs.writeFileSync(path.join(dir, 'work', `ensemble.${m}.zip`), m);
    return spawnSync('make', ['--no-print-directory', 'al-broad-finetune', 'AL_BROAD_FT_JOBS=2', 'AL_BROAD_FT_RUNS=1 2', `AL_BROAD_WORK=${dir}/work`,
      `AL_BROAD_FT_OUT=${dir}/model.zip`, `MALA_TS=${dir}/stub.sh`, `AL_BROAD_CACHE=${dir}/cache`, `AL_BROAD_FT_FRAMES=${spec('q1_8at', 1)}`],
      { cwd: repoRoot, encoding: 'utf8', env: { ...process.env, STUB_LOG: log } });
  };
  const lines = () => fs.readFileSync(log, 'utf8').trim().split('\n').map((l) => l.split(' '));

  it('each member\'s runs in order, two members at once, each run with its own checkpoint; the ensemble of the last runs in member order', () => {
    const r = finetune(['member-1', 'member-2', 'member-3']);
    assert.equal(r.status, 0, r.stdout + r.stderr);
    const runs = lines().filter(([k]) => k === 'finetune');
    assert.equal(runs.length, 6);
    for (const k of [1, 2, 3]) {
      const own = runs.filter(([, , out]) => out.startsWith(`ensemble.member-${k}.`));
      assert.deepEqual(own.map(([, input, out, ck]) => [input, out, ck]), [
        [`ensemble.member-${k}.zip`, `ensemble.member-${k}.ft1.zip`, `.checkpoint-ensemble.member-${k}.ft1.zip`],
        [`ensemble.member-${k}.ft1.zip`, `ensemble.member-${k}.ft2.zip`, `.checkpoint-ensemble.member-${k}.ft2.zip`],
      ]);
    }
    // members 1 and 2 started together (one group each); member 3 after member 1, in member 1's group
    const start = (k: number, run: number) => Number(runs.find(([, , out]) => out === `ensemble.member-${k}.ft${run}.zip`)![4]);
    assert.ok(Math.abs(start(1, 1) - start(2, 1)) < 0.4, `members 1 and 2 at once: ${start(1, 1)} ${start(2, 1)}`);
    assert.ok(start(3, 1) > start(1, 2), 'member 3 after member 1');
    assert.deepEqual(lines().filter(([k]) => k === 'ensemble'), [['ensemble', 'model.zip', 'ensemble.member-1.ft2.zip', 'ensemble.member-2.ft2.zip', 'ensemble.member-3.ft2.zip']]);
    assert.match(r.stdout, /ensemble\.member-1\.zip → .*ensemble\.member-1\.finetune\.log/);

    // a second run redoes nothing but the ensemble
    fs.rmSync(log);
    assert.equal(finetune(['member-1', 'member-2', 'member-3']).status, 0);
    assert.deepEqual(lines().map(([k]) => k), ['ensemble']);
  });

  it('a member that fails fails the target, shows the end of its log, and no ensemble is written', () => {
    const r = finetune(['member-1', 'member-2-bad', 'member-3']);
    assert.notEqual(r.status, 0);
    assert.match(r.stdout, /al-broad-finetune: ensemble\.member-2-bad\.zip failed; the end of .*member-2-bad\.finetune\.log:\nstub: .*member-2-bad\.zip is bad/);
    assert.equal(lines().filter(([k]) => k === 'ensemble').length, 0);
    assert.ok(!fs.existsSync(path.join(dir, 'model.zip')));
  });
});

describe('mk/al-broad.mk: al-broad-ref-finetune fine-tunes on the training references and tests both models on the validation ones', function () {
  this.timeout(60_000);
  let dir: string;
  let log: string;
  beforeEach(() => {
    ({ dir, log } = stubFolder('al-broad-ref-ft-'));
    for (const d of ['train', 'valid']) fs.mkdirSync(path.join(dir, d));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const refFinetune = () =>
    spawnSync('make', ['--no-print-directory', 'al-broad-ref-finetune', `MALA_TS=${dir}/stub.sh`, `AL_BROAD_VARIANTS=${dir}/stub.sh variants`, `AL_BROAD_CACHE=${dir}/cache`,
      `AL_BROAD_TRAIN_QE_REFS=${dir}/train`, `AL_BROAD_QE_REFS=${dir}/valid`, `AL_BROAD_MODEL=${dir}/shipped.zip`, `AL_BROAD_REF_WORK=${dir}/work`,
      `AL_BROAD_REF_FRAMES=${['h1_8at', 'c1_8at', 'h2_8at'].map((n, i) => spec(n, i + 1)).join(' ')}`,
      `AL_BROAD_VALID=${['v1_8at', 'v2_8at'].map((n, i) => spec(n, i + 11)).join(' ')}`, 'AL_BROAD_LARGE='],
      { cwd: repoRoot, encoding: 'utf8', env: { ...process.env, STUB_LOG: log } });
  const lines = () => (fs.existsSync(log) ? fs.readFileSync(log, 'utf8').trim().split('\n').map((l) => l.split(' ')) : []);

  it('no training reference: one clear error and nothing run; else the frames held, in AL_BROAD_REF_FRAMES order, then each model on the validation references, then the table; a rerun only tests', () => {
    const none = refFinetune();
    assert.notEqual(none.status, 0);
    assert.match(none.stdout + none.stderr, /al-broad-ref-finetune: no training frame in .*train \(make al-broad-ref-data, then al-broad-train-qe-refs\)/);
    assert.deepEqual(lines(), []);
    for (const n of ['h2_8at', 'h1_8at', 'x_8at']) fs.writeFileSync(path.join(dir, 'train', `${n}.pw.scf.out`), 'JOB DONE\n');
    fs.writeFileSync(path.join(dir, 'valid', 'v2_8at.pw.scf.out'), 'JOB DONE\n');
    const r = refFinetune();
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.deepEqual(lines().map((l) => (l[0] === 'finetune' ? [l[0], l[1], l[2], l[6], l[7]] : l[0] === 'variants' ? l.slice(0, 3) : l)), [
      ['finetune', 'shipped.zip', 'model.zip.tmp', 'train', 'h1_8at,h2_8at'],
      ['test', 'shipped.zip', 'valid', 'v2_8at', 'shipped-validation.json'],
      ['test', 'model.zip', 'valid', 'v2_8at', 'ref-ft-validation.json'],
      ['variants', '--variants', `shipped=${dir}/work/shipped-validation.json,ref-ft=${dir}/work/ref-ft-validation.json`],
    ]);
    fs.rmSync(log);
    assert.equal(refFinetune().status, 0);
    assert.deepEqual(lines().map(([k]) => k), ['test', 'test', 'variants']);
  });
});

describe('mk/al-broad.mk: al-broad-status estimates the CPU time the missing frames need', () => {
  it('each missing frame at the mean of the logged frames of its atom count and folder; sizes never done are named, not counted', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'al-broad-eta-'));
    try {
      fs.mkdirSync(path.join(dir, 'training'));
      for (const n of ['q1_8at', 'q3_8at']) fs.writeFileSync(path.join(dir, 'training', `${n}.info.json`), '{}');
      const log = path.join(dir, 'generate.log');
      // two 8-atom training frames (mean 600 s); a validation frame of 8 atoms, another folder, must not count
      fs.writeFileSync(log, [
        'al-broad: start training/q1_8at (2x1x1 cells) 2026-12-07T10:00:00Z',
        'al-broad: done training/q1_8at wall 900 s, CPU 500 s 2026-12-07T10:15:00Z',
        'al-broad: done validation/v1_8at wall 9100 s, CPU 9000 s 2026-12-07T12:00:00Z',
        'al-broad: done training/q3_8at wall 950 s, CPU 700 s 2026-12-07T10:31:00Z',
      ].join('\n'));
      const status = (logFile: string, names = '8') => spawnSync('make', ['--no-print-directory', 'al-broad-status', `AL_BROAD_CACHE=${dir}`, `AL_BROAD_LOG=${logFile}`, `AL_BROAD_STATUS_NAMES=${names}`,
        `AL_BROAD_TRAIN=${['q1_8at', 'q2_8at', 'q3_8at', 'q4_8at', 'q5_16at'].map((n, i) => spec(n, i + 1)).join(' ')}`,
        'AL_BROAD_VALID=', 'AL_BROAD_CONT8=', 'AL_BROAD_CONT8E=', 'AL_BROAD_HOT8=', 'AL_BROAD_HOT8B=', 'AL_BROAD_CLOSE8='], { cwd: repoRoot, encoding: 'utf8' }).stdout;
      // q2 and q4: 2 × 600 s = 0.33 h; q5_16at: no 16-atom frame done
      assert.match(status(log), /every training frame: 2 of 5 made; missing 3: q2_8at q4_8at q5_16at; CPU time left ≈ 0\.3 h \(each frame at the mean of its size and folder in generate\.log\); not counted, none of their size done yet: 1 of 16 atoms/);
      assert.match(status(path.join(dir, 'none.log')), /missing 3: q2_8at q4_8at q5_16at; CPU time left: no log .*none\.log to estimate it from/);
      // a long list: the first names, the rest counted (the estimate still counts every frame)
      assert.match(status(log, '2'), /every training frame: 2 of 5 made; missing 3: q2_8at q4_8at and 1 more \(AL_BROAD_STATUS_NAMES=0 names all\); CPU time left ≈ 0\.3 h .*1 of 16 atoms/);
      assert.match(status(log, '0'), /missing 3: q2_8at q4_8at q5_16at; CPU/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('mk/al-broad.mk: al-broad-status counts the validation frames the repository holds as QE references', () => {
  it('those with a pw.x output in AL_BROAD_QE_REFS, by name', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'al-broad-refs-'));
    try {
      fs.writeFileSync(path.join(dir, 'v2_8at.pw.scf.out'), 'JOB DONE\n');
      fs.writeFileSync(path.join(dir, 'v3_8at.info.json'), '{}');
      // the optional large frame is named but not counted among the validation set's
      fs.writeFileSync(path.join(dir, 'v9_64at.pw.scf.out'), 'JOB DONE\n');
      const train = path.join(dir, 'train');
      fs.mkdirSync(train);
      for (const n of ['h1_8at', 'c1_8at', 'x_8at']) fs.writeFileSync(path.join(train, `${n}.pw.scf.out`), 'JOB DONE\n');
      const out = spawnSync('make', ['--no-print-directory', 'al-broad-status', `AL_BROAD_CACHE=${dir}/cache`, `AL_BROAD_QE_REFS=${dir}`, `AL_BROAD_TRAIN_QE_REFS=${train}`,
        `AL_BROAD_VALID=${['v1_8at', 'v2_8at', 'v3_8at'].map((n, i) => spec(n, i + 1)).join(' ')}`, `AL_BROAD_LARGE=${spec('v9_64at', 9)}`,
        `AL_BROAD_REF_FRAMES=${['h1_8at', 'c1_8at', 'h2_8at', 'c2_8at'].map((n, i) => spec(n, i + 11)).join(' ')}`], { cwd: repoRoot, encoding: 'utf8' }).stdout;
      assert.match(out, new RegExp(`validation frames held as QE references in ${dir}: 1 of 3: v2_8at v9_64at \\(al-broad-next makes only the others`));
      assert.match(out, new RegExp(`training frames held as QE references in ${train}: 2 of 4 of AL_BROAD_REF_FRAMES \\(`));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('mk/al-broad.mk: al-broad-status says how far the candidate is', () => {
  it('networks trained, a training checkpoint and its last epoch, fine-tuning runs done and part-way, the model and the tests', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'al-broad-status-'));
    try {
      const status = () => spawnSync('make', ['--no-print-directory', 'al-broad-status', `AL_BROAD_CACHE=${dir}`, 'AL_BROAD_ENSEMBLE=3', 'AL_BROAD_FT_RUNS=2 3 1 1'], { cwd: repoRoot, encoding: 'utf8' }).stdout.trim().split('\n').pop()!;
      assert.match(status(), /candidate next \(.*\): not started/);
      const w = path.join(dir, 'candidates', 'next', 'work');
      fs.mkdirSync(w, { recursive: true });
      for (const f of ['ensemble.member-1.zip', 'ensemble.member-1.ft1.zip', 'ensemble.member-1.ft2.zip', '.checkpoint-ensemble.member-1.ft3.zip', 'ensemble.member-2.zip', 'checkpoint.member-3.zip', '../validation.json']) {
        fs.writeFileSync(path.join(w, f), '');
      }
      assert.match(status(), /LDOS training 2 of 3 network\(s\) done \(checkpoint of ensemble\.member-3\); fine-tuning runs \(2 3 1 1\): ensemble\.member-1 2 of 4, run 3 part-way; ensemble\.member-2 0 of 4; ensemble\.member-3 0 of 4; model\.zip not yet; tests: validation\.json$/);
      // the member's log (appended over resumes) says how far its training is
      fs.writeFileSync(path.join(w, 'ensemble.member-3.train.log'), 'epoch 4: train loss 4.1e-4, validation loss 8.5e-4, lr 1.00e-3, 360.2 s\nresuming\nepoch 5: train loss 4.0e-4, validation loss 8.4e-4, lr 1.00e-3, 361.0 s\n');
      assert.match(status(), /LDOS training 2 of 3 network\(s\) done \(checkpoint of ensemble\.member-3 \(epoch 5 done\)\); fine-tuning/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('mk/al-broad.mk: al-broad-model trains AL_BROAD_MODEL_JOBS members at once', function () {
  this.timeout(60_000);
  let dir: string;
  let log: string;
  beforeEach(() => {
    ({ dir, log } = stubFolder('al-broad-model-'));
    fs.mkdirSync(path.join(dir, 'cache', 'training'), { recursive: true });
    for (const n of ['q1_8at', 'q2_8at', 'q3_8at']) fs.writeFileSync(path.join(dir, 'cache', 'training', `${n}.info.json`), '{}');
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const model = (env: Record<string, string> = {}, jobs = 3) =>
    spawnSync('make', ['--no-print-directory', 'al-broad-model', `AL_BROAD_MODEL_JOBS=${jobs}`, 'AL_BROAD_ENSEMBLE=3', 'AL_BROAD_STAGE=t',
      `AL_BROAD_STAGE_t=${['q1_8at', 'q2_8at', 'q3_8at'].map((n, i) => spec(n, i + 1)).join(' ')}`, 'AL_BROAD_LRVAL=q1_8at',
      `AL_BROAD_WORK=${dir}/work`, `AL_BROAD_MODEL=${dir}/model.zip`, `MALA_TS=${dir}/stub.sh`, `AL_BROAD_CACHE=${dir}/cache`],
      { cwd: repoRoot, encoding: 'utf8', env: { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'OPENBLAS_NUM_THREADS')), STUB_LOG: log, ...env } });
  const lines = () => fs.readFileSync(log, 'utf8').trim().split('\n').map((l) => l.split(' '));

  it('member K as train --ensemble makes it (seed K, checkpoint.member-K.zip, ensemble.member-K.zip), all at once, then one ensemble in member order', () => {
    const r = model();
    assert.equal(r.status, 0, r.stdout + r.stderr);
    const trains = lines().filter(([k]) => k === 'train');
    assert.deepEqual(trains.map(([, seed, ck, out, ens]) => [seed, ck, out, ens]).sort(), [1, 2, 3].map((k) => [`seed=${k}`, `checkpoint.member-${k}.zip`, `ensemble.member-${k}.zip`, 'single']));
    const starts = trains.map((t) => Number(t[5]));
    assert.ok(Math.max(...starts) - Math.min(...starts) < 0.4, `three at once: ${starts.join(' ')}`);
    // the cores shared out: nproc / 3 BLAS threads each, at least one
    const cores = Number(spawnSync('nproc', { encoding: 'utf8' }).stdout.trim());
    assert.deepEqual(trains.map((t) => t[6]), Array(3).fill(`blas=${Math.max(1, Math.floor(cores / 3))}`));
    assert.deepEqual(lines().filter(([k]) => k === 'ensemble'), [['ensemble', 'ensemble.zip', 'ensemble.member-1.zip', 'ensemble.member-2.zip', 'ensemble.member-3.zip']]);
    assert.ok(fs.existsSync(path.join(dir, 'model.zip')));
    // a rerun trains nothing again
    fs.rmSync(log);
    assert.equal(model().status, 0);
    assert.deepEqual(lines().map(([k]) => k), ['ensemble']);
    // an OPENBLAS_NUM_THREADS given is kept
    fs.rmSync(path.join(dir, 'work'), { recursive: true });
    fs.rmSync(log);
    assert.equal(model({ OPENBLAS_NUM_THREADS: '5' }).status, 0);
    assert.deepEqual(lines().filter(([k]) => k === 'train').map((t) => t[6]), Array(3).fill('blas=5'));
  });

  it('a member that fails fails the target with its log\'s end, and no model is written; with one job it is train --ensemble as before', () => {
    const r = model({ STUB_FAIL_SEED2: '1' });
    assert.notEqual(r.status, 0);
    assert.match(r.stdout, /al-broad-model: member 2 failed; the end of .*ensemble\.member-2\.train\.log:\nstub: seed 2 fails/);
    assert.ok(!fs.existsSync(path.join(dir, 'model.zip')));
    fs.rmSync(log);
    fs.rmSync(path.join(dir, 'work'), { recursive: true });
    assert.equal(model({}, 1).status, 0);
    assert.deepEqual(lines().map(([k, seed, ck, out, ens]) => [k, seed, ck, out, ens]), [['train', 'seed=1', 'checkpoint.zip', 'ensemble.zip', '3']]);
  });
});
