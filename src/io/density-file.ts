/**
 * An electron density on the FFT grid as a file: a Gaussian cube like pp.x plot_num=0 writes
 * (1/Bohr³, z fastest, atoms listed) or MALA's .npy (nx, ny, nz, 1) in 1/Å³. Chosen by extension.
 */
import * as path from 'node:path';
import { MalaError } from '../errors';
import { atomicNumber } from '../structure/elements';
import { bohr3InAngstrom3, bohrAngstrom } from '../structure/units';
import { Cube, CubeAtom, writeCube } from './cube';
import { writeNpy } from './npy';

export interface DensityFileContext {
  grid?: readonly number[];
  cellAngstrom?: readonly (readonly number[])[];
  /** Voxel rows in Bohr, used when no cell is known (e.g. from an input cube). */
  voxelBohr?: [number, number, number][];
  species?: readonly string[];
  positionsAngstrom?: readonly (readonly number[])[];
  /** Atoms as already in cube form (e.g. copied from an LDOS cube). */
  cubeAtoms?: CubeAtom[];
  /** Second comment line of the cube. */
  comment?: string;
}

export function writeDensityFile(file: string, densityPerA3: Float64Array, ctx: DensityFileContext): void {
  const ext = path.extname(file).toLowerCase();
  if (ext === '.npy') {
    writeNpy(file, densityPerA3, ctx.grid ? [...ctx.grid, 1] : [densityPerA3.length, 1]);
    return;
  }
  if (ext !== '.cube') throw new MalaError(`unknown density format '${ext || '(none)'}'`, { file, fix: 'name the density file .cube (1/Bohr³, QE style) or .npy (1/Å³, MALA style)' });
  const header = densityCubeHeader(file, ctx);
  const data = new Float64Array(densityPerA3.length);
  for (let i = 0; i < data.length; i++) data[i] = densityPerA3[i] * bohr3InAngstrom3; // 1/Å³ → 1/Bohr³
  writeCube(file, { ...header, data });
}

/** Everything of a density cube but its values (which are 1/Å³ · bohr3InAngstrom3, i.e. 1/Bohr³). */
export function densityCubeHeader(file: string, ctx: DensityFileContext): Omit<Cube, 'data'> {
  const grid = ctx.grid;
  if (!grid || grid.length !== 3) throw new MalaError('a density cube needs the 3-D grid', { file, fix: 'pass the structure the density belongs to, or write .npy' });
  let voxelBohr: [number, number, number][];
  if (ctx.cellAngstrom) voxelBohr = ctx.cellAngstrom.map((row, i) => row.map((v) => v / bohrAngstrom / grid[i]) as [number, number, number]);
  else if (ctx.voxelBohr) voxelBohr = ctx.voxelBohr;
  else throw new MalaError('a density cube needs the cell', { file, fix: 'pass the structure the density belongs to, or write .npy' });
  let atoms = ctx.cubeAtoms ?? [];
  if (ctx.species && ctx.positionsAngstrom) {
    const pos = ctx.positionsAngstrom;
    atoms = ctx.species.map((s, i) => {
      const z = atomicNumber(s);
      return { atomicNumber: z, charge: z, positionBohr: pos[i].map((v) => v / bohrAngstrom) as [number, number, number] };
    });
  }
  return {
    comments: [' Cubefile created by mala-ts', ` ${ctx.comment ?? 'Electron density, 1/Bohr^3'}`],
    originBohr: [0, 0, 0],
    shape: [grid[0], grid[1], grid[2]],
    voxelBohr,
    atoms,
  };
}
