/**
 * Network throughput: inference points/s and training samples/s of the libtorch addon (and the
 * TS fallback) for 91→400→400→400→250 and MALA's Be model shape (91→100→11), against the
 * machine's sgemm peak (torch addmm through the same addon, 4096³ and 8192×400×400) and against
 * PyTorch from Python (Debian python3-torch, same nets, same batches, 1 intra-op thread).
 *
 *   npx tsx bench/network.ts            # everything (~1–2 min on 2 cores)
 *   npx tsx bench/network.ts --no-python --no-ts
 *   npx tsx bench/network.ts --no-ts --rounds 3   # addon and PyTorch alternated 3 times
 *
 * The addon / PyTorch ratios come from interleaved rounds (--rounds R, default 3): round 1 is
 * the table's addon pass then Python; each later round runs Python first, then the addon's nets
 * again, so a load that drifts during the run does not favour one side. Each round's ratio and
 * their median are printed.
 *
 * GFLOP/s counts 2·MACs per inferred point and 6·MACs per trained sample (spec/nn-backend-notes.md).
 * Each number is the median of several warm runs; "others" is the CPU (in cores) that other
 * processes used during the measurement, from /proc/stat minus our own usage: numbers taken
 * while others > 0.2 are contaminated by a busy machine.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadTorchAddon } from '../bindings/torch';
import { malaModelDescriptorDefaults } from '../src/descriptors/mala-defaults';
import { createNet, type NetBackend } from '../src/network/backend';
import { initParameters, type NetworkSpec } from '../src/network/mlp';
import { LdosModel } from '../src/network/model';
import { Rng } from '../src/network/rng';
import { DataScaler } from '../src/network/scalers';
import { makeEnergyGrid } from '../src/targets/energy-grid';
import { helpIfAsked } from './help';
import { benchNets as nets, macs, randomArray } from './nets';

helpIfAsked(__filename);

const args = new Set(process.argv.slice(2));
const roundsAt = process.argv.indexOf('--rounds');
const rounds = roundsAt > 0 ? Number(process.argv[roundsAt + 1]) : 3;
if (!Number.isInteger(rounds) || rounds < 1) throw new Error('--rounds needs a positive whole number');

function procBusyJiffies(): number {
  try {
    const cpu = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    return cpu[0] + cpu[1] + cpu[2] + cpu[5] + cpu[6] + cpu[7]; // user nice system irq softirq steal
  } catch {
    return NaN;
  }
}

/**
 * Median seconds of at least `reps` runs after `warm` warm-ups, and other processes' CPU (cores)
 * meanwhile. Runs are added until they span MIN_SPAN_S: a few milliseconds of a small net are at
 * the mercy of a shared machine's time slices (the Python side does the same).
 */
const MIN_SPAN_S = 0.3;
async function timeIt(f: () => Promise<unknown>, reps: number, warm = 2): Promise<{ s: number; others: number }> {
  for (let i = 0; i < warm; i++) await f();
  const probe = process.hrtime.bigint();
  await f();
  reps = Math.max(reps, Math.ceil(MIN_SPAN_S / Math.max(1e-6, Number(process.hrtime.bigint() - probe) / 1e9)));
  const times: number[] = [];
  const j0 = procBusyJiffies();
  const c0 = process.cpuUsage();
  const w0 = process.hrtime.bigint();
  for (let i = 0; i < reps; i++) {
    const t = process.hrtime.bigint();
    await f();
    times.push(Number(process.hrtime.bigint() - t) / 1e9);
  }
  const wall = Number(process.hrtime.bigint() - w0) / 1e9;
  const own = (process.cpuUsage().user - c0.user + process.cpuUsage().system - c0.system) / 1e6;
  const allCpu = (procBusyJiffies() - j0) / 100; // USER_HZ = 100
  times.sort((a, b) => a - b);
  return { s: times[Math.floor(times.length / 2)], others: Math.max(0, (allCpu - own) / wall) };
}

const rows: string[] = [];
const row = (cells: (string | number)[]) => rows.push(`| ${cells.join(' | ')} |`);
const k = (x: number) => (x >= 1e4 ? `${(x / 1e3).toFixed(1)} k` : x.toFixed(0));

