import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tempDir } from '../helpers';
import { MalaError } from '../../src/errors';
import { readNpy } from '../../src/io/npy';
import { readDensityFilplot } from '../../src/qe/qe-files';
import { rydbergEv } from '../../src/structure/units';
import { makeEnergyGrid } from '../../src/targets/energy-grid';
import { ldosFromWavefunctions, nativeLdosRefusal } from '../../src/dft/ldos-from-wavefunctions';
import { chooseLdosEngine, generateSnapshot, GenerateOptions } from '../../src/workflow/generate';
import { malaBispectrumDefaults } from '../../src/descriptors/mala-defaults';

// Two Al atoms off their lattice sites (no symmetry; time reversal pairs ±k), a 3×3×2 mesh: pw.x
// and pp.x take about a second each.
const A = 4.05;
const scfInput = (positions = 'Al 0.05 -0.02 0.01\nAl 2.05 2.0 0.11') => `&CONTROL
  calculation = 'scf'
  prefix = 'al2'
  pseudo_dir = '/usr/share/espresso/pseudo'
/
&SYSTEM
  ibrav = 0, nat = 2, ntyp = 1, ecutwfc = 12, ecutrho = 48, nbnd = 12
  occupations = 'smearing', smearing = 'fermi-dirac', degauss = 0.0018874
/
&ELECTRONS
  conv_thr = 1.0d-7
/
ATOMIC_SPECIES
Al 26.9815385 Al.pz-vbc.UPF
CELL_PARAMETERS angstrom
0.0 ${A / 2} ${A / 2}
${A / 2} 0.0 ${A / 2}
${A} ${A} 0.0
ATOMIC_POSITIONS angstrom
${positions}
K_POINTS automatic
3 3 2 0 0 0
`;
const grid = makeEnergyGrid(-5, 0.25, 60); // −5 … 9.75 eV
const sigmaEv = 0.2;

