/**
 * How much of a model's force error is a pair term (issue 16; an analysis, not a test): fits a pair
 * potential φ(r) to the residual F_QE − F_model of some frames (least squares, ridge) and reports
 * the force RMSE before and after on those frames and on the others, by group. If a short-range
 * pair correction (a Δ-potential beside the network) could carry a model to issue 16's 0.05 eV/Å,
 * it would show here on the frames it was not fitted to.
 *
 *   npx tsx bench/force-residual-pairs.ts --tests A.json[,B.json] --fit REGEX [--groups 'NAME=REGEX;...']
 *       [--cutoff 5] [--inner 2.1] [--basis 12] [--ridge 1e-4] [--energy-weight 0] [--out pairs.json]
 *
 * --tests: `mala-ts test --forces --json` tables (their rows carry the forces, model and QE, atom by
 * atom; the structure is read from the row's data folder, <name>.pw.scf.out). --fit: the frames whose
 * residual is fitted (a regular expression on the frame name); the others are held out. φ(r) =
 * Σ_k c_k·exp(−((r − r_k)/w)²)·f_c(r): --basis Gaussians centred evenly from --inner to --cutoff (Å),
 * w their spacing, f_c = ½(1 + cos(πr/r_c)), so φ and φ' vanish at the cutoff. The ridge term is
 * --ridge × the number of fitted rows. --energy-weight λ > 0 also fits the spread of the fitted frames'
 * total-energy errors (one row per frame, eV/atom against the force rows' eV/Å, times λ): a correction
 * that mends forces by spoiling energies is no correction.
 *
 * Printed per group (the fitted frames, then variants-table's --groups of the others): frames, the
 * force RMSE before → after the correction (eV/Å) beside QE's rms force, and the standard deviation
 * over the group's frames of the total-energy error (meV/atom) before → after: the pair term shifts
 * the energies too, and a constant per atom would not matter, a spread does.
 */
import * as fs from 'node:fs';
import { arg, helpIfAsked } from './help';
import { groupByFirstMatch, parseGroups } from './variants-table';
import { forceRowsOfTables } from './force-tables';
import { cellVolumeA3, cross, norm, type Atoms, type Vec3 } from '../src/structure/atoms';

// only when run: a benchmark that imports this one prints its own help
if (require.main === module) helpIfAsked(__filename);

export interface PairBasis {
  centresAngstrom: number[];
  widthAngstrom: number;
  cutoffAngstrom: number;
}

export function pairBasis(innerAngstrom: number, cutoffAngstrom: number, count: number): PairBasis {
  if (!(count >= 2) || !(innerAngstrom < cutoffAngstrom)) throw new Error(`--basis ${count} must be ≥ 2 and --inner ${innerAngstrom} below --cutoff ${cutoffAngstrom}`);
  const w = (cutoffAngstrom - innerAngstrom) / (count - 1);
  return { centresAngstrom: Array.from({ length: count }, (_, k) => innerAngstrom + k * w), widthAngstrom: w, cutoffAngstrom };
}

/** g_k(r) and dg_k/dr of the basis at distance r (Å). */
export function basisAt(b: PairBasis, r: number): { g: number[]; dg: number[] } {
  const rc = b.cutoffAngstrom;
  const fc = 0.5 * (1 + Math.cos((Math.PI * r) / rc));
  const dfc = ((-0.5 * Math.PI) / rc) * Math.sin((Math.PI * r) / rc);
  const g: number[] = [];
  const dg: number[] = [];
  for (const c of b.centresAngstrom) {
    const x = (r - c) / b.widthAngstrom;
    const e = Math.exp(-x * x);
    g.push(e * fc);
    dg.push(e * ((-2 * x) / b.widthAngstrom) * fc + e * dfc);
  }
  return { g, dg };
}

/**
 * The pair term's design for one structure: forces[3N][K] (F_Ia = Σ_k c_k·forces[3I+a][k]) and
 * energyPerAtom[K] (E/N = Σ_k c_k·energyPerAtom[k]), every pair within the cutoff, periodic images included.
 */
