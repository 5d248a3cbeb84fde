import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { repoRoot, tempDir } from '../helpers';
import { computeEnergyTerms } from '../../src/qe/energy-terms';
import { readDensityCube, readDensityFilplot, readQeStructure } from '../../src/qe/qe-files';
import { totalEnergy } from '../../src/qe/total-energy';
import { loadPseudopotentials } from '../../src/qe/upf';
import { MalaError } from '../../src/errors';
import { ryToEv } from '../../src/structure/units';

// This project's converged QE 6.7 SCF of 4-atom fcc Al (fixtures/al-fcc-qe, conv_thr 1e-10).
const FX = path.join(repoRoot, 'fixtures', 'al-fcc-qe');

/** <total_energy> of QE's XML, converted from Hartree to Ry. */
function xmlEnergiesRy(): Record<string, number> {
  const xml = fs.readFileSync(path.join(FX, 'Al.data-file-schema.xml'), 'utf8');
  const block = /<total_energy>([\s\S]*?)<\/total_energy>/.exec(xml)?.[1] ?? '';
  const out: Record<string, number> = {};
  for (const m of block.matchAll(/<(\w+)>\s*(\S+)\s*<\/\1>/g)) out[m[1]] = 2 * Number(m[2]);
  return out;
}

describe('qe energy terms on the converged fcc Al fixture (LDA-PZ, QE 6.7)', () => {
  const structure = readQeStructure(path.join(FX, 'Al.pw.scf.in'));
  const out = readQeStructure(path.join(FX, 'Al.pw.scf.out'));
  const pps = loadPseudopotentials(structure.species, FX, structure.pseudopotentialFiles);
  const dens = readDensityFilplot(path.join(FX, 'Al_dens.filplot'));
  const xml = xmlEnergiesRy();
  const terms = computeEnergyTerms({ ...structure, grid: dens.grid, densityPerA3: dens.densityPerA3, pseudopotentials: pps });

  it("uses QE's grid and G-sphere: 24×24×24, 5449 G-vectors, 12 electrons", () => {
    assert.deepEqual(dens.grid, out.grid);
    assert.equal(terms.gVectorCount, out.gVectorCount);
    assert.equal(terms.gVectorCount, 5449);
    assert.ok(Math.abs(terms.electronsFiltered - 12) < 1e-6, `∫ñ = ${terms.electronsFiltered}`);
    assert.equal(terms.functional, 'pz');
    assert.equal(terms.coreElectrons, 0);
  });

  it("E_H, E_xc, vtxc and E_ewald match QE's XML to 1e-11 Ry (the README's claim; measured ≤ 8.6e-12)", () => {
    const pairs: [string, number, number][] = [
      ['ehart', terms.hartreeRy, xml.ehart],
      ['etxc', terms.xcRy, xml.etxc],
      ['vtxc', terms.vtxcRy, xml.vtxc],
      ['ewald', terms.ewaldRy, xml.ewald],
    ];
    for (const [name, mine, qe] of pairs) assert.ok(Math.abs(mine - qe) < 1e-11, `${name}: ${mine} vs QE ${qe} (Δ ${mine - qe})`);
    // the printed values agree too (8 decimals)
    assert.ok(Math.abs(terms.ewaldRy - (out.printedEnergiesRy?.ewald as number)) < 1e-8 + 5e-9);
  });

  it("deband is QE's one-electron term minus eband, and the total from QE's band energy matches QE's to 1e-5 Ry", () => {
    const oneElectron = out.printedEnergiesRy?.oneElectron as number;
    assert.ok(Math.abs(xml.eband + terms.debandRy - oneElectron) < 1e-6, `eband + deband = ${xml.eband + terms.debandRy} vs printed ${oneElectron}`);
    const te = totalEnergy({
      ...structure,
      grid: dens.grid,
      densityPerA3: dens.densityPerA3,
      densityShape: [...dens.grid, 1],
      bandEnergyEv: ryToEv(xml.eband),
      entropyContributionEv: ryToEv(xml.demet),
      pseudoDir: FX,
      pseudopotentialFiles: structure.pseudopotentialFiles,
    });
    assert.ok(Math.abs(te.totalEnergyRy - xml.etot) < 1e-5, `E_total ${te.totalEnergyRy} vs QE ${xml.etot} Ry (Δ ${te.totalEnergyRy - xml.etot})`);
    assert.ok(Math.abs(te.totalEnergyEv - ryToEv(xml.etot)) < 1e-4);
    const sumRy = Object.values(te.termsRy).reduce((a, b) => a + b, 0);
    assert.ok(Math.abs(sumRy - te.totalEnergyRy) < 1e-12);
    assert.ok(Math.abs(te.termsEv.e_hartree - ryToEv(terms.hartreeRy)) < 1e-12);
  });

  it("the 5-digit pp.x cube gives the same terms to 2e-5 Ry (cube rounding), pp.x's output as is", () => {
    const cube = readDensityCube(path.join(FX, 'Al_dens.cube'));
    assert.deepEqual(cube.grid, dens.grid);
    const t = computeEnergyTerms({ ...structure, grid: cube.grid, densityPerA3: cube.densityPerA3, pseudopotentials: pps });
    for (const k of ['hartreeRy', 'xcRy', 'debandRy'] as const) assert.ok(Math.abs(t[k] - terms[k]) < 2e-5, `${k}: ${t[k]} vs ${terms[k]}`);
  });

  it('bad input: wrong density shape, unsupported functional (named), missing pseudopotential', () => {
    const base = { ...structure, grid: dens.grid, densityPerA3: dens.densityPerA3, bandEnergyEv: 0, entropyContributionEv: 0 };
    assert.throws(
      () => totalEnergy({ ...base, densityShape: [24, 24, 23], pseudoDir: FX }),
      (e: unknown) => e instanceof MalaError && /shape \(24, 24, 23\), expected \(24, 24, 24\)/.test(e.message),
    );
    assert.throws(
      () => computeEnergyTerms({ ...structure, grid: [24, 24, 25], densityPerA3: dens.densityPerA3, pseudopotentials: pps }),
      (e: unknown) => e instanceof MalaError && /13824 values but the grid 24×24×25 has 14400/.test(e.message),
    );
    const t = tempDir();
    try {
      const blyp = path.join(t.dir, 'Al.blyp.UPF');
      fs.writeFileSync(blyp, fs.readFileSync(path.join(FX, 'Al.pz-vbc.UPF'), 'utf8').replace('functional=" SLA  PZ   NOGX NOGC"', 'functional="BLYP"'));
      assert.throws(
        () => totalEnergy({ ...base, pseudoDir: t.dir, pseudopotentialFiles: { Al: 'Al.blyp.UPF' } }),
        (e: unknown) => e instanceof MalaError && /unsupported exchange-correlation functional 'BLYP'/.test(e.message) && e.file === blyp,
      );
      assert.throws(
        () => totalEnergy({ ...base, pseudoDir: t.dir, pseudopotentialFiles: { Al: 'Al.pz-vbc.UPF' } }),
        (e: unknown) => e instanceof MalaError && /pseudopotential file not found/.test(e.message),
      );
      const nan = Float64Array.from(dens.densityPerA3);
      nan[7] = NaN;
      assert.throws(() => computeEnergyTerms({ ...structure, grid: dens.grid, densityPerA3: nan, pseudopotentials: pps }), /non-finite value at grid point 7/);
    } finally {
      t.cleanup();
    }
  });
});
