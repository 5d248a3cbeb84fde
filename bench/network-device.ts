/**
 * Network throughput per device, as JSON: inference points/s of the libtorch addon's `predict`
 * (the path predict uses; on CUDA: pinned batched transfers both ways, included in the time) and
 * training samples/s (one Adam step), for the 91→400→400→400→250 net and MALA's Be net
 * (91→100→11), on each device asked for. scripts/gpu-check.sh runs it on CPU and GPU.
 *
 *   npx tsx bench/network-device.ts --device cpu,cuda --batches 8192,65536,262144,1048576 --out bench.json
 *
 * GFLOP/s counts 2·MACs per inferred point and 6·MACs per trained sample (spec/nn-backend-notes.md).
 * Each figure is the median of --reps timed runs after one warm-up. Inputs are random float32;
 * the output array is allocated once per batch size. No peak figures here: gpu-check.sh measures
 * the GPU's sgemm (fp32 and tf32) with PyTorch and divides.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import { loadTorchAddon } from '../bindings/torch';
import { createInferenceNet, createTrainableNet, netDeviceChoice } from '../src/network/backends';
import { initParameters, type NetworkSpec } from '../src/network/mlp';
import { Rng } from '../src/network/rng';
import { helpIfAsked } from './help';
import { benchNets as nets, macs, randomArray } from './nets';
import { median } from './stats';

helpIfAsked(__filename);

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : def;
}

const devices = arg('device', 'cpu').split(',');
const batches = arg('batches', '8192,65536').split(',').map(Number);
const reps = Number(arg('reps', '5'));
const trainBatches = arg('train-batches', '1000,8192').split(',').map(Number);
const outFile = arg('out', '');

/** Median wall seconds of n runs of f after one warm-up. */
async function medianRunSeconds(f: () => Promise<unknown>, n: number): Promise<number> {
  await f();
  const t: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = process.hrtime.bigint();
    await f();
    t.push(Number(process.hrtime.bigint() - t0) / 1e9);
  }
  return median(t);
}

async function main(): Promise<void> {
  const { addon, reason } = loadTorchAddon();
  if (!addon) throw new Error(`libtorch addon unavailable: ${reason}`);
  const info = addon.info();
  const rng = new Rng(1);
  const inference: Record<string, unknown>[] = [];
  const training: Record<string, unknown>[] = [];
  const deviceInfo: Record<string, unknown>[] = [];
  const none = new Float32Array(0);
  for (const device of devices) {
    for (const { name, spec } of nets) {
      const mac = macs(spec.layerSizes);
      const nIn = spec.layerSizes[0];
      const nOut = spec.layerSizes[spec.layerSizes.length - 1];
      const params = initParameters(spec, rng);
      const net = createInferenceNet(spec, params, { backend: 'torch', device });
      if (!deviceInfo.some((d) => d.requested === device)) deviceInfo.push({ requested: device, ...netDeviceChoice(net), addonDevice: net.device });
      net.setScaling({ inShift: none, inScale: none, outShift: none, outScale: none, restrict: 'none' });
      for (const batch of batches) {
        const x = randomArray(rng, batch * nIn);
        const y = new Float32Array(batch * nOut);
        const s = await medianRunSeconds(() => net.predict(x, batch, y), batch >= 1 << 20 && device === 'cpu' ? Math.min(reps, 3) : reps);
        const r = { net: name, device: net.device, batch, seconds: s, pointsPerSecond: batch / s, gflops: (2 * mac * batch) / s / 1e9 };
        inference.push(r);
        console.log(`${device} ${name} batch ${batch}: ${(r.pointsPerSecond / 1e6).toFixed(3)} M points/s, ${r.gflops.toFixed(1)} GFLOP/s (${(s * 1e3).toFixed(2)} ms)`);
      }
      const tnet = createTrainableNet(spec, params, { backend: 'torch', device });
      for (const tb of trainBatches) {
        const xt = randomArray(rng, tb * nIn);
        const yt = randomArray(rng, tb * nOut);
        const s = await medianRunSeconds(() => tnet.trainStep(xt, yt, tb), reps);
        training.push({ net: name, device: tnet.device, batch: tb, seconds: s, samplesPerSecond: tb / s, gflops: (6 * mac * tb) / s / 1e9 });
        console.log(`${device} ${name} train batch ${tb}: ${(tb / s / 1e3).toFixed(1)} k samples/s, ${((6 * mac * tb) / s / 1e9).toFixed(1)} GFLOP/s`);
      }
    }
  }
  const json = {
    what: 'libtorch addon predict (inference) and trainStep (training) throughput, medians',
    when: new Date().toISOString(),
    machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, loadAverage: os.loadavg(), node: process.version },
    addon: info,
    devices: deviceInfo,
    reps,
    inference,
    training,
  };
  if (outFile) fs.writeFileSync(outFile, JSON.stringify(json, null, 2) + '\n');
  else console.log(JSON.stringify(json, null, 2));
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
