/**
 * Descriptor engines side by side (not a test): `npx tsx bench/descriptors-engines.ts [options]`
 *
 * LAMMPS' compute sna/grid (in-process, through the registry as `predict` opens it) against
 * mala-ts' native kernel (bindings/sna) on the same grid blocks, interleaved: each repeat runs
 * LAMMPS then native on every case. Prints CPU time per point (user + system of this process, so
 * other load on a shared machine counts less than in wall time), points/s per core, the ratio, and
 * the native kernel's arithmetic rate from a flop model (U recursion per neighbour, Z·U products).
 *
 * Cases: the 108-atom Al example (examples/al108-298K.pw.scf.in, its 72³ grid, the first
 * --planes x-planes) and Be2 (MALA's snapshot 0 when ../shared/reference exists, else the
 * 2-atom hcp fixture on the Be2 grid 18×18×27, --be-planes planes). MALA's parameters.
 *
 * With --threads 1,2 (say) it compares instead the native kernel on those thread counts
 * ($MALA_TS_SNA_THREADS per run), interleaved, by wall time: the speed-up of its threads.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { repoRoot } from '../bindings/native-paths';
import { bispectrumCount } from '../src/descriptors/bispectrum';
import { malaBispectrumDefaults } from '../src/descriptors/mala-defaults';
import type { DescriptorEngine } from '../src/descriptors/descriptor-type';
import { openDescriptors } from '../src/descriptors/registry';
import { chooseGrid } from '../src/grid/choose-grid';
import type { GridShape } from '../src/grid/grid';
import { serialComm } from '../src/parallel/comm';
import { type GridBlock, blockPointCount } from '../src/parallel/plane-blocks';
import type { Atoms } from '../src/structure/atoms';
import { readStructure } from '../src/structure/registry';

const help = `usage: npx tsx bench/descriptors-engines.ts [--planes N] [--be-planes N] [--repeat R] [--twojmax J]

LAMMPS sna/grid vs the native bispectrum kernel, interleaved in one run, on the 108-atom Al
example (first N x-planes of its 72³ grid, default 2) and Be2 (default 6 of 18 planes).
Times are CPU seconds of this process (best of R repeats, default 3).
  --planes N      x-planes of the Al grid per engine and repeat
  --be-planes N   x-planes of the Be2 grid
  --repeat R      repeats (best one counts)
  --twojmax J     2·jmax (default 10, MALA's)
  --native-only   skip LAMMPS (e.g. on a machine without it)
  --peak-gflops G the core's double-precision peak, to print the native kernel's share of it
                  (e.g. 2 FMA pipes × 4 doubles × 2 flops × GHz with AVX2)
  --measure-peak  measure it instead: one-thread DGEMM (2048³, best of 5) of python3's numpy,
                  whose OpenBLAS is tuned to this CPU; run before and after the engines
  --threads A,B   instead of LAMMPS vs native: the native kernel on A, B, ... threads
                  ($MALA_TS_SNA_THREADS set per run), interleaved; wall time (best of R), its
                  ratio to the first count, and CPU time (the same bytes on any count)
Environment: MALA_TS_SNA_ISA=generic|avx2|avx512 forces the native kernel's instruction set.`;

const argv = process.argv.slice(2);
if (argv.includes('--help') || argv.includes('-h')) {
  console.log(help);
  process.exit(0);
}
function intArg(name: string, fallback: number): number {
  const i = argv.indexOf(name);
  if (i < 0) return fallback;
  const v = Number(argv[i + 1]);
  if (!Number.isInteger(v) || v < 1) throw new Error(`${name} needs a positive whole number`);
  return v;
}
const planes = intArg('--planes', 2);
const bePlanes = intArg('--be-planes', 6);
const repeat = intArg('--repeat', 3);
const twojmax = intArg('--twojmax', 10);
const nativeOnly = argv.includes('--native-only');
let peakGflops = argv.includes('--peak-gflops') ? Number(argv[argv.indexOf('--peak-gflops') + 1]) : undefined;
if (peakGflops !== undefined && !(peakGflops > 0)) throw new Error('--peak-gflops needs a positive number');
const measurePeak = argv.includes('--measure-peak');
const threadCounts = argv.includes('--threads') ? (argv[argv.indexOf('--threads') + 1] ?? '').split(',').map(Number) : undefined;
if (threadCounts && !(threadCounts.length > 0 && threadCounts.every((t) => Number.isInteger(t) && t >= 1))) throw new Error('--threads needs whole numbers ≥ 1, comma-separated (e.g. 1,2)');

/** One core's double-precision GEMM rate (GFLOP/s), from numpy's OpenBLAS on one thread. */
function measuredDgemmGflops(): number {
  const script = 'import numpy as np, time\nn=2048\na=np.random.rand(n,n); b=np.random.rand(n,n); a@b\nbest=1e9\nfor _ in range(5):\n  t=time.perf_counter(); a@b; best=min(best, time.perf_counter()-t)\nprint(2*n**3/best/1e9)';
  const r = spawnSync('python3', ['-c', script], { env: { ...process.env, OPENBLAS_NUM_THREADS: '1', OMP_NUM_THREADS: '1', MKL_NUM_THREADS: '1' }, encoding: 'utf8' });
  const v = Number(r.stdout.trim());
  if (r.status !== 0 || !(v > 0)) throw new Error(`--measure-peak needs python3 with numpy: ${r.stderr || r.error?.message}`);
  return v;
}

