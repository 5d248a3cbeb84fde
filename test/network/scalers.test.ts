import { strict as assert } from 'node:assert';
import { MalaError } from '../../src/errors';
import { Rng } from '../../src/network/rng';
import { DataScaler } from '../../src/network/scalers';
import { randomArray } from './synthetic';

describe('network/scalers', function () {
  const nF = 5;
  const rng = new Rng(5);
  const data = randomArray(rng, 200 * nF, -3, 40);

  for (const type of ['None', 'standard', 'minmax', 'normal', 'feature-wise-standard', 'feature-wise-minmax', 'feature-wise-normal']) {
    it(`${type}: transform then inverse returns the data (float32), JSON round trip keeps it`, function () {
      const s = new DataScaler(type).fit(data, nF);
      const t = s.transform(Float32Array.from(data), nF);
      if (type !== 'None') assert.notDeepEqual(t, data);
      const back = s.inverse(Float32Array.from(t), nF);
      let rel = 0;
      for (let i = 0; i < data.length; i++) rel += Math.abs((back[i] - data[i]) / data[i]);
      assert.ok(rel / data.length < 1e-5, `mean rel error ${rel / data.length}`);
      const s2 = DataScaler.fromMala(JSON.parse(JSON.stringify(s.toJSON())), 'json');
      assert.deepEqual(s2.transform(Float32Array.from(data), nF), t);
    });
  }

  it('standard: column mean 0 and unbiased std 1 after transform; minmax: range [0, 1]', function () {
    const t = new DataScaler('feature-wise-standard').fit(data, nF).transform(Float32Array.from(data), nF);
    for (let c = 0; c < nF; c++) {
      let s = 0, q = 0;
      for (let r = 0; r < 200; r++) s += t[r * nF + c];
      const mean = s / 200;
      for (let r = 0; r < 200; r++) q += (t[r * nF + c] - mean) ** 2;
      assert.ok(Math.abs(mean) < 1e-5);
      assert.ok(Math.abs(Math.sqrt(q / 199) - 1) < 1e-5, 'N−1 standard deviation');
    }
    const m = new DataScaler('minmax').fit(data, nF).transform(Float32Array.from(data), nF);
    assert.ok(Math.abs(Math.min(...m)) < 1e-6 && Math.abs(Math.max(...m) - 1) < 1e-6);
  });

  it('rejects unknown types, feature count mismatches and damaged parameters', function () {
    assert.throws(() => new DataScaler('logarithmic'), MalaError);
    const s = new DataScaler('feature-wise-standard').fit(data, nF);
    assert.throws(() => s.transform(new Float32Array(12), 4), /5 features but the data has 4/);
    const j = s.toJSON();
    j.stds = [[1, 0, 1, 1, 1]];
    assert.throws(() => DataScaler.fromMala(j as unknown as Record<string, unknown>, 'x.json'), /zero or non-finite/);
  });
});
