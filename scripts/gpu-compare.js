#!/usr/bin/env node
// Compares two `mala-ts predict --json` outputs (the CPU run and the GPU run of scripts/gpu-check.sh):
// E_F, E_band and E_total within float32 tolerance, |Δ| ≤ 1e-6·|E| + 1e-5 eV. The network runs in
// float32 (relative rounding 6e-8 per operation, summed over the layers in an order that differs
// between devices); everything after it is float64. For scale: the CPU libtorch and the plain-TS
// network, two float32 summation orders, differ by 2e-8 eV (E_F) and 1.3e-7 eV (E_band, E_total)
// on this example.
//   node scripts/gpu-compare.js cpu.json gpu.json   → JSON on stdout; exit 1 when outside tolerance
'use strict';
const fs = require('node:fs');

const [fileA, fileB] = process.argv.slice(2);
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
const timings = (j) => ({ device: j.device, descriptors_s: j.timings_s?.descriptors_s, network_s: j.timings_s?.network_s, total_s: j.timings_s?.total_s });
const out = { reference: { file: fileA, ...timings(a) }, other: { file: fileB, ...timings(b) }, tolerance: '|Δ| ≤ 1e-6·|E| + 1e-5 eV', ok: rows.every((r) => r.ok), rows };
console.log(JSON.stringify(out, null, 2));
process.exit(out.ok ? 0 : 1);
