/**
 * One table of several trained model variants side by side (issues 16 and 18; a benchmark, not a
 * test): per variant, the `mala-ts test --forces --json` table of the validation frames and,
 * when given, the bench/eos-scan.ts JSON of the same model. `make al-broad-variants` writes both
 * and calls this.
 *
 *   npx tsx bench/variants-table.ts --variants NAME=TEST.json[:EOS.json],... [--max-error total-qe=5,band-qe=5,fermi-qe=20] [--detail]
 *       [--groups 'NAME=REGEX;NAME=REGEX;...'] [--inputs DIR] [--out variants.json]
 *
 * Columns: per frame the total-energy error against QE (meV/atom); over all frames the mean and
 * largest |total| and |band| error (meV/atom), the largest |E_F| error (meV), the mean force RMSE
 * (eV/Å) beside QE's own rms force, and from the scan the largest departure of E(a) from a cubic
 * (meV/atom); and how many frames are within issue 18's limits (|total| and |band| ≤ 5 meV/atom,
 * |E_F| ≤ 20 meV against QE; --max-error as mala-ts test's), each apart and all at once, since the
 * issue judges every frame, not the mean. A frame that one variant's table lacks is a blank
 * there, and the means and counts are over the frames each table has.
 *
 * --detail adds, per variant, one line per frame: the total, band and the rest (total − band: the
 * Hartree, XC, entropy and Ewald terms, which the density carries) in meV/atom, E_F in meV, the
 * density's mean absolute error in %, the force RMSE against QE (eV/Å), and QE's rms force (eV/Å) and
 * the closest two atoms' distance (Å) as measures of the frame's disorder (tables written before
 * mala-ts test reported that distance get it from --inputs DIR: <frame>_0.pw.scf.in or
 * <frame>.pw.scf.in there, e.g. the inputs `make al-broad-inputs` writes);
 * where the table has the terms (mala-ts test's terms_mev_per_atom), the rest against the target
 * LDOS split into its density part (Hartree + XC + the double counting −∫n·v_Hxc) and −TS.
 *
 * --groups adds, per variant, the arithmetic means over groups of frames: the density's mean
 * absolute error (%), |total|, |band| and |rest| (meV/atom). A frame joins the first group whose
 * regular expression matches its name (e.g. 'held hot=^h8at_(774|841|730)K;fit hot=^h8at;cool=^c8at');
 * frames no group matches form "other". The means go into --out's JSON too.
 */
import * as fs from 'node:fs';
import { checkLimitsJson, LIMIT_QUANTITIES, parseMaxError, type ErrorLimits, type LimitQuantity } from '../src/workflow/tester-report';
import { arg, helpIfAsked } from './help';
import * as path from 'node:path';
import { parseQeInput } from '../src/structure/qe-input';
import { closestDistanceAngstrom } from '../src/structure/atom-distances';

// only when run: a benchmark that imports this one prints its own help
if (require.main === module) helpIfAsked(__filename);

interface Row {
  name: string;
  total_qe_mev_per_atom: number;
  band_qe_mev_per_atom: number;
  fermi_qe_mev: number;
  force_rmse_ev_per_angstrom?: number;
  qe_force_rms_ev_per_angstrom?: number;
  density_mape_percent?: number;
  closest_atoms_angstrom?: number;
  terms_mev_per_atom?: Record<string, number>;
}

/** total − band against QE, meV/atom: the error the density's terms (Hartree, XC, −TS) carry. */
const restMeVPerAtom = (r: Row): number => r.total_qe_mev_per_atom - r.band_qe_mev_per_atom;

