/**
 * Where does `mala-ts predict` beat Quantum ESPRESSO? Measured, not asserted (a benchmark, not a test):
 *
 *   npx tsx bench/qe-crossover.ts [--sizes 4,8,16,32,108,256] [--qe-max 32] [--out crossover.json]
 *                                 [--model models/al-fcc-298K/model.zip] [--seed 2024]
 *                                 [--structures md | rattle] [--amplitude 0.15]
 *                                 [--cache .cache/qe-crossover] [--force | --force-qe | --force-predict]
 *
 * For each size (atoms, a multiple of 4) an fcc Al cell of conventional cells (a = 4.05 Å; 4 → 1×1×1,
 * 8 → 2×1×1, 16 → 2×2×1, 32 → 2×2×2, 108 → 3×3×3, 256 → 4×4×4: the most cubic repetition), one
 * EAM MD frame at 298 K (`mala-ts sample`: Langevin, 2 ps equilibration, frame at 3 ps, --seed; the
 * way the model's training cells were made), or with --structures rattle uniform random
 * displacements in ±amplitude (`fccSupercell` + `rattle`; the model errs by 17–88 meV/atom on those,
 * whose uncorrelated displacements it never saw),
 * written as a pw.x SCF input with the settings of the shipped model's training data
 * (models/al-fcc-298K/RECIPE.md): the template qe-inputs/al-fcc-298K.pw.scf.in with `mala-ts
 * sample`'s supercell rules (`supercellKpointsAndBands`: k-mesh 8×8×8 of the 4-atom cell divided by
 * the repetition, rounded up; nbnd 12 per 4 atoms, rounded up),
 * i.e. LDA Al.pz-vbc.UPF (from fixtures/al-fcc-qe), ecutwfc 20 / ecutrho 80 Ry, Fermi–Dirac 298 K,
 * conv_thr 1e-8 Ry, nosym/noinv. Two changes, both in QE's favour, since `predict` gives energies
 * only: no forces or stress (tprnfor/tstress off) and disk_io = 'none' (no wavefunctions written).
 *
 * Then, one after the other (never concurrently):
 *  - pw.x, serial (one process, OMP_NUM_THREADS=1, through src/dft/qe-run.ts), for sizes ≤ --qe-max:
 *    wall time of the process, pw.x's own "PWSCF : … CPU … WALL" line, the "!" total (free) energy;
 *  - `predict` (src/workflow/predict.ts) with the model on the very same pw.x input (structure,
 *    ecutrho → QE's FFT grid, degauss → temperature, pseudo_dir → total energy), in a child process
 *    of this script (OPENBLAS_NUM_THREADS=1, OMP_NUM_THREADS=1, one torch thread): wall time of the
 *    whole process as seen from here (node + tsx start, LAMMPS and libtorch load included, as pw.x's
 *    includes its start) and its CPU time (process.cpuUsage(), user + system, all threads).
 * While each runs, the load is sampled: /proc/loadavg every 5 s and /proc/stat's busy time over
 * the run, of which what the measured process did not use is the other jobs' share of the cores.
 *
 * Prints the table (atoms, QE wall/CPU, predict wall/CPU, ratios, energy difference per atom),
 * least-squares power laws t = a·N^p in log–log (QE over its sizes, predict over its sizes) for
 * wall and CPU time, the crossover N where the two fits meet, and the measured speed-up per size.
 *
 * Cached per size and program under --cache (git-ignored .cache/), keyed by a hash of the pw.x
 * input (and for predict the model file's bytes), so a rerun only prints; --force redoes everything,
 * --force-qe / --force-predict one side. A killed run leaves no result, so the next run redoes it.
 */
