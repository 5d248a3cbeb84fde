/**
 * The equation of state of perfect fcc aluminium, a model against QE (issues 16 and 18; a
 * benchmark, not a test): energy and pressure over lattice constants, the equilibrium lattice
 * constant and the bulk modulus from each.
 *
 *   nice npx tsx bench/al-eos.ts [--model models/al-fcc-298K/model.zip] [--lattices 3.97,4.01,4.05,4.09,4.13]
 *       [--temperature 298] [--kmesh 16] [--pseudo-dir /usr/share/espresso/pseudo]
 *       [--work ~/.cache/mala-ts/al-eos] [--out eos.json]
 *
 * QE: pw.x 6.7 SCF with tstress on the 4-atom conventional cube at each lattice constant, from
 * qe-inputs/al-fcc-broad.pw.scf.in (LDA, 20/80 Ry, Fermi–Dirac at --temperature), Γ-centred
 * kmesh³, with symmetry (a perfect crystal; the MD frames' nosym is dropped). Runs are cached in
 * --work by lattice constant, temperature and mesh, so a second model costs no QE time.
 * Model: `predict` with the stress on the same structure and temperature.
 * Fits: E(V) per atom to a cubic polynomial (minimum → a0, B = V·d²E/dV²); P(a) linear
 * interpolation to P = 0 (→ a0 from the stress). Prints the table and the fits; --out writes JSON.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { loadModel } from '../src/network/model';
import { evPerA3InGpa, KBAR_PER_GPA } from '../src/engine/stress';
import { parseQeOutput, qeStressKbar } from '../src/structure/qe-output';
import { kBoltzmannEvPerK, rydbergEv } from '../src/structure/units';
import { readStructure } from '../src/structure/registry';
import { predict } from '../src/workflow/predict';
import { arg, helpIfAsked } from './help';

// only as a program: eos-scan.ts imports eosInput from here
if (require.main === module) helpIfAsked(__filename);

const root = path.join(__dirname, '..');

/** The template with the cube of side a (Å), its four atoms, the mesh and degauss (Ry), with symmetry. */
export function eosInput(template: string, aAngstrom: number, kmesh: number, degaussRy: number, pseudoDir: string): string {
  const h = aAngstrom / 2;
  const f = (x: number) => x.toFixed(6);
  return template
    .replace(/^!.*\n/gm, '')
    .replace(/^\s*(nosym|noinv)\s*=.*\n/gim, '')
    .replace(/degauss\s*=.*$/m, `degauss = ${degaussRy.toPrecision(10)}`)
    .replace(/pseudo_dir\s*=.*$/m, `pseudo_dir = '${pseudoDir}'`)
    .replace(/CELL_PARAMETERS[\s\S]*$/, [
      'CELL_PARAMETERS angstrom',
      `  ${f(aAngstrom)} 0 0`,
      `  0 ${f(aAngstrom)} 0`,
      `  0 0 ${f(aAngstrom)}`,
      'ATOMIC_POSITIONS angstrom',
      'Al 0 0 0',
      `Al 0 ${f(h)} ${f(h)}`,
      `Al ${f(h)} 0 ${f(h)}`,
      `Al ${f(h)} ${f(h)} 0`,
      'K_POINTS automatic',
      `${kmesh} ${kmesh} ${kmesh} 0 0 0`,
      '',
    ].join('\n'));
}

/** Least-squares polynomial coefficients c0..cn of y(x). */
export function polyfit(x: number[], y: number[], n: number): number[] {
  const m = n + 1;
  const A = Array.from({ length: m }, () => new Array<number>(m + 1).fill(0));
  for (let k = 0; k < x.length; k++) {
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < m; j++) A[i][j] += x[k] ** (i + j);
      A[i][m] += y[k] * x[k] ** i;
    }
  }
  for (let i = 0; i < m; i++) {
    let p = i;
    for (let r = i + 1; r < m; r++) if (Math.abs(A[r][i]) > Math.abs(A[p][i])) p = r;
    [A[i], A[p]] = [A[p], A[i]];
    for (let r = 0; r < m; r++) {
      if (r === i) continue;
      const q = A[r][i] / A[i][i];
      for (let c = i; c <= m; c++) A[r][c] -= q * A[i][c];
    }
  }
  return A.map((row, i) => row[m] / A[i][i]);
}

/** a0 (Å) and B (GPa) from E(V) per atom (cubic in V about the mean volume), or undefined without a minimum in range. */
export function eosFit(aAngstrom: number[], energyEvPerAtom: number[]): { a0Angstrom: number; bulkModulusGpa: number } | undefined {
  const v = aAngstrom.map((a) => a ** 3 / 4);
  const v0 = v.reduce((s, x) => s + x, 0) / v.length;
  const c = polyfit(v.map((x) => x - v0), energyEvPerAtom, Math.min(3, v.length - 1));
  const d1 = (u: number) => c[1] + 2 * (c[2] ?? 0) * u + 3 * (c[3] ?? 0) * u * u;
  const d2 = (u: number) => 2 * (c[2] ?? 0) + 6 * (c[3] ?? 0) * u;
  let lo = Math.min(...v) - v0;
  let hi = Math.max(...v) - v0;
  if (!(d1(lo) < 0 && d1(hi) > 0)) return undefined;
  for (let i = 0; i < 100; i++) {
    const mid = (lo + hi) / 2;
    if (d1(mid) < 0) lo = mid;
    else hi = mid;
  }
  const u = (lo + hi) / 2;
  const vmin = u + v0;
  return { a0Angstrom: Math.cbrt(4 * vmin), bulkModulusGpa: vmin * d2(u) * evPerA3InGpa };
}

