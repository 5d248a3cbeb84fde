/**
 * Observables from pp.x-style LDOS cubes: parse and streaming cost per cube on a large grid.
 *
 *   npx tsx bench/observables-cubes.ts [--points-per-axis 108] [--energies 10]
 *
 * Writes `energies` synthetic cubes of n³ points (the 256-atom Al grid is 108³ ≈ 1.26 M points,
 * ~17 MB of text per cube) with our pp.x-exact writer (not timed), then runs the observables
 * workflow on them (DOS pass + density pass; the slices are kept in memory between passes when
 * they fit in 1 GiB, so each cube is parsed once). Reports time per cube and text parse rate.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { writeLdosCubes } from '../src/io/cube';
import { bohrAngstrom } from '../src/structure/units';
import { makeEnergyGrid } from '../src/targets/energy-grid';
import { peakRssMb } from '../src/util/memory';
import { computeObservables } from '../src/workflow/observables';
import { helpIfAsked } from './help';

helpIfAsked(__filename);

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
}

const n = arg('points-per-axis', 108);
const nE = arg('energies', 10);
const points = n * n * n;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mala-ts-bench-cubes-'));
const cellA = 16.2;
(async () => {
  try {
    const t0 = Date.now();
    const ldos = new Float32Array(points * nE);
    for (let p = 0; p < points; p++) for (let e = 0; e < nE; e++) ldos[p * nE + e] = 0.01 * (1.2 + Math.sin(p * 1e-3)) * Math.sqrt(e + 1);
    const v = cellA / bohrAngstrom / n;
    const files = writeLdosCubes(dir, ldos, { shape: [n, n, n], voxelBohr: [[v, 0, 0], [0, v, 0], [0, 0, v]], atoms: [] }, Array.from({ length: nE }, (_, i) => -2 + 0.5 * i));
    const bytes = files.reduce((s, f) => s + fs.statSync(f).size, 0);
    console.log(`wrote ${nE} cubes of ${n}³ points, ${(bytes / 1e6).toFixed(0)} MB, in ${((Date.now() - t0) / 1000).toFixed(1)} s (not timed)`);
    let states = 0;
    for (let e = 0; e < nE; e++) states += 0.012 * Math.sqrt(e + 1) * 0.5;
    const t = Date.now();
    const r = await computeObservables({ ldos: { kind: 'cubes', files }, energyGrid: makeEnergyGrid(-2, 0.5, nE), temperatureK: 1000, electrons: 0.5 * states * cellA ** 3 });
    const s = (Date.now() - t) / 1000;
    console.log(`E_F = ${r.fermiEnergyEv.toFixed(6)} eV, ∫n = ${r.densityElectrons.toFixed(6)}`);
    console.log(`DOS pass (parse) ${r.timingsS.dos_s.toFixed(2)} s = ${(r.timingsS.dos_s / nE).toFixed(2)} s/cube, ${(bytes / r.timingsS.dos_s / 1e6).toFixed(0)} MB/s of cube text; density pass ${r.timingsS.density_s.toFixed(2)} s; total ${s.toFixed(2)} s`);
    console.log(`peak RSS ${peakRssMb().toFixed(0)} MiB (includes the synthetic LDOS of ${((points * nE * 4) / 2 ** 20).toFixed(0)} MiB used to write the cubes)`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
})();