/** One frame's errors split into the band energy and the rest, beside its density error and disorder. */
export function frameDetail(r: Row): string[] {
  const signed = (v: number | undefined): string => (v === undefined ? '' : (v >= 0 ? '+' : '') + v.toFixed(1));
  const plain = (v: number | undefined): string => (v === undefined ? '' : v.toFixed(2));
  const t = r.terms_mev_per_atom;
  // the rest's parts against the target LDOS (the Ewald term is the atoms', the same on both sides)
  const densityPart = t ? t.e_hartree + t.e_xc + t.e_rho_times_v_hxc : undefined;
  return [r.name, signed(r.total_qe_mev_per_atom), signed(r.band_qe_mev_per_atom), signed(restMeVPerAtom(r)),
    signed(densityPart), signed(t?.e_entropy), signed(r.fermi_qe_mev), plain(r.density_mape_percent), plain(r.force_rmse_ev_per_angstrom), plain(r.qe_force_rms_ev_per_angstrom),
    r.closest_atoms_angstrom === undefined ? '' : r.closest_atoms_angstrom.toFixed(3)];
}

/**
 * The closest two atoms' distance of rows whose table lacks it, from the frame's pw.x input in
 * `dir` (<name>_0.pw.scf.in, as sample writes a one-frame run, or <name>.pw.scf.in); rows with
 * neither keep none.
 */
export function closestFromInputs(rows: Row[], dir: string): Row[] {
  return rows.map((r) => {
    if (r.closest_atoms_angstrom !== undefined) return r;
    const d = closestFromInput(dir, r.name);
    return d === undefined ? r : { ...r, closest_atoms_angstrom: d };
  });
}

/** The closest two atoms' distance (Å) in frame `name`'s pw.x input in `dir`, or undefined without one. */
export function closestFromInput(dir: string, name: string): number | undefined {
  const file = [`${name}_0.pw.scf.in`, `${name}.pw.scf.in`].map((f) => path.join(dir, f)).find((f) => fs.existsSync(f));
  return file ? closestDistanceAngstrom(parseQeInput(fs.readFileSync(file, 'utf8'), file).atoms) : undefined;
}

const mean = (v: number[]): number => v.reduce((s, x) => s + x, 0) / v.length;

export interface GroupMeans {
  group: string;
  frames: string[];
  /** null where no frame of the group has a density error in its table */
  meanDensityErrorPercent: number | null;
  meanAbsTotalMeVPerAtom: number;
  meanAbsBandMeVPerAtom: number;
  meanAbsRestMeVPerAtom: number;
  /** the group's frames within every limit at once (issue 18's, or --max-error's) */
  withinAll: number;
  /** null where no frame of the group has forces in its table */
  meanForceRmseEvPerA: number | null;
}

/** --groups 'NAME=REGEX;NAME=REGEX': the named patterns, in order (the first match wins). */
export function parseGroups(spec: string): { name: string; pattern: RegExp }[] {
  return spec.split(';').map((g) => g.trim()).filter(Boolean).map((g) => {
    const eq = g.indexOf('=');
    if (eq <= 0 || eq === g.length - 1) throw new Error(`--groups: '${g}' is not NAME=REGEX (groups are separated by ';')`);
    try {
      return { name: g.slice(0, eq).trim(), pattern: new RegExp(g.slice(eq + 1)) };
    } catch (e) {
      throw new Error(`--groups: '${g.slice(eq + 1)}' is not a regular expression (${(e as Error).message})`);
    }
  });
}

/**
 * Items grouped by name: each joins the first group whose pattern matches its name, the rest form
 * "other"; groups in the given order, "other" last, empty groups left out.
 */
export function groupByFirstMatch<T>(items: Iterable<T>, nameOf: (item: T) => string, groups: { name: string; pattern: RegExp }[]): [string, T[]][] {
  const members = new Map<string, T[]>([...groups.map((g): [string, T[]] => [g.name, []]), ['other', []]]);
  for (const item of items) members.get(groups.find((g) => g.pattern.test(nameOf(item)))?.name ?? 'other')!.push(item);
  return [...members].filter(([, xs]) => xs.length > 0);
}

