/**
 * The i-PI socket client, as pw.x speaks it (`pw.x --ipi HOST:PORT` or `--ipi NAME:UNIX`,
 * PW/src/run_driver.f90), so that i-PI and ASE's SocketIOCalculator drive many steps through one
 * process that keeps its model loaded.
 *
 * The wire (little-endian, as every i-PI server on x86/ARM): 12-byte space-padded ASCII headers;
 * the server sends STATUS, INIT (int32 bead index, int32 n, n bytes), POSDATA (cell as 9 float64
 * with the lattice vectors as columns, i.e. cellᵀ row-major; its inverse likewise; int32 nat;
 * nat×3 float64 positions), GETFORCE, EXIT; the client answers STATUS with NEEDINIT, READY or
 * HAVEDATA, and GETFORCE with FORCEREADY, float64 energy, int32 nat, nat×3 float64 forces, 9
 * float64 virial (transposed, as the cell), int32 n and n extra bytes (pw.x sends none).
 * Units: Hartree atomic units (Bohr, Hartree, Hartree/Bohr), converted with src/structure/units.ts,
 * whose CODATA 2014 constants are ASE's: a round trip through ASE is exact to rounding.
 *
 * As pw.x: the state goes back to NEEDINIT after each GETFORCE (the server re-sends INIT), the
 * work happens on POSDATA, and the client stops on EXIT or when the server closes the connection
 * between messages (ASE's server closes without EXIT).
 *
 * Latency: a step's socket round trip is ~1.6 ms over the UNIX socket; over TCP ASE 3.22's server
 * (which leaves Nagle's algorithm on and writes each POSDATA field separately) costs ~90 ms a step,
 * 1.9 ms once its socket has TCP_NODELAY. With ASE, prefer NAME:UNIX.
 */
import * as net from 'node:net';
import { MalaError } from '../errors';
import { bohrAngstrom, bohrToAngstrom, hartreeEv } from '../structure/units';

/** Energy, forces and (optionally) the virial −V·σ (ASE's convention, eV) of one configuration. */
export interface ForceEvaluation {
  energyEv: number;
  forcesEvPerA: number[][];
  /** −V·σ in eV (ASE's SocketIOCalculator turns it into stress = −virial/V); absent: zeros are sent. */
  virialEv?: number[][];
}

/** One configuration in (cell rows and Cartesian positions, Å), its energy and forces out. */
export type ForceEvaluator = (cellAngstrom: number[][], positionsAngstrom: number[][]) => Promise<ForceEvaluation>;

/** Where the server listens: a UNIX socket /tmp/ipi_NAME, or a TCP host and port. */
export type IpiAddress = { kind: 'unix'; name: string; path: string } | { kind: 'inet'; host: string; port: number };

const HEADER_BYTES = 12;
/** sun_path holds 108 bytes with the terminating NUL. */
const UNIX_PATH_MAX = 107;
const ADDRESS_FIX = "write --ipi HOST:PORT for TCP (e.g. localhost:31415) or --ipi NAME:UNIX for the UNIX socket /tmp/ipi_NAME, as for pw.x";

/** pw.x's address rule: the text after the last ':' is the port, or 'UNIX' (socket /tmp/ipi_<text before>). */
export function parseIpiAddress(address: string): IpiAddress {
  const sep = address.lastIndexOf(':');
  if (sep < 0) throw new MalaError(`--ipi address '${address}' has no ':'`, { fix: ADDRESS_FIX });
  const host = address.slice(0, sep);
  const tail = address.slice(sep + 1);
  if (host === '') throw new MalaError(`--ipi address '${address}' has no ${tail === 'UNIX' ? 'socket name' : 'host'} before the ':'`, { fix: ADDRESS_FIX });
  if (tail === 'UNIX') {
    const path = `/tmp/ipi_${host}`;
    if (host.includes('/') || Buffer.byteLength(path) > UNIX_PATH_MAX) {
      throw new MalaError(`--ipi address '${address}': '${host}' cannot name the UNIX socket ${path} (no '/', at most ${UNIX_PATH_MAX - 9} bytes)`, { fix: ADDRESS_FIX });
    }
    return { kind: 'unix', name: host, path };
  }
  const port = /^\d+$/.test(tail) ? Number(tail) : NaN;
  if (!(port >= 1 && port <= 65535)) {
    throw new MalaError(`--ipi address '${address}': '${tail}' is neither a port (1-65535) nor UNIX`, { fix: ADDRESS_FIX });
  }
  return { kind: 'inet', host, port };
}

