/**
 * A density-dependent energy reference for the LDOS axis (issue 18).
 *
 * Across lattice constants, QE's eigenvalues move as a whole: aluminium's Fermi level drops by
 * ≈ 0.3 eV per 1 % of lattice constant (its band energy by ≈ 0.66 eV/atom). A network that maps
 * local descriptors to the LDOS on one fixed energy axis has to produce that global shift from
 * small changes of the descriptors: it learns a steep function, generalises badly (errors of
 * 100–700 meV/atom between training frames) and its derivative (the forces) is noise.
 *
 * With a reference, the network's energy axis for a structure of n atoms per Å³ is the model's
 * grid shifted by s(n) = slope · (n − n₀): the network predicts the LDOS relative to a reference
 * that follows the density, fitted once to the training frames' Fermi energies. Only the residual
 * is learned. The shift depends on the cell volume alone, so:
 * - E_F moves by s and the band energy by N_e · s; the density and entropy are unchanged;
 * - the forces are unchanged (s does not depend on the positions);
 * - the stress gains N_e · ds/dε_ij / V = −δ_ij · N_e · slope · n / V (dn/dε_ij = −n δ_ij).
 */
import { MalaError } from '../errors';
import { makeEnergyGrid, type EnergyGrid } from './energy-grid';

export interface EnergyReference {
  /** The only kind so far: a shift linear in the number of atoms per volume. */
  kind: 'atom-density';
  /** d(shift)/dn in eV·Å³. */
  slopeEvA3: number;
  /** n₀ in atoms per Å³: the density at which the shift is zero. */
  densityPerA3: number;
  /** How the slope was obtained (frames, residual of the fit), for model-info. */
  fit?: { frames: number; rmsResidualMeV: number; source: string };
}

/** Atoms per Å³ of a periodic cell (rows of `cellA` are the lattice vectors, Å). */
export function atomDensityPerA3(atomCount: number, cellA: readonly (readonly number[])[]): number {
  const [a, b, c] = cellA;
  const volume = Math.abs(a[0] * (b[1] * c[2] - b[2] * c[1]) - a[1] * (b[0] * c[2] - b[2] * c[0]) + a[2] * (b[0] * c[1] - b[1] * c[0]));
  if (!(volume > 0) || !Number.isFinite(volume)) throw new MalaError(`the cell has volume ${volume} Å³`, { fix: 'give a periodic cell with three independent lattice vectors' });
  return atomCount / volume;
}

/** The shift s(n) in eV of the network's energy axis for a structure of density n (Å⁻³). */
export function referenceShiftEv(ref: EnergyReference | undefined, densityPerA3: number): number {
  if (!ref) return 0;
  return ref.slopeEvA3 * (densityPerA3 - ref.densityPerA3);
}

/** The energy grid the network's outputs sit on for this structure: the model's, shifted by s(n). */
export function energyGridFor(grid: EnergyGrid, ref: EnergyReference | undefined, atomCount: number, cellA: readonly (readonly number[])[]): EnergyGrid {
  if (!ref) return grid;
  return makeEnergyGrid(grid.offsetEv + referenceShiftEv(ref, atomDensityPerA3(atomCount, cellA)), grid.spacingEv, grid.count);
}

/**
 * The reference's part of the stress, eV/Å³ (added to the engine's σ_ij = (1/V) ∂E/∂ε_ij):
 * −δ_ij · N_e · slope · n / V, with N_e the electron count the Fermi level was solved for.
 */
export function referenceStressEvPerA3(ref: EnergyReference | undefined, electrons: number, atomCount: number, cellA: readonly (readonly number[])[]): number[][] {
  const s = [[0, 0, 0], [0, 0, 0], [0, 0, 0]];
  if (!ref) return s;
  const n = atomDensityPerA3(atomCount, cellA);
  const diag = (-electrons * ref.slopeEvA3 * n) / (atomCount / n);
  for (let i = 0; i < 3; i++) s[i][i] = diag;
  return s;
}

/** Validate a reference read from a model file. */
export function checkEnergyReference(x: unknown, where: string): EnergyReference {
  const r = x as Partial<EnergyReference> | null;
  const ok = r && r.kind === 'atom-density' && Number.isFinite(r.slopeEvA3) && typeof r.densityPerA3 === 'number' && r.densityPerA3 > 0;
  if (!ok) throw new MalaError(`the model's energyReference is not understood: ${JSON.stringify(x)}`, { file: where, fix: 'update mala-ts, or re-train the model' });
  return { kind: 'atom-density', slopeEvA3: r.slopeEvA3 as number, densityPerA3: r.densityPerA3 as number, ...(r.fit ? { fit: r.fit } : {}) };
}

/**
 * Least-squares slope and intercept of E_F against the atom density over the training frames:
 * the reference's slope, with n₀ the caller's (e.g. the frames' mean density). rms residual in meV.
 */
export function fitAtomDensityReference(frames: readonly { densityPerA3: number; fermiEv: number }[], densityPerA3: number, source: string): EnergyReference {
  if (frames.length < 2) throw new MalaError(`an atom-density energy reference needs at least 2 training frames with their Fermi energy; got ${frames.length}`, { fix: 'train on frames of at least two densities, or drop --energy-reference' });
  const m = frames.length;
  const nMean = frames.reduce((a, f) => a + f.densityPerA3, 0) / m;
  const eMean = frames.reduce((a, f) => a + f.fermiEv, 0) / m;
  let sxx = 0;
  let sxy = 0;
  for (const f of frames) {
    sxx += (f.densityPerA3 - nMean) ** 2;
    sxy += (f.densityPerA3 - nMean) * (f.fermiEv - eMean);
  }
  if (!(sxx > 0)) throw new MalaError('all training frames have the same atom density: an atom-density energy reference cannot be fitted', { fix: 'train on frames of several lattice constants, or drop --energy-reference' });
  const slope = sxy / sxx;
  const rms = Math.sqrt(frames.reduce((a, f) => a + (f.fermiEv - eMean - slope * (f.densityPerA3 - nMean)) ** 2, 0) / m);
  return { kind: 'atom-density', slopeEvA3: slope, densityPerA3, fit: { frames: m, rmsResidualMeV: rms * 1000, source } };
}
