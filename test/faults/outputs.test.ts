/**
 * Fault suite, outputs (issue 14): every output path is checked before any computation, and a
 * failed write is one message, exit 1, no stack trace, no partial or temporary file.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MalaError } from '../../src/errors';
import { saveTrainedModel } from '../../src/workflow/train';
import { predict } from '../../src/workflow/predict';
import { repoRoot } from '../helpers';
import { writeSmallPredictModel } from '../network/synthetic';
import { makeModelData } from '../network/synthetic';
import { tempDir } from '../helpers';
import { assertCleanError, leftovers, mt, smallInferInputs } from './helpers';

describe('faults: outputs are checked first and written whole', function () {
  this.timeout(120000);
  let t: { dir: string; cleanup: () => void };
  let xyz: string;
  beforeEach(() => {
    t = tempDir();
    xyz = path.join(t.dir, 'S.xyz');
    fs.writeFileSync(xyz, '1\nLattice="4 0 0 0 4 0 0 0 4" Properties=species:S:1:pos:R:3 pbc="T T T"\nAl 0 0 0\n');
  });
  afterEach(() => t.cleanup());

  it('predict --out /proc/res: refused at once (it hung forever in mkdirSync)', () => {
    const r = mt(['predict', xyz, '--model', path.join(t.dir, 'm.zip'), '--out', '/proc/res'], { timeoutMs: 30000 });
    assertCleanError(r, /--out \/proc\/res is inside \/proc/);
  });

  it('predict --out at an existing file, or at a folder whose results.json is a folder: refused before the model is read', () => {
    const file = path.join(t.dir, 'a-file');
    fs.writeFileSync(file, 'x');
    fs.mkdirSync(path.join(t.dir, 'out', 'results.json'), { recursive: true });
    // the model does not exist: an output check that came after loading it would say so instead
    const model = path.join(t.dir, 'missing-model.zip');
    assertCleanError(mt(['predict', xyz, '--model', model, '--out', file]), /--out .*a-file is a file; a folder is needed there/);
    assertCleanError(mt(['predict', xyz, '--model', model, '--out', path.join(t.dir, 'out')]), /results\.json is a folder; a file is written there/);
  });

  it('an output that is the input is refused and the input kept (descriptors S -o S, infer, import-model)', () => {
    const before = fs.readFileSync(xyz, 'utf8');
    assertCleanError(mt(['descriptors', xyz, '-o', xyz]), /is the input file .*S\.xyz: writing it would destroy the input/);
    const { model, descriptors } = smallInferInputs(t.dir);
    assertCleanError(mt(['infer', '--model', model, '--descriptors', descriptors, '--out', descriptors, '--backend', 'ts']), /is the input file .*d\.npy/);
    assertCleanError(mt(['import-model', model, '--out', model]), /is the input file .*model\.zip/);
    assert.equal(fs.readFileSync(xyz, 'utf8'), before);
  });

  it('observables --json-out /dev/full and descriptors -o /dev/full: a special file is refused before computing', () => {
    assertCleanError(mt(['observables', '--ldos', path.join(t.dir, 'l.npy'), '--energy-grid=-5,1,24', '--json-out', '/dev/full']), /--json-out \/dev\/full is a character device/);
    assertCleanError(mt(['descriptors', xyz, '-o', '/dev/full']), /-?-out \/dev\/full is a character device/);
  });

  it('train --out on a path that cannot be written is refused before training', () => {
    const r = mt(['train', '--descriptors', 'a.npy', '--ldos', 'b.npy', '--validation', 'c.npy:d.npy', '--energy-grid=-5,1,9', '--out', '/proc/model.zip']);
    assertCleanError(r, /--out \/proc\/model\.zip is inside \/proc/);
  });

  it('a file size limit hit while writing (ulimit -f): one message, exit 1, no partial or temporary file', () => {
    const { model, descriptors } = smallInferInputs(t.dir);
    const out = path.join(t.dir, 'o', 'ldos.npy');
    const r = mt(['infer', '--model', model, '--descriptors', descriptors, '--out', out, '--backend', 'ts'], { shell: 'ulimit -f 16;' });
    assertCleanError(r, /ldos\.npy grew beyond the largest file allowed .*EFBIG/);
    assert.ok(!fs.existsSync(out));
    assert.deepEqual(leftovers(t.dir), []);
  });

  it('a full standard output (`> /dev/full`) is a message, not Node\'s unhandled \'error\' event', () => {
    const { model, descriptors } = smallInferInputs(t.dir);
    const r = mt(['infer', '--model', model, '--descriptors', descriptors, '--out', path.join(t.dir, 'l.npy'), '--backend', 'ts'], { stdout: '/dev/full' });
    assertCleanError(r, /no space left on the device while writing standard output \(ENOSPC/);
  });

  it('--debug adds the stack trace', () => {
    const r = mt(['descriptors', xyz, '-o', xyz, '--debug']);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /^mala-ts: error: .*is the input file/);
    assert.match(r.stderr, /^\s+at .*output-check/m);
  });

  it('train: when the final save fails, the model goes to a fallback file and the message says where', () => {
    const blocker = path.join(t.dir, 'a-file');
    fs.writeFileSync(blocker, 'x');
    const out = path.join(blocker, 'model.zip'); // inside a file: ENOTDIR at save time
    let err: unknown;
    try {
      saveTrainedModel(out, makeModelData(3), [t.dir]);
    } catch (e) {
      err = e;
    }
    assert.ok(err instanceof MalaError);
    const m = /the trained model was saved to (\S+) instead/.exec(err.message);
    assert.ok(m, err.message);
    assert.ok(fs.statSync(m[1]).size > 0, 'the fallback model exists');
    assert.equal(path.dirname(m[1]), t.dir);
  });

  it('an LDOS spill that cannot fit in TMPDIR fails before the descriptors, with both sizes and the TMPDIR/--memory hint', async () => {
    const model = writeSmallPredictModel(t.dir);
    const realFs = require('node:fs') as { statfsSync: (p: string) => fs.StatsFs };
    const statfs = realFs.statfsSync;
    realFs.statfsSync = (p: string) => (path.resolve(p) === t.dir ? { ...statfs(p), bavail: 1, bsize: 4096 } : statfs(p));
    try {
      await assert.rejects(
        predict({ structureFile: path.join(repoRoot, 'fixtures', 'al-fcc-qe', 'Al.pw.scf.out'), modelFile: model, grid: [24, 24, 24], temperatureK: 1000, electrons: 12, memoryMb: 0.05, maxBlockPoints: 576, tmpDir: t.dir }),
        (e: unknown) => e instanceof MalaError && /the LDOS spill file .*mala-ts-ldos-.* needs about 0\.001 GB, but .* has 0\.000 GB free/.test(e.message) && /TMPDIR .*--memory/.test(e.fix ?? ''),
      );
    } finally {
      realFs.statfsSync = statfs;
    }
    assert.deepEqual(leftovers(t.dir), []);
  });
});