export const describeIpiAddress = (a: IpiAddress): string => (a.kind === 'unix' ? `UNIX socket ${a.path}` : `${a.host}:${a.port}`);

/** One served configuration, for a log line. */
export interface IpiStep {
  /** 1 for the first POSDATA. */
  index: number;
  atomCount: number;
  energyEv: number;
  /** Whether the evaluator gave a virial (else zeros were sent). */
  hasVirial: boolean;
}

export interface IpiClientOptions {
  /** Called after each evaluated configuration. */
  onStep?: (step: IpiStep) => void;
  /** Called once, the first time the evaluator returns no virial (zeros are sent: the server sees zero stress). */
  onNoVirial?: () => void;
  /** pw.x-style driver messages (connected, exit). */
  log?: (message: string) => void;
}

/** Reads exact byte counts from a socket; `null` when the server closed it before the first byte. */
class SocketReader {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private ended = false;
  private failure?: Error;
  private waiter?: () => void;

  constructor(socket: net.Socket) {
    socket.on('data', (b: Buffer) => {
      this.chunks.push(b);
      this.buffered += b.length;
      this.wake();
    });
    socket.on('end', () => {
      this.ended = true;
      this.wake();
    });
    socket.on('close', () => {
      this.ended = true;
      this.wake();
    });
    socket.on('error', (e) => {
      this.failure = e;
      this.wake();
    });
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }

  /** n bytes, or null when the connection ended with nothing buffered; throws when it ends inside the n bytes. */
  async read(n: number, what: string): Promise<Buffer | null> {
    while (this.buffered < n) {
      if (this.failure) throw this.failure;
      if (this.ended) {
        if (this.buffered === 0) return null;
        throw new MalaError(`the i-PI server closed the connection in the middle of ${what} (${this.buffered} of ${n} bytes)`);
      }
      await new Promise<void>((resolve) => (this.waiter = resolve));
    }
    const all = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks);
    const out = all.subarray(0, n);
    const rest = all.subarray(n);
    this.chunks = rest.length > 0 ? [rest] : [];
    this.buffered = rest.length;
    return out;
  }

  /** n bytes inside a message: a closed connection is an error here. */
  async need(n: number, what: string): Promise<Buffer> {
    const b = await this.read(n, what);
    if (b === null) throw new MalaError(`the i-PI server closed the connection before ${what}`);
    return b;
  }
}

const header = (msg: string): Buffer => Buffer.from(msg.padEnd(HEADER_BYTES), 'ascii');

function connect(address: IpiAddress): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = address.kind === 'unix' ? net.createConnection({ path: address.path }) : net.createConnection({ host: address.host, port: address.port });
    const onError = (e: NodeJS.ErrnoException) => {
      socket.destroy();
      reject(
        new MalaError(`cannot connect to the i-PI server at ${describeIpiAddress(address)}: ${e.code ?? e.message}`, {
          fix: 'start the server first (i-PI, or ASE\'s SocketIOCalculator) and give mala-ts the address it listens on',
          cause: e,
        }),
      );
    };
    socket.once('error', onError);
    socket.once('connect', () => {
      socket.removeListener('error', onError);
      socket.setNoDelay(true);
      resolve(socket);
    });
  });
}

/** cellᵀ row-major (the wire's order) ↔ cell rows. */
const fromWireMatrix = (b: Buffer, at: number, scale: number): number[][] =>
  [0, 1, 2].map((i) => [0, 1, 2].map((k) => b.readDoubleLE(at + 8 * (3 * k + i)) * scale));

/** The FORCEREADY message: header, energy, nat, forces, virial (transposed), zero extra bytes. */
export function forceReadyMessage(result: ForceEvaluation, atomCount: number): Buffer {
  const { energyEv, forcesEvPerA, virialEv } = result;
  if (forcesEvPerA.length !== atomCount || forcesEvPerA.some((f) => f.length !== 3)) {
    throw new Error(`i-PI: the evaluator returned ${forcesEvPerA.length} forces for ${atomCount} atoms`);
  }
  const b = Buffer.alloc(HEADER_BYTES + 8 + 4 + 24 * atomCount + 72 + 4);
  header('FORCEREADY').copy(b, 0);
  let at = HEADER_BYTES;
  b.writeDoubleLE(energyEv / hartreeEv, at);
  at += 8;
  b.writeInt32LE(atomCount, at);
  at += 4;
  const haPerBohr = bohrAngstrom / hartreeEv;
  for (const f of forcesEvPerA) for (const x of f) (b.writeDoubleLE(x * haPerBohr, at), (at += 8));
  for (let k = 0; k < 3; k++) for (let i = 0; i < 3; i++) (b.writeDoubleLE((virialEv?.[i][k] ?? 0) / hartreeEv, at), (at += 8));
  b.writeInt32LE(0, at);
  return b;
}

