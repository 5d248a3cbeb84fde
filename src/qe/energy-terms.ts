/**
 * The density-dependent energy terms of QE's total-energy expression, computed the way MALA's QE
 * total-energy module gets them (spec §5.12): the density is low-pass filtered to the ecutrho
 * sphere, then Hartree, exchange–correlation (with the non-linear core correction and, for PBE,
 * the gradient terms), the Ewald energy, and the double-counting term
 * deband = −∫ñ·(v_H + v_xc). All in Rydberg atomic units (e² = 2) inside; see total-energy.ts for
 * the eV interface.
 */
import { MalaError } from '../errors';
import { bohr3InAngstrom3 } from '../structure/units';
import { Progress, silentProgress } from '../util/progress';
import { ewaldEnergy } from './ewald';
import { GridLayout, SlabFft, slabOwner, wholeGridLayout } from './grid-layout';
import { GSphere, inv3 } from './gsphere';
import { det3 } from '../structure/atoms';
import { besselJ0, qeRadialCutoffPoints, simpson } from './radial';
import { structureFactor } from './structure-factor';
import { Pseudopotential, XcFunctionalName } from './upf';
import { GgaOut, LdaOut, ldaXc, pbec, pbex } from './xc';

export interface EnergyTermsInput {
  /** Cell vectors as rows (Å). */
  cellAngstrom: number[][];
  /** Cartesian positions (Å), one row per atom. */
  positionsAngstrom: number[][];
  /** Species label of each atom (keys of `pseudopotentials`). */
  species: string[];
  /** FFT grid (nx, ny, nz). */
  grid: [number, number, number];
  /**
   * Valence density on the grid, (nx, ny, nz) z fastest, 1/Å³ — with a distributed `layout`,
   * this rank's x-planes [x0, x0 + nxLocal) only, (nxLocal, ny, nz).
   */
  densityPerA3: ArrayLike<number>;
  /** Density cutoff of the DFT run (Ry). */
  ecutrhoRy: number;
  pseudopotentials: Record<string, Pseudopotential>;
  progress?: Progress;
  /**
   * Where the grid lives (grid-layout.ts): default the whole grid in this process; an MPI slab
   * layout (src/parallel/slab-fft.ts) makes every rank compute on its own x-slab with FFTW's MPI
   * transforms. Every rank then gets the same terms (sums reduced over ranks).
   */
  layout?: GridLayout;
}

/** The four QE-module numbers (Ry) and diagnostics. */
export interface EnergyTermsRy {
  /** −∫ñ·(v_H + v_xc) (QE `deband`, MALA `e_rho_times_v_hxc`). */
  debandRy: number;
  hartreeRy: number;
  /** E_xc including the core correction (QE `etxc`). */
  xcRy: number;
  /** ∫ñ·v_xc (QE `vtxc`). */
  vtxcRy: number;
  ewaldRy: number;
  functional: XcFunctionalName;
  /** G-vectors in the ecutrho sphere (QE's "Dense grid: N G-vectors"). */
  gVectorCount: number;
  /** ∫ñ and ∫ρ_core (electrons). */
  electronsFiltered: number;
  coreElectrons: number;
  ewaldAlpha: number;
  /** 3D FFTs executed (distributed: collective transforms, each counted once). */
  fftCount: number;
  /** Wall seconds per stage (gsphere, density, hartree, core, lda, gga, ewald). */
  timingsS: Record<string, number>;
}

/**
 * The Bohr radius (Å) Debian's QE 6.7 converts Å inputs with (CODATA 2018; our fcc Al fixture's
 * a = 4.05 Å is printed as alat = 7.65339080 Bohr, which only this value rounds to). MALA's QE
 * module sees the geometry in these Bohr; ASE's CODATA 2014 value (units.ts) differs by 6e-10
 * relative and the 2006 one by 4e-9, which moves E_ewald of the Al fixture by 1e-7 Ry. The density
 * reached MALA's 1/Å³ through ASE's Bohr, so it goes back with that one.
 */
