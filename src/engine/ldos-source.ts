/**
 * Where an LDOS comes from, for the observables engine (engine.ts): one interface, three
 * implementations:
 * - network-source.ts: the network over a descriptor source, block by block (predict);
 * - npy-source.ts: a MALA .npy (nx, ny, nz, N_E), streamed in blocks of points;
 * - cube-source.ts: pp.x LDOS cubes, one per energy, streamed by energy.
 *
 * A source feeds an `LdosSink` (the DOS and density accumulators of src/targets are sinks) by
 * blocks of points or by energy slices, whichever it reads naturally. A file can be read twice
 * (DOS pass, then density pass); a computed LDOS is produced once, and the engine keeps it in its
 * spill store (ldos-store.ts) for the density pass.
 */
import type { GridLayout } from '../qe/grid-layout';
import type { Progress } from '../util/progress';
import type { LdosAdjoint } from '../targets/dos-adjoint';

/** Receives LDOS values (1/(eV·Å³)): DosAccumulator and DensityAccumulator are sinks. */
export interface LdosSink {
  /** Rows of N_E values (energy fastest); `firstPoint` names the first row (for messages and placement). */
  addPoints(chunk: Float32Array | Float64Array, firstPoint: number): void;
  /** LDOS(r, e_k) of every point r, in point order. */
  addEnergySlice(energyIndex: number, values: Float32Array | Float64Array): void;
  /**
   * An ensemble's source (memberCount ≥ 2) gives `addPoints` the members' mean LDOS and, when the
   * sink has this, each member's own LDOS of the same rows (for the spread of the observables).
   */
  addMemberPoints?(member: number, chunk: Float32Array | Float64Array, firstPoint: number): void;
}

/**
 * ∂E/∂L_ik of the engine's energy: β_ik = a_k + u_i·e_k (src/targets/dos-adjoint.ts: the band,
 * entropy and Fermi-level part per energy, and the density's ∂E/∂n_i times the electron weight).
 */
export interface LdosCotangent {
  adjoint: Pick<LdosAdjoint, 'perEnergy' | 'electronWeights'>;
  /** u_i = ∂E/∂n_i (eV·Å³) in the source's point order. */
  densityGradient: Float64Array;
}

export interface LdosSource {
  /** The source's grid: (nx, ny, nz) for 3-D data, (points) for a flat .npy. */
  readonly gridShape: readonly number[];
  /** Points this process's passes visit (its blocks under MPI; the whole grid otherwise). */
  readonly pointCount: number;
  readonly energyCount: number;
  /**
   * 'computed': produced by a pass that costs (descriptors + network); the engine stores the LDOS
   * of the DOS pass for the density pass, and the source books its own stage times.
   * 'file': read again for the density pass.
   */
  readonly kind: 'computed' | 'file';
  /** Networks of an ensemble whose mean LDOS this is (absent or 1: one LDOS, no members). */
  readonly memberCount?: number;
  /** Names of the values in error messages: the LDOS in the DOS pass, in the density pass, and the DOS. */
  readonly names: { dosPass: string; densityPass: string; dos: string };
  /** Set negative values to 0 (network output, as MALA) instead of rejecting them (files). */
  readonly clampNegative: boolean;
  /** One pass over every point, in the source's point order. */
  pass(sink: LdosSink, progress: Progress, label: 'DOS' | 'density'): Promise<void> | void;
  /**
   * A per-point array in this source's point order (its pointCount values) put on `layout`:
   * grid order of the layout's slab. Absent: the points already are the whole grid in grid order.
   */
  toLayout?(values: Float64Array, layout: GridLayout): Float64Array;
  /** The inverse of toLayout: values on `layout` → this source's point order. */
  fromLayout?(values: Float64Array, layout: GridLayout): Float64Array;
  /**
   * Forces through this source: −Σ_i,k β_ik·∂L_ik/∂R_I over this process's points (eV/Å, 3 per
   * atom), for the LDOS cotangent β (forces.ts). Absent: the LDOS cannot be differentiated (a file).
   * With `strainDerivativeEv` (9 values), adds this process's Σ_i,k β_ik·∂L_ik/∂ε_ab to it (the
   * LDOS's strain derivative through the descriptors, r → r·(I + ε), row-major).
   */
  forcesPass?(cotangent: LdosCotangent, progress: Progress, strainDerivativeEv?: Float64Array): Promise<Float64Array>;
  /** Releases files and libraries; may be called more than once. */
  close(): void;
}
