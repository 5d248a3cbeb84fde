import { strict as assert } from 'node:assert';
import { errorByNeighbour, nearestNeighbourDistancesAngstrom, type AtomError } from '../../bench/force-error-by-neighbour';
import type { Atoms, Vec3 } from '../../src/structure/atoms';

const fcc = (a: number, move: Vec3 = [0, 0, 0]): Atoms => ({
  cellAngstrom: [[a, 0, 0], [0, a, 0], [0, 0, a]],
  positionsAngstrom: [[0, 0, 0], [a / 2, a / 2, 0], [a / 2, 0, a / 2], [0, a / 2, a / 2]].map((p, i) => (i === 1 ? p.map((x, k) => x + move[k]) : p) as Vec3),
  symbols: ['Al', 'Al', 'Al', 'Al'],
  pbc: [true, true, true],
});

describe('bench/force-error-by-neighbour: the force error by the atom\'s nearest-neighbour distance', () => {
  it('nearest neighbours with periodic images: a/√2 in fcc; an atom moved toward one neighbour, and that neighbour, nearer', () => {
    for (const r of nearestNeighbourDistancesAngstrom(fcc(4.05))) assert.ok(Math.abs(r - 4.05 / Math.SQRT2) < 1e-12, `${r}`);
    // atom 1 at (a/2, a/2, 0) moved 0.2 Å toward atom 0's image at (a, a, 0)... along (1, 1, 0)/√2
    const d = 0.2 / Math.SQRT2;
    const r = nearestNeighbourDistancesAngstrom(fcc(4.05, [d, d, 0]));
    assert.ok(Math.abs(r[1] - (4.05 / Math.SQRT2 - 0.2)) < 1e-12, `moved atom ${r[1]}`);
    assert.ok(Math.abs(r[0] - r[1]) < 1e-12, 'its neighbour (an image of atom 0) as near');
    assert.ok(r[2] > r[1] + 0.05 && r[3] > r[1] + 0.05, 'the others farther');
    // one atom alone in a cell: its own images
    assert.ok(Math.abs(nearestNeighbourDistancesAngstrom({ cellAngstrom: [[3, 0, 0], [0, 4, 0], [0, 0, 5]], positionsAngstrom: [[0, 0, 0]], symbols: ['Al'], pbc: [true, true, true] })[0] - 3) < 1e-12);
  });

  it('bins by the edges per group: atoms, RMSE, QE rms, each bin\'s share of the squared error (summing to 1) and α', () => {
    const atom = (frame: string, nearestAngstrom: number, qe: number[], model: number[]): AtomError => ({ frame, nearestAngstrom, qe, model });
    const atoms = [
      atom('a1', 2.3, [1, 0, 0], [2, 0, 0]), // close: forces twice QE's
      atom('a1', 2.8, [0, 0.5, 0], [0, 0.5, 0.3]), // far: an error across QE's force
      atom('a2', 2.35, [0, -1, 0], [0, -2, 0]),
      atom('b1', 2.9, [0.2, 0, 0], [0.2, 0, 0]), // another group, no error
    ];
    const rows = errorByNeighbour(atoms, [2.5], [{ name: 'A', pattern: /^a/ }, { name: 'B', pattern: /^b/ }]);
    assert.deepEqual(rows.map((r) => [r.group, r.bin, r.atoms]), [['A', [-Infinity, 2.5], 2], ['A', [2.5, Infinity], 1], ['B', [2.5, Infinity], 1]]);
    const [close, far, b] = rows;
    assert.ok(Math.abs(close.rmseEvPerA - Math.sqrt(2 / 6)) < 1e-12);
    assert.ok(Math.abs(close.qeRmsEvPerA - Math.sqrt(2 / 6)) < 1e-12);
    assert.ok(Math.abs(close.alpha - 0.5) < 1e-12, 'forces twice QE\'s: α ½');
    assert.ok(Math.abs(far.alpha - 0.25 / 0.34) < 1e-12, 'an error across QE\'s force: α below 1 too');
    assert.ok(Math.abs(close.slope - 2) < 1e-12 && Math.abs(far.slope - 1) < 1e-12, 'the slope tells the two apart');
    assert.ok(Math.abs(far.alphaIfIndependent - far.alpha) < 1e-12, 'an error across QE\'s force is independent of it');
    assert.ok(Math.abs(close.shareOfSquaredError - 2 / 2.09) < 1e-12 && Math.abs(close.shareOfSquaredError + far.shareOfSquaredError - 1) < 1e-12);
    assert.equal(b.rmseEvPerA, 0);
    assert.equal(b.alpha, 1);
  });
});
