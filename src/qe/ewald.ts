/**
 * QE's Ewald energy (spec §5.12.4), Ry, in O(N log N) in the number of atoms: the G-space sum
 * goes through the structure factor (NUFFT for large systems, structure-factor.ts) and the
 * real-space sum through a cell list in fractional coordinates.
 */
import { MalaError } from '../errors';
import { GSphere, inv3 } from './gsphere';
import { det3 } from '../structure/atoms';
import { erfc } from './radial';
import { NufftOptions, StructureFactorMethod, structureFactor } from './structure-factor';

export interface EwaldOptions {
  structureFactorMethod?: StructureFactorMethod;
  nufft?: NufftOptions;
  /**
   * The sum split over MPI ranks: `gs` holds this rank's G-vectors only, `reduce` sums
   * [G-space part, real-space part] over the ranks, and one rank (`realSpaceHere`) does the
   * real-space sum; the constant terms are added once, after the reduction.
   */
  split?: { reduce: (parts: Float64Array) => Float64Array; realSpaceHere: boolean };
}

export interface EwaldResult {
  energyRy: number;
  /** QE's α (Bohr⁻²). */
  alpha: number;
  /** G-space part including the G=0 and self terms, and the real-space part (Ry). */
  reciprocalRy: number;
  realSpaceRy: number;
}

/** Largest α in 2.8, 2.7, … whose neglected G-space tail 2Q²·√(2α/2π)·erfc(√(ecutrho/4α)) is ≤ 1e-7 (QE's rule). */
export function qeEwaldAlpha(totalCharge: number, ecutrhoRy: number): number {
  let alpha = 2.9;
  for (;;) {
    alpha -= 0.1;
    if (alpha <= 0) throw new MalaError('Ewald: optimal alpha not found', { fix: 'check cell, charges and ecutrho' });
    const upper = 2 * totalCharge * totalCharge * Math.sqrt((2 * alpha) / (2 * Math.PI)) * erfc(Math.sqrt(ecutrhoRy / 4 / alpha));
    if (upper <= 1e-7) return alpha;
  }
}

/** QE's Ewald energy (Ry) and the α it chose. `cartBohr` is kept for the API; positions come from `fractional`. */
export function ewaldEnergy(
  cellBohr: number[][],
  cartBohr: number[][],
  fractional: number[][],
  zVal: number[],
  gs: GSphere,
  ecutrhoRy: number,
  options: EwaldOptions = {},
): EwaldResult {
  if (cartBohr.length !== fractional.length || zVal.length !== fractional.length) {
    throw new Error(`ewaldEnergy: ${cartBohr.length} Cartesian, ${fractional.length} fractional positions, ${zVal.length} charges`);
  }
  const omega = Math.abs(det3(cellBohr));
  const charge = zVal.reduce((a, b) => a + b, 0);
  const alpha = qeEwaldAlpha(charge, ecutrhoRy);
  const sf = structureFactor(gs, fractional, zVal, options.structureFactorMethod ?? 'auto', options.nufft);
  const split = options.split;
  const g0Term = -(charge * charge) / alpha / 4;
  // serial: the G=0 term first (QE's order); split: added once after the reduction
  let sumG = split ? 0 : g0Term;
  for (let i = 0; i < gs.count; i++) {
    const g2 = gs.g2[i];
    if (g2 < 1e-8) continue;
    const re = sf[2 * i];
    const im = sf[2 * i + 1];
    sumG += ((re * re + im * im) * Math.exp(-g2 / alpha / 4)) / g2;
  }
  let realSpaceRy = !split || split.realSpaceHere ? ewaldRealSpaceRy(cellBohr, fractional, zVal, alpha) : 0;
  if (split) {
    const [g, r] = split.reduce(new Float64Array([sumG, realSpaceRy]));
    sumG = g0Term + g;
    realSpaceRy = r;
  }
  sumG *= (4 * Math.PI) / omega;
  let self = 0;
  for (const z of zVal) self += z * z;
  sumG -= self * Math.sqrt((8 / (2 * Math.PI)) * alpha);
  return { energyRy: sumG + realSpaceRy, alpha, reciprocalRy: sumG, realSpaceRy };
}

/**
 * Σ_{a,b} Σ_L Z_a Z_b·erfc(√α r)/r over r = |R_b + L − R_a| with 0 < r ≤ 4/√α (ordered pairs,
 * e²/2 = 1 in Ry), through a cell list. Bins are slabs in fractional coordinates, so neighbour
 * reach is set by the cell's plane spacings h_i = 1/|∇s_i| and is right for any triclinic cell;
 * a bin offset past the cell edge carries its lattice translation, so cells thinner than the
 * cutoff get all the periodic images they need. With `forcesRyPerBohr` (3 per atom), −∂/∂R_a of
 * the same truncated sum is added to it (ewald-forces.ts); with `strainDerivativeRy` (9, row-major),
 * ∂/∂ε_ab of it for r → r·(I + ε) (energy-stress.ts).
 */
