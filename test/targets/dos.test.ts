import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import { referenceDir } from '../helpers';
import { NpyFile, readNpy } from '../../src/io/npy';
import { bandEnergy, DosAccumulator, dosFromLdos, dosObservables, entropyContribution, numberOfElectrons, selfConsistentFermiEnergy } from '../../src/targets/dos';
import { DensityAccumulator, densityFromLdos, integrateDensity } from '../../src/targets/density';
import { analyticalWeights } from '../../src/targets/fermi-dirac';
import { energiesEv, makeEnergyGrid } from '../../src/targets/energy-grid';
import { kTEv, rydbergToKelvin } from '../../src/structure/units';
import { MalaError } from '../../src/errors';
import { integrands, quadPiecewiseLinear } from './quadrature';

// Be2 (spec §1.1, §6.2): voxel volume |det(cell)|/(18·18·27), T from QE's degauss 0.0019 Ry.
const VOXEL_A3 = 0.0018047832377271163;
const KT = kTEv(rydbergToKelvin(0.0019));
const E = energiesEv(makeEnergyGrid(-5, 2.5, 11));

const SPEC = {
  dos0: [0.136804, 0.183016, 0.229478, 0.269128, 0.295993, 0.306685, 0.300197, 0.277404, 0.241451, 0.197831, 0.152962],
  // snapshot: [E_F sc, E_band] from the §6.2 table; −TS of snapshot 0 from the contributions line
  0: { fermi: 10.24074, band: 12.44708, entropy: -0.000655158 },
  1: { fermi: 10.14921, band: 12.27948 },
};

