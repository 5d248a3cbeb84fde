/**
 * The Al model's LDOS on two devices, value by value: shows that the two runs are two
 * computations (some values differ in their last bits) that agree within float32 tolerance.
 *   npx tsx scripts/gpu-agreement.ts DESCRIPTORS.npy [MODEL.zip] [deviceA] [deviceB]   → JSON on stdout
 * Descriptors as predict --descriptors takes them ((nx,ny,nz,F) with F = the model's features
 * plus, for MALA's files, 3 leading coordinate columns, which are dropped here).
 */
import { NpyFile } from '../src/io/npy';
import { loadModel } from '../src/network/model';

async function main(): Promise<void> {
  const [file, modelFile = 'models/al-fcc-298K/model.zip', devA = 'cpu', devB = 'cuda'] = process.argv.slice(2);
  if (!file || file === '--help') {
    console.log('usage: tsx scripts/gpu-agreement.ts DESCRIPTORS.npy [MODEL.zip] [deviceA] [deviceB]');
    return;
  }
  const npy = new NpyFile(file);
  const raw = npy.readRows(0, npy.rowCount) as Float32Array;
  const a = loadModel(modelFile, { backend: 'torch', device: devA });
  const b = loadModel(modelFile, { backend: 'torch', device: devB });
  const nF = a.nFeatures;
  const skip = npy.rowLength - nF;
  const n = npy.rowCount;
  const x = new Float32Array(n * nF);
  for (let i = 0; i < n; i++) x.set(raw.subarray(i * npy.rowLength + skip, (i + 1) * npy.rowLength), i * nF);
  const ya = await a.predictLdos(x, n);
  const yb = await b.predictLdos(x, n);
  let differing = 0, maxDiff = 0, maxValue = 0;
  for (let i = 0; i < ya.length; i++) {
    const d = Math.abs(ya[i] - yb[i]);
    if (d > 0) differing++;
    maxDiff = Math.max(maxDiff, d);
    maxValue = Math.max(maxValue, Math.abs(ya[i]));
  }
  console.log(JSON.stringify({ a: a.deviceChoice(), b: b.deviceChoice(), points: n, values: ya.length, differing_values: differing, max_abs_diff: maxDiff, relative: maxDiff / maxValue }, null, 1));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