import { spawn } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { repoRoot } from '../bindings/native-paths';
import { writeFileAtomic } from '../src/io/atomic-write';
import { fccSupercell, rattle } from '../src/structure/crystal';
import { sampleSnapshots, supercellKpointsAndBands } from '../src/workflow/sample';
import { parseQeInput } from '../src/structure/qe-input';
import { parseQeOutput, pwscfTimesS } from '../src/structure/qe-output';
import { kBoltzmannEvPerK, rydbergEv, rydbergToKelvin } from '../src/structure/units';
import { qeInputFromTemplate, setNamelistValue } from '../src/dft/qe-template';
import { qeCommandLine, qeOutputProblem, runQe } from '../src/dft/qe-run';
import { eigenvalueBandEnergy, parseQeOutputBands } from '../src/dft/qe-xml';
import { hashKey } from '../src/dft/stamps';
import { predict } from '../src/workflow/predict';
import { powerLawFit } from './fit';
import { helpIfAsked } from './help';

helpIfAsked(__filename);

const argv = process.argv.slice(2);
const arg = (name: string, def: string): string => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1] : def;
};
const flag = (name: string): boolean => argv.includes(`--${name}`);

const TEMPLATE = path.join(repoRoot, 'qe-inputs', 'al-fcc-298K.pw.scf.in');
const PSEUDO_DIR = path.join(repoRoot, 'fixtures', 'al-fcc-qe');
const LATTICE_A = 4.05;

// ---------------------------------------------------------------------------------------------
// Measuring: load, system busy time, QE's time format

interface CpuTimes {
  busyS: number;
  totalS: number;
}

/** Busy and total time of all cores since boot (/proc/stat 'cpu' line, USER_HZ = 100). */
function systemCpu(): CpuTimes | undefined {
  try {
    const f = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    const [user, nice, system, idle, iowait, irq, softirq, steal] = f;
    const busy = user + nice + system + irq + softirq + steal;
    return { busyS: busy / 100, totalS: (busy + idle + iowait) / 100 };
  } catch {
    return undefined;
  }
}

/** 1-minute load average, sampled every 5 s while a run is in flight. */
class LoadSampler {
  private samples: number[] = [];
  private timer?: NodeJS.Timeout;
  private cpu0?: CpuTimes;
  start(): void {
    this.samples = [];
    this.cpu0 = systemCpu();
    const take = () => {
      try {
        this.samples.push(Number(fs.readFileSync('/proc/loadavg', 'utf8').split(' ')[0]));
      } catch {
        // not Linux
      }
    };
    take();
    this.timer = setInterval(take, 5000);
  }
  /** Load summary; `ownCpuS` is what the measured process used, the rest of the busy time is others'. */
  stop(ownCpuS: number): LoadInfo {
    if (this.timer) clearInterval(this.timer);
    const cpu1 = systemCpu();
    const s = this.samples;
    const info: LoadInfo = {
      loadavg1Mean: s.length ? s.reduce((a, b) => a + b, 0) / s.length : NaN,
      loadavg1Min: s.length ? Math.min(...s) : NaN,
      loadavg1Max: s.length ? Math.max(...s) : NaN,
    };
    if (this.cpu0 && cpu1) {
      const wall = (cpu1.totalS - this.cpu0.totalS) / os.cpus().length;
      const busy = cpu1.busyS - this.cpu0.busyS;
      info.systemBusyCores = busy / wall;
      info.otherJobsCores = Math.max(0, (busy - ownCpuS) / wall);
    }
    return info;
  }
}

interface LoadInfo {
  loadavg1Mean: number;
  loadavg1Min: number;
  loadavg1Max: number;
  /** Cores busy on average over the run (all processes). */
  systemBusyCores?: number;
  /** Cores other processes kept busy on average over the run. */
  otherJobsCores?: number;
}

// ---------------------------------------------------------------------------------------------
// Structures and inputs