export function pairDesign(atoms: Atoms, b: PairBasis): { forces: number[][]; energyPerAtom: number[] } {
  const cell = atoms.cellAngstrom;
  const n = atoms.positionsAngstrom.length;
  const K = b.centresAngstrom.length;
  const rc = b.cutoffAngstrom;
  // translations n_i·a_i reaching the cutoff: |n_i| ≤ ceil(r_c / height_i)
  const v = cellVolumeA3(cell);
  const reach = [0, 1, 2].map((i) => (atoms.pbc[i] ? Math.ceil(rc / (v / norm(cross(cell[(i + 1) % 3], cell[(i + 2) % 3])))) : 0));
  const forces = Array.from({ length: 3 * n }, () => new Array<number>(K).fill(0));
  const energy = new Array<number>(K).fill(0);
  for (let i = 0; i < n; i++) {
    const ri = atoms.positionsAngstrom[i];
    for (let j = 0; j < n; j++) {
      const rj = atoms.positionsAngstrom[j];
      for (let n0 = -reach[0]; n0 <= reach[0]; n0++)
        for (let n1 = -reach[1]; n1 <= reach[1]; n1++)
          for (let n2 = -reach[2]; n2 <= reach[2]; n2++) {
            if (i === j && n0 === 0 && n1 === 0 && n2 === 0) continue;
            const d: Vec3 = [0, 1, 2].map((a) => ri[a] - rj[a] - n0 * cell[0][a] - n1 * cell[1][a] - n2 * cell[2][a]) as Vec3;
            const r = norm(d);
            if (r >= rc) continue;
            const { g, dg } = basisAt(b, r);
            // E = ½ Σ_i Σ_(j,T) φ(r); F_i = −∂E/∂R_i = −Σ_(j,T) φ'(r)·d/r (each unordered pair counted from both sides)
            for (let k = 0; k < K; k++) {
              energy[k] += 0.5 * g[k];
              for (let a = 0; a < 3; a++) forces[3 * i + a][k] -= (dg[k] * d[a]) / r;
            }
          }
    }
  }
  return { forces, energyPerAtom: energy.map((e) => e / n) };
}

/** Solve the symmetric positive definite system A·x = y (Gaussian elimination with partial pivoting). */
export function solve(A: number[][], y: number[]): number[] {
  const n = y.length;
  const m = A.map((row, i) => [...row, y[i]]);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(m[r][c]) > Math.abs(m[p][c])) p = r;
    [m[c], m[p]] = [m[p], m[c]];
    if (m[c][c] === 0) throw new Error('singular normal equations (raise --ridge)');
    for (let r = c + 1; r < n; r++) {
      const f = m[r][c] / m[c][c];
      for (let k = c; k <= n; k++) m[r][k] -= f * m[c][k];
    }
  }
  const x = new Array<number>(n).fill(0);
  for (let r = n - 1; r >= 0; r--) {
    let s = m[r][n];
    for (let k = r + 1; k < n; k++) s -= m[r][k] * x[k];
    x[r] = s / m[r][r];
  }
  return x;
}

/** One frame: its pair design and its residual F_QE − F_model (3N, eV/Å), QE's forces, its energy error (meV/atom). */
export interface ResidualFrame {
  name: string;
  design: { forces: number[][]; energyPerAtom: number[] };
  residualEvPerA: number[];
  qeForcesEvPerA: number[];
  totalErrorMeVPerAtom?: number;
}

/**
 * The coefficients c (eV) of the pair term that best fits the frames' residual forces (rows D, targets r):
 * (DᵀD + ridge·n·I)·c = Dᵀr. With energyWeight λ > 0 each frame adds one row λ·(e_f − ē) with target
 * −λ·(ΔE_f − ΔĒ) (eV/atom; ē, ΔĒ the fitted frames' means): the pair energy should also even out the
 * energy errors, up to the constant no pair term needs to carry.
 */
export function fitPairCorrection(frames: readonly ResidualFrame[], ridge: number, energyWeight = 0): number[] {
  const K = frames[0].design.energyPerAtom.length;
  const A = Array.from({ length: K }, () => new Array<number>(K).fill(0));
  const y = new Array<number>(K).fill(0);
  let rows = 0;
  const addRow = (d: readonly number[], target: number) => {
    rows++;
    for (let a = 0; a < K; a++) {
      y[a] += d[a] * target;
      for (let b = 0; b < K; b++) A[a][b] += d[a] * d[b];
    }
  };
  for (const f of frames) f.design.forces.forEach((d, i) => addRow(d, f.residualEvPerA[i]));
  if (energyWeight > 0) {
    if (frames.some((f) => f.totalErrorMeVPerAtom === undefined)) throw new Error('an energy weight needs every fitted frame\'s total-energy error');
    const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
    const eBar = Array.from({ length: K }, (_, k) => mean(frames.map((f) => f.design.energyPerAtom[k])));
    const errBar = mean(frames.map((f) => f.totalErrorMeVPerAtom! / 1000));
    for (const f of frames) addRow(f.design.energyPerAtom.map((e, k) => energyWeight * (e - eBar[k])), -energyWeight * (f.totalErrorMeVPerAtom! / 1000 - errBar));
  }
  for (let a = 0; a < K; a++) A[a][a] += ridge * rows;
  return solve(A, y);
}

export interface GroupResult {
  group: string;
  frames: number;
  forceRmseBeforeEvPerA: number;
  forceRmseAfterEvPerA: number;
  qeForceRmsEvPerA: number;
  /** Standard deviation over the frames of the total-energy error, before and after, meV/atom (undefined without energies). */
  energySpreadBeforeMeVPerAtom?: number;
  energySpreadAfterMeVPerAtom?: number;
}

