#!/usr/bin/env node
// Summarises a scripts/gpu-check.sh run: the addon's inference points/s on CPU and GPU per net and
// batch, the GPU figures as % of the GPU's measured sgemm peak (fp32 and tf32, scripts/gpu-peak.py)
// and against PyTorch itself, the predict agreement and time split. Reads $OUT/*.json; writes
// report.md and report.json there. Missing inputs (no GPU) are left out and said so.
//   node scripts/gpu-report.js OUT_DIR
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const dir = process.argv[2];
const read = (f) => {
  try {
    return JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8'));
  } catch {
    return undefined;
  }
};
const cpu = read('bench-cpu.json');
const gpu = read('bench-cuda.json');
const peak = read('gpu-peak.json');
const cmp = read('predict-compare.json');
const steps = read('steps.json');
const lines = ['# GPU check report', ''];
if (steps) lines.push(`Steps: ${steps.map((s) => `${s.name} ${s.status}`).join(', ')}.`, '');
if (peak) lines.push(`GPU: ${peak.device} (PyTorch ${peak.torch}, CUDA ${peak.cuda}); measured sgemm 8192³: fp32 ${peak.sgemm.fp32.tflops.toFixed(1)} TFLOP/s, tf32 ${peak.sgemm.tf32.tflops.toFixed(1)} TFLOP/s.`, '');

const rows = [];
const key = (r) => `${r.net}|${r.batch}`;
const cpuBy = new Map((cpu?.inference ?? []).map((r) => [key(r), r]));
const pyBy = new Map((peak?.pytorch_inference ?? []).map((r) => [key(r), r]));
const all = [...(gpu?.inference ?? []), ...(cpu?.inference ?? []).filter((r) => !(gpu?.inference ?? []).some((g) => key(g) === key(r)))];
lines.push('| net | batch | CPU points/s | GPU points/s | GPU/CPU | GPU TFLOP/s | % of fp32 peak | % of tf32 peak | PyTorch resident / with copies (points/s) |', '|---|---|---|---|---|---|---|---|---|');
const m = (x) => (x === undefined ? '—' : x >= 1e6 ? `${(x / 1e6).toFixed(2)} M` : `${(x / 1e3).toFixed(1)} k`);
for (const r of all) {
  const c = cpuBy.get(key(r));
  const g = gpu ? r : undefined;
  const py = pyBy.get(key(r));
  const tf = g ? g.gflops / 1e3 : undefined;
  const row = {
    net: r.net, batch: r.batch, cpuPointsPerS: c?.pointsPerSecond, gpuPointsPerS: g?.pointsPerSecond, gpuTflops: tf,
    pctFp32: tf !== undefined && peak ? (100 * tf) / peak.sgemm.fp32.tflops : undefined,
    pctTf32: tf !== undefined && peak ? (100 * tf) / peak.sgemm.tf32.tflops : undefined,
    pytorchResident: py?.resident_points_per_s, pytorchWithCopies: py?.with_copies_points_per_s,
  };
  rows.push(row);
  const pct = (x) => (x === undefined ? '—' : `${x.toFixed(1)} %`);
  lines.push(`| ${r.net} | ${r.batch} | ${m(row.cpuPointsPerS)} | ${m(row.gpuPointsPerS)} | ${row.gpuPointsPerS && row.cpuPointsPerS ? (row.gpuPointsPerS / row.cpuPointsPerS).toFixed(1) + '×' : '—'} | ${tf === undefined ? '—' : tf.toFixed(2)} | ${pct(row.pctFp32)} | ${pct(row.pctTf32)} | ${m(row.pytorchResident)} / ${m(row.pytorchWithCopies)} |`);
}
if (!gpu) lines.push('', 'No GPU figures: this run had no GPU (SKIPPED).');
for (const [name, b] of [['CPU', cpu], ['GPU', gpu]]) {
  if (!b?.training?.length) continue;
  lines.push('', `Training (${name}, one Adam step): ${b.training.map((t) => `${t.net} batch ${t.batch}: ${m(t.samplesPerSecond)} samples/s`).join('; ')}.`);
}
if (cmp) {
  lines.push('', `Predict agreement (${cmp.reference.device?.name} vs ${cmp.other.device?.name}, ${cmp.tolerance}): ${cmp.ok ? 'within tolerance' : 'OUTSIDE tolerance'}.`);
  for (const r of cmp.rows) lines.push(`- ${r.key}: ${r.reference} vs ${r.other}, Δ = ${r.diff === undefined ? r.note : r.diff.toExponential(2)} eV`);
  for (const side of [cmp.reference, cmp.other]) lines.push(`- time split on ${side.device?.name}: descriptors ${side.descriptors_s?.toFixed(3)} s, network ${side.network_s?.toFixed(3)} s, total ${side.total_s?.toFixed(2)} s`);
}
fs.writeFileSync(path.join(dir, 'report.md'), lines.join('\n') + '\n');
fs.writeFileSync(path.join(dir, 'report.json'), JSON.stringify({ rows, gpu: peak ? { device: peak.device, sgemm: peak.sgemm } : null, predict: cmp ?? null, steps: steps ?? null }, null, 2) + '\n');
console.log(lines.join('\n'));
