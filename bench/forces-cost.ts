/**
 * What forces cost on top of the energy (issue 16: "one energy + forces evaluation takes at most
 * 3× an energy-only prediction of the same cell"), with the split of the backward pass (a benchmark,
 * not a test):
 *
 *   npx tsx bench/forces-cost.ts [--repeats 5] [--cases al32,be2] [--out forces-cost.json]
 *   npx tsx bench/forces-cost.ts --ensemble 3 [--repeats 3] [--cases al4] [--out ...]
 *
 * Cases: al32 = the 32-atom Al frame (fixtures/al-size-transfer/Al32_298K_0.pw.scf.in, 45³ grid)
 * with the shipped model (models/al-fcc-298K/model.zip, pseudopotentials from
 * /usr/share/espresso/pseudo); be2 = MALA's Be2 snapshot with MALA's Be model
 * (../shared/reference/be2, skipped when absent); al4, al8 = the 4- and 8-atom frames of
 * fixtures/al-forces (24³ and 30³ grids, its pseudopotential). `predict` in-process (the model loaded once,
 * default backend and descriptor engine), one warm-up pair, then --repeats pairs E, E+F
 * interleaved. Per case: median wall seconds of E and of E+F and their ratio (also each pair's),
 * the same for the process's CPU seconds (all threads: the ratio a machine without idle cores
 * would see), and the median stages of E+F:
 *   descr      descriptors (forward, kept for the backward pass when they fit the memory budget)
 *   net        network forward
 *   energy     energy terms with their gradient (∂E/∂n, Ewald and core forces), total_energy_s
 *   β          ∂E/∂LDOS: potential moments, the DOS adjoint and the per-point cotangent rows
 *   vjp        the network's VJP (the backend's predictVjp)
 *   adjoint    the descriptor kernel's adjoint Σ_g β_g·∂B_g/∂R (bindings/sna, threads:
 *              $MALA_TS_SNA_THREADS, default the cores per MPI rank)
 *   recompute  descriptors computed again in the backward pass (0 when kept)
 *   other      the rest of the wall time (setup, DOS, density, outputs)
 * Beside it, QE's SCF + forces time of the same cell from its output (fixtures/al-size-transfer/
 * pw.scf.out; Be_snapshot0.out): a different run, on another day and load, not interleaved.
 * Prints the machine's load before and after each case: the machine is shared, and wall ratios
 * move with it.
 *
 * --ensemble N (N ≥ 2; Al cases only): an ensemble's E+F against one member's, on the same cell.
 * The ensemble is the first N members of models/al-fcc-298K-ensemble/model.zip, the single
 * network its member 1 (the shipped model). After one warm-up of each, --repeats triples
 * interleaved: member 1 E+F, ensemble E, ensemble E+F; medians of wall and CPU seconds, the
 * ratios ensemble E+F / member E+F and ensemble E+F / ensemble E, and the E+F splits of both
 * (vjp is then N network VJPs; `ensemble` the members' own observables for σ).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { writeFileAtomic } from '../src/io/atomic-write';
import { ensembleMembers, LdosModel, loadModel } from '../src/network/model';
import { pwscfTimesS } from '../src/structure/qe-output';
import { readStructure } from '../src/structure/registry';
import { predict } from '../src/workflow/predict';
import { arg, helpIfAsked } from './help';
import { median } from './stats';

helpIfAsked(__filename);

const root = path.join(__dirname, '..');
const be2 = path.resolve(root, '..', 'shared', 'reference', 'be2');
interface Case {
  name: string;
  file: string;
  model: string;
  pseudoDir: string;
  /** QE's own SCF + forces run of the same cell (pw.x, tprnfor): its PWSCF WALL/CPU line. */
  qeOutput: string;
}
const CASES: Case[] = [
  { name: 'al32', file: path.join(root, 'fixtures/al-size-transfer/Al32_298K_0.pw.scf.in'), model: path.join(root, 'models/al-fcc-298K/model.zip'), pseudoDir: '/usr/share/espresso/pseudo', qeOutput: path.join(root, 'fixtures/al-size-transfer/pw.scf.out') },
  { name: 'be2', file: path.join(be2, 'Be_snapshot0.out'), model: path.join(be2, 'Be_model.zip'), pseudoDir: be2, qeOutput: path.join(be2, 'Be_snapshot0.out') },
  { name: 'al4', file: path.join(root, 'fixtures/al-forces/Al4_298K_6.pw.scf.in'), model: path.join(root, 'models/al-fcc-298K/model.zip'), pseudoDir: path.join(root, 'fixtures/al-fcc-qe'), qeOutput: path.join(root, 'fixtures/al-forces/Al4_298K_6.pw.scf.out') },
  { name: 'al8', file: path.join(root, 'fixtures/al-forces/Al8F_298K_0.pw.scf.in'), model: path.join(root, 'models/al-fcc-298K/model.zip'), pseudoDir: path.join(root, 'fixtures/al-fcc-qe'), qeOutput: path.join(root, 'fixtures/al-forces/Al8F_298K_0.pw.scf.out') },
];
const ENSEMBLE_MODEL = path.join(root, 'models/al-fcc-298K-ensemble/model.zip');

