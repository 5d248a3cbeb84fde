/**
 * Statistics the benchmarks share (one copy: the benches had seven `median`s, two of which took
 * the lower middle for even counts).
 */

/** The median: the middle value, or the mean of the two middle values for an even count. */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) throw new Error('median of no values');
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * Each way timed once per round, the ways in turn within a round (interleaved, so a machine whose
 * speed drifts scales them alike): each timing printed as `round R: <label> <way>: S s`, then each
 * way's median. Returns the medians, seconds, by way.
 */
export async function timeWaysInterleaved(ways: [string, () => Promise<unknown>][], rounds: number, label: string): Promise<Map<string, number>> {
  const seconds = new Map<string, number[]>(ways.map(([w]) => [w, []]));
  for (let r = 1; r <= rounds; r++) {
    for (const [way, run] of ways) {
      const t0 = Date.now();
      await run();
      const s = (Date.now() - t0) / 1000;
      seconds.get(way)!.push(s);
      console.log(`round ${r}: ${label} ${way}: ${s.toFixed(1)} s`);
    }
  }
  const medians = new Map([...seconds].map(([way, s]) => [way, median(s)]));
  for (const [way, s] of medians) console.log(`median, ${way}: ${s.toFixed(1)} s`);
  return medians;
}
