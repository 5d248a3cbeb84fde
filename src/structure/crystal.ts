/** Crystals built in code: fcc supercells and reproducible rattling (benchmarks and tests). */
import { Atoms, Vec3 } from './atoms';

/** Cubic fcc supercell n1×n2×n3 of conventional cells of edge `aAngstrom` (4 atoms each). */
export function fccSupercell(symbol: string, aAngstrom: number, n: [number, number, number]): Atoms {
  const basis: Vec3[] = [
    [0, 0, 0],
    [0.5, 0.5, 0],
    [0.5, 0, 0.5],
    [0, 0.5, 0.5],
  ];
  const pos: Vec3[] = [];
  for (let i = 0; i < n[0]; i++)
    for (let j = 0; j < n[1]; j++)
      for (let k = 0; k < n[2]; k++) for (const b of basis) pos.push([(i + b[0]) * aAngstrom, (j + b[1]) * aAngstrom, (k + b[2]) * aAngstrom]);
  return {
    cellAngstrom: [
      [n[0] * aAngstrom, 0, 0],
      [0, n[1] * aAngstrom, 0],
      [0, 0, n[2] * aAngstrom],
    ],
    positionsAngstrom: pos,
    symbols: pos.map(() => symbol),
    pbc: [true, true, true],
  };
}

/** Deterministic small displacements (thermal-like), so descriptors are not all equal. */
export function rattle(atoms: Atoms, amplitudeAngstrom: number, seed = 1): Atoms {
  let s = seed >>> 0 || 1;
  const rnd = () => {
    // xorshift32: reproducible without a dependency
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 4294967296 - 0.5;
  };
  return { ...atoms, positionsAngstrom: atoms.positionsAngstrom.map((p) => p.map((x) => x + 2 * amplitudeAngstrom * rnd()) as Vec3) };
}
