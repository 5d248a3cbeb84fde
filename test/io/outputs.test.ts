import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MalaError } from '../../src/errors';
import type { ObservablesResult } from '../../src/engine/types';
import { OutputContext, outputRequest, outputWriters, OutputWriter, writeLastOutputs, writeOutputs } from '../../src/io/outputs';
import { readNpy } from '../../src/io/npy';
import { serialComm } from '../../src/parallel/comm';
import { makeEnergyGrid } from '../../src/targets/energy-grid';
import { tempDir } from '../helpers';

function context(dir: string, rank = 0): OutputContext {
  const result = {
    energiesEv: Float64Array.from([0, 1, 2]),
    dosPerEv: Float64Array.from([0.5, 1, 0.25]),
    fermiEnergyEv: 1.2,
    energyGrid: makeEnergyGrid(0, 1, 3),
    outputs: {},
  } as unknown as ObservablesResult;
  return { comm: { ...serialComm, rank }, result, densityPerA3: Float64Array.from([1, 2, 3, 4, 5, 6, 7, 8]), densityFile: { grid: [2, 2, 2] }, plotTitle: 'test', json: () => ({ dir }) };
}

describe('io/outputs: output formats by name', () => {
  let tmp: { dir: string; cleanup: () => void };
  beforeEach(() => {
    tmp = tempDir();
  });
  afterEach(() => tmp.cleanup());

  it('picks the writer by kind and extension, and names the known formats for an unknown one', () => {
    assert.equal(outputRequest('density', 'x/n.CUBE').writer.extension, '.cube');
    assert.equal(outputRequest('density', 'n.npy').writer.extension, '.npy');
    assert.equal(outputRequest('plot', 'd.png').writer.kind, 'plot');
    assert.throws(() => outputRequest('plot', 'd.jpg'), (e: unknown) => e instanceof MalaError && e.message === "unknown plot format '.jpg'" && e.fix === 'name the plot file .svg or .png');
    assert.throws(() => outputRequest('density', 'd'), (e: unknown) => e instanceof MalaError && e.message === "unknown density format '(none)'" && e.fix === 'name the density file .cube (1/Bohr³, QE style) or .npy (1/Å³, MALA style)');
    assert.throws(() => outputRequest('forces', 'f.csv'), /no output of kind 'forces'/);
    // one writer per kind and extension
    const keys = outputWriters.map((w) => `${w.kind}${w.extension}`);
    assert.equal(new Set(keys).size, keys.length);
  });

  it('writes in order, records what it wrote, keeps `last` outputs for the end; a new format is one writer object', async () => {
    const calls: string[] = [];
    // a format not in the registry: a request carries its writer, so a new file + one registry line is all it takes
    const xyz: OutputWriter = { kind: 'density', extension: '.xyz', label: '.xyz', write: (file) => void calls.push(`xyz ${path.basename(file)}`) };
    const everyRank: OutputWriter = { kind: 'collective', extension: '.bin', label: '.bin', collective: true, write: () => void calls.push('collective') };
    const requests = [
      { file: path.join(tmp.dir, 'n.xyz'), writer: xyz },
      outputRequest('dos', path.join(tmp.dir, 'dos.csv')),
      outputRequest('density', path.join(tmp.dir, 'n.npy')),
      outputRequest('results', path.join(tmp.dir, 'results.json')),
      { file: path.join(tmp.dir, 'c.bin'), writer: everyRank },
    ];
    const ctx = context(tmp.dir);
    await writeOutputs(requests, ctx);
    assert.deepEqual(calls, ['xyz n.xyz', 'collective']);
    assert.deepEqual(Object.keys(ctx.result.outputs), ['density', 'dos', 'results', 'collective']);
    assert.equal(ctx.result.outputs.density, path.join(tmp.dir, 'n.npy'), 'the later density request wins the record');
    assert.equal(fs.readFileSync(path.join(tmp.dir, 'dos.csv'), 'utf8'), 'energy_ev,dos_per_ev\n0,0.5\n1,1\n2,0.25\n');
    assert.deepEqual(readNpy(path.join(tmp.dir, 'n.npy')).shape, [2, 2, 2, 1]);
    assert.ok(!fs.existsSync(path.join(tmp.dir, 'results.json')), 'results.json waits for the final numbers');
    await writeLastOutputs(requests, ctx);
    assert.deepEqual(JSON.parse(fs.readFileSync(path.join(tmp.dir, 'results.json'), 'utf8')), { dir: tmp.dir });

    // another rank writes only the collective outputs
    calls.length = 0;
    const other = context(tmp.dir, 1);
    await writeOutputs(requests, other);
    assert.deepEqual(calls, ['collective']);
    assert.deepEqual(Object.keys(other.result.outputs), ['collective']);
  });
});
