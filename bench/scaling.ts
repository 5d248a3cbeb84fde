/**
 * Scaling of `predict` with system size (not a test): `npx tsx bench/scaling.ts [--sizes 2,3,4,6,8,10]
 * [--ecutrho 9] [--real 2] [--memory 128] [--ranks 2] [--out scaling.json]`
 *
 * fcc Al supercells of n×n×n conventional cells (4n³ atoms, a = 4.05 Å, rattled 0.05 Å), a random
 * network of the Al model's shape (91 → 128 → 128 → 131, LeakyReLU; MALA bispectrum twojmax 10,
 * rcutfac 4.67637), 298 K, 3 electrons per atom, QE's FFT grid for the density cutoff, total
 * energy with fixtures/al-fcc-qe/Al.pz-vbc.UPF (real grid only, see `withEnergy`). Each size runs in its own process, so its peak
 * memory (VmHWM) is its own; it is read after setup, after the LDOS pass (descriptors +
 * network, the stage bounded by the block size: whole x-planes, or rows of one plane once a
 * plane holds more points than a block may, see src/parallel/plane-blocks.ts) and at the end
 * (density + energy-term FFTs; the serial run holds the whole density). `--ranks R` (R > 1) also runs every size on R MPI ranks through
 * `mala-ts predict --np R` and reports its wall time, the largest rank's peak memory and the
 * band energy's difference from the serial run.
 *
 * The size series uses a coarse grid (--ecutrho 9 Ry, ≈0.5 Å, ~128 points per atom) so
 * thousands of atoms fit in minutes on 2 cores; the cost per grid point is what scales, and
 * `--real n` (0: none) measures it on the model's own grid (ecutrho 80 Ry, 3456 points per atom) for an n³
 * cell. The extrapolation to 131,072 atoms multiplies the fitted cost per point on the real grid
 * by its point count. QE: the 4-atom fixture's pw.x wall time (fixtures/al-fcc-qe, serial).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { repoRoot } from '../bindings/native-paths';
import { malaModelDescriptorDefaults } from '../src/descriptors/mala-defaults';
import { initParameters, type NetworkSpec } from '../src/network/mlp';
import { LdosModel, saveModelData, type ModelData } from '../src/network/model';
import { Rng } from '../src/network/rng';
import { DataScaler } from '../src/network/scalers';
import { fccSupercell, rattle } from '../src/structure/crystal';
import { makeEnergyGrid } from '../src/targets/energy-grid';
import type { Progress } from '../src/util/progress';
import { peakRssMb } from '../src/util/memory';
import { predict } from '../src/workflow/predict';
import { loadModel } from '../src/network/model';
import { writeStructure } from '../src/structure/registry';
import { powerLawExponent } from './fit';
import { pwscfTimesS } from '../src/structure/qe-output';
import { helpIfAsked } from './help';

helpIfAsked(__filename);

const argv = process.argv.slice(2);
const arg = (name: string, def: string): string => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : def;
};
const pseudoDir = path.join(repoRoot, 'fixtures', 'al-fcc-qe');

/** The Al model's shape with random weights (seeded); the scalers keep the LDOS in a physical range. */
function alShapedModel(file: string): void {
  const rng = new Rng(2024);
  const spec: NetworkSpec = { layerSizes: [91, 128, 128, 131], activations: ['LeakyReLU', 'LeakyReLU', null] };
  const sample = (n: number, lo: number, hi: number) => Float32Array.from({ length: n }, () => lo + (hi - lo) * rng.uniform());
  const m: ModelData = {
    spec,
    weights: initParameters(spec, rng),
    inputScaler: new DataScaler('feature-wise-standard').fit(sample(64 * 91, 0, 2), 91),
    outputScaler: new DataScaler('minmax').fit(sample(64 * 131, 0, 0.04), 131),
    descriptors: { ...malaModelDescriptorDefaults },
    energyGrid: makeEnergyGrid(-4, 0.1, 131),
    restrictTargets: 'zero_out_negative',
    reference: { temperatureK: 298, electronsPerAtom: 3 },
  };
  saveModelData(file, m);
}

