/**
 * Run under `mpirun -np N node -r tsx/cjs test/parallel/distributed-energy-worker.ts [BE2_DIR]`
 * (test/parallel/distributed-energy.test.ts does): checks the MPI addon's alltoallv and FFTW-MPI
 * transforms against the serial ones, the move from block order to FFTW's slabs, and computes the
 * energy terms on slabs next to the serial ones (every rank also computes them serially, on the
 * whole density). Rank 0 prints one JSON line.
 */
import * as path from 'node:path';
import { Fft3d } from '../../bindings/fftw';
import { readNpy } from '../../src/io/npy';
import { finalizeWorld, splitRange, worldComm } from '../../src/parallel/comm';
import { blockGridIndices, gridBlocks } from '../../src/parallel/plane-blocks';
import { blocksToSlabs, mpiSlabLayout } from '../../src/parallel/slab-fft';
import { computeEnergyTerms, coreFormFactorOnSphere, EnergyTermsRy, qeBohrAngstrom } from '../../src/qe/energy-terms';
import { GSphere } from '../../src/qe/gsphere';
import { det3 } from '../../src/structure/atoms';
import { readDensityFilplot, readQeStructure } from '../../src/qe/qe-files';
import { loadPseudopotentials, Pseudopotential } from '../../src/qe/upf';

const comm = worldComm();
const report: Record<string, unknown> = { ranks: comm.size };

function random(n: number, seed: number): Float64Array {
  const out = new Float64Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 32 - 0.5;
  }
  return out;
}

// 1. alltoallv: rank r sends s+1 copies of 100r + s to rank s
{
  const counts = Int32Array.from({ length: comm.size }, (_, s) => s + 1);
  const send = new Float64Array(counts.reduce((a, b) => a + b, 0));
  let p = 0;
  for (let s = 0; s < comm.size; s++) for (let k = 0; k <= s; k++) send[p++] = 100 * comm.rank + s;
  const got = comm.alltoallv(send, counts);
  let ok = got.length === comm.size * (comm.rank + 1);
  for (let r = 0, q = 0; r < comm.size; r++) for (let k = 0; k <= comm.rank; k++) ok &&= got[q++] === 100 * r + comm.rank;
  report.alltoallvOk = comm.allreduceMin(new Float64Array([ok ? 1 : 0]))[0] === 1;
}

// 2. FFTW-MPI forward/backward of 7×6×5 and 2×6×5 (a rank without planes from 2 ranks on) complex arrays against serial FFTW
report.fftMaxAbsDiff = 0;
for (const grid of [
  [7, 6, 5],
  [2, 6, 5],
] as [number, number, number][]) {
  const whole = random(2 * grid[0] * 30, 7);
  const layout = mpiSlabLayout(comm, grid);
  const off = 2 * layout.x0 * 30;
  const fft = layout.createFft();
  const ser = new Fft3d(...grid);
  let worst = 0;
  // the slab alone (copied through FFTW's buffer) and in an array with FFTW's room (in place)
  for (const roomy of [false, true])
    for (const dir of ['forward', 'backward'] as const) {
      const n = 2 * layout.nxLocal * 30;
      const slab = new Float64Array(roomy ? fft.bufferLength : n);
      slab.set(whole.subarray(off, off + n));
      fft[dir](slab);
      const ref = whole.slice();
      ser[dir](ref);
      for (let i = 0; i < n; i++) worst = Math.max(worst, Math.abs(slab[i] - ref[off + i]));
    }
  ser.dispose();
  fft.dispose();
  report.fftMaxAbsDiff = Math.max(report.fftMaxAbsDiff as number, comm.allreduceMax(new Float64Array([worst]))[0]);
  report[`slabs${grid[0]}`] = layout.slabs;
}

// 3. block order → slabs, for whole-plane blocks and row blocks
{
  let ok = true;
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
    const slab = blocksToSlabs(Float64Array.from(parts), blocks, layout);
    const off = layout.x0 * grid[1] * grid[2];
    ok &&= slab.length === layout.nxLocal * grid[1] * grid[2];
    for (let i = 0; i < slab.length; i++) ok &&= slab[i] === off + i;
  }
  report.blocksToSlabsOk = comm.allreduceMin(new Float64Array([ok ? 1 : 0]))[0] === 1;
}

