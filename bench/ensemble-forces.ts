/**
 * What more ensemble members would do to the forces (issue 16; an analysis, not a test): from
 * `mala-ts test --forces --json` tables of an ensemble and of each of its members (`mala-ts
 * ensemble --split` writes the members as models), per group of frames: each member's force RMSE
 * against QE, the ensemble's, how large the ensemble's forces are against QE's (rms, and α, the
 * scale that best maps them onto QE's: α < 1 means too large; cos, the cosine between the two
 * force vectors: their direction), and the split of the error of the
 * members' mean force into a part the members share and a part each has on its own:
 *
 *   MSE(mean of M members) = common + independent / M,
 *   independent = the members' variance about their mean (unbiased, per component),
 *
 * so that the RMSE of M members is √(common + independent/M): printed for M = 10 and M → ∞.
 * The ensemble's own forces are those of its mean LDOS's energy, not the mean of its members'
 * forces; the table prints both.
 *
 *   npx tsx bench/ensemble-forces.ts --ensemble A.json[,B.json] --members 'A1.json,B1.json;A2.json,B2.json;...'
 *       [--groups 'NAME=REGEX;...'] [--out ensemble-forces.json]
 *
 * --members: one entry per member (';' between members), each the same tables as --ensemble (','
 * between tables) with that member alone; rows are matched by snapshot name, and a frame joins the
 * first group whose regular expression matches its name (variants-table's --groups).
 */
import * as fs from 'node:fs';
import { arg, helpIfAsked } from './help';
import { groupByFirstMatch, parseGroups } from './variants-table';
import { requireRowForcesEvPerA } from '../src/workflow/tester-report';

// only when run: a benchmark that imports this one prints its own help
if (require.main === module) helpIfAsked(__filename);

/** One frame's forces, flattened (3N components, eV/Å): QE's, the ensemble's, and each member's. */
export interface FrameForces {
  name: string;
  qe: number[];
  ensemble: number[];
  members: number[][];
}

export interface EnsembleForceSplit {
  group: string;
  frames: number;
  qeRmsEvPerA: number;
  memberRmseEvPerA: number[];
  ensembleRmseEvPerA: number;
  ensembleRmsEvPerA: number;
  /**
   * argmin_α |F_QE − α·F_ensemble|. Below 1 when the forces are too large, but also when the error
   * e = F_ensemble − F_QE is independent of QE's forces: then α = |F_QE|²/(|F_QE|² + |e|²)
   * (`alphaIfIndependent`), so read it beside `slope`.
   */
  alpha: number;
  /** α for an error independent of QE's forces, |F_QE|²/(|F_QE|² + |e|²). */
  alphaIfIndependent: number;
  /** argmin_s |F_ensemble − s·F_QE|: the ensemble's forces against QE's; above 1 too large (too steep), 1 with an independent error. */
  slope: number;
  /** Cosine between the ensemble's and QE's force vectors (all components of the group). */
  cosine: number;
  meanOfMembersRmseEvPerA: number;
  commonEvPerA: number;
  independentEvPerA: number;
  rmseTenMembersEvPerA: number;
  rmseManyMembersEvPerA: number;
}

const rms = (xs: readonly number[]) => Math.sqrt(xs.reduce((s, x) => s + x * x, 0) / xs.length);
const diff = (a: readonly number[], b: readonly number[]) => a.map((x, i) => x - b[i]);

/** The split above for a set of frames (every frame with the same number of members, two or more). */
export function ensembleForceSplit(group: string, frames: readonly FrameForces[]): EnsembleForceSplit {
  const M = frames[0].members.length;
  if (M < 2 || frames.some((f) => f.members.length !== M)) throw new Error(`${group}: every frame needs the same two or more members`);
  const qe = frames.flatMap((f) => f.qe);
  const ens = frames.flatMap((f) => f.ensemble);
  const members = Array.from({ length: M }, (_, m) => frames.flatMap((f) => f.members[m]));
  const mean = qe.map((_, i) => members.reduce((s, p) => s + p[i], 0) / M);
  const mseMean = rms(diff(mean, qe)) ** 2;
  const independent = (members.reduce((s, p) => s + rms(diff(p, mean)) ** 2, 0) / M) * (M / (M - 1));
  const common = Math.max(0, mseMean - independent / M);
  const dot = (a: readonly number[], b: readonly number[]) => a.reduce((s, x, i) => s + x * b[i], 0);
  return {
    group,
    frames: frames.length,
    qeRmsEvPerA: rms(qe),
    memberRmseEvPerA: members.map((p) => rms(diff(p, qe))),
    ensembleRmseEvPerA: rms(diff(ens, qe)),
    ensembleRmsEvPerA: rms(ens),
    alpha: dot(ens, qe) / dot(ens, ens),
    alphaIfIndependent: dot(qe, qe) / (dot(qe, qe) + dot(diff(ens, qe), diff(ens, qe))),
    slope: dot(ens, qe) / dot(qe, qe),
    cosine: dot(ens, qe) / Math.sqrt(dot(ens, ens) * dot(qe, qe)),
    meanOfMembersRmseEvPerA: Math.sqrt(mseMean),
    commonEvPerA: Math.sqrt(common),
    independentEvPerA: Math.sqrt(independent),
    rmseTenMembersEvPerA: Math.sqrt(common + independent / 10),
    rmseManyMembersEvPerA: Math.sqrt(common),
  };
}

