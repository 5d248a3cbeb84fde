/**
 * LDOS (a .npy or a set of pp.x cubes) → DOS, self-consistent Fermi energy, band energy, −TS,
 * electron density, optionally the total energy (through a hook), and the files a user asked
 * for. The observables engine (src/engine/engine.ts) streams the LDOS twice (DOS pass, then
 * density pass) so it never has to fit in memory: by blocks of grid points for .npy, by energy
 * for cubes. Here: the QE metadata, the checks of the LDOS against it, and the outputs.
 */
import * as path from 'node:path';
import { MalaError } from '../errors';
import { cubeVoxelVolumeA3 } from '../io/cube';
import { outputRequest, OutputRequest, writeOutputs } from '../io/outputs';
import { checkOutputs } from '../io/output-check';
import { cubeLdosSource, CubeLdosSource } from '../engine/cube-source';
import { EnergyStep, runObservablesEngine } from '../engine/engine';
import type { LdosSource as EngineLdosSource } from '../engine/ldos-source';
import { npyLdosSource } from '../engine/npy-source';
import { addTiming, ObservablesResult, TotalEnergyResult } from '../engine/types';
import { serialComm } from '../parallel/comm';
import { wholeGridLayout } from '../qe/grid-layout';
import { det3, Mat3 } from '../structure/atoms';
import { bohrAngstrom } from '../structure/units';
import { EnergyGrid, energiesEv as gridEnergies } from '../targets/energy-grid';
import { checkDensityElectrons } from '../qe/electron-count';
import { QeMetadata, readQeMetadata } from '../qe/qe-metadata';
import { Progress } from '../util/progress';

export type { ObservablesResult, TotalEnergyResult } from '../engine/types';

/** The LDOS files to read (the engine's sources are src/engine/npy-source.ts and cube-source.ts). */
export type LdosFiles = { kind: 'npy'; file: string } | { kind: 'cubes'; files: string[] };
/** (the name `observables`' options have always used for LdosFiles) */
export type LdosSource = LdosFiles;

/** Everything the total-energy terms need; handed to `totalEnergy` (issue 5's src/qe). */
export interface TotalEnergyContext {
  densityPerA3: Float64Array;
  gridShape: [number, number, number];
  cellAngstrom: number[][];
  species: string[];
  positionsAngstrom: number[][];
  fermiEnergyEv: number;
  bandEnergyEv: number;
  entropyContributionEv: number;
  metadata?: QeMetadata;
}

export type TotalEnergyHook = (ctx: TotalEnergyContext) => TotalEnergyResult | Promise<TotalEnergyResult>;

export interface ObservablesOptions {
  ldos: LdosFiles;
  energyGrid: EnergyGrid;
  /** pw.x output (or input) the LDOS belongs to: temperature, electron count, grid, cell, atoms. */
  structureFile?: string;
  /** Cell rows in Å when no structure file is given (e.g. the predict pipeline knows it). */
  cellAngstrom?: number[][];
  temperatureK?: number;
  electrons?: number;
  /** Use this Fermi energy instead of the self-consistent one (eV). */
  fermiEnergyEv?: number;
  densityOut?: string;
  dosOut?: string;
  plotOut?: string;
  /** Grid points per block when streaming a .npy (default: about 8 MiB of float32 per block). */
  chunkPoints?: number;
  /** Adds total-energy terms from the density (e.g. `--pseudo-dir`). */
  totalEnergy?: TotalEnergyHook;
  progress?: Progress;
}

/** The hook as the engine's energy step: it needs the cell, the atoms and the 3-D grid. */
function hookStep(hook: TotalEnergyHook, s: { gridShape?: [number, number, number]; cellAngstrom?: number[][]; md?: QeMetadata }): EnergyStep {
  return async ({ densityPerA3, fermiEnergyEv, bandEnergyEv, entropyContributionEv }) => {
    const { gridShape, cellAngstrom, md } = s;
    const species = md?.species;
    const positions = md?.positionsAngstrom;
    if (!gridShape || !cellAngstrom || !species || !positions) {
      throw new MalaError('the total energy needs the cell, atoms and FFT grid', { fix: 'pass --structure with the pw.x output the LDOS belongs to' });
    }
    return { totalEnergy: await hook({ densityPerA3, gridShape, cellAngstrom, species, positionsAngstrom: positions, fermiEnergyEv, bandEnergyEv, entropyContributionEv, metadata: md }) };
  };
}

