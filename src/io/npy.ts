/**
 * NumPy .npy files: read and write versions 1.0/2.0/3.0, little- or big-endian float32/float64
 * (plus common integer types on read), C order. Large files can be read in row chunks along the
 * leading axes without loading everything (`NpyFile.readRows`), and written in chunks
 * (`NpyStreamWriter`), so grids bigger than memory stay usable.
 */
import * as fs from 'node:fs';
import { checkInputFile } from './input-file';
import { MalaError } from '../errors';
import { AtomicFileWriter, writeFileAtomic } from './atomic-write';

export type NpyDtype = 'float32' | 'float64';
export type NpyArray = Float32Array | Float64Array;

export interface NpyHeader {
  shape: number[];
  /** Type of the data as we return it (integers are returned as float64). */
  dtype: NpyDtype;
  /** numpy's descr string as found in the file, e.g. '<f4'. */
  descr: string;
  fortranOrder: boolean;
  /** Byte offset of the first data element. */
  dataOffset: number;
  /** Bytes per element on disk. */
  itemSize: number;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

interface DescrInfo { itemSize: number; littleEndian: boolean; kind: 'f' | 'i' | 'u' }

function parseDescr(descr: string, file: string): DescrInfo {
  const m = /^([<>|=])([fiu])(\d+)$/.exec(descr);
  if (!m) throw new MalaError(`unsupported .npy dtype '${descr}'`, { file, fix: 'save the array as float32 or float64 (numpy .astype(np.float32))' });
  const itemSize = Number(m[3]);
  const kind = m[2] as 'f' | 'i' | 'u';
  const ok = kind === 'f' ? itemSize === 4 || itemSize === 8 : [1, 2, 4, 8].includes(itemSize);
  if (!ok) throw new MalaError(`unsupported .npy dtype '${descr}'`, { file, fix: 'save the array as float32 or float64' });
  return { itemSize, littleEndian: m[1] !== '>', kind };
}

/** Parse the header of a .npy file from its first bytes. */
export function parseNpyHeader(buf: Uint8Array, file = '<buffer>'): NpyHeader {
  for (let i = 0; i < MAGIC.length; i++) {
    if (buf[i] !== MAGIC[i]) throw new MalaError('not a .npy file (bad magic bytes)', { file, fix: 'pass a file written by numpy.save or mala-ts' });
  }
  const major = buf[6];
  let headerLen: number;
  let start: number;
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  if (major === 1) {
    headerLen = dv.getUint16(8, true);
    start = 10;
  } else if (major === 2 || major === 3) {
    headerLen = dv.getUint32(8, true);
    start = 12;
  } else {
    throw new MalaError(`unsupported .npy format version ${major}`, { file, fix: 'save with numpy.save (format 1.0–3.0)' });
  }
  if (buf.byteLength < start + headerLen) throw new MalaError('truncated .npy header', { file, fix: 'the file is incomplete; regenerate it' });
  const text = Buffer.from(buf.buffer, buf.byteOffset + start, headerLen).toString(major === 3 ? 'utf8' : 'latin1');
  const descr = /'descr'\s*:\s*'([^']+)'/.exec(text)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(text)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(text)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) {
    throw new MalaError(`malformed .npy header: ${text.trim()}`, { file, fix: 'regenerate the file with numpy.save' });
  }
  const shape = shapeText.split(',').map((s) => s.trim()).filter((s) => s.length > 0).map(Number);
  if (shape.some((n) => !Number.isInteger(n) || n < 0)) throw new MalaError(`malformed .npy shape (${shapeText})`, { file });
  const info = parseDescr(descr, file);
  return {
    shape,
    dtype: info.kind === 'f' && info.itemSize === 4 ? 'float32' : 'float64',
    descr,
    fortranOrder: fortran === 'True',
    dataOffset: start + headerLen,
    itemSize: info.itemSize,
  };
}

/**
 * Convert raw bytes of `count` elements with numpy descr to a typed array. Copies, unless
 * `owned` says the caller hands over `bytes` (then aligned little-endian floats are returned as a
 * view: no second allocation and copy of large chunks).
 */
