import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { closestFromInputs, frameDetail, groupMeans, parseGroups, summarize } from '../../bench/variants-table';
import { repoRoot, tempDir } from '../helpers';
import { parseMaxError } from '../../src/workflow/tester-report';

// Issue 18 judges every frame: the table's "within" counts must count each limit on its own and
// all three at once, at the limit inclusive, by absolute value.
const row = (name: string, total: number, band: number, fermi: number) => ({ name, total_qe_mev_per_atom: total, band_qe_mev_per_atom: band, fermi_qe_mev: fermi });

describe('bench/variants-table: frames within the limits', () => {
  const rows = [
    row('v01', -5, 1, 3), // all three within (at the total limit, negative)
    row('v02', 5.01, 1, 3), // total out
    row('v03', 1, -6, 3), // band out
    row('v04', 1, 1, -20.5), // E_F out
    row('v05', 2, 2, 20), // all within (at the E_F limit)
  ];

  it('counts total, band, E_F and all three with issue 18 limits', () => {
    const s = summarize('x', rows, null);
    assert.deepEqual(s.withinLimits, { 'total-qe': 4, 'band-qe': 4, 'fermi-qe': 4, all: 2 });
    assert.equal(s.frames, 5);
  });

  it('takes other limits in mala-ts test\'s --max-error terms, and refuses a bad one', () => {
    const s = summarize('x', rows, null, parseMaxError('total-qe=6,band-qe=5,fermi-qe=21'));
    assert.deepEqual(s.withinLimits, { 'total-qe': 5, 'band-qe': 4, 'fermi-qe': 5, all: 4 });
    assert.throws(() => parseMaxError('total-qe=x'), /--max-error: the limit of total-qe must be a number/);
    assert.throws(() => parseMaxError('stress=3'), /--max-error: unknown quantity 'stress'/);
  });

  it('--detail splits a frame\'s total error into the band energy and the rest', () => {
    const d = frameDetail({ ...row('v02', 8.1, -18.2, 18.8), density_mape_percent: 1.22, force_rmse_ev_per_angstrom: 0.468, qe_force_rms_ev_per_angstrom: 0.75, closest_atoms_angstrom: 2.3641 });
    assert.deepEqual(d, ['v02', '+8.1', '-18.2', '+26.3', '', '', '+18.8', '1.22', '0.47', '0.75', '2.364']);
    // with the terms of mala-ts test: the density's (Hartree + XC + double counting) and −TS, against the target
    const terms = { e_band: -17.0, e_rho_times_v_hxc: 30.0, e_hartree: -10.5, e_xc: 4.0, e_ewald: 0, e_entropy: 2.4 };
    assert.deepEqual(frameDetail({ ...row('v02', 8.1, -18.2, 18.8), terms_mev_per_atom: terms }).slice(4, 6), ['+23.5', '+2.4']);
  });
});

describe('bench/variants-table: --groups means', () => {
  const r = (name: string, total: number, band: number, density?: number) => ({ ...row(name, total, band, 0), density_mape_percent: density });
  const rows = [r('h8at_774K', 10, -4, 1.2), r('h8at_707K', -3, 1, 0.6), r('h8at_841K', 6, 2, 1.0), r('c8at_130K', 2, -1, 0.4), r('t16at_300K', 1, 1)];

  it('puts a frame in the first group that matches and averages |total|, |band|, |rest| and the density error', () => {
    const g = groupMeans(rows, parseGroups('held hot=^h8at_(774|841)K;fit hot=^h8at;cool=^c8at'));
    assert.deepEqual(g.map((x) => [x.group, x.frames]), [
      ['held hot', ['h8at_774K', 'h8at_841K']], ['fit hot', ['h8at_707K']], ['cool', ['c8at_130K']], ['other', ['t16at_300K']]]);
    const held = g[0];
    assert.ok(Math.abs(held.meanDensityErrorPercent! - 1.1) < 1e-12);
    assert.equal(held.meanAbsTotalMeVPerAtom, 8); // (10 + 6) / 2
    assert.equal(held.meanAbsBandMeVPerAtom, 3); // (4 + 2) / 2
    assert.equal(held.meanAbsRestMeVPerAtom, 9); // (|10 + 4| + |6 − 2|) / 2
    assert.equal(g[3].meanDensityErrorPercent, null); // no density column for that frame
    // within issue 18's limits (total and band 5 meV/atom, E_F 20 meV): of the held hot frames neither
    assert.deepEqual(g.map((x) => x.withinAll), [0, 1, 1, 1]);
    assert.equal(held.meanForceRmseEvPerA, null); // no forces in these rows
    assert.deepEqual(groupMeans(rows, parseGroups('hot=^h8at'), parseMaxError('total-qe=10,band-qe=5,fermi-qe=20')).map((x) => x.withinAll), [3, 2]); // the limits are passed on: 774 K at 10 and 841 K at 6 now pass
  });

  it('refuses a group that is not NAME=REGEX', () => {
    assert.throws(() => parseGroups('hot'), /--groups: 'hot' is not NAME=REGEX/);
    assert.throws(() => parseGroups('hot=(h8at'), /--groups: '\(h8at' is not a regular expression/);
  });
});

describe('bench/variants-table: --inputs', () => {
  it('takes a frame\'s closest pair from its pw.x input where the table has none, under either name', () => {
    const t = tempDir();
    try {
      // fcc Al at 4.05 Å (closest a/√2), and the same cell with its last atom moved 0.4 Å along z:
      // then 2.59639 Å from the atoms at (0, 2.025, 2.025) and (2.025, 0, 2.025)
      const fcc = fs.readFileSync(path.join(repoRoot, 'qe-inputs', 'al-fcc-298K.pw.scf.in'), 'utf8');
      fs.writeFileSync(path.join(t.dir, 'a_0.pw.scf.in'), fcc);
      fs.writeFileSync(path.join(t.dir, 'c_0.pw.scf.in'), fcc);
      fs.writeFileSync(path.join(t.dir, 'b.pw.scf.in'), fcc.replace('Al 2.025 2.025 0.000', 'Al 2.025 2.025 0.400'));
      const rows = closestFromInputs([row('a', 0, 0, 0), row('b', 0, 0, 0), { ...row('c', 0, 0, 0), closest_atoms_angstrom: 2.1 }, row('d', 0, 0, 0)], t.dir);
      assert.ok(Math.abs(rows[0].closest_atoms_angstrom! - 4.05 / Math.SQRT2) < 1e-9, String(rows[0].closest_atoms_angstrom));
      assert.ok(Math.abs(rows[1].closest_atoms_angstrom! - Math.hypot(2.025, 1.625)) < 1e-9, String(rows[1].closest_atoms_angstrom));
      assert.equal(rows[2].closest_atoms_angstrom, 2.1); // the table's own value stays, input or not
      assert.equal(rows[3].closest_atoms_angstrom, undefined); // no input: none
    } finally {
      t.cleanup();
    }
  });
});
