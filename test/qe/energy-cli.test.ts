import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { repoRoot } from '../helpers';

const FX = path.join(repoRoot, 'fixtures', 'al-fcc-qe');
const cli = (args: string[]) => spawnSync(process.execPath, [path.join(repoRoot, 'bin', 'mala-ts.js'), ...args], { encoding: 'utf8', cwd: FX });

describe('mala-ts energy (fcc Al fixture)', () => {
  it('--json prints every term in eV and Ry; the total from QE eband and demet equals QE etot to 1e-5 Ry', () => {
    const xml = fs.readFileSync(path.join(FX, 'Al.data-file-schema.xml'), 'utf8');
    const ha = (tag: string): number => Number(new RegExp(`<${tag}>\\s*(\\S+)\\s*</${tag}>`).exec(xml)?.[1]);
    const ev = (ry: number): number => ry * 13.605693012183622;
    const r = cli(['energy', '--density', 'Al_dens.filplot.npy', '--structure', 'Al.pw.scf.in', '--json']);
    // no .npy in the fixture: the error names the file; then the real run with the cube.
    assert.equal(r.status, 1);
    assert.match(r.stderr, /density file not found: Al_dens\.filplot\.npy/);
    const ok = cli(['energy', '--density', 'Al_dens.cube', '--structure', 'Al.pw.scf.out', '--json', `--band-energy=${ev(2 * ha('eband'))}`, `--entropy=${ev(2 * ha('demet'))}`]);
    assert.equal(ok.status, 0, ok.stderr);
    const j = JSON.parse(ok.stdout);
    assert.equal(j.functional, 'pz');
    assert.equal(j.g_vectors, 5449);
    for (const k of ['e_band', 'e_rho_times_v_hxc', 'e_hartree', 'e_xc', 'e_ewald', 'e_entropy']) {
      assert.ok(Math.abs(j.terms_ev[k] - ev(j.terms_ry[k])) < 1e-9, k);
    }
    // cube (5 digits) and printed positions (7 digits of alat): 1e-5 Ry still holds.
    assert.ok(Math.abs(j.total_energy_ry - 2 * ha('etot')) < 1e-5, `${j.total_energy_ry} vs ${2 * ha('etot')}`);
    assert.ok(Math.abs(j.terms_ry.e_ewald - 2 * ha('ewald')) < 1e-6);
  });
});
