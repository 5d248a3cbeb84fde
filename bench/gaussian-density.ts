/**
 * The energy benchmarks' test system: 32 Al atoms (2×2×2 fcc, slightly displaced) in a cubic cell
 * scaled so an n³ grid keeps the Al fixture's resolution (24³ for a = 4.05 Å), with a density of
 * Gaussians (σ = 1.2 Å) normalised to 3 electrons per atom, 1/Å³.
 *
 * `planes` [x0, x1) builds one x-slab (an MPI rank's part); the normalisation adds per-plane sums
 * in plane order through `sumPlanes` (an allreduce over ranks), so every rank count builds the
 * same bits.
 */
export interface GaussianDensity {
  cell: number[][];
  pos: number[][];
  /** (x1 − x0, n, n) values, z fastest. */
  dens: Float64Array;
}

export function gaussianAlDensity(n: number, planes: [number, number] = [0, n], sumPlanes: (planeSums: Float64Array) => Float64Array = (v) => v): GaussianDensity {
  const [x0, x1] = planes;
  const a = (4.05 * n) / 24;
  const cell = [
    [a, 0, 0],
    [0, a, 0],
    [0, 0, a],
  ];
  const pos: number[][] = [];
  const basis = [
    [0, 0, 0],
    [0, 0.5, 0.5],
    [0.5, 0, 0.5],
    [0.5, 0.5, 0],
  ];
  for (let i = 0; i < 2; i++) for (let j = 0; j < 2; j++) for (let k = 0; k < 2; k++) for (const b of basis) pos.push([((i + b[0]) * a) / 2 + 0.03 * Math.sin(pos.length), ((j + b[1]) * a) / 2, ((k + b[2]) * a) / 2]);
  const dens = new Float64Array((x1 - x0) * n * n);
  const sigma = 1.2; // Å
  const planeSums = new Float64Array(n);
  for (let i = x0; i < x1; i++)
    for (let j = 0; j < n; j++)
      for (let k = 0; k < n; k++) {
        const r = [(i * a) / n, (j * a) / n, (k * a) / n];
        let v = 0.01;
        for (const p of pos) {
          let d2 = 0;
          for (let c = 0; c < 3; c++) {
            let d = r[c] - p[c];
            d -= a * Math.round(d / a);
            d2 += d * d;
          }
          if (d2 < 16) v += Math.exp(-d2 / (2 * sigma * sigma));
        }
        dens[((i - x0) * n + j) * n + k] = v;
        planeSums[i] += v;
      }
  const total = sumPlanes(planeSums).reduce((s, v) => s + v, 0);
  const scale = (3 * pos.length) / ((total * (a * a * a)) / (n * n * n));
  for (let i = 0; i < dens.length; i++) dens[i] *= scale;
  return { cell, pos, dens };
}
