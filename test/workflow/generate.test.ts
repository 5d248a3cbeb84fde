import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tempDir } from '../helpers';
import { MalaError } from '../../src/errors';
import { readNpy } from '../../src/io/npy';
import { makeEnergyGrid, energiesEv } from '../../src/targets/energy-grid';
import { parseQeXmlBands } from '../../src/dft/qe-xml';
import { generateSnapshot, GenerateOptions } from '../../src/workflow/generate';
import { malaBispectrumDefaults } from '../../src/descriptors/mala-defaults';

// One-atom fcc Al (primitive cell), tiny cutoff and k-mesh: pw.x and pp.x take about a second.
const A = 4.05;
const scfInput = (system = '', electrons = '') => `&CONTROL
  calculation = 'scf'
  prefix = 'al1'
  pseudo_dir = '/usr/share/espresso/pseudo'
/
&SYSTEM
  ibrav = 0, nat = 1, ntyp = 1, ecutwfc = 12, ecutrho = 48, nbnd = 8
  occupations = 'smearing', smearing = 'fermi-dirac', degauss = 0.0018874
  nosym = .true., noinv = .true.
  ${system}
/
&ELECTRONS
  conv_thr = 1.0d-7
  ${electrons}
/
ATOMIC_SPECIES
Al 26.9815385 Al.pz-vbc.UPF
CELL_PARAMETERS angstrom
0.0 ${A / 2} ${A / 2}
${A / 2} 0.0 ${A / 2}
${A / 2} ${A / 2} 0.0
ATOMIC_POSITIONS angstrom
Al 0.05 -0.02 0.01
K_POINTS automatic
3 3 3 0 0 0
`;

const grid = makeEnergyGrid(-5, 0.5, 30); // −5 … 9.5 eV
const desc = { ...malaBispectrumDefaults, twojmax: 2 };

