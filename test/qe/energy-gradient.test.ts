/**
 * energy-gradient.ts against central differences of totalEnergy (the energy predict prints):
 * u = ∂E/∂n along random density directions (relative ≤ 1e-6) and the explicit forces (Ewald +
 * core correction) at fixed density (≤ 1e-5 eV/Å), on the fcc Al fixture (LDA, no core charge),
 * a made-up cell with PBE + core charge (boron, Debian's QE pseudopotentials) and one with LDA +
 * core charge (Mg). The Ewald forces are also checked against pw.x's "ionic contribution".
 * Be2 (PBE + core, QE's own density; ../shared/reference) when present.
 * Every term is large in these cases, so a missing term or a wrong sign fails by orders of magnitude.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { referenceDir, repoRoot } from '../helpers';
import { readNpy } from '../../src/io/npy';
import { computeEnergyTerms } from '../../src/qe/energy-terms';
import { energyGradient } from '../../src/qe/energy-gradient';
import { readDensityCube, readQeStructure } from '../../src/qe/qe-files';
import { totalEnergy } from '../../src/qe/total-energy';
import { loadPseudopotentials, Pseudopotential, readUpf } from '../../src/qe/upf';
import { rydbergEv } from '../../src/structure/units';
import { qeBohrAngstrom } from '../../src/qe/energy-terms';

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

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  };
}

/** The printed total energy (band and entropy terms fixed: they do not depend on n or R here). */
function energyEv(c: Case, densityPerA3 = c.densityPerA3, positionsAngstrom = c.positionsAngstrom): number {
  return totalEnergy({ ...c, densityPerA3, positionsAngstrom, bandEnergyEv: 1.5, entropyContributionEv: -0.25 }).totalEnergyEv;
}

/** 4-point central difference of t ↦ E(t) at 0. */
function derivative(e: (t: number) => number, h: number): number {
  return (8 * (e(h) - e(-h)) - (e(2 * h) - e(-2 * h))) / (12 * h);
}

/** A smooth density: a constant plus Gaussians on the atoms (periodic images included). */
function madeUpDensity(cell: number[][], positions: number[][], grid: [number, number, number], base: number): Float64Array {
  const out = new Float64Array(grid[0] * grid[1] * grid[2]);
  for (let i = 0; i < grid[0]; i++)
    for (let j = 0; j < grid[1]; j++)
      for (let k = 0; k < grid[2]; k++) {
        const f = [i / grid[0], j / grid[1], k / grid[2]];
        const r = [0, 1, 2].map((c) => f[0] * cell[0][c] + f[1] * cell[1][c] + f[2] * cell[2][c]);
        let v = base;
        for (const p of positions)
          for (let a = -1; a <= 1; a++)
            for (let b = -1; b <= 1; b++)
              for (let c = -1; c <= 1; c++) {
                let d2 = 0;
                for (let x = 0; x < 3; x++) d2 += (r[x] - p[x] - a * cell[0][x] - b * cell[1][x] - c * cell[2][x]) ** 2;
                v += 0.15 * Math.exp(-d2 / 0.8);
              }
        out[(i * grid[1] + j) * grid[2] + k] = v;
      }
  return out;
}

function madeUpCase(element: string, file: string, base: number): Case {
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
  return {
    cellAngstrom,
    positionsAngstrom,
    species: [element, element, element],
    grid,
    densityPerA3: madeUpDensity(cellAngstrom, positionsAngstrom, grid, base),
    ecutrhoRy: 50,
    pseudopotentials: { [element]: readUpf(path.join(debianPseudo, file)) },
  };
}

function checkDensityAdjoint(c: Case, u: Float64Array, seeds: number[]): void {
  for (const seed of seeds) {
    const r = rng(seed);
    const dir = Float64Array.from(c.densityPerA3, () => r());
    let predicted = 0;
    for (let i = 0; i < dir.length; i++) predicted += u[i] * dir[i];
    const fd = derivative((t) => energyEv(c, c.densityPerA3.map((x, i) => x + t * dir[i])), 3e-4);
    const rel = Math.abs(fd - predicted) / Math.abs(fd);
    assert.ok(rel <= 1e-6, `direction ${seed}: Σu·δn = ${predicted} vs finite difference ${fd} eV (relative ${rel.toExponential(2)})`);
  }
}

function checkForces(c: Case, forces: Float64Array, picks: [number, number][]): void {
  for (const [a, k] of picks) {
    const moved = (t: number): number[][] => c.positionsAngstrom.map((p, b) => p.map((x, kk) => (b === a && kk === k ? x + t : x)));
    const fd = -derivative((t) => energyEv(c, c.densityPerA3, moved(t)), 1e-4);
    const err = Math.abs(fd - forces[3 * a + k]);
    assert.ok(err <= 1e-5, `atom ${a} axis ${k}: force ${forces[3 * a + k]} vs −dE/dR ${fd} eV/Å (Δ ${err.toExponential(2)})`);
  }
}

