import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MalaError } from '../../src/errors';
import { Atoms, cellVolumeA3, fractionalPositions } from '../../src/structure/atoms';
import { latticeFromIbrav, parseQeInput } from '../../src/structure/qe-input';
import { parseQeOutput, pwscfTimesS, qeEnergiesEv, qeStressKbar } from '../../src/structure/qe-output';
import { pwStressBlock } from '../../src/io/pw-output';
import { pwStress } from '../../src/engine/stress';
import { readStructure } from '../../src/structure/registry';
import { bohrAngstrom, rydbergEv } from '../../src/structure/units';
import { referenceDir, repoRoot } from '../helpers';

const qeDir = path.join(__dirname, '..', 'grid', 'fixtures', 'qe');

function maxDiff(a: number[][], b: number[][]): number {
  let m = 0;
  a.forEach((r, i) => r.forEach((x, j) => (m = Math.max(m, Math.abs(x - b[i][j])))));
  return m;
}

const minimal = (system: string, cards: string): string => `&CONTROL\n/\n&SYSTEM\n${system}\n/\n&ELECTRONS\n/\nATOMIC_SPECIES\nAl 26.98 Al.UPF\n${cards}\nK_POINTS gamma\n`;

describe('structure: QE pw.x input', () => {
  // pw.x printed the cell and positions it understood from each input (6-7 decimals, alat units)
  for (const f of fs.readdirSync(qeDir).filter((x) => x.endsWith('.in'))) {
    it(`reads ${f} as pw.x does`, () => {
      const inp = readStructure(path.join(qeDir, f));
      const out = readStructure(path.join(qeDir, f.replace(/\.in$/, '.out')));
      assert.equal(inp.format, 'qe-in');
      assert.equal(out.format, 'qe-out');
      assert.deepEqual(inp.atoms.symbols, out.atoms.symbols);
      assert.ok(maxDiff(inp.atoms.cellAngstrom, out.atoms.cellAngstrom) < 5e-6, 'cell');
      assert.ok(maxDiff(inp.atoms.positionsAngstrom, out.atoms.positionsAngstrom) < 5e-6, 'positions');
      assert.equal(inp.qeInput!.ecutrhoRy, out.qeOutput!.ecutrhoRy);
      assert.equal(inp.qeInput!.ecutwfcRy, out.qeOutput!.ecutwfcRy);
    });
  }

  it('gives the same cell for ibrav=2 + celldm and the equivalent ibrav=0 alat cell', () => {
    const a = parseQeInput(minimal('ibrav=2, celldm(1)=7.6, nat=1, ntyp=1, ecutwfc=20', 'ATOMIC_POSITIONS crystal\nAl 0.25 0.25 0.25'));
    const b = parseQeInput(
      minimal('ibrav=0, celldm(1)=7.6, nat=1, ntyp=1, ecutwfc=20', 'CELL_PARAMETERS alat\n-0.5 0 0.5\n0 0.5 0.5\n-0.5 0.5 0\nATOMIC_POSITIONS crystal\nAl 0.25 0.25 0.25'),
    );
    assert.deepEqual(a.atoms.cellAngstrom, b.atoms.cellAngstrom);
    assert.ok(Math.abs(cellVolumeA3(a.atoms.cellAngstrom) - (7.6 * bohrAngstrom) ** 3 / 4) < 1e-12);
    assert.equal(a.ecutrhoRy, 80, 'ecutrho defaults to 4·ecutwfc');
  });

  it('reads pw.x\'s own CPU and wall time, in seconds and in minutes', () => {
    const t4 = pwscfTimesS(fs.readFileSync(path.join(repoRoot, 'fixtures', 'al-fcc-qe', 'Al.pw.scf.out'), 'utf8'));
    assert.deepEqual(t4, { cpuS: 4.33, wallS: 6.68 });
    const t32 = pwscfTimesS(fs.readFileSync(path.join(repoRoot, 'fixtures', 'al-size-transfer', 'pw.scf.out'), 'utf8'))!;
    // the 2026-12-04 regeneration of that fixture: "PWSCF : 4m29.03s CPU 30m25.09s WALL"
    assert.ok(Math.abs(t32.cpuS - 269.03) < 1e-9 && Math.abs(t32.wallS - 1825.09) < 1e-9, JSON.stringify(t32));
    assert.equal(pwscfTimesS('no timing here'), undefined);
  });

  it('builds every other Bravais lattice (ibrav 9…13, −5) as pw.x 6.7 prints it (fixtures/qe-ibrav)', () => {
    const lines = fs.readFileSync(path.join(repoRoot, 'fixtures', 'qe-ibrav', 'axes.txt'), 'utf8').trim().split('\n');
    assert.equal(lines.length, 10);
    for (const line of lines) {
      const [ib, celldm, axes] = line.split('|');
      const want = axes.split(';').filter(Boolean).map((r) => r.trim().split(/\s+/).map(Number));
      const got = parseQeInput(minimal(`ibrav=${ib}, celldm(1)=6.0, ${celldm}, nat=1, ntyp=1, ecutwfc=8`, 'ATOMIC_POSITIONS crystal\nAl 0.1 0.2 0.3'));
      const alatA = 6.0 * bohrAngstrom;
      const inAlat = got.atoms.cellAngstrom.map((r) => r.map((x) => x / alatA));
      assert.ok(maxDiff(inAlat, want) < 1e-6, `ibrav=${ib}: ${JSON.stringify(inAlat)} vs pw.x ${JSON.stringify(want)}`);
    }
    // A, B, C and cosAC give the same monoclinic (unique axis b) cell as celldm
    const a = 6.0 * bohrAngstrom;
    const viaAbc = parseQeInput(minimal(`ibrav=-13, A=${a}, B=${1.3 * a}, C=${1.6 * a}, cosAC=-0.25, nat=1, ntyp=1, ecutwfc=8`, 'ATOMIC_POSITIONS crystal\nAl 0.1 0.2 0.3'));
    const viaCelldm = parseQeInput(minimal('ibrav=-13, celldm(1)=6.0, celldm(2)=1.3, celldm(3)=1.6, celldm(5)=-0.25, nat=1, ntyp=1, ecutwfc=8', 'ATOMIC_POSITIONS crystal\nAl 0.1 0.2 0.3'));
    assert.ok(maxDiff(viaAbc.atoms.cellAngstrom, viaCelldm.atoms.cellAngstrom) < 1e-9);
    assert.throws(() => parseQeInput(minimal('ibrav=15, celldm(1)=6.0, nat=1, ntyp=1', 'ATOMIC_POSITIONS crystal\nAl 0 0 0')), /ibrav=15/);
  });

  it('reads A (Å) and celldm (Bohr) alike, and all position units', () => {
    const alat = 4.05;
    const sys = (s: string) => `ibrav=1, ${s}, nat=1, ntyp=1, ecutwfc=20`;
    const byA = parseQeInput(minimal(sys(`A=${alat}`), 'ATOMIC_POSITIONS angstrom\nAl 1.0125 0 0'));
    const byCelldm = parseQeInput(minimal(sys(`celldm(1)=${alat / bohrAngstrom}`), 'ATOMIC_POSITIONS alat\nAl 0.25 0 0'));
    const bohr = parseQeInput(minimal(sys(`A=${alat}`), `ATOMIC_POSITIONS bohr\nAl ${1.0125 / bohrAngstrom} 0 0`));
    const crystal = parseQeInput(minimal(sys(`A=${alat}`), 'ATOMIC_POSITIONS {crystal}\nAl 0.25 0 0 0 0 0'));
    for (const q of [byCelldm, bohr, crystal]) {
      assert.ok(maxDiff(q.atoms.cellAngstrom, byA.atoms.cellAngstrom) < 1e-12);
      assert.ok(maxDiff(q.atoms.positionsAngstrom, byA.atoms.positionsAngstrom) < 1e-12);
    }
  });

  it('builds hexagonal (4), bct (7), trigonal (5) lattices with the right shape', () => {
    const hex = latticeFromIbrav(4, [1, 0, 1.6]);
    assert.ok(Math.abs(Math.hypot(...hex[1]) - 1) < 1e-15 && hex[2][2] === 1.6);
    const trig = latticeFromIbrav(5, [1, 0, 0, 0.3]);
    for (const v of trig) assert.ok(Math.abs(Math.hypot(...v) - 1) < 1e-14);
    const cos01 = trig[0][0] * trig[1][0] + trig[0][1] * trig[1][1] + trig[0][2] * trig[1][2];
    assert.ok(Math.abs(cos01 - 0.3) < 1e-14);
    assert.throws(() => latticeFromIbrav(15, [1, 1, 1, 0, 0, 0]), /not a Bravais-lattice index/);
  });

  it('reads Be2 recreate_data input like the QE output of snapshot 0', function () {
    const dir = referenceDir(this);
    const inp = readStructure(path.join(dir, 'recreate_data', 'Be.pw.scf.in'));
    assert.equal(inp.qeInput!.ecutrhoRy, 160);
    assert.deepEqual(inp.atoms.symbols, ['Be', 'Be']);
    assert.equal(inp.atoms.cellAngstrom[2][2], 3.56987856087494);
  });

  const bad: [string, string, RegExp][] = [
    ['no ATOMIC_POSITIONS', minimal('ibrav=1, A=4, nat=1, ntyp=1', ''), /ATOMIC_POSITIONS/],
    ['unclosed namelist', '&CONTROL\n&SYSTEM ibrav=1\n', /not closed|no &SYSTEM/],
    ['bad number', minimal('ibrav=1, A=4x, nat=1, ntyp=1', 'ATOMIC_POSITIONS alat\nAl 0 0 0'), /A|4x/],
    ['missing nat lines', minimal('ibrav=1, A=4, nat=2, ntyp=1', 'ATOMIC_POSITIONS alat\nAl 0 0 0'), /nat = 2/],
    ['undeclared species', minimal('ibrav=1, A=4, nat=1, ntyp=1', 'ATOMIC_POSITIONS alat\nFe 0 0 0'), /Fe/],
    ['ibrav needs alat', minimal('ibrav=2, nat=1, ntyp=1', 'ATOMIC_POSITIONS crystal\nAl 0 0 0'), /celldm\(1\) or A/],
    ['zero-volume cell', minimal('ibrav=0, nat=1, ntyp=1', 'CELL_PARAMETERS angstrom\n1 0 0\n2 0 0\n0 0 1\nATOMIC_POSITIONS crystal\nAl 0 0 0'), /zero volume/],
  ];
  for (const [name, text, re] of bad) {
    it(`rejects a malformed input: ${name}`, () => {
      assert.throws(
        () => parseQeInput(text, 'bad.in'),
        (e: unknown) => e instanceof MalaError && re.test(e.message) && e.file === 'bad.in',
      );
    });
  }

  it('rejects an unknown element label', () => {
    const t = minimal('ibrav=1, A=4, nat=1, ntyp=1', 'ATOMIC_POSITIONS alat\nAl 0 0 0').replace('Al 26.98', 'Qq 26.98').replace('Al 0 0 0', 'Qq 0 0 0');
    assert.throws(() => parseQeInput(t, 'x.in'), /unknown element.*Qq/);
  });
});

