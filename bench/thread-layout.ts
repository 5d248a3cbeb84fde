/**
 * Thread layouts of the libtorch addon on this machine, interleaved: OpenBLAS threads (Debian's
 * libtorch does its matmuls in OpenBLAS, which starts its own pthreads) × libtorch intra-op
 * threads. Each layout runs bench/network-device.ts in a child process (the layout is fixed when
 * OpenBLAS loads), round-robin, R rounds; the load average is printed with each round because
 * the point is how a layout holds up when other work shares the cores.
 *
 *   npx tsx bench/thread-layout.ts [--rounds 3] [--layouts 1x1,2x1,1x2] [--batch 8192]
 *
 * A layout "BxT" is OPENBLAS_NUM_THREADS=B, MALA_TS_TORCH_THREADS=T. Reported: the median over
 * rounds of inference points/s and training samples/s (one Adam step, batch 1000) of the
 * 91→400→400→400→250 net and MALA's Be net (91→100→11).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { median } from './stats';

const help = `usage: npx tsx bench/thread-layout.ts [--rounds R] [--layouts 1x1,2x1,1x2] [--batch N]

OpenBLAS threads × libtorch intra-op threads for the addon's inference and training, interleaved
(one child process per layout and round, round-robin), with the load average of each round.
  --rounds R      rounds (default 3); medians are reported
  --layouts L     comma-separated BxT (OPENBLAS_NUM_THREADS=B, MALA_TS_TORCH_THREADS=T);
                  default 1x1, N x1, 1xN with N = the number of cores
  --batch N       inference batch (default 8192; training uses batch 1000)`;

const argv = process.argv.slice(2);
if (argv.includes('--help') || argv.includes('-h')) {
  console.log(help);
  process.exit(0);
}
const arg = (name: string, fallback: string): string => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : fallback);
const cores = os.cpus().length;
const rounds = Number(arg('--rounds', '3'));
const batch = Number(arg('--batch', '8192'));
const layouts = arg('--layouts', `1x1,${cores}x1,1x${cores}`).split(',').map((l) => {
  const m = /^(\d+)x(\d+)$/.exec(l.trim());
  if (!m) throw new Error(`--layouts: '${l}' is not BxT`);
  return { label: l.trim(), blas: m[1], torch: m[2] };
});
if (!(rounds >= 1) || !(batch >= 1)) throw new Error('--rounds and --batch need positive numbers');

interface Row {
  net: string;
  kind: 'inference' | 'training';
  rate: number;
}

function runOnce(blas: string, torch: string): Row[] {
  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'mala-ts-threads-')), 'b.json');
  const r = spawnSync('node', [path.join('node_modules', 'tsx', 'dist', 'cli.mjs'), 'bench/network-device.ts', '--device', 'cpu', '--batches', String(batch), '--reps', '3', '--train-batches', '1000', '--out', out], {
    cwd: path.join(__dirname, '..'),
    env: { ...process.env, OPENBLAS_NUM_THREADS: blas, OMP_NUM_THREADS: blas, MALA_TS_TORCH_THREADS: torch },
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`network-device.ts failed (${blas}x${torch}): ${r.stderr}`);
  const j = JSON.parse(fs.readFileSync(out, 'utf8')) as { inference: { net: string; pointsPerSecond: number }[]; training: { net: string; samplesPerSecond: number }[] };
  fs.rmSync(path.dirname(out), { recursive: true, force: true });
  return [...j.inference.map((x) => ({ net: x.net, kind: 'inference' as const, rate: x.pointsPerSecond })), ...j.training.map((x) => ({ net: x.net, kind: 'training' as const, rate: x.samplesPerSecond }))];
}

const results = new Map<string, Row[][]>(layouts.map((l) => [l.label, []]));
console.log(`# thread layouts (${cores} cores, ${os.cpus()[0]?.model}); ${rounds} rounds, interleaved`);
for (let round = 0; round < rounds; round++) {
  console.log(`round ${round + 1}: load average ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  for (const l of layouts) results.get(l.label)!.push(runOnce(l.blas, l.torch));
}
const first = results.get(layouts[0].label)![0];
console.log('\n| what | ' + layouts.map((l) => `${l.label} (BLAS×torch)`).join(' | ') + ' |');
console.log('|---|' + layouts.map(() => '---|').join(''));
first.forEach((row, i) => {
  const cells = layouts.map((l) => median(results.get(l.label)!.map((r) => r[i].rate)));
  const best = Math.max(...cells);
  const unit = row.kind === 'inference' ? 'points/s' : 'samples/s';
  console.log(`| ${row.net} ${row.kind} (${unit}) | ` + cells.map((c) => `${(c / 1e3).toFixed(1)} k${c === best ? ' (best)' : ''}`).join(' | ') + ' |');
});
