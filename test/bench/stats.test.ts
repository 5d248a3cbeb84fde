import { strict as assert } from 'node:assert';
import { median } from '../../bench/stats';

describe('bench/stats', () => {
  it('median: the middle of an odd count, the mean of the two middles of an even count, input untouched', () => {
    const xs = [3, 1, 2];
    assert.equal(median(xs), 2);
    assert.deepEqual(xs, [3, 1, 2]);
    assert.equal(median([4, 1, 3, 2]), 2.5);
    assert.equal(median([10, -1]), 4.5);
    assert.equal(median([7]), 7);
    // numeric order, not the default string order ("10" < "9")
    assert.equal(median([9, 10, 100]), 10);
    assert.throws(() => median([]), /median of no values/);
  });
});
