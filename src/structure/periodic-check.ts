/**
 * mala-ts computes periodic cells only. An extxyz file may say pbc="T T F" (a slab) or "F F F" (a
 * molecule); the descriptors honour that (LAMMPS' open boundaries, as MALA's), but everything after
 * them does not: the Ewald sum, the Hartree and XC terms on the FFT grid and the model's training
 * data are those of the periodic crystal, so the energies of a non-periodic cell came out as the
 * periodic crystal's, silently (issue 14, P11). pw.x needs assume_isolated for such cells, which
 * mala-ts does not implement, so a warning would still print a number that is not this system's:
 * a calculation on a non-periodic cell is refused (`mala-ts descriptors` alone still takes one).
 */
import { MalaError } from '../errors';
import type { Atoms } from './atoms';

export function checkPeriodicCell(atoms: Pick<Atoms, 'pbc'>, file: string | undefined): void {
  if (atoms.pbc.every(Boolean)) return;
  const open = atoms.pbc.flatMap((p, d) => (p ? [] : [`a${d + 1}`])).join(', ');
  throw new MalaError(`the cell is not periodic along ${open} (pbc = "${atoms.pbc.map((p) => (p ? 'T' : 'F')).join(' ')}"): mala-ts computes periodic cells only (the Ewald, Hartree and XC terms and the model's training data are those of the periodic crystal)`, {
    file,
    fix: 'make the cell periodic (pbc="T T T"; add vacuum along the open axes for a slab or molecule), or use `mala-ts descriptors` for the descriptors alone',
  });
}
