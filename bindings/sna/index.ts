/**
 * Loader of the native bispectrum addon (bindings/sna/build/Release/mala_sna.node, built by
 * scripts/setup.sh with node-gyp; no libraries beyond the C++ runtime). $MALA_TS_SNA_ADDON points
 * at another build; $MALA_TS_SNA_ISA = generic | avx2 | avx512 forces a kernel (tests);
 * $MALA_TS_SNA_THREADS sets the threads of compute and forces (default: the cores per MPI rank).
 */
import * as fs from 'node:fs';
import { MalaError } from '../../src/errors';
import { addonBuildCommand, packagePath } from '../../src/util/package-paths';

export interface SnaEngineParams {
  twojmax: number;
  rcutfac: number;
  rfac0: number;
  rmin0: number;
  switchflag: 0 | 1;
  bzeroflag: 0 | 1;
  quadraticflag: 0 | 1;
  /** Self weight on Utot's diagonal (LAMMPS' wself, 1). */
  wself?: number;
  /** Per element (0-based type index): radius and weight; pair cutoff 2·rcutfac·radius. */
  radii: number[];
  weights: number[];
}

export interface SnaEngine {
  /** Coefficients per point (linear, plus quadratic ones when asked). */
  readonly ncoeff: number;
  /** The kernel this CPU runs: 'avx512', 'avx2' or 'generic'. */
  readonly isa: string;
  /**
   * Threads a call uses when not given a count (read at each access, as each call reads it):
   * $MALA_TS_SNA_THREADS, else this machine's cores divided by the MPI ranks on the node
   * (OMPI_COMM_WORLD_LOCAL_SIZE / MPI_LOCALNRANKS), at least 1. compute and forces share it.
   */
  readonly threads: number;
  /**
   * Bispectrum of each point (LAMMPS idxb order, no xyz) into `out` (points × ncoeff), from the
   * atom images given (Å, every image within the cutoff of the points, element index per image).
   * Runs over `threads` threads (default: the policy, `threads` above), each writing its own
   * points' rows: the same bits for any thread count. Synchronous. Returns the number of
   * neighbours found over all points.
   */
  compute(images: Float64Array, types: Int32Array, points: Float64Array, out: Float32Array | Float64Array, threads?: number): number;
  /**
   * The bispectrum adjoint: ADDS −Σ_g Σ_k beta[g·ncoeff + k]·∂B_gk/∂R_I into `forces` (atoms × 3;
   * eV/Å when beta is eV per descriptor unit), each image's derivative to the atom `owners[image]`
   * (images of one atom share its position). images/types as for compute; beta: points × ncoeff
   * (quadratic columns too, when quadraticflag). With `virial` (9 values), also ADDS
   * Σ_(g, image) d_a·β_g·∂B_g/∂d_b into virial[3a + b] (d = point − image): ∂(Σ β·B)/∂ε_ab when a
   * homogeneous strain ε moves atoms and points together (r → r·(I + ε)). Returns the number of
   * neighbours found.
   */
  forces(images: Float64Array, types: Int32Array, owners: Int32Array, points: Float64Array, beta: Float64Array, forces: Float64Array, virial?: Float64Array): number;
}

interface SnaAddon {
  SnaEngine: new (params: SnaEngineParams) => SnaEngine;
}

export const snaAddonPath = process.env.MALA_TS_SNA_ADDON || packagePath('bindings', 'sna', 'build', 'Release', 'mala_sna.node');

const cached = new Map<string, { addon: SnaAddon | null; reason: string }>();

/** The addon at `file`, or null and why it could not be loaded. */
export function loadSnaAddon(file = snaAddonPath): { addon: SnaAddon | null; reason: string } {
  let c = cached.get(file);
  if (c) return c;
  if (!fs.existsSync(file)) c = { addon: null, reason: `${file} does not exist` };
  else {
    try {
      // eslint-disable-next-line @typescript-eslint/no-var-requires
      c = { addon: require(file) as SnaAddon, reason: '' };
    } catch (e) {
      c = { addon: null, reason: `cannot load ${file}: ${(e as Error).message}` };
    }
  }
  cached.set(file, c);
  return c;
}

/** A native engine for these parameters; one MalaError when the addon is not built. */
export function createSnaEngine(params: SnaEngineParams, addonFile = snaAddonPath): SnaEngine {
  const { addon, reason } = loadSnaAddon(addonFile);
  if (!addon) {
    throw new MalaError(`the native bispectrum engine is not available: ${reason}`, { fix: `${addonBuildCommand()} to build bindings/sna (it needs a C++ compiler), or use --descriptor-engine lammps` });
  }
  return new addon.SnaEngine(params);
}
