/**
 * What the stress costs on top of the forces, and the shipped aluminium model's stress against
 * QE's (issue 16; a benchmark, not a test):
 *
 *   nice npx tsx bench/al-stress.ts [--model models/al-fcc-298K/model.zip]
 *       [--pseudo-dir /usr/share/espresso/pseudo] [--repeats 3] [--frames Al4_298K_6,Al8F_298K_0,Al32_298K_0]
 *       [--out al-stress.json]
 *
 * 1. Cost: `predict` (in-process, the model loaded once) with forces, and with forces + stress, of
 *    the same cell, interleaved (E+F, E+F+S, E+F, …; --repeats pairs after one warm-up pair);
 *    medians of the wall times, the pair ratios, and the medians of the stages that differ
 *    (total_energy_s: the density terms' strain derivatives; forces_s: the backward pass, whose
 *    descriptor adjoint also accumulates the virial).
 * 2. Accuracy: the predicted stress (GPa, pw.x's sign: −σ, positive pressure under compression)
 *    beside QE's "total   stress" block where the frame's QE output has one (the 32-atom frame of
 *    fixtures/al-size-transfer).
 *
 * Prints the tables; --out also writes them as JSON (with the machine's load and the date).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadModel } from '../src/network/model';
import { readStructure } from '../src/structure/registry';
import { qeStressKbar } from '../src/structure/qe-output';
import { evPerA3InGpa, KBAR_PER_GPA } from '../src/engine/stress';
import { predict, type PredictResult } from '../src/workflow/predict';
import { arg, helpIfAsked } from './help';
import { median } from './stats';

helpIfAsked(__filename);

const root = path.join(__dirname, '..');
const FRAMES: Record<string, { input: string; output: string }> = {
  Al4_298K_6: { input: 'fixtures/al-forces/Al4_298K_6.pw.scf.in', output: 'fixtures/al-forces/Al4_298K_6.pw.scf.out' },
  Al8F_298K_0: { input: 'fixtures/al-forces/Al8F_298K_0.pw.scf.in', output: 'fixtures/al-forces/Al8F_298K_0.pw.scf.out' },
  Al32_298K_0: { input: 'fixtures/al-size-transfer/Al32_298K_0.pw.scf.in', output: 'fixtures/al-size-transfer/pw.scf.out' },
};

async function main(): Promise<void> {
  const model = loadModel(path.resolve(arg('model', path.join(root, 'models', 'al-fcc-298K', 'model.zip'))));
  const pseudoDir = arg('pseudo-dir', '/usr/share/espresso/pseudo');
  const repeats = Number(arg('repeats', '3'));
  const frames = arg('frames', 'Al4_298K_6,Al8F_298K_0,Al32_298K_0').split(',');
  const out: Record<string, unknown>[] = [];
  console.log(`# ${new Date().toISOString()}  ${os.cpus().length} CPUs, load ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}`);
  console.log('frame         atoms   E+F s   E+F+S s  ratio  pairs                 | stages E+F → E+F+S: tot.energy  forces');
  for (const name of frames) {
    const fr = FRAMES[name];
    if (!fr) throw new Error(`unknown frame ${name} (one of ${Object.keys(FRAMES).join(', ')})`);
    const read = readStructure(path.join(root, fr.input));
    const run = async (stress: boolean) => {
      const t0 = performance.now();
      const r = await predict({ structureRead: read, model, pseudoDir, requireTotalEnergy: true, forces: true, stress, warn: () => {} });
      return { wallS: (performance.now() - t0) / 1000, r };
    };
    await run(false);
    let last: PredictResult | undefined = (await run(true)).r;
    const ef: { wallS: number; t: Record<string, number> }[] = [];
    const efs: typeof ef = [];
    for (let k = 0; k < repeats; k++) {
      const a = await run(false);
      ef.push({ wallS: a.wallS, t: a.r.timingsS });
      const b = await run(true);
      efs.push({ wallS: b.wallS, t: b.r.timingsS });
      last = b.r;
    }
    const pairs = ef.map((x, k) => efs[k].wallS / x.wallS);
    const st = (xs: typeof ef, k: string) => median(xs.map((x) => x.t[k] ?? 0));
    const row = {
      frame: name,
      atoms: read.atoms.symbols.length,
      energyForcesS: median(ef.map((x) => x.wallS)),
      energyForcesStressS: median(efs.map((x) => x.wallS)),
      ratio: median(efs.map((x) => x.wallS)) / median(ef.map((x) => x.wallS)),
      pairRatios: pairs,
      totalEnergyS: [st(ef, 'total_energy_s'), st(efs, 'total_energy_s')],
      forcesS: [st(ef, 'forces_s'), st(efs, 'forces_s')],
      load: os.loadavg(),
      predictedKbar: last!.stressEvPerA3!.map((r) => r.map((x) => -x * evPerA3InGpa * KBAR_PER_GPA)),
      qeKbar: fs.existsSync(path.join(root, fr.output)) ? qeStressKbar(fs.readFileSync(path.join(root, fr.output), 'utf8')) : undefined,
    };
    out.push(row);
    const f = (x: number, d = 2, w = 8) => x.toFixed(d).padStart(w);
    console.log(`${name.padEnd(14)}${String(row.atoms).padStart(5)} ${f(row.energyForcesS)} ${f(row.energyForcesStressS, 2, 9)} ${f(row.ratio, 3, 6)}  ${pairs.map((x) => x.toFixed(3)).join(' ').padEnd(21)} | ${f(row.totalEnergyS[0])} → ${f(row.totalEnergyS[1], 2, 5)}  ${f(row.forcesS[0])} → ${f(row.forcesS[1], 2, 5)}`);
    const p = (m: number[][]) => (m[0][0] + m[1][1] + m[2][2]) / 3;
    console.log(`${' '.repeat(14)}stress (kbar, pw.x's sign) predicted P = ${p(row.predictedKbar).toFixed(2)}, diag ${[0, 1, 2].map((a) => row.predictedKbar[a][a].toFixed(1)).join(' ')}${row.qeKbar ? `; QE P = ${p(row.qeKbar).toFixed(2)}, diag ${[0, 1, 2].map((a) => row.qeKbar![a][a].toFixed(2)).join(' ')}` : '; no QE stress in the output'}`);
  }
  const o = arg('out', '');
  if (o) fs.writeFileSync(o, JSON.stringify({ date: new Date().toISOString(), cpus: os.cpus().length, rows: out }, null, 2) + '\n');
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
