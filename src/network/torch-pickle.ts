/**
 * PyTorch serialization read in TypeScript (libtorch cannot read MALA's files: spec
 * nn-backend-notes §4): the legacy stream `torch.save(..., _use_new_zipfile_serialization=False)`
 * (spec §4.5) that MALA writes for `network.pth` and embeds in scaler pickles, and the zip format
 * of newer `torch.save` (`<prefix>/data.pkl` + `<prefix>/data/<key>`). Tensors come back as
 * `{shape, data}` with float32 storages as Float32Array and everything else as Float64Array.
 */
import { unzipSync } from 'fflate';
import { PickleError, PyObject, unpickle, type PickleHooks } from './pickle';

/** Largest member a model archive may declare (a network of 500 M float32 weights): beyond it the zip is not a model. */
export const maxModelMemberBytes = 2 * 2 ** 30;

/** A zip member's declared (uncompressed) size against `maxModelMemberBytes`; true to decompress it. */
export function checkZipMemberSize(name: string, declaredBytes: number, what: string): true {
  if (declaredBytes > maxModelMemberBytes) {
    throw new PickleError(`${what} member ${name} declares ${(declaredBytes / 2 ** 30).toFixed(1)} GiB uncompressed, more than the ${maxModelMemberBytes / 2 ** 30} GiB a model member can be`);
  }
  return true;
}

export interface TorchTensor {
  shape: number[];
  dtype: 'float32' | 'float64' | 'int64' | 'int32';
  data: Float32Array | Float64Array;
}

const STORAGE_TYPES: Record<string, { bytes: number; dtype: TorchTensor['dtype'] }> = {
  FloatStorage: { bytes: 4, dtype: 'float32' },
  DoubleStorage: { bytes: 8, dtype: 'float64' },
  LongStorage: { bytes: 8, dtype: 'int64' },
  IntStorage: { bytes: 4, dtype: 'int32' },
};

class Storage {
  data?: Float32Array | Float64Array;
  constructor(readonly key: string, readonly type: string, readonly numel: number) {}
  fill(bytes: Uint8Array): void {
    const t = STORAGE_TYPES[this.type];
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (t.dtype === 'float32') {
      const a = new Float32Array(this.numel);
      for (let i = 0; i < this.numel; i++) a[i] = dv.getFloat32(4 * i, true);
      this.data = a;
    } else {
      const a = new Float64Array(this.numel);
      for (let i = 0; i < this.numel; i++) {
        a[i] = t.dtype === 'float64' ? dv.getFloat64(8 * i, true) : t.dtype === 'int64' ? Number(dv.getBigInt64(8 * i, true)) : dv.getInt32(4 * i, true);
      }
      this.data = a;
    }
  }
}

/**
 * A tensor view (offset, shape, stride) must lie inside its storage and hold no more elements
 * than it: checked before the view is copied out, so a 15 KB file cannot ask for gigabytes (a
 * stride-0 view of one float with a shape of 10⁹). Expanded (broadcast) views are never network
 * weights or scaler statistics.
 */
export function checkTensorView(storageKey: string, storageLength: number, offset: number, shape: readonly number[], stride: readonly number[]): number {
  const bad = (why: string) => new PickleError(`tensor view of storage ${storageKey} (${storageLength} elements: offset ${offset}, shape (${shape.join(', ')}), stride (${stride.join(', ')})) ${why}`);
  const count = (v: number) => Number.isSafeInteger(v) && v >= 0;
  if (shape.length !== stride.length || !count(offset) || !shape.every(count) || !stride.every(count)) throw bad('is malformed');
  const n = shape.reduce((a, b) => a * b, 1);
  if (n === 0) return 0;
  if (n > storageLength) throw bad(`has ${n} elements, more than its storage`);
  const last = shape.reduce((s, len, d) => s + (len - 1) * stride[d], offset);
  if (last >= storageLength) throw bad(`reaches element ${last}, past the storage's end`);
  return n;
}

