import { strict as assert } from 'node:assert';
import { bandErrorBudget } from '../../src/targets/band-error-budget';
import { bandEnergy, selfConsistentFermiEnergy } from '../../src/targets/dos';

// a free-electron-like DOS per atom on the broad Al grid (−5 … 10 eV, 0.1 eV), band bottom at −3.4 eV
const energies = Array.from({ length: 151 }, (_, k) => -5 + 0.1 * k);
const target = energies.map((e) => (e > -3.4 ? 0.105 * Math.sqrt(e + 3.4) : 0));
const kt = 0.0257;
const electrons = 3;

function pair(model: number[]) {
  return {
    energiesEv: energies, modelPerEv: model, targetPerEv: target, kTEv: kt,
    fermiModelEv: selfConsistentFermiEnergy(model, energies, kt, electrons),
    fermiTargetEv: selfConsistentFermiEnergy(target, energies, kt, electrons),
  };
}

describe('band-error budget: the band-energy error split by energy below E_F', () => {
  it('first order: the windows sum to the exact error up to a term quadratic in the DOS error', () => {
    // a DOS error with both signs, deep in the band and near E_F
    const shape = energies.map((e) => 0.02 * Math.exp(-(((e + 2) / 0.7) ** 2)) - 0.015 * Math.exp(-(((e - 6) / 0.5) ** 2)));
    const gap = (scale: number) => {
      const model = target.map((d, i) => d + scale * shape[i]);
      const p = pair(model);
      const b = bandErrorBudget(p, [-8, -4, -1, 0]);
      // exact is the band energies' difference, each at its own self-consistent E_F
      const direct = bandEnergy(model, energies, p.fermiModelEv, kt) - bandEnergy(target, energies, p.fermiTargetEv, kt);
      assert.ok(Math.abs(b.exact - direct) < 1e-9, `${b.exact} vs ${direct}`);
      return { b, rest: Math.abs(b.firstOrder - b.exact) };
    };
    const big = gap(1);
    const small = gap(0.1);
    assert.ok(Math.abs(big.b.exact) > 1e-3, `the error is not trivial: ${big.b.exact}`);
    // the remainder is second order: ten times less DOS error, about a hundred times less remainder
    assert.ok(small.rest < big.rest / 50, `remainder ${big.rest} → ${small.rest}`);
    assert.ok(small.rest < 0.01 * Math.abs(small.b.exact), `first order ${small.b.firstOrder} vs ${small.b.exact}`);
  });

  it('a DOS error deep in the band counts by its distance below E_F: the same excess 10 eV below E_F weighs ≈ 10× one 1 eV below', () => {
    const bump = (centre: number) => target.map((d, i) => d + 0.01 * Math.exp(-(((energies[i] - centre) / 0.3) ** 2)));
    const ef = pair(target).fermiTargetEv;
    const deep = bandErrorBudget(pair(bump(ef - 10)), [-8, -4, -1, 0]);
    const shallow = bandErrorBudget(pair(bump(ef - 1)), [-8, -4, -1, 0]);
    // an excess of states below E_F lowers the band energy (E_F drops to keep N)
    assert.ok(deep.firstOrder < 0 && shallow.firstOrder < 0);
    const ratio = deep.firstOrder / shallow.firstOrder;
    assert.ok(ratio > 9 && ratio < 11, `ratio ${ratio}`);
    // and it sits in its window: ε − E_F < −8 eV is the first
    assert.ok(Math.abs(deep.windows[0] - deep.firstOrder) < 1e-3 * Math.abs(deep.firstOrder), `${deep.windows}`);
    assert.ok(deep.electronError > 0, 'the bump adds electrons at the target E_F');
  });
});
