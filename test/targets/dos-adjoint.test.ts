/**
 * dos-adjoint.ts: the μ-derivatives of the analytical weights against finite differences, the
 * free-energy identity Σ D·h' = μ·Σ D·e', and the whole chain LDOS → DOS → self-consistent E_F →
 * E_band, −TS, density → QE terms (totalEnergy on a small Al cell) against central differences
 * along random LDOS directions, with the self-consistent and with a fixed Fermi energy. Dropping
 * λ (or using it with a fixed μ) fails the chain test by orders of magnitude (checked below).
 */
import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import { repoRoot } from '../helpers';
import { det3 } from '../../src/structure/atoms';
import { energyGradient } from '../../src/qe/energy-gradient';
import { readQeStructure } from '../../src/qe/qe-files';
import { MalaError } from '../../src/errors';
import { totalEnergy } from '../../src/qe/total-energy';
import { loadPseudopotentials } from '../../src/qe/upf';
import { densityFromLdos } from '../../src/targets/density';
import { addPotentialMoments, analyticalWeightsMuDerivative, bandEnergyLdosAdjoint, fermiEnergyLdosDerivative, ldosAdjoint, ldosGradientRows } from '../../src/targets/dos-adjoint';
import { bandEnergy, brentRoot, dosFromLdos, dosObservables, numberOfElectrons, selfConsistentFermiEnergy } from '../../src/targets/dos';
import { analyticalWeights } from '../../src/targets/fermi-dirac';

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  };
}

const derivative = (e: (t: number) => number, h: number): number => (8 * (e(h) - e(-h)) - (e(2 * h) - e(-2 * h))) / (12 * h);

// a real LDOS energy grid (-5 … 9.5 eV, 0.5 eV) and kT of 2000 K
const energies = Float64Array.from({ length: 30 }, (_, k) => -5 + 0.5 * k);
const kT = 0.17234660674434427;

