/**
 * Bispectrum descriptors from mala-ts' own SNAP kernel (bindings/sna), the same numbers as LAMMPS'
 * `compute sna/grid` (spec §2.4) without LAMMPS: `--descriptor-engine native`.
 *
 * A block's grid points are computed from the atom images within the cutoff of the block's
 * bounding box (periodic images along periodic axes only), so the work per point does not grow
 * with the cell. Points are in the frame of the structure as read; B is rotation invariant, so no
 * LAMMPS frame is needed.
 */
import { createSnaEngine, loadSnaAddon, type SnaEngine } from '../../bindings/sna';
import { MalaError } from '../errors';
import { type GridShape, validateGrid } from '../grid/grid';
import { type GridBlock, blockPointCount, descriptorCutoffAngstrom } from '../parallel/plane-blocks';
import { type Atoms, type Mat3, type Vec3, fractionalPositions, inv3, speciesOf, validateAtoms, vecMat, wrapAtoms } from '../structure/atoms';
import { type BispectrumParameters, bispectrumCount, effectiveWeights, validateParameters } from './bispectrum';
import { descriptorEngine, type DescriptorBlockSource, type DescriptorEngine } from './descriptor-type';
import { malaElementRadius } from './mala-defaults';

/**
 * The engine that computes bispectrum descriptors: the one asked for (option, then
 * $MALA_TS_DESCRIPTOR_ENGINE), else native when its addon is built (the same numbers as LAMMPS,
 * test/descriptors/sna-native.test.ts, several times faster), else LAMMPS.
 */
export function bispectrumEngine(asked?: string): DescriptorEngine {
  return descriptorEngine(asked) ?? (loadSnaAddon().addon ? 'native' : 'lammps');
}

/** Grid points of a block in block order ((planes, rows, nz), z fastest), Å, 3 per point. */
export function blockPointsAngstrom(cell: Mat3, grid: GridShape, b: GridBlock): Float64Array {
  const [nx, ny, nz] = grid;
  const out = new Float64Array(blockPointCount(b, grid) * 3);
  let o = 0;
  const row = [0, 0, 0];
  for (let i = b.i0; i < b.i1; i++)
    for (let j = b.rowStart; j < ny; j += b.rowStride) {
      // the row's origin once per row; (row + z term) is the same sum, in the same order, as before
      for (let d = 0; d < 3; d++) row[d] = (i / nx) * cell[0][d] + (j / ny) * cell[1][d];
      for (let k = 0; k < nz; k++)
        for (let d = 0; d < 3; d++) out[o++] = row[d] + (k / nz) * cell[2][d];
    }
  return out;
}

/**
 * Every image r + n·cell (n ≠ 0 only along periodic axes) of the atoms (fractional `frac`, wrapped)
 * that lies within `cutoff` of the box spanned by `points`, with the atom index of each image (`owners`).
 */
export function atomImagesNear(cell: Mat3, pbc: readonly boolean[], frac: readonly Vec3[], typeOf: readonly number[], points: Float64Array, cutoffAngstrom: number): { images: Float64Array; types: Int32Array; owners: Int32Array } {
  const lo = [Infinity, Infinity, Infinity];
  const hi = [-Infinity, -Infinity, -Infinity];
  for (let p = 0; p < points.length; p += 3)
    for (let d = 0; d < 3; d++) {
      lo[d] = Math.min(lo[d], points[p + d] - cutoffAngstrom);
      hi[d] = Math.max(hi[d], points[p + d] + cutoffAngstrom);
    }
  // fractional extent of the box, from its 8 corners
  const inv = inv3(cell);
  const fmin = [Infinity, Infinity, Infinity];
  const fmax = [-Infinity, -Infinity, -Infinity];
  for (let c = 0; c < 8; c++) {
    const f = vecMat([c & 1 ? hi[0] : lo[0], c & 2 ? hi[1] : lo[1], c & 4 ? hi[2] : lo[2]], inv);
    for (let d = 0; d < 3; d++) {
      fmin[d] = Math.min(fmin[d], f[d]);
      fmax[d] = Math.max(fmax[d], f[d]);
    }
  }
  const xyz: number[] = [];
  const types: number[] = [];
  const owners: number[] = [];
  frac.forEach((s, a) => {
    const range = [0, 1, 2].map((d) => (pbc[d] ? [Math.ceil(fmin[d] - s[d]), Math.floor(fmax[d] - s[d])] : [0, 0]));
    for (let n0 = range[0][0]; n0 <= range[0][1]; n0++)
      for (let n1 = range[1][0]; n1 <= range[1][1]; n1++)
        for (let n2 = range[2][0]; n2 <= range[2][1]; n2++) {
          const r = vecMat([s[0] + n0, s[1] + n1, s[2] + n2], cell);
          if (r[0] < lo[0] || r[0] > hi[0] || r[1] < lo[1] || r[1] > hi[1] || r[2] < lo[2] || r[2] > hi[2]) continue;
          xyz.push(r[0], r[1], r[2]);
          types.push(typeOf[a]);
          owners.push(a);
        }
  });
  return { images: Float64Array.from(xyz), types: Int32Array.from(types), owners: Int32Array.from(owners) };
}

