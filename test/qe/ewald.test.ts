import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import { repoRoot } from '../helpers';
import { computeEnergyTerms, qeBohrAngstrom } from '../../src/qe/energy-terms';
import { readDensityFilplot, readQeStructure } from '../../src/qe/qe-files';
import { loadPseudopotentials } from '../../src/qe/upf';
import { ewaldEnergy, ewaldRealSpaceRy, qeEwaldAlpha } from '../../src/qe/ewald';
import { GSphere, inv3 } from '../../src/qe/gsphere';
import { det3 } from '../../src/structure/atoms';
import { erfc } from '../../src/qe/radial';
import { fccSupercell, rattle } from '../../src/structure/crystal';

/** Deterministic uniform numbers in [0, 1). */
function rng(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s / 2147483648;
  };
}

const cartesian = (cell: number[][], frac: number[][]): number[][] =>
  frac.map((f) => [0, 1, 2].map((k) => f[0] * cell[0][k] + f[1] * cell[1][k] + f[2] * cell[2][k]));

/** Reference: the pre-cell-list pair loop, all ordered pairs × lattice images within 4/√α. */
function bruteRealSpaceRy(cell: number[][], cart: number[][], z: number[], alpha: number): number {
  const rmax = 4 / Math.sqrt(alpha);
  const inv = inv3(cell);
  const reach = [0, 1, 2].map((k) => Math.ceil(rmax * Math.hypot(inv[0][k], inv[1][k], inv[2][k])) + 1);
  let sum = 0;
  for (let a = 0; a < cart.length; a++) {
    for (let b = 0; b < cart.length; b++) {
      const d = [0, 1, 2].map((k) => cart[a][k] - cart[b][k]);
      for (let i = -reach[0]; i <= reach[0]; i++) {
        for (let j = -reach[1]; j <= reach[1]; j++) {
          for (let k = -reach[2]; k <= reach[2]; k++) {
            const r = [0, 1, 2].map((c) => d[c] + i * cell[0][c] + j * cell[1][c] + k * cell[2][c]);
            const r2 = r[0] ** 2 + r[1] ** 2 + r[2] ** 2;
            if (r2 <= 1e-10 || r2 > rmax * rmax) continue;
            sum += (z[a] * z[b] * erfc(Math.sqrt(alpha * r2))) / Math.sqrt(r2);
          }
        }
      }
    }
  }
  return sum;
}

/** Reference total: direct structure factor + brute-force real space. */
function bruteEwaldRy(cell: number[][], frac: number[][], z: number[], gs: GSphere, ecut: number): number {
  const alpha = qeEwaldAlpha(
    z.reduce((a, b) => a + b, 0),
    ecut,
  );
  const q = z.reduce((a, b) => a + b, 0);
  const sf = gs.structureFactor(frac, z);
  let sumG = -(q * q) / alpha / 4;
  for (let i = 0; i < gs.count; i++) {
    if (gs.g2[i] < 1e-8) continue;
    sumG += ((sf[2 * i] ** 2 + sf[2 * i + 1] ** 2) * Math.exp(-gs.g2[i] / alpha / 4)) / gs.g2[i];
  }
  sumG *= (4 * Math.PI) / Math.abs(det3(cell));
  sumG -= z.reduce((s, x) => s + x * x, 0) * Math.sqrt((8 / (2 * Math.PI)) * alpha);
  return sumG + bruteRealSpaceRy(cell, cartesian(cell, frac), z, alpha);
}

interface Case {
  name: string;
  cell: number[][];
  frac: number[][];
  z: number[];
  grid: [number, number, number];
  ecut: number;
}

function randomTriclinic(seed: number): Case {
  const rnd = rng(seed);
  const L = 6 + 10 * rnd();
  const cell = [
    [L, rnd() * 3 - 1.5, rnd() * 2 - 1],
    [rnd() * 3 - 1.5, L * (0.7 + rnd()), rnd() - 0.5],
    [rnd() * 4 - 2, rnd() * 2 - 1, L * (0.6 + rnd())],
  ];
  const nat = 3 + Math.floor(rnd() * 14);
  const frac = Array.from({ length: nat }, () => [rnd() * 2 - 0.5, rnd(), rnd()]);
  frac[0] = [0, 0, 0];
  frac[1] = [1 - 1e-15, 0.5, -1e-17];
  return { name: `random triclinic #${seed} (${nat} atoms, Z 3 and 1.5)`, cell, frac, z: frac.map((_, i) => (i % 2 ? 3 : 1.5)), grid: [30, 36, 32], ecut: 40 + 30 * rnd() };
}

