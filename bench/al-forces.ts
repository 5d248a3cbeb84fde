/**
 * Forces of the shipped aluminium model against QE, what they cost, and (with --fd) whether they
 * are the derivative of the printed energy (issue 16; a benchmark, not a test):
 *
 *   nice npx tsx bench/al-forces.ts [--model models/al-fcc-298K/model.zip]
 *       [--pseudo-dir /usr/share/espresso/pseudo] [--repeats 3] [--cost-frames Al4_298K_6,Al8F_298K_0,Al32_298K_0]
 *       [--fd] [--fd-frames Al4_298K_6,Al8F_298K_1] [--fd-atoms 0,1] [--fd-h 1e-4] [--out al-forces.json]
 *
 * 1. Accuracy: `predict` with forces (src/workflow/predict.ts, in-process, the model loaded once) on
 *    each pw.x input of fixtures/al-forces (Al4_298K_6, _7: the model's held-out 4-atom frames;
 *    Al8F_298K_0, _1: 8-atom frames of an MD seed the model never saw; made by
 *    `make al-forces-reference`, mk/al-forces.mk) and of the 32-atom frame of fixtures/al-size-transfer,
 *    against the last "Forces acting on atoms" block of QE's output (pw.x 6.7, tprnfor; Ry/Bohr →
 *    eV/Å with src/structure/units.ts). Per frame: force RMSE over the 3N components, the largest
 *    |ΔF| component, QE's own rms force component (the scale of the forces), the cosine and angle
 *    between the 3N-vectors (and the mean per-atom angle), the total-energy error per atom against
 *    QE's "!" energy, and the domain score (result.domain).
 * 2. Cost: energy-only and energy+forces predictions of the same cell, interleaved (E, E+F, E,
 *    E+F, …, --repeats pairs, after the accuracy run as warm-up), medians of the wall times and of
 *    the stage timings. Beside it QE's SCF+forces wall time from its output's "PWSCF : … WALL" line:
 *    a different run on another day and load, not interleaved.
 * 3. --fd: central finite differences (step --fd-h Å) of the printed total energy against the
 *    forces, both in the float64 checking path (`float64Check`, a model loaded with backend 'ts'),
 *    for each component of the --fd-atoms of each of the --fd-frames.
 *
 * Prints the tables; --out also writes them as JSON (with the machine, the load and the date).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { MalaError } from '../src/errors';
import { writeFileAtomic } from '../src/io/atomic-write';
import { loadModel, LdosModel } from '../src/network/model';
import { parseQeOutput, pwscfTimesS, qeForcesRyPerBohr, qeTotalForceRyPerBohr } from '../src/structure/qe-output';

export { qeForcesRyPerBohr, qeTotalForceRyPerBohr };
import { readStructure, StructureRead } from '../src/structure/registry';
import { bohrAngstrom, rydbergEv } from '../src/structure/units';
import type { Vec3 } from '../src/structure/atoms';
import { predict, type PredictResult } from '../src/workflow/predict';
import { helpIfAsked } from './help';
import { median } from './stats';

helpIfAsked(__filename);

// ---------------------------------------------------------------- pure helpers (tested)

/** 1 Ry/Bohr in eV/Å. */
export const ryPerBohrInEvPerA = rydbergEv / bohrAngstrom;

/** MPI processes of a pw.x run ("running on N processors"), 1 if serial. */
export function qeMpiProcesses(text: string): number {
  const m = /running on\s+(\d+)\s+processors/.exec(text);
  return m ? Number(m[1]) : 1;
}

export interface ForceErrors {
  /** √(mean over the 3N components of (F_pred − F_QE)²), eV/Å. */
  rmseEvPerA: number;
  /** Largest |F_pred − F_QE| over the 3N components, eV/Å. */
  maxAbsErrorEvPerA: number;
  /** √(mean over the 3N components of F²): the scale of each side's forces, eV/Å. */
  qeRmsEvPerA: number;
  predictedRmsEvPerA: number;
  /** Cosine and angle (degrees) between the two 3N-vectors. */
  cosine: number;
  angleDeg: number;
  /** Mean over atoms of the angle between the two force vectors of an atom, degrees. */
  meanAtomAngleDeg: number;
}

const dot = (a: readonly number[], b: readonly number[]) => a.reduce((s, x, i) => s + x * b[i], 0);
const angleDeg = (cos: number) => (Math.acos(Math.max(-1, Math.min(1, cos))) * 180) / Math.PI;

