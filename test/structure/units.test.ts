import { strict as assert } from 'node:assert';
import { bohr3InAngstrom3, bohrAngstrom, hartreeEv, kBoltzmannEvPerK, rydbergEv, rydbergToKelvin, ryToEv } from '../../src/structure/units';

// CODATA 2014 (ASE's defaults, which MALA uses), spec §0.2: the constants derived here from the SI
// values, independently of src/structure/units.ts.
const hPlanck = 6.62607004e-34;
const eCharge = 1.6021766208e-19;
const mElectron = 9.10938356e-31;
const kBoltzmannJ = 1.38064852e-23;
const cLight = 299792458;
const eps0 = 1 / (4e-7 * Math.PI * cLight ** 2);
const hbar = hPlanck / (2 * Math.PI);
const relDiff = (a: number, b: number): number => Math.abs(a - b) / Math.abs(b);

describe('structure: unit constants (spec §0.2, CODATA 2014)', () => {
  it("equal the spec's values digit for digit", () => {
    assert.equal(rydbergEv, 13.605693012183622);
    assert.equal(hartreeEv, 27.211386024367243);
    assert.equal(bohrAngstrom, 0.5291772105638411);
    assert.equal(kBoltzmannEvPerK, 8.617330337217213e-5);
  });

  it('agree with CODATA 2014 SI values to rounding (1e-14 relative); Hartree = 2 Ry', () => {
    const hartreeFromSi = (mElectron * eCharge ** 3) / (16 * Math.PI ** 2 * eps0 ** 2 * hbar ** 2);
    const bohrFromSi = (4e10 * Math.PI * eps0 * hbar ** 2) / (mElectron * eCharge ** 2);
    assert.ok(relDiff(hartreeEv, hartreeFromSi) < 1e-14, `Hartree ${hartreeEv} vs ${hartreeFromSi}`);
    assert.ok(relDiff(rydbergEv, hartreeFromSi / 2) < 1e-14, `Rydberg ${rydbergEv} vs ${hartreeFromSi / 2}`);
    assert.ok(relDiff(bohrAngstrom, bohrFromSi) < 1e-14, `Bohr ${bohrAngstrom} vs ${bohrFromSi}`);
    assert.ok(relDiff(kBoltzmannEvPerK, kBoltzmannJ / eCharge) < 1e-14);
    assert.equal(2 * rydbergEv, hartreeEv);
    // and not CODATA 2018's Rydberg (13.605693122994 eV)
    assert.ok(relDiff(rydbergEv, 13.605693122994) > 1e-9);
  });

  it('conversions use them', () => {
    assert.equal(ryToEv(1), rydbergEv);
    assert.equal(bohr3InAngstrom3, bohrAngstrom ** 3);
    assert.ok(relDiff(rydbergToKelvin(0.0019), 299.98637294316444) < 1e-15);
  });
});