interface Case {
  label: string;
  atoms: Atoms;
  grid: GridShape;
  blocks: GridBlock[];
}

function planeBlocksOf(n: number): GridBlock[] {
  return Array.from({ length: n }, (_, i) => ({ i0: i, i1: i + 1, rowStart: 0, rowStride: 1 }));
}

function cases(): Case[] {
  const al = readStructure(path.join(repoRoot, 'examples', 'al108-298K.pw.scf.in'));
  const alGrid = chooseGrid(al).grid;
  const beRef = path.resolve(repoRoot, '..', 'shared', 'reference', 'be2', 'Be_snapshot0.out');
  const be = fs.existsSync(beRef) ? readStructure(beRef) : readStructure(path.join(repoRoot, 'test', 'grid', 'fixtures', 'qe', 'hex-ibrav4-abc.in'));
  const beGrid: GridShape = [18, 18, 27];
  return [
    { label: `Al108 ${alGrid.join('×')}`, atoms: al.atoms, grid: alGrid, blocks: planeBlocksOf(Math.min(planes, alGrid[0])) },
    { label: `Be2 ${fs.existsSync(beRef) ? 'snapshot0' : 'hcp fixture'} 18×18×27`, atoms: be.atoms, grid: beGrid, blocks: planeBlocksOf(Math.min(bePlanes, 18)) },
  ];
}

const record = { type: 'Bispectrum', twojmax, rcutfac: malaBispectrumDefaults.rcutfacAngstrom, rfac0: malaBispectrumDefaults.rfac0, rmin0: 0, switchflag: 1, bzeroflag: 0, quadraticflag: 0 };

/** CPU (and wall) seconds to compute the case's blocks with one engine (opening it not counted), and its report. */
function run(c: Case, engine: DescriptorEngine): { cpuS: number; wallS: number; report: Record<string, number>; checksum: number } {
  const src = openDescriptors(record, { atoms: c.atoms, grid: c.grid, comm: serialComm, engine });
  try {
    let checksum = 0;
    const c0 = process.cpuUsage();
    const w0 = process.hrtime.bigint();
    for (const b of c.blocks) {
      const d = src.computeBlock(b);
      checksum += d[0] + d[d.length - 1];
    }
    const wallS = Number(process.hrtime.bigint() - w0) / 1e9;
    const t = process.cpuUsage(c0);
    return { cpuS: (t.user + t.system) / 1e6, wallS, report: src.report?.() ?? {}, checksum };
  } finally {
    src.close();
  }
}

/** Flops per point of the native kernel's model: U recursion and accumulation per neighbour, then Z·U. */
function flopsPerPoint(J: number, neighbours: number): number {
  let uEntries = 0;
  for (let j = 1; j <= J; j++) uEntries += (Math.floor(j / 2) + 1) * (j + 1);
  let zProducts = 0;
  let zElems = 0;
  for (let j1 = 0; j1 <= J; j1++)
    for (let j2 = 0; j2 <= j1; j2++)
      for (let j = j1 - j2; j <= Math.min(J, j1 + j2); j += 2) {
        if (j < j1) continue;
        const k = (j1 + j2 - j) / 2;
        for (let mb = 0; 2 * mb <= j; mb++)
          for (let ma = 0; ma <= j; ma++) {
            if (2 * mb === j && 2 * ma > j) continue;
            zElems++;
            const na = Math.min(j1, ma + k) - Math.max(0, ma + k - j2) + 1;
            const nb = Math.min(j1, mb + k) - Math.max(0, mb + k - j2) + 1;
            zProducts += na * nb;
          }
      }
  // U entry: two complex·complex (12) scaled (4), summed (2), accumulated with weight (4) = 22
  // Z product: complex product (6), scaled and summed (4) = 10; B: 4 per element
  return neighbours * uEntries * 22 + zProducts * 10 + zElems * 4;
}