export function ewaldRealSpaceRy(cellBohr: number[][], fractional: number[][], zVal: number[], alpha: number, forcesRyPerBohr?: Float64Array, strainDerivativeRy?: Float64Array): number {
  const nat = fractional.length;
  if (nat === 0) return 0;
  const rmax = 4 / Math.sqrt(alpha);
  const rmax2 = rmax * rmax;
  const sqa = Math.sqrt(alpha);
  const omega = Math.abs(det3(cellBohr));
  const inv = inv3(cellBohr);
  const spacing = [0, 1, 2].map((k) => 1 / Math.hypot(inv[0][k], inv[1][k], inv[2][k]));
  // Bin edge ≥ rmax/2 (fewer empty neighbours checked) and ≥ the volume per atom (bins ≲ atoms).
  const edge = Math.max(rmax / 2, Math.cbrt(omega / nat));
  const nb = spacing.map((h) => Math.max(1, Math.floor(h / edge)));
  // A pair within rmax differs by < rmax/h_i in s_i, hence by ≤ ⌈rmax·nb_i/h_i⌉ bins.
  const reach = spacing.map((h, k) => Math.ceil((rmax * nb[k]) / h));
  const nbins = nb[0] * nb[1] * nb[2];

  // Atoms wrapped into [0, 1) and sorted by bin.
  const s1 = new Float64Array(nat);
  const s2 = new Float64Array(nat);
  const s3 = new Float64Array(nat);
  const z = new Float64Array(nat);
  const atomOf = new Int32Array(nat);
  const binOf = new Int32Array(nat);
  const start = new Int32Array(nbins + 1);
  const wrapped = (x: number): number => {
    const f = x - Math.floor(x);
    return f >= 1 ? 0 : f; // x − ⌊x⌋ rounds up to 1 for tiny negative x
  };
  const tmp = fractional.map((p) => [wrapped(p[0]), wrapped(p[1]), wrapped(p[2])]);
  for (let a = 0; a < nat; a++) {
    const b = tmp[a].map((f, k) => Math.min(nb[k] - 1, Math.floor(f * nb[k])));
    binOf[a] = (b[0] * nb[1] + b[1]) * nb[2] + b[2];
    start[binOf[a] + 1]++;
  }
  for (let b = 0; b < nbins; b++) start[b + 1] += start[b];
  {
    const at = start.slice(0, nbins);
    for (let a = 0; a < nat; a++) {
      const k = at[binOf[a]]++;
      s1[k] = tmp[a][0];
      s2[k] = tmp[a][1];
      s3[k] = tmp[a][2];
      z[k] = zVal[a];
      atomOf[k] = a;
    }
  }
  const c = cellBohr;
  let sum = 0;
  for (let b1 = 0; b1 < nb[0]; b1++) {
    for (let b2 = 0; b2 < nb[1]; b2++) {
      for (let b3 = 0; b3 < nb[2]; b3++) {
        const home = (b1 * nb[1] + b2) * nb[2] + b3;
        if (start[home] === start[home + 1]) continue;
        for (let d1 = -reach[0]; d1 <= reach[0]; d1++) {
          const v1 = b1 + d1;
          const n1 = Math.floor(v1 / nb[0]); // lattice translation carried by this offset
          const q1 = v1 - n1 * nb[0];
          for (let d2 = -reach[1]; d2 <= reach[1]; d2++) {
            const v2 = b2 + d2;
            const n2 = Math.floor(v2 / nb[1]);
            const q2 = v2 - n2 * nb[1];
            for (let d3 = -reach[2]; d3 <= reach[2]; d3++) {
              const v3 = b3 + d3;
              const n3 = Math.floor(v3 / nb[2]);
              const q3 = v3 - n3 * nb[2];
              const other = (q1 * nb[1] + q2) * nb[2] + q3;
              const j0 = start[other];
              const j1 = start[other + 1];
              if (j0 === j1) continue;
              for (let i = start[home]; i < start[home + 1]; i++) {
                const zi = z[i];
                for (let j = j0; j < j1; j++) {
                  const e1 = s1[j] + n1 - s1[i];
                  const e2 = s2[j] + n2 - s2[i];
                  const e3 = s3[j] + n3 - s3[i];
                  const x = e1 * c[0][0] + e2 * c[1][0] + e3 * c[2][0];
                  const y = e1 * c[0][1] + e2 * c[1][1] + e3 * c[2][1];
                  const w = e1 * c[0][2] + e2 * c[1][2] + e3 * c[2][2];
                  const r2 = x * x + y * y + w * w;
                  if (r2 <= 1e-10 || r2 > rmax2) continue;
                  const r = Math.sqrt(r2);
                  const erfcTerm = erfc(sqa * r);
                  sum += (zi * z[j] * erfcTerm) / r;
                  if (forcesRyPerBohr) {
                    // ordered pair (i, j): −∂/∂R_i of Z_i Z_j erfc(√α r)/r, r = R_j + L − R_i
                    const c = (2 * zi * z[j] * (erfcTerm / r + 2 * Math.sqrt(alpha / Math.PI) * Math.exp(-alpha * r2))) / r2;
                    const f = 3 * atomOf[i];
                    forcesRyPerBohr[f] -= c * x;
                    forcesRyPerBohr[f + 1] -= c * y;
                    forcesRyPerBohr[f + 2] -= c * w;
                  }
                  if (strainDerivativeRy) {
                    // f'(r)·r_a·r_b/r for the ordered pair
                    const c = (-zi * z[j] * (erfcTerm / r + 2 * Math.sqrt(alpha / Math.PI) * Math.exp(-alpha * r2))) / r2;
                    const d = [x, y, w];
                    for (let a = 0; a < 3; a++) for (let b = 0; b < 3; b++) strainDerivativeRy[3 * a + b] += c * d[a] * d[b];
                  }
                }
              }
            }
          }
        }
      }
    }
  }
  return sum;
}
