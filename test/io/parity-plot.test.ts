import { strict as assert } from 'node:assert';
import { forceParitySpec, PARITY_COLOURED_SNAPSHOTS, type ParityPoint } from '../../src/io/plot';
import { forceParityPoints, requireRowForcesEvPerA, rowForcesEvPerA } from '../../src/workflow/tester-report';

type Layer = { data: { values: Record<string, number | string>[] }; encoding: { x: { title: string; scale: { domain: number[] } }; y: { title: string; scale: { domain: number[] } }; color?: { field?: string; value?: string } } };

describe('the force parity plot (mala-ts test --forces --parity-plot)', () => {
  it('every component of the rows that carry forces, QE against the model, in atom order', () => {
    const rows = [
      { name: 'a', forces_ev_per_angstrom: { model: [[1, 2, 3], [4, 5, 6]], qe: [[1.5, 2, 2], [4, 4, 7]] } },
      { name: 'no-forces' },
      { name: 'b', forces_ev_per_angstrom: { model: [[0, -1, 0]], qe: [[0.5, -1, 0]] } },
    ];
    const p = forceParityPoints(rows);
    assert.equal(p.length, 9);
    assert.deepEqual(p[0], { snapshot: 'a', qeEvPerA: 1.5, modelEvPerA: 1 });
    assert.deepEqual(p[5], { snapshot: 'a', qeEvPerA: 7, modelEvPerA: 6 });
    assert.deepEqual(p[6], { snapshot: 'b', qeEvPerA: 0.5, modelEvPerA: 0 });
  });

  it('one reader of a row\'s forces: none is undefined (or an error naming the file where every row needs them); a malformed one is an error', () => {
    const good = { name: 'a', forces_ev_per_angstrom: { model: [[1, 2, 3]], qe: [[1.5, 2, 2]] } };
    assert.deepEqual(rowForcesEvPerA(good, 'x.json'), { model: [[1, 2, 3]], qe: [[1.5, 2, 2]] });
    assert.equal(rowForcesEvPerA({ name: 'b' }, 'x.json'), undefined);
    assert.throws(() => requireRowForcesEvPerA({ name: 'b' }, 'x.json'), /x\.json: row b has no forces_ev_per_angstrom .*--forces --json/);
    const bad = [
      { model: [[1, 2, 3]], qe: [[1, 2, 3], [0, 0, 0]] }, // atoms differ
      { model: [[1, 2]], qe: [[1, 2]] }, // not 3 components
      { model: [[1, 2, Number.NaN]], qe: [[1, 2, 3]] }, // not finite
      { model: [[1, 2, 3]] }, // no QE forces
      { model: [], qe: [] }, // no atoms
    ];
    for (const f of bad) {
      assert.throws(() => rowForcesEvPerA({ name: 'c', forces_ev_per_angstrom: f }, 'y.json'), /y\.json: row c: forces_ev_per_angstrom is not \{model, qe\}/, JSON.stringify(f));
      assert.throws(() => forceParityPoints([{ name: 'c', forces_ev_per_angstrom: f }], 'y.json'), /y\.json: row c/);
    }
  });

  it('equal axes spanning every point, the line y = x over them, the RMSE in the title; a colour per snapshot only for a few', () => {
    const points: ParityPoint[] = [
      { snapshot: 'a', qeEvPerA: -1, modelEvPerA: -0.5 },
      { snapshot: 'a', qeEvPerA: 2, modelEvPerA: 3 },
      { snapshot: 'b', qeEvPerA: 0.5, modelEvPerA: 0.5 },
    ];
    const spec = forceParitySpec(points) as { title: string; layer: Layer[] };
    const [line, dots] = spec.layer;
    const domain = dots.encoding.x.scale.domain;
    assert.deepEqual(dots.encoding.y.scale.domain, domain, 'the same scale on both axes');
    assert.ok(domain[0] < -1 && domain[1] > 3, `${domain}`);
    assert.deepEqual(line.data.values.map((v) => v.model_ev_per_angstrom), line.data.values.map((v) => v.qe_ev_per_angstrom), 'y = x');
    assert.deepEqual(line.data.values.map((v) => v.qe_ev_per_angstrom), domain);
    assert.equal(dots.data.values.length, 3);
    assert.equal(dots.encoding.x.title, 'QE force component (eV/Å)');
    assert.equal(dots.encoding.y.title, 'model force component (eV/Å)');
    const rmse = Math.sqrt((0.25 + 1 + 0) / 3);
    assert.match(spec.title, new RegExp(`2 snapshots, 3 components, RMSE ${rmse.toFixed(3)} eV/Å`));
    assert.equal(dots.encoding.color?.field, 'snapshot');
    const many = Array.from({ length: PARITY_COLOURED_SNAPSHOTS + 1 }, (_, k) => ({ snapshot: `s${k}`, qeEvPerA: k, modelEvPerA: k }));
    assert.equal(((forceParitySpec(many) as { layer: Layer[] }).layer[1].encoding.color)?.field, undefined, 'one colour for many snapshots');
    assert.throws(() => forceParitySpec([]), /needs forces/);
  });
});