// 4. energy terms: serial (whole grid) vs distributed (slabs)
type Case = { name: string; cell: number[][]; positions: number[][]; species: string[]; grid: [number, number, number]; density: Float64Array; ecutrhoRy: number; pps: Record<string, Pseudopotential> };
const cases: Case[] = [];
const FX = path.resolve(__dirname, '..', '..', 'fixtures', 'al-fcc-qe');
const al = readQeStructure(path.join(FX, 'Al.pw.scf.in'));
const alPps = loadPseudopotentials(al.species, FX, al.pseudopotentialFiles);
const dens = readDensityFilplot(path.join(FX, 'Al_dens.filplot'));
cases.push({ name: 'al-lda-24', cell: al.cellAngstrom, positions: al.positionsAngstrom, species: al.species, grid: dens.grid as [number, number, number], density: Float64Array.from(dens.densityPerA3), ecutrhoRy: al.ecutrhoRy, pps: alPps });
// a grid whose nx no rank count here divides evenly, a Gaussian density, and a PBE functional
// with a (synthetic) core charge on the Al pseudopotential: exercises the core and GGA paths
{
  const grid: [number, number, number] = [25, 24, 24];
  const cell = al.cellAngstrom;
  const density = new Float64Array(25 * 24 * 24);
  for (let i = 0; i < 25; i++)
    for (let j = 0; j < 24; j++)
      for (let k = 0; k < 24; k++) {
        const f = [i / 25, j / 24, k / 24];
        let v = 0.02;
        for (const p of al.positionsAngstrom) {
          let d2 = 0;
          const r = [0, 1, 2].map((c) => f[0] * cell[0][c] + f[1] * cell[1][c] + f[2] * cell[2][c] - p[c]);
          // nearest image in a cubic cell
          for (let c = 0; c < 3; c++) {
            const a = cell[c][c];
            const d = r[c] - a * Math.round(r[c] / a);
            d2 += d * d;
          }
          v += Math.exp(-d2 / 1.2);
        }
        density[(i * 24 + j) * 24 + k] = v;
      }
  const pp = alPps.Al;
  const pbe: Pseudopotential = { ...pp, functional: 'pbe', rhoCore: Float64Array.from(pp.rBohr, (r) => 0.3 * Math.exp(-r * r / 0.8)) };
  cases.push({ name: 'al-lda-25x24x24', cell, positions: al.positionsAngstrom, species: al.species, grid, density, ecutrhoRy: al.ecutrhoRy, pps: alPps });
  // two x-planes: the third rank has no planes
  cases.push({ name: 'al-pbe-core-2x24x24', cell, positions: al.positionsAngstrom, species: al.species, grid: [2, 24, 24], density: density.slice(0, 2 * 576), ecutrhoRy: al.ecutrhoRy, pps: { Al: pbe } });
  cases.push({ name: 'al-pbe-core-25x24x24', cell, positions: al.positionsAngstrom, species: al.species, grid, density, ecutrhoRy: al.ecutrhoRy, pps: { Al: pbe } });
}
const be2 = process.argv[2];
if (be2) {
  const st = readQeStructure(path.join(be2, 'Be_snapshot0.out'));
  const d = readNpy(path.join(be2, 'Be_snapshot0.dens.npy'));
  cases.push({ name: 'be2-pbe', cell: st.cellAngstrom, positions: st.positionsAngstrom, species: st.species, grid: d.shape.slice(0, 3) as [number, number, number], density: Float64Array.from(d.data as ArrayLike<number>), ecutrhoRy: st.ecutrhoRy, pps: loadPseudopotentials(st.species, be2, st.pseudopotentialFiles) });
}
const pick = (t: EnergyTermsRy) => ({ debandRy: t.debandRy, hartreeRy: t.hartreeRy, xcRy: t.xcRy, vtxcRy: t.vtxcRy, ewaldRy: t.ewaldRy, electronsFiltered: t.electronsFiltered, coreElectrons: t.coreElectrons, gVectorCount: t.gVectorCount });
const energy: Record<string, unknown> = {};
for (const c of cases) {
  const base = { cellAngstrom: c.cell, positionsAngstrom: c.positions, species: c.species, grid: c.grid, ecutrhoRy: c.ecutrhoRy, pseudopotentials: c.pps };
  const serial = computeEnergyTerms({ ...base, densityPerA3: c.density });
  const layout = mpiSlabLayout(comm, c.grid);
  const plane = c.grid[1] * c.grid[2];
  const slab = c.density.subarray(layout.x0 * plane, (layout.x0 + layout.nxLocal) * plane);
  const dist = computeEnergyTerms({ ...base, densityPerA3: slab, layout });
  // every rank must hold the same numbers
  const mine = Object.values(pick(dist));
  const lo = comm.allreduceMin(Float64Array.from(mine));
  const hi = comm.allreduceMax(Float64Array.from(mine));
  energy[c.name] = { serial: pick(serial), distributed: pick(dist), sameOnAllRanks: mine.every((_, i) => lo[i] === hi[i]), slabs: layout.slabs, fftCount: [serial.fftCount, dist.fftCount] };
}
report.energy = energy;

// 5. the core form factor's table (many shells): a G gets the value it gets on the whole sphere
{
  const pp: Pseudopotential = { ...alPps.Al, rhoCore: Float64Array.from(alPps.Al.rBohr, (r) => 0.3 * Math.exp((-r * r) / 0.8)) };
  const grid: [number, number, number] = [25, 24, 24];
  const cellBohr = al.cellAngstrom.map((r) => r.map((x) => x / qeBohrAngstrom));
  const omega = Math.abs(det3(cellBohr));
  const layout = mpiSlabLayout(comm, grid);
  const whole = new GSphere(cellBohr, grid, al.ecutrhoRy);
  const local = new GSphere(cellBohr, grid, al.ecutrhoRy, [layout.x0, layout.x0 + layout.nxLocal]);
  // 40 shells at most: ranks with fewer still take the table, as the whole sphere does
  const ref = coreFormFactorOnSphere(pp, omega, whole, 40);
  const mine = coreFormFactorOnSphere(pp, omega, local, 40, layout);
  const byIndex = new Map<number, number>();
  for (let i = 0; i < whole.count; i++) byIndex.set(whole.index[i], ref[i]);
  let worst = 0;
  for (let i = 0; i < local.count; i++) worst = Math.max(worst, Math.abs(mine[i] - (byIndex.get(local.index[i]) as number)));
  report.coreTableMaxAbsDiff = comm.allreduceMax(new Float64Array([worst]))[0];
}
if (comm.rank === 0) process.stdout.write(JSON.stringify(report) + '\n');
finalizeWorld();
