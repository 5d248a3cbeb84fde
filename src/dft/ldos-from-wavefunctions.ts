/**
 * The Gaussian LDOS of a pw.x SCF from its saved wavefunctions, as pp.x 6.7 makes it with
 * plot_num = 3 and the smearing tag set to 'gaussian' (ldos-recipe.ts), in one pass:
 *
 *   LDOS(E, r) = Σ_k w_k Σ_n exp(−((E − ε_nk)/σ)²)/(σ√π) · |ψ_nk(r)|²/Ω     (1/(Ry·Bohr³))
 *
 * with w_k pw.x's k weights (Σ = 2 for nspin = 1) and ψ normalised to Σ_G |c_G|² = 1. pp.x runs
 * its whole pass (every k-point's wavefunctions read, every band near E Fourier-transformed) once
 * per energy; here each band is transformed once and added to every energy its Gaussian reaches.
 * The terms pp.x drops (weight below machine epsilon times the largest at that energy) are dropped
 * too. Only what pp.x then does without effect is left out: the round trip through G space (|ψ|²
 * has no component beyond the density cutoff when ecutrho = 4·ecutwfc) and sym_rho (identity
 * with one symmetry operation). So this route is for what training frames are: norm-conserving
 * pseudopotentials, no spin, no symmetry, k-points (not Γ tricks), one FFT grid; `nativeLdosRefusal`
 * says when not.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Fft3d } from '../../bindings/fftw';
import { MalaError } from '../errors';
import { LDOS_CUBE_TO_PER_EV_A3 } from '../io/cube';
import { readQeWavefunctions } from '../qe/wavefunction-file';
import { det3 } from '../structure/atoms';
import { hartreeEv } from '../structure/units';
import { EnergyGrid } from '../targets/energy-grid';
import { parseQeXmlBands } from './qe-xml';
import { QE_RYTOEV } from './ldos-recipe';

/** What the native route needs from the save dir's XML. */
interface SaveFacts {
  fftGrid: [number, number, number];
  volumeBohr3: number;
  kWeights: number[];
  eigenvaluesRy: number[][];
}

const tagText = (xml: string, tag: string): string | undefined => new RegExp(`<${tag}(?:\\s[^>]*)?>\\s*([^<]*?)\\s*</${tag}>`).exec(xml)?.[1];
const gridOf = (xml: string, tag: string): [number, number, number] | undefined => {
  const m = new RegExp(`<${tag}\\s+nr1="(\\d+)"\\s+nr2="(\\d+)"\\s+nr3="(\\d+)"`).exec(xml);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : undefined;
};

/**
 * Why the native route cannot make this save dir's LDOS exactly as pp.x would (undefined: it can).
 * `normConserving`: whether every pseudopotential is (the caller knows the input and its pseudo dir).
 */
export function nativeLdosRefusal(xml: string, normConserving: boolean): string | undefined {
  if (!normConserving) return 'ultrasoft or PAW pseudopotentials (pp.x adds their augmentation charges)';
  if (tagText(xml, 'lsda') === 'true') return 'a spin-polarised calculation';
  if (tagText(xml, 'noncolin') === 'true') return 'a noncollinear calculation';
  if (tagText(xml, 'gamma_only') === 'true') return 'a Γ-only calculation (K_POINTS gamma stores half the plane waves)';
  const nsym = Number(tagText(xml, 'nsym') ?? NaN);
  if (nsym !== 1) return `${Number.isFinite(nsym) ? nsym : 'an unknown number of'} symmetry operations (pp.x symmetrizes the LDOS)`;
  const dense = gridOf(xml, 'fft_grid');
  const smooth = gridOf(xml, 'fft_smooth');
  if (!dense || !smooth) return 'no FFT grid in the XML';
  if (dense.join() !== smooth.join()) return 'a smooth FFT grid coarser than the dense one (ecutrho > 4·ecutwfc)';
  return undefined;
}

function saveFacts(xml: string, file: string): SaveFacts {
  const fftGrid = gridOf(xml, 'fft_grid');
  const cell = /<cell>([\s\S]*?)<\/cell>/.exec(xml)?.[1];
  const vec = (name: string) => (cell ? tagText(cell, name)?.split(/\s+/).map(Number) : undefined);
  const [a1, a2, a3] = [vec('a1'), vec('a2'), vec('a3')];
  if (!fftGrid || !a1 || !a2 || !a3) throw new MalaError('the QE data file has no FFT grid or cell', { file, fix: 'rerun pw.x to completion' });
  const volumeBohr3 = Math.abs(det3([a1, a2, a3]));
  const bands = parseQeXmlBands(xml, file);
  return { fftGrid, volumeBohr3, kWeights: bands.kWeights, eigenvaluesRy: bands.eigenvaluesEv.map((e) => e.map((x) => (2 * x) / hartreeEv)) };
}

/** A Miller index as a grid index, 0 … n−1. */
const wrap = (m: number, n: number): number => ((m % n) + n) % n;

