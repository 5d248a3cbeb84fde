import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import execa from 'execa';
import { referenceDir, repoRoot, tempDir } from '../helpers';
import { readCube, readLdosCubeSlice, sortLdosCubeFiles, writeLdosCubes } from '../../src/io/cube';
import { readNpy, writeNpy } from '../../src/io/npy';
import { MalaError } from '../../src/errors';
import { makeEnergyGrid } from '../../src/targets/energy-grid';
import { readQeMetadata } from '../../src/qe/qe-metadata';
import { bohrAngstrom } from '../../src/structure/units';
import { computeObservables } from '../../src/workflow/observables';

const AL_OUT = path.join(repoRoot, 'fixtures', 'al-fcc-qe', 'Al.pw.scf.out');
const BE_FIXTURE = path.join(repoRoot, 'fixtures', 'be2-ldos-qe');
const beCubes = (): string[] => fs.readdirSync(BE_FIXTURE).filter((f) => f.endsWith('.cube.gz')).map((f) => path.join(BE_FIXTURE, f));
const BE_GRID = makeEnergyGrid(-5, 2.5, 11);

/** A smooth positive synthetic LDOS on the fcc-Al fixture's 24³ grid, 1/(eV·Å³). */
function syntheticAlLdos(nE: number): Float32Array {
  const n = 24;
  const out = new Float32Array(n * n * n * nE);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++)
      for (let k = 0; k < n; k++) {
        const p = (i * n + j) * n + k;
        const r = 1 + 0.3 * Math.cos((2 * Math.PI * i) / n) * Math.cos((2 * Math.PI * j) / n) + 0.2 * Math.sin((2 * Math.PI * k) / n);
        for (let e = 0; e < nE; e++) out[p * nE + e] = 0.012 * r * (1 + 0.5 * Math.sin(0.7 * e)) * Math.sqrt(e + 1);
      }
  return out;
}