/** The most cubic repetition n1 ≥ n2 ≥ n3 of the 4-atom conventional cell with n1·n2·n3 = atoms/4. */
export function repetitionFor(atoms: number): [number, number, number] {
  const m = atoms / 4;
  if (!Number.isInteger(m) || m < 1) throw new Error(`${atoms} atoms is not a multiple of 4 (fcc conventional cells)`);
  let best: [number, number, number] = [m, 1, 1];
  for (let n3 = 1; n3 * n3 * n3 <= m; n3++) {
    if (m % n3) continue;
    for (let n2 = n3; n2 * n2 <= m / n3; n2++) {
      if ((m / n3) % n2) continue;
      const n1 = m / n3 / n2;
      if (n1 / n3 < best[0] / best[2] || (n1 / n3 === best[0] / best[2] && n1 < best[0])) best = [n1, n2, n3];
    }
  }
  return best;
}

interface SizeInput {
  atoms: number;
  repetition: [number, number, number];
  kpoints: [number, number, number];
  nbnd: number;
  /** The pw.x input, as run (pseudo_dir absolute; outdir relative to the run folder). */
  text: string;
}

/**
 * The pw.x input of one size: an EAM MD frame at 298 K (`mala-ts sample`, the way the model's
 * training cells were made) or, with --structures rattle, uniform random displacements; k-mesh and
 * bands by `mala-ts sample`'s supercell rules.
 */
function pwInput(atomsCount: number, seed: number, amplitudeA: number, structures: 'md' | 'rattle', scratch: string): SizeInput {
  const rep = repetitionFor(atomsCount);
  const template = fs.readFileSync(TEMPLATE, 'utf8');
  const { kpoints, nbnd } = supercellKpointsAndBands(template, rep, atomsCount);
  let text: string;
  if (structures === 'md') {
    const [frame] = sampleSnapshots({ qeTemplate: TEMPLATE, outDir: scratch, prefix: `al${atomsCount}`, supercell: rep, latticeAngstrom: LATTICE_A, temperatureK: 298, frames: 1, seed });
    text = fs.readFileSync(frame.file, 'utf8');
  } else {
    const atoms = rattle(fccSupercell('Al', LATTICE_A, rep), amplitudeA, seed);
    text = qeInputFromTemplate(template, atoms, TEMPLATE, {
      kpoints,
      nbnd,
      comment: `bench/qe-crossover.ts: fcc Al ${rep.join('x')} conventional cells (a = ${LATTICE_A} A), rattle ±${amplitudeA} A seed ${seed}; training-data settings of models/al-fcc-298K, energies only`,
    });
  }
  text = setNamelistValue(text, 'control', 'pseudo_dir', PSEUDO_DIR);
  text = setNamelistValue(text, 'control', 'outdir', './tmp');
  text = setNamelistValue(text, 'control', 'disk_io', 'none');
  text = setNamelistValue(text, 'control', 'tprnfor', false);
  text = setNamelistValue(text, 'control', 'tstress', false);
  return { atoms: atomsCount, repetition: rep, kpoints: kpoints!, nbnd: nbnd!, text };
}

// ---------------------------------------------------------------------------------------------
// Runs

interface QeResult {
  key: string;
  command: string;
  wallS: number;
  pwscfCpuS: number;
  pwscfWallS: number;
  totalEnergyEv: number;
  fermiEnergyEv?: number;
  bandEnergyEv?: number;
  scfIterations: number;
  fftGrid?: number[];
  load: LoadInfo;
  date: string;
}