interface One {
  n: number;
  atoms: number;
  ecutrhoRy: number;
  grid: number[];
  points: number;
  timingsS: Record<string, number>;
  /** user + system CPU seconds of the whole process (robust against other load on a shared machine). */
  cpuS: number;
  ldosStorage: string;
  peakRssMb: { setup: number; ldosPass: number; end: number };
  descriptorBlocks?: { windowed: number; wholeCell: number };
  planesPerBlock: number;
  blockCount: number;
  maxBlockPoints: number;
  bandEnergyEv: number;
  totalEnergyEv?: number;
}

async function one(n: number, ecutrhoRy: number, modelFile: string, memoryMb: number): Promise<One> {
  const c0 = process.cpuUsage();
  const atoms = rattle(fccSupercell('Al', 4.05, [n, n, n]), 0.05, 17 + n);
  const model: LdosModel = loadModel(modelFile);
  const rss = { setup: 0, ldosPass: 0, end: 0 };
  const progress: Progress = {
    start: () => (rss.setup = peakRssMb()),
    tick: () => undefined,
    stop: () => (rss.ldosPass = peakRssMb()),
  };
  // QE's Ewald alpha search fails below ~20 Ry for hundreds of atoms: the coarse series skips the
  // energy terms (their cost is one FFT pipeline on the density, measured on the real grid).
  const withEnergy = ecutrhoRy >= 20;
  const r = await predict({ atoms, model, ecutrhoRy, temperatureK: 298, electrons: 3 * atoms.symbols.length, pseudoDir: withEnergy ? pseudoDir : '/nonexistent', progress, memoryMb });
  rss.end = peakRssMb();
  return {
    n,
    atoms: r.atomCount,
    ecutrhoRy,
    grid: r.gridShape,
    points: r.pointCount,
    timingsS: r.timingsS,
    cpuS: (() => {
      const c = process.cpuUsage(c0);
      return (c.user + c.system) / 1e6;
    })(),
    ldosStorage: r.ldosStorage,
    peakRssMb: rss,
    descriptorBlocks: r.descriptorBlocks,
    planesPerBlock: r.planesPerSlab,
    blockCount: r.blockCount,
    maxBlockPoints: r.maxBlockPoints,
    bandEnergyEv: r.bandEnergyEv,
    totalEnergyEv: r.totalEnergy?.totalEnergyEv,
  };
}

