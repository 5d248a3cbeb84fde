/**
 * LDOS (a .npy or a set of pp.x cubes) → DOS, self-consistent Fermi energy, band energy, −TS,
 * electron density, optionally the total energy (through a hook), and the files a user asked
 * for. Streams the LDOS twice (DOS pass, then density pass) so it never has to fit in memory:
 * by blocks of grid points for .npy, by energy for cubes.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MalaError } from '../errors';
import { Cube, cubeVoxelVolumeA3, readLdosCubeSlice, sortLdosCubeFiles } from '../io/cube';
import { writeDensityFile } from '../io/density-file';
import { NpyFile } from '../io/npy';
import { writeDosPlot } from '../io/plot';
import { writeDosCsv } from '../io/results';
import { bohrAngstrom, kTEv } from '../structure/units';
import { DensityAccumulator } from '../targets/density';
import { DosAccumulator, dosObservables } from '../targets/dos';
import { EnergyGrid, energiesEv as gridEnergies } from '../targets/energy-grid';
import { QeMetadata, readQeMetadata } from '../targets/qe-output-metadata';
import { Progress, silentProgress } from '../util/progress';

/** Block size for streaming: a few MiB stays in cache-friendly territory and keeps memory flat. */
const CHUNK_BYTES = 8 << 20;

export type LdosSource = { kind: 'npy'; file: string } | { kind: 'cubes'; files: string[] };

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

export interface TotalEnergyResult {
  totalEnergyEv: number;
  /** MALA's contribution names (e_band, e_rho_times_v_hxc, e_hartree, e_xc, e_ewald, e_entropy) in eV. */
  termsEv: Record<string, number>;
}

export type TotalEnergyHook = (ctx: TotalEnergyContext) => TotalEnergyResult | Promise<TotalEnergyResult>;

export interface ObservablesOptions {
  ldos: LdosSource;
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

export interface ObservablesResult {
  fermiEnergyEv: number;
  fermiEnergyIsSelfConsistent: boolean;
  bandEnergyEv: number;
  entropyContributionEv: number;
  /** N(E_F) from the DOS (equals the requested count for a self-consistent E_F). */
  numberOfElectrons: number;
  electronsRequested: number;
  /** V_voxel·Σ n(r) of the density from the LDOS. */
  densityElectrons: number;
  densityMinPerA3: number;
  densityMaxPerA3: number;
  temperatureK: number;
  energyGrid: EnergyGrid;
  energiesEv: Float64Array;
  dosPerEv: Float64Array;
  gridShape: number[];
  pointCount: number;
  voxelVolumeA3: number;
  ldosSource: string;
  structureFile?: string;
  fermiEnergyDftEv?: number;
  totalEnergy?: TotalEnergyResult;
  /** Things the user should know that did not stop the computation. */
  warnings: string[];
  /** Files written. */
  outputs: Record<string, string>;
  timingsS: Record<string, number>;
}

function det3(m: number[][]): number {
  return m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0]) + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0]);
}

/** Where the LDOS is read from, with its grid shape: one reader per source kind. */
interface LdosReader {
  gridShape: number[];
  pointCount: number;
  /** First cube (cube sources only): cell and atoms when no structure is given. */
  firstCube?: Cube;
  dosPass(acc: DosAccumulator, progress: Progress): Promise<void> | void;
  densityPass(acc: DensityAccumulator, progress: Progress): Promise<void> | void;
  close(): void;
}

