/**
 * loadPointData (the rows train and finetune read): every frame's descriptor coefficients (its xyz
 * columns dropped) and LDOS rows, in the frames' order, in one array each, sized from the files'
 * headers before any data is read. Checked against the rows read file by file, and on bad shapes.
 */
import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import { MalaError } from '../../src/errors';
import { readNpy, writeNpy } from '../../src/io/npy';
import { Rng } from '../../src/network/rng';
import { loadPointData } from '../../src/workflow/train';
import { tempDir } from '../helpers';
import { randomArray } from '../network/synthetic';

describe('loadPointData: the frames\' rows in one array each', () => {
  let t: { dir: string; cleanup: () => void };
  before(() => {
    t = tempDir();
  });
  after(() => t.cleanup());

  // a frame of shape (nx, 1, 1, 3 + F) descriptors and (nx, 1, 1, E) LDOS, float32 or float64
  const frame = (name: string, nx: number, features: number, energies: number, seed: number, float64 = false) => {
    const rng = new Rng(seed);
    const descriptors = path.join(t.dir, `${name}.in.npy`);
    const ldos = path.join(t.dir, `${name}.out.npy`);
    const d = randomArray(rng, nx * (3 + features), -1, 1);
    const l = randomArray(rng, nx * energies, 0, 0.1);
    writeNpy(descriptors, d, [nx, 1, 1, 3 + features]);
    writeNpy(ldos, float64 ? Float64Array.from(l) : l, [nx, 1, 1, energies]);
    return { descriptors, ldos };
  };

  it('the coefficients and LDOS of each frame, in order, with each frame\'s first row', () => {
    const frames = [frame('a', 6, 4, 5, 1), frame('b', 4, 4, 5, 2, true), frame('c', 3, 4, 5, 3)];
    const got = loadPointData(frames, 3, 4, 5);
    const x: number[] = [];
    const y: number[] = [];
    for (const f of frames) {
      const d = readNpy(f.descriptors).data;
      for (let p = 0; p < d.length / 7; p++) for (let k = 0; k < 4; k++) x.push(d[p * 7 + 3 + k]);
      y.push(...Array.from(Float32Array.from(readNpy(f.ldos).data)));
    }
    assert.equal(got.nPoints, 13);
    assert.deepEqual(got.firstRows, [0, 6, 10]);
    assert.deepEqual(Array.from(got.x), Array.from(Float32Array.from(x)));
    assert.deepEqual(Array.from(got.y), y);
  });

  it('a frame of other shape is one clear error naming its file', () => {
    const good = frame('g', 5, 4, 5, 4);
    const fewer = frame('f', 5, 3, 5, 5);
    const otherEnergies = frame('e', 5, 4, 6, 6);
    const mismatch = { descriptors: good.descriptors, ldos: frame('m', 4, 4, 5, 7).ldos };
    const rejects = (files: { descriptors: string; ldos: string }[], message: RegExp, file: string) =>
      assert.throws(() => loadPointData(files, 3, 4, 5), (e: unknown) => e instanceof MalaError && message.test(e.message) && e.file === file);
    rejects([good, fewer], /descriptor file has 6 features per point, expected 7/, fewer.descriptors);
    rejects([good, otherEnergies], /LDOS file has 6 energies, the energy grid 5/, otherEnergies.ldos);
    rejects([good, mismatch], /5 descriptor points but 4 LDOS points/, mismatch.ldos);
  });

  it('a NaN is named by its file, frame and point', () => {
    const good = frame('n1', 5, 4, 5, 8);
    const bad = frame('n2', 5, 4, 5, 9);
    const l = readNpy(bad.ldos);
    const data = Float32Array.from(l.data);
    data[2 * 5 + 3] = Number.NaN;
    writeNpy(bad.ldos, data, l.shape);
    assert.throws(() => loadPointData([good, bad], 3, 4, 5), (e: unknown) => e instanceof MalaError && /LDOS file: value 3 of grid point 2 is NaN/.test(e.message) && e.file === bad.ldos);
  });
});
