/**
 * What a kind of descriptor is to the rest of mala-ts (like a backend in tfjs-core): a name as
 * model archives record it, how to read its parameters from the model's record, how many features
 * a grid point gets, and how to open a calculator that computes grid blocks. Implementations live
 * one per file next to this one and are listed in `registry.ts`.
 */
import { MalaError } from '../errors';
import type { GridShape } from '../grid/grid';
import type { Communicator } from '../parallel/comm';
import type { GridBlock } from '../parallel/plane-blocks';
import type { Atoms } from '../structure/atoms';

/** Descriptors of grid blocks of one structure, without xyz columns, (planes, rows, nz, F) float32. */
export interface DescriptorBlockSource {
  readonly featureCount: number;
  computeBlock(block: GridBlock): Float32Array;
  /**
   * −Σ_p Σ_c β_pc·∂B_pc/∂R_I over the block's points p (β: ∂E/∂B, n × F float64): forces in eV/Å,
   * 3 per atom of the structure. Absent: this calculator cannot differentiate its descriptors.
   */
  blockForces?(block: GridBlock, betaPerPoint: Float64Array, strainDerivativeEv?: Float64Array): Float64Array;
  /** computeBlock in float64 (the forces' finite-difference checking path); absent where not offered. */
  computeBlockFloat64?(block: GridBlock): Float64Array;
  close(): void;
  /** Counters for the run report (e.g. blocks computed from an atom window / the whole cell). */
  report?(): Record<string, number>;
}

/** Where a calculator runs: the structure, its grid, and the ranks it belongs to. */
export interface DescriptorContext {
  atoms: Atoms;
  grid: GridShape;
  /** The caller's communicator; a calculator that uses MPI itself must use this one, never a global. */
  comm: Communicator;
  /** A LAMMPS library other than the default (tests, users' own builds). */
  libraryPath?: string;
  /** Who computes them: LAMMPS or mala-ts' own kernel (`--descriptor-engine`); undefined: the type's default. */
  engine?: DescriptorEngine;
}

/** `--descriptor-engine`: LAMMPS' compute (users' own LAMMPS/Kokkos builds) or mala-ts' native kernel. */
export const descriptorEngines = ['lammps', 'native'] as const;
export type DescriptorEngine = (typeof descriptorEngines)[number];

/**
 * The engine named by an option, else by $MALA_TS_DESCRIPTOR_ENGINE; undefined leaves the choice
 * to the descriptor type (Bispectrum: native when its addon is built, else LAMMPS).
 */
export function descriptorEngine(name?: string): DescriptorEngine | undefined {
  const n = name ?? (process.env.MALA_TS_DESCRIPTOR_ENGINE || undefined);
  if (n === undefined) return undefined;
  if (!(descriptorEngines as readonly string[]).includes(n)) {
    throw new MalaError(`unknown descriptor engine '${n}'`, { fix: `use ${descriptorEngines.join(' or ')} (--descriptor-engine or $MALA_TS_DESCRIPTOR_ENGINE)` });
  }
  return n as DescriptorEngine;
}

export interface DescriptorType<P = unknown> {
  /** The model archive's `descriptors.type` (MALA's `descriptor_type`), e.g. 'Bispectrum'. */
  readonly name: string;
  /** The model's descriptor record (`model.data.descriptors`) → this type's parameters. */
  parameters(record: Readonly<Record<string, unknown>>): P;
  featureCount(parameters: P): number;
  open(parameters: P, context: DescriptorContext): DescriptorBlockSource;
}
