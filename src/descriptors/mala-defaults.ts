/**
 * MALA's bispectrum defaults (spec §2.1), written down once: in our parameter names for the
 * descriptor calculator, and in the model file's names. No native code here, so the network layer
 * (MALA import, training) reads them without loading LAMMPS' bindings.
 */
import type { BispectrumParameters } from './bispectrum-parameters';

/** MALA's element radius (LAMMPS radelem), the same for every element. */
export const malaElementRadius = 0.5;

/** MALA's defaults (spec §2.1): the one place they are written down. */
export const malaBispectrumDefaults: Readonly<BispectrumParameters> = Object.freeze({
  twojmax: 10,
  rcutfacAngstrom: 4.67637,
  rfac0: 0.99363,
  rmin0Angstrom: 0,
  switchflag: 1,
  bzeroflag: 0,
  quadraticflag: 0,
});

/**
 * The same defaults as a model file records them (`DescriptorParameters` in src/network/model.ts,
 * MALA's names): what training, MALA import and the benchmarks start from.
 */
export const malaModelDescriptorDefaults = Object.freeze({
  type: 'Bispectrum' as const,
  twojmax: malaBispectrumDefaults.twojmax,
  rcutfac: malaBispectrumDefaults.rcutfacAngstrom,
  switchflag: malaBispectrumDefaults.switchflag as number,
  elementWeights: null as number[] | null,
  rfac0: malaBispectrumDefaults.rfac0,
  rmin0: malaBispectrumDefaults.rmin0Angstrom,
  radelem: malaElementRadius,
  bzeroflag: malaBispectrumDefaults.bzeroflag as number,
  quadraticflag: malaBispectrumDefaults.quadraticflag as number,
});