/** Errors of predicted forces against reference forces (same units, same atom order). */
export function forceErrors(predicted: readonly (readonly number[])[], reference: readonly (readonly number[])[]): ForceErrors {
  if (predicted.length !== reference.length) throw new Error(`forces of ${predicted.length} atoms against ${reference.length}`);
  const p = predicted.flat();
  const r = reference.flat();
  const n = p.length;
  const d = p.map((x, i) => x - r[i]);
  const cosine = dot(p, r) / Math.sqrt(dot(p, p) * dot(r, r));
  const atomAngles = predicted.map((f, a) => angleDeg(dot(f, reference[a]) / Math.sqrt(dot(f, f) * dot(reference[a], reference[a]))));
  return {
    rmseEvPerA: Math.sqrt(dot(d, d) / n),
    maxAbsErrorEvPerA: Math.max(...d.map(Math.abs)),
    qeRmsEvPerA: Math.sqrt(dot(r, r) / n),
    predictedRmsEvPerA: Math.sqrt(dot(p, p) / n),
    cosine,
    angleDeg: angleDeg(cosine),
    meanAtomAngleDeg: atomAngles.reduce((s, x) => s + x, 0) / atomAngles.length,
  };
}

// ---------------------------------------------------------------- the run

interface Frame {
  name: string;
  input: string;
  output: string;
}

const FRAMES: Frame[] = [
  ...['Al4_298K_6', 'Al4_298K_7', 'Al8F_298K_0', 'Al8F_298K_1'].map((name) => ({
    name,
    input: `fixtures/al-forces/${name}.pw.scf.in`,
    output: `fixtures/al-forces/${name}.pw.scf.out`,
  })),
  { name: 'Al32_298K_0', input: 'fixtures/al-size-transfer/Al32_298K_0.pw.scf.in', output: 'fixtures/al-size-transfer/pw.scf.out' },
];

const STAGES = ['descriptors_s', 'network_s', 'dos_s', 'density_s', 'total_energy_s', 'forces_descriptors_s', 'forces_network_s', 'forces_s', 'total_s'];

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : def;
}

const loadavg = () => os.loadavg().map((x) => +x.toFixed(2));
const f = (x: number, d = 3, w = 8) => x.toFixed(d).padStart(w);

async function timed(run: () => Promise<PredictResult>): Promise<{ r: PredictResult; wallS: number }> {
  const t0 = performance.now();
  const r = await run();
  return { r, wallS: (performance.now() - t0) / 1000 };
}