/** Arithmetic means per group of frames, in the groups' order, then "other" for frames no pattern matches. */
export function groupMeans(rows: Row[], groups: { name: string; pattern: RegExp }[], limits: ErrorLimits = parseMaxError(ISSUE18_LIMITS)): GroupMeans[] {
  return groupByFirstMatch(rows, (r) => r.name, groups).map(([group, rs]) => {
    const d = rs.filter((r) => typeof r.density_mape_percent === 'number').map((r) => r.density_mape_percent!);
    const s = summarize(group, rs, null, limits);
    return {
      withinAll: s.withinLimits.all,
      meanForceRmseEvPerA: s.meanForceRmseEvPerA,
      group,
      frames: rs.map((r) => r.name),
      meanDensityErrorPercent: d.length ? mean(d) : null,
      meanAbsTotalMeVPerAtom: mean(rs.map((r) => Math.abs(r.total_qe_mev_per_atom))),
      meanAbsBandMeVPerAtom: mean(rs.map((r) => Math.abs(r.band_qe_mev_per_atom))),
      meanAbsRestMeVPerAtom: mean(rs.map((r) => Math.abs(restMeVPerAtom(r)))),
    };
  });
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
  /** frames within each limit (by its --max-error name), and within all of them */
  withinLimits: Record<string, number> & { all: number };
}

/** Issue 18's per-frame limits, in mala-ts test's --max-error terms (make al-broad-table's AL_BROAD_LIMITS). */
export const ISSUE18_LIMITS = 'total-qe=5,band-qe=5,fermi-qe=20';

