import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { referenceDir, tempDir } from '../helpers';
import { NpyFile, NpyStreamWriter, parseNpyHeader, readNpy, writeNpy } from '../../src/io/npy';
import { MalaError } from '../../src/errors';

// Bytes numpy 1.24 writes (np.save) for these arrays, hex.
const NUMPY_F4_2x3_HEADER = '934e554d5059010076007b276465736372273a20273c6634272c2027666f727472616e5f6f72646572273a2046616c73652c20277368617065273a2028322c2033292c207d202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020200a';
const NUMPY_F8_3_HEADER = '934e554d5059010076007b276465736372273a20273c6638272c2027666f727472616e5f6f72646572273a2046616c73652c20277368617065273a2028332c292c207d2020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020200a';
// np.save(np.asfortranarray(np.arange(6, dtype='>f8').reshape(2,3)))
const NUMPY_BE_F8_FORTRAN = '934e554d5059010076007b276465736372273a20273e6638272c2027666f727472616e5f6f72646572273a20547275652c20277368617065273a2028322c2033292c207d20202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020200a000000000000000040080000000000003ff0000000000000401000000000000040000000000000004014000000000000';
// np.save(np.arange(4, dtype='<i2') - 2)
const NUMPY_I2 = '934e554d5059010076007b276465736372273a20273c6932272c2027666f727472616e5f6f72646572273a2046616c73652c20277368617065273a2028342c292c207d2020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020200afeffffff00000100';