async function main(): Promise<void> {
  const root = path.join(__dirname, '..');
  const modelFile = path.resolve(arg('model', path.join(root, 'models/al-fcc-298K/model.zip')));
  const pseudoDir = arg('pseudo-dir', '/usr/share/espresso/pseudo');
  const repeats = Number(arg('repeats', '3'));
  const costFrames = arg('cost-frames', 'Al4_298K_6,Al8F_298K_0,Al32_298K_0').split(',');
  const outFile = arg('out', '');
  const started = new Date().toISOString();
  const loadAtStart = loadavg();
  const model = loadModel(modelFile);
  const reads = new Map<string, StructureRead>(FRAMES.map((fr) => [fr.name, readStructure(path.join(root, fr.input))]));
  const run = (fr: Frame, forces: boolean, m: LdosModel = model, extra: { read?: StructureRead; float64Check?: boolean } = {}) =>
    predict({ structureRead: extra.read ?? reads.get(fr.name)!, structureFile: path.join(root, fr.input), model: m, pseudoDir, requireTotalEnergy: true, forces, float64Check: extra.float64Check });

  // 1. accuracy
  console.log(`model ${path.relative(process.cwd(), modelFile)} (backend ${model.backendName()}); ${os.cpus().length} cores, ${os.cpus()[0]?.model}; load ${loadAtStart.join(' ')}`);
  console.log('\n1. forces vs QE (pw.x 6.7, tprnfor), eV/Å; energy error vs QE\'s "!" energy');
  console.log('  frame         atoms  grid        RMSE    max|ΔF|  QE rms  pred rms   cos   angle°  atom∠°  ΔE meV/at  domain score');
  const accuracy: Record<string, unknown>[] = [];
  for (const fr of FRAMES) {
    const text = fs.readFileSync(path.join(root, fr.output), 'utf8');
    const qe = parseQeOutput(text, fr.output);
    const qeForces = qeForcesRyPerBohr(text, fr.output).map((r) => r.map((x) => x * ryPerBohrInEvPerA));
    const { r, wallS } = await timed(() => run(fr, true));
    const e = forceErrors(r.forcesEvPerA!, qeForces);
    const nat = r.atomCount;
    const qeEnergyEv = qe.energiesRy.total! * rydbergEv;
    const energyErrorMeVPerAtom = ((r.totalEnergy!.totalEnergyEv - qeEnergyEv) / nat) * 1000;
    const domain = r.domain ? { score: r.domain.score, scoreLimit: r.domain.scoreLimit, inDomain: r.domain.inDomain, pointsOutsideFraction: r.domain.pointsOutsideFraction, findings: r.domain.findings.map((x) => x.message) } : undefined;
    accuracy.push({ frame: fr.name, input: fr.input, reference: fr.output, atoms: nat, grid: r.gridShape, ...e, energyErrorMeVPerAtom, predictedEnergyEv: r.totalEnergy!.totalEnergyEv, qeEnergyEv, domain, predictWallS: wallS, forcesEvPerA: r.forcesEvPerA, qeForcesEvPerA: qeForces });
    const dom = domain?.score !== undefined ? `${domain.score.toFixed(2)}${domain.inDomain ? '' : ' (out)'}` : '—';
    console.log(`  ${fr.name.padEnd(12)} ${String(nat).padStart(5)}  ${r.gridShape.join('×').padEnd(9)} ${f(e.rmseEvPerA)} ${f(e.maxAbsErrorEvPerA)} ${f(e.qeRmsEvPerA)} ${f(e.predictedRmsEvPerA)} ${f(e.cosine, 3, 6)} ${f(e.angleDeg, 1, 7)} ${f(e.meanAtomAngleDeg, 1, 7)} ${f(energyErrorMeVPerAtom, 2, 10)}  ${dom}`);
  }

  // 2. cost, interleaved
  console.log(`\n2. cost: energy-only (E) vs energy+forces (E+F), interleaved, median of ${repeats} pairs, wall s; QE: its own SCF+forces run (not interleaved)`);
  console.log('  frame         atoms     E       E+F    ratio   | QE SCF+forces WALL (MPI procs) | E+F stages: descr  network  F-descr  F-network  tot.energy  forces');
  const cost: Record<string, unknown>[] = [];
  for (const name of costFrames) {
    const fr = FRAMES.find((x) => x.name === name);
    if (!fr) throw new Error(`--cost-frames: no frame ${name} (known: ${FRAMES.map((x) => x.name).join(', ')})`);
    const e: { wallS: number; t: Record<string, number> }[] = [];
    const ef: { wallS: number; t: Record<string, number> }[] = [];
    for (let i = 0; i < repeats; i++) {
      const a = await timed(() => run(fr, false));
      e.push({ wallS: a.wallS, t: a.r.timingsS });
      const b = await timed(() => run(fr, true));
      ef.push({ wallS: b.wallS, t: b.r.timingsS });
    }
    const stages = (xs: typeof e) => Object.fromEntries(STAGES.filter((s) => xs.some((x) => x.t[s] !== undefined)).map((s) => [s, median(xs.map((x) => x.t[s] ?? 0))]));
    const text = fs.readFileSync(path.join(root, fr.output), 'utf8');
    const qeTimes = pwscfTimesS(text);
    const row = {
      frame: fr.name,
      atoms: reads.get(fr.name)!.atoms.symbols.length,
      energyWallS: median(e.map((x) => x.wallS)),
      energyForcesWallS: median(ef.map((x) => x.wallS)),
      ratio: median(ef.map((x) => x.wallS)) / median(e.map((x) => x.wallS)),
      pairRatios: ef.map((x, i) => x.wallS / e[i].wallS),
      energyStagesS: stages(e),
      energyForcesStagesS: stages(ef),
      qe: { scfForcesWallS: qeTimes?.wallS, scfForcesCpuS: qeTimes?.cpuS, mpiProcesses: qeMpiProcesses(text), note: 'a different run (pw.x 6.7, its own clock, other day and load), not interleaved' },
      load: loadavg(),
    };
    cost.push(row);
    const s = row.energyForcesStagesS as Record<string, number>;
    const g = (k: string) => f(s[k] ?? 0, 2, 7);
    console.log(`  ${fr.name.padEnd(12)} ${String(row.atoms).padStart(5)} ${f(row.energyWallS, 2)} ${f(row.energyForcesWallS, 2)} ${f(row.ratio, 2, 7)}×  | ${f(qeTimes?.wallS ?? NaN, 1, 10)} s (${row.qe.mpiProcesses})${' '.repeat(14)} |      ${g('descriptors_s')}  ${g('network_s')}  ${g('forces_descriptors_s')}  ${g('forces_network_s')}    ${g('total_energy_s')}   ${g('forces_s')}`);
    const se = row.energyStagesS as Record<string, number>;
    console.log(`${' '.repeat(14)}E-only stages: descr ${f(se.descriptors_s ?? 0, 2, 5)}  network ${f(se.network_s ?? 0, 2, 5)}  tot.energy ${f(se.total_energy_s ?? 0, 2, 5)}; pair ratios ${row.pairRatios.map((x) => x.toFixed(2)).join(' ')}; load ${row.load.join(' ')}`);
  }

  // 3. finite differences in the float64 checking path
  let fd: Record<string, unknown>[] | undefined;
  if (process.argv.includes('--fd')) {
    const atomsChecked = arg('fd-atoms', '0,1').split(',').map(Number);
    const h = Number(arg('fd-h', '1e-4'));
    const m64 = loadModel(modelFile, { backend: 'ts' });
    fd = [];
    for (const name of arg('fd-frames', 'Al4_298K_6,Al8F_298K_1').split(',')) {
      const fr = FRAMES.find((x) => x.name === name);
      if (!fr) throw new Error(`--fd-frames: no frame ${name}`);
      const read = reads.get(fr.name)!;
      const analytic = (await run(fr, true, m64, { float64Check: true })).forcesEvPerA!;
      const production = accuracy.find((a) => a.frame === fr.name)?.forcesEvPerA as number[][] | undefined;
      console.log(`\n3. finite differences, float64 checking path (backend ts), ${fr.name}, h = ${h} Å: F_fd = −(E(+h) − E(−h))/2h, eV/Å`);
      console.log('  atom  axis   F (float64)      F_fd          |diff|     F (float32 production)');
      const rows: Record<string, unknown>[] = [];
      for (const a of atomsChecked) {
        for (let k = 0; k < 3; k++) {
          const energyAt = async (step: number) => {
            const positionsAngstrom = read.atoms.positionsAngstrom.map((p, i) => (i === a ? (p.map((x, j) => (j === k ? x + step : x)) as Vec3) : p));
            const r = await run(fr, false, m64, { read: { ...read, atoms: { ...read.atoms, positionsAngstrom } }, float64Check: true });
            return r.totalEnergy!.totalEnergyEv;
          };
          const fdEvPerA = -((await energyAt(h)) - (await energyAt(-h))) / (2 * h);
          const row = { atom: a, axis: 'xyz'[k], forceEvPerA: analytic[a][k], finiteDifferenceEvPerA: fdEvPerA, absDiffEvPerA: Math.abs(analytic[a][k] - fdEvPerA), productionForceEvPerA: production?.[a][k] };
          rows.push(row);
          console.log(`  ${String(a).padStart(4)}  ${row.axis.padStart(4)}  ${row.forceEvPerA.toFixed(7).padStart(12)}  ${fdEvPerA.toFixed(7).padStart(12)}  ${row.absDiffEvPerA.toExponential(2).padStart(10)}  ${(production?.[a][k] ?? NaN).toFixed(7).padStart(12)}`);
        }
      }
      const maxAbsDiffEvPerA = Math.max(...rows.map((r) => r.absDiffEvPerA as number));
      fd.push({ frame: fr.name, stepAngstrom: h, rows, maxAbsDiffEvPerA });
      console.log(`  largest |F − F_fd| ${maxAbsDiffEvPerA.toExponential(2)} eV/Å (goal ≤ 1e-3)`);
    }
  }

  if (outFile) {
    const out = {
      command: `npx tsx bench/al-forces.ts ${process.argv.slice(2).join(' ')}`.trim(),
      date: started,
      machine: { cores: os.cpus().length, cpu: os.cpus()[0]?.model, loadAtStart, loadAtEnd: loadavg() },
      model: path.relative(root, modelFile),
      backend: model.backendName(),
      forceUnits: 'eV/Å; RMSE and rms over the 3N Cartesian components',
      accuracy,
      cost,
      finiteDifferences: fd,
    };
    writeFileAtomic(path.resolve(outFile), `${JSON.stringify(out, null, 1)}\n`);
    console.log(`\n→ ${outFile}`);
  }
}

if (require.main === module) {
  main().catch((e) => {
    console.error(e?.describe ? e.describe() : e);
    process.exit(1);
  });
}