/** Descriptors (no xyz columns) of grid blocks of one structure from the native kernel. */
export class NativeBispectrum {
  readonly featureCount: number;
  readonly engine: SnaEngine;
  private readonly cell: Mat3;
  private readonly frac: Vec3[];
  private readonly typeOf: number[];
  private readonly cutoffAngstrom: number;
  /** Neighbours found over all points so far (for reports). */
  neighbours = 0;
  /**
   * Threads of each descriptor call; undefined: the engine's policy ($MALA_TS_SNA_THREADS, else the
   * cores per MPI rank). Any count gives the same bits.
   */
  threads?: number;

  constructor(
    private readonly atoms: Atoms,
    readonly grid: GridShape,
    readonly params: BispectrumParameters,
  ) {
    validateGrid(grid);
    validateAtoms(atoms);
    const species = speciesOf(atoms);
    validateParameters(params, species.length);
    const wrapped = wrapAtoms(atoms);
    this.cell = atoms.cellAngstrom;
    this.frac = fractionalPositions(wrapped);
    this.frac.forEach((s) =>
      atoms.pbc.forEach((p, d) => {
        // LAMMPS drops such atoms; say so instead
        if (!p && (s[d] < 0 || s[d] >= 1)) throw new MalaError(`atoms lie outside the cell along the non-periodic axis a${d + 1}`, { fix: 'enlarge the cell along that axis or make it periodic' });
      }),
    );
    this.typeOf = atoms.symbols.map((s) => species.indexOf(s));
    this.cutoffAngstrom = descriptorCutoffAngstrom(params);
    this.engine = createSnaEngine({
      twojmax: params.twojmax,
      rcutfac: params.rcutfacAngstrom,
      rfac0: params.rfac0,
      rmin0: params.rmin0Angstrom,
      switchflag: params.switchflag,
      bzeroflag: params.bzeroflag,
      quadraticflag: params.quadraticflag,
      radii: params.elementRadii ?? new Array(species.length).fill(malaElementRadius),
      weights: effectiveWeights(params, species.length),
    });
    this.featureCount = bispectrumCount(params.twojmax, params.quadraticflag);
    if (this.engine.ncoeff !== this.featureCount) throw new MalaError(`native engine gives ${this.engine.ncoeff} coefficients, expected ${this.featureCount}`);
  }

  /** Descriptors at arbitrary points (Å, 3 per point): points × featureCount float32 (or into `out`). */
  computePoints(points: Float64Array, out: Float32Array | Float64Array = new Float32Array((points.length / 3) * this.featureCount)): Float32Array | Float64Array {
    if (points.length === 0) return out;
    const { images, types } = atomImagesNear(this.cell, this.atoms.pbc, this.frac, this.typeOf, points, this.cutoffAngstrom);
    this.neighbours += this.engine.compute(images, types, points, out, this.threads);
    return out;
  }

  /** Descriptors of a block in float64 (points × F, block order): the checking path of the forces. */
  computeBlockFloat64(b: GridBlock): Float64Array {
    const points = blockPointsAngstrom(this.cell, this.grid, b);
    return this.computePoints(points, new Float64Array((points.length / 3) * this.featureCount)) as Float64Array;
  }

