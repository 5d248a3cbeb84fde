import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MalaError } from '../../src/errors';
import { trimPwOutput } from '../../src/io/pw-output-trim';
import { parseQeOutput, qeForcesRyPerBohr, qeStressKbar } from '../../src/structure/qe-output';
import { writeQeReferences } from '../../src/workflow/qe-reference';
import { repoRoot, tempDir } from '../helpers';

/** pw.x 6.7 with verbosity 'high' and 512 k-points (Be2: k-point lists, bands, forces); one with 'low' and 256; one with 'high' and 64. */
const HIGH = path.join(repoRoot, 'fixtures', 'be2-ldos-qe', 'Be.pw.scf.out');
const LOW = path.join(repoRoot, 'fixtures', 'al-forces', 'Al8F_298K_0.pw.scf.out');
const FEW_KPOINTS = path.join(repoRoot, 'fixtures', 'al-fcc-qe', 'Al.pw.scf.out');

/** The lines around a pattern's first match (2 before, 3 after), blanks as ''. */
function around(text: string, re: RegExp): string[] {
  const lines = text.split('\n');
  const i = lines.findIndex((l) => re.test(l));
  assert.ok(i >= 0, `no line matches ${re}`);
  return lines.slice(i - 2, i + 3).map((l) => (l.trim() === '' ? '' : l));
}

describe('pw.x output trimmed to what verbosity low prints (QE references)', () => {
  it('leaves out the k-point lists and the eigenvalue blocks, and reads back equal: atoms, grid, energies, E_F, forces', () => {
    const full = fs.readFileSync(HIGH, 'utf8');
    const r = trimPwOutput(full);
    assert.equal(r.kPointLists, 1);
    assert.equal(r.bandBlocks, 1);
    assert.doesNotMatch(r.text, /^\s+k\(\s*\d+\) = \(/m);
    assert.doesNotMatch(r.text, /bands \(ev\)|occupation numbers|cryst\. coord\.\n\s+k\(/);
    assert.ok(r.text.length < full.length / 2, `${r.text.length} of ${full.length} characters`);
    assert.deepEqual(parseQeOutput(r.text), parseQeOutput(full));
    assert.deepEqual(qeForcesRyPerBohr(r.text), qeForcesRyPerBohr(full));
    assert.deepEqual(qeStressKbar(r.text), qeStressKbar(full));
    // every other line kept, in order
    const kept = full.split('\n').filter((l) => r.text.includes(l));
    assert.ok(r.text.split('\n').filter((l) => l.trim()).every((l) => full.includes(l) || /Number of k-points >= 100/.test(l)));
    assert.ok(kept.length > 200);
  });

  it("the notices stand where pw.x's verbosity 'low' puts them", () => {
    const trimmed = trimPwOutput(fs.readFileSync(HIGH, 'utf8')).text;
    const low = fs.readFileSync(LOW, 'utf8');
    const shape = (t: string, re: RegExp) => around(t, re).map((l) => l.replace(/\d+(\.\d+)?/g, 'N').replace(/ +/g, ' '));
    assert.deepEqual(shape(trimmed, /set verbosity='high' to print them\./), shape(low, /set verbosity='high' to print them\./));
    assert.deepEqual(shape(trimmed, /set verbosity='high' to print the bands\./), shape(low, /set verbosity='high' to print the bands\./));
  });

  it('an output pw.x printed with verbosity low is left as it is; so is one of fewer than 100 k-points (low prints its bands too)', () => {
    for (const file of [LOW, FEW_KPOINTS]) {
      const text = fs.readFileSync(file, 'utf8');
      const r = trimPwOutput(text);
      assert.equal(r.text, text, file);
      assert.equal(r.kPointLists + r.bandBlocks, 0);
    }
    assert.match(fs.readFileSync(FEW_KPOINTS, 'utf8'), /bands \(ev\)/, 'the control: it has bands');
  });

  describe('writeQeReferences (make al-broad-qe-refs)', () => {
    let t: { dir: string; cleanup: () => void };
    beforeEach(() => {
      t = tempDir();
      fs.mkdirSync(path.join(t.dir, 'data'));
      fs.copyFileSync(HIGH, path.join(t.dir, 'data', 'v01.pw.scf.out'));
      fs.writeFileSync(path.join(t.dir, 'data', 'v01.info.json'), JSON.stringify({ band_energy_dft_calculation: 12.5 }));
      fs.copyFileSync(path.join(repoRoot, 'fixtures', 'be2-ldos-qe', 'Be.pw.scf.in'), path.join(t.dir, 'v01_0.pw.scf.in'));
    });
    afterEach(() => t.cleanup());

    it('writes the trimmed output, the info.json and the pw.x input of each snapshot', () => {
      const out = path.join(t.dir, 'ref');
      const files = writeQeReferences({ dataDir: path.join(t.dir, 'data'), names: ['v01'], outDir: out, inputOf: (n) => path.join(t.dir, `${n}_0.pw.scf.in`) });
      assert.deepEqual(fs.readdirSync(out).sort(), ['v01.info.json', 'v01.pw.scf.in', 'v01.pw.scf.out']);
      assert.equal(fs.readFileSync(path.join(out, 'v01.pw.scf.out'), 'utf8'), trimPwOutput(fs.readFileSync(HIGH, 'utf8')).text);
      assert.equal(fs.readFileSync(path.join(out, 'v01.info.json'), 'utf8'), fs.readFileSync(path.join(t.dir, 'data', 'v01.info.json'), 'utf8'));
      assert.equal(files[0].fullBytes, fs.statSync(HIGH).size);
      assert.ok(files[0].trimmedBytes < files[0].fullBytes / 2);
    });

    it('a missing info.json or an unfinished pw.x output: one clear error, nothing written', () => {
      const out = path.join(t.dir, 'ref');
      fs.rmSync(path.join(t.dir, 'data', 'v01.info.json'));
      assert.throws(() => writeQeReferences({ dataDir: path.join(t.dir, 'data'), names: ['v01'], outDir: out }), (e: unknown) => e instanceof MalaError && /snapshot v01: v01\.info\.json is missing/.test(e.message) && /v01\.info\.json$/.test(e.file ?? ''));
      assert.ok(!fs.existsSync(out));
      fs.writeFileSync(path.join(t.dir, 'data', 'v01.info.json'), '{}');
      fs.writeFileSync(path.join(t.dir, 'data', 'v01.pw.scf.out'), fs.readFileSync(HIGH, 'utf8').replace('JOB DONE', ''));
      assert.throws(() => writeQeReferences({ dataDir: path.join(t.dir, 'data'), names: ['v01'], outDir: out }), (e: unknown) => e instanceof MalaError && /does not end with JOB DONE/.test(e.message));
      assert.ok(!fs.existsSync(out));
    });
  });
});