/** name → forces of the rows of some `mala-ts test --forces --json` tables. */
export function forcesOfTables(files: readonly string[]): Map<string, { model: number[]; qe: number[] }> {
  const out = new Map<string, { model: number[]; qe: number[] }>();
  for (const file of files) {
    const table = JSON.parse(fs.readFileSync(file, 'utf8')) as { snapshots?: Record<string, unknown>[] };
    for (const row of table.snapshots ?? []) {
      const f = requireRowForcesEvPerA(row, file);
      out.set(String(row.name), { model: f.model.flat(), qe: f.qe.flat() });
    }
  }
  return out;
}

function main(): void {
  const ensemble = forcesOfTables(arg('ensemble').split(',').filter(Boolean));
  const members = arg('members').split(';').filter(Boolean).map((m) => forcesOfTables(m.split(',').filter(Boolean)));
  if (members.length < 2) throw new Error(`--members: ${members.length} member given; the split needs two or more (';' between members)`);
  const groups = parseGroups(arg('groups', ''));
  const out = arg('out', '');
  const frames: FrameForces[] = [];
  for (const [name, e] of ensemble) {
    const ms = members.map((m) => m.get(name));
    if (ms.some((m) => !m)) continue;
    ms.forEach((m, k) => {
      if (m!.qe.length !== e.qe.length || m!.qe.some((x, i) => x !== e.qe[i])) throw new Error(`${name}: member ${k + 1}'s table has other QE forces than the ensemble's (another frame of that name?)`);
    });
    frames.push({ name, qe: e.qe, ensemble: e.model, members: ms.map((m) => m!.model) });
  }
  if (frames.length === 0) throw new Error('no frame is in the ensemble\'s table and every member\'s');
  const rows = groupByFirstMatch(frames, (f) => f.name, groups).map(([g, fs_]) => ensembleForceSplit(g, fs_));
  const head = ['group', 'frames', 'QE rms', 'members RMSE', 'ensemble RMSE', 'its rms', 'α', 'α indep.', 'slope', 'cos', 'mean of members', 'common', 'independent', 'M=10', 'M→∞'];
  const f3 = (x: number) => x.toFixed(3);
  const lines = rows.map((r) => [r.group, String(r.frames), f3(r.qeRmsEvPerA), r.memberRmseEvPerA.map(f3).join(' '), f3(r.ensembleRmseEvPerA), f3(r.ensembleRmsEvPerA), r.alpha.toFixed(2), r.alphaIfIndependent.toFixed(2), r.slope.toFixed(2), r.cosine.toFixed(2), f3(r.meanOfMembersRmseEvPerA), f3(r.commonEvPerA), f3(r.independentEvPerA), f3(r.rmseTenMembersEvPerA), f3(r.rmseManyMembersEvPerA)]);
  const w = head.map((h, k) => Math.max(h.length, ...lines.map((l) => l[k].length)));
  for (const l of [head, ...lines]) console.log(l.map((x, k) => (k === 0 ? x.padEnd(w[k]) : x.padStart(w[k]))).join('  '));
  console.log('(eV/Å; α: the scale that best maps the ensemble\'s forces onto QE\'s, and what it is for an error independent of QE\'s forces; slope: the ensemble\'s forces against QE\'s, above 1 = too large; M=10, M→∞: the RMSE of the mean of that many members, extrapolated)');
  if (out) fs.writeFileSync(out, JSON.stringify({ groups: rows }, null, 1) + '\n');
}

if (require.main === module) {
  try {
    main();
  } catch (e) {
    console.error(`ensemble-forces: ${(e as Error).message}`);
    process.exit(1);
  }
}
