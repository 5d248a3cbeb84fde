/**
 * A density cube lists the atoms (and cell) it was computed for; `energy --density X.cube
 * --structure Y` with another structure gave Ewald and Hartree terms of two different systems,
 * silently (issue 14, P12). The cube's cell and atoms are compared with the structure's: count,
 * element, and position up to a lattice vector.
 */
import { MalaError } from '../errors';
import { inv3, vecMat, type Mat3, type Vec3 } from '../structure/atoms';
import { symbolOf } from '../structure/elements';
import { bohrAngstrom } from '../structure/units';
import { cubeCellAngstrom, type Cube } from './cube';

/**
 * pp.x writes positions with 6 decimals in Bohr (5e-7 Bohr), pw.x outputs with 7 in alat units; an
 * MD step moves atoms by 1e-3 Å and more. 1e-3 Å separates rounding from another structure.
 */
export const cubeAtomTolAngstrom = 1e-3;

export interface StructureAtoms {
  cellAngstrom: readonly (readonly number[])[];
  positionsAngstrom: readonly (readonly number[])[];
  species: readonly string[];
}

/** What differs between a cube's cell/atoms and a structure's, or undefined (a cube that lists no atoms is not compared). */
export function cubeStructureDifference(cube: Omit<Cube, 'data'>, s: StructureAtoms): string | undefined {
  const fmt = (v: readonly number[]) => `(${v.map((x) => x.toFixed(4)).join(', ')})`;
  const cell = cubeCellAngstrom(cube as Cube);
  for (let i = 0; i < 3; i++) {
    if (cell[i].some((x, k) => Math.abs(x - s.cellAngstrom[i][k]) > cubeAtomTolAngstrom * Math.max(1, Math.abs(x)))) return `cell vector a${i + 1} is ${fmt(cell[i])} Å in the cube but ${fmt(s.cellAngstrom[i])} Å in the structure`;
  }
  if (cube.atoms.length === 0) return undefined;
  if (cube.atoms.length !== s.species.length) return `the cube lists ${cube.atoms.length} atoms, the structure ${s.species.length}`;
  const inv = inv3(s.cellAngstrom as Mat3);
  for (let i = 0; i < cube.atoms.length; i++) {
    const a = cube.atoms[i];
    let el: string;
    try {
      el = symbolOf(a.atomicNumber);
    } catch {
      el = `Z=${a.atomicNumber}`;
    }
    if (el !== s.species[i]) return `atom ${i + 1} is ${el} in the cube but ${s.species[i]} in the structure`;
    const p = a.positionBohr.map((v) => v * bohrAngstrom) as Vec3;
    const d = p.map((v, k) => v - s.positionsAngstrom[i][k]) as Vec3;
    // up to a lattice vector (pp.x and pw.x may wrap atoms differently)
    const f = vecMat(d, inv).map((x) => x - Math.round(x)) as Vec3;
    const r = vecMat(f, s.cellAngstrom as Mat3);
    const dist = Math.hypot(...r);
    if (dist > cubeAtomTolAngstrom) return `atom ${i + 1} (${el}) is at ${fmt(p)} Å in the cube but at ${fmt(s.positionsAngstrom[i])} Å in the structure (${dist.toFixed(4)} Å apart)`;
  }
  return undefined;
}

/** Refuses a density cube of another structure, naming both files and the first difference. */
export function checkCubeMatchesStructure(cube: Omit<Cube, 'data'>, s: StructureAtoms, cubeFile: string, structureFile: string): void {
  const diff = cubeStructureDifference(cube, s);
  if (diff === undefined) return;
  throw new MalaError(`the density cube is not of the structure ${structureFile}: ${diff}`, {
    file: cubeFile,
    fix: 'pass the density and the pw.x input/output of the same calculation',
  });
}
