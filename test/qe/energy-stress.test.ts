/**
 * energy-stress.ts (through energyGradient({ strain: true })) against central differences of the
 * energy terms under a homogeneous strain r → r·(I + ε) of cell and atoms, the density values per
 * grid point held fixed: all 9 components of a general (non-symmetric) ε, per group of terms
 * (Ewald; −E_H; E_xc − ∫ñ·v_xc with the GGA and core parts) and in total. Cases as
 * energy-gradient.test.ts: the fcc Al fixture (LDA), made-up triclinic cells with PBE + core (B)
 * and LDA + core (Mg), Be2 (PBE + core, QE's density) when present. 4-point differences with
 * h = 1e-4, float64, not 2-point at 1e-5: the core form factor is evaluated per |G|² shell rounded
 * to 1e-8 Bohr⁻² (energy-terms.ts), a quantisation that 2-point differences at h = 1e-5 see as
 * ~1e-6 relative noise (measured on Mg: 4.3e-5 eV at h = 1e-5 of 54 eV; with the shells keyed at
 * 1e-13 instead, every case agrees to ≤ 1.2e-8 eV, so the derivatives themselves are exact). Bound: 1e-6 of the largest component (a dropped term or a flipped
 * sign is ≥ 1e-3 of it in every case; the core part is asserted ≥ 1e-4 of it).
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { referenceDir, repoRoot } from '../helpers';
import { readNpy } from '../../src/io/npy';
import { computeEnergyTerms } from '../../src/qe/energy-terms';
import { energyGradient } from '../../src/qe/energy-gradient';
import { readDensityCube, readQeStructure } from '../../src/qe/qe-files';
import { loadPseudopotentials, Pseudopotential, readUpf } from '../../src/qe/upf';
import { ryToEv } from '../../src/structure/units';

const FX = path.join(repoRoot, 'fixtures', 'al-fcc-qe');
const debianPseudo = '/usr/share/espresso/pseudo';

interface Case {
  cellAngstrom: number[][];
  positionsAngstrom: number[][];
  species: string[];
  grid: [number, number, number];
  densityPerA3: Float64Array;
  ecutrhoRy: number;
  pseudopotentials: Record<string, Pseudopotential>;
}

/** r → r·(I + ε) with ε = t at (a, b). */
function strained(c: Case, ab: number, t: number): Case {
  const a = Math.floor(ab / 3);
  const b = ab % 3;
  const m = (r: number[]): number[] => r.map((x, k) => x + (k === b ? t * r[a] : 0));
  return { ...c, cellAngstrom: c.cellAngstrom.map(m), positionsAngstrom: c.positionsAngstrom.map(m) };
}

type Group = 'ewald' | 'hartree' | 'xc' | 'total';
/** The groups' energies (eV): Ewald, −E_H, E_xc − ∫ñ·v_xc, and Q = their sum. */
function groups(c: Case): Record<Group, number> & { gCount: number } {
  const t = computeEnergyTerms(c);
  const ewald = ryToEv(t.ewaldRy);
  const hartree = ryToEv(-t.hartreeRy);
  const xc = ryToEv(t.xcRy - t.vtxcRy);
  return { ewald, hartree, xc, total: ryToEv(t.debandRy + t.hartreeRy + t.xcRy + t.ewaldRy), gCount: t.gVectorCount };
}

function madeUpCase(element: string, file: string): Case {
  const cellAngstrom = [
    [4.6, 0.1, 0],
    [0.2, 4.3, 0.1],
    [0, -0.15, 4.9],
  ];
  const positionsAngstrom = [
    [0.3, 0.2, 0.1],
    [2.1, 2.4, 2.2],
    [1.0, 3.1, 3.9],
  ];
  const grid: [number, number, number] = [20, 18, 22];
  const out = new Float64Array(grid[0] * grid[1] * grid[2]);
  for (let i = 0; i < grid[0]; i++)
    for (let j = 0; j < grid[1]; j++)
      for (let k = 0; k < grid[2]; k++) {
        const f = [i / grid[0], j / grid[1], k / grid[2]];
        const r = [0, 1, 2].map((x) => f[0] * cellAngstrom[0][x] + f[1] * cellAngstrom[1][x] + f[2] * cellAngstrom[2][x]);
        let v = 0.1; // keeps ñ + ρ_core positive where the core's Fourier ringing dips below 0
        for (const p of positionsAngstrom)
          for (let a = -1; a <= 1; a++)
            for (let b = -1; b <= 1; b++)
              for (let cc = -1; cc <= 1; cc++) {
                let d2 = 0;
                for (let x = 0; x < 3; x++) d2 += (r[x] - p[x] - a * cellAngstrom[0][x] - b * cellAngstrom[1][x] - cc * cellAngstrom[2][x]) ** 2;
                v += 0.15 * Math.exp(-d2 / 0.8);
              }
        out[(i * grid[1] + j) * grid[2] + k] = v;
      }
  return { cellAngstrom, positionsAngstrom, species: [element, element, element], grid, densityPerA3: out, ecutrhoRy: 50, pseudopotentials: { [element]: readUpf(path.join(debianPseudo, file)) } };
}