/** A tensor whose storage data may arrive after the pickle (legacy format). */
class TensorRef {
  constructor(readonly storage: Storage, readonly offset: number, readonly shape: number[], readonly stride: number[]) {}
  materialize(): TorchTensor {
    const src = this.storage.data;
    if (!src) throw new PickleError(`storage ${this.storage.key} has no data`);
    const n = checkTensorView(this.storage.key, src.length, this.offset, this.shape, this.stride);
    const out = src instanceof Float32Array ? new Float32Array(n) : new Float64Array(n);
    const nd = this.shape.length;
    const idx = new Array<number>(nd).fill(0);
    for (let k = 0; k < n; k++) {
      let s = this.offset;
      for (let d = 0; d < nd; d++) s += idx[d] * this.stride[d];
      if (s >= src.length) throw new PickleError(`tensor view exceeds storage ${this.storage.key} (${src.length} elements)`);
      out[k] = src[s];
      for (let d = nd - 1; d >= 0; d--) {
        if (++idx[d] < this.shape[d]) break;
        idx[d] = 0;
      }
    }
    return { shape: this.shape.slice(), dtype: STORAGE_TYPES[this.storage.type].dtype, data: out };
  }
}

const LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn;

/** Replace every TensorRef in a decoded value by its materialized tensor (Maps, arrays, PyObject state). */
function materializeAll(v: unknown): unknown {
  if (v instanceof TensorRef) return v.materialize();
  if (v instanceof Map) {
    for (const [k, x] of v) v.set(k, materializeAll(x));
    return v;
  }
  if (Array.isArray(v)) return v.map(materializeAll);
  if (v instanceof PyObject) {
    v.state = materializeAll(v.state);
    return v;
  }
  return v;
}

function hooks(storages: Map<string, Storage>, extraClasses: Record<string, (...a: unknown[]) => unknown>, loadStorage?: (s: Storage) => void): PickleHooks {
  return {
    findClass(module, name) {
      const full = `${module}.${name}`;
      if (full === 'collections.OrderedDict') return () => new Map();
      if (full === 'torch._utils._rebuild_tensor_v2' || full === 'torch._utils._rebuild_tensor') {
        return (storage: unknown, offset: unknown, size: unknown, stride: unknown) => {
          if (!(storage instanceof Storage)) throw new PickleError('tensor without storage');
          const ref = new TensorRef(storage, Number(offset), (size as number[]).map(Number), (stride as number[]).map(Number));
          return storage.data ? ref.materialize() : ref;
        };
      }
      if (full === 'torch.storage._load_from_bytes') return (b: unknown) => readLegacyTorch(b as Uint8Array, extraClasses).value;
      if (module === 'torch' && name in STORAGE_TYPES) return () => name;
      if (full in extraClasses) return extraClasses[full];
      throw new PickleError(`unsupported Python object '${full}' in a torch/pickle file`);
    },
    persistentLoad(pid) {
      if (!Array.isArray(pid) || pid[0] !== 'storage') throw new PickleError(`unsupported persistent id ${JSON.stringify(pid)}`);
      const type = typeof pid[1] === 'function' ? (pid[1] as () => string)() : String(pid[1]);
      if (!(type in STORAGE_TYPES)) throw new PickleError(`unsupported storage type ${type}`);
      const key = String(pid[2]);
      let s = storages.get(key);
      if (!s) {
        s = new Storage(key, type, Number(pid[4] ?? 0));
        storages.set(key, s);
        loadStorage?.(s);
      }
      return s;
    },
  };
}

/**
 * Read a legacy torch stream: magic, protocol 1001, sys-info, the object, the storage key list,
 * then per key an int64 count and the raw data. Returns the object with tensors materialized.
 */