function decode(bytes: Uint8Array, header: NpyHeader, count: number, file: string, owned = false): NpyArray {
  const info = parseDescr(header.descr, file);
  const le = info.littleEndian;
  if (info.kind === 'f' && le && (bytes.byteOffset % info.itemSize === 0)) {
    const view = info.itemSize === 4 ? new Float32Array(bytes.buffer, bytes.byteOffset, count) : new Float64Array(bytes.buffer, bytes.byteOffset, count);
    if (owned) return view;
    const copy = info.itemSize === 4 ? new Float32Array(count) : new Float64Array(count);
    copy.set(view);
    return copy;
  }
  const out = header.dtype === 'float32' ? new Float32Array(count) : new Float64Array(count);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = info.itemSize;
  for (let i = 0; i < count; i++) {
    const o = i * n;
    let v: number;
    if (info.kind === 'f') v = n === 4 ? dv.getFloat32(o, le) : dv.getFloat64(o, le);
    else if (info.kind === 'i') v = n === 1 ? dv.getInt8(o) : n === 2 ? dv.getInt16(o, le) : n === 4 ? dv.getInt32(o, le) : Number(dv.getBigInt64(o, le));
    else v = n === 1 ? dv.getUint8(o) : n === 2 ? dv.getUint16(o, le) : n === 4 ? dv.getUint32(o, le) : Number(dv.getBigUint64(o, le));
    out[i] = v;
  }
  return out;
}

/** Reverse axes order of a Fortran-ordered array into C order. */
function fortranToC(data: NpyArray, shape: number[]): NpyArray {
  if (shape.length <= 1) return data;
  const out = new (data.constructor as { new (n: number): NpyArray })(data.length);
  const nd = shape.length;
  const cStrides = new Array<number>(nd);
  const fStrides = new Array<number>(nd);
  cStrides[nd - 1] = 1;
  for (let d = nd - 2; d >= 0; d--) cStrides[d] = cStrides[d + 1] * shape[d + 1];
  fStrides[0] = 1;
  for (let d = 1; d < nd; d++) fStrides[d] = fStrides[d - 1] * shape[d - 1];
  const idx = new Array<number>(nd).fill(0);
  for (let c = 0; c < data.length; c++) {
    let f = 0;
    for (let d = 0; d < nd; d++) f += idx[d] * fStrides[d];
    out[c] = data[f];
    for (let d = nd - 1; d >= 0; d--) {
      if (++idx[d] < shape[d]) break;
      idx[d] = 0;
    }
  }
  return out;
}

export interface NpyData {
  shape: number[];
  data: NpyArray;
}

/** Read a whole .npy file (C order result). */
export function readNpy(file: string): NpyData {
  let buf: Buffer;
  checkInputFile(file, '.npy file');
  try {
    buf = fs.readFileSync(file);
  } catch (e) {
    throw new MalaError(`cannot read .npy file: ${(e as Error).message}`, { file, fix: 'check the path', cause: e });
  }
  const header = parseNpyHeader(buf, file);
  const count = header.shape.reduce((a, b) => a * b, 1);
  if (buf.byteLength < header.dataOffset + count * header.itemSize) {
    throw new MalaError(`truncated .npy data: expected ${count} elements of shape (${header.shape.join(',')})`, { file, fix: 'the file is incomplete; regenerate it' });
  }
  const bytes = new Uint8Array(buf.buffer, buf.byteOffset + header.dataOffset, count * header.itemSize);
  let data = decode(bytes, header, count, file);
  if (header.fortranOrder) data = fortranToC(data, header.shape);
  return { shape: header.shape, data };
}

/** The header of an open .npy file (a header is at most 64 KiB plus the preamble). */
function readHeaderOfOpenFile(fd: number, file: string): NpyHeader {
  const head = Buffer.alloc(65536 + 12);
  const got = fs.readSync(fd, head, 0, head.length, 0);
  return parseNpyHeader(head.subarray(0, got), file);
}

/** Open a .npy file for reading, one clear error when it cannot be. */
function openNpy(file: string): number {
  checkInputFile(file, '.npy file'); // opening a FIFO would block
  try {
    return fs.openSync(file, 'r');
  } catch (e) {
    throw new MalaError(`cannot open .npy file: ${(e as Error).message}`, { file, fix: 'check the path', cause: e });
  }
}