/** Asserts each group's strain derivative against 4-point central differences (h = 1e-4). */
function check(label: string, c: Case, expectCore: boolean): void {
  const g = energyGradient(c, { strain: true });
  const p = g.strainPartsEv!;
  const diag = (x: number) => Float64Array.from({ length: 9 }, (_, k) => (k % 4 === 0 ? x : 0));
  const eh = ryToEv(g.terms.hartreeRy);
  const vol = p.volume[0];
  const predicted: Record<Group, Float64Array> = {
    ewald: p.ewald,
    hartree: p.hartree.map((x, k) => x + diag(-eh)[k]),
    xc: p.gga.map((x, k) => x + p.core[k] + diag(vol + eh)[k]),
    total: g.strainDerivativeEv!,
  };
  const h = 1e-4;
  const fd: Record<Group, Float64Array> = { ewald: new Float64Array(9), hartree: new Float64Array(9), xc: new Float64Array(9), total: new Float64Array(9) };
  const g0 = computeEnergyTerms(c).gVectorCount;
  for (let ab = 0; ab < 9; ab++) {
    const e = [2 * h, h, -h, -2 * h].map((t) => groups(strained(c, ab, t)));
    for (const x of e) assert.equal(x.gCount, g0, 'the strain moved a G-vector across the sphere: choose another h');
    for (const k of Object.keys(fd) as Group[]) fd[k][ab] = (8 * (e[1][k] - e[2][k]) - (e[0][k] - e[3][k])) / (12 * h);
  }
  const scale = Math.max(...fd.total.map(Math.abs), ...fd.xc.map(Math.abs));
  const lines: string[] = [];
  for (const k of Object.keys(fd) as Group[]) {
    let err = 0;
    for (let ab = 0; ab < 9; ab++) err = Math.max(err, Math.abs(fd[k][ab] - predicted[k][ab]));
    lines.push(`${k} max ${Math.max(...fd[k].map(Math.abs)).toExponential(2)} err ${err.toExponential(2)}`);
    assert.ok(err <= 1e-6 * scale, `${label} ${k}: predicted ${Array.from(predicted[k]).map((x) => x.toFixed(6))} vs differences ${Array.from(fd[k]).map((x) => x.toFixed(6))} eV (max error ${err.toExponential(2)}, bound ${(1e-6 * scale).toExponential(2)})`);
  }
  console.log(`      ${label}: ${lines.join('; ')} eV`);
  const maxCore = Math.max(...p.core.map(Math.abs));
  if (expectCore) assert.ok(maxCore > 1e-6 * scale * 100, `core part ${maxCore} too small to be tested`);
  else assert.equal(maxCore, 0);
}

describe('qe energy stress: ∂E/∂ε of the density terms at fixed density values against finite differences', function () {
  this.timeout(300000);

  it('fcc Al fixture (LDA PZ, no core charge, strained to a general cell by the test itself)', () => {
    const st = readQeStructure(path.join(FX, 'Al.pw.scf.in'));
    const cube = readDensityCube(path.join(FX, 'Al_dens.cube'));
    check('Al', { ...st, grid: cube.grid, densityPerA3: Float64Array.from(cube.densityPerA3), pseudopotentials: loadPseudopotentials(st.species, FX, st.pseudopotentialFiles) }, false);
  });

  for (const [label, element, file] of [
    ['made-up triclinic cell, PBE + core charge (B)', 'B', 'B.pbe-n-rrkjus_psl.1.0.0.UPF'],
    ['made-up triclinic cell, LDA + core charge (Mg)', 'Mg', 'Mg.pz-n-vbc.UPF'],
  ] as const) {
    it(label, function () {
      if (!fs.existsSync(path.join(debianPseudo, file))) {
        console.warn(`    ! SKIPPED: ${path.join(debianPseudo, file)} is absent (Debian's quantum-espresso-data)`);
        this.skip();
      }
      check(element, madeUpCase(element, file), true);
    });
  }

  it("Be2 (PBE + core charge, QE's density on 18×18×27)", function () {
    const be2 = referenceDir(this);
    const st = readQeStructure(path.join(be2, 'Be_snapshot0.out'));
    const d = readNpy(path.join(be2, 'Be_snapshot0.dens.npy'));
    check('Be2', { ...st, grid: d.shape.slice(0, 3) as [number, number, number], densityPerA3: Float64Array.from(d.data as ArrayLike<number>), pseudopotentials: loadPseudopotentials(st.species, be2, st.pseudopotentialFiles) }, true);
  });
});
