/**
 * Fault suite, second independent probe (issue 14): the cases a new user hit that the first
 * probe did not cover. Each test fails without its fix.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { repoRoot, tempDir } from '../helpers';
import { assertCleanError, mt } from './helpers';

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
