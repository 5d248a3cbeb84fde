/** Strain helpers shared by the stress finite-difference tests (engine/stress-consistency, workflow/energy-reference, workflow/ensemble-forces). */
import { GSphere } from '../../src/qe/gsphere';
import { qeBohrAngstrom } from '../../src/qe/energy-terms';
import type { Atoms, Vec3 } from '../../src/structure/atoms';

/** r → r·(I + e), e given as 9 values row-major, applied to the cell and the positions. */
export function deformed(atoms: Atoms, e: number[]): Atoms {
  const m = (r: readonly number[]): Vec3 => [0, 1, 2].map((b) => r[b] + r[0] * e[b] + r[1] * e[3 + b] + r[2] * e[6 + b]) as Vec3;
  return { ...atoms, cellAngstrom: atoms.cellAngstrom.map(m) as Atoms['cellAngstrom'], positionsAngstrom: atoms.positionsAngstrom.map(m) };
}

/**
 * A density cutoff at or below `nearRy` with no |G|² within ±2.5·h of it (relative): the printed
 * energy jumps when a G-vector crosses the sphere (QE's too), and a strain component h moves |G|²
 * by at most 2h relative.
 */
export function ecutrhoInGap(cellAngstrom: number[][], grid: [number, number, number], nearRy: number, h: number): number {
  const gs = new GSphere(cellAngstrom.map((r) => r.map((x) => x / qeBohrAngstrom)), grid, nearRy * 1.1);
  for (let k = 0; k < 1000; k++) {
    const e = nearRy * (1 - 2.5 * h * k);
    if (!gs.g2.some((g2) => Math.abs(g2 - e) <= 2.5 * h * e)) return e;
  }
  throw new Error('no gap in the G-sphere');
}
