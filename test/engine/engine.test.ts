import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MalaError } from '../../src/errors';
import { planBlocks } from '../../src/engine/blocks-plan';
import { descriptorFileSource, DescriptorSource } from '../../src/engine/descriptor-source';
import { EngineOptions, runObservablesEngine } from '../../src/engine/engine';
import type { LdosStorePlan } from '../../src/engine/ldos-store';
import { networkLdosSource } from '../../src/engine/network-source';
import { npyLdosSource } from '../../src/engine/npy-source';
import { readNpy, writeNpy } from '../../src/io/npy';
import { LdosModel, loadModel } from '../../src/network/model';
import { serialComm } from '../../src/parallel/comm';
import { GridBlock, gridBlocks } from '../../src/parallel/plane-blocks';
import { wholeGridLayout } from '../../src/qe/grid-layout';
import { kTEv } from '../../src/structure/units';
import { dosFromLdos, numberOfElectrons } from '../../src/targets/dos';
import { energiesEv } from '../../src/targets/energy-grid';
import { writeSmallPredictModel } from '../network/synthetic';
import { tempDir } from '../helpers';

const grid: [number, number, number] = [4, 6, 8];
const points = grid[0] * grid[1] * grid[2];
const voxelVolumeA3 = 0.05;
const temperatureK = 1000;

