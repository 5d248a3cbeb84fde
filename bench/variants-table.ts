/**
 * One table of several trained model variants side by side (issues 16 and 18; a benchmark, not a
 * test): per variant, the `mala-ts test --forces --json` table of the validation frames and,
 * when given, the bench/eos-scan.ts JSON of the same model. `make al-broad-variants` writes both
 * and calls this.
 *
 *   npx tsx bench/variants-table.ts --variants NAME=TEST.json[:EOS.json],... [--limits total=5,band=5,fermi=20] [--detail] [--out variants.json]
 *
 * Columns: per frame the total-energy error against QE (meV/atom); over all frames the mean and
 * largest |total| and |band| error (meV/atom), the largest |E_F| error (meV), the mean force RMSE
 * (eV/Å) beside QE's own rms force, and from the scan the largest departure of E(a) from a cubic
 * (meV/atom); and how many frames are within issue 18's limits (|total| and |band| ≤ 5 meV/atom,
 * |E_F| ≤ 20 meV; --limits total=5,band=5,fermi=20), each apart and all three at once, since the
 * issue judges every frame, not the mean. A frame that one variant's table lacks is a blank
 * there, and the means and counts are over the frames each table has.
 *
 * --detail adds, per variant, one line per frame: the total, band and the rest (total − band: the
 * Hartree, XC, entropy and Ewald terms, which the density carries) in meV/atom, E_F in meV, the
 * density's mean absolute error in %, and QE's rms force (eV/Å) as a measure of the frame's disorder.
 */
import * as fs from 'node:fs';
import { arg, helpIfAsked } from './help';

helpIfAsked(__filename);

interface Row {
  name: string;
  total_qe_mev_per_atom: number;
  band_qe_mev_per_atom: number;
  fermi_qe_mev: number;
  force_rmse_ev_per_angstrom?: number;
  qe_force_rms_ev_per_angstrom?: number;
  density_mape_percent?: number;
}

/** One frame's errors split into the band energy and the rest, beside its density error and disorder. */
export function frameDetail(r: Row): string[] {
  const signed = (v: number): string => (v >= 0 ? '+' : '') + v.toFixed(1);
  const plain = (v: number | undefined): string => (v === undefined ? '' : v.toFixed(2));
  return [r.name, signed(r.total_qe_mev_per_atom), signed(r.band_qe_mev_per_atom), signed(r.total_qe_mev_per_atom - r.band_qe_mev_per_atom),
    signed(r.fermi_qe_mev), plain(r.density_mape_percent), plain(r.qe_force_rms_ev_per_angstrom)];
}

export interface VariantSummary {
  variant: string;
  frames: number;
  meanAbsTotalMeVPerAtom: number;
  maxAbsTotalMeVPerAtom: number;
  meanAbsBandMeVPerAtom: number;
  maxAbsFermiMeV: number;
  meanForceRmseEvPerA: number | null;
  meanQeForceRmsEvPerA: number | null;
  eosBumpMeVPerAtom: number | null;
  totalByFrame: Record<string, number>;
  /** frames within the limits: total, band, E_F, and all three */
  withinLimits: { total: number; band: number; fermi: number; all: number };
}

/** Issue 18's per-frame limits: total and band energy in meV/atom, E_F in meV. */
export interface Limits {
  totalMeVPerAtom: number;
  bandMeVPerAtom: number;
  fermiMeV: number;
}
export const ISSUE18_LIMITS: Limits = { totalMeVPerAtom: 5, bandMeVPerAtom: 5, fermiMeV: 20 };

export function parseLimits(text: string): Limits {
  const l = { ...ISSUE18_LIMITS };
  const keys: Record<string, keyof Limits> = { total: 'totalMeVPerAtom', band: 'bandMeVPerAtom', fermi: 'fermiMeV' };
  for (const part of text.split(',').filter(Boolean)) {
    const [k, v] = part.split('=');
    const x = Number(v);
    if (!(k in keys) || !(x > 0)) throw new Error(`--limits: '${part}' is not total=, band= or fermi= a positive number (e.g. total=5,band=5,fermi=20)`);
    l[keys[k]] = x;
  }
  return l;
}

const mean = (v: number[]): number => v.reduce((s, x) => s + x, 0) / v.length;