describe('targets/dos (Be2 reference, spec §6.2)', function () {
  let dir: string;
  before(function () {
    dir = referenceDir(this);
  });

  it('T from degauss 0.0019 Ry is 299.98637294316444 K, kT = 0.025850816723148876 eV', () => {
    assert.ok(Math.abs(rydbergToKelvin(0.0019) - 299.98637294316444) < 1e-9);
    assert.ok(Math.abs(KT - 0.025850816723148876) < 1e-17);
  });

  it('DOS of snapshot 0 matches §6.2 to 1e-6 relative (to the 6 printed decimals)', () => {
    const ldos = readNpy(path.join(dir, 'Be_snapshot0.out.npy'));
    assert.deepEqual(ldos.shape, [18, 18, 27, 11]);
    const dos = dosFromLdos(ldos.data, 11, VOXEL_A3);
    for (let k = 0; k < 11; k++) {
      // the spec prints 6 decimals: within rounding (5e-7 absolute) it is the same number
      assert.ok(Math.abs(dos[k] - SPEC.dos0[k]) <= 5e-7 + 1e-12, `D(e_${k}) = ${dos[k]} vs ${SPEC.dos0[k]}`);
      assert.ok(Math.abs(dos[k] - SPEC.dos0[k]) / SPEC.dos0[k] < 4e-6);
    }
  });

  it('chunked accumulation (by point blocks and by energy slices) equals the one-shot DOS to 1e-14 relative', () => {
    const file = path.join(dir, 'Be_snapshot0.out.npy');
    const whole = dosFromLdos(readNpy(file).data, 11, VOXEL_A3);
    const f = new NpyFile(file);
    const acc = new DosAccumulator(11, { source: file });
    for (let p = 0; p < f.rowCount; p += 1000) acc.addPoints(f.readRows(p, Math.min(1000, f.rowCount - p)));
    const bySlice = new DosAccumulator(11);
    const all = readNpy(file).data;
    for (let k = 0; k < 11; k++) bySlice.addEnergySlice(k, Float64Array.from({ length: f.rowCount }, (_, p) => all[p * 11 + k]));
    f.close();
    assert.equal(acc.pointsSeen, 8748);
    const a = acc.dos(VOXEL_A3);
    const b = bySlice.dos(VOXEL_A3);
    for (let k = 0; k < 11; k++) {
      assert.ok(Math.abs(a[k] - whole[k]) / whole[k] < 1e-14);
      assert.ok(Math.abs(b[k] - whole[k]) / whole[k] < 1e-14);
    }
  });

  for (const snap of [0, 1] as const) {
    it(`snapshot ${snap}: self-consistent E_F, band energy, −TS match §6.2 to 1e-5 eV; density integrates to 4.000000`, () => {
      const ldos = readNpy(path.join(dir, `Be_snapshot${snap}.out.npy`));
      const dos = dosFromLdos(ldos.data, 11, VOXEL_A3);
      const o = dosObservables(dos, E, KT, 4);
      const ref = SPEC[snap];
      assert.ok(Math.abs(o.fermiEnergyEv - ref.fermi) < 1e-5, `E_F ${o.fermiEnergyEv}`);
      assert.ok(Math.abs(o.bandEnergyEv - ref.band) < 1e-5, `E_band ${o.bandEnergyEv}`);
      assert.ok(Math.abs(o.numberOfElectrons - 4) < 1e-11);
      if (snap === 0) {
        assert.ok(Math.abs(o.entropyContributionEv - SPEC[0].entropy) < 1e-9, `−TS ${o.entropyContributionEv}`);
        // §5.5 quotes μ to 14 digits for snapshot 0
        assert.ok(Math.abs(o.fermiEnergyEv - 10.24073543729962) < 1e-9);
      }
      // −TS and E_band independently by quadrature of the piecewise-linear DOS (1e-8 relative)
      const g = integrands(o.fermiEnergyEv, KT);
      const qN = quadPiecewiseLinear(dos, E, g.f, KT / 4);
      const qEb = quadPiecewiseLinear(dos, E, g.ef, KT / 4) + o.fermiEnergyEv * qN;
      const qS = quadPiecewiseLinear(dos, E, g.kts, KT / 4);
      assert.ok(Math.abs(o.numberOfElectrons - qN) / qN < 1e-8);
      assert.ok(Math.abs(o.bandEnergyEv - qEb) / qEb < 1e-8);
      assert.ok(Math.abs(o.entropyContributionEv - qS) / Math.abs(qS) < 1e-8, `−TS ${o.entropyContributionEv} vs quad ${qS}`);
      assert.ok(Math.abs(o.entropyContributionEv - qS) < 1e-5);
      // standalone helpers agree with the combined one
      assert.equal(bandEnergy(dos, E, o.fermiEnergyEv, KT), o.bandEnergyEv);
      assert.equal(entropyContribution(dos, E, o.fermiEnergyEv, KT), o.entropyContributionEv);

      const n = densityFromLdos(ldos.data, E, o.fermiEnergyEv, KT);
      const nElectrons = integrateDensity(n, VOXEL_A3);
      assert.equal(nElectrons.toFixed(6), '4.000000');
      assert.ok(Math.abs(nElectrons - 4) < 1e-10);
      if (snap === 0) {
        let lo = Infinity;
        let hi = -Infinity;
        for (const v of n) {
          lo = Math.min(lo, v);
          hi = Math.max(hi, v);
        }
        assert.equal(lo.toFixed(5), '0.18324');
        assert.equal(hi.toFixed(5), '0.43146');
      }
    });
  }

  it('§5.5 weights at μ = 10.24073543729962 eV', () => {
    const w = analyticalWeights(E, 10.24073543729962, KT).electrons;
    const ref = [2.5, 2.5, 2.5, 2.5, 2.5, 2.49999998, 1.47870507, 0.0120303866];
    for (let i = 0; i < ref.length; i++) assert.ok(Math.abs(w[i] - ref[i]) < 1e-8, `w_${i} = ${w[i]}`);
    for (let i = 8; i < 11; i++) assert.ok(Math.abs(w[i]) < 1e-10);
  });

  it('density by energy slices (cube path) equals density by point blocks', () => {
    const ldos = readNpy(path.join(dir, 'Be_snapshot0.out.npy'));
    const mu = 10.24073543729962;
    const a = new DensityAccumulator(8748, E, mu, KT);
    for (let p = 0; p < 8748; p += 999) a.addPoints(ldos.data.subarray(p * 11, Math.min(8748, p + 999) * 11), p);
    const b = new DensityAccumulator(8748, E, mu, KT);
    for (let k = 0; k < 11; k++) b.addEnergySlice(k, Float64Array.from({ length: 8748 }, (_, p) => ldos.data[p * 11 + k]));
    for (let p = 0; p < 8748; p++) assert.ok(Math.abs(a.densityPerA3[p] - b.densityPerA3[p]) < 1e-15);
    assert.ok(Math.abs(a.numberOfElectrons(VOXEL_A3) - 4) < 1e-9);
  });
});