/** The first `count` members of the shipped Al ensemble as one model (1: member 1 alone, a single network). */
function shippedEnsembleOf(count: number): LdosModel {
  const { data } = loadModel(ENSEMBLE_MODEL);
  const members = ensembleMembers(data).slice(0, count);
  return new LdosModel({ ...data, weights: members[0].weights, ensemble: count > 1 ? members : undefined }, count > 1 ? `${ENSEMBLE_MODEL} (members 1–${count})` : `${ENSEMBLE_MODEL} (member 1)`);
}

/** The E+F split (seconds) from predict's timings and the wall time. */
export function forcesSplit(t: Record<string, number>, wallS: number): Record<string, number> {
  const g = (k: string) => t[k] ?? 0;
  const beta = g('forces_s') - g('forces_descriptors_s') - g('forces_network_s') + g('forces_cotangent_s');
  const split: Record<string, number> = {
    descr: g('descriptors_s'),
    net: g('network_s'),
    energy: g('total_energy_s'),
    β: beta,
    vjp: g('forces_vjp_s'),
    adjoint: g('forces_adjoint_s'),
    recompute: g('forces_recompute_s'),
  };
  split.other = wallS - Object.values(split).reduce((s, x) => s + x, 0);
  return split;
}

/** QE's SCF + forces time from its output (undefined without forces or a time line). */
function qeRun(file: string): { wallS: number; cpuS: number; mpiProcesses: number } | undefined {
  if (!fs.existsSync(file)) return undefined;
  const text = fs.readFileSync(file, 'utf8');
  const t = pwscfTimesS(text);
  if (!t || !/Forces acting on atoms/.test(text)) return undefined;
  return { ...t, mpiProcesses: Number(/running on\s+(\d+)\s+processors/.exec(text)?.[1] ?? 1) };
}

const loadavg = () => os.loadavg().map((x) => +x.toFixed(2));

/** One in-process predict of `file` (E, or E+F), its wall and CPU seconds and stage timings. */
async function timedPredict(c: Case, model: LdosModel, read: ReturnType<typeof readStructure>, forces: boolean) {
  const w0 = performance.now();
  const c0 = process.cpuUsage();
  const r = await predict({ structureRead: read, structureFile: c.file, model, pseudoDir: c.pseudoDir, requireTotalEnergy: true, forces });
  const cpu = process.cpuUsage(c0);
  return { wallS: (performance.now() - w0) / 1000, cpuS: (cpu.user + cpu.system) / 1e6, t: r.timingsS, grid: r.gridShape, atoms: r.atomCount };
}
type Timed = Awaited<ReturnType<typeof timedPredict>>;

