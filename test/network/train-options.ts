import type { TrainOptions } from '../../src/network/trainer';
import { makeEnergyGrid } from '../../src/targets/energy-grid';

/** Options shared by the in-process and child-process training tests (synthetic 14 → 9 data). */
export function trainOptions(): TrainOptions {
  return {
    hiddenLayers: [24, 24],
    activation: 'LeakyReLU',
    activationOnOutput: false,
    epochs: 5,
    batchSize: 16,
    learningRate: 2e-3,
    weightDecay: 1e-5,
    seed: 42,
    lrScheduler: 'ReduceLROnPlateau',
    lrPatience: 1,
    descriptors: { type: 'Bispectrum', twojmax: 4, rcutfac: 4.67637, switchflag: 1, elementWeights: null, rfac0: 0.99363, rmin0: 0, radelem: 0.5, bzeroflag: 0, quadraticflag: 0 },
    energyGrid: makeEnergyGrid(-5, 2.5, 9),
  };
}