export const qeBohrAngstrom = 0.529177210903;
const angstromToQeBohr = (a: number): number => a / qeBohrAngstrom;

/** Geometry in Bohr plus the per-atom data the terms need. */
interface Prepared {
  cellBohr: number[][];
  omega: number;
  fractional: number[][];
  cartBohr: number[][];
  zVal: number[];
  functional: XcFunctionalName;
  types: string[];
}

function prepare(inp: EnergyTermsInput): Prepared {
  const { cellAngstrom, positionsAngstrom, species, pseudopotentials } = inp;
  if (cellAngstrom.length !== 3 || cellAngstrom.some((r) => r.length !== 3 || r.some((x) => !Number.isFinite(x)))) {
    throw new MalaError('cell must be 3 finite vectors of 3 components (Å)');
  }
  if (positionsAngstrom.length !== species.length || positionsAngstrom.length === 0) {
    throw new MalaError(`got ${positionsAngstrom.length} positions for ${species.length} species labels`, { fix: 'give one species per atom' });
  }
  const cellBohr = cellAngstrom.map((r) => r.map(angstromToQeBohr));
  const omega = Math.abs(det3(cellBohr));
  const inv = inv3(cellBohr);
  const cartBohr = positionsAngstrom.map((p) => p.map(angstromToQeBohr));
  const fractional = cartBohr.map((p) => [0, 1, 2].map((k) => p[0] * inv[0][k] + p[1] * inv[1][k] + p[2] * inv[2][k]));
  const types = [...new Set(species)];
  let functional: XcFunctionalName | undefined;
  let functionalFrom = '';
  for (const t of types) {
    const pp = pseudopotentials[t];
    if (!pp) throw new MalaError(`no pseudopotential given for species ${t}`, { fix: `add the UPF file of ${t} to the pseudopotential folder` });
    if (!pp.functional) {
      throw new MalaError(`unsupported exchange-correlation functional '${pp.functionalRaw.trim()}' in ${pp.file}`, {
        file: pp.file,
        fix: 'mala-ts implements LDA Perdew–Zunger (PZ, "SLA PZ NOGX NOGC") and PBE ("SLA PW PBX PBC"); use a pseudopotential made with one of them',
      });
    }
    if (functional && functional !== pp.functional) {
      throw new MalaError(`pseudopotentials mix functionals: ${functionalFrom} is ${functional}, ${pp.file} is ${pp.functional}`, {
        file: pp.file,
        fix: 'use pseudopotentials generated with the same functional for all species',
      });
    }
    functional = pp.functional;
    functionalFrom = pp.file;
  }
  const zVal = species.map((s) => pseudopotentials[s].zValence);
  return { cellBohr, omega, fractional, cartBohr, zVal, functional: functional as XcFunctionalName, types };
}

/** Fourier transform of a radial core charge at |G| (QE `drhoc`): (4π/Ω)∫r²ρ_c(r)j0(Gr)dr. */
function coreFormFactor(pp: Pseudopotential, omega: number, g: number, msh: number, aux: Float64Array): number {
  const r = pp.rBohr;
  const rho = pp.rhoCore as Float64Array;
  for (let i = 0; i < msh; i++) aux[i] = r[i] * r[i] * rho[i] * (g < 1e-8 ? 1 : besselJ0(g * r[i]));
  return (4 * Math.PI * simpson(msh, aux, pp.rabBohr)) / omega;
}

/**
 * f(|G|) for every G of the sphere, evaluated once per shell of equal |G|² (QE groups within 1e-8),
 * or undefined when there are more than maxShells shells (on any rank of a distributed `layout`:
 * all ranks then take the caller's table path together, so a G gets the same value on any rank count).
 */
