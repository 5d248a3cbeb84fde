import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { unzipSync, zipSync } from 'fflate';
import { checkSettings, DomainMonitor, domainSummary, UNKNOWN_DOMAIN_NOTE } from '../../src/domain/domain-check';
import { TrainingDomainBuilder, type TrainingDomain } from '../../src/domain/training-domain';
import { MalaError } from '../../src/errors';
import { loadModel, type LdosModel } from '../../src/network/model';
import { readStructure } from '../../src/structure/registry';
import { predict } from '../../src/workflow/predict';
import { runPwDropIn } from '../../src/workflow/pw';
import { MalaCalculator } from '../../src/workflow/calculator';
import { recordModelDomain } from '../../src/workflow/model-domain';
import { repoRoot, tempDir } from '../helpers';
import { strainedPwInput } from '../../bench/al-ensemble';

const MODEL = path.join(repoRoot, 'models', 'al-fcc-298K', 'model.zip');
const EXAMPLE = path.join(repoRoot, 'examples', 'al4-298K.pw.scf.in');
/** The shipped model's weights before its domain was recorded (models/al-fcc-298K/RECIPE.md). */
const WEIGHTS_SHA256 = 'b80ba0addd1605c5c9778a23d6e44e861c59d20c2c4c951e68b888ec476445ed';

/** The example's pw.x input with cell and positions scaled by 1 + strain (a = 4.05 → 4.0905 Å at 1 %). */
const strainedInput = (strain: number): string => strainedPwInput(fs.readFileSync(EXAMPLE, 'utf8'), strain);

/** The shipped model's archive without its domain: what every archive before the domain check looks like. */
function archiveWithoutDomain(file: string): void {
  const files = unzipSync(fs.readFileSync(MODEL));
  const json = JSON.parse(Buffer.from(files['model.json']).toString('utf8'));
  delete json.domain;
  files['model.json'] = Buffer.from(JSON.stringify(json), 'utf8');
  fs.writeFileSync(file, zipSync(Object.fromEntries(Object.entries(files).map(([k, v]) => [k, [v, { level: 0 }]]))));
}

const domainWarnings = (ws: string[]) => ws.filter((w) => /training domain/.test(w));