export interface NativeLdosOptions {
  /** pw.x's `<outdir>/<prefix>.save` (data-file-schema.xml and wfc1.dat …). */
  saveDir: string;
  grid: EnergyGrid;
  /** Gaussian σ (pp.x degauss_ldos), eV. */
  broadeningEv: number;
  /** data-file-schema.xml's text, when the caller has read it already */
  xml?: string;
  /** after each k-point */
  onKpoint?: () => void;
}

/** The LDOS on the FFT grid, points (C order, z fastest) × energies, in 1/(eV·Å³) as generate writes it. */
export function ldosFromWavefunctions(o: NativeLdosOptions): { shape: [number, number, number, number]; ldosPerEvA3: Float32Array } {
  const xmlFile = path.join(o.saveDir, 'data-file-schema.xml');
  const f = saveFacts(o.xml ?? fs.readFileSync(xmlFile, 'utf8'), xmlFile);
  const [n1, n2, n3] = f.fftGrid;
  const nPoints = n1 * n2 * n3;
  const nE = o.grid.count;
  // pp.x's energies in Ry: emin, then delta_e added once per energy (postproc.f90)
  const energiesRy = new Float64Array(nE);
  const deltaRy = o.grid.spacingEv / QE_RYTOEV;
  energiesRy[0] = o.grid.offsetEv / QE_RYTOEV;
  for (let e = 1; e < nE; e++) energiesRy[e] = energiesRy[e - 1] + deltaRy;
  const sigmaRy = o.broadeningEv / QE_RYTOEV;
  const weight = (e: number, k: number, n: number) => (f.kWeights[k] * Math.exp(-(((energiesRy[e] - f.eigenvaluesRy[k][n]) / sigmaRy) ** 2))) / Math.sqrt(Math.PI) / sigmaRy;
  // pp.x skips a term whose weight is not above machine epsilon times the energy's largest
  const floor = new Float64Array(nE);
  for (let e = 0; e < nE; e++) {
    let max = 0;
    f.eigenvaluesRy.forEach((bands, k) => bands.forEach((_, n) => (max = Math.max(max, weight(e, k, n)))));
    floor[e] = Number.EPSILON * max;
  }

  const acc = Array.from({ length: nE }, () => new Float64Array(nPoints));
  const psi = new Float64Array(2 * nPoints);
  const density = new Float64Array(nPoints);
  const fft = new Fft3d(n1, n2, n3);
  try {
    for (let k = 0; k < f.kWeights.length; k++) {
      const file = path.join(o.saveDir, `wfc${k + 1}.dat`);
      const wf = readQeWavefunctions(file);
      if (wf.k !== k + 1 || wf.npol !== 1 || wf.gammaOnly || wf.scaleFactor !== 1 || wf.nbnd !== f.eigenvaluesRy[k].length) {
        throw new MalaError(`wavefunction file of k-point ${wf.k} (npol ${wf.npol}, gamma_only ${wf.gammaOnly}, scale factor ${wf.scaleFactor}, ${wf.nbnd} bands) does not fit the XML's k-point ${k + 1} with ${f.eigenvaluesRy[k].length} bands`, { file, fix: 'rerun pw.x; the save dir mixes runs' });
      }
      // grid index of each plane wave: Miller index modulo the grid, C order
      const index = new Int32Array(wf.igwx);
      for (let g = 0; g < wf.igwx; g++) {
        index[g] = (wrap(wf.miller[3 * g], n1) * n2 + wrap(wf.miller[3 * g + 1], n2)) * n3 + wrap(wf.miller[3 * g + 2], n3);
      }
      for (let n = 0; n < wf.nbnd; n++) {
        const terms: [number, number][] = [];
        for (let e = 0; e < nE; e++) {
          const w = weight(e, k, n);
          if (w > floor[e]) terms.push([e, w / f.volumeBohr3]);
        }
        if (terms.length === 0) continue;
        const c = wf.band(n);
        psi.fill(0);
        for (let g = 0; g < wf.igwx; g++) {
          psi[2 * index[g]] = c[2 * g];
          psi[2 * index[g] + 1] = c[2 * g + 1];
        }
        fft.backward(psi);
        for (let p = 0; p < nPoints; p++) density[p] = psi[2 * p] * psi[2 * p] + psi[2 * p + 1] * psi[2 * p + 1];
        for (const [e, w] of terms) {
          const a = acc[e];
          for (let p = 0; p < nPoints; p++) a[p] += w * density[p];
        }
      }
      o.onKpoint?.();
    }
  } finally {
    fft.dispose();
  }
  const out = new Float32Array(nPoints * nE);
  for (let e = 0; e < nE; e++) {
    const a = acc[e];
    for (let p = 0; p < nPoints; p++) out[p * nE + e] = a[p] * LDOS_CUBE_TO_PER_EV_A3;
  }
  return { shape: [n1, n2, n3, nE], ldosPerEvA3: out };
}
