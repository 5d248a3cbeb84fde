import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { forceErrors, qeForcesRyPerBohr, qeMpiProcesses, qeTotalForceRyPerBohr, ryPerBohrInEvPerA } from '../../bench/al-forces';
import { repoRoot } from '../helpers';

// The pure helpers of bench/al-forces.ts: reading QE's forces and comparing force sets.
describe('bench/al-forces helpers', () => {
  const out = fs.readFileSync(path.join(repoRoot, 'fixtures/al-forces/Al8F_298K_0.pw.scf.out'), 'utf8');

  it('reads the total forces of a pw.x output', () => {
    const f = qeForcesRyPerBohr(out, 'Al8F');
    assert.equal(f.length, 8);
    assert.deepEqual(f[0], [-0.00599562, 0.01506723, -0.00256377]);
    assert.deepEqual(f[7], [-0.00093271, 0.00680433, 0.01528468]);
    // QE's own "Total force" is √ΣF² of that block (printed to 6 decimals)
    const norm = Math.sqrt(f.flat().reduce((s, x) => s + x * x, 0));
    assert.ok(Math.abs(norm - qeTotalForceRyPerBohr(out)!) < 1e-6, `${norm}`);
    assert.equal(qeMpiProcesses(out), 2);
  });

  it('stops at the total forces, before the contribution blocks verbosity \'high\' prints after them', () => {
    // (the shape of pw.x 6.7's output with verbosity 'high'; the fixtures are 'low')
    const text = [
      '     Forces acting on atoms (cartesian axes, Ry/au):',
      '',
      '     atom    1 type  1   force =    -0.00599561    0.01506723   -0.00256377',
      '     atom    2 type  1   force =     0.00684507   -0.00520804    0.00018335',
      '     The non-local contrib.  to forces',
      '     atom    1 type  1   force =    -0.00953691    0.04525675   -0.00141187',
      '     atom    2 type  1   force =     0.01425202   -0.01598133    0.00339195',
      '',
      '     Total force =       0.017318     Total SCF correction =       0.000010',
    ].join('\n');
    assert.deepEqual(qeForcesRyPerBohr(text), [
      [-0.00599561, 0.01506723, -0.00256377],
      [0.00684507, -0.00520804, 0.00018335],
    ]);
  });

  it('takes the last block of several and refuses an output without forces', () => {
    const block = (x: number) => `     Forces acting on atoms (cartesian axes, Ry/au):\n\n     atom    1 type  1   force =     ${x}    0.0   -0.5\n\n     Total force =  1\n`;
    assert.deepEqual(qeForcesRyPerBohr(block(0.1) + block(0.2)), [[0.2, 0, -0.5]]);
    assert.throws(() => qeForcesRyPerBohr('     !    total energy = -1 Ry\n'), /Forces acting on atoms/);
  });

  it('converts Ry/Bohr to eV/Å (25.711 eV/Å: not Ha/Bohr, not Ry·Bohr)', () => {
    assert.ok(Math.abs(ryPerBohrInEvPerA - 25.7110) < 1e-3, `${ryPerBohrInEvPerA}`);
  });

  it('compares force sets: RMSE over components, max |ΔF|, cosine and angle', () => {
    const ref = [
      [1, 0, 0],
      [0, 1, 0],
    ];
    const same = forceErrors(ref, ref);
    assert.equal(same.rmseEvPerA, 0);
    assert.ok(Math.abs(same.cosine - 1) < 1e-12 && same.angleDeg < 1e-5);
    const flipped = forceErrors(ref.map((r) => r.map((x) => -x)), ref);
    assert.ok(Math.abs(flipped.cosine + 1) < 1e-12 && Math.abs(flipped.angleDeg - 180) < 1e-5);
    assert.ok(Math.abs(flipped.rmseEvPerA - Math.sqrt(8 / 6)) < 1e-12); // two components off by 2 of six
    assert.equal(flipped.maxAbsErrorEvPerA, 2);
    assert.ok(Math.abs(flipped.qeRmsEvPerA - Math.sqrt(2 / 6)) < 1e-12);
    const rotated = forceErrors([[0, 1, 0], [0, 1, 0]], ref);
    assert.ok(Math.abs(rotated.meanAtomAngleDeg - 45) < 1e-9, `${rotated.meanAtomAngleDeg}`);
    assert.throws(() => forceErrors([[0, 0, 0]], ref), /1 atoms against 2/);
  });
});