function skewedFcc(n: number): Case {
  const at = rattle(fccSupercell('Al', 4.05, [n, n, n]), 0.05, 3);
  const cubic = at.cellAngstrom.map((r) => r.map((x) => x / 0.529177210903));
  const inv = inv3(cubic);
  const frac = at.positionsAngstrom.map((p) => [0, 1, 2].map((k) => (p[0] * inv[0][k] + p[1] * inv[1][k] + p[2] * inv[2][k]) / 0.529177210903));
  const cell = cubic.map((r) => [...r]);
  cell[1][0] += 2.0;
  cell[2][0] -= 1.3;
  cell[2][1] += 0.7;
  const g = 24 * n;
  return { name: `skewed fcc ${4 * n ** 3} atoms, 2 species (Z 3, 2)`, cell, frac, z: frac.map((_, i) => (i % 5 ? 3 : 2)), grid: [g, g, g], ecut: 80 };
}

const cases: Case[] = [
  { name: 'one atom in a cell much smaller than the cutoff', cell: [[3, 0, 0], [0.5, 3.2, 0], [0.3, -0.4, 2.9]], frac: [[0.1, 0.2, 0.3]], z: [3], grid: [12, 12, 12], ecut: 40 },
  {
    name: 'fcc Al conventional cell (4 atoms, 7.65 Bohr < cutoff)',
    cell: [[7.6534, 0, 0], [0, 7.6534, 0], [0, 0, 7.6534]],
    frac: [[0, 0, 0], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5]],
    z: [3, 3, 3, 3],
    grid: [24, 24, 24],
    ecut: 80,
  },
  { name: 'thin slab-like triclinic cell, 2 species', cell: [[14, 0, 0], [6, 13, 0], [1.5, -1, 2.5]], frac: [[0, 0, 0], [0.3, 0.6, 0.5], [0.9, 0.1, 0.99], [0.5, 0.5, 0.2]], z: [4, 1, 1, 4], grid: [40, 40, 10], ecut: 40 },
  randomTriclinic(1),
  randomTriclinic(2),
  randomTriclinic(3),
  skewedFcc(2),
  skewedFcc(3),
];

