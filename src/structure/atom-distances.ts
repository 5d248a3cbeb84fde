/**
 * pw.x's first sanity check: no two atoms (periodic images included) closer than a minimum
 * distance. Two atoms on one site give a finite, wrong energy everywhere downstream (issue 14:
 * +18.7 eV instead of −72.8 eV), so it is an error naming the pair, as pw.x makes it.
 */
import { MalaError } from '../errors';
import { det3, fractionalPositions, type Atoms } from './atoms';

/** No chemical bond is shorter than 0.74 Å (H₂); closer atoms are a mistake in the file. */
export const minimumAtomDistanceAngstrom = 0.5;

/** Up to this many atoms every pair is checked against its 27 nearest images; above, the wrapped minimum image only. */
const ALL_IMAGES_UP_TO = 3000;

/** The closest pair (indices, distance in Å) closer than `minAngstrom`, or undefined. */
export function closestPairBelow(atoms: Atoms, minAngstrom = minimumAtomDistanceAngstrom): { i: number; j: number; distanceAngstrom: number } | undefined {
  const cell = atoms.cellAngstrom;
  const n = atoms.positionsAngstrom.length;
  if (!(Math.abs(det3(cell)) >= 1e-12)) return undefined; // (a degenerate cell is reported by the cell's own check)
  const frac = fractionalPositions(atoms);
  const shifts: number[][] = [];
  const range = (k: number) => (atoms.pbc[k] && n <= ALL_IMAGES_UP_TO ? [-1, 0, 1] : [0]);
  for (const a of range(0)) for (const b of range(1)) for (const c of range(2)) shifts.push([a, b, c]);
  const min2 = minAngstrom * minAngstrom;
  let best: { i: number; j: number; distanceAngstrom: number } | undefined;
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const d = [0, 1, 2].map((k) => {
        const x = frac[j][k] - frac[i][k];
        return atoms.pbc[k] ? x - Math.round(x) : x;
      });
      for (const s of shifts) {
        const f0 = d[0] + s[0];
        const f1 = d[1] + s[1];
        const f2 = d[2] + s[2];
        const x = f0 * cell[0][0] + f1 * cell[1][0] + f2 * cell[2][0];
        const y = f0 * cell[0][1] + f1 * cell[1][1] + f2 * cell[2][1];
        const z = f0 * cell[0][2] + f1 * cell[1][2] + f2 * cell[2][2];
        const r2 = x * x + y * y + z * z;
        if (r2 < min2 && (!best || r2 < best.distanceAngstrom ** 2)) best = { i, j, distanceAngstrom: Math.sqrt(r2) };
      }
    }
  }
  return best;
}

/** Throws a MalaError naming the closest pair (1-based, as pw.x counts) when two atoms are closer than the minimum. */
export function checkAtomDistances(atoms: Atoms, file?: string, minAngstrom = minimumAtomDistanceAngstrom): void {
  const p = closestPairBelow(atoms, minAngstrom);
  if (!p) return;
  const where = (k: number) => `${atoms.symbols[k]} #${k + 1} at (${atoms.positionsAngstrom[k].map((v) => v.toFixed(4)).join(', ')}) Å`;
  throw new MalaError(`atoms ${where(p.i)} and ${where(p.j)} are ${p.distanceAngstrom.toFixed(4)} Å apart (periodic images included), closer than ${minAngstrom} Å: pw.x stops on overlapping atoms`, {
    file,
    fix: 'fix the positions in the structure file (a duplicated line, or positions in the wrong units: alat, bohr, crystal, angstrom)',
  });
}

/**
 * The shortest distance between two atoms of the structure, periodic images included (an atom
 * and its own image too, so that a one-atom cell gives its nearest-neighbour distance), Å; undefined
 * for one atom without a periodic axis. A measure of how compressed or disordered a frame is:
 * `mala-ts test` reports it beside each snapshot's errors: frames with a pair closer than about
 * 2.48 Å were the broad Al model's worst, yet fitting more such frames did not help held-out ones
 * (models/al-fcc-broad/RECIPE.md, "Close pairs").
 */
export function closestDistanceAngstrom(atoms: Atoms): number | undefined {
  let best = closestPairBelow(atoms, Infinity)?.distanceAngstrom;
  const cell = atoms.cellAngstrom;
  if (atoms.positionsAngstrom.length > 0 && Math.abs(det3(cell)) >= 1e-12) {
    const range = (k: number) => (atoms.pbc[k] ? [-1, 0, 1] : [0]);
    for (const a of range(0)) for (const b of range(1)) for (const c of range(2)) {
      if (a === 0 && b === 0 && c === 0) continue;
      const v = [0, 1, 2].map((k) => a * cell[0][k] + b * cell[1][k] + c * cell[2][k]);
      const d = Math.hypot(v[0], v[1], v[2]);
      if (best === undefined || d < best) best = d;
    }
  }
  return best;
}