describe('dft/ldos-from-wavefunctions: the LDOS in one pass over the bands, pp.x\'s numbers (real pw.x/pp.x runs)', function () {
  this.timeout(180000);
  let tmp: ReturnType<typeof tempDir>;
  before(() => (tmp = tempDir('mala-ts-native-ldos-')));
  after(() => tmp.cleanup());
  const opts = (input: string, out: string, extra: Partial<GenerateOptions> = {}): GenerateOptions => ({
    qeInput: input, energyGrid: grid, broadeningEv: sigmaEv, outDir: path.join(tmp.dir, out), descriptors: { ...malaBispectrumDefaults, twojmax: 2 }, keepWork: true, ...extra,
  });

  it('equals pp.x\'s 10-digit LDOS files to float32 precision, at every energy and point; generate writes it with either engine alike', async () => {
    const input = tmp.write('al2.pw.scf.in', scfInput());
    const logs: string[] = [];
    const viaPpx = await generateSnapshot(opts(input, 'ppx', { ldosEngine: 'pp.x', log: (m) => logs.push(m) }));
    assert.ok(logs.some((l) => /pp\.x LDOS \(--ldos-engine pp\.x\)/.test(l)), logs.join('\n'));
    const work = path.join(tmp.dir, 'ppx', '.work', 'al2');
    const save = path.join(work, 'tmp', 'al2.save');
    const native = ldosFromWavefunctions({ saveDir: save, grid, broadeningEv: sigmaEv });
    const [n1, n2, n3, nE] = native.shape;
    assert.equal(nE, grid.count);
    const nPoints = n1 * n2 * n3;
    let maxAbs = 0;
    let maxRef = 0;
    for (let e = 0; e < nE; e++) {
      const ref = readDensityFilplot(path.join(work, 'ldos', `tmp.pp${String(e + 1).padStart(3, '0')}`));
      assert.deepEqual(ref.grid, [n1, n2, n3]);
      for (let p = 0; p < nPoints; p++) {
        const want = ref.densityPerA3[p] / rydbergEv; // 1/(Ry·Å³) → 1/(eV·Å³)
        maxRef = Math.max(maxRef, Math.abs(want));
        maxAbs = Math.max(maxAbs, Math.abs(native.ldosPerEvA3[p * nE + e] - want));
      }
    }
    assert.ok(maxRef > 0.01, `the LDOS is not empty (max ${maxRef} /(eV·Å³))`);
    assert.ok(maxAbs <= 1e-6 * maxRef, `native vs pp.x: max |Δ| ${maxAbs} of max ${maxRef} (${(maxAbs / maxRef).toExponential(2)})`);

    // generate's default (auto) takes the native route here and writes what pp.x's cubes hold (5 digits)
    logs.length = 0;
    const viaNative = await generateSnapshot(opts(input, 'native', { log: (m) => logs.push(m) }));
    assert.ok(logs.some((l) => /LDOS from the wavefunctions \(native, one pass; auto\)/.test(l)), logs.join('\n'));
    assert.equal(JSON.parse(fs.readFileSync(path.join(tmp.dir, 'native', '.work', 'al2', 'ldos.done.json'), 'utf8')).engine, 'native');
    const a = readNpy(viaNative.ldosFile);
    const b = readNpy(viaPpx.ldosFile);
    assert.deepEqual(a.shape, b.shape);
    let worst = 0;
    for (let i = 0; i < a.data.length; i++) if (Math.abs(b.data[i]) > 1e-3 * maxRef) worst = Math.max(worst, Math.abs(a.data[i] - b.data[i]) / Math.abs(b.data[i]));
    assert.ok(worst < 6e-5, `generate's LDOS, native vs pp.x cubes (5 digits): worst relative difference ${worst}`);
    assert.deepEqual(Array.from(readNpy(viaNative.descriptorsFile).data), Array.from(readNpy(viaPpx.descriptorsFile).data));
  });

  it('refuses what pp.x does differently (symmetry, augmentation, spin, two FFT grids); auto then runs pp.x and says why', async () => {
    const xml = (tags: string) => `<qes>${tags}<fft_grid nr1="12" nr2="12" nr3="24"></fft_grid><fft_smooth nr1="12" nr2="12" nr3="24"></fft_smooth></qes>`;
    assert.equal(nativeLdosRefusal(xml('<nsym>1</nsym><lsda>false</lsda>'), true), undefined);
    assert.match(nativeLdosRefusal(xml('<nsym>48</nsym>'), true) ?? '', /48 symmetry operations/);
    assert.match(nativeLdosRefusal(xml('<nsym>1</nsym>'), false) ?? '', /ultrasoft or PAW/);
    assert.match(nativeLdosRefusal(xml('<nsym>1</nsym><lsda>true</lsda>'), true) ?? '', /spin-polarised/);
    assert.match(nativeLdosRefusal(xml('<nsym>1</nsym><gamma_only>true</gamma_only>'), true) ?? '', /Γ-only/);
    assert.match(nativeLdosRefusal(xml('<nsym>1</nsym>').replace('<fft_smooth nr1="12" nr2="12" nr3="24">', '<fft_smooth nr1="10" nr2="10" nr3="20">'), true) ?? '', /smooth FFT grid/);

    // auto: pp.x when a pp.x template or program was asked for, or when the save dir has no wfc1.dat
    const saveDir = path.join(tmp.dir, 'fake.save');
    fs.mkdirSync(saveDir, { recursive: true });
    const xmlFile = path.join(saveDir, 'data-file-schema.xml');
    const ok = xml('<nsym>1</nsym>');
    assert.match(chooseLdosEngine({}, ok, true, xmlFile).why, /wfc1\.dat/);
    fs.writeFileSync(path.join(saveDir, 'wfc1.dat'), '');
    assert.deepEqual(chooseLdosEngine({}, ok, true, xmlFile), { use: 'native', why: 'auto' });
    assert.deepEqual(chooseLdosEngine({ ppx: 'pp.x' }, ok, true, xmlFile), { use: 'native', why: 'auto' });
    assert.equal(chooseLdosEngine({ ppx: '/opt/qe/bin/pp.x' }, ok, true, xmlFile).use, 'pp.x');
    assert.equal(chooseLdosEngine({ ppTemplate: 'my.pp.in' }, ok, true, xmlFile).use, 'pp.x');
    assert.equal(chooseLdosEngine({ ldosEngine: 'pp.x' }, ok, true, xmlFile).use, 'pp.x');

    // the perfect two-atom crystal has symmetry: native is refused with the fix, auto runs pp.x
    const input = tmp.write('al2sym.pw.scf.in', scfInput(`Al 0 0 0\nAl ${A / 2} ${A / 2} 0`).replace("prefix = 'al2'", "prefix = 'al2sym'"));
    await assert.rejects(generateSnapshot(opts(input, 'sym', { ldosEngine: 'native' })), (e: unknown) => e instanceof MalaError && /symmetry operations/.test(e.message) && /--ldos-engine pp\.x/.test(e.fix ?? ''));
    const logs: string[] = [];
    const r = await generateSnapshot(opts(input, 'sym', { log: (m) => logs.push(m) }));
    assert.ok(logs.some((l) => /pp\.x LDOS \(the native route does not cover \d+ symmetry operations/.test(l)), logs.join('\n'));
    assert.equal(readNpy(r.ldosFile).shape[3], grid.count);
  });
});