describe('engine: one observables engine over every LDOS source', function () {
  this.timeout(60000);
  let tmp: { dir: string; cleanup: () => void };
  let model: LdosModel;
  let descriptorsFile: string;
  let ldosFile: string;
  let electrons: number;
  const nE = () => model.data.energyGrid.count;

  /** The network's LDOS of every block (one batch per block, as the network source runs it), negatives clamped, in grid order. */
  async function networkLdos(blocks: GridBlock[]): Promise<Float32Array> {
    const d = descriptorFileSource(descriptorsFile, grid, model.nFeatures, model.source);
    const out = new Float32Array(points * nE());
    let p = 0;
    for (const b of blocks) {
      const n = (b.i1 - b.i0) * (grid[1] / b.rowStride) * grid[2];
      const l = await model.predictLdos(d.computeBlock(b), n, { chunkPoints: n });
      out.set(l.map((v) => Math.max(0, v)), p * nE());
      p += n;
    }
    d.close();
    return out;
  }

  before(async () => {
    tmp = tempDir();
    model = loadModel(writeSmallPredictModel(tmp.dir));
    const F = model.nFeatures;
    const desc = new Float32Array(points * F);
    for (let i = 0; i < desc.length; i++) desc[i] = Math.sin(0.37 * i) * 0.5 + 0.5;
    descriptorsFile = path.join(tmp.dir, 'desc.npy');
    writeNpy(descriptorsFile, desc, [...grid, F]);
    const ldos = await networkLdos(gridBlocks(grid, 80, false));
    ldosFile = path.join(tmp.dir, 'ldos.npy');
    writeNpy(ldosFile, ldos, [...grid, nE()]);
    // an electron count that puts E_F inside the energy window
    const e = energiesEv(model.data.energyGrid);
    electrons = numberOfElectrons(dosFromLdos(ldos, nE(), voxelVolumeA3), e, (e[0] + e[e.length - 1]) / 2, kTEv(temperatureK));
  });
  after(() => tmp.cleanup());

  const base = (): Omit<EngineOptions, 'source'> => ({ energyGrid: model.data.energyGrid, temperatureK, electrons, voxelVolumeA3, gridShape: grid, layout: wholeGridLayout(grid), ldosSource: 'test' });

  /** The network over the descriptor file, on these blocks; counts how often the descriptors are closed. */
  function network(blocks: GridBlock[], timings: Record<string, number> = {}) {
    const d = descriptorFileSource(descriptorsFile, grid, model.nFeatures, model.source);
    const counted: DescriptorSource & { closes: number } = { closes: 0, computeBlock: (b) => d.computeBlock(b), close: () => (counted.closes++, d.close()) };
    return { descriptors: counted, source: networkLdosSource({ model, descriptors: counted, grid, blocks, range: [0, blocks.length], energyCount: nE(), timings }) };
  }

  it('the network source and an .npy of the same LDOS give the same DOS, E_F, band energy, −TS and density; memory and spill-to-disk stores agree bit for bit', async () => {
    const blocks = gridBlocks(grid, 80, false); // 4 blocks of one plane (48 points)
    assert.equal(blocks.length, 4);
    const fromFile = await runObservablesEngine({ ...base(), source: npyLdosSource(ldosFile, nE(), { chunkPoints: 48 }) });
    const timings: Record<string, number> = {};
    const net = network(blocks, timings);
    const inMemory = await runObservablesEngine({ ...base(), source: net.source });
    assert.equal(inMemory.ldosStorage, 'memory');
    assert.equal(net.descriptors.closes, 1, 'descriptors released once');
    assert.ok(timings.descriptors_s >= 0 && timings.network_s >= 0, 'the network source books its own stages');
    assert.deepEqual(Object.keys(inMemory.stageTimesS), ['dos_s', 'fermi_s', 'density_s']);
    const spill = path.join(tmp.dir, 'spill.npy');
    const store: LdosStorePlan = { kind: 'disk', file: spill, shape: [points, nE()], chunkPoints: 7, keep: false };
    const onDisk = await runObservablesEngine({ ...base(), source: network(blocks).source, store });
    assert.equal(onDisk.ldosStorage, 'disk');
    assert.ok(!fs.existsSync(spill), 'the temporary spill file is deleted');

    const ref = fromFile.observables;
    assert.ok(ref.fermiEnergyIsSelfConsistent);
    assert.ok(Math.abs(ref.numberOfElectrons - electrons) < 1e-9 * electrons);
    assert.ok(Math.abs(ref.densityElectrons - electrons) < 1e-9 * electrons, `∫n = ${ref.densityElectrons}`);
    for (const r of [inMemory, onDisk]) {
      const o = r.observables;
      assert.equal(o.fermiEnergyEv, ref.fermiEnergyEv);
      assert.equal(o.bandEnergyEv, ref.bandEnergyEv);
      assert.equal(o.entropyContributionEv, ref.entropyContributionEv);
      assert.deepEqual(Array.from(o.dosPerEv), Array.from(ref.dosPerEv));
      assert.deepEqual(Array.from(r.densityPerA3), Array.from(fromFile.densityPerA3));
      assert.equal(o.densityMinPerA3, ref.densityMinPerA3);
      assert.equal(o.densityMaxPerA3, ref.densityMaxPerA3);
      assert.equal(o.pointCount, points);
    }
  });

  it('keeps the spill file as the user\'s ldos.npy (grid order) when asked', async () => {
    const blocks = gridBlocks(grid, 80, false);
    const kept = path.join(tmp.dir, 'out', 'ldos.npy');
    await runObservablesEngine({ ...base(), source: network(blocks).source, store: { kind: 'disk', file: kept, shape: [...grid, nE()], chunkPoints: 50, keep: true } });
    const a = readNpy(kept);
    assert.deepEqual(a.shape, [...grid, nE()]);
    assert.deepEqual(Array.from(a.data), Array.from(readNpy(ldosFile).data));
  });

  it('blocks of rows (not whole planes): the density comes back in grid order on the layout', async () => {
    const rows = gridBlocks(grid, 24, true); // rows 0, 2, 4 of a plane, then rows 1, 3, 5: block order is not grid order
    assert.equal(rows[0].rowStride, 2);
    const fromFile = await runObservablesEngine({ ...base(), source: npyLdosSource(await writeLdos(rows), nE()) });
    const r = await runObservablesEngine({ ...base(), source: network(rows).source });
    for (let i = 0; i < points; i++) assert.ok(Math.abs(r.densityPerA3[i] - fromFile.densityPerA3[i]) <= 1e-12 * Math.abs(fromFile.densityPerA3[i]), `point ${i}`);
    assert.ok(Math.abs(r.observables.fermiEnergyEv - fromFile.observables.fermiEnergyEv) < 1e-9);
  });

  /** The LDOS of these blocks in grid order, as an .npy. */
  async function writeLdos(blocks: GridBlock[]): Promise<string> {
    const inBlockOrder = await networkLdos(blocks);
    const inGridOrder = new Float32Array(inBlockOrder.length);
    let p = 0;
    for (const b of blocks)
      for (let i = b.i0; i < b.i1; i++)
        for (let j = b.rowStart; j < grid[1]; j += b.rowStride)
          for (let k = 0; k < grid[2]; k++, p++) inGridOrder.set(inBlockOrder.subarray(p * nE(), (p + 1) * nE()), ((i * grid[1] + j) * grid[2] + k) * nE());
    const f = path.join(tmp.dir, `ldos-rows-${blocks.length}.npy`);
    writeNpy(f, inGridOrder, [...grid, nE()]);
    return f;
  }

  it('a given Fermi energy, and the energy step on the layout\'s density', async () => {
    let seen: Float64Array | undefined;
    const r = await runObservablesEngine({
      ...base(),
      source: npyLdosSource(ldosFile, nE()),
      fermiEnergyEv: 1.5,
      energy: ({ densityPerA3, layout, bandEnergyEv }) => {
        seen = densityPerA3;
        assert.equal(layout?.nxLocal, grid[0]);
        return { totalEnergy: { totalEnergyEv: bandEnergyEv + 1, termsEv: { e_band: bandEnergyEv } }, xcFunctional: 'test' };
      },
    });
    assert.equal(r.observables.fermiEnergyIsSelfConsistent, false);
    assert.equal(r.observables.fermiEnergyEv, 1.5);
    assert.equal(seen, r.densityPerA3);
    assert.equal(r.observables.totalEnergy!.totalEnergyEv, r.observables.bandEnergyEv + 1);
    assert.equal(r.xcFunctional, 'test');
    assert.ok(r.stageTimesS.total_energy_s >= 0);
  });

  it('an error in a pass closes the source and drops the spill file', async () => {
    const blocks = gridBlocks(grid, 80, false);
    const net = network(blocks);
    const spill = path.join(tmp.dir, 'spill-fail.npy');
    await assert.rejects(runObservablesEngine({ ...base(), source: net.source, electrons: 1e6, store: { kind: 'disk', file: spill, shape: [points, nE()], chunkPoints: 10, keep: false } }), (e: unknown) => e instanceof MalaError && /Fermi/.test(e.message));
    assert.equal(net.descriptors.closes, 1);
    assert.ok(!fs.existsSync(spill));
    assert.deepEqual(fs.readdirSync(tmp.dir).filter((f) => f.includes('spill-fail')), [], 'no temporary file left');
  });

  it('the block plan: a tiny budget spills to disk (and warns when one row does not fit), a large one keeps the LDOS in memory; --ldos is one process', () => {
    const warnings: string[] = [];
    const common = { grid, featureCount: 91, energyCount: 11, splitRows: true, comm: serialComm, writeLdos: false, warn: (m: string) => warnings.push(m) };
    const big = planBlocks({ ...common, memoryMb: 4096 });
    assert.equal(big.store.kind, 'memory');
    assert.deepEqual(big.range, [0, big.blocks.length]);
    assert.deepEqual(warnings, []);
    const tiny = planBlocks({ ...common, memoryMb: 0.001 });
    assert.equal(tiny.store.kind, 'disk');
    assert.equal(tiny.largestBlockPoints, grid[2], 'one row at a time');
    assert.match(warnings[0], /one row of the grid \(8 points\) needs/);
    const twoRanks = { ...serialComm, size: 2, rank: 1 };
    const half = planBlocks({ ...common, comm: twoRanks });
    assert.equal(half.range[1], half.blocks.length, 'the last rank takes the last blocks');
    assert.throws(() => planBlocks({ ...common, comm: twoRanks, writeLdos: true, ldosFile: 'x/ldos.npy' }), (e: unknown) => e instanceof MalaError && /--ldos writes one ldos\.npy/.test(e.message));
    const user = planBlocks({ ...common, writeLdos: true, ldosFile: 'x/ldos.npy' });
    assert.deepEqual(user.store, { kind: 'disk', file: 'x/ldos.npy', shape: [...grid, 11], chunkPoints: user.store.kind === 'disk' ? user.store.chunkPoints : 0, keep: true });
  });
});