async function main(): Promise<void> {
  const { addon, reason } = loadTorchAddon();
  if (!addon) throw new Error(`libtorch addon unavailable: ${reason}`);
  const info = addon.info();
  console.log(`libtorch ${info.torchVersion}, intra-op threads ${info.intraOpThreads}, ${os.cpus().length} CPUs (${os.cpus()[0]?.model}), load average ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  const rng = new Rng(1);

  // sgemm peak through the addon: a single Linear layer without activation is one addmm.
  const peak: Record<string, number> = {};
  for (const [m, n, kk, reps] of [[4096, 4096, 4096, 3], [8192, 400, 400, 9]] as const) {
    const spec: NetworkSpec = { layerSizes: [kk, n], activations: [null] };
    const net = createNet(spec, initParameters(spec, rng), { backend: 'torch' });
    const x = randomArray(rng, m * kk);
    const t = await timeIt(() => net.forward(x, m), reps, 1);
    peak[`${m}×${n}×${kk}`] = (2 * m * n * kk) / t.s / 1e9;
    console.log(`sgemm (torch addmm) ${m}×${n}×${kk}: ${peak[`${m}×${n}×${kk}`].toFixed(1)} GFLOP/s (others ${t.others.toFixed(2)} cores)`);
  }
  const peakGflops = peak['4096×4096×4096'];

  row(['network', 'backend', 'batch', 'inference pts/s', 'GFLOP/s (% of peak)', 'training samples/s (batch 1000)', 'GFLOP/s (% of peak)', 'others (cores)']);
  row(['---', '---', '---', '---', '---', '---', '---', '---']);
  const results: Record<string, { infer: number; train: number }> = {};
  for (const { name, spec } of nets) {
    const mac = macs(spec.layerSizes);
    const nIn = spec.layerSizes[0];
    const nOut = spec.layerSizes[spec.layerSizes.length - 1];
    const params = initParameters(spec, rng);
    const backends: NetBackend[] = [createNet(spec, params, { backend: 'torch' })];
    if (!args.has('--no-ts')) backends.push(createNet(spec, params, { backend: 'ts' }));
    for (const net of backends) {
      const isTs = net.name === 'ts';
      const tb = 1000;
      const xt = randomArray(rng, tb * nIn);
      const yt = randomArray(rng, tb * nOut);
      const tr = await timeIt(() => net.trainStep(xt, yt, tb), isTs ? 2 : 9, 1);
      const trainRate = tb / tr.s;
      for (const batch of isTs ? [1024] : [4096, 8192]) {
        const x = randomArray(rng, batch * nIn);
        const t = await timeIt(() => net.forward(x, batch), isTs ? 2 : 9, 1);
        const rate = batch / t.s;
        const gf = (2 * mac * rate) / 1e9;
        const gt = (6 * mac * trainRate) / 1e9;
        row([name, isTs ? 'TS fallback' : `libtorch addon (${net.device})`, batch, k(rate), `${gf.toFixed(1)} (${((100 * gf) / peakGflops).toFixed(0)} %)`, k(trainRate), `${gt.toFixed(1)} (${((100 * gt) / peakGflops).toFixed(0)} %)`, Math.max(t.others, tr.others).toFixed(2)]);
        if (!isTs) results[`${name} ${batch}`] = { infer: rate, train: trainRate };
      }
    }
    // The whole predictLdos path (scalers, 4096-point chunks, clamp) on 65 536 points.
    const nPts = 65536;
    const x = randomArray(rng, nPts * nIn);
    const model = new LdosModel({
      spec, weights: params,
      inputScaler: new DataScaler('feature-wise-standard').fit(randomArray(rng, 100 * nIn), nIn),
      outputScaler: new DataScaler('minmax').fit(randomArray(rng, 100 * nOut), nOut),
      descriptors: { ...malaModelDescriptorDefaults },
      energyGrid: makeEnergyGrid(-5, 1, nOut), restrictTargets: 'zero_out_negative', reference: null,
    }, 'bench', { backend: 'torch' });
    const t = await timeIt(() => model.predictLdos(x, nPts), 3, 1);
    row([name, 'predictLdos (scale + net + unscale + clamp, 4096-point chunks)', nPts, k(nPts / t.s), `${((2 * mac * nPts) / t.s / 1e9).toFixed(1)} (${((100 * 2 * mac * nPts) / t.s / 1e9 / peakGflops).toFixed(0)} %)`, '', '', t.others.toFixed(2)]);
  }

  if (!args.has('--no-python')) {
    const py = pythonTorch();
    if (py) {
      const ratios = new Map<string, { infer: number[]; train: number[] }>();
      const addRatios = (ours: Record<string, { infer: number; train: number }>, theirs: NonNullable<ReturnType<typeof pythonTorch>>) => {
        for (const r of theirs.rows) {
          const o = ours[`${r.name} ${r.batch}`];
          if (!o) continue;
          const key = `${r.name}, batch ${r.batch}`;
          if (!ratios.has(key)) ratios.set(key, { infer: [], train: [] });
          ratios.get(key)!.infer.push(o.infer / r.infer);
          ratios.get(key)!.train.push(o.train / r.train);
        }
      };
      for (const r of py.rows) {
        const mac = macs(r.sizes);
        row([r.name, `PyTorch ${py.version} from Python (1 thread)`, r.batch, k(r.infer), `${((2 * mac * r.infer) / 1e9).toFixed(1)} (${((100 * 2 * mac * r.infer) / 1e9 / peakGflops).toFixed(0)} %)`, k(r.train), `${((6 * mac * r.train) / 1e9).toFixed(1)} (${((600 * mac * r.train) / 1e9 / peakGflops).toFixed(0)} %)`, `${py.others.toFixed(2)} (whole Python run)`]);
      }
      addRatios(results, py);
      for (let round = 1; round < rounds; round++) {
        const pyR = pythonTorch();
        if (!pyR) break;
        addRatios(await addonRates(rng), pyR);
      }
      const med = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
      const list = (v: number[]) => v.map((x) => x.toFixed(2)).join(', ');
      for (const [key, r] of ratios) console.log(`${key}: addon / PyTorch = ${med(r.infer).toFixed(2)}× inference (rounds: ${list(r.infer)}), ${med(r.train).toFixed(2)}× training (rounds: ${list(r.train)})`);
    }
  }
  console.log(`\nsgemm peak (4096³ addmm): ${peakGflops.toFixed(1)} GFLOP/s; layer-shaped 8192×400×400: ${peak['8192×400×400'].toFixed(1)} GFLOP/s\n`);
  console.log(rows.join('\n'));
}

/** The addon's inference (batches 4096, 8192) and training (batch 1000) rates of each net: a later round. */
async function addonRates(rng: Rng): Promise<Record<string, { infer: number; train: number }>> {
  const out: Record<string, { infer: number; train: number }> = {};
  for (const { name, spec } of nets) {
    const nIn = spec.layerSizes[0];
    const nOut = spec.layerSizes[spec.layerSizes.length - 1];
    const net = createNet(spec, initParameters(spec, rng), { backend: 'torch' });
    const xt = randomArray(rng, 1000 * nIn);
    const yt = randomArray(rng, 1000 * nOut);
    const train = 1000 / (await timeIt(() => net.trainStep(xt, yt, 1000), 9, 1)).s;
    for (const batch of [4096, 8192]) {
      const x = randomArray(rng, batch * nIn);
      out[`${name} ${batch}`] = { infer: batch / (await timeIt(() => net.forward(x, batch), 9, 1)).s, train };
    }
  }
  return out;
}

const PY = String.raw`
import json, sys, time, torch
torch.set_num_threads(1)
torch.manual_seed(0)
def median(f, reps, warm=1):
    for _ in range(warm): f()
    t = time.perf_counter(); f(); reps = max(reps, int(0.3 / max(1e-6, time.perf_counter() - t)) + 1)  # as timeIt: span >= 0.3 s
    ts = []
    for _ in range(reps):
        t = time.perf_counter(); f(); ts.append(time.perf_counter() - t)
    ts.sort(); return ts[len(ts)//2]
out = []
for name, sizes, acts in json.loads(sys.argv[1]):
    layers = []
    for i in range(len(sizes) - 1):
        layers.append(torch.nn.Linear(sizes[i], sizes[i+1]))
        if acts[i]: layers.append(getattr(torch.nn, acts[i])())
    net = torch.nn.Sequential(*layers)
    opt = torch.optim.Adam(net.parameters(), lr=1e-5)
    xt = torch.rand(1000, sizes[0]) * 2 - 1; yt = torch.rand(1000, sizes[-1]) * 2 - 1
    def step():
        opt.zero_grad(); loss = torch.nn.functional.mse_loss(net(xt), yt); loss.backward(); opt.step()
    train = 1000 / median(step, 9)
    for batch in (4096, 8192):
        x = torch.rand(batch, sizes[0]) * 2 - 1
        def inf():
            with torch.no_grad():  # the addon runs under NoGradGuard; compare like with like
                net(x).numpy().copy()
        out.append(dict(name=name, sizes=sizes, batch=batch, infer=batch / median(inf, 9), train=train))
print(json.dumps(dict(version=torch.__version__, rows=out)))
`;

/** CPU jiffies of our waited-for children (cutime + cstime from /proc/self/stat). */
function childJiffies(): number {
  try {
    const f = fs.readFileSync('/proc/self/stat', 'utf8');
    const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
    return Number(rest[13]) + Number(rest[14]);
  } catch {
    return NaN;
  }
}

function pythonTorch(): { version: string; others: number; rows: { name: string; sizes: number[]; batch: number; infer: number; train: number }[] } | null {
  const file = path.join(os.tmpdir(), `mala-ts-bench-${process.pid}.py`);
  fs.writeFileSync(file, PY);
  try {
    const spec = nets.map((n) => [n.name, n.spec.layerSizes, n.spec.activations]);
    const j0 = procBusyJiffies();
    const c0 = childJiffies();
    const t0 = Date.now();
    const out = execFileSync('/usr/bin/python3', [file, JSON.stringify(spec)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    const others = Math.max(0, (procBusyJiffies() - j0 - (childJiffies() - c0)) / 100 / ((Date.now() - t0) / 1000));
    return { ...JSON.parse(out.trim().split('\n').pop()!), others };
  } catch (e) {
    console.log(`PyTorch from Python skipped: ${(e as Error).message.split('\n')[0]} (apt-get install python3-torch)`);
    return null;
  } finally {
    fs.rmSync(file, { force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
