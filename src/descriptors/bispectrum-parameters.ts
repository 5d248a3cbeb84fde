/**
 * The bispectrum's parameters and coefficient count (spec §2): plain data and arithmetic, no
 * LAMMPS, so that training, model checks and MALA's defaults can use them without loading it.
 */
import { MalaError } from '../errors';

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

/**
 * Physical ranges (issue 14: rcutfac = 1e6 in a model.json ran for 40 s into 6 GB). A 20 Å
 * cutoff sphere already holds ~2000 atoms of a solid (0.06 atoms/Å³); MALA's models use 4–6 Å,
 * and beyond that the descriptors are not local. twojmax 20 gives 506 coefficients per point
 * (MALA uses 10: 91); the cost of each grows as twojmax³.
 */
export const bispectrumLimits = { maxRcutfacAngstrom: 20, maxTwojmax: 20 } as const;

/** The first parameter outside its range, with the range, or undefined. */
export function bispectrumRangeProblem(p: { twojmax: number; rcutfacAngstrom: number; rfac0: number; rmin0Angstrom: number }): { what: string; range: string } | undefined {
  const L = bispectrumLimits;
  if (!Number.isInteger(p.twojmax) || p.twojmax < 0 || p.twojmax > L.maxTwojmax) return { what: `twojmax = ${p.twojmax}`, range: `twojmax must be an integer in [0, ${L.maxTwojmax}] (MALA uses 10)` };
  if (!(p.rcutfacAngstrom > 0 && p.rcutfacAngstrom <= L.maxRcutfacAngstrom)) return { what: `rcutfac = ${p.rcutfacAngstrom} Å`, range: `rcutfac must be in (0, ${L.maxRcutfacAngstrom}] Å (MALA uses 4.67637)` };
  if (!(p.rfac0 > 0 && p.rfac0 <= 1)) return { what: `rfac0 = ${p.rfac0}`, range: 'rfac0 must be in (0, 1] (MALA uses 0.99363)' };
  if (!(p.rmin0Angstrom >= 0 && p.rmin0Angstrom < p.rcutfacAngstrom)) return { what: `rmin0 = ${p.rmin0Angstrom} Å`, range: 'rmin0 must be in [0, rcutfac)' };
  return undefined;
}

/** A model's recorded bispectrum parameters (model.json, MALA's params.json) against their ranges: refused at load, before any descriptor. */
export function checkModelBispectrumRanges(d: { type?: string; twojmax: number; rcutfac: number; rfac0: number; rmin0: number }, file: string): void {
  if (d.type !== undefined && d.type !== 'Bispectrum') return;
  const r = bispectrumRangeProblem({ twojmax: d.twojmax, rcutfacAngstrom: d.rcutfac, rfac0: d.rfac0, rmin0Angstrom: d.rmin0 });
  if (r) throw new MalaError(`the model's descriptor parameter ${r.what} is outside its physical range: ${r.range}`, { file, fix: 'the model file is damaged or was edited; re-export or re-train it' });
}
