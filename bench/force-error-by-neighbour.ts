/**
 * Where on the atoms the force error is (issue 16; an analysis, not a test): from `mala-ts test
 * --forces --json` tables, each atom's force error against QE, binned by the distance to its
 * nearest neighbour (periodic images included). Per group of frames and bin: the atoms, the RMSE
 * over their components, QE's rms force on them, their share of the group's squared error, α, the
 * scale that best maps the model's forces on them onto QE's, beside the α an error independent of
 * QE's forces would give, and the slope of the model's forces against QE's (above 1: too large).
 *
 * The shipped model's worst frames are those with a pair of atoms closer than about 2.48 Å
 * (models/al-fcc-broad/RECIPE.md, "Close pairs"); this says whether the error sits on the atoms of
 * those pairs or is spread over every atom of such frames.
 *
 *   npx tsx bench/force-error-by-neighbour.ts --tests A.json[,B.json] [--groups 'NAME=REGEX;...']
 *       [--edges 2.4,2.5,2.6,2.7] [--out by-neighbour.json]
 *
 * A frame joins the first group whose regular expression matches its name (variants-table's
 * --groups); the structures are read from each row's data folder (<name>.pw.scf.out).
 */
import * as fs from 'node:fs';
import { arg, helpIfAsked } from './help';
import { groupByFirstMatch, parseGroups } from './variants-table';
import { forceRowsOfTables } from './force-tables';
import { det3, fractionalPositions, type Atoms } from '../src/structure/atoms';

/** Each atom's distance to its nearest neighbour, its own periodic images and the 26 neighbouring cells' included, Å. */
export function nearestNeighbourDistancesAngstrom(atoms: Atoms): number[] {
  const cell = atoms.cellAngstrom;
  if (!(Math.abs(det3(cell)) >= 1e-12)) throw new Error('a degenerate cell');
  const frac = fractionalPositions(atoms);
  const n = frac.length;
  const range = (k: number) => (atoms.pbc[k] ? [-1, 0, 1] : [0]);
  const best = new Array<number>(n).fill(Infinity);
  for (let i = 0; i < n; i++) {
    for (let j = i; j < n; j++) {
      const d = [0, 1, 2].map((k) => {
        const x = frac[j][k] - frac[i][k];
        return atoms.pbc[k] ? x - Math.round(x) : x;
      });
      for (const a of range(0)) for (const b of range(1)) for (const c of range(2)) {
        if (i === j && a === 0 && b === 0 && c === 0) continue;
        const f = [d[0] + a, d[1] + b, d[2] + c];
        const r = Math.hypot(...[0, 1, 2].map((k) => f[0] * cell[0][k] + f[1] * cell[1][k] + f[2] * cell[2][k]));
        if (r < best[i]) best[i] = r;
        if (r < best[j]) best[j] = r;
      }
    }
  }
  return best;
}

export interface AtomError {
  frame: string;
  nearestAngstrom: number;
  /** [Fx, Fy, Fz], eV/Å. */
  model: number[];
  qe: number[];
}

export interface BinRow {
  group: string;
  /** [lower, upper) of the nearest-neighbour distance, Å. */
  bin: [number, number];
  atoms: number;
  rmseEvPerA: number;
  qeRmsEvPerA: number;
  /** This bin's share of the group's summed squared error. */
  shareOfSquaredError: number;
  /** argmin_a |a·F_model − F_QE|²: below 1 when the forces are too large, and also when the error is independent of QE's forces. */
  alpha: number;
  /** α for an error independent of QE's forces: |F_QE|²/(|F_QE|² + |e|²). */
  alphaIfIndependent: number;
  /** argmin_s |F_model − s·F_QE|²: above 1 the forces are too large; 1 for an independent error. */
  slope: number;
}