export function perShell(gs: GSphere, maxShells: number, layout: GridLayout | undefined, f: (q: number) => number): Float64Array | undefined {
  const shells = new Map<number, number>();
  for (let i = 0; i < gs.count && shells.size <= maxShells; i++) shells.set(Math.round(gs.g2[i] * 1e8), 0);
  let fewShells = shells.size <= maxShells;
  if (layout?.distributed) fewShells = layout.allreduceSum(new Float64Array([fewShells ? 0 : 1]))[0] === 0;
  if (!fewShells) return undefined;
  for (const key of shells.keys()) shells.set(key, f(Math.sqrt(key / 1e8)));
  const out = new Float64Array(gs.count);
  for (let i = 0; i < gs.count; i++) out[i] = shells.get(Math.round(gs.g2[i] * 1e8)) as number;
  return out;
}

/**
 * ρ_c,t(|G|) for every G of the sphere: exact per shell of equal |G|² (QE groups within 1e-8)
 * when there are few shells, else cubic interpolation in a table with Δq = 0.005 Bohr⁻¹
 * (large or low-symmetry cells, where shells number in the millions). With a distributed
 * `layout` (gs then holds a rank's G-vectors), the ranks take the table together as soon as one
 * of them has too many shells, so a G gets the same value on any rank count (the table's entries
 * do not depend on the range it covers).
 */
export function coreFormFactorOnSphere(pp: Pseudopotential, omega: number, gs: GSphere, maxShells = 20000, layout?: GridLayout): Float64Array {
  const msh = qeRadialCutoffPoints(pp.rBohr);
  const aux = new Float64Array(msh);
  const exact = perShell(gs, maxShells, layout, (q) => coreFormFactor(pp, omega, q, msh, aux));
  if (exact) return exact;
  const out = new Float64Array(gs.count);
  const dq = 0.005;
  let gmax = 0;
  for (let i = 0; i < gs.count; i++) gmax = Math.max(gmax, gs.g2[i]);
  const nq = Math.ceil(Math.sqrt(gmax) / dq) + 4;
  const tab = new Float64Array(nq);
  for (let j = 0; j < nq; j++) tab[j] = coreFormFactor(pp, omega, j * dq, msh, aux);
  for (let i = 0; i < gs.count; i++) {
    const q = Math.sqrt(gs.g2[i]);
    const px = q / dq;
    const j = Math.min(Math.max(Math.floor(px), 1), nq - 3);
    const x = px - j;
    // 4-point Lagrange on j−1..j+2.
    const y0 = tab[j - 1];
    const y1 = tab[j];
    const y2 = tab[j + 1];
    const y3 = tab[j + 2];
    out[i] = (-x * (x - 1) * (x - 2) * y0) / 6 + ((x + 1) * (x - 1) * (x - 2) * y1) / 2 - ((x + 1) * x * (x - 2) * y2) / 2 + ((x + 1) * x * (x - 1) * y3) / 6;
  }
  return out;
}

/** The Ewald energy lives in ewald.ts (cell list + fast structure factor); re-exported for existing callers. */
export { ewaldEnergy } from './ewald';

/**
 * For each local G of `gs`, the value of `buf` (complex interleaved, this rank's slab) at −G,
 * which may lie in another rank's slab. One alltoallv, values only: every rank sends its value at
 * each of its G to the owner of −G. The G-sphere lists G in lexicographic order of (m1, m2, m3)
 * (a slab keeps that order), and negation reverses it, so what rank s sends here, in s's order,
 * is our G with −G on s in reverse order: no indices travel.
 */
function valuesAtMinusG(gs: GSphere, layout: GridLayout, buf: Float64Array): Float64Array {
  const { size, slabs } = layout;
  const plane = layout.grid[1] * layout.grid[2];
  const off = layout.x0 * plane;
  const owner = (i: number): number => slabOwner(slabs, Math.floor(gs.minusIndex[i] / plane));
  const counts = new Int32Array(size);
  for (let i = 0; i < gs.count; i++) counts[owner(i)] += 2;
  const next = new Int32Array(size);
  for (let r = 1; r < size; r++) next[r] = next[r - 1] + counts[r - 1];
  // (the same counts come back: G ↦ −G pairs our G with −G on s with s's G with −G here)
  const end = next.slice();
  for (let r = 0; r < size; r++) end[r] += counts[r];
  const send = new Float64Array(2 * gs.count);
  for (let i = 0; i < gs.count; i++) {
    const r = owner(i);
    const p = 2 * (gs.index[i] - off);
    send[next[r]++] = buf[p];
    send[next[r]++] = buf[p + 1];
  }
  const got = layout.alltoallv(send, counts);
  if (got.length !== send.length) throw new Error(`energy terms: received ${got.length / 2} values at −G for ${gs.count} G-vectors`);
  const out = send; // reused
  for (let i = 0; i < gs.count; i++) {
    const r = owner(i);
    end[r] -= 2;
    out[2 * i] = got[end[r]];
    out[2 * i + 1] = got[end[r] + 1];
  }
  return out;
}

