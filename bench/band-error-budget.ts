/**
 * Where a model's band-energy error comes from (issue 18; a diagnostic, not a test): reads the
 * `mala-ts test --dos-out DIR` files (model and target DOS per atom on common energies, both
 * Fermi energies) and splits each snapshot's band-energy error into energy windows.
 *
 *   npx tsx bench/band-error-budget.ts --dos DIR [--windows -12,-8,-4,-2,-1,0,1,3] [--out budget.json]
 *
 * The split (src/targets/band-error-budget.ts): ΔE_band ≈ Σ_i w_i(μ_target)·ΔD_i to first order,
 * each energy's DOS error weighted by its distance below E_F. Caution: the per-window numbers of
 * a snapshot whose target LDOS carries k-sampling wiggles (any finite k-mesh) include those
 * wiggles, which cancel in the sum; only sums over windows wider than the wiggles mean much. Columns: meV/atom per window of ε − E_F,target (eV), their
 * sum, the exact ΔE_band recomputed from both DOS and Fermi energies (the rest is the second-order
 * term and the common-energy crop), and the DOS's electron-count error ∫ f·ΔD (e/atom).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { arg, helpIfAsked } from './help';
import { parseDosComparisonCsv } from '../src/io/dos-comparison-csv';
import { bandErrorBudget } from '../src/targets/band-error-budget';
import { kTEv } from '../src/structure/units';

helpIfAsked(__filename);

const dir = arg('dos');
const edges = arg('windows', '-12,-8,-4,-2,-1,0,1,3').split(',').map(Number);
const outFile = process.argv.includes('--out') ? arg('out') : undefined;

interface Budget {
  snapshot: string;
  windowsMeVPerAtom: number[];
  sumMeVPerAtom: number;
  exactMeVPerAtom: number;
  electronErrorPerAtom: number;
}

const files = fs.readdirSync(dir).filter((f) => f.endsWith('.dos.csv')).sort();
if (files.length === 0) throw new Error(`${dir}: no <snapshot>.dos.csv (run mala-ts test --dos-out ${dir} first)`);
const budgets: Budget[] = files.map((f) => {
  const c = parseDosComparisonCsv(fs.readFileSync(path.join(dir, f), 'utf8'), f);
  const b = bandErrorBudget({ ...c, kTEv: kTEv(c.temperatureK) }, edges);
  return { snapshot: f.replace(/\.dos\.csv$/, ''), windowsMeVPerAtom: b.windows.map((v) => 1000 * v), sumMeVPerAtom: 1000 * b.firstOrder, exactMeVPerAtom: 1000 * b.exact, electronErrorPerAtom: b.electronError };
});

const labels = [`<${edges[0]}`, ...edges.slice(1).map((b, i) => `${edges[i]}..${b}`), `>${edges[edges.length - 1]}`];
const pad = (s: string, n: number) => s.padStart(n);
console.log('band-energy error by window of ε − E_F (eV), meV/atom; Σ = sum of windows; exact = from both DOS and E_F; ΔN = ∫ f·ΔD, e/atom');
console.log([pad('snapshot', 22), ...labels.map((l) => pad(l, 9)), pad('Σ', 8), pad('exact', 8), pad('ΔN', 9)].join(' '));
for (const b of budgets) {
  console.log([pad(b.snapshot, 22), ...b.windowsMeVPerAtom.map((v) => pad(v.toFixed(1), 9)), pad(b.sumMeVPerAtom.toFixed(1), 8), pad(b.exactMeVPerAtom.toFixed(1), 8), pad(b.electronErrorPerAtom.toExponential(1), 9)].join(' '));
}
const meanAbs = labels.map((_, k) => budgets.reduce((a, b) => a + Math.abs(b.windowsMeVPerAtom[k]), 0) / budgets.length);
console.log([pad('mean |…|', 22), ...meanAbs.map((v) => pad(v.toFixed(1), 9))].join(' '));
if (outFile) fs.writeFileSync(outFile, JSON.stringify({ windowEdgesEv: edges, labels, snapshots: budgets }, null, 1) + '\n');