describe('qe/ewald: cell-list real space and fast G-space against the brute-force pair loop', () => {
  for (const c of cases) {
    it(`${c.name}: E_ewald within 1e-10 relative`, () => {
      const gs = new GSphere(c.cell, c.grid, c.ecut);
      const ref = bruteEwaldRy(c.cell, c.frac, c.z, gs, c.ecut);
      const got = ewaldEnergy(c.cell, cartesian(c.cell, c.frac), c.frac, c.z, gs, c.ecut);
      assert.ok(Math.abs(got.energyRy - ref) <= 1e-10 * Math.abs(ref), `${got.energyRy} vs ${ref}`);
      // The real-space part alone, where the cell list does its work: at QE's α (often 0 for small
      // cells, the cutoff being shorter than the nearest-neighbour distance) and at a small α with a
      // cutoff of 8 Bohr, which spans several bins or several cell images.
      const cart = cartesian(c.cell, c.frac);
      for (const alpha of [got.alpha, 0.25]) {
        const refR = bruteRealSpaceRy(c.cell, cart, c.z, alpha);
        const mine = alpha === got.alpha ? got.realSpaceRy : ewaldRealSpaceRy(c.cell, c.frac, c.z, alpha);
        if (alpha === 0.25) assert.ok(Math.abs(refR) > 1e-3, `real-space part ${refR}`);
        assert.ok(Math.abs(mine - refR) <= 1e-12 * Math.abs(refR) + 1e-14, `α ${alpha}: real space ${mine} vs ${refR}`);
      }
      assert.ok(Math.abs(got.reciprocalRy + got.realSpaceRy - got.energyRy) < 1e-12 * Math.abs(ref));
    });
  }

  it('the NUFFT G-space sum equals the direct one to 1e-12 relative (108 atoms)', () => {
    const c = skewedFcc(3);
    const gs = new GSphere(c.cell, c.grid, c.ecut);
    const cart = cartesian(c.cell, c.frac);
    const fast = ewaldEnergy(c.cell, cart, c.frac, c.z, gs, c.ecut, { structureFactorMethod: 'nufft' });
    const direct = ewaldEnergy(c.cell, cart, c.frac, c.z, gs, c.ecut, { structureFactorMethod: 'direct' });
    assert.ok(Math.abs(fast.energyRy - direct.energyRy) < 1e-12 * Math.abs(direct.energyRy), `${fast.energyRy} vs ${direct.energyRy}`);
  });

  it('real space is invariant to lattice translations of single atoms and to a common shift', () => {
    const c = randomTriclinic(4);
    const alpha = 0.6;
    const base = ewaldRealSpaceRy(c.cell, c.frac, c.z, alpha);
    const moved = c.frac.map((f, i) => [f[0] + (i % 3) - 1, f[1] + 0.137 + (i % 2) * 2, f[2] - 0.271 - (i % 4)]);
    const got = ewaldRealSpaceRy(c.cell, moved, c.z, alpha);
    assert.ok(Math.abs(got - base) < 1e-12 * Math.abs(base), `${got} vs ${base}`);
  });

  it("QE's α rule: the largest of 2.8, 2.7, … whose tail bound is ≤ 1e-7", () => {
    const bound = (q: number, ecut: number, a: number): number => 2 * q * q * Math.sqrt((2 * a) / (2 * Math.PI)) * erfc(Math.sqrt(ecut / 4 / a));
    for (const [q, ecut] of [[8, 160], [12, 80], [768, 80], [393216, 80]]) {
      const a = qeEwaldAlpha(q, ecut);
      assert.ok(bound(q, ecut, a) <= 1e-7, `Q ${q}: α ${a}`);
      if (a < 2.75) assert.ok(bound(q, ecut, a + 0.1) > 1e-7, `Q ${q}: α ${a} is not the largest`);
    }
    // 4 Al atoms at 80 Ry (the fixture) get 1.0; 131,072 atoms 0.5, so the real-space cutoff grows to 5.7 Bohr
    assert.ok(Math.abs(qeEwaldAlpha(12, 80) - 1.0) < 1e-12);
    assert.ok(Math.abs(qeEwaldAlpha(393216, 80) - 0.5) < 1e-12);
  });

  it('the Ewald term of computeEnergyTerms (what predict reports) equals the brute-force reference on the Al fixture', () => {
    const fx = path.join(repoRoot, 'fixtures', 'al-fcc-qe');
    const s = readQeStructure(path.join(fx, 'Al.pw.scf.in'));
    const dens = readDensityFilplot(path.join(fx, 'Al_dens.filplot'));
    const pps = loadPseudopotentials(s.species, fx, s.pseudopotentialFiles);
    const terms = computeEnergyTerms({ ...s, grid: dens.grid, densityPerA3: dens.densityPerA3, pseudopotentials: pps });
    const cell = s.cellAngstrom.map((r) => r.map((x) => x / qeBohrAngstrom));
    const inv = inv3(cell);
    const frac = s.positionsAngstrom.map((p) => [0, 1, 2].map((k) => (p[0] * inv[0][k] + p[1] * inv[1][k] + p[2] * inv[2][k]) / qeBohrAngstrom));
    const z = s.species.map((sp) => pps[sp].zValence);
    const ref = bruteEwaldRy(cell, frac, z, new GSphere(cell, dens.grid, s.ecutrhoRy), s.ecutrhoRy);
    assert.ok(Math.abs(terms.ewaldRy - ref) <= 1e-10 * Math.abs(ref), `${terms.ewaldRy} vs ${ref}`);
  });
});
