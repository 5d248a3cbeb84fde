/**
 * How smooth a model's energy is along the lattice constant of perfect fcc aluminium (issues 16 and
 * 18; a benchmark, not a test). bench/al-eos.ts compares with QE every 0.04 Å; this scans the
 * model alone finely, without QE, to see what lies between those points:
 *
 *   nice npx tsx bench/eos-scan.ts [--model models/al-fcc-broad/model.zip] [--range 4.00,4.10,0.0025]
 *       [--temperature 298] [--pseudo-dir /usr/share/espresso/pseudo] [--out eos-scan.json]
 *
 * Per lattice constant: E per atom, the pressure from the model's stress, the pressure from central
 * differences of E between the neighbouring points (P = −dE/dV; it must agree with the stress where
 * the curve is smooth on the step's scale), the energy reference's shift and, for an ensemble,
 * σ(E_total) per atom. Summary: the largest departure of E from a cubic fit over the range (bumps
 * that a 0.04 Å grid misses) and the largest |P_stress − P_fd|.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadModel } from '../src/network/model';
import { evPerA3InGpa } from '../src/engine/stress';
import { kBoltzmannEvPerK, rydbergEv } from '../src/structure/units';
import { readStructure } from '../src/structure/registry';
import { predict } from '../src/workflow/predict';
import { eosInput, polyfit } from './al-eos';
import { arg, helpIfAsked } from './help';

helpIfAsked(__filename);

const root = path.join(__dirname, '..');

/** Least-squares cubic through (x, y), evaluated at x (about the mean x, for conditioning). */
function cubicFitValues(x: number[], y: number[]): number[] {
  const xm = x.reduce((s, v) => s + v, 0) / x.length;
  const u = x.map((v) => v - xm);
  const c = polyfit(u, y, 3);
  return u.map((v) => c[0] + c[1] * v + c[2] * v * v + c[3] * v ** 3);
}

async function main(): Promise<void> {
  const modelFile = path.resolve(arg('model', path.join(root, 'models', 'al-fcc-broad', 'model.zip')));
  const [a0, a1, step] = arg('range', '4.00,4.10,0.0025').split(',').map(Number);
  if (!(step > 0) || !(a1 > a0)) throw new Error('--range a0,a1,step needs a1 > a0 and step > 0 (Å)');
  const temperatureK = Number(arg('temperature', '298'));
  const pseudoDir = arg('pseudo-dir', '/usr/share/espresso/pseudo');
  const outFile = arg('out', '');
  const template = fs.readFileSync(path.join(root, 'qe-inputs', 'al-fcc-broad.pw.scf.in'), 'utf8');
  const degaussRy = (kBoltzmannEvPerK * temperatureK) / rydbergEv;
  const model = loadModel(modelFile);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'mala-ts-eos-scan-'));
  const lattices: number[] = [];
  for (let i = 0; a0 + i * step <= a1 + 1e-9; i++) lattices.push(a0 + i * step);
  const rows: { aAngstrom: number; energyEvPerAtom: number; pressureStressGpa: number; pressureFdGpa?: number; shiftEv?: number; sigmaTotalMeVPerAtom?: number }[] = [];
  try {
    for (const a of lattices) {
      const input = path.join(work, 'al4.pw.scf.in');
      fs.writeFileSync(input, eosInput(template, a, 16, degaussRy, pseudoDir));
      const r = await predict({ structureRead: readStructure(input), model, pseudoDir, temperatureK, requireTotalEnergy: true, stress: true, warn: () => {} });
      const s = r.stressEvPerA3!;
      const sigma = r.uncertainty?.totalEnergySigmaEv;
      rows.push({
        aAngstrom: a,
        energyEvPerAtom: r.totalEnergy!.totalEnergyEv / 4,
        pressureStressGpa: (-(s[0][0] + s[1][1] + s[2][2]) / 3) * evPerA3InGpa,
        shiftEv: r.energyReference?.shiftEv,
        sigmaTotalMeVPerAtom: sigma === undefined ? undefined : (sigma * 1000) / 4,
      });
    }
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
  // P = −dE/dV per atom, V = a³/4, central differences
  for (let i = 1; i + 1 < rows.length; i++) {
    const dE = rows[i + 1].energyEvPerAtom - rows[i - 1].energyEvPerAtom;
    const dV = (rows[i + 1].aAngstrom ** 3 - rows[i - 1].aAngstrom ** 3) / 4;
    rows[i].pressureFdGpa = (-dE / dV) * evPerA3InGpa;
  }
  const fit = cubicFitValues(rows.map((r) => r.aAngstrom), rows.map((r) => r.energyEvPerAtom));
  const bumpMeV = Math.max(...rows.map((r, i) => Math.abs(r.energyEvPerAtom - fit[i]) * 1000));
  const pGap = Math.max(...rows.filter((r) => r.pressureFdGpa !== undefined).map((r) => Math.abs(r.pressureStressGpa - r.pressureFdGpa!)));
  console.log(`# ${new Date().toISOString()}  model ${path.relative(root, modelFile)}, T_e ${temperatureK} K, perfect fcc, 4-atom cube`);
  console.log('a (Å)     E (eV/atom)  E − cubic (meV/atom)  P stress (GPa)  P −dE/dV (GPa)  shift (eV)  σ(E_tot) (meV/atom)');
  rows.forEach((r, i) => {
    const f = (x: number | undefined, d: number, w: number) => (x === undefined ? '–' : x.toFixed(d)).padStart(w);
    console.log(`${r.aAngstrom.toFixed(4)}  ${f(r.energyEvPerAtom, 5, 12)}  ${f((r.energyEvPerAtom - fit[i]) * 1000, 2, 20)}  ${f(r.pressureStressGpa, 2, 14)}  ${f(r.pressureFdGpa, 2, 14)}  ${f(r.shiftEv, 4, 10)}  ${f(r.sigmaTotalMeVPerAtom, 2, 19)}`);
  });
  console.log(`largest |E − cubic fit| ${bumpMeV.toFixed(2)} meV/atom; largest |P_stress − P_fd| ${pGap.toFixed(2)} GPa (step ${step} Å)`);
  if (outFile) {
    fs.writeFileSync(outFile, JSON.stringify({ date: new Date().toISOString(), command: `npx tsx bench/eos-scan.ts ${process.argv.slice(2).join(' ')}`, model: path.relative(root, modelFile), temperatureK, rows, largestBumpMeVPerAtom: bumpMeV, largestPressureGapGpa: pGap }, null, 1) + '\n');
  }
}

if (require.main === module) {
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