describe('workflow/generate: QE 6.7 → MALA training snapshot (real pw.x/pp.x/LAMMPS runs)', function () {
  this.timeout(180000);
  let tmp: ReturnType<typeof tempDir>;
  before(() => {
    tmp = tempDir('mala-ts-generate-');
  });
  after(() => tmp.cleanup());

  const opts = (input: string, extra: Partial<GenerateOptions> = {}): GenerateOptions => ({ qeInput: input, energyGrid: grid, broadeningEv: 0.4, outDir: path.join(tmp.dir, 'out'), descriptors: desc, ...extra });

  it('makes .in.npy/.out.npy/.info.json whose LDOS integrates to the Gaussian DOS of the eigenvalues; a rerun does nothing', async () => {
    const input = tmp.write('al1.pw.scf.in', scfInput());
    const r = await generateSnapshot(opts(input, { keepWork: true }));
    assert.equal(r.name, 'al1');
    const ldos = readNpy(r.ldosFile);
    const d = readNpy(r.descriptorsFile);
    const [nx, ny, nz, nE] = ldos.shape;
    assert.equal(nE, grid.count);
    assert.deepEqual(d.shape, [nx, ny, nz, 3 + 5]);
    const info = JSON.parse(fs.readFileSync(r.infoFile, 'utf8'));
    assert.deepEqual(info.grid_dimensions, [nx, ny, nz]);
    assert.ok(Math.abs(info.temperature - 298) < 0.1, `T = ${info.temperature}`);
    assert.ok(Math.abs(info.number_of_electrons_from_eigenvals - 3) < 1e-6);
    assert.equal(info.number_of_electrons_exact, 3);
    assert.ok(info.total_energy_dft_calculation < -50 && info.total_energy_dft_calculation > -60, `${info.total_energy_dft_calculation}`);

    // ∫LDOS d³r at each energy = Σ_k w_k Σ_n exp(−((E−ε)/σ)²)/(σ√π): Gaussian kernel, units 1/(eV·Å³)
    const bands = parseQeXmlBands(fs.readFileSync(path.join(tmp.dir, 'out', '.work', 'al1', 'pw.scf.xml'), 'utf8'));
    const cell = info.atoms.cell as number[][];
    const vol = Math.abs(cell[0][0] * (cell[1][1] * cell[2][2] - cell[1][2] * cell[2][1]) - cell[0][1] * (cell[1][0] * cell[2][2] - cell[1][2] * cell[2][0]) + cell[0][2] * (cell[1][0] * cell[2][1] - cell[1][1] * cell[2][0]));
    const npts = nx * ny * nz;
    const e = energiesEv(grid);
    let maxRel = 0;
    for (let k = 0; k < nE; k++) {
      let s = 0;
      for (let p = 0; p < npts; p++) s += ldos.data[p * nE + k];
      const integral = (s * vol) / npts;
      let dos = 0;
      bands.eigenvaluesEv.forEach((eps, ik) => eps.forEach((x) => (dos += (bands.kWeights[ik] * Math.exp(-(((e[k] - x) / 0.4) ** 2))) / (0.4 * Math.sqrt(Math.PI)))));
      if (dos > 0.05) maxRel = Math.max(maxRel, Math.abs(integral - dos) / dos);
    }
    assert.ok(maxRel < 2e-4, `∫LDOS vs Gaussian DOS: max rel. difference ${maxRel}`);

    const mtime = fs.statSync(r.ldosFile).mtimeMs;
    const again = await generateSnapshot(opts(input, { keepWork: true }));
    assert.deepEqual(again.skipped, ['scf', 'ldos', 'descriptors', 'info']);
    assert.deepEqual(again.seconds, {});
    assert.equal(fs.statSync(r.ldosFile).mtimeMs, mtime);
  });

  it('an interrupted pp.x leaves no result that looks whole, and the rerun resumes after the SCF', async () => {
    const input = tmp.write('al1b.pw.scf.in', scfInput());
    // a pp.x that writes two cubes and is killed
    const fake = tmp.write('fake-pp.sh', '#!/bin/sh\necho "     Energy =  -5.00000 eV, broadening =   0.50000eV"\ntouch tmp.pp001al1b_ldos.cube tmp.pp002al1b_ldos.cube\nkill -9 $$\n');
    fs.chmodSync(fake, 0o755);
    await assert.rejects(generateSnapshot(opts(input, { ppx: fake })), (e: unknown) => e instanceof MalaError && /exited with status|SIGKILL/.test(e.message));
    const out = path.join(tmp.dir, 'out');
    assert.ok(!fs.existsSync(path.join(out, 'al1b.out.npy')));
    assert.ok(!fs.existsSync(path.join(out, 'al1b.info.json')));
    assert.ok(!fs.existsSync(path.join(out, '.work', 'al1b', 'ldos.done.json')));
    const r = await generateSnapshot(opts(input));
    assert.deepEqual(r.skipped, ['scf']);
    assert.ok('ldos' in r.seconds && 'descriptors' in r.seconds);
    assert.equal(readNpy(r.ldosFile).shape[3], grid.count);
    // work files are gone without --keep-work, the XML copy stays for the info
    assert.ok(!fs.existsSync(path.join(out, '.work', 'al1b', 'tmp')));
    // a changed energy grid redoes the LDOS (and, with the wavefunctions gone, the SCF), never mixing
    const r2 = await generateSnapshot(opts(input, { energyGrid: makeEnergyGrid(-5.5, 0.5, 31) }));
    assert.ok('scf' in r2.seconds && 'ldos' in r2.seconds);
    assert.equal(readNpy(r2.ldosFile).shape[3], 31);
    assert.equal(JSON.parse(fs.readFileSync(r2.infoFile, 'utf8')).mala_ts.ldos_gridoffset_ev, -5.5);
  });

  it('bad input: what LDOS generation needs is missing, or the grid does not fit the bands', async () => {
    const bad = async (text: string, re: RegExp, extra: Partial<GenerateOptions> = {}) => {
      const f = tmp.write(`bad${Math.random().toString(36).slice(2)}.in`, text);
      await assert.rejects(generateSnapshot(opts(f, extra)), (e: unknown) => {
        if (!(e instanceof MalaError && re.test(e.message) && Boolean(e.fix))) throw new Error(`expected ${re}, got: ${(e as Error).message}`);
        return true;
      });
    };
    await bad(scfInput().replace("occupations = 'smearing', smearing = 'fermi-dirac', degauss = 0.0018874", ''), /occupations/);
    await bad(scfInput().replace("smearing = 'fermi-dirac'", "smearing = 'mv'"), /smearing = 'mv'/);
    await bad(scfInput().replace('Al.pz-vbc.UPF', 'Al.missing.UPF'), /Al\.missing\.UPF.*not in/);
    await bad(scfInput().replace("calculation = 'scf'", "calculation = 'relax'"), /plain SCF/);
    // the energy grid asks for more than 999 pp.x files
    await bad(scfInput(), /999/, { energyGrid: makeEnergyGrid(-5, 0.01, 1200) });
    // after the SCF: too few bands for the top of the grid, a grid starting inside the band
    await bad(scfInput().replace('nbnd = 8', 'nbnd = 2'), /nbnd = 2 is too small/);
    await bad(scfInput(), /lowest band/, { energyGrid: makeEnergyGrid(0, 0.5, 20) });
    // pw.x itself fails: QE's own lines are quoted
    await bad(scfInput('', 'electron_maxstep = 1'), /did not converge[\s\S]*convergence NOT achieved/);
  });
});