function npyReader(file: string, nE: number, chunkPoints: number): LdosReader {
  const f = new NpyFile(file);
  const shape = f.shape;
  if (shape.length < 2 || shape[shape.length - 1] !== nE) {
    f.close();
    throw new MalaError(`LDOS has shape (${shape.join(', ')}) but the energy grid has ${nE} energies`, {
      file,
      fix: `the last axis of the LDOS must be the energy axis with the same count as --energy-grid (give --energy-grid OFFSET,SPACING,${shape[shape.length - 1] ?? '?'} if that is what the LDOS was computed with)`,
    });
  }
  // Little-endian float files (all MALA data) are streamed with two reused buffers: the next block
  // is read on libuv's thread pool while this one is summed, and no block is allocated twice.
  const h = f.header;
  const direct = (h.descr === '<f4' || h.descr === '<f8') && h.dataOffset % h.itemSize === 0;
  const rowBytes = nE * h.itemSize;
  const each = async (cb: (chunk: Float32Array | Float64Array, first: number) => void, progress: Progress, label: string) => {
    progress.start(label, f.rowCount, 'points');
    if (!direct) {
      for (let p = 0; p < f.rowCount; p += chunkPoints) {
        const n = Math.min(chunkPoints, f.rowCount - p);
        cb(f.readRows(p, n), p);
        progress.tick(n);
      }
      progress.stop();
      return;
    }
    const fd = await fs.promises.open(file, 'r');
    try {
      const bufs = [Buffer.allocUnsafeSlow(chunkPoints * rowBytes), Buffer.allocUnsafeSlow(chunkPoints * rowBytes)];
      const readBlock = async (p: number, buf: Buffer): Promise<number> => {
        const n = Math.min(chunkPoints, f.rowCount - p);
        const want = n * rowBytes;
        let off = 0;
        while (off < want) {
          const { bytesRead } = await fd.read(buf, off, want - off, h.dataOffset + p * rowBytes + off);
          if (bytesRead === 0) throw new MalaError('unexpected end of .npy file', { file, fix: 'the file is incomplete; regenerate it' });
          off += bytesRead;
        }
        return n;
      };
      let next = f.rowCount > 0 ? readBlock(0, bufs[0]) : undefined;
      for (let p = 0, i = 0; p < f.rowCount; p += chunkPoints, i ^= 1) {
        const n = await next!;
        next = p + chunkPoints < f.rowCount ? readBlock(p + chunkPoints, bufs[i ^ 1]) : undefined;
        const b = bufs[i];
        const chunk = h.itemSize === 4 ? new Float32Array(b.buffer, b.byteOffset, n * nE) : new Float64Array(b.buffer, b.byteOffset, n * nE);
        try {
          cb(chunk, p);
        } catch (e) {
          await next?.catch(() => undefined); // do not leave a read running on a closing file
          throw e;
        }
        progress.tick(n);
      }
    } finally {
      await fd.close();
    }
    progress.stop();
  };
  return {
    gridShape: shape.slice(0, -1),
    pointCount: f.rowCount,
    dosPass: (acc, progress) => each((c, p) => acc.addPoints(c, p), progress, 'DOS'),
    densityPass: (acc, progress) => each((c, p) => acc.addPoints(c, p), progress, 'density'),
    close: () => f.close(),
  };
}

function cubeReader(files: string[], energies: Float64Array, expectShape?: number[]): LdosReader {
  const sorted = sortLdosCubeFiles(files);
  if (sorted.length !== energies.length) {
    throw new MalaError(`${sorted.length} LDOS cube files given but the energy grid has ${energies.length} energies`, { fix: 'pass one pp.x cube per energy of --energy-grid' });
  }
  const first = readLdosCubeSlice(sorted[0], 0, { energiesEv: energies, shape: expectShape });
  const shape = first.cube.shape;
  const pointCount = shape[0] * shape[1] * shape[2];
  // Keep the slices between the two passes when they are small (≤ 1 GiB); re-read otherwise.
  const keep = pointCount * energies.length * 8 <= 1 << 30;
  const cache: (Float64Array | undefined)[] = [];
  const slice = (k: number): Float64Array => {
    if (k === 0 && first.ldosPerEvA3) return first.ldosPerEvA3;
    if (cache[k]) return cache[k]!;
    return readLdosCubeSlice(sorted[k], k, { energiesEv: energies, shape }).ldosPerEvA3;
  };
  return {
    gridShape: shape,
    pointCount,
    firstCube: first.cube,
    dosPass: (acc, progress) => {
      progress.start('DOS', sorted.length, 'cubes');
      for (let k = 0; k < sorted.length; k++) {
        const s = slice(k);
        acc.addEnergySlice(k, s);
        if (keep && k > 0) cache[k] = s;
        progress.tick();
      }
      progress.stop();
    },
    densityPass: (acc, progress) => {
      progress.start('density', sorted.length, 'cubes');
      for (let k = 0; k < sorted.length; k++) {
        acc.addEnergySlice(k, slice(k));
        progress.tick();
      }
      progress.stop();
    },
    close: () => undefined,
  };
}