describe('io/npy', () => {
  let tmp: { dir: string; cleanup: () => void };
  beforeEach(() => {
    tmp = tempDir();
  });
  afterEach(() => tmp.cleanup());

  it('writes exactly the header bytes numpy writes (float32 2×3, float64 1-D)', () => {
    const a = path.join(tmp.dir, 'a.npy');
    writeNpy(a, Float32Array.from([0, 1, 2, 3, 4, 5]), [2, 3]);
    const bytes = fs.readFileSync(a);
    assert.equal(bytes.subarray(0, 128).toString('hex'), NUMPY_F4_2x3_HEADER);
    assert.equal(bytes.length, 128 + 24);
    assert.deepEqual(Array.from(new Float32Array(bytes.buffer.slice(bytes.byteOffset + 128, bytes.byteOffset + 152))), [0, 1, 2, 3, 4, 5]);
    const b = path.join(tmp.dir, 'b.npy');
    writeNpy(b, Float64Array.from([0, 1, 2]), [3]);
    assert.equal(fs.readFileSync(b).subarray(0, 128).toString('hex'), NUMPY_F8_3_HEADER);
  });

  it('round-trips float32 and float64 (shape, dtype, values bit-exact)', () => {
    const f = path.join(tmp.dir, 'r.npy');
    const v32 = Float32Array.from({ length: 2 * 3 * 4 * 5 }, (_, i) => Math.fround(Math.sin(i) * 1e-3));
    writeNpy(f, v32, [2, 3, 4, 5]);
    const r = readNpy(f);
    assert.deepEqual(r.shape, [2, 3, 4, 5]);
    assert.ok(r.data instanceof Float32Array);
    assert.deepEqual(Array.from(r.data), Array.from(v32));
    const v64 = Float64Array.from([Math.PI, -0, 1e-300, -1e300]);
    writeNpy(f, v64, [4]);
    const r2 = readNpy(f);
    assert.ok(r2.data instanceof Float64Array);
    assert.deepEqual(Array.from(r2.data), Array.from(v64));
  });

  it('reads big-endian Fortran-ordered float64 into C order, and int16 as float64', () => {
    const f = path.join(tmp.dir, 'f.npy');
    fs.writeFileSync(f, Buffer.from(NUMPY_BE_F8_FORTRAN, 'hex'));
    const r = readNpy(f);
    assert.deepEqual(r.shape, [2, 3]);
    assert.deepEqual(Array.from(r.data), [0, 1, 2, 3, 4, 5]);
    fs.writeFileSync(f, Buffer.from(NUMPY_I2, 'hex'));
    const i = readNpy(f);
    assert.ok(i.data instanceof Float64Array);
    assert.deepEqual(Array.from(i.data), [-2, -1, 0, 1]);
  });

  it('NpyFile reads row chunks equal to the whole-file read', () => {
    const f = path.join(tmp.dir, 'c.npy');
    const v = Float32Array.from({ length: 7 * 5 * 3 }, (_, i) => i);
    writeNpy(f, v, [7, 5, 3]);
    const h = new NpyFile(f);
    assert.equal(h.rowCount, 35);
    assert.equal(h.rowLength, 3);
    assert.deepEqual(Array.from(h.readRows(10, 4)), Array.from(v.subarray(30, 42)));
    assert.deepEqual(Array.from(h.readRows(34, 1)), [102, 103, 104]);
    assert.throws(() => h.readRows(34, 2), RangeError);
    h.close();
  });

  it('NpyStreamWriter: the file appears only on close, with all chunks; short writes fail and leave nothing', () => {
    const f = path.join(tmp.dir, 's.npy');
    const w = new NpyStreamWriter(f, [4, 2], 'float64');
    w.write(Float64Array.from([1, 2, 3, 4]));
    assert.equal(fs.existsSync(f), false);
    w.write(Float32Array.from([5, 6, 7, 8])); // converted to float64
    assert.throws(() => w.write(Float64Array.from([9])), RangeError);
    w.close();
    assert.deepEqual(Array.from(readNpy(f).data), [1, 2, 3, 4, 5, 6, 7, 8]);
    const g = path.join(tmp.dir, 'short.npy');
    const w2 = new NpyStreamWriter(g, [3], 'float32');
    w2.write(Float32Array.from([1]));
    assert.throws(() => w2.close(), /wrote 1 of 3/);
    assert.equal(fs.existsSync(g), false);
    assert.deepEqual(fs.readdirSync(tmp.dir).filter((n) => n.endsWith('.tmp')), []);
  });

  it('bad files give MalaErrors naming the file: missing, bad magic, truncated data, unsupported dtype, shape mismatch', () => {
    const f = path.join(tmp.dir, 'bad.npy');
    assert.throws(() => readNpy(path.join(tmp.dir, 'none.npy')), (e: unknown) => e instanceof MalaError && e.file!.endsWith('none.npy'));
    fs.writeFileSync(f, 'hello world, not numpy');
    assert.throws(() => readNpy(f), /bad magic/);
    writeNpy(f, Float32Array.from([1, 2, 3, 4]), [4]);
    const full = fs.readFileSync(f);
    fs.writeFileSync(f, full.subarray(0, full.length - 3));
    assert.throws(() => readNpy(f), (e: unknown) => e instanceof MalaError && /truncated/.test(e.message));
    assert.throws(() => new NpyFile(f), /truncated/);
    const hdr = Buffer.from(NUMPY_I2, 'hex');
    hdr.write("'<c8'", hdr.indexOf("'<i2'"), 'latin1');
    fs.writeFileSync(f, hdr);
    assert.throws(() => readNpy(f), /unsupported .npy dtype '<c8'/);
    assert.throws(() => writeNpy(f, new Float32Array(5), [2, 3]), /does not match shape/);
    assert.throws(() => parseNpyHeader(Buffer.from(NUMPY_BE_F8_FORTRAN, 'hex').subarray(0, 40)), /truncated .npy header/);
    const fo = path.join(tmp.dir, 'fortran.npy');
    fs.writeFileSync(fo, Buffer.from(NUMPY_BE_F8_FORTRAN, 'hex'));
    assert.throws(() => new NpyFile(fo), /Fortran-ordered/);
  });

  it("reads MALA's Be2 LDOS (float32, (18,18,27,11)) and DOS (float64, (11,))", function () {
    const dir = referenceDir(this);
    const ldos = readNpy(path.join(dir, 'Be_snapshot0.out.npy'));
    assert.deepEqual(ldos.shape, [18, 18, 27, 11]);
    assert.ok(ldos.data instanceof Float32Array);
    assert.equal(ldos.data.length, 8748 * 11);
    const dos = readNpy(path.join(dir, 'Be_snapshot0.dos.npy'));
    assert.deepEqual(dos.shape, [11]);
    assert.ok(dos.data instanceof Float64Array);
    assert.ok(Math.abs(dos.data[0] - 0.07491) < 1e-4);
  });
});
