import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { unzipSync, zipSync } from 'fflate';
import { MalaError } from '../../src/errors';
import { formatModelInfo, modelInfo, modelInfoJson, shortCommand } from '../../src/workflow/model-info';
import { predict } from '../../src/workflow/predict';
import { predictResultJson } from '../../src/results/views';
import { repoRoot, tempDir } from '../helpers';

const MODEL = path.join(repoRoot, 'models', 'al-fcc-298K', 'model.zip');

describe('mala-ts model-info: what a model is and what it was trained on', function () {
  this.timeout(60000);

  it('the shipped model: versions, hashes, ensemble of 1, training domain, recipe', () => {
    const i = modelInfo(MODEL);
    assert.equal(i.ensembleSize, 1);
    assert.equal(i.sha256, createHash('sha256').update(fs.readFileSync(MODEL)).digest('hex'));
    assert.equal(i.weightsSha256, 'b80ba0addd1605c5c9778a23d6e44e861c59d20c2c4c951e68b888ec476445ed');
    assert.equal(i.format, 'mala-ts-model');
    assert.match(i.readBy, /^mala-ts /);
    assert.equal(path.resolve(i.recipe!), path.join(repoRoot, 'models', 'al-fcc-298K', 'RECIPE.md'));
    const text = formatModelInfo(i);
    assert.match(text, /^domain +Al; 13 training structures \(4, 8 atoms\), 228096 grid points$/m);
    assert.match(text, /^ {2}density +0\.06021–0\.06021 atoms\/Å³$/m);
    assert.match(text, /^ {2}ecutrho +80 Ry$/m);
    const j = modelInfoJson(i);
    assert.equal(j.ensemble_size, 1);
    assert.deepEqual((j.domain as { elements: string[] }).elements, ['Al']);
    assert.deepEqual(JSON.parse(JSON.stringify(j)).network.layer_sizes, [91, 128, 128, 131]);
  });

  it('the broad model: ensemble of 3, its energy reference, and a recording command of 94 paths shown short (the JSON keeps it whole)', () => {
    const i = modelInfo(path.join(repoRoot, 'models', 'al-fcc-broad', 'model.zip'));
    assert.equal(i.ensembleSize, 3);
    const text = formatModelInfo(i);
    assert.match(text, /^ {2}reference +shifted by s\(n\) = [\d.]+ eV·Å³ × \(n − [\d.]+ atoms\/Å³\)/m);
    const recorded = text.split('\n').find((l) => /^ {2}recorded by/.test(l))!;
    assert.match(recorded, /--structures \S+ … \(57 files\) --descriptors \S+ … \(57 files\)$/);
    assert.ok(recorded.length < 400, `${recorded.length} characters`);
    assert.equal((JSON.parse(JSON.stringify(modelInfoJson(i))).domain.recordedBy as string).split(' ').filter((w) => w.endsWith('.in.npy')).length, 57);
    assert.equal(shortCommand('x --a p/1 p/2 --b q'), 'x --a p/1 p/2 --b q', 'two paths stay');
    assert.equal(shortCommand('x p/1 p/2 p/3 --b q/1'), 'x p/1 … (3 files) --b q/1');
  });

  it('bad input is one clear error each: a missing file, a model without domain data', () => {
    const t = tempDir();
    try {
      const missing = path.join(t.dir, 'nope.zip');
      assert.throws(() => modelInfo(missing), (e: unknown) => e instanceof MalaError && e.message === 'model not found' && e.file === missing);
      const files = unzipSync(fs.readFileSync(MODEL));
      const json = JSON.parse(Buffer.from(files['model.json']).toString('utf8'));
      delete json.domain;
      files['model.json'] = Buffer.from(JSON.stringify(json), 'utf8');
      const old = path.join(t.dir, 'old.zip');
      fs.writeFileSync(old, zipSync(Object.fromEntries(Object.entries(files).map(([k, v]) => [k, [v, { level: 0 }]]))));
      assert.throws(() => modelInfo(old), (e: unknown) => e instanceof MalaError && /records no training domain/.test(e.message) && /model-domain/.test(e.fix ?? ''));
    } finally {
      t.cleanup();
    }
  });

  it("every prediction's results.json names the model's sha256 and the mala-ts version", async () => {
    const r = await predict({ structureFile: path.join(repoRoot, 'examples', 'al4-298K.pw.scf.in'), modelFile: MODEL, backend: 'ts' });
    const j = predictResultJson(r);
    assert.equal(j.model_sha256, modelInfo(MODEL).sha256);
    assert.equal(j.mala_ts_version, modelInfo(MODEL).readBy.replace('mala-ts ', ''));
    assert.equal((j.domain as { in_domain: boolean }).in_domain, true);
  });
});