/**
 * Serve `evaluate` to the i-PI server at `address` (pw.x's --ipi syntax) until it says EXIT or
 * closes the connection. Errors of the evaluator close the socket and are rethrown.
 */
export async function runIpiClient(address: string, evaluate: ForceEvaluator, opts: IpiClientOptions = {}): Promise<void> {
  const where = parseIpiAddress(address);
  const socket = await connect(where);
  opts.log?.(`@ DRIVER MODE: connected to ${describeIpiAddress(where)}`);
  const reader = new SocketReader(socket);
  const send = (b: Buffer) => socket.write(b);
  let isInit = false;
  let pending: { result: ForceEvaluation; atomCount: number } | undefined;
  let steps = 0;
  let warnedVirial = false;
  try {
    for (;;) {
      const h = await reader.read(HEADER_BYTES, 'a message header');
      if (h === null) {
        opts.log?.('@ DRIVER MODE: the server closed the connection');
        return;
      }
      const msg = h.toString('ascii').trim();
      if (msg === 'EXIT') {
        opts.log?.('@ DRIVER MODE: EXIT from the server');
        return;
      } else if (msg === 'STATUS') {
        send(header(pending ? 'HAVEDATA' : isInit ? 'READY' : 'NEEDINIT'));
      } else if (msg === 'INIT') {
        const ints = await reader.need(8, 'the INIT data');
        const n = ints.readInt32LE(4);
        if (n < 0) throw new MalaError(`the i-PI server sent INIT with ${n} bytes`);
        if (n > 0) await reader.need(n, 'the INIT string'); // ignored, as pw.x does
        isInit = true;
      } else if (msg === 'POSDATA') {
        const head = await reader.need(148, 'the POSDATA cell');
        const cellAngstrom = fromWireMatrix(head, 0, bohrAngstrom);
        const atomCount = head.readInt32LE(144);
        if (atomCount <= 0) throw new MalaError(`the i-PI server sent POSDATA with ${atomCount} atoms`);
        const pos = await reader.need(24 * atomCount, 'the POSDATA positions');
        const positionsAngstrom = Array.from({ length: atomCount }, (_, a) => [0, 1, 2].map((k) => bohrToAngstrom(pos.readDoubleLE(8 * (3 * a + k)))));
        // the server's numbers, not the input's: say so (it read "check the atomic positions")
        const badAtom = positionsAngstrom.findIndex((p) => !p.every(Number.isFinite));
        if (badAtom >= 0) throw new MalaError(`the i-PI server sent a non-finite position for atom ${badAtom + 1} (${positionsAngstrom[badAtom].join(', ')})`, { fix: 'check the server side: its dynamics or optimiser produced NaN or Inf coordinates' });
        if (!cellAngstrom.every((row) => row.every(Number.isFinite))) throw new MalaError('the i-PI server sent a non-finite cell', { fix: 'check the server side: its cell holds NaN or Inf' });
        const result = await evaluate(cellAngstrom, positionsAngstrom);
        pending = { result, atomCount };
        steps++;
        if (!result.virialEv && !warnedVirial) {
          warnedVirial = true;
          opts.onNoVirial?.();
        }
        opts.onStep?.({ index: steps, atomCount, energyEv: result.energyEv, hasVirial: result.virialEv !== undefined });
      } else if (msg === 'GETFORCE') {
        if (!pending) throw new MalaError('the i-PI server asked for forces (GETFORCE) before sending positions (POSDATA)');
        send(forceReadyMessage(pending.result, pending.atomCount));
        pending = undefined;
        isInit = false; // as pw.x: the server sends INIT again before the next step
      } else {
        throw new MalaError(`unexpected message '${msg}' from the i-PI server`, { fix: 'connect mala-ts to an i-PI server (i-PI, or ASE\'s SocketIOCalculator)' });
      }
    }
  } finally {
    await new Promise<void>((resolve) => {
      if (socket.destroyed) return resolve();
      socket.once('close', () => resolve());
      socket.end();
      // a server that keeps its end open must not keep us waiting
      setTimeout(() => socket.destroy(), 1000).unref();
    });
  }
}
