/**
 * A periodic Lennard-Jones force evaluator in TypeScript, term for term ASE 3.22's
 * `LennardJones(smooth=False)`: pairs closer than rc over all periodic images, each pair energy
 * shifted by its value at rc, forces of the unshifted potential, virial −½ Σ f_ij ⊗ d_ij (eV).
 * A test double for the i-PI client: ASE's own calculator is its reference.
 */
import type { ForceEvaluation } from '../../src/io/ipi-client';

export interface LjParameters {
  sigma: number;
  epsilon: number;
  rc: number;
}

/** Reciprocal rows b_k (b_k · a_i = δ_ki), so |b_k| = 1 / (distance between the lattice planes k). */
function reciprocal(cell: number[][]): number[][] {
  const [a, b, c] = cell;
  const cross = (u: number[], v: number[]) => [u[1] * v[2] - u[2] * v[1], u[2] * v[0] - u[0] * v[2], u[0] * v[1] - u[1] * v[0]];
  const bc = cross(b, c);
  const vol = a[0] * bc[0] + a[1] * bc[1] + a[2] * bc[2];
  return [bc, cross(c, a), cross(a, b)].map((r) => r.map((x) => x / vol));
}

export function lennardJones(p: LjParameters, withVirial = true) {
  return async (cell: number[][], positions: number[][]): Promise<ForceEvaluation> => {
    const { sigma, epsilon, rc } = p;
    const e0 = 4 * epsilon * ((sigma / rc) ** 12 - (sigma / rc) ** 6);
    const n = positions.length;
    // images within rc of any pair: plane spacings 1/|b_k|, plus one for the pair's own offset
    const reach = reciprocal(cell).map((b) => Math.ceil(rc * Math.hypot(b[0], b[1], b[2])) + 1);
    let energyEv = 0;
    const forcesEvPerA = positions.map(() => [0, 0, 0]);
    const virialEv = [0, 1, 2].map(() => [0, 0, 0]);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        for (let n0 = -reach[0]; n0 <= reach[0]; n0++) {
          for (let n1 = -reach[1]; n1 <= reach[1]; n1++) {
            for (let n2 = -reach[2]; n2 <= reach[2]; n2++) {
              if (i === j && n0 === 0 && n1 === 0 && n2 === 0) continue;
              const d = [0, 1, 2].map((k) => positions[j][k] + n0 * cell[0][k] + n1 * cell[1][k] + n2 * cell[2][k] - positions[i][k]);
              const r2 = d[0] * d[0] + d[1] * d[1] + d[2] * d[2];
              if (r2 > rc * rc) continue;
              const c6 = (sigma * sigma / r2) ** 3;
              const c12 = c6 * c6;
              energyEv += 0.5 * (4 * epsilon * (c12 - c6) - e0);
              const du = (-24 * epsilon * (2 * c12 - c6)) / r2;
              for (let k = 0; k < 3; k++) {
                forcesEvPerA[i][k] += du * d[k];
                for (let m = 0; m < 3; m++) virialEv[k][m] -= 0.5 * du * d[k] * d[m];
              }
            }
          }
        }
      }
    }
    return withVirial ? { energyEv, forcesEvPerA, virialEv } : { energyEv, forcesEvPerA };
  };
}
