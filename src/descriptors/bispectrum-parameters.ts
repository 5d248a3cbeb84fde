/**
 * The bispectrum's parameters and coefficient count (spec §2): plain data and arithmetic, no
 * LAMMPS, so that training, model checks and MALA's defaults can use them without loading it.
 */

export interface BispectrumParameters {
  /** 2·jmax (MALA `bispectrum_twojmax`, default 10). Use even values (MALA's size formula is wrong for odd ≥ 5). */
  twojmax: number;
  /** LAMMPS rcutfac, Å (MALA `bispectrum_cutoff`, default 4.67637). */
  rcutfacAngstrom: number;
  /** LAMMPS rfac0 (MALA fixes 0.99363). */
  rfac0: number;
  /** LAMMPS rmin0, Å (0). */
  rmin0Angstrom: number;
  /** Smooth switching function on (1) or off (0) (MALA `bispectrum_switchflag`, 1). */
  switchflag: 0 | 1;
  bzeroflag: 0 | 1;
  quadraticflag: 0 | 1;
  /**
   * Weight per element in alphabetical element order (MALA `bispectrum_element_weights`),
   * rescaled so the largest is 1; undefined → all 1.
   */
  elementWeights?: number[];
  /** Radius per element in alphabetical order (MALA: 0.5 for all). */
  elementRadii?: number[];
}

/** The (j1, j2, j) triples of LAMMPS' idxb order (spec §2.5). */
export function bispectrumIndices(twojmax: number): [number, number, number][] {
  const out: [number, number, number][] = [];
  for (let j1 = 0; j1 <= twojmax; j1++)
    for (let j2 = 0; j2 <= j1; j2++)
      for (let j = j1 - j2; j <= Math.min(twojmax, j1 + j2); j += 2) if (j >= j1) out.push([j1, j2, j]);
  return out;
}

/** Number of bispectrum coefficients (91 for twojmax 10); linear terms only (quadraticflag 0). */
export function bispectrumCount(twojmax: number, quadraticflag: 0 | 1 = 0): number {
  const n = bispectrumIndices(twojmax).length;
  return quadraticflag ? n + (n * (n + 1)) / 2 : n;
}
