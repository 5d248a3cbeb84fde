/**
 * The bispectrum gradient (forces −Σ_g β_g·∂B_g/∂R) against the descriptors (not a test):
 * `npx tsx bench/descriptor-gradient.ts [--planes N] [--repeat R] [--twojmax J] [--lammps-rows L] [--no-lammps]`
 *
 * 1. Native (bindings/sna): on the 108-atom Al example (examples/al108-298K.pw.scf.in, its 72³
 *    grid), each of the first --planes x-planes (5184 points, the block `predict` computes) as
 *    float32 descriptors (NativeBispectrum.computeBlock) and as forces for random β
 *    (NativeBispectrum.blockForces), interleaved; CPU µs per point (best of --repeat) and the ratio
 *    forces / descriptors (issue 16's budget: ≤ 2–3×).
 * 2. The LAMMPS route (issue 16's preferred toolchain): the grid points as probe atoms of a second
 *    type with neighbour weight 0 (probe–probe pairs excluded, `neigh_modify exclude type 2 2`),
 *    `compute snap ... bikflag 1 dgradflag 1` on the probe group, the plain `lmp` executable
 *    ($MALA_TS_LMP, else the cached build) on the first L rows of plane 0 (comma list, default 1,3;
 *    72 points per row). Prints CPU time and peak memory (from /usr/bin/time, where present) per
 *    probe point above a run without probes, with dgradflag 1 and 0. The contraction with β (in
 *    our code) is not included, nor is a check of LAMMPS' numbers.
 *
 * Options:
 *   --planes N       x-planes of the Al grid (default 1)
 *   --repeat R       repeats, best counts (default 3)
 *   --twojmax J      2·jmax (default 10, MALA's)
 *   --lammps-rows L  rows of plane 0 as probe atoms per LAMMPS run, e.g. 1,3,9 (9 rows ≈ 2.6 GB)
 *   --no-lammps      only the native part
 * Environment: MALA_TS_SNA_ISA=generic|avx2|avx512 forces the native kernel's instruction set.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { cacheDir, repoRoot } from '../bindings/native-paths';
import { NativeBispectrum, blockPointsAngstrom } from '../src/descriptors/bispectrum-native';
import { malaBispectrumDefaults } from '../src/descriptors/mala-defaults';
import { chooseGrid } from '../src/grid/choose-grid';
import type { GridBlock } from '../src/parallel/plane-blocks';
import type { Vec3 } from '../src/structure/atoms';
import { lammpsDataText } from '../src/structure/lammps-data';
import { readStructure } from '../src/structure/registry';
import { helpIfAsked } from './help';

helpIfAsked(__filename);

const argv = process.argv.slice(2);
function intArg(name: string, fallback: number): number {
  const i = argv.indexOf(name);
  if (i < 0) return fallback;
  const v = Number(argv[i + 1]);
  if (!Number.isInteger(v) || v < 1) throw new Error(`${name} needs a positive whole number`);
  return v;
}
const planes = intArg('--planes', 1);
const repeat = intArg('--repeat', 3);
const twojmax = intArg('--twojmax', 10);
const lammpsRows = (argv.includes('--lammps-rows') ? argv[argv.indexOf('--lammps-rows') + 1] : '1,3').split(',').map(Number);
if (lammpsRows.some((r) => !Number.isInteger(r) || r < 1)) throw new Error('--lammps-rows needs a comma list of positive whole numbers');
const lmpExe = process.env.MALA_TS_LMP ?? path.join(cacheDir(), 'lammps', 'bin', 'lmp');

const al = readStructure(path.join(repoRoot, 'examples', 'al108-298K.pw.scf.in'));
const grid = chooseGrid(al).grid;
const params = { ...malaBispectrumDefaults, twojmax };

function cpuSeconds(f: () => void): number {
  const c = process.cpuUsage();
  f();
  const d = process.cpuUsage(c);
  return (d.user + d.system) / 1e6;
}

function nativePart(): void {
  const calc = new NativeBispectrum(al.atoms, grid, params);
  const perPlane = grid[1] * grid[2];
  let seed = 12345;
  const beta = Float64Array.from({ length: perPlane * calc.featureCount }, () => {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    return seed / 4294967296 - 0.5;
  });
  let desc = Infinity;
  let forces = Infinity;
  for (let r = 0; r < repeat; r++) {
    let d = 0;
    let f = 0;
    for (let i = 0; i < planes; i++) {
      const b: GridBlock = { i0: i, i1: i + 1, rowStart: 0, rowStride: 1 };
      d += cpuSeconds(() => calc.computeBlock(b));
      f += cpuSeconds(() => calc.blockForces(b, beta));
    }
    desc = Math.min(desc, d);
    forces = Math.min(forces, f);
  }
  const n = planes * perPlane;
  console.log(`native (${calc.engine.isa} kernel), Al108, grid ${grid.join('×')}, twojmax ${twojmax}, ${planes} plane(s) of ${perPlane} points, best of ${repeat}:`);
  console.log(`  descriptors ${((desc / n) * 1e6).toFixed(1)} µs/point, forces ${((forces / n) * 1e6).toFixed(1)} µs/point, ratio ${(forces / desc).toFixed(2)}`);
  console.log(`  forces memory: β ${8 * calc.featureCount} B/point (input) + a per-batch scratch of 8 points (every neighbour's U), independent of the block size`);
}

const snapInput = `units metal
atom_style atomic
boundary p p p
read_data \${datafile}
group probes type 2
pair_style zero ${(2 * params.rcutfacAngstrom * 0.5).toFixed(5)}
pair_coeff * *
neigh_modify exclude type 2 2
compute bsnap probes snap ${params.rcutfacAngstrom} ${params.rfac0} ${twojmax} 0.5 0.5 1.0 0.0 rmin0 0 bzeroflag 0 quadraticflag 0 switchflag 1 bikflag 1 dgradflag \${dgrad}
thermo_style custom step c_bsnap[1][1]
run 0
`;

interface Run {
  cpuS: number;
  maxRssKb: number;
}

function runLammps(dir: string, rows: number, dgrad: number, timeTool: boolean): Run {
  const pts = blockPointsAngstrom(al.atoms.cellAngstrom, grid, { i0: 0, i1: 1, rowStart: 0, rowStride: 1 }).subarray(0, rows * grid[2] * 3);
  const pos: Vec3[] = al.atoms.positionsAngstrom.slice();
  const sym = al.atoms.symbols.slice();
  for (let p = 0; p < pts.length; p += 3) {
    pos.push([pts[p], pts[p + 1], pts[p + 2]]);
    sym.push('Ne'); // any second type: its weight is 0
  }
  const data = path.join(dir, `probes${rows}.data`);
  fs.writeFileSync(data, lammpsDataText({ ...al.atoms, positionsAngstrom: pos, symbols: sym }, ['Al', 'Ne']));
  const stats = path.join(dir, 'time.txt');
  const lmpArgs = [lmpExe, '-in', path.join(dir, 'snap.in'), '-var', 'datafile', data, '-var', 'dgrad', String(dgrad), '-log', 'none', '-screen', 'none'];
  let best: Run = { cpuS: Infinity, maxRssKb: 0 };
  for (let r = 0; r < repeat; r++) {
    const res = timeTool ? spawnSync('/usr/bin/time', ['-o', stats, '-f', '%U %S %M', ...lmpArgs]) : spawnSync(lmpArgs[0], lmpArgs.slice(1));
    if (res.status !== 0) throw new Error(`lmp failed (${rows} rows, dgradflag ${dgrad}): ${res.stderr}`);
    if (!timeTool) return best;
    const [u, s, m] = fs.readFileSync(stats, 'utf8').trim().split(/\s+/).map(Number);
    if (u + s < best.cpuS) best = { cpuS: u + s, maxRssKb: m };
  }
  return best;
}

function lammpsPart(): void {
  if (!fs.existsSync(lmpExe)) {
    console.log(`LAMMPS route skipped: no lmp at ${lmpExe} (set MALA_TS_LMP)`);
    return;
  }
  const timeTool = fs.existsSync('/usr/bin/time');
  if (!timeTool) console.log('no /usr/bin/time: the LAMMPS route cannot be timed here');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mala-ts-snap-dgrad-'));
  try {
    fs.writeFileSync(path.join(dir, 'snap.in'), snapInput);
    console.log(`LAMMPS compute snap dgradflag (lmp executable, ${lmpExe}), probes = first rows of plane 0, best of ${repeat}:`);
    for (const dgrad of [1, 0]) {
      const base = runLammps(dir, 1, dgrad, timeTool); // the per-probe numbers are above this smallest run
      console.log(`  dgradflag ${dgrad}, ${grid[2]} probes (1 row) + 108 atoms: CPU ${base.cpuS.toFixed(2)} s, peak ${(base.maxRssKb / 1024).toFixed(0)} MB`);
      for (const rows of lammpsRows.filter((r) => r > 1)) {
        const r = runLammps(dir, rows, dgrad, timeTool);
        const n = (rows - 1) * grid[2];
        console.log(
          `  dgradflag ${dgrad}, ${rows * grid[2]} probes + 108 atoms: CPU ${r.cpuS.toFixed(2)} s, peak ${(r.maxRssKb / 1024).toFixed(0)} MB;` +
            ` per probe above 1 row: ${(((r.cpuS - base.cpuS) / n) * 1e6).toFixed(0)} µs CPU, ${((r.maxRssKb - base.maxRssKb) / n).toFixed(0)} kB`,
        );
      }
    }
    console.log('  (dgradflag 1 allocates its array for every atom pair: memory grows as (atoms + probes)², so per-probe memory grows with the block)');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

nativePart();
if (!argv.includes('--no-lammps')) lammpsPart();
