import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readNpy } from '../../src/io/npy';
import { loadModel } from '../../src/network/model';
import { readStateDict } from '../../src/network/torch-pickle';
import { unzipSync, zipSync } from 'fflate';
import { tempDir } from '../helpers';
import { dosFromLdos, dosObservables } from '../../src/targets/dos';
import { energiesEv } from '../../src/targets/energy-grid';
import { kBoltzmannEvPerK } from '../../src/structure/units';
import { referenceDir } from '../helpers';
import { requireBackend } from './backend-suite';

function close(a: ArrayLike<number>, b: number[], tol: number, what: string): void {
  b.forEach((v, i) => assert.ok(Math.abs(a[i] - v) <= tol * Math.abs(v), `${what}[${i}] = ${a[i]}, expected ${v}`));
}

/** Descriptors of a Be2 snapshot with the 3 xyz columns dropped. */
function be2Descriptors(dir: string, snap: number): { x: Float32Array; n: number } {
  const d = readNpy(path.join(dir, `Be_snapshot${snap}.in.npy`));
  const n = d.shape[0] * d.shape[1] * d.shape[2];
  const x = new Float32Array(n * 91);
  for (let p = 0; p < n; p++) for (let k = 0; k < 91; k++) x[p * 91 + k] = d.data[p * 94 + 3 + k];
  return { x, n };
}

function voxelVolumeA3(info: { atoms: { cell: number[][] }; grid_dimensions: number[] }): number {
  const [a, b, c] = info.atoms.cell;
  const det = a[0] * (b[1] * c[2] - b[2] * c[1]) - a[1] * (b[0] * c[2] - b[2] * c[0]) + a[2] * (b[0] * c[1] - b[1] * c[0]);
  return Math.abs(det) / info.grid_dimensions.reduce((x, y) => x * y, 1);
}