export async function computeObservables(opts: ObservablesOptions): Promise<ObservablesResult> {
  const progress = opts.progress ?? silentProgress;
  const timings: Record<string, number> = {};
  const tic = (name: string, t0: number) => {
    timings[name] = (Date.now() - t0) / 1000;
  };
  const energies = gridEnergies(opts.energyGrid);
  const nE = energies.length;
  const md = opts.structureFile ? readQeMetadata(opts.structureFile) : undefined;
  const ldosName = opts.ldos.kind === 'npy' ? opts.ldos.file : opts.ldos.files.length === 1 ? opts.ldos.files[0] : `${opts.ldos.files.length} cube files in ${path.dirname(opts.ldos.files[0])}`;

  // Check output names before the (possibly long) passes over the LDOS.
  if (opts.plotOut && !/\.(svg|png)$/i.test(opts.plotOut)) throw new MalaError(`unknown plot format '${path.extname(opts.plotOut) || '(none)'}'`, { file: opts.plotOut, fix: 'name the plot file .svg or .png' });
  if (opts.densityOut && !/\.(cube|npy)$/i.test(opts.densityOut)) throw new MalaError(`unknown density format '${path.extname(opts.densityOut) || '(none)'}'`, { file: opts.densityOut, fix: 'name the density file .cube (1/Bohr³, QE style) or .npy (1/Å³, MALA style)' });
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

  const t0 = Date.now();
  const reader = opts.ldos.kind === 'npy' ? npyReader(opts.ldos.file, nE, opts.chunkPoints ?? Math.max(1, Math.floor(CHUNK_BYTES / (nE * 4)))) : cubeReader(opts.ldos.files, energies, md?.gridShape);
  try {
    // Grid and cell: the structure file is authoritative (as MALA's info.json); cubes carry their own.
    const g = reader.gridShape;
    if (md?.gridShape) {
      const same = g.length === 3 ? g.every((n, i) => n === md.gridShape![i]) : g.length === 1 && g[0] === md.gridShape[0] * md.gridShape[1] * md.gridShape[2];
      if (!same) {
        throw new MalaError(`LDOS grid (${g.join(', ')}) does not match the FFT grid (${md.gridShape.join(', ')}) of ${md.file}`, { file: ldosName, fix: 'use the LDOS computed for this structure (same pw.x run and FFT grid)' });
      }
    }
    const gridShape = (g.length === 3 ? g : md?.gridShape) as [number, number, number] | undefined;
    let cellAngstrom = md?.cellAngstrom ?? opts.cellAngstrom;
    if (!cellAngstrom && reader.firstCube) cellAngstrom = reader.firstCube.voxelBohr.map((row, i) => row.map((v) => v * reader.firstCube!.shape[i] * bohrAngstrom));
    let voxelVolumeA3: number;
    if (cellAngstrom) voxelVolumeA3 = Math.abs(det3(cellAngstrom)) / reader.pointCount;
    else if (reader.firstCube) voxelVolumeA3 = cubeVoxelVolumeA3(reader.firstCube);
    else throw new MalaError('the voxel volume is unknown: a .npy LDOS has no cell', { file: ldosName, fix: 'pass --structure with the pw.x output (or input) the LDOS belongs to' });
    if (reader.firstCube && md?.cellAngstrom) {
      // cubes round a_i/n_i to 1e-6 bohr; a different cell means a different structure
      const vc = cubeVoxelVolumeA3(reader.firstCube);
      if (Math.abs(vc - voxelVolumeA3) / voxelVolumeA3 > 1e-4) {
        throw new MalaError(`the LDOS cubes' voxel (${vc.toExponential(6)} Å³) differs from the cell of ${md.file} (${voxelVolumeA3.toExponential(6)} Å³)`, { file: ldosName, fix: 'use the cubes of this structure' });
      }
    }

    const dosAcc = new DosAccumulator(nE, { source: ldosName });
    await reader.dosPass(dosAcc, progress);
    const dosPerEv = dosAcc.dos(voxelVolumeA3);
    tic('dos_s', t0);

    const kT = kTEv(temperatureK);
    const obs = dosObservables(dosPerEv, energies, kT, electrons, { fermiEnergyEv: opts.fermiEnergyEv, source: ldosName });

    const t1 = Date.now();
    const densAcc = new DensityAccumulator(reader.pointCount, energies, obs.fermiEnergyEv, kT, ldosName);
    await reader.densityPass(densAcc, progress);
    const density = densAcc.densityPerA3;
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = 0; i < density.length; i++) {
      const v = density[i];
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    tic('density_s', t1);

    const result: ObservablesResult = {
      fermiEnergyEv: obs.fermiEnergyEv,
      fermiEnergyIsSelfConsistent: opts.fermiEnergyEv === undefined,
      bandEnergyEv: obs.bandEnergyEv,
      entropyContributionEv: obs.entropyContributionEv,
      numberOfElectrons: obs.numberOfElectrons,
      electronsRequested: electrons,
      densityElectrons: densAcc.numberOfElectrons(voxelVolumeA3),
      densityMinPerA3: lo,
      densityMaxPerA3: hi,
      temperatureK,
      energyGrid: opts.energyGrid,
      energiesEv: energies,
      dosPerEv,
      gridShape: gridShape ?? reader.gridShape,
      pointCount: reader.pointCount,
      voxelVolumeA3,
      ldosSource: ldosName,
      structureFile: md?.file,
      fermiEnergyDftEv: md?.fermiEnergyDftEv,
      warnings,
      outputs: {},
      timingsS: timings,
    };

    const species = md?.species;
    const positions = md?.positionsAngstrom;
    if (opts.totalEnergy) {
      if (!gridShape || !cellAngstrom || !species || !positions) {
        throw new MalaError('the total energy needs the cell, atoms and FFT grid', { fix: 'pass --structure with the pw.x output the LDOS belongs to' });
      }
      const t2 = Date.now();
      result.totalEnergy = await opts.totalEnergy({ densityPerA3: density, gridShape, cellAngstrom, species, positionsAngstrom: positions, fermiEnergyEv: obs.fermiEnergyEv, bandEnergyEv: obs.bandEnergyEv, entropyContributionEv: obs.entropyContributionEv, metadata: md });
      tic('total_energy_s', t2);
    }

    if (opts.dosOut) {
      writeDosCsv(opts.dosOut, energies, dosPerEv);
      result.outputs.dos = opts.dosOut;
    }
    if (opts.densityOut) {
      writeDensityFile(opts.densityOut, density, {
        grid: gridShape,
        cellAngstrom,
        voxelBohr: reader.firstCube?.voxelBohr,
        species,
        positionsAngstrom: positions,
        cubeAtoms: reader.firstCube?.atoms,
        comment: `Electron density from the LDOS at E_F = ${obs.fermiEnergyEv.toFixed(6)} eV, 1/Bohr^3`,
      });
      result.outputs.density = opts.densityOut;
    }
    if (opts.plotOut) {
      await writeDosPlot(opts.plotOut, { energiesEv: energies, dosPerEv, fermiEnergyEv: obs.fermiEnergyEv, title: `DOS of ${path.basename(ldosName)} (T = ${temperatureK.toFixed(1)} K)` });
      result.outputs.plot = opts.plotOut;
    }
    tic('total_s', t0);
    return result;
  } finally {
    reader.close();
  }
}