export function summarize(variant: string, rows: Row[], eosBumpMeVPerAtom: number | null, limits: Limits = ISSUE18_LIMITS): VariantSummary {
  if (rows.length === 0) throw new Error(`${variant}: its test table has no snapshot rows`);
  const f = rows.filter((r) => typeof r.force_rmse_ev_per_angstrom === 'number');
  const okTotal = (r: Row): boolean => Math.abs(r.total_qe_mev_per_atom) <= limits.totalMeVPerAtom;
  const okBand = (r: Row): boolean => Math.abs(r.band_qe_mev_per_atom) <= limits.bandMeVPerAtom;
  const okFermi = (r: Row): boolean => Math.abs(r.fermi_qe_mev) <= limits.fermiMeV;
  const count = (ok: (r: Row) => boolean): number => rows.filter(ok).length;
  return {
    variant,
    frames: rows.length,
    meanAbsTotalMeVPerAtom: mean(rows.map((r) => Math.abs(r.total_qe_mev_per_atom))),
    maxAbsTotalMeVPerAtom: Math.max(...rows.map((r) => Math.abs(r.total_qe_mev_per_atom))),
    meanAbsBandMeVPerAtom: mean(rows.map((r) => Math.abs(r.band_qe_mev_per_atom))),
    maxAbsFermiMeV: Math.max(...rows.map((r) => Math.abs(r.fermi_qe_mev))),
    meanForceRmseEvPerA: f.length ? mean(f.map((r) => r.force_rmse_ev_per_angstrom!)) : null,
    meanQeForceRmsEvPerA: f.length ? mean(f.map((r) => r.qe_force_rms_ev_per_angstrom ?? NaN)) : null,
    eosBumpMeVPerAtom,
    totalByFrame: Object.fromEntries(rows.map((r) => [r.name, r.total_qe_mev_per_atom])),
    withinLimits: { total: count(okTotal), band: count(okBand), fermi: count(okFermi), all: count((r) => okTotal(r) && okBand(r) && okFermi(r)) },
  };
}

function readJson(file: string): Record<string, unknown> {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`${file}: ${(e as Error).message} (make it with mala-ts test --json or bench/eos-scan.ts --out)`);
  }
}

function main(): void {
  const specs = arg('variants').split(',').filter(Boolean);
  const out = arg('out', '');
  const limits = parseLimits(arg('limits', ''));
  const detail = process.argv.includes('--detail');
  const tables: Row[][] = [];
  const summaries = specs.map((s) => {
    const eq = s.indexOf('=');
    if (eq <= 0) throw new Error(`--variants: '${s}' is not NAME=TEST.json[:EOS.json]`);
    const [testFile, eosFile] = s.slice(eq + 1).split(':');
    const rows = readJson(testFile).snapshots as Row[] | undefined;
    if (!Array.isArray(rows)) throw new Error(`${testFile}: no "snapshots" array (not a mala-ts test --json table)`);
    const bump = eosFile ? ((readJson(eosFile).largestBumpMeVPerAtom as number | undefined) ?? null) : null;
    tables.push(rows);
    return summarize(s.slice(0, eq), rows, bump, limits);
  });
  const frames = [...new Set(summaries.flatMap((s) => Object.keys(s.totalByFrame)))].sort();
  const fmt = (v: number | null | undefined, d: number): string => (v === null || v === undefined || Number.isNaN(v) ? '' : v.toFixed(d));
  const head = ['variant', ...frames.map((f) => f.split('_')[0]), 'mean|tot|', 'max|tot|', 'mean|band|', 'max|E_F|', 'F rmse', '(QE rms)', 'E(a) bump', 'within tot/band/E_F/all'];
  const lines = summaries.map((s) => [s.variant, ...frames.map((f) => fmt(s.totalByFrame[f], 1)), fmt(s.meanAbsTotalMeVPerAtom, 1), fmt(s.maxAbsTotalMeVPerAtom, 1),
    fmt(s.meanAbsBandMeVPerAtom, 1), fmt(s.maxAbsFermiMeV, 0), fmt(s.meanForceRmseEvPerA, 2), fmt(s.meanQeForceRmsEvPerA, 2), fmt(s.eosBumpMeVPerAtom, 1),
    `${s.withinLimits.total}/${s.withinLimits.band}/${s.withinLimits.fermi}/${s.withinLimits.all} of ${s.frames}`]);
  const widths = head.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  console.log('total-energy error vs QE per frame and summary (meV/atom; E_F meV; forces eV/Å)');
  console.log(`within: frames with |total| ≤ ${limits.totalMeVPerAtom}, |band| ≤ ${limits.bandMeVPerAtom} meV/atom, |E_F| ≤ ${limits.fermiMeV} meV; all = the three at once`);
  for (const l of [head, ...lines]) console.log(l.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  '));
  if (detail) {
    const dHead = ['frame', 'total', 'band', 'rest', 'E_F', 'density %', 'QE F rms'];
    summaries.forEach((s, i) => {
      const dLines = [dHead, ...tables[i].map(frameDetail)];
      const w = dHead.map((_, k) => Math.max(...dLines.map((l) => l[k].length)));
      console.log(`\n${s.variant}: per frame (meV/atom; rest = total − band; E_F meV; density mean |error| %; QE's rms force eV/Å)`);
      for (const l of dLines) console.log(l.map((c, k) => (k === 0 ? c.padEnd(w[k]) : c.padStart(w[k]))).join('  '));
    });
  }
  if (out) fs.writeFileSync(out, JSON.stringify({ frames, variants: summaries }, null, 1) + '\n');
}

if (require.main === module) {
  try {
    main();
  } catch (e) {
    console.error(`variants-table: ${(e as Error).message}`);
    process.exit(1);
  }
}
