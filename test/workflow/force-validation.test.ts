/**
 * What predict says about its forces and stress: the errors a model's VALIDATION.json records
 * (mala-ts test --forces), only when the table was written for this very file.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { forceValidationWarnings } from '../../src/workflow/force-validation';
import { modelFileSha256, recordedForceValidation, recordedSigmaValidation } from '../../src/workflow/model-info';
import { predict } from '../../src/workflow/predict';
import { uncertaintyText } from '../../src/results/fields';
import { repoRoot, tempDir } from '../helpers';

const shipped = path.join(repoRoot, 'models', 'al-fcc-298K', 'model.zip');

describe('forces and stress: the recorded validation behind predict\'s warnings', () => {
  let t: { dir: string; cleanup: () => void };
  let model: string;
  const table = (sha: string | undefined, forceMax?: number, stressMax?: number) => {
    const summary: Record<string, unknown> = {};
    if (forceMax !== undefined) summary.force_rmse_ev_per_angstrom = { mean_abs: forceMax / 2, max_abs: forceMax, count: 3 };
    if (stressMax !== undefined) summary.stress_max_abs_gpa = { mean_abs: stressMax, max_abs: stressMax, count: 3 };
    fs.writeFileSync(path.join(t.dir, 'VALIDATION.json'), JSON.stringify({ model_sha256: sha, snapshots: [{}, {}, {}], summary }));
  };
  before(() => {
    t = tempDir();
    model = path.join(t.dir, 'model.zip');
    fs.copyFileSync(shipped, model);
  });
  after(() => t.cleanup());

  it('without a table, or with one for another file: "records no validation"', () => {
    assert.equal(recordedForceValidation(model), undefined);
    assert.match(forceValidationWarnings(model, { forces: true, stress: false }).join('\n'), /forces: the model .* records no validation of its forces/);
    table('0'.repeat(64), 0.01, 0.1);
    assert.equal(recordedForceValidation(model), undefined, 'a table of another model file does not count');
    assert.equal(forceValidationWarnings(model, { forces: true, stress: true }).length, 2);
  });

  it('within the goals (0.05 eV/Å, 1 GPa): no warning; above them: the recorded numbers', () => {
    table(modelFileSha256(model), 0.03, 0.4);
    assert.deepEqual(recordedForceValidation(model), { file: path.join(t.dir, 'VALIDATION.json'), snapshots: 3, forceRmseMaxEvPerA: 0.03, forceRmseMeanEvPerA: 0.015, stressMaxGpa: 0.4 });
    assert.deepEqual(forceValidationWarnings(model, { forces: true, stress: true }), []);
    table(modelFileSha256(model), 0.2, 3);
    const w = forceValidationWarnings(model, { forces: true, stress: true });
    assert.equal(w.length, 2);
    assert.match(w.join('\n'), /stress: the model's validation \(.*, 3 frames against QE\) records errors up to 3\.00 GPa per component, above 1 GPa/);
    assert.match(w.join('\n'), /forces: .* records force RMSEs of 0\.100 eV\/Å on average and up to 0\.200 eV\/Å, above the 0\.05 eV\/Å/);
    assert.deepEqual(forceValidationWarnings(model, { forces: true, stress: false }).length, 1, 'only what was asked');
    // forces recorded, stress not: the stress says it has no record
    table(modelFileSha256(model), 0.01);
    assert.deepEqual(forceValidationWarnings(model, { forces: true, stress: true }).map((x) => x.slice(0, 7)), ['stress:']);
  });

  it('an ensemble\'s σ: predict reports how it compared with QE on the validation frames the table records (this file\'s table only)', async function () {
    this.timeout(120000);
    const dir = path.join(t.dir, 'ens');
    fs.mkdirSync(dir);
    const ens = path.join(dir, 'model.zip');
    fs.copyFileSync(path.join(repoRoot, 'models', 'al-fcc-broad', 'model.zip'), ens);
    const rows = [
      { total_qe_mev_per_atom: 2, ensemble: { sigma_total_mev_per_atom: 4 } },
      { total_qe_mev_per_atom: -6, ensemble: { sigma_total_mev_per_atom: 3 } }, // at 2σ: within 2σ
      { total_qe_mev_per_atom: -10, ensemble: { sigma_total_mev_per_atom: 4 } }, // 2.5σ
      { total_qe_mev_per_atom: 9 }, // no σ (a single network's row): not counted
    ];
    const write = (sha: string | undefined) => fs.writeFileSync(path.join(dir, 'VALIDATION.json'), JSON.stringify({ model_sha256: sha, snapshots: rows, summary: {} }));
    write('0'.repeat(64));
    assert.equal(recordedSigmaValidation(ens), undefined, 'a table of another model file does not count');
    write(modelFileSha256(ens));
    const expected = { file: path.join(dir, 'VALIDATION.json'), frames: 3, covered: 1, coveredTwoSigma: 2, maxErrorOverSigma: 2.5, meanAbsErrorMeVPerAtom: 6, meanSigmaMeVPerAtom: 11 / 3 };
    assert.deepEqual(recordedSigmaValidation(ens), expected);
    const r = await predict({ structureFile: path.join(repoRoot, 'fixtures', 'al-forces', 'Al4_298K_6.pw.scf.out'), modelFile: ens, pseudoDir: path.join(repoRoot, 'fixtures', 'al-fcc-qe') });
    assert.deepEqual(r.uncertainty?.validation, expected);
    assert.match(uncertaintyText(r.uncertainty!), /ensemble of 3: σ\(E_total\) .*; on its 3 validation frames σ\(E_total\) covered the error against QE on 1 \(2 within 2σ\), which reached 2\.5 σ \(VALIDATION\.json\)$/);
  });
});
