/**
 * Energy terms with a distributed FFT: the largest rank's peak memory and the wall time of
 * computeEnergyTerms, serial (whole grid, serial FFTW) vs N MPI ranks (FFTW-MPI x-slabs):
 *
 *   npx tsx bench/energy-mpi.ts [--n 144] [--np 2,3]
 *
 * (runs its children itself, one per functional and run: `node bench/energy-mpi.ts --child
 * serial N FN` and `mpirun -np P node bench/energy-mpi.ts --child mpi N FN`; as root it adds
 * --allow-run-as-root.)
 * The cell and density are bench/energy.ts's: 32 atoms (2×2×2 fcc) in a cubic cell scaled so the
 * n³ grid keeps the Al fixture's resolution at 80 Ry, a sum of Gaussians normalised to 3 e/atom;
 * each rank builds only its own x-slab of it. Functionals: LDA-PZ with Al.pz-vbc.UPF, and PBE with
 * a core charge (that UPF with a synthetic Gaussian core, as test/parallel's worker), the path
 * with the most arrays. Memory per rank: the peak resident set (VmHWM) over the call, reset just
 * before it (/proc/self/clear_refs), so it counts the node runtime, the rank's density and what the
 * energy terms allocate; "growth" is that peak minus the RSS just before the call.
 *
 * Measured on the project's 2-core machine (Open MPI 4.1, FFTW 3.3.10, FFTW_ESTIMATE), largest
 * rank, peak / growth in MB:
 *   144³ LDA-PZ     serial 306 / 216   2 ranks 209 / 120   3 ranks 181 / 93
 *   144³ PBE+core   serial 342 / 254   2 ranks 269 / 180   3 ranks 241 / 154
 *   200³ LDA-PZ     serial 687 / 561   2 ranks 312 / 206
 *   200³ PBE+core   serial 784 / 657   2 ranks 497 / 390
 * Terms vs serial: ≤ 3e-12 relative at 144³; at 200³ E_ewald 1.4e-11 (the whole sphere's
 * structure factor goes through the NUFFT, tolerance 1e-11, a slab's through the direct sum) and
 * deband 2.4e-10 (a difference of larger terms). Wall time is not lower on 2 cores: the FFTs are a small
 * share of the work (bench/energy.ts) and the transposes cost.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { finalizeWorld, serialComm, worldComm } from '../src/parallel/comm';
import { mpiSlabLayout } from '../src/parallel/slab-fft';
import { computeEnergyTerms } from '../src/qe/energy-terms';
import { GridLayout, wholeGridLayout } from '../src/qe/grid-layout';
import { Pseudopotential, readUpf } from '../src/qe/upf';
import { peakRssMb } from '../src/util/memory';
import { gaussianAlDensity } from './gaussian-density';
import { helpIfAsked } from './help';

helpIfAsked(__filename);

const args = process.argv.slice(2);
const opt = (name: string, dflt: string): string => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : dflt;
};
const root = path.resolve(__dirname, '..');
const al = readUpf(path.join(root, 'fixtures', 'al-fcc-qe', 'Al.pz-vbc.UPF'));
const pbeCore: Pseudopotential = { ...al, functional: 'pbe', rhoCore: Float64Array.from(al.rBohr, (r) => 0.3 * Math.exp((-r * r) / 0.8)) };

function status(key: string): number {
  const m = new RegExp(`${key}:\\s+(\\d+)\\s+kB`).exec(fs.readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}


if (args[0] === '--child') {
  const mode = args[1];
  const n = Number(args[2]);
  const comm = mode === 'mpi' ? worldComm() : serialComm;
  const layout: GridLayout = mode === 'mpi' ? mpiSlabLayout(comm, [n, n, n]) : wholeGridLayout([n, n, n]);
  const { cell, pos, dens } = gaussianAlDensity(n, [layout.x0, layout.x0 + layout.nxLocal], (v) => comm.allreduceSum(v));
  const rows: Record<string, unknown>[] = [];
  const label = args[3];
  const pp = label === 'lda-pz' ? al : pbeCore;
  {
    (global as { gc?: () => void }).gc?.();
    comm.barrier();
    fs.writeFileSync('/proc/self/clear_refs', '5'); // reset VmHWM to the current RSS
    const before = status('VmRSS');
    const t0 = process.hrtime.bigint();
    const t = computeEnergyTerms({ cellAngstrom: cell, positionsAngstrom: pos, species: pos.map(() => 'X'), grid: [n, n, n], densityPerA3: dens, ecutrhoRy: 80, pseudopotentials: { X: pp }, layout: mode === 'mpi' ? layout : undefined });
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    const peak = peakRssMb();
    const [maxPeak, maxGrowth, maxSeconds] = comm.allreduceMax(new Float64Array([peak, peak - before, seconds]));
    const [minPeak] = comm.allreduceMin(new Float64Array([peak]));
    const [maxBefore] = comm.allreduceMax(new Float64Array([before]));
    rows.push({ label, ranks: comm.size, slabPlanes: layout.nxLocal, maxBeforeMb: maxBefore, maxPeakMb: maxPeak, minPeakMb: minPeak, maxGrowthMb: maxGrowth, seconds: maxSeconds, gVectors: t.gVectorCount, terms: [t.hartreeRy, t.xcRy, t.vtxcRy, t.ewaldRy, t.debandRy] });
  }
  if (comm.rank === 0) process.stdout.write(JSON.stringify(rows) + '\n');
  if (mode === 'mpi') finalizeWorld();
  process.exit(0);
}

const n = Number(opt('--n', '144'));
const nps = opt('--np', '2').split(',').map(Number);
const env = { ...process.env, OPENBLAS_NUM_THREADS: '1', OMP_NUM_THREADS: '1', OMPI_MCA_btl_vader_single_copy_mechanism: 'none', OMPI_MCA_rmaps_base_oversubscribe: '1' };
const node = [process.execPath, '--expose-gc', '-r', 'tsx/cjs', __filename];
const runs: { name: string; rows: Record<string, unknown>[] }[] = [];
const child = (launcher: string[], mode: string): Record<string, unknown>[] =>
  ['lda-pz', 'pbe+core'].map((fn) => {
    const cmd = [...launcher, ...node, '--child', mode, String(n), fn];
    const out = execFileSync(cmd[0], cmd.slice(1), { encoding: 'utf8', env, cwd: root });
    return JSON.parse(out.trim().split('\n').pop() as string)[0];
  });
runs.push({ name: 'serial', rows: child([], 'serial') });
for (const np of nps) runs.push({ name: `mpi ${np}`, rows: child(['mpirun', ...(process.getuid?.() === 0 ? ['--allow-run-as-root'] : []), '-np', String(np)], 'mpi') });
console.log(`# energy terms on ${n}³ = ${n ** 3} points, 32 atoms, ecutrho 80 Ry, one fresh process (set of ranks) per line`);
console.log('# MB per rank: RSS before the call (node + this rank\'s density; largest rank), peak RSS over the call (largest and smallest rank), largest growth over the call');
console.log('functional  run      planes/rank  before_MB  peak_max_MB  peak_min_MB  growth_max_MB  seconds  |rel. diff| vs serial of E_H, E_xc, vtxc, E_ewald, deband');
for (const fn of ['lda-pz', 'pbe+core']) {
  const ref = runs[0].rows.find((r) => r.label === fn) as { terms: number[] };
  for (const run of runs) {
    const r = run.rows.find((x) => x.label === fn) as { slabPlanes: number; maxBeforeMb: number; maxPeakMb: number; minPeakMb: number; maxGrowthMb: number; seconds: number; terms: number[] };
    const rel = r.terms.map((v, i) => (Math.abs(v - ref.terms[i]) / Math.abs(ref.terms[i])).toExponential(1)).join(' ');
    console.log(
      `${fn.padEnd(10)}  ${run.name.padEnd(7)}  ${String(r.slabPlanes).padStart(11)}  ${r.maxBeforeMb.toFixed(0).padStart(9)}  ${r.maxPeakMb.toFixed(0).padStart(11)}  ${r.minPeakMb.toFixed(0).padStart(11)}  ${r.maxGrowthMb.toFixed(0).padStart(13)}  ${r.seconds.toFixed(2).padStart(7)}  ${rel}`,
    );
  }
}