/** a (Å) where P(a) crosses zero, by linear interpolation between neighbours, or undefined. */
export function zeroPressureLattice(aAngstrom: number[], pressureGpa: number[]): number | undefined {
  for (let i = 0; i + 1 < aAngstrom.length; i++) {
    const [p0, p1] = [pressureGpa[i], pressureGpa[i + 1]];
    if (p0 === 0) return aAngstrom[i];
    if (p0 * p1 < 0) return aAngstrom[i] + ((aAngstrom[i + 1] - aAngstrom[i]) * p0) / (p0 - p1);
  }
  return undefined;
}

async function main(): Promise<void> {
  const modelFile = path.resolve(arg('model', path.join(root, 'models', 'al-fcc-298K', 'model.zip')));
  const lattices = arg('lattices', '3.97,4.01,4.05,4.09,4.13').split(',').map(Number);
  const temperatureK = Number(arg('temperature', '298'));
  const kmesh = Number(arg('kmesh', '16'));
  const pseudoDir = arg('pseudo-dir', '/usr/share/espresso/pseudo');
  const work = path.resolve(arg('work', path.join(os.homedir(), '.cache', 'mala-ts', 'al-eos')));
  const outFile = arg('out', '');
  const template = fs.readFileSync(path.join(root, 'qe-inputs', 'al-fcc-broad.pw.scf.in'), 'utf8');
  const degaussRy = (kBoltzmannEvPerK * temperatureK) / rydbergEv;
  const model = loadModel(modelFile);
  fs.mkdirSync(work, { recursive: true });
  console.log(`# ${new Date().toISOString()}  model ${path.relative(root, modelFile)}, T_e ${temperatureK} K, QE k ${kmesh}³ with symmetry`);
  console.log('a (Å)    E_QE (eV/atom)  ΔE model (meV/atom)  P_QE (GPa)  P_model (GPa)');
  const rows: { aAngstrom: number; qeEnergyEvPerAtom: number; modelEnergyEvPerAtom: number; qePressureGpa: number; modelPressureGpa: number; qeWallS: number }[] = [];
  for (const a of lattices) {
    const stem = path.join(work, `al4_a${a.toFixed(4)}_T${temperatureK}_k${kmesh}`);
    const input = `${stem}.pw.scf.in`;
    const output = `${stem}.pw.scf.out`;
    fs.writeFileSync(input, eosInput(template, a, kmesh, degaussRy, pseudoDir));
    let qeWallS = 0;
    if (!fs.existsSync(output)) {
      const t0 = performance.now();
      const text = execFileSync('pw.x', ['-in', path.basename(input)], { cwd: work, encoding: 'utf8', maxBuffer: 1 << 28 });
      qeWallS = (performance.now() - t0) / 1000;
      fs.writeFileSync(`${output}.tmp`, text);
      fs.renameSync(`${output}.tmp`, output);
    }
    const qeText = fs.readFileSync(output, 'utf8');
    const qe = parseQeOutput(qeText, output);
    const kbar = qeStressKbar(qeText);
    if (qe.energiesRy.total === undefined || !kbar) throw new Error(`${output}: no total energy or stress (delete it to rerun pw.x)`);
    const r = await predict({ structureRead: readStructure(input), model, pseudoDir, temperatureK, requireTotalEnergy: true, stress: true, warn: () => {} });
    const s = r.stressEvPerA3!;
    const row = {
      aAngstrom: a,
      qeEnergyEvPerAtom: (qe.energiesRy.total * rydbergEv) / 4,
      modelEnergyEvPerAtom: r.totalEnergy!.totalEnergyEv / 4,
      qePressureGpa: (kbar[0][0] + kbar[1][1] + kbar[2][2]) / 3 / KBAR_PER_GPA,
      modelPressureGpa: (-(s[0][0] + s[1][1] + s[2][2]) / 3) * evPerA3InGpa,
      qeWallS,
    };
    rows.push(row);
    console.log(
      `${a.toFixed(3)}  ${row.qeEnergyEvPerAtom.toFixed(5).padStart(14)}  ${((row.modelEnergyEvPerAtom - row.qeEnergyEvPerAtom) * 1000).toFixed(2).padStart(19)}  ${row.qePressureGpa.toFixed(2).padStart(10)}  ${row.modelPressureGpa.toFixed(2).padStart(13)}`,
    );
  }
  const as = rows.map((r) => r.aAngstrom);
  const fits = {
    qe: { ...eosFit(as, rows.map((r) => r.qeEnergyEvPerAtom)), a0FromPressureAngstrom: zeroPressureLattice(as, rows.map((r) => r.qePressureGpa)) },
    model: { ...eosFit(as, rows.map((r) => r.modelEnergyEvPerAtom)), a0FromPressureAngstrom: zeroPressureLattice(as, rows.map((r) => r.modelPressureGpa)) },
  };
  const fmt = (x: number | undefined, d: number) => (x === undefined ? 'none in range' : x.toFixed(d));
  for (const [who, f] of Object.entries(fits)) {
    console.log(`${who.padEnd(5)}  a0 from E(V) ${fmt(f.a0Angstrom, 4)} Å, from P = 0 ${fmt(f.a0FromPressureAngstrom, 4)} Å; B ${fmt(f.bulkModulusGpa, 1)} GPa`);
  }
  if (outFile) {
    fs.writeFileSync(outFile, JSON.stringify({ date: new Date().toISOString(), command: `npx tsx bench/al-eos.ts ${process.argv.slice(2).join(' ')}`, model: path.relative(root, modelFile), temperatureK, kmesh, rows, fits }, null, 1) + '\n');
  }
}

if (require.main === module) {
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
