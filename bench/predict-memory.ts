/**
 * Peak memory of `predict` against its --memory budget on a grid whose whole LDOS is larger than
 * the budget (issue 7).
 *
 *   npx tsx bench/predict-memory.ts [--grid 48,48,72] [--memory 64] [--energies 253] [--compare]
 *
 * Model: MALA's Be_model (91 → 100 → 11) with its last layer's rows repeated so that it predicts
 * `--energies` LDOS values per point (each of the 11 outputs k times, spacing 2.5/k eV): the LDOS
 * then has the size of MALA's 250-energy models, which the 11-energy Be model never reaches on a
 * grid small enough for this benchmark. The numbers it predicts are a blocky version of Be_model's;
 * only memory and time are measured here.
 *
 * Peak RSS (VmHWM) includes node, libtorch, LAMMPS and the model, which no budget covers; so a
 * small warm-up prediction (Be2's own 18×18×27 grid, LDOS spilled) runs first and its peak is the
 * baseline. Reported: baseline, peak after the large run, their difference against the budget,
 * and the LDOS size. `--compare` also runs the large grid with the LDOS kept in memory.
 */
import * as path from 'node:path';
import { LdosModel, loadModel, ModelData } from '../src/network/model';
import { parseGrid } from '../src/grid/grid';
import { peakRssMb } from '../src/util/memory';
import { predict, PredictResult } from '../src/workflow/predict';
import { helpIfAsked } from './help';

helpIfAsked(__filename);

const args = process.argv.slice(2);
const arg = (name: string, def: string): string => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] ? args[i + 1] : def;
};
const be2 = path.resolve(__dirname, '..', '..', 'shared', 'reference', 'be2');
const grid = parseGrid(arg('--grid', '48,48,72'));
const memoryMb = Number(arg('--memory', '64'));
const energies = Number(arg('--energies', '253'));

function widenedModel(): LdosModel {
  const base = loadModel(path.join(be2, 'Be_model.zip')).data;
  const sizes = base.spec.layerSizes;
  const nOut = sizes[sizes.length - 1];
  const k = Math.max(1, Math.round(energies / nOut));
  const hidden = sizes[sizes.length - 2];
  const w = base.weights;
  const [W, b] = [w[w.length - 2], w[w.length - 1]];
  const W2 = new Float32Array(nOut * k * hidden);
  const b2 = new Float32Array(nOut * k);
  for (let j = 0; j < nOut * k; j++) {
    const src = Math.floor(j / k);
    W2.set(W.subarray(src * hidden, (src + 1) * hidden), j * hidden);
    b2[j] = b[src];
  }
  const data: ModelData = {
    ...base,
    spec: { ...base.spec, layerSizes: [...sizes.slice(0, -1), nOut * k] },
    weights: [...w.slice(0, -2), W2, b2],
    energyGrid: { ...base.energyGrid, spacingEv: base.energyGrid.spacingEv / k, count: nOut * k },
  };
  return new LdosModel(data, `Be_model.zip widened to ${nOut * k} energies`);
}

const mb = (bytes: number): string => `${(bytes / 1048576).toFixed(1)} MB`;

async function run(label: string, g: number[], budget: number, model: LdosModel): Promise<PredictResult> {
  const t0 = performance.now();
  const r = await predict({ structureFile: path.join(be2, 'Be_snapshot0.out'), model, pseudoDir: be2, grid: g, memoryMb: budget });
  const points = g[0] * g[1] * g[2];
  console.log(
    `${label}: grid ${g.join('×')} (${points} points), budget ${budget} MB, LDOS ${mb(points * model.nEnergies * 4)} kept ${r.ldosStorage === 'memory' ? 'in memory' : 'on disk'}, ` +
      `${r.planesPerSlab} x-planes per slab, peak RSS ${r.peakRssMb.toFixed(1)} MB, ${((performance.now() - t0) / 1000).toFixed(1)} s ` +
      `(descriptors ${r.timingsS.descriptors_s?.toFixed(1)} s, network ${r.timingsS.network_s?.toFixed(1)} s), E_total ${r.totalEnergy?.totalEnergyEv.toFixed(4)} eV`,
  );
  return r;
}

async function main(): Promise<void> {
  const model = widenedModel();
  console.log(`model: ${model.source} (${model.nFeatures} → ${model.data.spec.layerSizes.slice(1).join(' → ')}); start RSS peak ${peakRssMb().toFixed(1)} MB`);
  // warm-up with its LDOS spilled too (2 MB budget), so the baseline holds no LDOS
  await run('warm-up', [18, 18, 27], 2, model);
  const baseline = peakRssMb();
  const big = await run('large', grid, memoryMb, model);
  const ldosBytes = grid[0] * grid[1] * grid[2] * model.nEnergies * 4;
  const over = big.peakRssMb - baseline;
  console.log(`\nbaseline peak (runtime + model + warm-up) ${baseline.toFixed(1)} MB; large run peak ${big.peakRssMb.toFixed(1)} MB`);
  console.log(`increase over baseline ${over.toFixed(1)} MB vs budget ${memoryMb} MB (${over <= memoryMb ? 'within' : 'OVER'} the budget); whole LDOS ${mb(ldosBytes)} = ${(ldosBytes / 1048576 / memoryMb).toFixed(1)}× the budget`);
  if (args.includes('--compare')) {
    const before = peakRssMb();
    const inMem = await run('large, LDOS in memory', grid, 4096, model);
    console.log(`LDOS in memory: peak ${inMem.peakRssMb.toFixed(1)} MB (+${(inMem.peakRssMb - before).toFixed(1)} MB over the previous peak); ΔE_total spill vs memory ${((inMem.totalEnergy?.totalEnergyEv ?? NaN) - (big.totalEnergy?.totalEnergyEv ?? NaN)).toExponential(2)} eV`);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