export function summarize(variant: string, rows: Row[], eosBumpMeVPerAtom: number | null, limits: ErrorLimits = parseMaxError(ISSUE18_LIMITS)): VariantSummary {
  if (rows.length === 0) throw new Error(`${variant}: its test table has no snapshot rows`);
  const f = rows.filter((r) => typeof r.force_rmse_ev_per_angstrom === 'number');
  // the same check as mala-ts test --max-error, on the table's JSON rows
  const failures = checkLimitsJson(rows as unknown as Record<string, unknown>[], limits);
  const failing = (q?: string): Set<string> => new Set(failures.filter((x) => q === undefined || x.quantity === q).map((x) => x.snapshot));
  const within = (q?: string): number => rows.length - failing(q).size;
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
    withinLimits: { ...Object.fromEntries(Object.keys(limits).map((q) => [q, within(q)])), all: within() },
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
  const limits = parseMaxError(arg('max-error', ISSUE18_LIMITS));
  const detail = process.argv.includes('--detail');
  const groups = parseGroups(arg('groups', ''));
  const inputs = arg('inputs', '');
  if (inputs && !fs.existsSync(inputs)) throw new Error(`--inputs ${inputs}: no such folder (make al-broad-inputs writes the frames' pw.x inputs)`);
  const tables: Row[][] = [];
  const summaries = specs.map((s) => {
    const eq = s.indexOf('=');
    if (eq <= 0) throw new Error(`--variants: '${s}' is not NAME=TEST.json[:EOS.json]`);
    const [testFile, eosFile] = s.slice(eq + 1).split(':');
    const table = readJson(testFile).snapshots as Row[] | undefined;
    if (!Array.isArray(table)) throw new Error(`${testFile}: no "snapshots" array (not a mala-ts test --json table)`);
    const rows = inputs ? closestFromInputs(table, inputs) : table;
    const bump = eosFile ? ((readJson(eosFile).largestBumpMeVPerAtom as number | undefined) ?? null) : null;
    tables.push(rows);
    return summarize(s.slice(0, eq), rows, bump, limits);
  });
  const frames = [...new Set(summaries.flatMap((s) => Object.keys(s.totalByFrame)))].sort();
  const fmt = (v: number | null | undefined, d: number): string => (v === null || v === undefined || Number.isNaN(v) ? '' : v.toFixed(d));
  const head = ['variant', ...frames.map((f) => f.split('_')[0]), 'mean|tot|', 'max|tot|', 'mean|band|', 'max|E_F|', 'F rmse', '(QE rms)', 'E(a) bump', `within ${Object.keys(limits).join('/')}/all`];
  const lines = summaries.map((s) => [s.variant, ...frames.map((f) => fmt(s.totalByFrame[f], 1)), fmt(s.meanAbsTotalMeVPerAtom, 1), fmt(s.maxAbsTotalMeVPerAtom, 1),
    fmt(s.meanAbsBandMeVPerAtom, 1), fmt(s.maxAbsFermiMeV, 0), fmt(s.meanForceRmseEvPerA, 2), fmt(s.meanQeForceRmsEvPerA, 2), fmt(s.eosBumpMeVPerAtom, 1),
    `${[...Object.keys(limits), 'all'].map((q) => s.withinLimits[q]).join('/')} of ${s.frames}`]);
  const widths = head.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  console.log('total-energy error vs QE per frame and summary (meV/atom; E_F meV; forces eV/Å)');
  console.log(`within: frames within each limit (${Object.entries(limits).map(([q, v]) => `${q} ${v} ${LIMIT_QUANTITIES[q as LimitQuantity].unit}`).join(', ')}) and within all at once`);
  for (const l of [head, ...lines]) console.log(l.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  '));
  if (detail) {
    const dHead = ['frame', 'total', 'band', 'rest', 'rest: H+xc+dc', '−TS', 'E_F', 'density %', 'F rmse', 'QE F rms', 'closest Å'];
    summaries.forEach((s, i) => {
      const dLines = [dHead, ...tables[i].map(frameDetail)];
      const w = dHead.map((_, k) => Math.max(...dLines.map((l) => l[k].length)));
      console.log(`\n${s.variant}: per frame (meV/atom; rest = total − band; its parts vs the target LDOS: H+xc+dc the density's terms, −TS the entropy's; E_F meV; density mean |error| %; force RMSE vs QE and QE's rms force eV/Å; closest two atoms Å)`);
      for (const l of dLines) console.log(l.map((c, k) => (k === 0 ? c.padEnd(w[k]) : c.padStart(w[k]))).join('  '));
    });
  }
  const means = groups.length ? summaries.map((s, i) => ({ variant: s.variant, groups: groupMeans(tables[i], groups, limits) })) : undefined;
  if (means) {
    const gHead = ['variant', 'group', 'n', 'density %', 'mean|tot|', 'mean|band|', 'mean|rest|', 'F rmse', 'within all'];
    const gLines = means.flatMap((m) => m.groups.map((g) => [m.variant, g.group, String(g.frames.length), fmt(g.meanDensityErrorPercent, 2),
      fmt(g.meanAbsTotalMeVPerAtom, 1), fmt(g.meanAbsBandMeVPerAtom, 1), fmt(g.meanAbsRestMeVPerAtom, 1), fmt(g.meanForceRmseEvPerA, 2), String(g.withinAll)]));
    const w = gHead.map((_, k) => Math.max(...[gHead, ...gLines].map((l) => l[k].length)));
    console.log('\nmeans per group of frames (density mean |error| %; |total|, |band|, |rest| meV/atom; force RMSE eV/Å; frames within all the limits)');
    for (const l of [gHead, ...gLines]) console.log(l.map((c, k) => (k < 2 ? c.padEnd(w[k]) : c.padStart(w[k]))).join('  '));
  }
  if (out) fs.writeFileSync(out, JSON.stringify({ frames, variants: summaries, ...(means ? { groups: means } : {}) }, null, 1) + '\n');
}

if (require.main === module) {
  try {
    main();
  } catch (e) {
    const fix = (e as { fix?: string }).fix;
    console.error(`variants-table: ${(e as Error).message}${fix ? ` (${fix})` : ''}`);
    process.exit(1);
  }
}
