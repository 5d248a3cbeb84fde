/**
 * Structure file → bispectrum descriptors on the grid → .npy (MALA's `.in.npy` layout).
 *
 * Grid, first match wins: an explicit grid; the FFT grid printed in a QE output; nr1..nr3 of a
 * QE input; QE's own choice for the cell and ecutrho (from a QE input, or given explicitly).
 */
import { MalaError } from '../errors';
import { NpyStreamWriter } from '../io/npy';
import { checkOutputs } from '../io/output-check';
import { Atoms } from '../structure/atoms';
import { ReadOptions, StructureRead, readStructure } from '../structure/registry';
import { chooseGrid, type GridChoice } from '../grid/choose-grid';
import {
  BispectrumCalculator,
  BispectrumParameters,
  defaultMaxPointsPerRun,
} from '../descriptors/bispectrum';
import { malaBispectrumDefaults } from '../descriptors/mala-defaults';
import { yieldToSignals } from '../util/cleanup';
import { Progress, silentProgress } from '../util/progress';
import { NativeBispectrum, bispectrumEngine } from '../descriptors/bispectrum-native';
import type { DescriptorEngine } from '../descriptors/descriptor-type';
import type { GridShape } from '../grid/grid';

export { chooseGrid, type GridChoice, type GridSource } from '../grid/choose-grid';

export interface DescriptorsJob {
  structureFile: string;
  outFile: string;
  grid?: readonly number[];
  /** Refuse a `grid` coarser than the structure file's own (the CLI, unless --force-grid). */
  refuseCoarseGrid?: boolean;
  ecutrhoRy?: number;
  /** Overrides of MALA's defaults. */
  params?: Partial<BispectrumParameters>;
  /** Keep MALA's 3 leading xyz columns. */
  xyz?: boolean;
  read?: ReadOptions;
  maxPointsPerRun?: number;
  /** Who computes them: 'lammps' or 'native' (default: $MALA_TS_DESCRIPTOR_ENGINE, else native when built, else LAMMPS). */
  engine?: DescriptorEngine;
  progress?: Progress;
}

export interface DescriptorsResult {
  outFile: string;
  shape: [number, number, number, number];
  grid: GridChoice;
  atoms: Atoms;
  format: string;
  params: BispectrumParameters;
  seconds: number;
}

/**
 * Compute and write descriptors, streaming x-plane blocks to the file when the grid is larger
 * than one LAMMPS run; the file appears only when complete.
 */
export function computeDescriptorsFile(job: DescriptorsJob): DescriptorsResult {
  const steps = descriptorSteps(job);
  for (;;) {
    const s = steps.next();
    if (s.done) return s.value;
  }
}

/** The same, letting the event loop run between blocks: a Ctrl-C stops it and removes the temporary files (the CLI's). */
export async function computeDescriptorsFileAsync(job: DescriptorsJob): Promise<DescriptorsResult> {
  const steps = descriptorSteps(job);
  for (;;) {
    const s = steps.next();
    if (s.done) return s.value;
    await yieldToSignals();
  }
}

/** The work, one block per step (yield). */
function* descriptorSteps(job: DescriptorsJob): Generator<void, DescriptorsResult, void> {
  const t0 = Date.now();
  const progress = job.progress ?? silentProgress;
  checkOutputs([{ path: job.outFile, kind: 'file', flag: '--out' }], [job.structureFile]);
  const read = readStructure(job.structureFile, job.read);
  const gridChoice = chooseGrid(read, job.grid, job.ecutrhoRy, job.refuseCoarseGrid);
  const params: BispectrumParameters = { ...malaBispectrumDefaults, ...stripUndefined(job.params ?? {}) };
  const maxPoints = job.maxPointsPerRun ?? defaultMaxPointsPerRun;
  const calc = bispectrumEngine(job.engine) === 'native' ? nativePlanes(read.atoms, gridChoice.grid, params, job.xyz ?? false) : new BispectrumCalculator(read.atoms, gridChoice.grid, params, { xyz: job.xyz ?? false, maxPointsPerRun: maxPoints });
  const [nx, ny, nz] = gridChoice.grid;
  const shape: [number, number, number, number] = [nx, ny, nz, calc.featureCount];
  let writer: NpyStreamWriter | undefined;
  try {
    checkOutputs([{ path: job.outFile, kind: 'file', flag: '--out', expectedBytes: nx * ny * nz * calc.featureCount * 4 }]);
    writer = new NpyStreamWriter(job.outFile, shape, 'float32');
    progress.start('descriptors', calc.pointCount, 'points');
    if (calc.pointCount <= maxPoints) {
      writer.write(calc.computePlanes(0, nx));
      progress.tick(calc.pointCount);
    } else {
      const planesPerBlock = Math.max(1, Math.floor(maxPoints / (ny * nz)));
      for (let i = 0; i < nx; i += planesPerBlock) {
        const i1 = Math.min(nx, i + planesPerBlock);
        writer.write(calc.computePlanes(i, i1));
        progress.tick((i1 - i) * ny * nz);
        yield;
      }
    }
    yield; // (a signal now leaves no output: nothing is committed yet)
    writer.close();
    writer = undefined;
  } finally {
    progress.stop();
    writer?.abort();
    calc.close();
  }
  return { outFile: job.outFile, shape, grid: gridChoice, atoms: read.atoms, format: read.format, params, seconds: (Date.now() - t0) / 1000 };
}

/** The native engine with BispectrumCalculator's face for this file's loop. */
function nativePlanes(atoms: Atoms, grid: GridShape, params: BispectrumParameters, xyz: boolean): Pick<BispectrumCalculator, 'computePlanes' | 'featureCount' | 'pointCount' | 'close'> {
  const native = new NativeBispectrum(atoms, grid, params);
  return {
    featureCount: native.featureCount + (xyz ? 3 : 0),
    pointCount: grid[0] * grid[1] * grid[2],
    computePlanes: (i0, i1) => native.computePlanes(i0, i1, xyz),
    close: () => native.close(),
  };
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