describe('dos adjoint: ∂E/∂LDOS through the DOS, the self-consistent Fermi energy and the density', function () {
  this.timeout(120000);

  it('the μ-derivatives of the three weight sets match central differences (relative to the largest, ≤ 1e-6: the weights themselves cancel large terms far below μ), also on MALA\'s Al grid at 298 K', () => {
    const alGrid = Float64Array.from({ length: 250 }, (_, k) => -5 + 0.1 * k);
    for (const [grid, kTc, mus] of [
      [energies, kT, [-4.9, 0.31, 3.0, 9.45]],
      [alGrid, 0.025679644, [7.7962, 10.03]],
    ] as const) {
      for (const mu of mus) {
        const d = analyticalWeightsMuDerivative(grid, mu, kTc);
        const at = (t: number) => analyticalWeights(grid, mu + t, kTc);
        const h = 1e-3;
        const [m2, m1, p1, p2] = [-2 * h, -h, h, 2 * h].map(at);
        for (const kind of ['electrons', 'bandEnergyRelative', 'entropy'] as const) {
          const scale = Math.max(...d[kind].map(Math.abs));
          assert.ok(scale > 0.005, `${kind} at μ = ${mu}: derivatives ${scale}`);
          for (let k = 0; k < grid.length; k++) {
            const fd = (8 * (p1[kind][k] - m1[kind][k]) - (p2[kind][k] - m2[kind][k])) / (12 * h);
            assert.ok(Math.abs(fd - d[kind][k]) <= 1e-6 * scale, `${kind}[${k}] at μ = ${mu}, kT = ${kTc}: ${d[kind][k]} vs ${fd}`);
          }
        }
      }
    }
  });

  it('Σ D·h′ = μ·Σ D·e′ (ε·∂f/∂μ + kT·∂s/∂μ = μ·∂f/∂μ) for a random DOS', () => {
    const r = rng(5);
    const D = energies.map(() => 1 + r());
    for (const mu of [0.31, 3.0]) {
      const w = analyticalWeights(energies, mu, kT);
      const d = analyticalWeightsMuDerivative(energies, mu, kT);
      let dh = 0;
      let de = 0;
      for (let k = 0; k < D.length; k++) {
        dh += D[k] * (d.bandEnergyRelative[k] + w.electrons[k] + mu * d.electrons[k] + d.entropy[k]);
        de += D[k] * d.electrons[k];
      }
      assert.ok(Math.abs(dh - mu * de) <= 1e-10 * Math.abs(dh), `Σ D h′ = ${dh}, μ Σ D e′ = ${mu * de}`);
    }
  });

  it('band energy alone: Σ_k ∂E_band/∂L·δL equals the derivative of E_band at the self-consistent μ (relative ≤ 1e-6); at fixed μ (λ_b = 0) it does not', () => {
    const r = rng(17);
    const dv = 0.021;
    const D = energies.map((e) => (2 + r()) * Math.sqrt(Math.max(e + 6, 0.1)));
    const electrons = numberOfElectrons(D, energies, 3.0, kT);
    const mu = selfConsistentFermiEnergy(D, energies, kT, electrons);
    const a = bandEnergyLdosAdjoint({ dosPerEv: D, energiesEv: energies, kTEv: kT, fermiEnergyEv: mu, voxelVolumeA3: dv });
    for (let trial = 0; trial < 3; trial++) {
      // δL_ik summed over points is δD_k/dv: one direction δD
      const dD = energies.map(() => r());
      const eband = (t: number) => {
        const Dt = D.map((v, k) => v + t * dD[k]);
        return bandEnergy(Dt, energies, selfConsistentFermiEnergy(Dt, energies, kT, electrons), kT);
      };
      const fd = derivative(eband, 1e-4);
      let adj = 0;
      for (let k = 0; k < energies.length; k++) adj += (a[k] / dv) * dD[k];
      assert.ok(Math.abs(adj - fd) <= 1e-6 * Math.abs(fd), `trial ${trial}: adjoint ${adj} vs central difference ${fd}`);
      // without the Fermi-level term the derivative is that at fixed μ: far off
      const w = analyticalWeights(energies, mu, kT);
      let fixed = 0;
      for (let k = 0; k < energies.length; k++) fixed += (w.bandEnergyRelative[k] + mu * w.electrons[k]) * dD[k];
      assert.ok(Math.abs(fixed - fd) > 1e-3 * Math.abs(fd), `trial ${trial}: the fixed-μ derivative ${fixed} should differ from ${fd}`);
    }
  });

  it('Fermi energy: Σ_k ∂μ/∂L·δL equals the derivative of the self-consistent μ (relative ≤ 1e-6), also on MALA\'s Al grid at 298 K', () => {
    const alGrid = Float64Array.from({ length: 250 }, (_, k) => -5 + 0.1 * k);
    for (const [grid, kTc, mu0] of [
      [energies, kT, 3.0],
      [alGrid, 0.025679644, 7.8],
    ] as const) {
      const r = rng(23);
      const dv = 0.021;
      const D = grid.map((e) => (2 + r()) * Math.sqrt(Math.max(e + 6, 0.1)));
      const electrons = numberOfElectrons(D, grid, mu0, kTc);
      const mu = selfConsistentFermiEnergy(D, grid, kTc, electrons);
      const dmu = fermiEnergyLdosDerivative({ dosPerEv: D, energiesEv: grid, kTEv: kTc, fermiEnergyEv: mu, voxelVolumeA3: dv });
      for (let trial = 0; trial < 3; trial++) {
        const dD = grid.map(() => r());
        const muAt = (t: number) => selfConsistentFermiEnergy(D.map((v, k) => v + t * dD[k]), grid, kTc, electrons);
        const fd = derivative(muAt, 1e-4);
        let adj = 0;
        for (let k = 0; k < grid.length; k++) adj += (dmu[k] / dv) * dD[k];
        assert.ok(Math.abs(fd) > 1e-4, `trial ${trial}: μ moves (${fd})`);
        assert.ok(Math.abs(adj - fd) <= 1e-6 * Math.abs(fd), `trial ${trial}, kT ${kTc}: adjoint ${adj} vs central difference ${fd}`);
      }
    }
  });

  it('a DOS that is zero around μ (∂N/∂μ = 0): one clear error from the Fermi and total-energy adjoints, not a division by zero', () => {
    const D = new Float64Array(energies.length);
    const o = { dosPerEv: D, energiesEv: energies, kTEv: 0.01, fermiEnergyEv: 3.0, voxelVolumeA3: 0.02 };
    assert.throws(() => fermiEnergyLdosDerivative(o), (e: unknown) => e instanceof MalaError && /does not change with the Fermi energy/.test(e.message) && /leave the Fermi term out/.test(e.fix ?? ''));
    assert.throws(() => ldosAdjoint({ ...o, potentialMoments: new Float64Array(energies.length), fermiEnergyFixed: false }), (e: unknown) => e instanceof MalaError && /--fermi-energy/.test(e.fix ?? ''));
  });

  for (const set of [
    { label: '-5 … 9.5 eV by 0.5, 2000 K', energies, kT, mu0: 3.0 },
    { label: "MALA-like: -2 … 3.9 eV by 0.1, 298 K", energies: Float64Array.from({ length: 60 }, (_, k) => -2 + 0.1 * k), kT: 0.025679644, mu0: 1.03 },
  ])
  describe(`the whole chain on a small Al cell (random positive LDOS, 10×9×8 points, ${set.label}, real QE terms)`, () => {
    const { energies, kT } = set;
    const FX = path.join(repoRoot, 'fixtures', 'al-fcc-qe');
    const st = readQeStructure(path.join(FX, 'Al.pw.scf.in'));
    const pseudopotentials = loadPseudopotentials(st.species, FX, st.pseudopotentialFiles);
    const grid: [number, number, number] = [10, 9, 8];
    const nPoints = grid[0] * grid[1] * grid[2];
    const nE = energies.length;
    const dv = Math.abs(det3(st.cellAngstrom)) / nPoints;
    const r = rng(11);
    // smooth in energy, random over points: 0.004·(1 + 0.6·rnd)·(1 + 0.5 sin)
    const ldos = new Float64Array(nPoints * nE);
    for (let i = 0; i < nPoints; i++) for (let k = 0; k < nE; k++) ldos[i * nE + k] = 0.004 * (1 + 0.6 * r()) * (1 + 0.5 * Math.sin(0.7 * k));
    const electrons = numberOfElectrons(dosFromLdos(ldos, nE, dv), energies, set.mu0, kT);
    const base = { cellAngstrom: st.cellAngstrom, positionsAngstrom: st.positionsAngstrom, species: st.species, grid, ecutrhoRy: 40, pseudopotentials };

    /** What predict computes from an LDOS: μ (tightly solved, or fixed), E_band, −TS, n, then totalEnergy. */
    function chainEnergy(L: Float64Array, fixedMu?: number): number {
      const D = dosFromLdos(L, nE, dv);
      const mu = fixedMu ?? brentRoot((m) => numberOfElectrons(D, energies, m, kT) - electrons, energies[0], energies[nE - 1], 1e-15);
      const obs = dosObservables(D, energies, kT, electrons, { fermiEnergyEv: mu });
      const n = densityFromLdos(L, energies, mu, kT);
      return totalEnergy({ ...base, densityPerA3: n, bandEnergyEv: obs.bandEnergyEv, entropyContributionEv: obs.entropyContributionEv }).totalEnergyEv;
    }

    function adjointAt(fixed: boolean, dropLambda = false): { grad: Float64Array; lambdaEv: number } {
      const D = dosFromLdos(ldos, nE, dv);
      const mu = brentRoot((m) => numberOfElectrons(D, energies, m, kT) - electrons, energies[0], energies[nE - 1], 1e-15);
      const u = energyGradient({ ...base, densityPerA3: densityFromLdos(ldos, energies, mu, kT) }).densityAdjointEvA3;
      const M = new Float64Array(nE);
      addPotentialMoments(ldos, u, 0, M);
      const adj = ldosAdjoint({ dosPerEv: D, energiesEv: energies, kTEv: kT, fermiEnergyEv: mu, voxelVolumeA3: dv, potentialMoments: M, fermiEnergyFixed: fixed || dropLambda });
      return { grad: ldosGradientRows(adj, u, 0, nPoints), lambdaEv: adj.lambdaEv };
    }

    const directional = (grad: Float64Array, dir: Float64Array): number => grad.reduce((s, g, i) => s + g * dir[i], 0);

    it('self-consistent E_F: Σ ∂E/∂L·δL equals the derivative of the total energy (relative ≤ 1e-6); without λ it does not', () => {
      const { grad, lambdaEv } = adjointAt(false);
      assert.ok(Math.abs(lambdaEv) > 0.5, `λ = ${lambdaEv} eV`);
      const wrong = adjointAt(false, true).grad;
      for (const seed of [21, 22]) {
        const rr = rng(seed);
        const dir = ldos.map(() => 0.002 * rr());
        const fd = derivative((t) => chainEnergy(ldos.map((x, i) => x + t * dir[i])), 1e-2);
        const predicted = directional(grad, dir);
        const rel = Math.abs(fd - predicted) / Math.abs(fd);
        assert.ok(rel <= 1e-6, `direction ${seed}: adjoint ${predicted} vs finite difference ${fd} eV (relative ${rel.toExponential(2)})`);
        const relWrong = Math.abs(fd - directional(wrong, dir)) / Math.abs(fd);
        assert.ok(relWrong > 1e-2, `without λ the check should fail (relative ${relWrong})`);
      }
    });

    it('fixed E_F (--fermi-energy): λ = 0 and the adjoint matches the derivative at fixed μ (relative ≤ 1e-6)', () => {
      const D = dosFromLdos(ldos, nE, dv);
      const mu = brentRoot((m) => numberOfElectrons(D, energies, m, kT) - electrons, energies[0], energies[nE - 1], 1e-15);
      const { grad, lambdaEv } = adjointAt(true);
      assert.equal(lambdaEv, 0);
      const rr = rng(31);
      const dir = ldos.map(() => 0.002 * rr());
      const fd = derivative((t) => chainEnergy(ldos.map((x, i) => x + t * dir[i]), mu), 1e-2);
      const predicted = directional(grad, dir);
      const rel = Math.abs(fd - predicted) / Math.abs(fd);
      assert.ok(rel <= 1e-6, `adjoint ${predicted} vs finite difference ${fd} eV (relative ${rel.toExponential(2)})`);
    });
  });
});