/** The native kernel on each of `counts` threads, interleaved: wall and CPU seconds, best of `repeat`. */
function compareThreads(counts: number[]): void {
  console.log(`# native descriptor kernel on ${counts.join(' vs ')} threads, interleaved (best of ${repeat}; twojmax ${twojmax}; ${os.cpus().length} cores, ${os.cpus()[0]?.model}, load ${os.loadavg()[0].toFixed(1)} before)\n`);
  const all = cases();
  const saved = process.env.MALA_TS_SNA_THREADS;
  const best = all.map(() => counts.map(() => ({ wallS: Infinity, cpuS: Infinity, checksum: NaN })));
  try {
    for (let r = 0; r < repeat; r++)
      all.forEach((c, i) =>
        counts.forEach((t, k) => {
          process.env.MALA_TS_SNA_THREADS = String(t);
          const n = run(c, 'native');
          const b = best[i][k];
          b.wallS = Math.min(b.wallS, n.wallS);
          b.cpuS = Math.min(b.cpuS, n.cpuS);
          b.checksum = n.checksum;
        }),
      );
  } finally {
    if (saved === undefined) delete process.env.MALA_TS_SNA_THREADS;
    else process.env.MALA_TS_SNA_THREADS = saved;
  }
  console.log('| case | points | threads | wall s | CPU s | wall µs/point | speed-up (wall) vs ' + counts[0] + ' | checksum |');
  console.log('|---|---|---|---|---|---|---|---|');
  all.forEach((c, i) => {
    const points = c.blocks.reduce((s, b) => s + blockPointCount(b, c.grid), 0);
    counts.forEach((t, k) => {
      const b = best[i][k];
      console.log(`| ${c.label}, ${c.blocks.length} planes | ${points} | ${t} | ${b.wallS.toFixed(3)} | ${b.cpuS.toFixed(3)} | ${((b.wallS / points) * 1e6).toFixed(1)} | ${(best[i][0].wallS / b.wallS).toFixed(2)}× | ${b.checksum} |`);
    });
  });
  console.log(`\nload ${os.loadavg()[0].toFixed(1)} after; instruction set ${process.env.MALA_TS_SNA_ISA || 'auto'}`);
}

function main(): void {
  if (threadCounts) return compareThreads(threadCounts);
  console.log(`# descriptor engines, interleaved (best of ${repeat}; twojmax ${twojmax}, rcutfac ${record.rcutfac}; ${os.cpus().length} cores, ${os.cpus()[0]?.model}, load ${os.loadavg()[0].toFixed(1)})\n`);
  const peaks: number[] = [];
  if (measurePeak) peaks.push(measuredDgemmGflops());
  const all = cases();
  const best = all.map(() => ({ lammps: Infinity, native: Infinity, neighbours: 0 }));
  for (let r = 0; r < repeat; r++)
    all.forEach((c, i) => {
      if (!nativeOnly) best[i].lammps = Math.min(best[i].lammps, run(c, 'lammps').cpuS);
      const n = run(c, 'native');
      best[i].native = Math.min(best[i].native, n.cpuS);
      best[i].neighbours = n.report.nativeNeighbours ?? 0;
    });
  if (measurePeak) {
    peaks.push(measuredDgemmGflops());
    peakGflops = Number(Math.max(...peaks).toFixed(1));
    console.log(`one-core DGEMM (numpy/OpenBLAS, 2048³) before and after: ${peaks.map((p) => p.toFixed(1)).join(', ')} GFLOP/s; the larger is the peak below\n`);
  }
  console.log('| case | points | LAMMPS µs/point | native µs/point | LAMMPS points/s/core | native points/s/core | native / LAMMPS | native GFLOP/s (model) |');
  console.log('|---|---|---|---|---|---|---|---|');
  all.forEach((c, i) => {
    const points = c.blocks.reduce((s, b) => s + blockPointCount(b, c.grid), 0);
    const b = best[i];
    const us = (s: number) => ((s / points) * 1e6).toFixed(1);
    const rate = (s: number) => (points / s).toFixed(0);
    const gflops = (flopsPerPoint(twojmax, b.neighbours / points) * points) / b.native / 1e9;
    console.log(
      `| ${c.label}, ${c.blocks.length} planes | ${points} | ${nativeOnly ? '–' : us(b.lammps)} | ${us(b.native)} | ${nativeOnly ? '–' : rate(b.lammps)} | ${rate(b.native)} | ${nativeOnly ? '–' : (b.lammps / b.native).toFixed(2) + '×'} | ${gflops.toFixed(1)}${peakGflops ? ` (${((gflops / peakGflops) * 100).toFixed(0)} % of ${peakGflops})` : ''} |`,
    );
  });
  console.log(`\nnative kernel: ${bispectrumCount(twojmax)} coefficients; instruction set ${process.env.MALA_TS_SNA_ISA || 'auto'} (see bindings/sna)`);
}

main();
