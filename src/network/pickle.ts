/**
 * A minimal Python pickle reader (protocols 2–4, the opcodes that PyTorch state_dicts and MALA's
 * scaler pickles use; spec §3.4, §4.5). It never executes anything: every global a pickle names
 * must be resolved by the caller's `findClass`, which returns a plain JS function; unknown
 * globals are an error. Dicts become Map, tuples and lists arrays, ints number (BigInt when they
 * do not fit in 53 bits), bytes Uint8Array.
 */
export class PickleError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PickleError';
  }
}

/** A marker class instance for objects built by NEWOBJ of a pickled class. */
export class PyObject {
  constructor(readonly className: string, public state: unknown = undefined) {}
}

export interface PickleHooks {
  /** Resolve `module.name` to a function (called by REDUCE / NEWOBJ with the argument tuple). */
  findClass(module: string, name: string): (...args: unknown[]) => unknown;
  /** Resolve a persistent id (BINPERSID). */
  persistentLoad?(pid: unknown): unknown;
}

const MARK = Symbol('mark');

/** Unpickle one object starting at `offset`; returns it and the offset just after STOP. */
export function unpickle(buf: Uint8Array, offset: number, hooks: PickleHooks): { value: unknown; end: number } {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const stack: unknown[] = [];
  const memo = new Map<number, unknown>();
  let pos = offset;
  const need = (n: number) => {
    if (pos + n > buf.byteLength) throw new PickleError(`truncated pickle: needs ${n} bytes at offset ${pos}, file has ${buf.byteLength}`);
  };
  const u8 = () => (need(1), buf[pos++]);
  const u16 = () => (need(2), (pos += 2), dv.getUint16(pos - 2, true));
  const u32 = () => (need(4), (pos += 4), dv.getUint32(pos - 4, true));
  const i32 = () => (need(4), (pos += 4), dv.getInt32(pos - 4, true));
  const bytes = (n: number) => (need(n), (pos += n), buf.subarray(pos - n, pos));
  const utf8 = (n: number) => Buffer.from(bytes(n)).toString('utf8');
  const line = () => {
    const start = pos;
    while (pos < buf.byteLength && buf[pos] !== 0x0a) pos++;
    if (pos >= buf.byteLength) throw new PickleError('truncated pickle: unterminated text line');
    return Buffer.from(buf.subarray(start, pos++)).toString('latin1');
  };
  const pop = () => {
    if (stack.length === 0) throw new PickleError(`pickle stack underflow at offset ${pos}`);
    return stack.pop();
  };
  const popMark = (): unknown[] => {
    let i = stack.length - 1;
    while (i >= 0 && stack[i] !== MARK) i--;
    if (i < 0) throw new PickleError(`pickle MARK not found at offset ${pos}`);
    const items = stack.slice(i + 1);
    stack.length = i;
    return items;
  };
  const top = () => stack[stack.length - 1];
  const call = (fn: unknown, args: unknown, op: string) => {
    if (typeof fn !== 'function') throw new PickleError(`${op} of a non-callable at offset ${pos}`);
    if (!Array.isArray(args)) throw new PickleError(`${op} arguments are not a tuple at offset ${pos}`);
    return (fn as (...a: unknown[]) => unknown)(...args);
  };
  const setItems = (d: unknown, items: unknown[]) => {
    if (!(d instanceof Map)) throw new PickleError(`SETITEM(S) on a non-dict at offset ${pos}`);
    for (let k = 0; k + 1 < items.length; k += 2) d.set(items[k], items[k + 1]);
  };
  const decodeLong = (b: Uint8Array): number | bigint => {
    if (b.length === 0) return 0;
    let v = 0n;
    for (let k = b.length - 1; k >= 0; k--) v = (v << 8n) | BigInt(b[k]);
    if (b[b.length - 1] & 0x80) v -= 1n << BigInt(8 * b.length);
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  };

  for (;;) {
    const op = u8();
    switch (op) {
      case 0x80: u8(); break; // PROTO
      case 0x95: need(8); pos += 8; break; // FRAME (length ignored: we read the whole buffer)
      case 0x2e: return { value: pop(), end: pos }; // STOP
      case 0x28: stack.push(MARK); break; // MARK
      case 0x29: stack.push([]); break; // EMPTY_TUPLE
      case 0x7d: stack.push(new Map()); break; // EMPTY_DICT
      case 0x5d: stack.push([]); break; // EMPTY_LIST
      case 0x8f: stack.push(new Set()); break; // EMPTY_SET
      case 0x90: { const items = popMark(); const s = top(); if (!(s instanceof Set)) throw new PickleError('ADDITEMS on a non-set'); items.forEach((x) => s.add(x)); break; }
      case 0x61: { const v = pop(); const l = top(); if (!Array.isArray(l)) throw new PickleError('APPEND on a non-list'); l.push(v); break; }
      case 0x65: { const items = popMark(); const l = top(); if (!Array.isArray(l)) throw new PickleError('APPENDS on a non-list'); l.push(...items); break; }
      case 0x73: { const v = pop(); const k = pop(); setItems(top(), [k, v]); break; } // SETITEM
      case 0x75: { const items = popMark(); setItems(top(), items); break; } // SETITEMS
      case 0x74: stack.push(popMark()); break; // TUPLE
      case 0x85: stack.push([pop()]); break; // TUPLE1
      case 0x86: { const b = pop(); const a = pop(); stack.push([a, b]); break; }
      case 0x87: { const c = pop(); const b = pop(); const a = pop(); stack.push([a, b, c]); break; }
      case 0x88: stack.push(true); break;
      case 0x89: stack.push(false); break;
      case 0x4e: stack.push(null); break; // NONE
      case 0x4a: stack.push(i32()); break; // BININT
      case 0x4b: stack.push(u8()); break; // BININT1
      case 0x4d: stack.push(u16()); break; // BININT2
      case 0x8a: stack.push(decodeLong(bytes(u8()))); break; // LONG1
      case 0x8b: stack.push(decodeLong(bytes(i32()))); break; // LONG4
      case 0x47: need(8); pos += 8; stack.push(dv.getFloat64(pos - 8, false)); break; // BINFLOAT (big-endian)
      case 0x58: stack.push(utf8(u32())); break; // BINUNICODE
      case 0x8c: stack.push(utf8(u8())); break; // SHORT_BINUNICODE
      case 0x8d: { const lo = u32(); const hi = u32(); stack.push(utf8(hi * 2 ** 32 + lo)); break; } // BINUNICODE8
      case 0x54: stack.push(Buffer.from(bytes(i32())).toString('latin1')); break; // BINSTRING
      case 0x55: stack.push(Buffer.from(bytes(u8())).toString('latin1')); break; // SHORT_BINSTRING
      case 0x42: stack.push(Uint8Array.from(bytes(u32()))); break; // BINBYTES
      case 0x43: stack.push(Uint8Array.from(bytes(u8()))); break; // SHORT_BINBYTES
      case 0x63: { const mod = line(); const name = line(); stack.push(hooks.findClass(mod, name)); break; } // GLOBAL
      case 0x93: { const name = pop(); const mod = pop(); stack.push(hooks.findClass(String(mod), String(name))); break; } // STACK_GLOBAL
      case 0x52: { const args = pop(); const fn = pop(); stack.push(call(fn, args, 'REDUCE')); break; }
      case 0x81: { const args = pop(); const cls = pop(); stack.push(call(cls, args, 'NEWOBJ')); break; }
      case 0x62: { // BUILD
        const state = pop();
        const obj = top();
        if (obj instanceof PyObject) obj.state = state;
        // Other objects (OrderedDict with _metadata) ignore their state.
        break;
      }
      case 0x71: memo.set(u8(), top()); break; // BINPUT
      case 0x72: memo.set(u32(), top()); break; // LONG_BINPUT
      case 0x94: memo.set(memo.size, top()); break; // MEMOIZE
      case 0x68: case 0x6a: { // BINGET, LONG_BINGET
        const k = op === 0x68 ? u8() : u32();
        if (!memo.has(k)) throw new PickleError(`pickle memo ${k} missing at offset ${pos}`);
        stack.push(memo.get(k));
        break;
      }
      case 0x51: { // BINPERSID
        const pid = pop();
        if (!hooks.persistentLoad) throw new PickleError('pickle has persistent ids but no loader');
        stack.push(hooks.persistentLoad(pid));
        break;
      }
      default:
        throw new PickleError(`unsupported pickle opcode 0x${op.toString(16)} at offset ${pos - 1}`);
    }
  }
}
