import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import { MalaError } from '../../src/errors';
import { descriptorType, descriptorTypeNames, registerDescriptorType, resolveDescriptors, type DescriptorType } from '../../src/descriptors/registry';
import { writeNpy } from '../../src/io/npy';
import { loadModel, LdosModel } from '../../src/network/model';
import { blockGridIndices, blockPointCount } from '../../src/parallel/plane-blocks';
import { readStructure } from '../../src/structure/registry';
import { predict } from '../../src/workflow/predict';
import { makeModelData } from '../network/synthetic';
import { saveModelData } from '../../src/network/model';
import { makeEnergyGrid } from '../../src/targets/energy-grid';
import { repoRoot, tempDir } from '../helpers';

const FEATURES = 14;
/** A made-up descriptor: smooth functions of the grid index, `scale` from the model's record. */
const value = (g: number, c: number, scale: number) => 5 + 4 * Math.sin(0.37 * g + 1.3 * c) * scale;

/** The whole example of adding a descriptor type: one object, one registry call. */
const dummyType: DescriptorType<{ scale: number }> = {
  name: 'DummyWave',
  parameters: (record) => ({ scale: Number(record.scale ?? 1) }),
  featureCount: () => FEATURES,
  open: ({ scale }, { grid }) => ({
    featureCount: FEATURES,
    computeBlock(b) {
      const idx = blockGridIndices(b, grid);
      const out = new Float32Array(blockPointCount(b, grid) * FEATURES);
      idx.forEach((g, p) => {
        for (let c = 0; c < FEATURES; c++) out[p * FEATURES + c] = value(g, c, scale);
      });
      return out;
    },
    close: () => undefined,
  }),
};

describe('descriptors: types by name in one registry', () => {
  it("the shipped Al model's record resolves to the bispectrum type with its feature count", () => {
    const model = loadModel(path.join(repoRoot, 'models', 'al-fcc-298K', 'model.zip'), { backend: 'ts' });
    const r = resolveDescriptors(model.data.descriptors, model.source);
    assert.equal(r.type.name, 'Bispectrum');
    assert.equal(r.featureCount, model.nFeatures);
    assert.equal((r.parameters as { rcutfacAngstrom: number }).rcutfacAngstrom, model.data.descriptors.rcutfac);
  });

  it('an unknown type is one error that lists the registered ones', () => {
    assert.throws(
      () => descriptorType('ACE', 'm.zip'),
      (e: unknown) => e instanceof MalaError && /unsupported descriptor type 'ACE'/.test(e.message) && e.file === 'm.zip' && /Bispectrum/.test(e.fix ?? ''),
    );
  });

  it('a registered type drives predict end to end, exactly as the same descriptors read from a .npy', async function () {
    this.timeout(60000);
    registerDescriptorType(dummyType);
    assert.ok(descriptorTypeNames().includes('DummyWave'));
    const t = tempDir();
    try {
      const m = makeModelData(11, [FEATURES, 16, 24]);
      m.energyGrid = makeEnergyGrid(-5, 1, 24);
      m.descriptors = { ...m.descriptors, type: 'dummywave', scale: 0.5 } as typeof m.descriptors;
      const file = path.join(t.dir, 'model.zip');
      saveModelData(file, m);
      const model: LdosModel = loadModel(file, { backend: 'ts' });
      const { atoms } = readStructure(path.join(repoRoot, 'fixtures', 'al-fcc-qe', 'Al.pw.scf.out'));
      const grid = [6, 5, 4];
      const n = grid[0] * grid[1] * grid[2];
      const all = new Float32Array(n * FEATURES);
      for (let g = 0; g < n; g++) for (let c = 0; c < FEATURES; c++) all[g * FEATURES + c] = value(g, c, 0.5);
      const npy = path.join(t.dir, 'd.npy');
      writeNpy(npy, all, [...grid, FEATURES]);
      const common = { atoms, model, grid, temperatureK: 1000, electrons: 4, pseudoDir: path.join(t.dir, 'none'), maxBlockPoints: 20 };
      const viaType = await predict(common);
      const viaFile = await predict({ ...common, descriptorsFile: npy });
      assert.ok(Number.isFinite(viaType.bandEnergyEv));
      assert.equal(viaType.bandEnergyEv, viaFile.bandEnergyEv);
      assert.equal(viaType.fermiEnergyEv, viaFile.fermiEnergyEv);
      assert.ok(viaType.blockCount > 1, 'several blocks');
    } finally {
      t.cleanup();
    }
  });
});