export async function computeObservables(opts: ObservablesOptions): Promise<ObservablesResult> {
  const timings: Record<string, number> = {};
  const energies = gridEnergies(opts.energyGrid);
  const nE = energies.length;
  const md = opts.structureFile ? readQeMetadata(opts.structureFile) : undefined;
  const ldosName = opts.ldos.kind === 'npy' ? opts.ldos.file : opts.ldos.files.length === 1 ? opts.ldos.files[0] : `${opts.ldos.files.length} cube files in ${path.dirname(opts.ldos.files[0])}`;

  // Check output names before the (possibly long) passes over the LDOS.
  const plot = opts.plotOut ? outputRequest('plot', opts.plotOut) : undefined;
  const density = opts.densityOut ? outputRequest('density', opts.densityOut) : undefined;
  const dos = opts.dosOut ? outputRequest('dos', opts.dosOut) : undefined;
  const outputs = [dos, density, plot].filter((r): r is OutputRequest => r !== undefined);
  const ldosFiles = opts.ldos.kind === 'npy' ? [opts.ldos.file] : opts.ldos.files;
  const flags: Record<string, string> = { dos: '--dos-out', density: '--density-out', plot: '--plot' };
  checkOutputs(outputs.map((r) => ({ path: r.file, kind: 'file', flag: flags[r.writer.kind] ?? r.writer.kind })), [...ldosFiles, opts.structureFile]);
  const warnings: string[] = [];
  if (opts.temperatureK === undefined && md?.smearing && !/fermi/i.test(md.smearing)) {
    // MALA does the same (T = degauss·Ry/kB) whatever the smearing; say so, the numbers differ from QE's.
    warnings.push(`${md.file} uses ${md.smearing} smearing; the observables use Fermi–Dirac at T = degauss·Rydberg/kB as MALA does (pass --temperature to choose T)`);
  }
  if (opts.temperatureK === undefined && md?.kind === 'pw-input') {
    warnings.push(`temperature from the pw.x input's degauss (${md.degaussRy} Ry); MALA reads the value the pw.x output prints (rounded to 4 decimals), which can differ slightly`);
  }
  const temperatureK = opts.temperatureK ?? md?.temperatureK;
  if (temperatureK === undefined) throw new MalaError('no electronic temperature', { fix: 'pass --temperature K, or --structure with the pw.x output (its smearing width sets T)' });
  if (!(temperatureK > 0)) throw new MalaError(`temperature ${temperatureK} K must be positive`, { fix: 'pass --temperature K > 0' });
  const electrons = opts.electrons ?? md?.numberOfElectrons;
  if (electrons === undefined) {
    throw new MalaError('no electron count', { file: md?.file, fix: 'pass --electrons N, or --structure with the pw.x output (it prints "number of electrons")' });
  }

  const t0 = performance.now();
  const source: EngineLdosSource & Partial<Pick<CubeLdosSource, 'firstCube'>> =
    opts.ldos.kind === 'npy' ? npyLdosSource(opts.ldos.file, nE, { chunkPoints: opts.chunkPoints, name: ldosName }) : cubeLdosSource(opts.ldos.files, energies, { expectShape: md?.gridShape, name: ldosName });
  try {
    // Grid and cell: the structure file is authoritative (as MALA's info.json); cubes carry their own.
    const g = source.gridShape;
    if (md?.gridShape) {
      const same = g.length === 3 ? g.every((n, i) => n === md.gridShape![i]) : g.length === 1 && g[0] === md.gridShape[0] * md.gridShape[1] * md.gridShape[2];
      if (!same) {
        throw new MalaError(`LDOS grid (${g.join(', ')}) does not match the FFT grid (${md.gridShape.join(', ')}) of ${md.file}`, { file: ldosName, fix: 'use the LDOS computed for this structure (same pw.x run and FFT grid)' });
      }
    }
    const gridShape = (g.length === 3 ? g : md?.gridShape) as [number, number, number] | undefined;
    const firstCube = source.firstCube;
    let cellAngstrom = md?.cellAngstrom ?? opts.cellAngstrom;
    if (!cellAngstrom && firstCube) cellAngstrom = firstCube.voxelBohr.map((row, i) => row.map((v) => v * firstCube.shape[i] * bohrAngstrom));
    let voxelVolumeA3: number;
    if (cellAngstrom) voxelVolumeA3 = Math.abs(det3(cellAngstrom as Mat3)) / source.pointCount;
    else if (firstCube) voxelVolumeA3 = cubeVoxelVolumeA3(firstCube);
    else throw new MalaError('the voxel volume is unknown: a .npy LDOS has no cell', { file: ldosName, fix: 'pass --structure with the pw.x output (or input) the LDOS belongs to' });
    if (firstCube && md?.cellAngstrom) {
      // cubes round a_i/n_i to 1e-6 bohr; a different cell means a different structure
      const vc = cubeVoxelVolumeA3(firstCube);
      if (Math.abs(vc - voxelVolumeA3) / voxelVolumeA3 > 1e-4) {
        throw new MalaError(`the LDOS cubes' voxel (${vc.toExponential(6)} Å³) differs from the cell of ${md.file} (${voxelVolumeA3.toExponential(6)} Å³)`, { file: ldosName, fix: 'use the cubes of this structure' });
      }
    }
    addTiming(timings, 'dos_s', t0); // opening the LDOS counts to the DOS pass, as it always has

    const run = await runObservablesEngine({
      source,
      energyGrid: opts.energyGrid,
      temperatureK,
      electrons,
      fermiEnergyEv: opts.fermiEnergyEv,
      voxelVolumeA3,
      gridShape: gridShape ?? [...g],
      layout: gridShape ? wholeGridLayout(gridShape) : undefined,
      energy: opts.totalEnergy ? hookStep(opts.totalEnergy, { gridShape, cellAngstrom, md }) : undefined,
      progress: opts.progress,
      ldosSource: ldosName,
      structureFile: md?.file,
      fermiEnergyDftEv: md?.fermiEnergyDftEv,
      warnings,
      timings,
    });
    // (the Fermi level was never timed on its own here: keep the keys of timings_s)
    const stages = run.stageTimesS;
    timings.dos_s += stages.dos_s;
    timings.density_s = stages.density_s;
    if (stages.total_energy_s !== undefined) timings.total_energy_s = stages.total_energy_s;

    const result = run.observables;
    // the density at a given E_F, or for a given --electrons, need not hold the structure's electrons: say so
    if (md?.numberOfElectrons !== undefined) {
      const off = checkDensityElectrons(result.densityElectrons, md.numberOfElectrons, ldosName, `${md.file} ("number of electrons")`, false);
      if (off) warnings.push(off);
    }
    await writeOutputs(outputs, {
      comm: serialComm,
      result,
      densityPerA3: run.densityPerA3,
      densityFile: {
        grid: gridShape,
        cellAngstrom,
        voxelBohr: firstCube?.voxelBohr,
        species: md?.species,
        positionsAngstrom: md?.positionsAngstrom,
        cubeAtoms: firstCube?.atoms,
        comment: `Electron density from the LDOS at E_F = ${result.fermiEnergyEv.toFixed(6)} eV, 1/Bohr^3`,
      },
      plotTitle: `DOS of ${path.basename(ldosName)} (T = ${temperatureK.toFixed(1)} K)`,
    });
    addTiming(timings, 'total_s', t0);
    return result;
  } finally {
    source.close();
  }
}