/** The transform, sphere and buffer the XC step runs with, on this process's points. */
export interface XcContext {
  functional: XcFunctionalName;
  gs: GSphere;
  layout: GridLayout;
  fft: SlabFft;
  /** The transform's work array (overwritten). */
  buf: Float64Array;
  nLocal: number;
  nGrid: number;
  /** Complex index into `buf` of local G number i. */
  at: (i: number) => number;
  /** Sphere coefficients → real field on this process's points (through `buf`). */
  toReal: (coeff: Float64Array, out: Float64Array) => void;
}

/** v_xc (Ry) on the local points, and this process's unreduced sums for E_xc and ∫ñ·v_xc (÷ dv). */
export interface XcOnGrid {
  vxc: Float64Array;
  eLda: number;
  eGga: number;
  vtxc: number;
}

/** LDA at one point (per particle, Hartree) where |ρ| > 1e-10 (QE's cut); false below it (no contribution). */
export function ldaPoint(functional: XcFunctionalName, rhox: number, out: LdaOut): boolean {
  const arhox = Math.abs(rhox);
  if (!(arhox > 1e-10)) return false;
  ldaXc(functional, arhox, out);
  return true;
}

/** PBE's gradient terms at one point (QE's pbex, pbec on |ρ|) where |ρ| > 1e-6 and |∇ρ|² > 1e-10; false below (none). */
export function pbePoint(rhox: number, grho2: number, out: GgaOut): boolean {
  const arho = Math.abs(rhox);
  if (!(arho > 1e-6 && grho2 > 1e-10)) return false;
  pbex(arho, grho2, out);
  pbec(arho, grho2, out);
  return true;
}

/** ∇ρ on the local points (Bohr⁻⁴) of the field with sphere coefficients `coeffG` (three transforms' worth in two). */
export function gradientOnGrid(c: XcContext, coeffG: Float64Array): [Float64Array, Float64Array, Float64Array] {
  const { gs, fft, buf, nLocal, at } = c;
  const totG = coeffG;
  const gx = new Float64Array(nLocal);
  const gy = new Float64Array(nLocal);
  const gz = new Float64Array(nLocal);
  const g = new Float64Array(3);
  // ∂x and ∂y in one transform: i·Gx·ρ + i·(i·Gy·ρ) ↔ ∂xρ + i·∂yρ (both real fields).
  buf.fill(0);
  for (let i = 0; i < gs.count; i++) {
    gs.gVector(i, g);
    const a = totG[2 * i];
    const b = totG[2 * i + 1];
    buf[at(i)] = -g[0] * b - g[1] * a;
    buf[at(i) + 1] = g[0] * a - g[1] * b;
  }
  fft.backward(buf);
  for (let i = 0; i < nLocal; i++) {
    gx[i] = buf[2 * i];
    gy[i] = buf[2 * i + 1];
  }
  buf.fill(0);
  for (let i = 0; i < gs.count; i++) {
    gs.gVector(i, g);
    buf[at(i)] = -g[2] * totG[2 * i + 1];
    buf[at(i) + 1] = g[2] * totG[2 * i];
  }
  fft.backward(buf);
  for (let i = 0; i < nLocal; i++) gz[i] = buf[2 * i];
  return [gx, gy, gz];
}