describe('structure: QE pw.x output', () => {
  it('reads Be2 snapshot 0 as ASE/MALA do', function () {
    const dir = referenceDir(this);
    const q = parseQeOutput(fs.readFileSync(path.join(dir, 'Be_snapshot0.out'), 'utf8'), 'Be_snapshot0.out');
    const info = JSON.parse(fs.readFileSync(path.join(dir, 'Be_snapshot0.info.json'), 'utf8'));
    assert.deepEqual(q.fftGrid, info.grid_dimensions);
    assert.equal(q.ecutwfcRy, info.ecutwfc);
    assert.equal(q.ecutrhoRy, info.ecutrho);
    assert.equal(q.degaussRy, info.degauss);
    assert.equal(q.smearing, 'Fermi-Dirac');
    assert.equal(q.fermiEnergyEv, info.fermi_energy_dft);
    assert.equal(q.numberOfElectrons, info.number_of_electrons_exact);
    assert.equal(q.bravaisLatticeIndex, 0);
    assert.deepEqual(q.pseudopotentials, info.pseudopotentials);
    assert.ok(q.converged);
    const ev = qeEnergiesEv(q.energiesRy);
    assert.ok(Math.abs(ev.total! - info.total_energy_dft_calculation) < 1e-9);
    assert.ok(Math.abs(ev.ewald! - info.ewald_contribution) < 1e-9);
    assert.ok(Math.abs(ev.hartree! - info.hartree_contribution) < 1e-9);
    assert.ok(Math.abs(q.energiesRy.xc! * rydbergEv - info.xc_contribution) < 1e-9);
    // structure: printed with 6-7 decimals in alat units
    assert.ok(maxDiff(q.atoms.cellAngstrom, info.atoms.cell) < 2e-8);
    assert.ok(maxDiff(q.atoms.positionsAngstrom, info.atoms.positions) < 2e-7);
  });

  it('reads the energies, smearing and cutoffs of a fixture output', () => {
    const q = parseQeOutput(fs.readFileSync(path.join(qeDir, 'hex-ibrav4-abc.out'), 'utf8'));
    assert.equal(q.smearing, 'Marzari-Vanderbilt');
    assert.equal(q.ecutrhoRy, 100);
    assert.equal(q.degaussRy, 0.02);
    assert.ok(q.energiesRy.total! < 0 && q.energiesRy.ewald! < 0 && q.energiesRy.hartree! > 0);
    assert.ok(q.fermiEnergyEv !== undefined && q.numberOfElectrons === 6);
  });

  it('takes the final structure of a relaxation', () => {
    const base = fs.readFileSync(path.join(qeDir, 'fcc-ibrav2.out'), 'utf8');
    const relaxed = base + '\nBegin final coordinates\n\nATOMIC_POSITIONS (angstrom)\nAl            0.1000000000        0.2000000000        0.3000000000\nEnd final coordinates\n';
    const q = parseQeOutput(relaxed);
    assert.deepEqual(q.atoms.positionsAngstrom, [[0.1, 0.2, 0.3]]);
    const frac = fractionalPositions(q.atoms as Atoms);
    assert.ok(frac[0].every(Number.isFinite));
  });

  it("qeStressKbar: the last stress block's kbar columns (pw.x 6.7's own output, and ours read back)", () => {
    const qe = fs.readFileSync(path.join(repoRoot, 'fixtures', 'al-size-transfer', 'pw.scf.out'), 'utf8');
    const kbar = qeStressKbar(qe)!;
    // the printed P is the trace / 3 of the kbar block
    const printedP = Number(/total {3}stress .*P= *(-?[\d.]+)/.exec(qe)![1]);
    assert.ok(Math.abs((kbar[0][0] + kbar[1][1] + kbar[2][2]) / 3 - printedP) < 0.01, `${JSON.stringify(kbar)} vs P ${printedP}`);
    const sigma = [[0.001, 2e-4, -3e-4], [2e-4, -0.002, 5e-4], [-3e-4, 5e-4, 0.0015]];
    const back = qeStressKbar(['header', ...pwStressBlock(sigma), ''].join('\n'))!;
    const want = pwStress(sigma).kbar;
    for (let a = 0; a < 3; a++) for (let b = 0; b < 3; b++) assert.ok(Math.abs(back[a][b] - want[a][b]) < 0.006, `${a}${b}: ${back[a][b]} vs ${want[a][b]}`);
    assert.equal(qeStressKbar('no stress here'), undefined);
  });

  it('rejects a truncated output', () => {
    const base = fs.readFileSync(path.join(qeDir, 'fcc-ibrav2.out'), 'utf8');
    const cut = base.slice(0, base.indexOf('crystal axes'));
    assert.throws(() => parseQeOutput(cut, 'cut.out'), (e: unknown) => e instanceof MalaError && /no structure found/.test(e.message) && e.file === 'cut.out');
  });
});
