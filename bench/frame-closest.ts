/**
 * How many frames of a data set have close pairs of atoms (issues 16 and 18; a data-set survey, not
 * a test): the closest two atoms' distance (Å, periodic images included) of every pw.x input in a
 * folder, per group of frames the count below a threshold, the smallest and the median.
 * `make al-broad-inputs` writes the inputs of every broad-aluminium frame in seconds (EAM MD only),
 * so a set can be surveyed before its QE runs.
 *
 *   npx tsx bench/frame-closest.ts --inputs DIR [--below 2.48] [--groups 'NAME=REGEX;...'] [--list] [--out closest.json]
 *
 * A frame is <name>_0.pw.scf.in (as sample writes a one-frame run) or <name>.pw.scf.in; it joins
 * the first group whose regular expression matches its name (variants-table's --groups), frames
 * no group matches form "other". --list prints every frame's distance, closest first.
 */
import * as fs from 'node:fs';
import { arg, helpIfAsked } from './help';
import { closestFromInput, groupByFirstMatch, parseGroups } from './variants-table';

// only when run: a benchmark that imports this one prints its own help
if (require.main === module) helpIfAsked(__filename);

export interface GroupCloseness {
  group: string;
  frames: number;
  below: number;
  minAngstrom: number;
  medianAngstrom: number;
}

/** Frame names of the pw.x inputs in `dir` (<name>_0.pw.scf.in or <name>.pw.scf.in), sorted. */
export function frameNames(dir: string): string[] {
  return fs.readdirSync(dir).map((f) => /^(.+?)(_0)?\.pw\.scf\.in$/.exec(f)?.[1]).filter((n): n is string => !!n).sort();
}

/** Per group (first match wins, then "other"): frames, how many closer than `belowAngstrom`, min and median. */
export function groupCloseness(closest: Map<string, number>, groups: { name: string; pattern: RegExp }[], belowAngstrom: number): GroupCloseness[] {
  return groupByFirstMatch(closest, ([name]) => name, groups).map(([group, members]) => {
    const s = members.map(([, d]) => d).sort((a, b) => a - b);
    const mid = s.length >> 1;
    return { group, frames: s.length, below: s.filter((d) => d < belowAngstrom).length, minAngstrom: s[0], medianAngstrom: s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2 };
  });
}

function main(): void {
  const dir = arg('inputs');
  if (!fs.existsSync(dir)) throw new Error(`--inputs ${dir}: no such folder (make al-broad-inputs writes the frames' pw.x inputs)`);
  const below = Number(arg('below', '2.48'));
  if (!(below > 0)) throw new Error(`--below ${arg('below', '')} must be a positive distance in Å`);
  const groups = parseGroups(arg('groups', ''));
  const out = arg('out', '');
  const closest = new Map<string, number>();
  for (const name of frameNames(dir)) {
    const d = closestFromInput(dir, name);
    if (d !== undefined) closest.set(name, d);
  }
  if (closest.size === 0) throw new Error(`${dir}: no <name>_0.pw.scf.in or <name>.pw.scf.in there`);
  if (process.argv.includes('--list')) {
    for (const [name, d] of [...closest].sort((a, b) => a[1] - b[1])) console.log(`${name.padEnd(24)} ${d.toFixed(3)} Å`);
    console.log('');
  }
  const rows = groupCloseness(closest, groups, below);
  const head = ['group', 'frames', `closer than ${below} Å`, 'min Å', 'median Å'];
  const lines = rows.map((r) => [r.group, String(r.frames), String(r.below), r.minAngstrom.toFixed(3), r.medianAngstrom.toFixed(3)]);
  const w = head.map((h, k) => Math.max(h.length, ...lines.map((l) => l[k].length)));
  for (const l of [head, ...lines]) console.log(l.map((c, k) => (k === 0 ? c.padEnd(w[k]) : c.padStart(w[k]))).join('  '));
  if (out) fs.writeFileSync(out, JSON.stringify({ inputs: dir, belowAngstrom: below, groups: rows, frames: Object.fromEntries(closest) }, null, 1) + '\n');
}

if (require.main === module) {
  try {
    main();
  } catch (e) {
    console.error(`frame-closest: ${(e as Error).message}`);
    process.exit(1);
  }
}
