import { strict as assert } from 'node:assert';
import { cellVolumeA3 } from '../../src/structure/atoms';
import { fccSupercell, rattle } from '../../src/structure/crystal';

describe('structure: crystals built in code', () => {
  it('fcc supercell: 4 atoms per conventional cell, nearest neighbours at a/√2 (12 of them)', () => {
    const a = 4.05;
    const at = fccSupercell('Al', a, [2, 3, 2]);
    assert.equal(at.positionsAngstrom.length, 4 * 12);
    assert.ok(Math.abs(cellVolumeA3(at.cellAngstrom) - 12 * a ** 3) < 1e-9);
    assert.ok(at.symbols.every((s) => s === 'Al'));
    // neighbours of atom 0 under periodic images
    const d: number[] = [];
    for (const p of at.positionsAngstrom.slice(1)) {
      const r = p.map((x, k) => {
        const L = at.cellAngstrom[k][k];
        return x - L * Math.round(x / L);
      });
      d.push(Math.hypot(...r));
    }
    const nn = Math.min(...d);
    assert.ok(Math.abs(nn - a / Math.SQRT2) < 1e-12, `nearest neighbour ${nn}`);
    assert.equal(d.filter((x) => Math.abs(x - nn) < 1e-9).length, 12);
  });

  it('rattle: reproducible for a seed, every displacement within the amplitude, different seeds differ', () => {
    const at = fccSupercell('Al', 4.05, [2, 2, 2]);
    const a = rattle(at, 0.05, 3);
    assert.deepEqual(rattle(at, 0.05, 3), a);
    assert.notDeepEqual(rattle(at, 0.05, 4).positionsAngstrom, a.positionsAngstrom);
    const shifts = a.positionsAngstrom.flatMap((p, i) => p.map((x, k) => x - at.positionsAngstrom[i][k]));
    assert.ok(shifts.every((s) => Math.abs(s) <= 0.05));
    assert.ok(shifts.some((s) => Math.abs(s) > 0.025), 'displacements use the amplitude');
    assert.deepEqual(a.cellAngstrom, at.cellAngstrom);
  });
});