const dotK = (a: readonly number[], c: readonly number[]) => a.reduce((s, x, k) => s + x * c[k], 0);
const rms = (xs: number[]) => Math.sqrt(xs.reduce((s, x) => s + x * x, 0) / xs.length);
const sd = (xs: number[]) => {
  const m = xs.reduce((s, x) => s + x, 0) / xs.length;
  return Math.sqrt(xs.reduce((s, x) => s + (x - m) ** 2, 0) / xs.length);
};

/** Before and after the correction c on a set of frames. */
export function evaluateCorrection(group: string, frames: readonly ResidualFrame[], c: readonly number[]): GroupResult {
  const before = frames.flatMap((f) => f.residualEvPerA);
  const after = frames.flatMap((f) => f.residualEvPerA.map((r, i) => r - dotK(f.design.forces[i], c)));
  const withE = frames.filter((f) => f.totalErrorMeVPerAtom !== undefined);
  const out: GroupResult = { group, frames: frames.length, forceRmseBeforeEvPerA: rms(before), forceRmseAfterEvPerA: rms(after), qeForceRmsEvPerA: rms(frames.flatMap((f) => f.qeForcesEvPerA)) };
  if (withE.length === frames.length && frames.length > 1) {
    out.energySpreadBeforeMeVPerAtom = sd(withE.map((f) => f.totalErrorMeVPerAtom!));
    // the model's energy error (model − QE) gains the pair term's energy, eV → meV
    out.energySpreadAfterMeVPerAtom = sd(withE.map((f) => f.totalErrorMeVPerAtom! + 1000 * dotK(f.design.energyPerAtom, c)));
  }
  return out;
}

/** The frames of `mala-ts test --forces --json` tables, each with its structure's pair design. */
export function framesOfTables(files: readonly string[], b: PairBasis): ResidualFrame[] {
  return forceRowsOfTables(files).map(({ name, row, forces, atoms }) => ({
    name,
    design: pairDesign(atoms, b),
    residualEvPerA: forces.qe.flatMap((f, a) => f.map((x, k) => x - forces.model[a][k])),
    qeForcesEvPerA: forces.qe.flat(),
    totalErrorMeVPerAtom: typeof row.total_qe_mev_per_atom === 'number' ? row.total_qe_mev_per_atom : undefined,
  }));
}

function main(): void {
  const files = arg('tests').split(',').filter(Boolean);
  const fit = new RegExp(arg('fit'));
  const b = pairBasis(Number(arg('inner', '2.1')), Number(arg('cutoff', '5')), Number(arg('basis', '12')));
  const ridge = Number(arg('ridge', '1e-4'));
  const energyWeight = Number(arg('energy-weight', '0'));
  const groups = parseGroups(arg('groups', ''));
  const out = arg('out', '');
  const frames = framesOfTables(files, b);
  const fitted = frames.filter((f) => fit.test(f.name));
  if (fitted.length === 0) throw new Error(`--fit ${fit.source}: no frame of the tables matches`);
  const c = fitPairCorrection(fitted, ridge, energyWeight);
  const results = [evaluateCorrection('fitted', fitted, c), ...groupByFirstMatch(frames.filter((f) => !fit.test(f.name)), (f) => f.name, groups).map(([g, fs_]) => evaluateCorrection(g, fs_, c))];
  console.log(`pair correction: ${b.centresAngstrom.length} Gaussians ${b.centresAngstrom[0]}–${b.cutoffAngstrom} Å, ridge ${ridge}, energy weight ${energyWeight}; fitted on ${fitted.length} frames (${fit.source})`);
  const head = ['group', 'frames', 'F rmse before', 'after', 'QE rms', 'E error sd before', 'after'];
  const f3 = (x?: number) => (x === undefined ? '–' : x.toFixed(3));
  const f1 = (x?: number) => (x === undefined ? '–' : x.toFixed(1));
  const lines = results.map((r) => [r.group, String(r.frames), f3(r.forceRmseBeforeEvPerA), f3(r.forceRmseAfterEvPerA), f3(r.qeForceRmsEvPerA), f1(r.energySpreadBeforeMeVPerAtom), f1(r.energySpreadAfterMeVPerAtom)]);
  const w = head.map((h, k) => Math.max(h.length, ...lines.map((l) => l[k].length)));
  for (const l of [head, ...lines]) console.log(l.map((x, k) => (k === 0 ? x.padEnd(w[k]) : x.padStart(w[k]))).join('  '));
  console.log('(force RMSE in eV/Å; E error sd: standard deviation over the frames of the total-energy error, meV/atom)');
  if (out) fs.writeFileSync(out, JSON.stringify({ tests: files, fit: fit.source, basis: b, ridge, energyWeight, coefficientsEv: c, groups: results }, null, 1) + '\n');
}

if (require.main === module) {
  try {
    main();
  } catch (e) {
    console.error(`force-residual-pairs: ${(e as Error).message}`);
    process.exit(1);
  }
}
