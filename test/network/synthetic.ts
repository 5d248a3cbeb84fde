/** Synthetic models and data for always-on network tests (no reference data needed). */
import { initParameters, forwardTs, type NetworkSpec } from '../../src/network/mlp';
import * as path from 'node:path';
import { saveModelData, type ModelData } from '../../src/network/model';
import { Rng } from '../../src/network/rng';
import { DataScaler } from '../../src/network/scalers';
import { makeEnergyGrid } from '../../src/targets/energy-grid';

export function randomArray(rng: Rng, n: number, lo = -1, hi = 1): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = lo + (hi - lo) * rng.uniform();
  return a;
}

export function makeModelData(seed: number, layerSizes = [14, 20, 9]): ModelData {
  const rng = new Rng(seed);
  const spec: NetworkSpec = { layerSizes, activations: [...layerSizes.slice(2).map(() => 'LeakyReLU' as const), null] };
  const nIn = layerSizes[0];
  const nOut = layerSizes[layerSizes.length - 1];
  return {
    spec,
    weights: initParameters(spec, rng),
    inputScaler: new DataScaler('feature-wise-standard').fit(randomArray(rng, 50 * nIn, 0, 10), nIn),
    outputScaler: new DataScaler('minmax').fit(randomArray(rng, 50 * nOut, 0, 0.05), nOut),
    descriptors: { type: 'Bispectrum', twojmax: 4, rcutfac: 4.67637, switchflag: 1, elementWeights: null, rfac0: 0.99363, rmin0: 0, radelem: 0.5, bzeroflag: 0, quadraticflag: 0 },
    energyGrid: makeEnergyGrid(-5, 2.5, nOut),
    restrictTargets: 'zero_out_negative',
    reference: { temperatureK: 300, electronsPerAtom: 2 },
  };
}

/**
 * A small random model archive for twojmax-4 descriptors (14) → 24 energies −5…18 eV, saved as
 * dir/model.zip: enough for predict to run end to end on the Al fixture in seconds.
 */
export function writeSmallPredictModel(dir: string): string {
  const m = makeModelData(11, [14, 16, 24]);
  m.energyGrid = makeEnergyGrid(-5, 1, 24);
  const file = path.join(dir, 'model.zip');
  saveModelData(file, m);
  return file;
}

/** Points whose "LDOS" is a fixed random teacher network of the descriptors (learnable). */
export function teacherData(seed: number, nPoints: number, nIn = 14, nOut = 9): { x: Float32Array; y: Float32Array; nPoints: number } {
  const rng = new Rng(seed);
  const spec: NetworkSpec = { layerSizes: [nIn, 16, nOut], activations: ['Tanh', 'Sigmoid'] };
  const teacher = initParameters(spec, new Rng(999));
  const x = randomArray(rng, nPoints * nIn, 0, 10);
  const y = forwardTs(spec, teacher, x.map((v) => v / 5 - 1), nPoints).map((v) => 0.05 * v);
  return { x, y, nPoints };
}
