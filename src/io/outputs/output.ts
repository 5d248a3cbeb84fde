/** What an output writer gets and is (the registry is index.ts). */
import type { ObservablesResult } from '../../engine/types';
import type { Communicator } from '../../parallel/comm';
import type { GridLayout } from '../../qe/grid-layout';
import type { DensityFileContext } from '../density-file';

export interface OutputContext {
  comm: Communicator;
  /** The observables (E_F, DOS, …); `outputs` records what was written. */
  result: ObservablesResult;
  /** n(r) in 1/Å³: this rank's slab of a distributed `layout`, else the whole grid in grid order. */
  densityPerA3: Float64Array;
  layout?: GridLayout;
  /** Grid, cell, atoms and comment of a density file. */
  densityFile: DensityFileContext;
  plotTitle: string;
  /** Where the engine's store left the LDOS (the user's ldos.npy). */
  ldosFile?: string;
  /** The JSON value of results.json, taken when it is written (after the final numbers). */
  json?: () => unknown;
}

export interface OutputWriter {
  /** What is written: the key in the result's `outputs` (density, dos, plot, ldos, results). */
  readonly kind: string;
  /** File extension (lower case, with the dot) and how an error message names the format. */
  readonly extension: string;
  readonly label: string;
  /** Every rank calls it (it writes collectively); otherwise rank 0 alone. */
  readonly collective?: boolean;
  /** Written after every other output, with the final numbers (total time, peak memory). */
  readonly last?: boolean;
  write(file: string, ctx: OutputContext): void | Promise<void>;
}