describe('network/MALA model import (Be_model.zip)', function () {
  this.timeout(60000);

  it('reads the legacy network.pth state_dict with the shapes and values of spec §4.1', function () {
    const dir = referenceDir(this);
    const files = unzipSync(fs.readFileSync(path.join(dir, 'Be_model.zip')));
    const sd = new Map(readStateDict(files['Be_model.network.pth']));
    assert.deepEqual([...sd.keys()], ['layers.0.weight', 'layers.0.bias', 'layers.2.weight', 'layers.2.bias']);
    assert.deepEqual(sd.get('layers.0.weight')!.shape, [100, 91]);
    assert.deepEqual(sd.get('layers.2.weight')!.shape, [11, 100]);
    close(sd.get('layers.0.weight')!.data, [0.0797876, -0.07659042, 0.03533292], 1e-6, 'W0');
    close(sd.get('layers.0.bias')!.data, [0.03303409, -0.09164326, -0.08236305], 1e-6, 'b0');
    close(sd.get('layers.2.weight')!.data, [0.05596985, -0.07791737, -0.00766625], 1e-6, 'W2');
    close(sd.get('layers.2.bias')!.data, [-0.001469, 0.07057511, 0.01807116], 1e-4, 'b2');
    // Sum from Python's torch.load (spec nn-backend-notes §4).
    assert.ok(Math.abs(Array.from(sd.get('layers.0.weight')!.data).reduce((s, v) => s + v, 0) - -17.268287734956175) < 1e-9);
  });

  it('decodes the scaler pickles (spec §3.3) and the parameters', function () {
    const dir = referenceDir(this);
    const m = loadModel(path.join(dir, 'Be_model.zip'));
    const d = m.data;
    assert.deepEqual(d.spec, { layerSizes: [91, 100, 11], activations: ['ReLU', null] });
    assert.equal(d.inputScaler.typestring, 'feature-wise-standard');
    close(d.inputScaler.shift, [1576.1862, 1.2266442, 0.17554519, 45.293118], 2e-7, 'means');
    close(d.inputScaler.scale, [9.072263, 0.29809767, 0.03683864, 4.1794524], 2e-7, 'stds');
    assert.equal(d.inputScaler.shift.length, 91);
    assert.equal(d.outputScaler.typestring, 'normal');
    assert.ok(Math.abs(d.outputScaler.shift[0] - 0.004865299) < 1e-9);
    assert.ok(Math.abs(d.outputScaler.shift[0] + d.outputScaler.scale[0] - 0.03334564) < 1e-8);
    assert.deepEqual(d.energyGrid, { offsetEv: -5, spacingEv: 2.5, count: 11 });
    assert.equal(d.descriptors.twojmax, 10);
    assert.equal(d.descriptors.rcutfac, 4.67637);
    assert.equal(d.reference?.temperatureK, 299.98637294316444);
    assert.equal(d.restrictTargets, 'zero_out_negative');
  });

  it('input scaler means reproduce the column means of Be_snapshot0.in.npy (the training snapshot)', function () {
    const dir = referenceDir(this);
    const m = loadModel(path.join(dir, 'Be_model.zip'));
    const { x, n } = be2Descriptors(dir, 0);
    for (const k of [0, 5, 50, 90]) {
      let s = 0;
      for (let p = 0; p < n; p++) s += x[p * 91 + k];
      assert.ok(Math.abs(s / n - m.data.inputScaler.shift[k]) <= 2e-6 * Math.abs(s / n), `feature ${k}`);
    }
  });

  it('predicted LDOS gives band-energy errors of +3.4 / −9.6 meV/atom (snapshots 0 / 1) and E_band 12.45397 / 12.26025 eV', async function () {
    const dir = referenceDir(this);
    const m = loadModel(path.join(dir, 'Be_model.zip'));
    const expected = [
      { bandEv: 12.45397, errMeV: 3.4 },
      { bandEv: 12.26025, errMeV: -9.6 },
    ];
    for (const snap of [0, 1]) {
      const info = JSON.parse(fs.readFileSync(path.join(dir, `Be_snapshot${snap}.info.json`), 'utf8'));
      const vox = voxelVolumeA3(info);
      const kT = kBoltzmannEvPerK * info.temperature;
      const e = energiesEv(m.data.energyGrid);
      const { x, n } = be2Descriptors(dir, snap);
      const ldos = await m.predictLdos(x, n);
      assert.equal(ldos.length, n * 11);
      assert.ok(ldos.every((v) => v >= 0), 'LDOS clamped to ≥ 0');
      const pred = dosObservables(dosFromLdos(ldos, 11, vox), e, kT, info.number_of_electrons_exact);
      const dftLdos = readNpy(path.join(dir, `Be_snapshot${snap}.out.npy`)).data;
      const dft = dosObservables(dosFromLdos(dftLdos, 11, vox), e, kT, info.number_of_electrons_exact);
      const errMeVPerAtom = ((pred.bandEnergyEv - dft.bandEnergyEv) / info.atoms.numbers.length) * 1000;
      assert.ok(Math.abs(errMeVPerAtom - expected[snap].errMeV) < 0.1, `snapshot ${snap}: band error ${errMeVPerAtom} meV/atom`);
      assert.ok(Math.abs(pred.bandEnergyEv - expected[snap].bandEv) < 1e-5, `snapshot ${snap}: E_band ${pred.bandEnergyEv}`);
    }
  });

  it('the TS fallback predicts the same LDOS as libtorch (1e-5 relative)', async function () {
    const dir = referenceDir(this);
    requireBackend(this, 'torch'); // without the addon both sides would be TS: skip, visibly
    const { x, n } = be2Descriptors(dir, 1);
    const ts = loadModel(path.join(dir, 'Be_model.zip'), { backend: 'ts' });
    const torch = loadModel(path.join(dir, 'Be_model.zip'), { backend: 'torch' });
    assert.deepEqual([ts.backend().name, torch.backend().name], ['ts', 'torch']);
    const a = await ts.predictLdos(x, n);
    const b = await torch.predictLdos(x, n);
    let d = 0, s = 0;
    for (let i = 0; i < a.length; i++) {
      d = Math.max(d, Math.abs(a[i] - b[i]));
      s = Math.max(s, Math.abs(a[i]));
    }
    assert.ok(d / s < 1e-5, `max rel diff ${d / s}`);
  });

  it('reads newer MALA zips with JSON scalers (Python-style Infinity tokens) the same as the pickled ones', async function () {
    const dir = referenceDir(this);
    const orig = loadModel(path.join(dir, 'Be_model.zip'));
    const files = unzipSync(fs.readFileSync(path.join(dir, 'Be_model.zip')));
    const pyJson = (o: object) => Buffer.from(JSON.stringify(o).replace(/"(-?)inf"/g, '$1Infinity'));
    const tmp = tempDir();
    try {
      const file = path.join(tmp.dir, 'Be_json.zip');
      fs.writeFileSync(file, zipSync({
        'Be_json.params.json': files['Be_model.params.json'],
        'Be_json.network.pth': files['Be_model.network.pth'],
        'Be_json.iscaler.json': pyJson(orig.data.inputScaler.toJSON()),
        'Be_json.oscaler.json': pyJson(orig.data.outputScaler.toJSON()),
      }, { level: 0 })); // stored, as MALA writes its zips
      assert.match(fs.readFileSync(file).toString('latin1'), /"total_max":-Infinity/);
      const m = loadModel(file);
      const { x, n } = be2Descriptors(dir, 0);
      assert.deepEqual(await m.predictLdos(x, n), await orig.predictLdos(x, n));
      assert.equal(m.data.reference, null, 'no info.json in this zip');
    } finally {
      tmp.cleanup();
    }
  });
});
