import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { frameNames, groupCloseness } from '../../bench/frame-closest';
import { parseGroups } from '../../bench/variants-table';
import { tempDir } from '../helpers';

describe('bench/frame-closest: close pairs per group of frames', () => {
  it('counts the frames closer than the threshold (strictly), with the min and median per group', () => {
    const closest = new Map([['h8at_1', 2.40], ['h8at_2', 2.48], ['h8at_3', 2.60], ['c8at_1', 2.30], ['c8at_2', 2.70], ['v01', 2.50]]);
    const g = groupCloseness(closest, parseGroups('hot=^h8at;cool=^c8at'), 2.48);
    assert.deepEqual(g, [
      { group: 'hot', frames: 3, below: 1, minAngstrom: 2.40, medianAngstrom: 2.48 },
      { group: 'cool', frames: 2, below: 1, minAngstrom: 2.30, medianAngstrom: 2.5 },
      { group: 'other', frames: 1, below: 0, minAngstrom: 2.5, medianAngstrom: 2.5 },
    ]);
  });

  it('names a frame by its input file under either name and ignores other files', () => {
    const t = tempDir();
    try {
      for (const f of ['a_0.pw.scf.in', 'b.pw.scf.in', 'a.md.json', 'c_1.pw.scf.in']) fs.writeFileSync(path.join(t.dir, f), '');
      assert.deepEqual(frameNames(t.dir), ['a', 'b', 'c_1']);
    } finally {
      t.cleanup();
    }
  });
});
