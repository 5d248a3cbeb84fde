/**
 * Cost of the energy terms' atom-dependent parts with system size (a benchmark, not a test):
 *
 *   npx tsx bench/energy-atoms.ts [--sizes 4,6,8,12,16,20,24] [--direct-max 2048] [--plan131k 1] [--out energy-atoms.json]
 *
 * fcc Al supercells of n×n×n conventional cells (4n³ atoms, a = 4.05 Å, rattled 0.05 Å, Z = 3),
 * QE's FFT grid and G-sphere at ecutrho = 80 Ry (the shipped model's cutoff). Per size, in its own
 * process (so peak RSS is its own; one core: Node and this FFTW binding are single-threaded):
 * the structure factor S(G) by the direct sum (up to --direct-max atoms; it is atoms × G) and by
 * the NUFFT (src/qe/structure-factor.ts) with their max difference / Σ|w|, and the Ewald energy
 * (src/qe/ewald.ts: α, G-space through the automatic S(G), cell-list real space). Prints a
 * table, fitted exponents t ∝ N^p, and the extrapolation to 131,072 atoms; with --plan131k 1 it
 * also builds the 131,072-atom G-sphere to report that size's exact NUFFT grid and memory.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { qeFftGrid } from '../src/grid/grid';
import { fccSupercell, rattle } from '../src/structure/crystal';
import { qeBohrAngstrom } from '../src/qe/energy-terms';
import { ewaldEnergy, ewaldRealSpaceRy } from '../src/qe/ewald';
import { GSphere, inv3 } from '../src/qe/gsphere';
import { NufftStats, estimatedCostNs, planNufft, structureFactorNufft } from '../src/qe/structure-factor';
import type { Mat3 } from '../src/structure/atoms';
import { peakRssMb } from '../src/util/memory';
import { powerLawExponent } from './fit';
import { helpIfAsked } from './help';

helpIfAsked(__filename);

const argv = process.argv.slice(2);
const arg = (name: string, def: string): string => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : def;
};
const ecutrhoRy = 80;
const zAl = 3;

interface Row {
  n: number;
  atoms: number;
  grid: number[];
  gVectors: number;
  gsphereS: number;
  directS?: number;
  nufftS: number;
  nufftCpuS: number;
  nufftStages: NufftStats;
  nufftMaxErrRel?: number;
  nufftGrid: number[];
  nufftHalfWidths: number[];
  columnMb: number;
  planeMb: number;
  ewaldS: number;
  ewaldRealS: number;
  ewaldRy: number;
  alpha: number;
  peakRssMb: number;
}

const seconds = (t0: bigint): number => Number(process.hrtime.bigint() - t0) / 1e9;

function system(n: number): { cellBohr: number[][]; grid: [number, number, number]; fractional: number[][]; cartBohr: number[][] } {
  const atoms = rattle(fccSupercell('Al', 4.05, [n, n, n]), 0.05, 17 + n);
  const grid = qeFftGrid(atoms.cellAngstrom as Mat3, ecutrhoRy) as [number, number, number];
  const cellBohr = atoms.cellAngstrom.map((r) => r.map((x) => x / qeBohrAngstrom));
  const cartBohr = atoms.positionsAngstrom.map((p) => p.map((x) => x / qeBohrAngstrom));
  const inv = inv3(cellBohr);
  const fractional = cartBohr.map((p) => [0, 1, 2].map((k) => p[0] * inv[0][k] + p[1] * inv[1][k] + p[2] * inv[2][k]));
  return { cellBohr, grid, fractional, cartBohr };
}

function one(n: number, directMax: number): Row {
  const { cellBohr, grid, fractional, cartBohr } = system(n);
  const nat = fractional.length;
  const z = fractional.map(() => zAl);
  let t = process.hrtime.bigint();
  const gs = new GSphere(cellBohr, grid, ecutrhoRy);
  const gsphereS = seconds(t);
  const plan = planNufft(gs);
  t = process.hrtime.bigint();
  const c0 = process.cpuUsage();
  const nufftStages: NufftStats = { spreadS: 0, planeFftS: 0, gatherS: 0, columnFftS: 0 };
  let fast: Float64Array | undefined = structureFactorNufft(gs, fractional, z, {}, nufftStages);
  const nufftS = seconds(t);
  const cpu = process.cpuUsage(c0);
  let directS: number | undefined;
  let nufftMaxErrRel: number | undefined;
  if (nat <= directMax) {
    t = process.hrtime.bigint();
    const direct = gs.structureFactor(fractional, z);
    directS = seconds(t);
    let e = 0;
    for (let i = 0; i < direct.length; i++) e = Math.max(e, Math.abs(direct[i] - fast[i]));
    nufftMaxErrRel = e / (zAl * nat);
  }
  fast = undefined; // the Ewald call makes its own
  t = process.hrtime.bigint();
  const ew = ewaldEnergy(cellBohr, cartBohr, fractional, z, gs, ecutrhoRy);
  const ewaldS = seconds(t);
  t = process.hrtime.bigint();
  ewaldRealSpaceRy(cellBohr, fractional, z, ew.alpha);
  const ewaldRealS = seconds(t);
  return {
    n,
    atoms: nat,
    grid,
    gVectors: gs.count,
    gsphereS,
    directS,
    nufftS,
    nufftCpuS: (cpu.user + cpu.system) / 1e6,
    nufftStages,
    nufftMaxErrRel,
    nufftGrid: plan.axes.map((a) => a.size),
    nufftHalfWidths: plan.axes.map((a) => a.halfWidth),
    columnMb: plan.columnBytes / 1048576,
    planeMb: plan.planeBytes / 1048576,
    ewaldS,
    ewaldRealS,
    ewaldRy: ew.energyRy,
    alpha: ew.alpha,
    peakRssMb: peakRssMb(),
  };
}

/** The exact NUFFT plan for n³ cells without running it (G-sphere only). */
function planOnly(n: number): Record<string, unknown> {
  const { cellBohr, grid } = system(n);
  const gs = new GSphere(cellBohr, grid, ecutrhoRy);
  const plan = planNufft(gs);
  const cost = estimatedCostNs(gs, 4 * n ** 3, plan);
  return {
    atoms: 4 * n ** 3,
    grid,
    gridPoints: grid[0] * grid[1] * grid[2],
    gVectors: gs.count,
    gsphereMb: gs.bytes / 1048576,
    structureFactorMb: (16 * gs.count) / 1048576,
    nufftGrid: plan.axes.map((a) => a.size),
    columns: plan.columns,
    columnMb: plan.columnBytes / 1048576,
    planeMb: plan.planeBytes / 1048576,
    passes: plan.passes,
    modelDirectS: cost.directNs / 1e9,
    modelNufftS: cost.nufftNs / 1e9,
    peakRssMb: peakRssMb(),
  };
}