/** P(∇·h) on the local points into `out` (may alias hx), h given on the local points. */
export function divergenceOnGrid(c: XcContext, hx: Float64Array, hy: Float64Array, hz: Float64Array, out: Float64Array): void {
  const { gs, layout, fft, buf, nLocal, nGrid, at, toReal } = c;
  const g = new Float64Array(3);
  // ∇·h in G-space on the sphere: H = FFT(hx + i·hy) splits by Hermitian symmetry.
  const dhG = new Float64Array(2 * gs.count);
  for (let i = 0; i < nLocal; i++) {
    buf[2 * i] = hx[i];
    buf[2 * i + 1] = hy[i];
  }
  fft.forward(buf);
  // H(−G) lives in another rank's slab unless −G's x-index is in ours: fetch them all
  const minus = layout.distributed ? valuesAtMinusG(gs, layout, buf) : undefined;
  for (let i = 0; i < gs.count; i++) {
    gs.gVector(i, g);
    const p = at(i);
    const hr = buf[p] / nGrid;
    const hi = buf[p + 1] / nGrid;
    const mr = (minus ? minus[2 * i] : buf[2 * gs.minusIndex[i]]) / nGrid;
    const mi = -(minus ? minus[2 * i + 1] : buf[2 * gs.minusIndex[i] + 1]) / nGrid; // conj(H(−G))
    const hxr = 0.5 * (hr + mr);
    const hxi = 0.5 * (hi + mi);
    const hyr = 0.5 * (hi - mi);
    const hyi = -0.5 * (hr - mr);
    // i·(Gx·Hx + Gy·Hy)
    const sr = g[0] * hxr + g[1] * hyr;
    const si = g[0] * hxi + g[1] * hyi;
    dhG[2 * i] = -si;
    dhG[2 * i + 1] = sr;
  }
  for (let i = 0; i < nLocal; i++) {
    buf[2 * i] = hz[i];
    buf[2 * i + 1] = 0;
  }
  fft.forward(buf);
  for (let i = 0; i < gs.count; i++) {
    gs.gVector(i, g);
    const p = at(i);
    dhG[2 * i] += (-g[2] * buf[p + 1]) / nGrid;
    dhG[2 * i + 1] += (g[2] * buf[p]) / nGrid;
  }
  toReal(dhG, out);
}

/**
 * XC on ρ_tot = ñ + ρ_core (LDA, then QE's `gradcorr` for PBE): `rho`/`rhoG` the filtered valence
 * density on the points and on the sphere (Bohr⁻³), the core likewise. Sums are per process.
 */
export function xcOnGrid(c: XcContext, rho: Float64Array, rhoG: Float64Array, rhoCore?: Float64Array, rhoCoreG?: Float64Array, ldaDone?: () => void): XcOnGrid {
  const { functional, gs, nLocal } = c;
  // 4. LDA part on ρ_tot = ñ + ρ_core.
  const vxc = new Float64Array(nLocal);
  let eLda = 0;
  let vtxc = 0;
  const lda: LdaOut = { ex: 0, ec: 0, vx: 0, vc: 0 };
  for (let i = 0; i < nLocal; i++) {
    const rhox = rho[i] + (rhoCore ? rhoCore[i] : 0);
    if (ldaPoint(functional, rhox, lda)) {
      const v = 2 * (lda.vx + lda.vc);
      vxc[i] = v;
      eLda += 2 * (lda.ex + lda.ec) * rhox;
      vtxc += v * rho[i];
    }
  }
  ldaDone?.();

  // 5. PBE gradient correction (QE `gradcorr`).
  let eGga = 0;
  if (functional === 'pbe') {
    const totG = new Float64Array(2 * gs.count);
    for (let i = 0; i < 2 * gs.count; i++) totG[i] = rhoG[i] + (rhoCoreG ? rhoCoreG[i] : 0);
    const [gx, gy, gz] = gradientOnGrid(c, totG);
    // Point-wise: energy, v1 into vxc, h = 2(v2x+v2c)∇ρ overwrites the gradient.
    const out: GgaOut = { sx: 0, sc: 0, v1x: 0, v2x: 0, v1c: 0, v2c: 0 };
    for (let i = 0; i < nLocal; i++) {
      const rhox = rho[i] + (rhoCore ? rhoCore[i] : 0);
      const grho2 = gx[i] * gx[i] + gy[i] * gy[i] + gz[i] * gz[i];
      if (pbePoint(rhox, grho2, out)) {
        const segno = Math.sign(rhox);
        const v1 = 2 * (out.v1x + out.v1c);
        vxc[i] += v1;
        vtxc += v1 * rho[i];
        eGga += 2 * (out.sx + out.sc) * segno;
        const v2 = 2 * (out.v2x + out.v2c);
        gx[i] *= v2;
        gy[i] *= v2;
        gz[i] *= v2;
      } else {
        gx[i] = 0;
        gy[i] = 0;
        gz[i] = 0;
      }
    }
    const dh = gx; // reuse (read before written)
    divergenceOnGrid(c, gx, gy, gz, dh);
    for (let i = 0; i < nLocal; i++) {
      vxc[i] -= dh[i];
      vtxc -= dh[i] * rho[i];
    }
  }
  return { vxc, eLda, eGga, vtxc };
}

