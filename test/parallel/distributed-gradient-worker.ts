/**
 * Run under `mpirun -np N node -r tsx/cjs test/parallel/distributed-gradient-worker.ts`
 * (test/parallel/distributed-gradient.test.ts does): energyGradient on FFTW-MPI x-slabs next to
 * the serial whole-grid one, for LDA (the Al fixture's density) and PBE with a synthetic core
 * charge on a 25×24×24 grid (uneven slabs, −G partners on other ranks). Rank 0 prints one JSON line.
 */
import * as path from 'node:path';
import { finalizeWorld, worldComm } from '../../src/parallel/comm';
import { splitRange } from '../../src/parallel/comm';
import { blockGridIndices, gridBlocks } from '../../src/parallel/plane-blocks';
import { blocksToSlabs, mpiSlabLayout } from '../../src/parallel/slab-fft';
import { slabsToBlocks } from '../../src/parallel/slabs-to-blocks';
import { energyGradient } from '../../src/qe/energy-gradient';
import { readDensityFilplot, readQeStructure } from '../../src/qe/qe-files';
import { loadPseudopotentials, Pseudopotential } from '../../src/qe/upf';

const comm = worldComm();
const FX = path.resolve(__dirname, '..', '..', 'fixtures', 'al-fcc-qe');
const al = readQeStructure(path.join(FX, 'Al.pw.scf.in'));
const alPps = loadPseudopotentials(al.species, FX, al.pseudopotentialFiles);
const dens = readDensityFilplot(path.join(FX, 'Al_dens.filplot'));
const pbe: Pseudopotential = { ...alPps.Al, functional: 'pbe', rhoCore: Float64Array.from(alPps.Al.rBohr, (r) => 0.3 * Math.exp((-r * r) / 0.8)) };
const grid25: [number, number, number] = [25, 24, 24];
const smooth = new Float64Array(25 * 24 * 24);
for (let i = 0; i < 25; i++)
  for (let j = 0; j < 24; j++)
    for (let k = 0; k < 24; k++) smooth[(i * 24 + j) * 24 + k] = 0.05 + 0.02 * Math.cos((2 * Math.PI * i) / 25) * Math.sin((2 * Math.PI * (j + k)) / 24);
const cases = [
  { name: 'al-lda-24', grid: dens.grid as [number, number, number], density: Float64Array.from(dens.densityPerA3), pps: alPps },
  { name: 'al-pbe-core-25x24x24', grid: grid25, density: smooth, pps: { Al: pbe } },
];
const out: Record<string, { maxUDiff: number; maxU: number; maxForceDiff: number; sameForcesOnAllRanks: boolean }> = {};
for (const c of cases) {
  const base = { cellAngstrom: al.cellAngstrom, positionsAngstrom: al.positionsAngstrom, species: al.species, grid: c.grid, ecutrhoRy: al.ecutrhoRy, pseudopotentials: c.pps };
  const serial = energyGradient({ ...base, densityPerA3: c.density });
  const layout = mpiSlabLayout(comm, c.grid);
  const plane = c.grid[1] * c.grid[2];
  const slab = c.density.subarray(layout.x0 * plane, (layout.x0 + layout.nxLocal) * plane);
  const dist = energyGradient({ ...base, densityPerA3: slab, layout });
  let du = 0;
  for (let i = 0; i < dist.densityAdjointEvA3.length; i++) du = Math.max(du, Math.abs(dist.densityAdjointEvA3[i] - serial.densityAdjointEvA3[layout.x0 * plane + i]));
  let df = 0;
  for (let k = 0; k < serial.explicitForcesEvPerA.length; k++) df = Math.max(df, Math.abs(dist.explicitForcesEvPerA[k] - serial.explicitForcesEvPerA[k]));
  const lo = comm.allreduceMin(Float64Array.from(dist.explicitForcesEvPerA));
  const hi = comm.allreduceMax(Float64Array.from(dist.explicitForcesEvPerA));
  out[c.name] = {
    maxUDiff: comm.allreduceMax(new Float64Array([du]))[0],
    maxU: Math.max(...serial.densityAdjointEvA3.map(Math.abs)),
    maxForceDiff: comm.allreduceMax(new Float64Array([df]))[0],
    sameForcesOnAllRanks: lo.every((x, k) => x === hi[k]),
  };
}
// slabs → blocks undoes blocks → slabs (whole-plane blocks, row blocks, a rank without planes)
let roundTripOk = true;
for (const [grid, maxPoints] of [
  [[25, 24, 24], 5000],
  [[24, 24, 24], 200],
  [[5, 12, 10], 40],
  [[2, 12, 10], 1000],
] as [[number, number, number], number][]) {
  const blocks = gridBlocks(grid, maxPoints);
  const [b0, b1] = splitRange(blocks.length, comm.size, comm.rank);
  const parts: number[] = [];
  for (let b = b0; b < b1; b++) parts.push(...blockGridIndices(blocks[b], grid));
  const layout = mpiSlabLayout(comm, grid);
  const back = slabsToBlocks(blocksToSlabs(Float64Array.from(parts), blocks, layout), blocks, layout);
  roundTripOk &&= back.length === parts.length && parts.every((v, i) => back[i] === v);
}
const roundTrip = comm.allreduceMin(new Float64Array([roundTripOk ? 1 : 0]))[0] === 1;
if (comm.rank === 0) console.log(JSON.stringify({ ranks: comm.size, cases: out, slabsToBlocksOk: roundTrip }));
finalizeWorld();