describe('domain check: a model knows what it was trained on', function () {
  this.timeout(120000);
  let t: { dir: string; cleanup: () => void };
  let model: LdosModel;
  let strained: string;
  before(() => {
    t = tempDir();
    model = loadModel(MODEL, { backend: 'ts' });
    strained = path.join(t.dir, 'al4-strained-1pct.pw.scf.in');
    fs.writeFileSync(strained, strainedInput(0.01));
  });
  after(() => t.cleanup());

  it('the shipped model records its training domain; its weights are the ones it was trained with', () => {
    const d = model.data.domain!;
    assert.ok(d, 'models/al-fcc-298K/model.zip has a domain');
    assert.equal(d.version, 1);
    assert.deepEqual(d.elements, ['Al']);
    assert.equal(d.structures.count, 13, '9 four-atom + 4 eight-atom training frames');
    assert.deepEqual(d.atomCounts, [4, 8]);
    assert.ok(Math.abs(d.numberDensityPerA3!.min - 4 / 4.05 ** 3) < 1e-9 && d.numberDensityPerA3!.max === d.numberDensityPerA3!.min, 'one lattice constant');
    assert.deepEqual(d.ecutrhoRy, [80]);
    assert.deepEqual(d.smearing, ['fermi-dirac']);
    assert.ok(Math.abs(d.temperaturesK![0] - 298) < 0.01);
    const files = unzipSync(fs.readFileSync(MODEL));
    assert.equal(createHash('sha256').update(files['weights.safetensors']).digest('hex'), WEIGHTS_SHA256);
  });

  it('an MD frame like the training data is inside the domain; the same cell strained by 1 % is flagged, naming the density and a bispectrum feature', async () => {
    const frame = await predict({ structureFile: EXAMPLE, model });
    assert.equal(frame.domain?.known, true);
    assert.equal(frame.domain?.inDomain, true, JSON.stringify(frame.domain));
    assert.ok(frame.domain!.score! < frame.domain!.scoreLimit!, `score ${frame.domain!.score}`);
    assert.deepEqual(domainWarnings(frame.warnings), []);

    const s = await predict({ structureFile: strained, model });
    assert.equal(s.domain?.inDomain, false);
    assert.ok(s.domain!.score! > 10 * s.domain!.scoreLimit!, `score ${s.domain!.score}`);
    const ws = domainWarnings(s.warnings);
    assert.ok(ws.some((w) => /atomic number density 0\.058\d Å⁻³ is outside the training range 0\.0602–0\.0602/.test(w)), ws.join('\n'));
    assert.ok(ws.some((w) => /bispectrum B\[\d+\] \(2j1=\d+,2j2=\d+,2j=\d+\) mean over the cell is [\d.]+ σ from the training cells/.test(w)), ws.join('\n'));
    assert.deepEqual(s.domain!.findings.map((f) => f.check).sort(), ['descriptors_cell', 'number_density']);
  });

  it('--strict-domain: predict exits 1 with one clear message naming what is out of range', () => {
    const run = (extra: string[]) => spawnSync(process.execPath, ['-r', 'tsx/cjs', path.join(repoRoot, 'src', 'cli', 'main.ts'), 'predict', strained, '--model', MODEL, '--json', ...extra], { encoding: 'utf8', cwd: repoRoot });
    const strict = run(['--strict-domain']);
    assert.equal(strict.status, 1, strict.stderr);
    const errors = strict.stderr.split('\n').filter((l) => l.startsWith('mala-ts: error:'));
    assert.equal(errors.length, 1, strict.stderr);
    assert.match(errors[0], /--strict-domain: .* is outside the training domain of .*model\.zip: atomic number density/);
    assert.equal(strict.stdout, '');
  });

  it('the calculator option strictDomain throws a MalaError; pw writes the check as a comment and the warnings as messages', async () => {
    await assert.rejects(predict({ structureFile: strained, model, strictDomain: true }), (e: unknown) => e instanceof MalaError && /outside the training domain/.test(e.message));
    const pw = await runPwDropIn({ inputText: fs.readFileSync(strained, 'utf8'), inputFile: strained, model });
    assert.match(pw.output, /^ {5}mala-ts training domain: OUTSIDE the training domain \(number_density, descriptors_cell\): score [\d.]+ σ/m);
    assert.match(pw.output, /Message from mala-ts:\n {5}outside the model's training domain: atomic number density/);
  });

  it('the calculator reports the check on its prediction; with strictDomain it rejects the strained cell', async () => {
    const read = readStructure(strained);
    const calc = new MalaCalculator({ model, pseudoDir: '/usr/share/espresso/pseudo', temperatureK: 298, ecutrhoRy: 80 });
    await calc.calculate(read.atoms);
    assert.equal(calc.prediction?.domain?.inDomain, false);
    assert.ok(calc.prediction!.warnings.some((w) => /atomic number density/.test(w)));
    const strict = new MalaCalculator({ model, pseudoDir: '/usr/share/espresso/pseudo', temperatureK: 298, ecutrhoRy: 80, strictDomain: true });
    await assert.rejects(strict.calculate(read.atoms), (e: unknown) => e instanceof MalaError && /--strict-domain: .*outside the training domain/.test(e.message));
  });

  it('a temperature outside the training data warns (and names it); ecutrho and smearing kind that differ warn', async () => {
    const hot = await predict({ structureFile: EXAMPLE, model, temperatureK: 3158 });
    assert.deepEqual(hot.domain!.findings.map((f) => f.check), ['temperature']);
    assert.match(domainWarnings(hot.warnings)[0], /electronic temperature 3158\.0 K is outside the training range 298\.0–298\.0 K/);

    const atoms = readStructure(EXAMPLE).atoms;
    const d = model.data.domain!;
    assert.deepEqual(checkSettings(d, { atoms, temperatureK: 298, ecutrhoRy: 80, smearing: 'fd' }), []);
    const ecut = checkSettings(d, { atoms, temperatureK: 298, ecutrhoRy: 160, smearing: 'fermi-dirac' });
    assert.deepEqual(ecut.map((f) => f.check), ['ecutrho']);
    assert.match(ecut[0].message, /ecutrho 160 Ry differs from the training data's 80 Ry/);
    const mv = checkSettings(d, { atoms, temperatureK: 298, ecutrhoRy: 80, smearing: 'mv' });
    assert.deepEqual(mv.map((f) => f.check), ['smearing']);
    assert.match(mv[0].message, /smearing 'mv' \(marzari-vanderbilt\) differs from the training data's fermi-dirac/);
  });

  it('an old archive without domain data predicts with one note that the domain is unknown; strict mode says the domain is unknown', async () => {
    const old = path.join(t.dir, 'old-model.zip');
    archiveWithoutDomain(old);
    const r = await predict({ structureFile: strained, modelFile: old, backend: 'ts' });
    assert.equal(r.domain?.known, false);
    assert.equal(r.domain?.note, UNKNOWN_DOMAIN_NOTE);
    assert.deepEqual(domainWarnings(r.warnings), []);
    assert.match(domainSummary(r.domain!), /^unknown: the model records no training domain/);
    await assert.rejects(predict({ structureFile: EXAMPLE, modelFile: old, backend: 'ts', strictDomain: true }), (e: unknown) => e instanceof MalaError && /records no training domain/.test(e.message));
  });

  it('model-domain records a domain from structures and leaves the weights byte-identical', () => {
    const old = path.join(t.dir, 'old-for-domain.zip');
    const out = path.join(t.dir, 'with-domain.zip');
    archiveWithoutDomain(old);
    const r = recordModelDomain({ modelFile: old, structures: [EXAMPLE], out });
    assert.equal(r.weightsSha256, WEIGHTS_SHA256);
    const files = unzipSync(fs.readFileSync(out));
    assert.equal(createHash('sha256').update(files['weights.safetensors']).digest('hex'), WEIGHTS_SHA256);
    const m = loadModel(out, { backend: 'ts' });
    assert.equal(m.data.domain?.structures.count, 1);
    assert.equal(m.data.domain?.points.count, 24 * 24 * 24);
    assert.throws(() => recordModelDomain({ modelFile: path.join(t.dir, 'missing.zip'), structures: [EXAMPLE], out }), (e: unknown) => e instanceof MalaError && /mala-ts model archive/.test(e.message));
  });

  it('the monitor counts each block once, however many passes see it, and flags points outside the ranges', () => {
    const b = new TrainingDomainBuilder(2);
    b.addStructure(Float32Array.from([0, 10, 1, 11, 2, 12]), 3);
    b.addStructure(Float32Array.from([0.5, 10.5, 1.5, 11.5]), 2);
    const d: TrainingDomain = b.finish();
    assert.deepEqual(d.points.min, [0, 10]);
    assert.deepEqual(d.structures.mean, [1, 11]);
    const m = new DomainMonitor(d);
    m.addBlock(0, Float32Array.from([1, 11, 5, 11]), 2);
    m.addBlock(0, Float32Array.from([1, 11, 5, 11]), 2);
    assert.equal(m.count, 2);
    assert.equal(m.outsidePoints, 1);
    assert.deepEqual(Array.from(m.outsideByFeature), [1, 0]);
  });
});