/** The shape of a .npy file, from its header alone (to size an array before reading many files). */
export function readNpyShape(file: string): number[] {
  const fd = openNpy(file);
  try {
    return readHeaderOfOpenFile(fd, file).shape;
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * A .npy file opened for chunked reading along its flattened leading axes. A "row" is one
 * element of the last axis block: for shape (nx,ny,nz,F) there are nx·ny·nz rows of F values.
 */
export class NpyFile {
  readonly file: string;
  readonly header: NpyHeader;
  readonly rowCount: number;
  readonly rowLength: number;
  private fd: number;

  constructor(file: string) {
    this.file = file;
    this.fd = openNpy(file);
    try {
      this.header = readHeaderOfOpenFile(this.fd, file);
    } catch (e) {
      fs.closeSync(this.fd);
      throw e;
    }
    if (this.header.fortranOrder) {
      fs.closeSync(this.fd);
      throw new MalaError('Fortran-ordered .npy cannot be read in chunks', { file, fix: 'save it in C order (np.ascontiguousarray)' });
    }
    const shape = this.header.shape;
    this.rowLength = shape.length === 0 ? 1 : shape[shape.length - 1];
    this.rowCount = shape.length <= 1 ? 1 : shape.slice(0, -1).reduce((a, b) => a * b, 1);
    const need = this.header.dataOffset + this.rowCount * this.rowLength * this.header.itemSize;
    if (fs.fstatSync(this.fd).size < need) {
      fs.closeSync(this.fd);
      throw new MalaError(`truncated .npy data for shape (${shape.join(',')})`, { file, fix: 'the file is incomplete; regenerate it' });
    }
  }

  get shape(): number[] {
    return this.header.shape;
  }

  /** Read rows [start, start+count) as a typed array of count·rowLength values. */
  readRows(start: number, count: number): NpyArray {
    if (start < 0 || count < 0 || start + count > this.rowCount) throw new RangeError(`rows ${start}..${start + count} out of 0..${this.rowCount}`);
    const bytesPerRow = this.rowLength * this.header.itemSize;
    // Not zero-filled (every byte is read below or we throw); not pooled, so the view we return owns it.
    const buf = Buffer.allocUnsafeSlow(count * bytesPerRow);
    let off = 0;
    while (off < buf.length) {
      const n = fs.readSync(this.fd, buf, off, buf.length - off, this.header.dataOffset + start * bytesPerRow + off);
      if (n === 0) throw new MalaError('unexpected end of .npy file', { file: this.file });
      off += n;
    }
    return decode(buf, this.header, count * this.rowLength, this.file, true);
  }

  close(): void {
    fs.closeSync(this.fd);
  }
}

function headerBytes(shape: number[], dtype: NpyDtype): Uint8Array {
  const descr = dtype === 'float32' ? '<f4' : '<f8';
  const shapeStr = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeStr}, }`;
  // Version 1.0 when the header fits in 65535 bytes; total header length padded to 64 bytes.
  const v1 = dict.length + 11 <= 65535;
  const pre = v1 ? 10 : 12;
  const total = Math.ceil((pre + dict.length + 1) / 64) * 64;
  dict = dict + ' '.repeat(total - pre - dict.length - 1) + '\n';
  const out = new Uint8Array(total);
  out.set(MAGIC, 0);
  out[6] = v1 ? 1 : 2;
  out[7] = 0;
  const dv = new DataView(out.buffer);
  if (v1) dv.setUint16(8, dict.length, true);
  else dv.setUint32(8, dict.length, true);
  out.set(Buffer.from(dict, 'latin1'), pre);
  return out;
}

function checkShape(shape: number[], length: number, file: string): void {
  const count = shape.reduce((a, b) => a * b, 1);
  if (count !== length) throw new MalaError(`array of ${length} values does not match shape (${shape.join(',')})`, { file });
}

function asBytes(a: NpyArray): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

/** Write an array as .npy (v1.0 header, little-endian, C order), atomically. */
export function writeNpy(file: string, data: NpyArray, shape: number[]): void {
  checkShape(shape, data.length, file);
  const dtype: NpyDtype = data instanceof Float32Array ? 'float32' : 'float64';
  writeFileAtomic(file, [headerBytes(shape, dtype), asBytes(data)]);
}

/** Write a .npy of known shape chunk by chunk; the file appears only on `close()`. */
export class NpyStreamWriter {
  readonly shape: number[];
  readonly dtype: NpyDtype;
  private writer: AtomicFileWriter;
  private written = 0;
  private readonly total: number;

  constructor(file: string, shape: number[], dtype: NpyDtype) {
    this.shape = shape;
    this.dtype = dtype;
    this.total = shape.reduce((a, b) => a * b, 1);
    this.writer = new AtomicFileWriter(file);
    this.writer.write(headerBytes(shape, dtype));
  }

  write(chunk: NpyArray): void {
    const want = this.dtype === 'float32' ? Float32Array : Float64Array;
    const typed = chunk instanceof want ? chunk : want.from(chunk);
    if (this.written + typed.length > this.total) throw new RangeError(`too many values for shape (${this.shape.join(',')})`);
    this.writer.write(asBytes(typed));
    this.written += typed.length;
  }

  close(): void {
    if (this.written !== this.total) {
      this.writer.abort();
      throw new Error(`NpyStreamWriter: wrote ${this.written} of ${this.total} values for ${this.writer.target}`);
    }
    this.writer.commit();
  }

  abort(): void {
    this.writer.abort();
  }
}
