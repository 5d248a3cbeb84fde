/** Memory of this process, for reports and benchmarks. */
import * as fs from 'node:fs';

/** Peak resident set size of this process in MB (Linux VmHWM), or current RSS elsewhere. */
export function peakRssMb(): number {
  try {
    const m = /VmHWM:\s+(\d+)\s+kB/.exec(fs.readFileSync('/proc/self/status', 'utf8'));
    if (m) return Number(m[1]) / 1024;
  } catch {
    // not Linux
  }
  return process.memoryUsage().rss / 1048576;
}