/**
 * What computeEnergyTerms worked with, handed to its `onFields` callback while the transform is
 * alive (energy-gradient.ts builds the adjoint and the forces on it). Fields are this process's points.
 */
export interface EnergyTermsFields {
  xc: XcContext;
  omegaBohr3: number;
  cellBohr: number[][];
  fractional: number[][];
  zVal: number[];
  /** ñ (Bohr⁻³) on the points and on the sphere. */
  rho: Float64Array;
  rhoG: Float64Array;
  rhoCore?: Float64Array;
  rhoCoreG?: Float64Array;
  /** v_xc[ñ + ρ_core] (Ry). */
  vxc: Float64Array;
  /** ρ_c,t(|G|) on the sphere per species with a core charge. */
  coreForms: Map<string, Float64Array>;
  ewaldAlpha: number;
}

/** Sphere coefficients (÷ N) of a real field on this process's points. */
export function toSphere(f: EnergyTermsFields, field: Float64Array): Float64Array {
  const { buf, fft, gs, nGrid, at } = f.xc;
  return sphereCoefficients(buf, fft, gs.count, at, nGrid, field, field.length);
}

/** Forward transform of the first nLocal values of `field`·`scale` (this process's points) in `buf`, then its coefficients on the sphere ÷ nGrid. */
function sphereCoefficients(buf: Float64Array, fft: { forward(b: Float64Array): void }, count: number, at: (i: number) => number, nGrid: number, field: ArrayLike<number>, nLocal: number, scale?: number): Float64Array {
  for (let i = 0; i < nLocal; i++) {
    buf[2 * i] = scale === undefined ? field[i] : field[i] * scale;
    buf[2 * i + 1] = 0;
  }
  fft.forward(buf);
  const out = new Float64Array(2 * count);
  for (let i = 0; i < count; i++) {
    out[2 * i] = buf[at(i)] / nGrid;
    out[2 * i + 1] = buf[at(i) + 1] / nGrid;
  }
  return out;
}

/**
 * Hartree, XC (+ core correction, + GGA gradient terms), Ewald and deband for a density on the
 * grid; every term in Ry. Memory: about 9 doubles per grid point plus the G-sphere — per rank,
 * of its slab only, with a distributed `layout` (plus FFTW-MPI's work buffer, 2 doubles per point).
 */