describe('targets/dos (synthetic, always on)', () => {
  const energies = energiesEv(makeEnergyGrid(-2, 0.5, 13));
  const dos = Float64Array.from(energies, () => 1); // 1 state/eV: N(μ) ≈ μ − e_{−1} + …

  it('Fermi level of a flat DOS: N(μ) = N with μ inside the window', () => {
    const kT = kTEv(300);
    const mu = selfConsistentFermiEnergy(dos, energies, kT, 3);
    assert.ok(Math.abs(numberOfElectrons(dos, energies, mu, kT) - 3) < 1e-12);
    // flat DOS of height 1 from the phantom point e_{-1} = −2.5 (ramp from 0 to 1 over [−2.5, −2]):
    // N(μ) = 0.25 + (μ + 2) for a cold Fermi edge, so μ ≈ 0.75
    assert.ok(Math.abs(mu - 0.75) < 1e-6, `mu ${mu}`);
    // −TS of a flat DOS is −kT·π²/3·kT·D
    const s = entropyContribution(dos, energies, mu, kT);
    assert.ok(Math.abs(s + (Math.PI ** 2 / 3) * kT * kT) / ((Math.PI ** 2 / 3) * kT * kT) < 1e-9);
  });

  it('no Fermi level in range: a clear MalaError naming the window and the electron count', () => {
    assert.throws(() => selfConsistentFermiEnergy(dos, energies, kTEv(300), 50, 'x.npy'), (e: unknown) => {
      assert.ok(e instanceof MalaError);
      assert.match(e.message, /no Fermi level in the energy window -2…4 eV/);
      assert.match(e.message, /50 were requested/);
      assert.equal(e.file, 'x.npy');
      assert.ok(e.fix);
      return true;
    });
    assert.throws(() => selfConsistentFermiEnergy(dos, energies, kTEv(300), 0), MalaError);
    assert.throws(() => selfConsistentFermiEnergy(dos, energies, 0, 3), MalaError);
    assert.throws(() => numberOfElectrons(dos.subarray(1), energies, 0, 0.1), /DOS has 12 values but the energy grid has 13/);
  });

  it('NaN, infinite and negative LDOS values are rejected with point and energy index; clampNegative zeroes negatives', () => {
    const acc = new DosAccumulator(3, { source: 'ldos.npy' });
    assert.throws(() => acc.addPoints(Float32Array.from([1, 2, 3, 4, NaN, 6])), (e: unknown) => e instanceof MalaError && /NaN at grid point 1, energy index 1/.test(e.message) && e.file === 'ldos.npy');
    assert.throws(() => new DosAccumulator(3).addPoints(Float64Array.from([1, -2, 3])), /negative value -2 at grid point 0, energy index 1/);
    assert.throws(() => new DosAccumulator(3).addPoints(Float64Array.from([1, Infinity, 3])), /Infinity/);
    assert.throws(() => new DosAccumulator(3).addPoints(Float64Array.from([1, 2, 3, 4])), /not a whole number of rows of 3 energies/);
    assert.throws(() => new DosAccumulator(2).addEnergySlice(1, Float64Array.from([0, -1])), /negative value -1 at grid point 1, energy index 1/);
    // the four-rows-at-a-time path names the right point too
    const big = new Float32Array(10 * 3).fill(1);
    big[5 * 3 + 2] = NaN;
    assert.throws(() => new DosAccumulator(3).addPoints(big, 100), /NaN at grid point 105, energy index 2/);
    big[5 * 3 + 2] = 1;
    big[6 * 3 + 1] = -0.5;
    assert.throws(() => new DosAccumulator(3).addPoints(big), /negative value -0.5 at grid point 6, energy index 1/);
    big[6 * 3 + 1] = 1;
    big[2 * 3] = Infinity;
    assert.throws(() => new DosAccumulator(3).addPoints(big), /Infinity at grid point 2, energy index 0/);
    big[2 * 3] = 1;
    const ok = new DosAccumulator(3);
    ok.addPoints(big);
    assert.deepEqual(Array.from(ok.sums), [10, 10, 10]);
    const c = new DosAccumulator(3, { clampNegative: true });
    const chunk = Float64Array.from([1, -2, 3]);
    c.addPoints(chunk);
    assert.deepEqual(Array.from(c.sums), [1, 0, 3]);
    assert.deepEqual(Array.from(chunk), [1, 0, 3]);
    assert.throws(() => new DosAccumulator(3, { clampNegative: true }).addPoints(Float64Array.from([NaN, 0, 0])), /NaN/);
  });

  it('density accumulator rejects blocks that do not fit the grid', () => {
    const d = new DensityAccumulator(4, [0, 1, 2], 1, 0.1, 'ldos.npy');
    assert.throws(() => d.addPoints(new Float64Array(6), 3), MalaError);
    assert.throws(() => d.addEnergySlice(0, new Float64Array(5)), /slice of 5 points does not match the grid of 4 points/);
  });
});
