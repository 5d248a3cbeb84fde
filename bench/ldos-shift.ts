/**
 * The LDOS's energy-axis shift (src/targets/ldos-shift.ts, every training frame's rows once per
 * `mala-ts train` / `finetune` run with an energy reference) against the row-at-a-time loop it
 * replaced, interleaved (not a test):
 *
 *   npx tsx bench/ldos-shift.ts [--points 25920] [--energies 151] [--rounds 5]
 *
 * Random non-negative rows (an 8-atom broad-Al frame has 25920 points of 151 energies), a shift of
 * 0.37 steps. Prints each round's seconds, the medians and their ratio, and whether the two
 * results are equal bit for bit.
 */
import { shiftLdosAxis, shiftOperator } from '../src/targets/ldos-shift';
import { arg, helpIfAsked } from './help';
import { median } from './stats';

helpIfAsked(__filename);

/** The loop before 2026-12-07: one point at a time, Σ_j M_kj·row_j for each energy k. */
function rowAtATime(ldos: Float32Array, count: number, steps: number): Float32Array {
  const m = shiftOperator(count, steps);
  const out = new Float32Array(ldos.length);
  const row = new Float64Array(count);
  for (let p = 0; p < ldos.length / count; p++) {
    const base = p * count;
    for (let j = 0; j < count; j++) row[j] = ldos[base + j];
    for (let k = 0; k < count; k++) {
      let v = 0;
      const mk = k * count;
      for (let j = 0; j < count; j++) v += m[mk + j] * row[j];
      out[base + k] = v > 0 ? v : 0;
    }
  }
  return out;
}

const points = Number(arg('points', '25920'));
const count = Number(arg('energies', '151'));
const rounds = Number(arg('rounds', '5'));
const ldos = new Float32Array(points * count);
for (let i = 0; i < ldos.length; i++) ldos[i] = Math.max(0, Math.sin(i * 0.37) + 0.3 * Math.cos(i * 1.3));
const steps = 0.37;
const spacingEv = 0.1;
const times: { before: number[]; now: number[] } = { before: [], now: [] };
let same = true;
for (let r = 1; r <= rounds; r++) {
  let t = performance.now();
  const a = rowAtATime(ldos, count, steps);
  times.before.push((performance.now() - t) / 1000);
  t = performance.now();
  const b = shiftLdosAxis(ldos, count, spacingEv, steps * spacingEv);
  times.now.push((performance.now() - t) / 1000);
  for (let i = 0; i < a.length && same; i++) same = a[i] === b[i];
  console.log(`round ${r}: row at a time ${times.before[r - 1].toFixed(3)} s, 4 points × 2 energies ${times.now[r - 1].toFixed(3)} s`);
}
const before = median(times.before);
const now = median(times.now);
console.log(`${points} points × ${count} energies: medians ${before.toFixed(3)} s against ${now.toFixed(3)} s (${(before / now).toFixed(2)}× faster); bit for bit equal: ${same}`);
