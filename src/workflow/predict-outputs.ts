/**
 * predict's outputs in its output folder: density.cube, dos.csv, dos.svg, ldos.npy (with
 * --ldos), results.json; what they are called and how they are titled. The writers are the
 * output registry's (src/io/outputs/).
 */
import * as path from 'node:path';
import type { ObservablesResult } from '../engine/types';
import { OutputContext, outputRequest, OutputRequest } from '../io/outputs';
import type { OutputTarget } from '../io/output-check';
import type { Communicator } from '../parallel/comm';
import type { GridLayout } from '../qe/grid-layout';
import type { Atoms } from '../structure/atoms';

export { writeLastOutputs, writeOutputs } from '../io/outputs';

/** The outputs in `outDir` (none without one), and where the LDOS goes when the user asked for it. */
export function predictOutputRequests(outDir: string | undefined, writeLdos: boolean | undefined): { requests: OutputRequest[]; ldosFile?: string } {
  if (!outDir) return { requests: [] };
  const out = (name: string) => path.join(outDir, name);
  const ldosFile = writeLdos ? out('ldos.npy') : undefined;
  const requests = [outputRequest('density', out('density.cube')), outputRequest('dos', out('dos.csv')), outputRequest('plot', out('dos.svg'))];
  if (ldosFile) requests.push(outputRequest('ldos', ldosFile));
  requests.push(outputRequest('results', out('results.json')));
  return { requests, ldosFile };
}

/** What checkOutputs checks before predict computes: the folder, and each file in it. */
export function predictOutputTargets(outDir: string, requests: readonly OutputRequest[]): OutputTarget[] {
  return [{ path: outDir, kind: 'dir', flag: '--out' }, ...requests.map((r): OutputTarget => ({ path: r.file, kind: 'file', flag: '--out' }))];
}

export function predictOutputContext(o: {
  comm: Communicator;
  result: ObservablesResult;
  densityPerA3: Float64Array;
  layout: GridLayout;
  atoms: Atoms;
  grid: readonly number[];
  modelSource: string;
  structureSource: string;
  ldosFile?: string;
  json: () => unknown;
}): OutputContext {
  const { atoms, result } = o;
  return {
    comm: o.comm,
    result,
    densityPerA3: o.densityPerA3,
    layout: o.layout,
    densityFile: { grid: o.grid, cellAngstrom: atoms.cellAngstrom, species: atoms.symbols, positionsAngstrom: atoms.positionsAngstrom, comment: `Electron density predicted by mala-ts from ${path.basename(o.modelSource)} at E_F = ${result.fermiEnergyEv.toFixed(6)} eV, 1/Bohr^3` },
    plotTitle: `Predicted DOS of ${path.basename(o.structureSource)} (${atoms.symbols.length} atoms, T = ${result.temperatureK.toFixed(1)} K)`,
    ldosFile: o.ldosFile,
    json: o.json,
  };
}
