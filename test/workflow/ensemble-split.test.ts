/**
 * `mala-ts ensemble --split`: each member of an ensemble as a model of its own, the inverse of
 * `mala-ts ensemble` (asserted on the shipped broad aluminium ensemble of three).
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MalaError } from '../../src/errors';
import { ensembleMembers, readModelData } from '../../src/network/model';
import { buildEnsemble, splitEnsemble } from '../../src/workflow/ensemble';
import { repoRoot, tempDir } from '../helpers';

const SHIPPED = path.join(repoRoot, 'models', 'al-fcc-broad', 'model.zip');

describe('mala-ts ensemble --split: the members of an ensemble, each a model', () => {
  let t: ReturnType<typeof tempDir>;
  before(() => (t = tempDir()));
  after(() => t.cleanup());

  it('writes <out>.member-K.zip with each member\'s weights and seed and everything else of the model; combined again they are the ensemble', () => {
    const whole = readModelData(SHIPPED);
    const members = ensembleMembers(whole);
    assert.equal(members.length, 3);
    assert.ok(whole.domain && whole.energyReference, 'the shipped model records its domain and energy reference');
    const r = splitEnsemble({ model: SHIPPED, out: path.join(t.dir, 'm.zip') });
    assert.deepEqual(r.files.map((f) => path.basename(f)), ['m.member-1.zip', 'm.member-2.zip', 'm.member-3.zip']);
    r.files.forEach((f, k) => {
      const one = readModelData(f);
      assert.equal(ensembleMembers(one).length, 1, 'a member is one network');
      assert.deepEqual(one.weights, members[k].weights, `member ${k + 1}'s weights`);
      assert.equal(ensembleMembers(one)[0].seed, members[k].seed);
      assert.deepEqual(one.domain, whole.domain, 'the training domain goes with every member');
      assert.deepEqual(one.reference, whole.reference);
      assert.deepEqual(one.energyReference, whole.energyReference);
    });
    // the members differ (else the test above could not tell them apart)
    assert.notDeepEqual(members[0].weights, members[1].weights);
    const again = path.join(t.dir, 'again.zip');
    buildEnsemble({ models: r.files, out: again });
    const back = ensembleMembers(readModelData(again));
    assert.deepEqual(back.map((m) => m.weights), members.map((m) => m.weights));
    assert.deepEqual(back.map((m) => m.seed), members.map((m) => m.seed));
  });

  it('one network is not an ensemble: one clear error, nothing written', () => {
    const one = path.join(t.dir, 'one.member-1.zip');
    assert.throws(() => splitEnsemble({ model: one.replace('one.member-1', 'm.member-1'), out: path.join(t.dir, 'x.zip') }), (e: unknown) => e instanceof MalaError && /holds one network, not an ensemble/.test(e.message));
    assert.ok(!fs.existsSync(path.join(t.dir, 'x.member-1.zip')));
  });
});