async function runQeSize(inp: SizeInput, dir: string, key: string): Promise<QeResult> {
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  writeFileAtomic(path.join(dir, 'pw.scf.in'), inp.text);
  const argv1 = qeCommandLine({ program: 'pw.x', inputFile: 'pw.scf.in', np: 1 });
  console.error(`  [${inp.atoms} atoms] ${argv1.join(' ')} (k ${inp.kpoints.join('×')}, nbnd ${inp.nbnd}) in ${path.relative(repoRoot, dir)}`);
  const sampler = new LoadSampler();
  sampler.start();
  let iter = 0;
  const r = await runQe({
    program: 'pw.x',
    inputFile: 'pw.scf.in',
    outputFile: 'pw.scf.out',
    cwd: dir,
    np: 1,
    env: { OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1' },
    onLine: (l) => {
      if (/^\s*iteration #/.test(l)) iter++;
      const m = /estimated scf accuracy\s*<\s*(\S+)/.exec(l);
      if (m) process.stderr.write(`    SCF iteration ${iter}: accuracy ${m[1]} Ry\n`);
    },
  });
  const t = pwscfTimesS(r.output);
  if (!t) throw new Error(`no PWSCF timing line in ${dir}/pw.scf.out`);
  const load = sampler.stop(t.cpuS);
  const qo = parseQeOutput(r.output, path.join(dir, 'pw.scf.out'));
  let fermiEnergyEv: number | undefined;
  let bandEnergyEv: number | undefined;
  try {
    const bands = parseQeOutputBands(r.output, path.join(dir, 'pw.scf.out'));
    const degauss = parseQeInput(inp.text).namelists.system.degauss as number;
    fermiEnergyEv = bands.fermiEnergyEv;
    if (fermiEnergyEv !== undefined) bandEnergyEv = eigenvalueBandEnergy(bands, fermiEnergyEv, kBoltzmannEvPerK * rydbergToKelvin(degauss)).bandEnergyEv;
  } catch {
    // band energy is an extra; the timing and total energy are what matter
  }
  fs.rmSync(path.join(dir, 'tmp'), { recursive: true, force: true });
  const res: QeResult = {
    key,
    command: `${argv1.join(' ')}   (OMP_NUM_THREADS=1, cwd ${path.relative(repoRoot, dir)})`,
    wallS: r.wallSeconds,
    pwscfCpuS: t.cpuS,
    pwscfWallS: t.wallS,
    totalEnergyEv: (qo.energiesRy.total ?? NaN) * rydbergEv,
    fermiEnergyEv,
    bandEnergyEv,
    scfIterations: iter,
    fftGrid: qo.fftGrid,
    load,
    date: new Date().toISOString(),
  };
  writeFileAtomic(path.join(dir, 'result.json'), `${JSON.stringify(res, null, 1)}\n`);
  return res;
}

interface PredictChildResult {
  cpuS: number;
  timingsS: Record<string, number>;
  grid: number[];
  totalEnergyEv?: number;
  bandEnergyEv: number;
  fermiEnergyEv: number;
  peakRssMb: number;
  warnings: string[];
}

interface PredictRunResult extends PredictChildResult {
  key: string;
  command: string;
  /** Wall time of the child process, seen from here (start of node to exit). */
  wallS: number;
  load: LoadInfo;
  date: string;
}

/** Child mode: predict one pw.x input, print the measurements as one JSON line. */
async function predictChild(): Promise<void> {
  const r = await predict({ structureFile: arg('predict-one', ''), modelFile: arg('model', ''), pseudoDir: PSEUDO_DIR, requireTotalEnergy: true, warn: (m) => process.stderr.write(`warning: ${m}\n`) });
  const c = process.cpuUsage();
  const out: PredictChildResult = {
    cpuS: (c.user + c.system) / 1e6,
    timingsS: r.timingsS,
    grid: r.gridShape,
    totalEnergyEv: r.totalEnergy?.totalEnergyEv,
    bandEnergyEv: r.bandEnergyEv,
    fermiEnergyEv: r.fermiEnergyEv,
    peakRssMb: r.peakRssMb,
    warnings: r.warnings,
  };
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

async function runPredictSize(inp: SizeInput, dir: string, key: string, modelFile: string): Promise<PredictRunResult> {
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const inFile = path.join(dir, 'pw.scf.in');
  writeFileAtomic(inFile, inp.text);
  const args = ['-r', 'tsx/cjs', __filename, '--predict-one', inFile, '--model', modelFile];
  console.error(`  [${inp.atoms} atoms] predict (serial) in ${path.relative(repoRoot, dir)}`);
  const sampler = new LoadSampler();
  sampler.start();
  const t0 = process.hrtime.bigint();
  const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const env: NodeJS.ProcessEnv = { ...process.env, OPENBLAS_NUM_THREADS: '1', OMP_NUM_THREADS: '1' };
    delete env.MALA_TS_TORCH_THREADS; // the addon's default: one intra-op thread
    const child = spawn(process.execPath, args, { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let so = '';
    let se = '';
    child.stdout.on('data', (b: Buffer) => (so += b.toString()));
    child.stderr.on('data', (b: Buffer) => (se += b.toString()));
    child.on('close', (c) => resolve({ code: c, stdout: so, stderr: se }));
  });
  const wallS = Number(process.hrtime.bigint() - t0) / 1e9;
  if (code !== 0) throw new Error(`predict of ${inp.atoms} atoms failed (exit ${code}):\n${stderr}`);
  const child = JSON.parse(stdout.trim().split('\n').pop()!) as PredictChildResult;
  const load = sampler.stop(child.cpuS);
  const res: PredictRunResult = {
    key,
    command: `OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 node -r tsx/cjs bench/qe-crossover.ts --predict-one ${path.relative(repoRoot, inFile)} --model ${path.relative(repoRoot, modelFile)}`,
    wallS,
    load,
    date: new Date().toISOString(),
    ...child,
  };
  writeFileAtomic(path.join(dir, 'result.json'), `${JSON.stringify(res, null, 1)}\n`);
  return res;
}

function cached<T extends { key: string }>(dir: string, key: string, force: boolean): T | undefined {
  if (force) return undefined;
  try {
    const r = JSON.parse(fs.readFileSync(path.join(dir, 'result.json'), 'utf8')) as T;
    return r.key === key ? r : undefined;
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// Fits

interface PowerLaw {
  /** t = a · N^p */
  a: number;
  p: number;
  /** r² of the log–log fit. */
  r2: number;
  sizes: number[];
}

function powerLaw(ns: number[], ts: number[]): PowerLaw | undefined {
  if (ns.length < 2) return undefined;
  return { ...powerLawFit(ns, ts), sizes: ns };
}

/** N where a_q N^p_q = a_m N^p_m (undefined when the exponents are equal). */
function crossover(qe: PowerLaw, mala: PowerLaw): number | undefined {
  if (Math.abs(qe.p - mala.p) < 1e-9) return undefined;
  return Math.exp(Math.log(mala.a / qe.a) / (qe.p - mala.p));
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  if (argv.includes('--predict-one')) return predictChild();
  const sizes = arg('sizes', '4,8,16,32').split(',').filter(Boolean).map(Number);
  const qeMax = Number(arg('qe-max', '32'));
  const seed = Number(arg('seed', '2024'));
  const amplitude = Number(arg('amplitude', '0.15'));
  const structures = arg('structures', 'md');
  if (structures !== 'md' && structures !== 'rattle') throw new Error(`--structures ${structures}: use md or rattle`);
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'mala-ts-crossover-'));
  const modelFile = path.resolve(arg('model', path.join(repoRoot, 'models', 'al-fcc-298K', 'model.zip')));
  const cacheRoot = path.resolve(arg('cache', path.join(repoRoot, '.cache', 'qe-crossover')));
  const forceQe = flag('force') || flag('force-qe');
  const forcePredict = flag('force') || flag('force-predict');
  const modelHash = crypto.createHash('sha256').update(fs.readFileSync(modelFile)).digest('hex').slice(0, 16);
  const pwVersion = 'pw.x 6.7 (Debian)';
  const t0 = Date.now();

  interface Row {
    atoms: number;
    repetition: number[];
    kpoints: number[];
    nbnd: number;
    qe?: QeResult;
    qeCached?: boolean;
    predict: PredictRunResult;
    predictCached: boolean;
  }
  const rows: Row[] = [];
  for (const n of sizes) {
    const inp = pwInput(n, seed, amplitude, structures, scratch);
    let qe: QeResult | undefined;
    let qeCached: boolean | undefined;
    if (n <= qeMax) {
      const key = hashKey('qe-crossover-qe-v1', inp.text, pwVersion);
      const dir = path.join(cacheRoot, `al${n}-qe-${key}`);
      qe = cached<QeResult>(dir, key, forceQe);
      qeCached = qe !== undefined;
      if (qe) {
        const prob = qeOutputProblem('pw.x', fs.existsSync(path.join(dir, 'pw.scf.out')) ? fs.readFileSync(path.join(dir, 'pw.scf.out'), 'utf8') : '');
        if (prob) qe = undefined;
      }
      if (!qe) qe = await runQeSize(inp, dir, key);
    }
    const pkey = hashKey('qe-crossover-predict-v1', inp.text, modelHash);
    const pdir = path.join(cacheRoot, `al${n}-predict-${pkey}`);
    let pr = cached<PredictRunResult>(pdir, pkey, forcePredict);
    const predictCached = pr !== undefined;
    if (!pr) pr = await runPredictSize(inp, pdir, pkey, modelFile);
    const row: Row = { atoms: n, repetition: inp.repetition, kpoints: inp.kpoints, nbnd: inp.nbnd, qe, qeCached, predict: pr, predictCached };
    rows.push(row);
    const dE = qe && pr.totalEnergyEv !== undefined ? (1000 * (pr.totalEnergyEv - qe.totalEnergyEv)) / n : NaN;
    console.error(`  [${n} atoms] ${qe ? `QE ${qe.wallS.toFixed(1)} s wall / ${qe.pwscfCpuS.toFixed(1)} s CPU${qeCached ? ' (cached)' : ''}, ` : ''}predict ${pr.wallS.toFixed(1)} s wall / ${pr.cpuS.toFixed(1)} s CPU${predictCached ? ' (cached)' : ''}${qe ? `, ΔE ${dE.toFixed(2)} meV/atom` : ''}`);
  }

  const f1 = (x: number | undefined, d = 1): string => (x === undefined || !Number.isFinite(x) ? '–' : x.toFixed(d));
  console.log(`\nfcc Al, a = ${LATTICE_A} Å, ${structures === 'md' ? 'EAM MD frames at 298 K' : `rattle ±${amplitude} Å`} (seed ${seed}); QE: serial pw.x, training-data settings (energies only); predict: serial, ${path.relative(repoRoot, modelFile)}`);
  console.log(`times in s; wall = whole process; CPU = user + system (pw.x: its PWSCF line; predict: process.cpuUsage()); (in predict()) = wall inside the predict function, without node/tsx start and module loading; ratio = QE / predict; load = mean 1-min load average during the QE / predict run, others = cores kept busy by other jobs\n`);
  console.log('| atoms | cells | k-mesh | nbnd | grid | QE wall | QE CPU | predict wall | predict CPU | (in predict()) | ratio wall | ratio CPU | E_pred − E_QE (meV/atom) | load QE / predict | others (cores) QE / predict |');
  console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const r of rows) {
    const q = r.qe;
    const p = r.predict;
    const dE = q && p.totalEnergyEv !== undefined ? (1000 * (p.totalEnergyEv - q.totalEnergyEv)) / r.atoms : undefined;
    console.log(
      `| ${r.atoms} | ${r.repetition.join('×')} | ${r.kpoints.join('×')} | ${r.nbnd} | ${p.grid.join('×')} | ${f1(q?.wallS)} | ${f1(q?.pwscfCpuS)} | ${f1(p.wallS)} | ${f1(p.cpuS)} | ${f1(p.timingsS.total_s)} | ${q ? f1(q.wallS / p.wallS, 2) : '–'} | ${q ? f1(q.pwscfCpuS / p.cpuS, 2) : '–'} | ${f1(dE, 2)} | ${q ? f1(q.load.loadavg1Mean, 1) : '–'} / ${f1(p.load.loadavg1Mean, 1)} | ${q ? f1(q.load.otherJobsCores, 2) : '–'} / ${f1(p.load.otherJobsCores, 2)} |`,
    );
  }
  const withQe = rows.filter((r) => r.qe);
  const fits = {
    qeWall: powerLaw(withQe.map((r) => r.atoms), withQe.map((r) => r.qe!.wallS)),
    qeCpu: powerLaw(withQe.map((r) => r.atoms), withQe.map((r) => r.qe!.pwscfCpuS)),
    predictWall: powerLaw(rows.map((r) => r.atoms), rows.map((r) => r.predict.wallS)),
    predictCpu: powerLaw(rows.map((r) => r.atoms), rows.map((r) => r.predict.cpuS)),
  };
  const showFit = (name: string, f?: PowerLaw) => console.log(`  ${name.padEnd(13)} ${f ? `t = ${f.a.toExponential(3)} s · N^${f.p.toFixed(2)}   (r² ${f.r2.toFixed(4)}, N = ${f.sizes.join(', ')})` : 'not enough sizes'}`);
  console.log('\npower laws t = a·N^p (least squares in log–log):');
  showFit('QE wall', fits.qeWall);
  showFit('QE CPU', fits.qeCpu);
  showFit('predict wall', fits.predictWall);
  showFit('predict CPU', fits.predictCpu);
  const cross = {
    wall: fits.qeWall && fits.predictWall ? crossover(fits.qeWall, fits.predictWall) : undefined,
    cpu: fits.qeCpu && fits.predictCpu ? crossover(fits.qeCpu, fits.predictCpu) : undefined,
  };
  const showCross = (name: string, n?: number) => {
    if (n === undefined) return console.log(`  ${name}: –`);
    const lo = Math.min(...withQe.map((r) => r.atoms));
    const note = n < lo ? ` (below the smallest measured size, ${lo}: an extrapolation of both fits; predict already wins at every measured size)` : '';
    console.log(`  ${name}: the fits meet at N ≈ ${n.toFixed(1)} atoms${note}`);
  };
  console.log('\ncrossover (QE fit = predict fit):');
  showCross('wall', cross.wall);
  showCross('CPU ', cross.cpu);
  console.log('\nmeasured speed-up (QE / predict) per size:');
  for (const r of withQe) console.log(`  ${String(r.atoms).padStart(4)} atoms: ${(r.qe!.wallS / r.predict.wallS).toFixed(2)}× wall, ${(r.qe!.pwscfCpuS / r.predict.cpuS).toFixed(2)}× CPU`);
  const loadNow = fs.existsSync('/proc/loadavg') ? fs.readFileSync('/proc/loadavg', 'utf8').trim() : '';
  const out = {
    command: `npx tsx bench/qe-crossover.ts ${argv.join(' ')}`.trim(),
    description: 'serial pw.x (training-data settings of models/al-fcc-298K, energies only) vs serial mala-ts predict on fcc Al cells (EAM MD frames at 298 K, or rattled); times in s',
    machine: `${os.cpus().length} cores, ${os.cpus()[0]?.model ?? ''}`.trim(),
    model: path.relative(repoRoot, modelFile),
    modelSha256Prefix: modelHash,
    seed,
    structures,
    amplitudeAngstrom: structures === 'rattle' ? amplitude : undefined,
    qeMax,
    rows: rows.map((r) => ({
      ...r,
      energyDiffMeVPerAtom: r.qe && r.predict.totalEnergyEv !== undefined ? (1000 * (r.predict.totalEnergyEv - r.qe.totalEnergyEv)) / r.atoms : undefined,
      speedupWall: r.qe ? r.qe.wallS / r.predict.wallS : undefined,
      speedupCpu: r.qe ? r.qe.pwscfCpuS / r.predict.cpuS : undefined,
    })),
    fits,
    crossoverAtoms: cross,
    loadavgAtEnd: loadNow,
    benchWallS: (Date.now() - t0) / 1000,
    date: new Date().toISOString(),
  };
  const file = arg('out', '');
  if (file) {
    writeFileAtomic(path.resolve(file), `${JSON.stringify(out, null, 1)}\n`);
    console.log(`\n→ ${file}`);
  }
}

if (require.main === module) {
  main().catch((e) => {
    console.error(e?.describe ? e.describe() : e);
    process.exit(1);
  });
}
