/**
 * Observables from a large LDOS, streamed: time and peak memory for a synthetic
 * 108×108×108 = 1.26 M-point × 250-energy float32 LDOS (1.26 GB; the size of a 256-atom Al
 * snapshot), against what memory bandwidth allows on this machine. Peak RSS is the process's
 * high-water mark, reset just before the workflow starts.
 *
 *   npx tsx bench/observables.ts [--points-per-axis 108] [--energies 250] [--chunk POINTS] [--keep]
 *
 * The LDOS is written once to $TMPDIR (not timed), then read twice by the workflow (DOS pass,
 * density pass). References measured in the same process: (a) summing an in-memory float32
 * array (what one pass would cost if the data were already in RAM), (b) reading the file from
 * the page cache without decoding (pread into a Buffer).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { NpyStreamWriter } from '../src/io/npy';
import { makeEnergyGrid } from '../src/targets/energy-grid';
import { peakRssMb } from '../src/util/memory';
import { computeObservables } from '../src/workflow/observables';
import { helpIfAsked } from './help';

helpIfAsked(__filename);

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
}

const n = arg('points-per-axis', 108);
const nE = arg('energies', 250);
const chunk = arg('chunk', Math.floor((8 << 20) / (4 * arg('energies', 250))));
const points = n * n * n;
const bytes = points * nE * 4;
const file = path.join(os.tmpdir(), `mala-ts-bench-ldos-${n}-${nE}.npy`);

// Synthetic LDOS: smooth in space and energy, positive, ~2 electrons/atom-ish scale.
if (!fs.existsSync(file)) {
  const t = Date.now();
  const w = new NpyStreamWriter(file, [n, n, n, nE], 'float32');
  const rows = 16384;
  const buf = new Float32Array(rows * nE);
  for (let p0 = 0; p0 < points; p0 += rows) {
    const m = Math.min(rows, points - p0);
    for (let r = 0; r < m; r++) {
      const p = p0 + r;
      const amp = 0.01 * (1.2 + Math.sin(p * 1e-3));
      for (let e = 0; e < nE; e++) buf[r * nE + e] = amp * Math.sqrt(e + 1) / Math.sqrt(nE);
    }
    w.write(m === rows ? buf : buf.subarray(0, m * nE));
  }
  w.close();
  console.log(`wrote ${file} (${(bytes / 1e9).toFixed(2)} GB) in ${((Date.now() - t) / 1000).toFixed(1)} s (not timed)`);
}

function references(): void {
  // (b) page-cache read bandwidth, no decoding (the file was just read, so it is cached).
  {
    const fd = fs.openSync(file, 'r');
    const b = Buffer.alloc(chunk * nE * 4);
    const t = process.hrtime.bigint();
    let off = 0;
    const size = fs.fstatSync(fd).size;
    while (off < size) off += fs.readSync(fd, b, 0, Math.min(b.length, size - off), off) || size;
    const sec = Number(process.hrtime.bigint() - t) / 1e9;
    fs.closeSync(fd);
    console.log(`reference: page-cache read (pread ${(b.length / 2 ** 20).toFixed(1)} MiB blocks, no decoding): ${(size / sec / 1e9).toFixed(2)} GB/s`);
  }
  // (a) memory bandwidth: copy 256 MiB between preallocated arrays (read + write), best of 3;
  // and the same per-row, per-energy float64 summation the DOS pass does, on in-memory data.
  {
    const a = new Float32Array(64 * 2 ** 20);
    const c = new Float32Array(a.length);
    for (let i = 0; i < a.length; i++) a[i] = (i % 1000) * 1e-3;
    let copy = Infinity;
    let sum = Infinity;
    const sums = new Float64Array(nE);
    const rows = Math.floor(a.length / nE);
    for (let rep = 0; rep < 3; rep++) {
      let t = process.hrtime.bigint();
      c.set(a);
      copy = Math.min(copy, Number(process.hrtime.bigint() - t) / 1e9);
      t = process.hrtime.bigint();
      for (let r = 0; r < rows; r++) {
        const o = r * nE;
        for (let k = 0; k < nE; k++) sums[k] += a[o + k];
      }
      sum = Math.min(sum, Number(process.hrtime.bigint() - t) / 1e9);
    }
    console.log(`reference: memory copy ${((2 * a.byteLength) / copy / 1e9).toFixed(2)} GB/s (read+write, 1 thread); plain per-energy float64 sum of in-memory float32 ${(a.byteLength / sum / 1e9).toFixed(2)} GB/s`);
  }
}

/** Half the states the synthetic LDOS holds in the window (so E_F lies mid-window). */
function halfFilling(): number {
  const spacing = 0.1;
  const volume = 16.2 ** 3;
  let sumE = 0;
  for (let e = 0; e < nE; e++) sumE += Math.sqrt(e + 1) / Math.sqrt(nE);
  return 0.5 * volume * 0.012 * sumE * spacing;
}

// Reset the peak-RSS counter (Linux ≥ 4.0) so it measures the workflow only.
try {
  fs.writeFileSync('/proc/self/clear_refs', '5');
} catch {
  /* not Linux: peak includes the generation step */
}
const rssBefore = peakRssMb();
(async () => {
  const t = Date.now();
  const r = await computeObservables({
    ldos: { kind: 'npy', file },
    energyGrid: makeEnergyGrid(-10, 0.1, nE),
    cellAngstrom: [[16.2, 0, 0], [0, 16.2, 0], [0, 0, 16.2]],
    temperatureK: 2000,
    electrons: halfFilling(),
    chunkPoints: chunk,
  });
  const s = (Date.now() - t) / 1000;
  console.log(`LDOS ${n}×${n}×${n} × ${nE} float32 = ${(bytes / 1e9).toFixed(2)} GB, chunk ${chunk} points (${((chunk * nE * 4) / 2 ** 20).toFixed(1)} MiB)`);
  console.log(`E_F = ${r.fermiEnergyEv.toFixed(6)} eV, E_band = ${r.bandEnergyEv.toFixed(4)} eV, ∫n = ${r.densityElectrons.toFixed(6)}`);
  console.log(`DOS pass ${r.timingsS.dos_s.toFixed(2)} s (${(bytes / r.timingsS.dos_s / 1e9).toFixed(2)} GB/s), density pass ${r.timingsS.density_s.toFixed(2)} s (${(bytes / r.timingsS.density_s / 1e9).toFixed(2)} GB/s), total ${s.toFixed(2)} s`);
  console.log(`peak RSS ${peakRssMb().toFixed(0)} MiB (before the workflow: ${rssBefore.toFixed(0)} MiB; LDOS on disk ${(bytes / 2 ** 20).toFixed(0)} MiB, density ${(points * 8 / 2 ** 20).toFixed(0)} MiB)`);
  references();
  if (!process.argv.includes('--keep')) fs.rmSync(file);
})();
