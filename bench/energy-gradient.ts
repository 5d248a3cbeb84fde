/**
 * Cost of the energy gradient (src/qe/energy-gradient.ts: u = ∂E/∂n, Ewald and core forces)
 * next to the energy terms alone (a benchmark, not a test):
 *
 *   npx tsx bench/energy-gradient.ts [--sizes 2,3,4]
 *
 * fcc Al supercells of n×n×n conventional cells (4n³ atoms, a = 4.05 Å, rattled 0.05 Å) on QE's
 * FFT grid at ecutrho = 80 Ry, a smooth density; LDA (the Al pseudopotential) and PBE with a
 * synthetic core charge (the GGA and core-force paths). One core.
 */
import * as path from 'node:path';
import { qeFftGrid } from '../src/grid/grid';
import { computeEnergyTerms } from '../src/qe/energy-terms';
import { energyGradient } from '../src/qe/energy-gradient';
import { readUpf, Pseudopotential } from '../src/qe/upf';
import { fccSupercell, rattle } from '../src/structure/crystal';
import { helpIfAsked } from './help';

helpIfAsked(__filename);

const arg = process.argv.indexOf('--sizes');
const sizes = (arg > 0 ? process.argv[arg + 1] : '2,3,4').split(',').map(Number);
const al = readUpf(path.join(__dirname, '..', 'fixtures', 'al-fcc-qe', 'Al.pz-vbc.UPF'));
const pbe: Pseudopotential = { ...al, functional: 'pbe', rhoCore: Float64Array.from(al.rBohr, (r) => 0.3 * Math.exp((-r * r) / 0.8)) };
const ecutrhoRy = 80;
for (const n of sizes) {
  const atoms = rattle(fccSupercell('Al', 4.05, [n, n, n]), 0.05);
  const grid = qeFftGrid(atoms.cellAngstrom, ecutrhoRy);
  const density = Float64Array.from({ length: grid[0] * grid[1] * grid[2] }, (_, i) => 0.18 + 0.01 * Math.sin(i));
  for (const [label, pp] of [
    ['LDA', al],
    ['PBE+core', pbe],
  ] as const) {
    const inp = { cellAngstrom: atoms.cellAngstrom, positionsAngstrom: atoms.positionsAngstrom, species: atoms.symbols, grid, ecutrhoRy, densityPerA3: density, pseudopotentials: { Al: pp } };
    let t = process.hrtime.bigint();
    const e = computeEnergyTerms(inp);
    const energyS = Number(process.hrtime.bigint() - t) / 1e9;
    t = process.hrtime.bigint();
    const g = energyGradient(inp);
    const gradientS = Number(process.hrtime.bigint() - t) / 1e9;
    const stages = Object.entries(g.timingsS)
      .map(([k, v]) => `${k} ${v.toFixed(2)}`)
      .join(', ');
    console.log(`${atoms.symbols.length} atoms, grid ${grid.join('×')}, ${e.gVectorCount} G, ${label}: energy terms ${energyS.toFixed(2)} s, with gradient ${gradientS.toFixed(2)} s (${stages})`);
  }
}