function runChild(n: number, ecutrhoRy: number, modelFile: string, memoryMb: number): One {
  const r = spawnSync(process.execPath, ['-r', 'tsx/cjs', __filename, '--one', String(n), '--ecutrho', String(ecutrhoRy), '--model', modelFile, '--memory', String(memoryMb)], { encoding: 'utf8', env: { ...process.env, OPENBLAS_NUM_THREADS: process.env.OPENBLAS_NUM_THREADS ?? '1' }, maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`size ${n}: ${r.stderr}`);
  const line = r.stdout.trim().split('\n').pop()!;
  return JSON.parse(line) as One;
}

interface RanksRow {
  atoms: number;
  ranks: number;
  wallS: number;
  peakRssMaxRankMb: number;
  bandEnergyEv: number;
}

/** The same cell through `mala-ts predict --np R` (the CLI relaunches itself under mpirun). */
function runRanks(n: number, ecutrhoRy: number, modelFile: string, memoryMb: number, ranks: number, tmp: string): RanksRow {
  const atoms = rattle(fccSupercell('Al', 4.05, [n, n, n]), 0.05, 17 + n);
  const file = path.join(tmp, `al${n}.xyz`);
  writeStructure(file, atoms);
  const cli = path.join(repoRoot, 'bin', 'mala-ts.js');
  const args = [cli, 'predict', file, '--model', modelFile, '--ecutrho', String(ecutrhoRy), '--temperature', '298', '--electrons', String(3 * atoms.symbols.length), '--pseudo-dir', '/nonexistent', '--memory', String(memoryMb), '--np', String(ranks), '--json'];
  const t0 = Date.now();
  const r = spawnSync(process.execPath, args, { encoding: 'utf8', env: { ...process.env, OPENBLAS_NUM_THREADS: '1', OMPI_MCA_rmaps_base_oversubscribe: '1' }, maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`size ${n}, ${ranks} ranks: ${r.stderr}`);
  const j = JSON.parse(r.stdout) as { atom_count: number; peak_rss_max_rank_mb: number; band_energy_ev: number };
  return { atoms: j.atom_count, ranks, wallS: (Date.now() - t0) / 1000, peakRssMaxRankMb: j.peak_rss_max_rank_mb, bandEnergyEv: j.band_energy_ev };
}


function qeFixtureWallS(): number | undefined {
  return pwscfTimesS(fs.readFileSync(path.join(pseudoDir, 'Al.pw.scf.out'), 'utf8'))?.wallS;
}

async function main(): Promise<void> {
  if (argv.includes('--one')) {
    const res = await one(Number(arg('one', '2')), Number(arg('ecutrho', '9')), arg('model', ''), Number(arg('memory', '128')));
    process.stdout.write(`${JSON.stringify(res)}\n`);
    return;
  }
  const sizes = arg('sizes', '2,3,4,5,6,8').split(',').map(Number);
  const ecut = Number(arg('ecutrho', '9'));
  // A small budget: the LDOS spills to disk once it exceeds half of it, so peak memory shows the block bound.
  const memoryMb = Number(arg('memory', '128'));
  const real = arg('real', '2').split(',').filter(Boolean).map(Number).filter((n) => n > 0); // --real 0: no real-grid run
  const tmp = fs.mkdtempSync(path.join(require('node:os').tmpdir(), 'mala-ts-scaling-'));
  const modelFile = path.join(tmp, 'al-shaped-random.zip');
  alShapedModel(modelFile);
  const rows: One[] = [];
  const t0 = Date.now();
  console.log(`| atoms | ecutrho Ry | grid | points | blocks win/whole (≤ points) | descriptors s | network s | density s | energy s | total s | CPU s | CPU µs/point | CPU ms/atom | LDOS | peak MB setup / LDOS pass / end |`);
  console.log(`|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|`);
  const show = (r: One) => {
    const t = r.timingsS;
    console.log(`| ${r.atoms} | ${r.ecutrhoRy} | ${r.grid.join('×')} | ${r.points} | ${r.descriptorBlocks ? `${r.descriptorBlocks.windowed}/${r.descriptorBlocks.wholeCell}` : '-'} (≤ ${r.maxBlockPoints}) | ${t.descriptors_s.toFixed(1)} | ${t.network_s.toFixed(2)} | ${t.density_s.toFixed(2)} | ${(t.total_energy_s ?? 0).toFixed(2)} | ${t.total_s.toFixed(1)} | ${r.cpuS.toFixed(1)} | ${((1e6 * r.cpuS) / r.points).toFixed(0)} | ${((1e3 * r.cpuS) / r.atoms).toFixed(1)} | ${r.ldosStorage} | ${r.peakRssMb.setup.toFixed(0)} / ${r.peakRssMb.ldosPass.toFixed(0)} / ${r.peakRssMb.end.toFixed(0)} |`);
  };
  for (const n of sizes) {
    const r = runChild(n, ecut, modelFile, memoryMb);
    rows.push(r);
    show(r);
  }
  const realRows: One[] = [];
  for (const n of real) {
    const r = runChild(n, 80, modelFile, memoryMb);
    realRows.push(r);
    show(r);
  }
  const ranks = Number(arg('ranks', '1'));
  const ranksRows: RanksRow[] = [];
  if (ranks > 1) {
    console.log(`\n| atoms | MPI ranks | wall s | largest rank peak MB | E_band − serial (eV) |\n|---|---|---|---|---|`);
    for (const r of rows) {
      const m = runRanks(r.n, ecut, modelFile, memoryMb, ranks, tmp);
      ranksRows.push(m);
      console.log(`| ${m.atoms} | ${ranks} | ${m.wallS.toFixed(1)} | ${m.peakRssMaxRankMb.toFixed(0)} | ${(m.bandEnergyEv - r.bandEnergyEv).toExponential(2)} |`);
    }
  }
  const big = rows.filter((r) => r.atoms >= 256);
  const fit = big.length >= 2 ? powerLawExponent(big.map((r) => r.atoms), big.map((r) => r.cpuS)) : NaN;
  const perAtom = big.map((r) => r.cpuS / r.atoms);
  const spread = perAtom.length ? Math.max(...perAtom) / Math.min(...perAtom) - 1 : NaN;
  console.log(`\nfitted exponent CPU time ∝ N^p (N ≥ 256, coarse grid): p = ${fit.toFixed(3)}; time per atom spread ${(100 * spread).toFixed(1)} % (max/min − 1)`);
  // Extrapolation on the real grid: cost per point of the largest coarse run, checked against the real-grid run(s).
  const largest = rows[rows.length - 1];
  const usPerPointCoarse = (1e6 * largest.cpuS) / largest.points;
  const out: Record<string, unknown> = { command: `npx tsx bench/scaling.ts ${argv.join(' ')}`.trim(), rows, realRows, ranksRows, exponent: fit, timePerAtomSpread: spread, wallS: (Date.now() - t0) / 1000 };
  if (realRows.length) {
    const rr = realRows[realRows.length - 1];
    const usPerPointReal = (1e6 * rr.cpuS) / rr.points;
    const pointsPerAtom = rr.points / rr.atoms;
    const n131k = 131072;
    const s = usPerPointReal * 1e-6 * pointsPerAtom * n131k;
    const density131kMb = (pointsPerAtom * n131k * 8) / 1048576;
    console.log(`CPU cost per grid point: ${usPerPointCoarse.toFixed(1)} µs (coarse grid, ${largest.atoms} atoms), ${usPerPointReal.toFixed(1)} µs (real grid, ${rr.atoms} atoms)`);
    console.log(`extrapolation to 131,072 atoms on the real grid (${pointsPerAtom.toFixed(0)} points/atom, ${(pointsPerAtom * n131k / 1e6).toFixed(0)} M points): ${(s / 3600).toFixed(1)} CPU core-hours of predict on this machine, i.e. ${(s / 60 / 128).toFixed(1)} min on 128 ranks (perfect scaling); the density alone is ${density131kMb.toFixed(0)} MB (one process holds it whole, N MPI ranks an x-slab each, plus ~90 bytes/point of FFT work arrays)`);
    out.extrapolation131k = { pointsPerAtom, usPerPoint: usPerPointReal, serialHours: s / 3600, densityMb: density131kMb };
  }
  const qe = qeFixtureWallS();
  if (qe !== undefined && realRows.length) {
    const rr = realRows.find((r) => r.atoms === 32) ?? realRows[0];
    console.log(`QE pw.x, 4 atoms (fixtures/al-fcc-qe, serial, 4×4×4 k-points): ${qe.toFixed(1)} s wall; mala-ts predict, ${rr.atoms} atoms on the real grid: ${rr.timingsS.total_s.toFixed(1)} s wall, ${rr.cpuS.toFixed(1)} s CPU`);
    out.qeFixture4AtomsWallS = qe;
  }
  const file = arg('out', '');
  if (file) fs.writeFileSync(file, `${JSON.stringify(out, null, 1)}\n`);
  fs.rmSync(tmp, { recursive: true, force: true });
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