describe('workflow/observables', () => {
  let tmp: { dir: string; cleanup: () => void };
  beforeEach(() => {
    tmp = tempDir();
  });
  afterEach(() => tmp.cleanup());

  it('fcc-Al fixture (always on): .npy and pp.x-style cubes give the same observables; density integrates to N', async () => {
    const nE = 12;
    const grid = makeEnergyGrid(-2, 1, nE);
    const ldos = syntheticAlLdos(nE);
    const npy = path.join(tmp.dir, 'al.out.npy');
    writeNpy(npy, ldos, [24, 24, 24, nE]);
    const md = readQeMetadata(AL_OUT);
    const voxelBohr = md.cellAngstrom!.map((row) => row.map((v) => v / bohrAngstrom / 24) as [number, number, number]);
    const files = writeLdosCubes(tmp.dir, ldos, { shape: [24, 24, 24], voxelBohr, atoms: [] }, Array.from({ length: nE }, (_, i) => -2 + i));
    const a = await computeObservables({ ldos: { kind: 'npy', file: npy }, energyGrid: grid, structureFile: AL_OUT, chunkPoints: 1000, densityOut: path.join(tmp.dir, 'dens.npy') });
    const png = path.join(tmp.dir, 'dos.png');
    const b = await computeObservables({ ldos: { kind: 'cubes', files }, energyGrid: grid, structureFile: AL_OUT, densityOut: path.join(tmp.dir, 'dens.cube'), plotOut: png });
    // a real PNG (rendered by vega → resvg), of the size the spec asks for (2× zoom)
    const pngBytes = fs.readFileSync(png);
    assert.equal(pngBytes.subarray(1, 4).toString('latin1'), 'PNG');
    assert.ok(pngBytes.readUInt32BE(16) > 1000 && pngBytes.readUInt32BE(20) > 600, 'PNG width/height');
    await assert.rejects(computeObservables({ ldos: { kind: 'cubes', files }, energyGrid: grid, structureFile: AL_OUT, plotOut: path.join(tmp.dir, 'dos.jpg') }), /unknown plot format '.jpg'/);
    await assert.rejects(computeObservables({ ldos: { kind: 'cubes', files }, energyGrid: grid, structureFile: AL_OUT, densityOut: path.join(tmp.dir, 'dens.xsf') }), /unknown density format '.xsf'/);
    // cubes without --structure: cell from the cube header, T and N from flags
    const c = await computeObservables({ ldos: { kind: 'cubes', files }, energyGrid: grid, temperatureK: md.temperatureK, electrons: 12 });
    assert.equal(a.temperatureK, md.temperatureK);
    assert.equal(a.electronsRequested, 12);
    assert.ok(Math.abs(a.numberOfElectrons - 12) < 1e-10);
    assert.ok(Math.abs(a.densityElectrons - 12) < 1e-9, `∫n = ${a.densityElectrons}`);
    assert.ok(a.fermiEnergyEv > -2 && a.fermiEnergyEv < 9);
    // [result, E_F tolerance (eV), relative tolerance of E_band, −TS and the DOS]
    for (const [r, tolEv, tolRel] of [[b, 5e-6, 5e-6], [c, 1e-4, 2e-5]] as const) {
      // cube values carry 5 significant digits (DOS within ~2e-6); the cube's own voxel
      // (a_i/n_i to 6 decimals of bohr) changes the volume by ~3e-6, so E_F moves by ~3e-5 eV in c
      assert.ok(Math.abs(r.fermiEnergyEv - a.fermiEnergyEv) < tolEv, `E_F ${r.fermiEnergyEv} vs ${a.fermiEnergyEv}`);
      assert.ok(Math.abs(r.bandEnergyEv - a.bandEnergyEv) / Math.abs(a.bandEnergyEv) < tolRel);
      assert.ok(Math.abs(r.entropyContributionEv - a.entropyContributionEv) / Math.abs(a.entropyContributionEv) < tolRel);
      for (let k = 0; k < nE; k++) assert.ok(Math.abs(r.dosPerEv[k] - a.dosPerEv[k]) / a.dosPerEv[k] < tolRel);
      assert.ok(Math.abs(r.densityElectrons - 12) < 1e-9);
    }
    // density outputs: .npy in 1/Å³ (nx,ny,nz,1); .cube in 1/Bohr³ with the structure's atoms
    const dn = readNpy(path.join(tmp.dir, 'dens.npy'));
    assert.deepEqual(dn.shape, [24, 24, 24, 1]);
    const dc = readCube(path.join(tmp.dir, 'dens.cube'));
    assert.equal(dc.atoms.length, 4);
    assert.equal(dc.atoms[0].atomicNumber, 13);
    assert.ok(Math.abs((dc.data[100] / bohrAngstrom ** 3) - dn.data[100]) / dn.data[100] < 1e-4);
  });

  it("this project's own pp.x Be2 LDOS cubes (always on) give §6.2 E_F, E_band, −TS to 1e-5 eV and a density of 4.000000", async () => {
    const files = beCubes();
    assert.equal(files.length, 11);
    const r = await computeObservables({ ldos: { kind: 'cubes', files }, energyGrid: BE_GRID, structureFile: path.join(BE_FIXTURE, 'Be.pw.scf.out') });
    assert.equal(r.temperatureK, 299.98637294316444);
    assert.deepEqual(r.gridShape, [18, 18, 27]);
    assert.ok(Math.abs(r.fermiEnergyEv - 10.24074) < 1e-5, `E_F ${r.fermiEnergyEv}`);
    assert.ok(Math.abs(r.bandEnergyEv - 12.44708) < 1e-5, `E_band ${r.bandEnergyEv}`);
    assert.ok(Math.abs(r.entropyContributionEv - -6.5516e-4) < 1e-8, `−TS ${r.entropyContributionEv}`);
    assert.equal(r.densityElectrons.toFixed(6), '4.000000');
    const dos0 = [0.136804, 0.183016, 0.229478, 0.269128, 0.295993, 0.306685, 0.300197, 0.277404, 0.241451, 0.197831, 0.152962];
    for (let k = 0; k < 11; k++) assert.ok(Math.abs(r.dosPerEv[k] - dos0[k]) <= 5e-7 + 2e-6 * dos0[k], `D_${k} ${r.dosPerEv[k]}`);
  });

  it("own pp.x cubes vs MALA's Be_snapshot0.out.npy (reference): same LDOS to 5-digit precision, same observables to 1e-6 eV", async function () {
    const dir = referenceDir(this);
    const npy = readNpy(path.join(dir, 'Be_snapshot0.out.npy'));
    const sorted = sortLdosCubeFiles(beCubes());
    for (let k = 0; k < 11; k++) {
      const slice = readLdosCubeSlice(sorted[k], k).ldosPerEvA3;
      let num = 0;
      let den = 0;
      for (let p = 0; p < slice.length; p++) {
        num += (slice[p] - npy.data[p * 11 + k]) ** 2;
        den += npy.data[p * 11 + k] ** 2;
      }
      // MALA's .out.npy is float32 of the same 5-digit cubes (qe-notes §3: 2–3e-8)
      assert.ok(Math.sqrt(num / den) < 1e-7, `channel ${k}: rel. L2 ${Math.sqrt(num / den)}`);
    }
    const a = await computeObservables({ ldos: { kind: 'npy', file: path.join(dir, 'Be_snapshot0.out.npy') }, energyGrid: BE_GRID, structureFile: path.join(dir, 'Be_snapshot0.out') });
    const b = await computeObservables({ ldos: { kind: 'cubes', files: beCubes() }, energyGrid: BE_GRID, structureFile: path.join(BE_FIXTURE, 'Be.pw.scf.out') });
    assert.ok(Math.abs(a.fermiEnergyEv - b.fermiEnergyEv) < 1e-6);
    assert.ok(Math.abs(a.bandEnergyEv - b.bandEnergyEv) < 1e-6);
    assert.ok(Math.abs(a.entropyContributionEv - b.entropyContributionEv) < 1e-9);
  });

  it('streaming gives identical results for any block size, float64 files and big-endian files (fallback reader)', async () => {
    const nE = 12;
    const grid = makeEnergyGrid(-2, 1, nE);
    const ldos = syntheticAlLdos(nE);
    const f32 = path.join(tmp.dir, 'f32.npy');
    writeNpy(f32, ldos, [24, 24, 24, nE]);
    const f64 = path.join(tmp.dir, 'f64.npy');
    writeNpy(f64, Float64Array.from(ldos), [24, 24, 24, nE]);
    // big-endian float32: same header with '>f4' and byte-swapped data
    const be = path.join(tmp.dir, 'be.npy');
    const bytes = Buffer.from(fs.readFileSync(f32));
    const dataOffset = bytes.indexOf(0x0a) + 1;
    bytes.write("'>f4'", bytes.indexOf("'<f4'"), 'latin1');
    for (let i = dataOffset; i < bytes.length; i += 4) bytes.subarray(i, i + 4).reverse();
    fs.writeFileSync(be, bytes);
    const run = (file: string, chunkPoints?: number) => computeObservables({ ldos: { kind: 'npy', file }, energyGrid: grid, structureFile: AL_OUT, chunkPoints });
    const ref = await run(f32);
    for (const r of [await run(f32, 1), await run(f32, 7), await run(f32, 13823), await run(f64, 999), await run(be, 5)]) {
      assert.equal(r.fermiEnergyEv, ref.fermiEnergyEv);
      assert.equal(r.bandEnergyEv, ref.bandEnergyEv);
      assert.deepEqual(Array.from(r.dosPerEv), Array.from(ref.dosPerEv));
      assert.equal(r.densityElectrons, ref.densityElectrons);
    }
  });

  it('bad input: grid not matching the structure, wrong cube count, no cell for .npy, no temperature/electrons', async () => {
    const nE = 4;
    const grid = makeEnergyGrid(0, 1, nE);
    const npy = path.join(tmp.dir, 'l.npy');
    writeNpy(npy, new Float32Array(10 * 10 * 10 * nE).fill(0.01), [10, 10, 10, nE]);
    await assert.rejects(computeObservables({ ldos: { kind: 'npy', file: npy }, energyGrid: grid, structureFile: AL_OUT }), (e: unknown) => e instanceof MalaError && /LDOS grid \(10, 10, 10\) does not match the FFT grid \(24, 24, 24\)/.test(e.message));
    await assert.rejects(computeObservables({ ldos: { kind: 'npy', file: npy }, energyGrid: makeEnergyGrid(0, 1, 5), structureFile: AL_OUT }), /LDOS has shape \(10, 10, 10, 4\) but the energy grid has 5 energies/);
    await assert.rejects(computeObservables({ ldos: { kind: 'npy', file: npy }, energyGrid: grid, temperatureK: 300, electrons: 2 }), /voxel volume is unknown/);
    await assert.rejects(computeObservables({ ldos: { kind: 'npy', file: npy }, energyGrid: grid, electrons: 2 }), /no electronic temperature/);
    await assert.rejects(computeObservables({ ldos: { kind: 'npy', file: npy }, energyGrid: grid, temperatureK: 300 }), /no electron count/);
    const files = writeLdosCubes(tmp.dir, new Float32Array(2 * 2 * 2 * 3).fill(0.01), { shape: [2, 2, 2], voxelBohr: [[1, 0, 0], [0, 1, 0], [0, 0, 1]], atoms: [] }, [0, 1, 2]);
    await assert.rejects(computeObservables({ ldos: { kind: 'cubes', files }, energyGrid: grid, temperatureK: 300, electrons: 1 }), /3 LDOS cube files given but the energy grid has 4 energies/);
    const nanNpy = path.join(tmp.dir, 'nan.npy');
    const bad = new Float32Array(24 * 24 * 24 * nE).fill(0.01);
    bad[5000] = NaN;
    writeNpy(nanNpy, bad, [24, 24, 24, nE]);
    await assert.rejects(computeObservables({ ldos: { kind: 'npy', file: nanNpy }, energyGrid: grid, structureFile: AL_OUT }), (e: unknown) => e instanceof MalaError && /NaN at grid point 1250, energy index 0/.test(e.message) && e.file === nanNpy);
  });

  it('Be2 (reference): npy and the same LDOS as pp.x cubes give §6.2 observables; CLI --json, CSV, plot, density cube', async function () {
    const dir = referenceDir(this);
    const out0 = path.join(dir, 'Be_snapshot0.out');
    const npy = path.join(dir, 'Be_snapshot0.out.npy');
    const a = await computeObservables({ ldos: { kind: 'npy', file: npy }, energyGrid: BE_GRID, structureFile: out0 });
    assert.ok(Math.abs(a.fermiEnergyEv - 10.24074) < 1e-5);
    assert.ok(Math.abs(a.bandEnergyEv - 12.44708) < 1e-5);
    assert.ok(Math.abs(a.entropyContributionEv + 6.5516e-4) < 1e-8);
    assert.equal(a.densityElectrons.toFixed(6), '4.000000');
    const ldos = readNpy(npy);
    const md = readQeMetadata(out0);
    const voxelBohr = md.cellAngstrom!.map((row) => row.map((v) => v / bohrAngstrom / 18) as [number, number, number]);
    voxelBohr[2] = voxelBohr[2].map((v) => (v * 18) / 27) as [number, number, number];
    const cubeDir = path.join(tmp.dir, 'cubes');
    fs.mkdirSync(cubeDir);
    const files = writeLdosCubes(cubeDir, ldos.data, { shape: [18, 18, 27], voxelBohr, atoms: [] }, Array.from({ length: 11 }, (_, i) => -5 + 2.5 * i), { suffix: 'Be_ldos.cube', broadeningEv: 5 });
    const b = await computeObservables({ ldos: { kind: 'cubes', files }, energyGrid: BE_GRID, structureFile: out0 });
    assert.ok(Math.abs(b.fermiEnergyEv - a.fermiEnergyEv) < 1e-5, `${b.fermiEnergyEv}`);
    assert.ok(Math.abs(b.bandEnergyEv - a.bandEnergyEv) < 1e-5);
    assert.ok(Math.abs(b.entropyContributionEv - a.entropyContributionEv) < 1e-8);
    assert.equal(b.densityElectrons.toFixed(6), '4.000000');

    // the command line, end to end
    const csv = path.join(tmp.dir, 'dos.csv');
    const svg = path.join(tmp.dir, 'dos.svg');
    const dens = path.join(tmp.dir, 'dens.cube');
    const r = await execa('node', [path.join(repoRoot, 'bin', 'mala-ts.js'), 'observables', '--ldos', npy, '--structure', out0, '--energy-grid=-5,2.5,11', '--json', '--dos-out', csv, '--plot', svg, '--density-out', dens], { reject: false });
    assert.equal(r.exitCode, 0, r.stderr);
    const j = JSON.parse(r.stdout);
    for (const k of ['fermi_energy_ev', 'band_energy_ev', 'entropy_contribution_ev', 'number_of_electrons']) assert.equal(typeof j[k], 'number', k);
    assert.equal(j.fermi_energy_ev, a.fermiEnergyEv);
    assert.equal(j.band_energy_ev, a.bandEnergyEv);
    assert.deepEqual(j.dos_per_ev, Array.from(a.dosPerEv));
    const rows = fs.readFileSync(csv, 'utf8').trim().split('\n');
    assert.equal(rows[0], 'energy_ev,dos_per_ev');
    assert.equal(rows.length, 12);
    assert.equal(Number(rows[1].split(',')[1]), a.dosPerEv[0]);
    const svgText = fs.readFileSync(svg, 'utf8');
    assert.match(svgText, /^<svg/);
    assert.match(svgText, /E_F = 10\.2407 eV/);
    const cube = readCube(dens);
    assert.deepEqual(cube.shape, [18, 18, 27]);
    assert.equal(cube.atoms.length, 2);
    // the cube's voxel is pp.x's for this structure (qe-notes §3)
    assert.deepEqual(cube.voxelBohr[1].map((v) => v.toFixed(6)), ['-0.118624', '0.205462', '0.000000']);

    // --pseudo-dir adds the QE-module terms (src/qe) through the total-energy hook: §6.2 −72.81827 eV
    const te = await execa('node', [path.join(repoRoot, 'bin', 'mala-ts.js'), 'observables', '--ldos', npy, '--structure', out0, '--energy-grid=-5,2.5,11', '--json', '--pseudo-dir', dir], { reject: false });
    assert.equal(te.exitCode, 0, te.stderr);
    const tj = JSON.parse(te.stdout);
    assert.ok(Math.abs(tj.total_energy_ev - -72.81827) < 1e-5, `total ${tj.total_energy_ev}`);
    assert.equal(tj.energy_contributions_ev.e_band, a.bandEnergyEv);

    // --ldos with the folder of cubes
    const fromDir = await execa('node', [path.join(repoRoot, 'bin', 'mala-ts.js'), 'observables', '--ldos', cubeDir, '--structure', out0, '--energy-grid=-5,2.5,11', '--json'], { reject: false });
    assert.equal(fromDir.exitCode, 0, fromDir.stderr);
    assert.equal(JSON.parse(fromDir.stdout).fermi_energy_ev, b.fermiEnergyEv);
    assert.deepEqual(JSON.parse(fromDir.stdout).warnings, []);

    // a user error: one clear line on stderr, exit 1
    const bad = await execa('node', [path.join(repoRoot, 'bin', 'mala-ts.js'), 'observables', '--ldos', npy, '--structure', out0, '--energy-grid=-5,2.5,11', '--electrons', '40'], { reject: false });
    assert.equal(bad.exitCode, 1);
    assert.match(bad.stderr, /error: .*no Fermi level in the energy window -5…20 eV/);
    assert.match(bad.stderr, /fix: /);
  });

  it('metadata from a pw.x input: degauss → T, FFT grid from ecutrho; from an output: what pw.x printed', async function () {
    const dir = referenceDir(this);
    const inp = readQeMetadata(path.join(dir, 'recreate_data', 'Be.pw.scf.in'));
    assert.equal(inp.kind, 'pw-input');
    assert.deepEqual(inp.gridShape, [18, 18, 27]);
    assert.ok(Math.abs(inp.temperatureK! - 297.9969896278572) < 1e-9);
    assert.equal(inp.numberOfElectrons, undefined);
    // the input's degauss (0.0018874 Ry) is not the printed 0.0019: the result says so
    const r = await computeObservables({ ldos: { kind: 'npy', file: path.join(dir, 'Be_snapshot0.out.npy') }, energyGrid: BE_GRID, structureFile: path.join(dir, 'recreate_data', 'Be.pw.scf.in'), electrons: 4 });
    assert.equal(r.warnings.length, 1);
    assert.match(r.warnings[0], /degauss \(0.0018874 Ry\)/);
    assert.ok(Math.abs(r.fermiEnergyEv - 10.24074) < 1e-4);
    const out = readQeMetadata(path.join(dir, 'Be_snapshot0.out'));
    assert.equal(out.kind, 'pw-output');
    assert.equal(out.numberOfElectrons, 4);
    assert.equal(out.smearing, 'Fermi-Dirac');
    assert.ok(Math.abs(out.temperatureK! - 299.98637294316444) < 1e-9);
    assert.equal(out.ecutrhoRy, 160);
    assert.equal(out.fermiEnergyDftEv, 8.743);
  });
});