describe('qe energy gradient: ∂E/∂density and the explicit forces against finite differences', function () {
  this.timeout(120000);

  describe('fcc Al fixture (LDA PZ, no core charge, pp.x cube density)', () => {
    const st = readQeStructure(path.join(FX, 'Al.pw.scf.in'));
    const cube = readDensityCube(path.join(FX, 'Al_dens.cube'));
    const c: Case = { ...st, grid: cube.grid, densityPerA3: Float64Array.from(cube.densityPerA3), pseudopotentials: loadPseudopotentials(st.species, FX, st.pseudopotentialFiles) };
    const g = energyGradient(c);

    it('leaves the energy terms exactly as computeEnergyTerms gives them', () => {
      const t = computeEnergyTerms(c);
      for (const k of ['debandRy', 'hartreeRy', 'xcRy', 'vtxcRy', 'ewaldRy'] as const) assert.equal(g.terms[k], t[k], k);
    });

    it('Σ u·δn equals the derivative of the total energy along random directions (relative ≤ 1e-6)', () => {
      checkDensityAdjoint(c, g.densityAdjointEvA3, [1, 2]);
    });

    it("Ewald forces equal pw.x's ionic contribution (8 printed decimals, Ry/Bohr); no core forces", () => {
      const out = fs.readFileSync(path.join(FX, 'Al.pw.scf.out'), 'utf8');
      const block = out.split('The ionic contribution  to forces')[1].split('\n').slice(1, 5);
      const qe = block.flatMap((l) => l.split('=')[1].trim().split(/\s+/).map(Number));
      const toRyPerBohr = qeBohrAngstrom / rydbergEv;
      for (let k = 0; k < 12; k++) assert.ok(Math.abs(g.ewaldForcesEvPerA[k] * toRyPerBohr - qe[k]) < 1e-8, `component ${k}: ${g.ewaldForcesEvPerA[k] * toRyPerBohr} vs pw.x ${qe[k]} Ry/Bohr`);
      assert.ok(g.coreForcesEvPerA.every((x) => x === 0));
    });

    it('explicit forces equal −dE/dR at fixed density (≤ 1e-5 eV/Å)', () => {
      checkForces(c, g.explicitForcesEvPerA, [
        [0, 0],
        [1, 2],
        [3, 1],
      ]);
    });
  });

  for (const [label, element, file] of [
    ['PBE + core charge (B, rrkjus psl)', 'B', 'B.pbe-n-rrkjus_psl.1.0.0.UPF'],
    ['LDA + core charge (Mg, vbc)', 'Mg', 'Mg.pz-n-vbc.UPF'],
  ] as const) {
    describe(`made-up triclinic cell, 3 atoms, smooth density: ${label}`, function () {
      let c: Case;
      let g: ReturnType<typeof energyGradient>;
      before(function () {
        if (!fs.existsSync(path.join(debianPseudo, file))) {
          console.warn(`    ! SKIPPED: ${path.join(debianPseudo, file)} is absent (Debian's quantum-espresso-data)`);
          this.skip();
        }
        // base 0.1/Å³ keeps ñ + ρ_core positive where the core's Fourier ringing dips below 0
        c = madeUpCase(element, file, 0.1);
        g = energyGradient(c);
      });

      it('has a core charge and core forces large enough to matter', () => {
        assert.ok(g.terms.coreElectrons > 1);
        assert.ok(Math.max(...g.coreForcesEvPerA.map(Math.abs)) > 0.1, `core forces ${g.coreForcesEvPerA}`);
      });

      it('Σ u·δn equals the derivative of the total energy along random directions (relative ≤ 1e-6)', () => {
        checkDensityAdjoint(c, g.densityAdjointEvA3, [3, 4]);
      });

      it('explicit forces (Ewald + core correction) equal −dE/dR at fixed density (≤ 1e-5 eV/Å)', () => {
        checkForces(c, g.explicitForcesEvPerA, [
          [0, 0],
          [1, 2],
          [2, 1],
        ]);
      });
    });
  }
  describe("Be2 (reference: PBE + core charge, QE's density on 18×18×27)", () => {
    let c: Case;
    let g: ReturnType<typeof energyGradient>;
    before(function () {
      const be2 = referenceDir(this);
      const st = readQeStructure(path.join(be2, 'Be_snapshot0.out'));
      const d = readNpy(path.join(be2, 'Be_snapshot0.dens.npy'));
      c = { ...st, grid: d.shape.slice(0, 3) as [number, number, number], densityPerA3: Float64Array.from(d.data as ArrayLike<number>), pseudopotentials: loadPseudopotentials(st.species, be2, st.pseudopotentialFiles) };
      g = energyGradient(c);
    });

    it('Σ u·δn equals the derivative of the total energy along a random direction (relative ≤ 1e-6)', () => {
      checkDensityAdjoint(c, g.densityAdjointEvA3, [7]);
    });

    it('explicit forces equal −dE/dR at fixed density (≤ 1e-5 eV/Å; the core part is ~0.01 eV/Å)', () => {
      assert.ok(Math.max(...g.coreForcesEvPerA.map(Math.abs)) > 1e-3);
      checkForces(c, g.explicitForcesEvPerA, [
        [0, 0],
        [1, 1],
      ]);
    });
  });
});
