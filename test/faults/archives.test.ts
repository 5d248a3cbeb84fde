/**
 * Fault suite, hostile model archives (issue 14): a tensor view that asks for far more than its
 * storage (a 15 KB zip allocated more than 6 GB), an unused huge member (decompressed whole), a
 * needed member declaring an absurd size.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { unzipSync, zipSync } from 'fflate';
import { MalaError } from '../../src/errors';
import { loadModel } from '../../src/network/model';
import { PickleError } from '../../src/network/pickle';
import { checkTensorView, readStateDict } from '../../src/network/torch-pickle';
import { writeSmallPredictModel } from '../network/synthetic';
import { tempDir } from '../helpers';

/** Pickle opcodes for a zip-format torch state_dict {'0.weight': view of storage '0'}. */
function statePickle(view: { numel: number; offset: number; shape: number[]; stride: number[] }): Uint8Array {
  const parts: Buffer[] = [];
  const op = (s: string) => parts.push(Buffer.from(s, 'latin1'));
  const str = (s: string) => {
    const b = Buffer.from(s, 'utf8');
    const len = Buffer.alloc(4);
    len.writeUInt32LE(b.length);
    parts.push(Buffer.from([0x58]), len, b);
  };
  const int = (n: number) => {
    const b = Buffer.alloc(5);
    b[0] = 0x4a;
    b.writeInt32LE(n, 1);
    parts.push(b);
  };
  const tuple = (xs: number[]) => {
    op('(');
    xs.forEach(int);
    op('t');
  };
  op('\x80\x02ccollections\nOrderedDict\n)R');
  str('0.weight');
  op('ctorch._utils\n_rebuild_tensor_v2\n(');
  op('(');
  str('storage');
  op('ctorch\nFloatStorage\n');
  str('0');
  str('cpu');
  int(view.numel);
  op('tQ');
  int(view.offset);
  tuple(view.shape);
  tuple(view.stride);
  op('\x89ccollections\nOrderedDict\n)RtRs.');
  return Buffer.concat(parts);
}

function torchZip(view: { numel: number; offset: number; shape: number[]; stride: number[] }): Uint8Array {
  return zipSync({ 'archive/data.pkl': statePickle(view), 'archive/data/0': new Uint8Array(4 * view.numel), 'archive/version': Buffer.from('3\n') });
}

/** Set a member's declared uncompressed size in its local and central headers. */
function declareSize(zip: Uint8Array, name: string, bytes: number): Uint8Array {
  const b = Buffer.from(zip);
  let patched = 0;
  for (let i = 0; i + 46 < b.length; i++) {
    const sig = b.readUInt32LE(i);
    if (sig === 0x04034b50 && b.toString('utf8', i + 30, i + 30 + b.readUInt16LE(i + 26)) === name) b.writeUInt32LE(bytes, i + 22), patched++;
    if (sig === 0x02014b50 && b.toString('utf8', i + 46, i + 46 + b.readUInt16LE(i + 28)) === name) b.writeUInt32LE(bytes, i + 24), patched++;
  }
  assert.equal(patched, 2, `patched ${name}`);
  return b;
}

describe('faults: hostile model archives', function () {
  this.timeout(30000);
  let t: { dir: string; cleanup: () => void };
  beforeEach(() => {
    t = tempDir();
  });
  afterEach(() => t.cleanup());

  it('a stride-0 view of one float with 10⁹ elements is refused before allocating (it took > 6 GB)', () => {
    const t0 = Date.now();
    assert.throws(() => readStateDict(torchZip({ numel: 1, offset: 0, shape: [1000000000], stride: [0] })), (e: unknown) => e instanceof PickleError && /tensor view of storage 0 \(1 elements: offset 0, shape \(1000000000\), stride \(0\)\) has 1000000000 elements, more than its storage/.test(e.message));
    assert.ok(Date.now() - t0 < 2000);
    // the same in a MALA zip: one MalaError naming the zip
    const zip = path.join(t.dir, 'hostile_model.zip');
    const params = { network: { nn_type: 'feed-forward', layer_sizes: [2, 2], layer_activations: 'ReLU' } };
    fs.writeFileSync(zip, zipSync({ 'm.params.json': Buffer.from(JSON.stringify(params)), 'm.network.pth': torchZip({ numel: 4, offset: 0, shape: [100000, 100000], stride: [0, 0] }) }));
    assert.throws(() => loadModel(zip), (e: unknown) => e instanceof MalaError && e.file === zip && /cannot read MALA model: tensor view .* has 10000000000 elements, more than its storage/.test(e.message));
  });

  it('views past the end of the storage and malformed views are refused; real views pass', () => {
    assert.throws(() => checkTensorView('0', 6, 2, [2, 3], [3, 1]), /reaches element 7, past the storage's end/);
    assert.throws(() => checkTensorView('0', 6, 0, [2, -3], [3, 1]), /is malformed/);
    assert.throws(() => checkTensorView('0', 6, 0, [2, 3], [3]), /is malformed/);
    assert.equal(checkTensorView('0', 6, 0, [2, 3], [3, 1]), 6);
    assert.equal(checkTensorView('0', 6, 0, [3, 2], [1, 3]), 6, 'a transposed view');
    assert.equal(checkTensorView('0', 0, 0, [0, 3], [3, 1]), 0);
    const sd = readStateDict(torchZip({ numel: 6, offset: 0, shape: [2, 3], stride: [3, 1] }));
    assert.deepEqual(sd[0][1].shape, [2, 3]);
  });

  it('an unused member declaring 4 GiB is never decompressed; a needed member declaring 3 GiB is refused by its size', () => {
    const members = unzipSync(fs.readFileSync(writeSmallPredictModel(t.dir)));
    const withJunk = path.join(t.dir, 'junk.zip');
    fs.writeFileSync(withJunk, declareSize(zipSync({ ...members, 'junk.bin': new Uint8Array(1000) }), 'junk.bin', 0xfffffff0));
    const t0 = Date.now();
    assert.ok(loadModel(withJunk).nFeatures > 0);
    assert.ok(Date.now() - t0 < 5000, `${Date.now() - t0} ms`);
    const huge = path.join(t.dir, 'huge.zip');
    fs.writeFileSync(huge, declareSize(zipSync(members), 'weights.safetensors', 3 * 2 ** 30));
    assert.throws(() => loadModel(huge), (e: unknown) => e instanceof MalaError && e.file === huge && /model archive member weights\.safetensors declares 3\.0 GiB uncompressed, more than the 2 GiB a model member can be/.test(e.message));
  });
});
