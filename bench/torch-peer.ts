/**
 * A persistent PyTorch peer for the network benchmarks: one Python process (Debian python3-torch,
 * one intra-op thread) that builds the same nets once and then times what it is asked, one
 * request per stdin line, one JSON answer per stdout line. Both sides time the same way
 * (`timeSpan`): one warm call, then calls until they span `spanS` (at least 3), the median call.
 * A request takes a fraction of a second, so the addon's and PyTorch's timings of a pair are
 * adjacent in time and a machine whose speed drifts minute to minute affects both alike.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createInterface } from 'node:readline';

/** Median seconds per call of f: one warm call, then calls until they span spanS (≥ 3 calls). */
export async function timeSpan(f: () => Promise<unknown>, spanS: number): Promise<{ s: number; calls: number }> {
  await f();
  const times: number[] = [];
  const t0 = process.hrtime.bigint();
  for (;;) {
    const t = process.hrtime.bigint();
    await f();
    const t1 = process.hrtime.bigint();
    times.push(Number(t1 - t) / 1e9);
    if (times.length >= 3 && Number(t1 - t0) / 1e9 >= spanS) break;
  }
  times.sort((a, b) => a - b);
  return { s: times[Math.floor(times.length / 2)], calls: times.length };
}

const PEER = String.raw`
import json, sys, time, torch
torch.set_num_threads(1)
torch.manual_seed(0)
def time_span(f, span):  # as timeSpan in bench/torch-peer.ts
    f()
    ts = []; t0 = time.perf_counter()
    while True:
        t = time.perf_counter(); f(); t1 = time.perf_counter(); ts.append(t1 - t)
        if len(ts) >= 3 and t1 - t0 >= span: break
    ts.sort(); return ts[len(ts) // 2], len(ts)
nets, inputs = [], {}
for line in sys.stdin:
    q = json.loads(line)
    if q['op'] == 'nets':
        for sizes, acts in q['nets']:
            layers = []
            for i in range(len(sizes) - 1):
                layers.append(torch.nn.Linear(sizes[i], sizes[i + 1]))
                if acts[i]: layers.append(getattr(torch.nn, acts[i])())
            net = torch.nn.Sequential(*layers)
            opt = torch.optim.Adam(net.parameters(), lr=1e-5)
            nets.append((sizes, net, opt))
        r = dict(version=torch.__version__)
    elif q['op'] == 'infer':  # plain no_grad inference of a batch
        sizes, net, _ = nets[q['net']]
        key = (q['net'], q['batch'])
        if key not in inputs: inputs[key] = torch.rand(q['batch'], sizes[0]) * 2 - 1
        x = inputs[key]
        def f():
            with torch.no_grad(): net(x)
        s, calls = time_span(f, q['span'])
        r = dict(s=s, calls=calls)
    elif q['op'] == 'train':  # one Adam step on the MSE of a batch
        sizes, net, opt = nets[q['net']]
        b = q['batch']
        xt = torch.rand(b, sizes[0]) * 2 - 1; yt = torch.rand(b, sizes[-1]) * 2 - 1
        def f():
            opt.zero_grad(); loss = torch.nn.functional.mse_loss(net(xt), yt); loss.backward(); opt.step()
        s, calls = time_span(f, q['span'])
        r = dict(s=s, calls=calls)
    elif q['op'] == 'sgemm':  # torch.mm of n×n float32 matrices: the machine's sgemm through PyTorch
        n = q['n']; a = torch.rand(n, n); b = torch.rand(n, n)
        s, calls = time_span(lambda: torch.mm(a, b), q['span'])
        r = dict(s=s, calls=calls)
    else:
        r = dict(error='unknown op ' + q['op'])
    print(json.dumps(r), flush=True)
`;

export interface PeerTiming {
  s: number;
  calls: number;
}

/** The Python peer; start() resolves null (with the reason printed) when python3-torch is missing. */
export class TorchPeer {
  private child: ChildProcessWithoutNullStreams;
  private waiting: ((line: string) => void)[] = [];
  private file: string;
  private stderr = '';

  private constructor(python: string) {
    this.file = path.join(os.tmpdir(), `mala-ts-torch-peer-${process.pid}.py`);
    fs.writeFileSync(this.file, PEER);
    this.child = spawn(python, [this.file], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stderr.on('data', (d) => (this.stderr += String(d)));
    createInterface({ input: this.child.stdout }).on('line', (line) => this.waiting.shift()?.(line));
    this.child.on('exit', () => {
      for (const w of this.waiting.splice(0)) w(JSON.stringify({ error: `python exited: ${this.stderr.trim().split('\n').pop()}` }));
    });
  }

  /** Starts the peer and builds the nets (layer sizes and activation names, null = none). */
  static async start(nets: { sizes: number[]; acts: (string | null)[] }[], python = '/usr/bin/python3'): Promise<{ peer: TorchPeer; version: string } | { peer: null; reason: string }> {
    if (!fs.existsSync(python)) return { peer: null, reason: `${python} not found (apt-get install python3-torch)` };
    const peer = new TorchPeer(python);
    try {
      const r = await peer.ask({ op: 'nets', nets: nets.map((n) => [n.sizes, n.acts]) });
      return { peer, version: String(r.version) };
    } catch (e) {
      peer.close();
      return { peer: null, reason: (e as Error).message };
    }
  }

  private ask(q: Record<string, unknown>): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => {
      this.waiting.push((line) => {
        const r = JSON.parse(line) as Record<string, unknown>;
        if (r.error) reject(new Error(String(r.error)));
        else resolve(r);
      });
      this.child.stdin.write(`${JSON.stringify(q)}\n`);
    });
  }

  infer(net: number, batch: number, spanS: number): Promise<PeerTiming> {
    return this.ask({ op: 'infer', net, batch, span: spanS }) as unknown as Promise<PeerTiming>;
  }
  train(net: number, batch: number, spanS: number): Promise<PeerTiming> {
    return this.ask({ op: 'train', net, batch, span: spanS }) as unknown as Promise<PeerTiming>;
  }
  sgemm(n: number, spanS: number): Promise<PeerTiming> {
    return this.ask({ op: 'sgemm', n, span: spanS }) as unknown as Promise<PeerTiming>;
  }

  close(): void {
    this.child.stdin.end();
    fs.rmSync(this.file, { force: true });
  }
}

/** Quantile q of v (linear between order statistics). */
export function quantile(v: number[], q: number): number {
  const s = [...v].sort((a, b) => a - b);
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  return s[lo] + (s[Math.min(lo + 1, s.length - 1)] - s[lo]) * (pos - lo);
}