export function readLegacyTorch(buf: Uint8Array, extraClasses: Record<string, (...a: unknown[]) => unknown> = {}): { value: unknown; end: number } {
  const noHooks = hooks(new Map(), {});
  const magic = unpickle(buf, 0, noHooks);
  if (magic.value !== LEGACY_MAGIC && !(typeof magic.value === 'bigint' && magic.value === LEGACY_MAGIC)) {
    throw new PickleError('not a legacy torch file (bad magic number)');
  }
  const proto = unpickle(buf, magic.end, noHooks);
  if (proto.value !== 1001) throw new PickleError(`unsupported legacy torch protocol ${String(proto.value)}`);
  const sys = unpickle(buf, proto.end, noHooks);
  const info = sys.value instanceof Map ? sys.value : new Map();
  if (info.get('little_endian') === false) throw new PickleError('big-endian torch files are not supported');
  const storages = new Map<string, Storage>();
  const obj = unpickle(buf, sys.end, hooks(storages, extraClasses));
  const keys = unpickle(buf, obj.end, noHooks);
  if (!Array.isArray(keys.value)) throw new PickleError('legacy torch file: storage key list missing');
  let pos = keys.end;
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  for (const k of keys.value as string[]) {
    const s = storages.get(String(k));
    if (!s) throw new PickleError(`legacy torch file: data for unknown storage ${k}`);
    if (pos + 8 > buf.byteLength) throw new PickleError(`truncated torch file: storage ${k} header missing`);
    const numel = Number(dv.getBigInt64(pos, true));
    const nbytes = numel * STORAGE_TYPES[s.type].bytes;
    pos += 8;
    if (pos + nbytes > buf.byteLength) throw new PickleError(`truncated torch file: storage ${k} needs ${nbytes} bytes, ${buf.byteLength - pos} left`);
    (s as { numel: number }).numel = numel;
    s.fill(buf.subarray(pos, pos + nbytes));
    pos += nbytes;
  }
  return { value: materializeAll(obj.value), end: pos };
}

/** Read a zip-format `torch.save` file (already unzipped entries or raw bytes). */
export function readZipTorch(buf: Uint8Array, extraClasses: Record<string, (...a: unknown[]) => unknown> = {}): unknown {
  // only the pickle and its storages are decompressed, each bounded by its declared size
  const files = unzipSync(buf, { filter: (f) => /(^|\/)data\.pkl$|(^|\/)data\/[^/]+$/.test(f.name) && checkZipMemberSize(f.name, f.originalSize, 'torch file') });
  const pkl = Object.keys(files).find((n) => n.endsWith('/data.pkl') || n === 'data.pkl');
  if (!pkl) throw new PickleError('zip torch file without data.pkl');
  const prefix = pkl.slice(0, -'data.pkl'.length);
  const storages = new Map<string, Storage>();
  const load = (s: Storage) => {
    const entry = files[`${prefix}data/${s.key}`];
    if (!entry) throw new PickleError(`zip torch file: missing ${prefix}data/${s.key}`);
    if (entry.byteLength % STORAGE_TYPES[s.type].bytes !== 0) throw new PickleError(`zip torch file: ${prefix}data/${s.key} has ${entry.byteLength} bytes, not whole ${s.type} elements`);
    (s as { numel: number }).numel = entry.byteLength / STORAGE_TYPES[s.type].bytes;
    s.fill(entry);
  };
  return materializeAll(unpickle(files[pkl], 0, hooks(storages, extraClasses, load)).value);
}

/** A state_dict (legacy or zip `.pth`) as an ordered list of [name, tensor]. */
export function readStateDict(buf: Uint8Array): [string, TorchTensor][] {
  const isZip = buf[0] === 0x50 && buf[1] === 0x4b;
  const v = isZip ? readZipTorch(buf) : readLegacyTorch(buf).value;
  if (!(v instanceof Map)) throw new PickleError('the .pth file does not hold a state_dict (dict of tensors)');
  const out: [string, TorchTensor][] = [];
  for (const [k, t] of v) {
    if (!t || typeof t !== 'object' || !('data' in (t as object))) throw new PickleError(`state_dict entry ${String(k)} is not a tensor`);
    out.push([String(k), t as TorchTensor]);
  }
  return out;
}
