/**
 * safetensors (https://huggingface.co/docs/safetensors): 8-byte little-endian header length,
 * a JSON header {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {...}},
 * then the raw little-endian data. Python reads it with `safetensors.numpy.load_file` or with
 * a few lines of numpy. We write F32 only and read F32/F64.
 */
export interface NamedTensor {
  name: string;
  shape: number[];
  data: Float32Array;
}

export class SafetensorsError extends Error {}

export function encodeSafetensors(tensors: NamedTensor[], metadata: Record<string, string> = {}): Uint8Array {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length) header.__metadata__ = metadata;
  let off = 0;
  for (const t of tensors) {
    const n = t.shape.reduce((a, b) => a * b, 1);
    if (n !== t.data.length) throw new SafetensorsError(`tensor ${t.name}: shape ${t.shape.join('×')} does not match ${t.data.length} values`);
    header[t.name] = { dtype: 'F32', shape: t.shape, data_offsets: [off, off + 4 * n] };
    off += 4 * n;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8); // keep the data 8-byte aligned
  const head = Buffer.from(json, 'utf8');
  const out = new Uint8Array(8 + head.length + off);
  new DataView(out.buffer).setBigUint64(0, BigInt(head.length), true);
  out.set(head, 8);
  let pos = 8 + head.length;
  for (const t of tensors) {
    out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), pos); // float32 is little-endian on every platform Node supports
    pos += t.data.byteLength;
  }
  return out;
}

export function decodeSafetensors(buf: Uint8Array): { tensors: Map<string, NamedTensor>; metadata: Record<string, string> } {
  if (buf.byteLength < 8) throw new SafetensorsError('safetensors file shorter than its 8-byte header length');
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const hlen = Number(dv.getBigUint64(0, true));
  if (8 + hlen > buf.byteLength) throw new SafetensorsError(`safetensors header of ${hlen} bytes exceeds the file (${buf.byteLength} bytes)`);
  let header: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] } | Record<string, string>>;
  try {
    header = JSON.parse(Buffer.from(buf.subarray(8, 8 + hlen)).toString('utf8'));
  } catch (e) {
    throw new SafetensorsError(`safetensors header is not valid JSON: ${(e as Error).message}`);
  }
  const base = 8 + hlen;
  const tensors = new Map<string, NamedTensor>();
  let metadata: Record<string, string> = {};
  for (const [name, v] of Object.entries(header)) {
    if (name === '__metadata__') {
      metadata = v as Record<string, string>;
      continue;
    }
    const info = v as { dtype: string; shape: number[]; data_offsets: [number, number] };
    const [b, e] = info.data_offsets;
    const n = info.shape.reduce((a, c) => a * c, 1);
    const size = info.dtype === 'F32' ? 4 : info.dtype === 'F64' ? 8 : 0;
    if (!size) throw new SafetensorsError(`tensor ${name}: dtype ${info.dtype} not supported (F32, F64)`);
    if (e - b !== n * size || base + e > buf.byteLength) throw new SafetensorsError(`tensor ${name}: data range ${b}..${e} does not fit shape ${info.shape.join('×')} or the file`);
    const data = new Float32Array(n);
    for (let i = 0; i < n; i++) data[i] = size === 4 ? dv.getFloat32(base + b + 4 * i, true) : dv.getFloat64(base + b + 8 * i, true);
    tensors.set(name, { name, shape: info.shape, data });
  }
  return { tensors, metadata };
}