/** --ensemble N: an N-member ensemble's E+F against member 1's E+F (and the ensemble's E), interleaved. */
async function ensembleCost(c: Case, size: number, repeats: number): Promise<Record<string, unknown>> {
  if (!Number.isInteger(size) || size < 2) throw new Error(`--ensemble ${size}: give 2 or more members`);
  if (!c.name.startsWith('al')) throw new Error(`--ensemble: case ${c.name} has no ensemble model (the Al cases use ${path.relative(root, ENSEMBLE_MODEL)})`);
  const single = shippedEnsembleOf(1);
  const ensemble = shippedEnsembleOf(size);
  if (ensemble.ensembleSize !== size) throw new Error(`--ensemble ${size}: ${path.relative(root, ENSEMBLE_MODEL)} has ${ensembleMembers(loadModel(ENSEMBLE_MODEL).data).length} members`);
  const read = readStructure(c.file);
  const load0 = loadavg();
  await timedPredict(c, single, read, true);
  await timedPredict(c, ensemble, read, true);
  const one: Timed[] = [];
  const ensE: Timed[] = [];
  const ensEF: Timed[] = [];
  for (let i = 0; i < repeats; i++) {
    one.push(await timedPredict(c, single, read, true));
    ensE.push(await timedPredict(c, ensemble, read, false));
    ensEF.push(await timedPredict(c, ensemble, read, true));
  }
  const med = (xs: Timed[], k: 'wallS' | 'cpuS') => median(xs.map((x) => x[k]));
  const splitOf = (xs: Timed[]) => {
    // `ensemble` (the members' own observables) is taken out of `other`
    const splits = xs.map((x) => {
      const split = forcesSplit(x.t, x.wallS);
      const ensembleS = x.t.ensemble_s ?? 0;
      return { ...split, other: split.other - ensembleS, ensemble: ensembleS };
    });
    return Object.fromEntries(Object.keys(splits[0]).map((k) => [k, median(splits.map((s) => s[k as keyof typeof s]))]));
  };
  const row = {
    case: c.name,
    structure: path.relative(root, c.file),
    ensemble: `${path.relative(root, ENSEMBLE_MODEL)}, members 1–${size}`,
    backend: ensemble.backendName(),
    atoms: one[0].atoms,
    grid: one[0].grid,
    memberEnergyForcesWallS: med(one, 'wallS'),
    ensembleEnergyWallS: med(ensE, 'wallS'),
    ensembleEnergyForcesWallS: med(ensEF, 'wallS'),
    ensembleOverMemberWallRatio: med(ensEF, 'wallS') / med(one, 'wallS'),
    tripleWallRatios: ensEF.map((x, i) => x.wallS / one[i].wallS),
    ensembleForcesOverEnergyWallRatio: med(ensEF, 'wallS') / med(ensE, 'wallS'),
    memberEnergyForcesCpuS: med(one, 'cpuS'),
    ensembleEnergyForcesCpuS: med(ensEF, 'cpuS'),
    ensembleOverMemberCpuRatio: med(ensEF, 'cpuS') / med(one, 'cpuS'),
    memberSplitS: splitOf(one),
    ensembleSplitS: splitOf(ensEF),
    load: [load0, loadavg()],
  };
  const f2 = (x: number) => x.toFixed(2);
  const splitText = (s: Record<string, number>) => Object.entries(s).map(([k, v]) => `${k} ${f2(v)}`).join(', ');
  console.log(`\n${c.name}: ${row.atoms} atoms, grid ${row.grid.join('×')}, ${row.ensemble} (backend ${row.backend}); load ${load0.join(' ')} → ${row.load[1].join(' ')}`);
  console.log(`  wall: member 1 E+F ${f2(row.memberEnergyForcesWallS)} s; ensemble of ${size}: E ${f2(row.ensembleEnergyWallS)} s, E+F ${f2(row.ensembleEnergyForcesWallS)} s`);
  console.log(`  ensemble E+F / member E+F ${f2(row.ensembleOverMemberWallRatio)} (triples ${row.tripleWallRatios.map(f2).join(' ')}); ensemble E+F / E ${f2(row.ensembleForcesOverEnergyWallRatio)}`);
  console.log(`  CPU:  member 1 E+F ${f2(row.memberEnergyForcesCpuS)} s, ensemble E+F ${f2(row.ensembleEnergyForcesCpuS)} s, ratio ${f2(row.ensembleOverMemberCpuRatio)}`);
  console.log(`  member 1 E+F split (s): ${splitText(row.memberSplitS)}`);
  console.log(`  ensemble E+F split (s): ${splitText(row.ensembleSplitS)}`);
  return row;
}