  /**
   * −Σ_g β_g·∂B_g/∂R_I for the block's points g (block order) with β_g = betaPerPoint[g·F .. g·F+F)
   * (∂E/∂B_g, eV per descriptor unit, quadratic columns included): atoms × 3 in the structure's
   * order, eV/Å. Periodic images of an atom add to that atom. With `strainDerivativeEv` (9 values,
   * row-major), also adds ∂(Σ_g β_g·B_g)/∂ε_ab (eV) for a homogeneous strain r → r·(I + ε) of the
   * atoms and the grid (fractional grid coordinates fixed): the descriptor part of the stress
   * (σ = that / volume, plus the other energy terms' own).
   */
  blockForces(b: GridBlock, betaPerPoint: Float64Array, strainDerivativeEv?: Float64Array): Float64Array {
    const points = blockPointsAngstrom(this.cell, this.grid, b);
    const n = points.length / 3;
    if (betaPerPoint.length !== n * this.featureCount) throw new MalaError(`blockForces: beta holds ${betaPerPoint.length} values, the block needs ${n} points × ${this.featureCount} descriptors`);
    if (strainDerivativeEv && strainDerivativeEv.length !== 9) throw new MalaError(`blockForces: the strain derivative holds 9 values, not ${strainDerivativeEv.length}`);
    const forcesEvPerA = new Float64Array(this.frac.length * 3);
    if (n === 0) return forcesEvPerA;
    const { images, types, owners } = atomImagesNear(this.cell, this.atoms.pbc, this.frac, this.typeOf, points, this.cutoffAngstrom);
    this.neighbours += this.engine.forces(images, types, owners, points, betaPerPoint, forcesEvPerA, strainDerivativeEv);
    return forcesEvPerA;
  }

  /** Descriptors of a block as (planes, rows, nz, F) float32. */
  computeBlock(b: GridBlock): Float32Array {
    return this.computePoints(blockPointsAngstrom(this.cell, this.grid, b)) as Float32Array;
  }

  /**
   * x-planes [i0, i1) as (i1−i0, ny, nz, F) float32, with MALA's 3 leading xyz columns (Å, the
   * structure's frame, as BispectrumCalculator writes them) when `xyz`.
   */
  computePlanes(i0: number, i1: number, xyz = false): Float32Array {
    const b: GridBlock = { i0, i1, rowStart: 0, rowStride: 1 };
    const points = blockPointsAngstrom(this.cell, this.grid, b);
    const B = this.computePoints(points) as Float32Array;
    if (!xyz) return B;
    const F = this.featureCount;
    const n = points.length / 3;
    const out = new Float32Array(n * (F + 3));
    for (let p = 0; p < n; p++) {
      out.set(points.subarray(3 * p, 3 * p + 3), p * (F + 3));
      out.set(B.subarray(p * F, (p + 1) * F), p * (F + 3) + 3);
    }
    return out;
  }

  /** The whole grid, (nx, ny, nz, F) float32, one x-plane per kernel call. */
  computeAll(): Float32Array {
    const [nx, ny, nz] = this.grid;
    const F = this.featureCount;
    const out = new Float32Array(nx * ny * nz * F);
    for (let i = 0; i < nx; i++) out.set(this.computeBlock({ i0: i, i1: i + 1, rowStart: 0, rowStride: 1 }), i * ny * nz * F);
    return out;
  }

  close(): void {}
}

/** The native engine as a descriptor block source (the 'native' engine of the Bispectrum type). */
export function openNativeBispectrum(p: BispectrumParameters, atoms: Atoms, grid: GridShape): DescriptorBlockSource {
  const calc = new NativeBispectrum(atoms, grid, p);
  return {
    featureCount: calc.featureCount,
    computeBlock: (b) => calc.computeBlock(b),
    blockForces: (b, beta, strain) => calc.blockForces(b, beta, strain),
    computeBlockFloat64: (b) => calc.computeBlockFloat64(b),
    close: () => calc.close(),
    report: () => ({ nativeNeighbours: calc.neighbours }),
  };
}
