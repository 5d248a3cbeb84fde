#!/usr/bin/env node
// Compares two `mala-ts predict --json` outputs (the CPU run and the GPU run of scripts/gpu-check.sh):
// E_F, E_band and E_total within float32 tolerance, |Δ| ≤ 1e-6·|E| + 1e-5 eV. The network runs in
// float32 (relative rounding 6e-8 per operation, summed over the layers in an order that differs
// between devices); everything after it is float64. For scale: the CPU libtorch and the plain-TS
// network, two float32 summation orders, differ by 2e-8 eV (E_F) and 1.3e-7 eV (E_band, E_total)
// on this example.
//   node scripts/gpu-compare.js cpu.json gpu.json [cpu-ldos.npy gpu-ldos.npy]   → JSON on stdout;
//   exit 1 when outside tolerance. With the two LDOS files (predict --out DIR --ldos) it also
//   reports max |ΔLDOS| point by point and how many values differ at all, so that agreement is
//   seen to come from two computations and not from one run twice (tolerance 1e-5 of the largest
//   value, as test/network/device.test.ts).
'use strict';
const fs = require('node:fs');

const [fileA, fileB, ldosA, ldosB] = process.argv.slice(2);
if (!fileA || !fileB) {
  console.error('usage: node scripts/gpu-compare.js reference.json other.json');
  process.exit(2);
}
const a = JSON.parse(fs.readFileSync(fileA, 'utf8'));
const b = JSON.parse(fs.readFileSync(fileB, 'utf8'));
const rows = ['fermi_energy_ev', 'band_energy_ev', 'total_energy_ev'].map((key) => {
  if (typeof a[key] !== 'number' || typeof b[key] !== 'number') return { key, ok: false, note: `missing in ${typeof a[key] !== 'number' ? fileA : fileB}` };
  const diff = b[key] - a[key];
  const tolerance = 1e-6 * Math.abs(a[key]) + 1e-5;
  return { key, reference: a[key], other: b[key], diff, tolerance, ok: Math.abs(diff) <= tolerance };
});
const timings = (j) => ({ device: j.device, ...(j.timings_s ?? {}) });
const out = { reference: { file: fileA, ...timings(a) }, other: { file: fileB, ...timings(b) }, tolerance: '|Δ| ≤ 1e-6·|E| + 1e-5 eV', ok: rows.every((r) => r.ok), rows };
if (ldosA && ldosB) {
  const x = readFloat32Npy(ldosA);
  const y = readFloat32Npy(ldosB);
  if (x.values.length !== y.values.length) out.ldos = { ok: false, note: `shapes differ: ${x.shape} vs ${y.shape}` };
  else {
    let maxDiff = 0, maxValue = 0, differing = 0;
    for (let i = 0; i < x.values.length; i++) {
      const d = Math.abs(x.values[i] - y.values[i]);
      if (d > maxDiff) maxDiff = d;
      if (d > 0) differing++;
      maxValue = Math.max(maxValue, Math.abs(x.values[i]));
    }
    out.ldos = { files: [ldosA, ldosB], shape: x.shape, values: x.values.length, differing_values: differing, max_abs_diff: maxDiff, max_abs_value: maxValue, relative: maxDiff / maxValue, tolerance: '1e-5 of the largest value', ok: maxDiff <= 1e-5 * maxValue };
  }
  out.ok = out.ok && out.ldos.ok;
}
console.log(JSON.stringify(out, null, 2));
process.exit(out.ok ? 0 : 1);

/** A little-endian float32 C-order .npy (what predict --ldos writes). */
function readFloat32Npy(file) {
  const buf = fs.readFileSync(file);
  const major = buf.readUInt8(6);
  const hlen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const start = major === 1 ? 10 : 12;
  const header = buf.toString('latin1', start, start + hlen);
  if (!/'descr':\s*'<f4'/.test(header) || /'fortran_order':\s*True/.test(header)) throw new Error(`${file}: not a C-order float32 .npy`);
  const shape = (/'shape':\s*\(([^)]*)\)/.exec(header)?.[1] ?? '').split(',').filter((t) => t.trim()).map(Number);
  const data = buf.subarray(start + hlen);
  return { shape, values: new Float32Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.length)) };
}