/** E against E+F of one model on case `c`: --repeats interleaved pairs after a warm-up pair (undefined: its files are absent). */
async function forcesCost(c: Case, repeats: number): Promise<Record<string, unknown> | undefined> {
  if (!fs.existsSync(c.file) || !fs.existsSync(c.model)) {
    console.log(`${c.name}: skipped (${c.file} or ${c.model} absent)`);
    return undefined;
  }
  const model: LdosModel = loadModel(c.model);
  const read = readStructure(c.file);
  const run = (forces: boolean) => timedPredict(c, model, read, forces);
  const load0 = loadavg();
  await run(false);
  await run(true);
  const e: Awaited<ReturnType<typeof run>>[] = [];
  const ef: typeof e = [];
  for (let i = 0; i < repeats; i++) {
    e.push(await run(false));
    ef.push(await run(true));
  }
  const med = (xs: typeof e, k: 'wallS' | 'cpuS') => median(xs.map((x) => x[k]));
  const splits = ef.map((x) => forcesSplit(x.t, x.wallS));
  const split = Object.fromEntries(Object.keys(splits[0]).map((k) => [k, median(splits.map((s) => s[k]))]));
  const row = {
    case: c.name,
    structure: path.relative(root, c.file),
    model: path.relative(root, c.model),
    backend: model.backendName(),
    atoms: e[0].atoms,
    grid: e[0].grid,
    energyWallS: med(e, 'wallS'),
    energyForcesWallS: med(ef, 'wallS'),
    wallRatio: med(ef, 'wallS') / med(e, 'wallS'),
    pairWallRatios: ef.map((x, i) => x.wallS / e[i].wallS),
    energyCpuS: med(e, 'cpuS'),
    energyForcesCpuS: med(ef, 'cpuS'),
    cpuRatio: med(ef, 'cpuS') / med(e, 'cpuS'),
    energyForcesSplitS: split,
    energyStagesS: { descr: median(e.map((x) => x.t.descriptors_s ?? 0)), net: median(e.map((x) => x.t.network_s ?? 0)), energy: median(e.map((x) => x.t.total_energy_s ?? 0)) },
    load: [load0, loadavg()],
    qe: qeRun(c.qeOutput),
  };
  const f2 = (x: number) => x.toFixed(2);
  console.log(`\n${c.name}: ${row.atoms} atoms, grid ${row.grid.join('×')}, ${row.model} (backend ${row.backend}); load ${load0.join(' ')} → ${row.load[1].join(' ')}`);
  console.log(`  wall: E ${f2(row.energyWallS)} s, E+F ${f2(row.energyForcesWallS)} s, ratio ${f2(row.wallRatio)} (pairs ${row.pairWallRatios.map(f2).join(' ')})`);
  console.log(`  CPU:  E ${f2(row.energyCpuS)} s, E+F ${f2(row.energyForcesCpuS)} s, ratio ${f2(row.cpuRatio)}`);
  if (row.qe) console.log(`  QE SCF + forces (${path.relative(root, c.qeOutput)}, a different run, ${row.qe.mpiProcesses} MPI process(es)): ${row.qe.wallS.toFixed(1)} s wall, ${row.qe.cpuS.toFixed(1)} s CPU`);
  console.log(`  E stages: descr ${f2(row.energyStagesS.descr)}, net ${f2(row.energyStagesS.net)}, energy ${f2(row.energyStagesS.energy)}`);
  console.log(`  E+F split (s): ${Object.entries(split).map(([k, v]) => `${k} ${f2(v)}`).join(', ')}`);
  return row;
}

async function main(): Promise<void> {
  const ensembleSize = process.argv.includes('--ensemble') ? Number(arg('ensemble')) : undefined;
  const repeats = Number(arg('repeats', ensembleSize ? '3' : '5'));
  const wanted = arg('cases', ensembleSize ? 'al4' : 'al32,be2').split(',');
  const outFile = arg('out', '');
  const results: Record<string, unknown>[] = [];
  if (ensembleSize !== undefined) {
    console.log(`${os.cpus().length} cores, ${os.cpus()[0]?.model}; MALA_TS_SNA_THREADS=${process.env.MALA_TS_SNA_THREADS ?? '(default)'}; ${repeats} triples (member 1 E+F, ensemble E, ensemble E+F) after one warm-up each`);
    for (const c of CASES.filter((x) => wanted.includes(x.name))) results.push(await ensembleCost(c, ensembleSize, repeats));
  } else {
    console.log(`${os.cpus().length} cores, ${os.cpus()[0]?.model}; MALA_TS_SNA_THREADS=${process.env.MALA_TS_SNA_THREADS ?? '(default)'}; ${repeats} pairs E, E+F interleaved after one warm-up pair`);
    for (const c of CASES.filter((x) => wanted.includes(x.name))) {
      const row = await forcesCost(c, repeats);
      if (row) results.push(row);
    }
  }
  if (outFile) {
    writeFileAtomic(path.resolve(outFile), `${JSON.stringify({ command: `npx tsx bench/forces-cost.ts ${process.argv.slice(2).join(' ')}`.trim(), date: new Date().toISOString(), machine: { cores: os.cpus().length, cpu: os.cpus()[0]?.model }, snaThreads: process.env.MALA_TS_SNA_THREADS ?? 'default', results }, null, 1)}\n`);
    console.log(`\n→ ${outFile}`);
  }
}

if (require.main === module) {
  main().catch((e) => {
    console.error(e?.describe ? e.describe() : e);
    process.exit(1);
  });
}