/** Per group, the atoms binned by `edges` (below the first, between each pair, above the last). */
export function errorByNeighbour(atoms: readonly AtomError[], edges: readonly number[], groups: { name: string; pattern: RegExp }[]): BinRow[] {
  const bounds = [-Infinity, ...edges, Infinity];
  const rows: BinRow[] = [];
  for (const [group, members] of groupByFirstMatch(atoms, (a) => a.frame, groups)) {
    const sq = (a: AtomError) => a.model.reduce((s, m, k) => s + (m - a.qe[k]) ** 2, 0);
    const total = members.reduce((s, a) => s + sq(a), 0);
    for (let b = 0; b + 1 < bounds.length; b++) {
      const inBin = members.filter((a) => a.nearestAngstrom >= bounds[b] && a.nearestAngstrom < bounds[b + 1]);
      if (inBin.length === 0) continue;
      let err = 0, qe = 0, mq = 0, mm = 0;
      for (const a of inBin) {
        err += sq(a);
        a.qe.forEach((q, k) => {
          qe += q * q;
          mq += a.model[k] * q;
          mm += a.model[k] ** 2;
        });
      }
      const comps = 3 * inBin.length;
      rows.push({
        group, bin: [bounds[b], bounds[b + 1]], atoms: inBin.length, rmseEvPerA: Math.sqrt(err / comps), qeRmsEvPerA: Math.sqrt(qe / comps),
        shareOfSquaredError: total > 0 ? err / total : 0, alpha: mm > 0 ? mq / mm : NaN, alphaIfIndependent: qe / (qe + err), slope: qe > 0 ? mq / qe : NaN,
      });
    }
  }
  return rows;
}

/** Every atom of the rows of some `mala-ts test --forces --json` tables, with its nearest-neighbour distance. */
export function atomsOfTables(files: readonly string[]): AtomError[] {
  return forceRowsOfTables(files).flatMap(({ name, forces, atoms }) =>
    nearestNeighbourDistancesAngstrom(atoms).map((r, i) => ({ frame: name, nearestAngstrom: r, model: forces.model[i], qe: forces.qe[i] })));
}

function main(): void {
  const atoms = atomsOfTables(arg('tests').split(',').filter(Boolean));
  const edges = arg('edges', '2.4,2.5,2.6,2.7').split(',').map(Number);
  if (edges.some((e, k) => !Number.isFinite(e) || (k > 0 && e <= edges[k - 1]))) throw new Error(`--edges '${arg('edges', '')}': increasing distances in Å, separated by commas`);
  const rows = errorByNeighbour(atoms, edges, parseGroups(arg('groups', '')));
  const head = ['group', 'nearest neighbour, Å', 'atoms', 'RMSE', 'QE rms', 'share of error²', 'α', 'α indep.', 'slope'];
  const bin = (b: [number, number]) => (b[0] === -Infinity ? `< ${b[1]}` : b[1] === Infinity ? `≥ ${b[0]}` : `${b[0]}–${b[1]}`);
  const lines = rows.map((r) => [r.group, bin(r.bin), String(r.atoms), r.rmseEvPerA.toFixed(3), r.qeRmsEvPerA.toFixed(3), `${(100 * r.shareOfSquaredError).toFixed(0)} %`, r.alpha.toFixed(2), r.alphaIfIndependent.toFixed(2), r.slope.toFixed(2)]);
  const w = head.map((h, k) => Math.max(h.length, ...lines.map((l) => l[k].length)));
  for (const l of [head, ...lines]) console.log(l.map((x, k) => (k <= 1 ? x.padEnd(w[k]) : x.padStart(w[k]))).join('  '));
  console.log('(eV/Å; α: the scale that best maps the model\'s forces on those atoms onto QE\'s, and what it is for an error independent of QE\'s forces; slope: the model\'s forces against QE\'s, above 1 = too large)');
  const out = arg('out', '');
  if (out) fs.writeFileSync(out, JSON.stringify({ edgesAngstrom: edges, rows }, null, 1) + '\n');
}

if (require.main === module) {
  helpIfAsked(__filename);
  try {
    main();
  } catch (e) {
    console.error(`force-error-by-neighbour: ${(e as Error).message}`);
    process.exit(1);
  }
}