export function computeEnergyTerms(inp: EnergyTermsInput, onFields?: (f: EnergyTermsFields) => void): EnergyTermsRy {
  const progress = inp.progress ?? silentProgress;
  const prep = prepare(inp);
  const grid = inp.grid;
  if (grid.length !== 3 || grid.some((n) => !Number.isInteger(n) || n < 1)) throw new MalaError(`invalid grid ${JSON.stringify(grid)}`);
  const [n1, n2, n3] = grid;
  const nGrid = n1 * n2 * n3;
  const layout = inp.layout ?? wholeGridLayout(grid);
  if (layout.grid.join() !== grid.join()) throw new Error(`computeEnergyTerms: layout of a ${layout.grid.join('×')} grid for a ${grid.join('×')} grid`);
  // this process's points: x-planes [x0, x0 + nxLocal), flat index − off
  const off = layout.x0 * n2 * n3;
  const nLocal = layout.nxLocal * n2 * n3;
  if (inp.densityPerA3.length !== nLocal) {
    throw new MalaError(
      layout.distributed
        ? `density slab has ${inp.densityPerA3.length} values but x-planes [${layout.x0}, ${layout.x0 + layout.nxLocal}) of the grid ${n1}×${n2}×${n3} have ${nLocal} points`
        : `density has ${inp.densityPerA3.length} values but the grid ${n1}×${n2}×${n3} has ${nGrid} points`,
      {
        fix: 'pass the density on the FFT grid of the DFT run, shape (nx, ny, nz) or (nx, ny, nz, 1)',
      },
    );
  }
  if (!(inp.ecutrhoRy > 0)) throw new MalaError(`invalid density cutoff ecutrho = ${inp.ecutrhoRy} Ry`, { fix: 'give the ecutrho of the DFT run (Ry)' });
  const { omega, functional } = prep;
  const dv = omega / nGrid;
  progress.start('energy terms', 7, 'steps');

  const timingsS: Record<string, number> = {};
  let tStage = process.hrtime.bigint();
  const stage = (name: string): void => {
    const now = process.hrtime.bigint();
    timingsS[name] = Number(now - tStage) / 1e9;
    tStage = now;
    progress.tick();
  };
  // the local G-vectors: those whose FFT x-index lies in this process's slab (all when serial)
  const gs = layout.distributed ? new GSphere(prep.cellBohr, grid, inp.ecutrhoRy, [layout.x0, layout.x0 + layout.nxLocal]) : new GSphere(prep.cellBohr, grid, inp.ecutrhoRy);
  // slab position of each local G (complex index into buf)
  const at = (i: number): number => 2 * (gs.index[i] - off);
  stage('gsphere');
  // A non-finite value on one rank must stop every rank at the same collective.
  let badPoint = -1;
  for (let i = 0; i < nLocal; i++) {
    if (!Number.isFinite(inp.densityPerA3[i])) {
      badPoint = off + i;
      break;
    }
  }
  if (layout.distributed) badPoint = layout.allreduceSum(new Float64Array([badPoint >= 0 ? badPoint + 1 : 0]))[0] - 1;
  if (badPoint >= 0) throw new MalaError(`density has a non-finite value at grid point ${badPoint}`, { fix: 'check the density file' });
  const fft = layout.createFft();
  try {
    const buf = new Float64Array(fft.bufferLength);
    // 1. ρ(G) on the sphere, then the filtered density ñ(r).
    const rhoG = sphereCoefficients(buf, fft, gs.count, at, nGrid, inp.densityPerA3, nLocal, bohr3InAngstrom3);
    const toReal = (coeff: Float64Array, out: Float64Array): void => {
      buf.fill(0);
      for (let i = 0; i < gs.count; i++) {
        buf[at(i)] = coeff[2 * i];
        buf[at(i) + 1] = coeff[2 * i + 1];
      }
      fft.backward(buf);
      for (let i = 0; i < nLocal; i++) out[i] = buf[2 * i];
    };
    const rho = new Float64Array(nLocal);
    toReal(rhoG, rho);
    let electronsFiltered = 0;
    for (let i = 0; i < nLocal; i++) electronsFiltered += rho[i];
    electronsFiltered = layout.allreduceSum(new Float64Array([electronsFiltered]))[0];
    electronsFiltered *= dv;
    stage('density');

    // 2. Hartree: E_H = ½·e²·4π·Ω Σ_{G≠0} |ρ(G)|²/G².
    let sumH = 0;
    for (let i = 0; i < gs.count; i++) {
      const g2 = gs.g2[i];
      if (g2 < 1e-8) continue;
      sumH += (rhoG[2 * i] ** 2 + rhoG[2 * i + 1] ** 2) / g2;
    }
    sumH = layout.allreduceSum(new Float64Array([sumH]))[0];
    const hartreeRy = 0.5 * 2 * 4 * Math.PI * omega * sumH;
    stage('hartree');

    // 3. Core charge ρ_core(G) = Σ_t S_t(G) ρ_c,t(|G|), and ρ_core(r).
    let rhoCoreG: Float64Array | undefined;
    const coreForms = new Map<string, Float64Array>();
    let rhoCore: Float64Array | undefined;
    let coreElectrons = 0;
    for (const t of prep.types) {
      const pp = inp.pseudopotentials[t];
      if (!pp.rhoCore) continue;
      const form = coreFormFactorOnSphere(pp, omega, gs, undefined, layout);
      coreForms.set(t, form);
      const sf = structureFactor(
        gs,
        prep.fractional,
        inp.species.map((s) => (s === t ? 1 : 0)),
      );
      rhoCoreG ??= new Float64Array(2 * gs.count);
      for (let i = 0; i < gs.count; i++) {
        rhoCoreG[2 * i] += sf[2 * i] * form[i];
        rhoCoreG[2 * i + 1] += sf[2 * i + 1] * form[i];
      }
    }
    // (every rank has the same species, so all take this branch together)
    if (rhoCoreG) {
      rhoCore = new Float64Array(nLocal);
      toReal(rhoCoreG, rhoCore);
      for (let i = 0; i < nLocal; i++) coreElectrons += rhoCore[i];
      coreElectrons = layout.allreduceSum(new Float64Array([coreElectrons]))[0];
      coreElectrons *= dv;
    }
    stage('core');

    // 4.–5. LDA on ρ_tot = ñ + ρ_core, then PBE's gradient correction.
    const xcCtx: XcContext = { functional, gs, layout, fft, buf, nLocal, nGrid, at, toReal };
    const xc = xcOnGrid(xcCtx, rho, rhoG, rhoCore, rhoCoreG, () => stage('lda'));
    let { eLda, eGga, vtxc } = xc;
    if (layout.distributed) [eLda, eGga, vtxc] = layout.allreduceSum(new Float64Array([eLda, eGga, vtxc]));
    const xcRy = dv * (eLda + eGga);
    const vtxcRy = dv * vtxc;
    stage('gga');

    // 6. Ewald, and deband = −∫ñ(v_H + v_xc) with ∫ñ·v_H = 2·E_H exactly.
    // distributed: each rank sums its own G-vectors, rank 0 the real-space part
    const split = layout.distributed ? { reduce: (parts: Float64Array) => layout.allreduceSum(parts), realSpaceHere: layout.rank === 0 } : undefined;
    const ew = ewaldEnergy(prep.cellBohr, prep.cartBohr, prep.fractional, prep.zVal, gs, inp.ecutrhoRy, { split });
    const gVectorCount = layout.distributed ? layout.allreduceSum(new Float64Array([gs.count]))[0] : gs.count;
    stage('ewald');
    onFields?.({ xc: xcCtx, omegaBohr3: omega, cellBohr: prep.cellBohr, fractional: prep.fractional, zVal: prep.zVal, rho, rhoG, rhoCore, rhoCoreG, vxc: xc.vxc, coreForms, ewaldAlpha: ew.alpha });
    progress.stop();
    return {
      debandRy: -(2 * hartreeRy + vtxcRy),
      hartreeRy,
      xcRy,
      vtxcRy,
      ewaldRy: ew.energyRy,
      functional,
      gVectorCount,
      electronsFiltered,
      coreElectrons,
      ewaldAlpha: ew.alpha,
      fftCount: fft.count,
      timingsS,
    };
  } finally {
    fft.dispose();
  }
}

