import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { referenceDir, repoRoot, tempDir } from '../helpers';
import { cubeCellAngstrom, cubeVoxelVolumeA3, formatCube, fortranE13_5, LDOS_CUBE_TO_PER_EV_A3, parseCube, readCube, readLdosCubes, readLdosCubeSlice, sortLdosCubeFiles, writeCube, writeLdosCubes } from '../../src/io/cube';
import { readNpy } from '../../src/io/npy';
import { MalaError } from '../../src/errors';
import { bohrAngstrom, bohr3InAngstrom3, rydbergEv } from '../../src/structure/units';

const AL_CUBE = path.join(repoRoot, 'fixtures', 'al-fcc-qe', 'Al_dens.cube');

describe('io/cube', () => {
  let tmp: { dir: string; cleanup: () => void };
  beforeEach(() => {
    tmp = tempDir();
  });
  afterEach(() => tmp.cleanup());

  it('Fortran E13.5 formatting as pp.x writes it', () => {
    assert.equal(fortranE13_5(0.019917), '  0.19917E-01');
    assert.equal(fortranE13_5(1.6737e-4), '  0.16737E-03');
    assert.equal(fortranE13_5(-123456.7), ' -0.12346E+06');
    assert.equal(fortranE13_5(0), '  0.00000E+00');
    assert.equal(fortranE13_5(0.999996), '  0.10000E+01'); // rounds up into the next decade
    assert.equal(fortranE13_5(1.5e-120), '  0.15000-119');
  });

  it("reads this project's pp.x density cube (fcc Al) and writes it back byte for byte", () => {
    const text = fs.readFileSync(AL_CUBE, 'latin1');
    const c = parseCube(text, AL_CUBE);
    assert.deepEqual(c.shape, [24, 24, 24]);
    assert.equal(c.atoms.length, 4);
    assert.equal(c.atoms[0].atomicNumber, 13);
    assert.deepEqual(c.voxelBohr[0], [0.318891, 0, 0]);
    assert.equal(c.data[0], 0.16737e-3); // first value, (i1,i2,i3) = (0,0,0)
    assert.equal(c.data[1], 0.72655e-3); // second value is i3 = 1: z runs fastest
    assert.equal(formatCube(c), text);
    // cell from the cube: 24 × 0.318891 bohr = 4.05 Å (to the 6 printed decimals)
    assert.ok(Math.abs(cubeCellAngstrom(c)[0][0] - 4.05) < 24 * 5e-7 * bohrAngstrom);
    // valence density integrates to 12 electrons (4 Al × 3); 5 significant digits in the file
    let s = 0;
    for (const v of c.data) s += v;
    const electrons = s * cubeVoxelVolumeA3(c) / bohr3InAngstrom3;
    assert.ok(Math.abs(electrons - 12) < 1e-3, `∫ρ = ${electrons}`);
  });

  it('write → read round trip keeps values to 5 significant digits and the grid exactly', () => {
    const data = Float64Array.from({ length: 3 * 4 * 7 }, (_, i) => Math.exp(-i / 10) * (i % 3 === 0 ? 1 : 1e-3));
    const cube = { comments: [' test', ' title'] as [string, string], originBohr: [0, 0, 0] as [number, number, number], shape: [3, 4, 7] as [number, number, number], voxelBohr: [[0.5, 0, 0], [0, 0.5, 0], [0, 0, 0.25]] as [number, number, number][], atoms: [{ atomicNumber: 4, charge: 4, positionBohr: [1, 1, 1] as [number, number, number] }], data };
    const f = path.join(tmp.dir, 'x.cube');
    writeCube(f, cube);
    const back = readCube(f);
    assert.deepEqual(back.shape, [3, 4, 7]);
    for (let i = 0; i < data.length; i++) assert.ok(Math.abs(back.data[i] - data[i]) <= 5e-5 * data[i] + 1e-300);
    // 7 values per column: one line of 6 and one of 1, for each of the 12 (i1,i2) columns
    assert.equal(fs.readFileSync(f, 'latin1').split('\n').length - 1, 2 + 1 + 3 + 1 + 12 * 2);
    assert.ok(Math.abs(cubeVoxelVolumeA3(back) - 0.0625 * bohr3InAngstrom3) < 1e-15);
  });

  it('malformed cubes give MalaErrors naming the file', () => {
    const f = path.join(tmp.dir, 'bad.cube');
    const good = fs.readFileSync(AL_CUBE, 'latin1');
    fs.writeFileSync(f, good.slice(0, good.lastIndexOf("\n", good.length - 200) + 1));
    assert.throws(() => readCube(f), (e: unknown) => e instanceof MalaError && /truncated/.test(e.message) && e.file === f);
    fs.writeFileSync(f, good.replace('0.16737E-03', '0.16737X-03'));
    assert.throws(() => readCube(f), /'0.16737X-03' is not a number/);
    fs.writeFileSync(f, 'a\nb\n');
    assert.throws(() => readCube(f), /ends inside the header/);
    assert.throws(() => readCube(path.join(tmp.dir, 'missing.cube')), /cannot read cube file/);
  });

  it('sorts pp.x LDOS cube names by energy index and rejects gaps and duplicates', () => {
    const names = ['tmp.pp10Be_ldos.cube', 'tmp.pp02Be_ldos.cube', 'tmp.pp01Be_ldos.cube', ...Array.from({ length: 7 }, (_, i) => `tmp.pp0${i + 3}Be_ldos.cube`), 'tmp.pp11Be_ldos.cube'];
    const sorted = sortLdosCubeFiles(names.map((n) => `/d/${n}`)).map((f) => path.basename(f));
    assert.deepEqual(sorted, Array.from({ length: 11 }, (_, i) => `tmp.pp${String(i + 1).padStart(2, '0')}Be_ldos.cube`));
    assert.throws(() => sortLdosCubeFiles(['a.pp01x.cube', 'a.pp03x.cube']), /skip energy index 2/);
    assert.throws(() => sortLdosCubeFiles(['a.pp01x.cube', 'b.pp01x.cube']), /two LDOS cubes have energy index 1/);
    assert.throws(() => sortLdosCubeFiles(['ldos.cube']), /cannot tell the energy index/);
  });

  it("Be2 LDOS written as pp.x cubes reads back as MALA's .out.npy (1/(Ry·Bohr³) → 1/(eV·Å³), z fastest)", function () {
    const dir = referenceDir(this);
    const npy = readNpy(path.join(dir, 'Be_snapshot0.out.npy'));
    const voxelBohr = [[0.237247, 0, 0], [-0.118624, 0.205462, 0], [0, 0, 0.249855]] as [number, number, number][];
    const energies = Array.from({ length: 11 }, (_, i) => -5 + 2.5 * i);
    const files = writeLdosCubes(tmp.dir, npy.data, { shape: [18, 18, 27], voxelBohr, atoms: [{ atomicNumber: 4, charge: 4, positionBohr: [3.312469, 0.606609, 5.060068] }] }, energies, { suffix: 'Be_ldos.cube', broadeningEv: 5 });
    assert.equal(path.basename(files[0]), 'tmp.pp01Be_ldos.cube');
    const first = readCube(files[0]);
    assert.equal(first.comments[1], '  Energy =  -5.0000 eV, broadening =   5.0000 eV');
    // the raw cube value is the MALA value × Rydberg × Bohr³ (qe-notes §3: npy = cube × 0.4959934)
    assert.ok(Math.abs(LDOS_CUBE_TO_PER_EV_A3 - 0.4959934) < 1e-7);
    assert.ok(Math.abs(first.data[0] * LDOS_CUBE_TO_PER_EV_A3 - npy.data[0]) <= 5e-5 * npy.data[0]);
    const back = readLdosCubes([...files].reverse(), { energiesEv: energies, shape: [18, 18, 27] });
    assert.deepEqual(back.shape, [18, 18, 27, 11]);
    let maxRel = 0;
    for (let i = 0; i < npy.data.length; i++) maxRel = Math.max(maxRel, Math.abs(back.ldosPerEvA3[i] - npy.data[i]) / npy.data[i]);
    assert.ok(maxRel < 5.1e-5, `max rel ${maxRel}`);
    // wrong energy grid or grid shape → clear errors
    assert.throws(() => readLdosCubeSlice(files[1], 1, { energiesEv: energies.map((e) => e + 1) }), /at -2.5 eV but the energy grid puts energy index 1 at -1.5 eV/);
    assert.throws(() => readLdosCubeSlice(files[1], 1, { shape: [18, 18, 28] }), /grid 18×18×27 does not match the expected grid 18×18×28/);
    // the conversion is 1/(Ry·Bohr³) with spec §0.2's Rydberg and Bohr (test/structure/units.test.ts derives those from CODATA 2014)
    assert.equal(rydbergEv, 13.605693012183622);
    assert.equal(LDOS_CUBE_TO_PER_EV_A3, 1 / (13.605693012183622 * 0.5291772105638411 ** 3));
  });
});
