import { strict as assert } from 'node:assert';
import { MalaError } from '../../src/errors';
import { makeEnergyGrid } from '../../src/targets/energy-grid';
import { checkLdosGrid, cubeTitleEnergyEv, gaussianSmearingXml, ldosCubeNames, paddedEmaxEv, ppLdosInput, ppxEnergyCount, DEFAULT_PP_LDOS_TEMPLATE } from '../../src/dft/ldos-recipe';

describe('dft/ldos-recipe: pp.x LDOS inputs for QE 6.7', () => {
  it("reproduces pp.x's energy count rule, including the lost last point (qe-notes §2.1)", () => {
    // measured with pp.x 6.7: emin=-5, emax=-4.7, delta_e=0.1 gives 3 energies; emax=-4.65 gives 4
    assert.equal(ppxEnergyCount(-5, -4.7, 0.1), 3);
    assert.equal(ppxEnergyCount(-5, -4.65, 0.1), 4);
    // MALA's Be2 input: -5..20 step 2.5 → 11
    assert.equal(ppxEnergyCount(-5, 20, 2.5), 11);
  });

  it('pads emax so every grid gets exactly its count', () => {
    for (const [o, d, n] of [[-5, 0.1, 4], [-4, 0.1, 131], [-5, 2.5, 11], [-6.5, 0.1, 250], [0.3, 0.05, 999]] as const) {
      const g = makeEnergyGrid(o, d, n);
      assert.equal(ppxEnergyCount(o, paddedEmaxEv(g), d), n, `${o},${d},${n}`);
      checkLdosGrid(g, 2 * d);
    }
  });

  it('rejects grids pp.x cannot make', () => {
    assert.throws(() => checkLdosGrid(makeEnergyGrid(-5, 0.01, 1000), 0.02), (e: unknown) => e instanceof MalaError && /999/.test(e.message));
    assert.throws(() => checkLdosGrid(makeEnergyGrid(-5, 0.0001, 20), 0.1), (e: unknown) => e instanceof MalaError && /4 decimals/.test(e.message));
    assert.throws(() => checkLdosGrid(makeEnergyGrid(-5, 0.1, 20), 0), (e: unknown) => e instanceof MalaError && /broadening/.test(e.message));
  });

  it('fills the template with the padded emax and checks placeholders', () => {
    const g = makeEnergyGrid(-4, 0.1, 131);
    const t = ppLdosInput(DEFAULT_PP_LDOS_TEMPLATE, { outdir: '/w/tmp', prefix: 'Al', grid: g, broadeningEv: 0.1, fileout: 'x_ldos.cube' });
    assert.match(t, /emin = -4\n/);
    assert.match(t, /emax = 9\.05\n/);
    assert.match(t, /delta_e = 0\.1\n/);
    assert.match(t, /degauss_ldos = 0\.1\n/);
    assert.match(t, /outdir = '\/w\/tmp'/);
    assert.doesNotMatch(t, /\{\{/);
    assert.throws(() => ppLdosInput(DEFAULT_PP_LDOS_TEMPLATE.replace('plot_num = 3', 'plot_num = 7'), { outdir: 'a', prefix: 'b', grid: g, broadeningEv: 0.1, fileout: 'c' }), /plot_num = 3/);
    assert.throws(() => ppLdosInput(DEFAULT_PP_LDOS_TEMPLATE.replace("'{{PREFIX}}'", "'Al'"), { outdir: 'a', prefix: 'b', grid: g, broadeningEv: 0.1, fileout: 'c' }), /lacks \{\{PREFIX\}\}/);
    assert.deepEqual(ldosCubeNames(makeEnergyGrid(0, 1, 3), 'a.cube'), ['tmp.pp001a.cube', 'tmp.pp002a.cube', 'tmp.pp003a.cube']);
  });

  it("switches both smearing tags of QE's XML to gaussian and refuses fixed occupations", () => {
    const xml = '<input><smearing degauss="9.437e-4">fd</smearing></input><band_structure><smearing degauss="9.437e-4">fd</smearing></band_structure>';
    const out = gaussianSmearingXml(xml);
    assert.equal(out.match(/>gaussian<\/smearing>/g)?.length, 2);
    assert.doesNotMatch(out, />fd</);
    assert.equal(gaussianSmearingXml(out), out, 'idempotent');
    assert.throws(() => gaussianSmearingXml('<input><occupations>fixed</occupations></input>'), (e: unknown) => e instanceof MalaError && /smearing/.test(e.message));
    assert.equal(cubeTitleEnergyEv('  Energy =  -4.0000 eV, broadening =   0.1000 eV'), -4);
  });
});
