import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { repoRoot } from '../helpers';
import { MalaError } from '../../src/errors';
import { parseQeInput } from '../../src/structure/qe-input';
import { automaticKpoints, qeInputFromTemplate, setNamelistValue } from '../../src/dft/qe-template';
import type { Atoms } from '../../src/structure/atoms';

const templateFile = path.join(repoRoot, 'qe-inputs', 'al-fcc-298K.pw.scf.in');

describe('dft/qe-template: pw.x inputs from a template + Atoms', () => {
  const template = fs.readFileSync(templateFile, 'utf8');
  const atoms: Atoms = {
    cellAngstrom: [[8.1, 0, 0], [0, 8.1, 0], [0.1, 0, 8.1]],
    positionsAngstrom: Array.from({ length: 6 }, (_, i) => [0.5 * i, 0.25 * i + 0.01, 1.5] as [number, number, number]),
    symbols: Array(6).fill('Al'),
    pbc: [true, true, true],
  };

  it('replaces nat, cell, positions, k-points and nbnd, keeping the DFT settings', () => {
    const text = qeInputFromTemplate(template, atoms, templateFile, { kpoints: [4, 4, 3], nbnd: 18, comment: 'test frame' });
    const q = parseQeInput(text, 'generated');
    assert.equal(q.atoms.symbols.length, 6);
    assert.deepEqual(q.atoms.cellAngstrom, atoms.cellAngstrom);
    q.atoms.positionsAngstrom.forEach((p, i) => p.forEach((x, d) => assert.ok(Math.abs(x - atoms.positionsAngstrom[i][d]) < 1e-9)));
    assert.equal(q.namelists.system.nbnd, 18);
    assert.equal(q.namelists.system.degauss, 0.0018874);
    assert.equal(q.namelists.system.smearing, 'fermi-dirac');
    assert.equal(q.ecutrhoRy, 80);
    assert.deepEqual(automaticKpoints(text), [4, 4, 3]);
    assert.match(text, /^! test frame/);
  });

  it('sets, replaces and removes namelist values', () => {
    let t = setNamelistValue(template, 'control', 'outdir', '/abs/tmp');
    t = setNamelistValue(t, 'control', 'disk_io', 'low');
    t = setNamelistValue(t, 'system', 'nosym', undefined);
    const q = parseQeInput(t, 't');
    assert.equal(q.namelists.control.outdir, '/abs/tmp');
    assert.equal(q.namelists.control.disk_io, 'low');
    assert.equal(q.namelists.system.nosym, undefined);
    assert.equal(t.match(/^\s*outdir\s*=/gm)?.length, 1);
    // comma-separated assignments on one line
    const one = "&SYSTEM\n ibrav=0, nat=4, ntyp=1, ecutwfc=20\n/\n";
    const t2 = setNamelistValue(one, 'system', 'nat', 32);
    assert.match(t2, /ibrav=0, nat = 32, ntyp=1, ecutwfc=20/);
  });

  it('refuses templates that cannot take a structure', () => {
    const ib2 = template.replace('ibrav = 0', 'ibrav = 2\n  celldm(1) = 7.65');
    assert.throws(() => qeInputFromTemplate(ib2, atoms, 'ib2.in'), (e: unknown) => e instanceof MalaError && /ibrav = 0/.test(e.message));
    const be = { ...atoms, symbols: ['Be', ...atoms.symbols.slice(1)] };
    assert.throws(() => qeInputFromTemplate(template, be, 'x.in'), (e: unknown) => e instanceof MalaError && /no ATOMIC_SPECIES entry for Be/.test(e.message));
  });
});