function child(args: string[]): string {
  const r = spawnSync(process.execPath, ['-r', 'tsx/cjs', __filename, ...args], { encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`${args.join(' ')}: ${r.stderr}`);
  return r.stdout.trim().split('\n').pop() as string;
}


function main(): void {
  if (argv.includes('--one')) {
    process.stdout.write(`${JSON.stringify(one(Number(arg('one', '4')), Number(arg('direct-max', '2048'))))}\n`);
    return;
  }
  if (argv.includes('--plan-only')) {
    process.stdout.write(`${JSON.stringify(planOnly(Number(arg('plan-only', '32'))))}\n`);
    return;
  }
  const sizes = arg('sizes', '4,6,8,12,16,20,24').split(',').map(Number);
  const directMax = arg('direct-max', '2048');
  const rows: Row[] = [];
  const f = (x: number | undefined, d = 2): string => (x === undefined ? '-' : x.toFixed(d));
  console.log('| atoms | grid | G-vectors | S direct s | S NUFFT s (spread/plane FFT/gather/column FFT) | NUFFT max err/Σ|w| | NUFFT grid (W) | columns MB | Ewald s (real space s) | α | E_ewald Ry | peak MB |');
  console.log('|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const n of sizes) {
    const r = JSON.parse(child(['--one', String(n), '--direct-max', directMax])) as Row;
    rows.push(r);
    console.log(
      `| ${r.atoms} | ${r.grid.join('×')} | ${r.gVectors} | ${f(r.directS)} | ${f(r.nufftS)} (${[r.nufftStages.spreadS, r.nufftStages.planeFftS, r.nufftStages.gatherS, r.nufftStages.columnFftS].map((x) => x.toFixed(2)).join('/')}) | ${r.nufftMaxErrRel === undefined ? '-' : r.nufftMaxErrRel.toExponential(1)} | ${r.nufftGrid.join('×')} (${r.nufftHalfWidths.join(',')}) | ${r.columnMb.toFixed(0)} | ${f(r.ewaldS)} (${f(r.ewaldRealS, 3)}) | ${r.alpha.toFixed(1)} | ${r.ewaldRy.toFixed(6)} | ${r.peakRssMb.toFixed(0)} |`,
    );
  }
  const target = 131072;
  const fit = (pick: (r: Row) => number | undefined, minAtoms = 0): { p: number; at131k: number } | undefined => {
    const pts = rows.filter((r) => r.atoms >= minAtoms && pick(r) !== undefined);
    if (pts.length < 2) return undefined;
    const p = powerLawExponent(pts.map((r) => r.atoms), pts.map((r) => pick(r) as number));
    const last = pts[pts.length - 1];
    return { p, at131k: (pick(last) as number) * (target / last.atoms) ** p };
  };
  const fits = {
    directS: fit((r) => r.directS, 256),
    nufftS: fit((r) => r.nufftS, 2048),
    ewaldS: fit((r) => r.ewaldS, 2048),
    ewaldRealS: fit((r) => r.ewaldRealS, 2048),
  };
  console.log('\nfitted t ∝ N^p (direct from N ≥ 256, NUFFT and Ewald from N ≥ 2048) and extrapolation from the largest measured size to 131,072 atoms:');
  for (const [k, v] of Object.entries(fits)) if (v) console.log(`  ${k.padEnd(11)} p = ${v.p.toFixed(2)}   131,072 atoms: ${v.at131k < 3600 ? `${v.at131k.toFixed(0)} s` : `${(v.at131k / 3600).toFixed(1)} h`}`);
  const out: Record<string, unknown> = { command: `npx tsx bench/energy-atoms.ts ${argv.join(' ')}`.trim(), ecutrhoRy, rows, fits };
  if (arg('plan131k', '1') !== '0') {
    const p = JSON.parse(child(['--plan-only', '32'])) as Record<string, number & number[]>;
    out.plan131k = p;
    console.log(
      `131,072 atoms (32³ cells): grid ${p.grid.join('×')} (${(p.gridPoints / 1e6).toFixed(0)} M points), ${(p.gVectors / 1e6).toFixed(0)} M G-vectors; NUFFT grid ${p.nufftGrid.join('×')}, ` +
        `${p.columns} columns → column store ${(p.columnMb / 1024).toFixed(2)} GiB in ${p.passes} pass(es), plane ${p.planeMb.toFixed(0)} MB; ` +
        `S(G) ${(p.structureFactorMb / 1024).toFixed(2)} GiB, G-sphere ${(p.gsphereMb / 1024).toFixed(2)} GiB (a complex density grid is ${((16 * p.gridPoints) / 1024 ** 3).toFixed(2)} GiB); ` +
        `cost model: direct ${(p.modelDirectS / 3600).toFixed(1)} h, NUFFT ${p.modelNufftS.toFixed(0)} s`,
    );
  }
  const file = arg('out', '');
  if (file) fs.writeFileSync(file, `${JSON.stringify(out, null, 1)}\n`);
}

main();
