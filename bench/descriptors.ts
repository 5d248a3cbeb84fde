/**
 * Descriptor benchmarks (not a test): `npx tsx bench/descriptors.ts [--repeat N]`
 *
 * 1. mala-ts (LAMMPS library through koffi, data file + template + extraction + transpose to
 *    our layout) against the plain `lmp` executable running the same template on the same
 *    data file and grid (process start, read_data, compute). Both compute the grid once.
 * 2. Time per grid point against the number of atoms: supercells of the hcp fixture on a fixed
 *    12×12×12 grid (sna/grid checks every atom, local and ghost, for every grid point).
 *
 * Structure: test/grid/fixtures/qe/hex-ibrav4-abc.in (2-atom hcp cell, QE grid 18×18×27 — the
 * Be2 grid). MALA parameters (twojmax 10, rcutfac 4.67637). Times are best of --repeat runs.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { cacheDir, repoRoot } from '../bindings/native-paths';
import { BispectrumCalculator, bispectrumTemplate, templateVariables } from '../src/descriptors/bispectrum';
import { malaBispectrumDefaults } from '../src/descriptors/mala-defaults';
import { qeFftGrid, GridShape } from '../src/grid/grid';
import { Atoms, Vec3, speciesOf, wrapAtoms } from '../src/structure/atoms';
import { lammpsDataText } from '../src/structure/lammps-data';
import { readStructure } from '../src/structure/registry';
import { helpIfAsked } from './help';

helpIfAsked(__filename);

const argv = process.argv.slice(2);
const repeat = Number(argv[argv.indexOf('--repeat') + 1]) || 3;
const lmpExe = process.env.MALA_TS_LMP ?? path.join(cacheDir(), 'lammps', 'bin', 'lmp');

function supercell(a: Atoms, n: [number, number, number]): Atoms {
  const pos: Vec3[] = [];
  const sym: string[] = [];
  const c = a.cellAngstrom;
  for (let i = 0; i < n[0]; i++)
    for (let j = 0; j < n[1]; j++)
      for (let k = 0; k < n[2]; k++)
        a.positionsAngstrom.forEach((p, q) => {
          pos.push([0, 1, 2].map((d) => p[d] + i * c[0][d] + j * c[1][d] + k * c[2][d]) as Vec3);
          sym.push(a.symbols[q]);
        });
  return { ...a, cellAngstrom: c.map((r, d) => r.map((x) => x * n[d])) as Atoms['cellAngstrom'], positionsAngstrom: pos, symbols: sym };
}

interface Timing {
  wallS: number;
  /** user + system CPU seconds (robust against other load on a shared machine). */
  cpuS: number;
}

function timeLibrary(atoms: Atoms, grid: GridShape): Timing {
  const best: Timing = { wallS: Infinity, cpuS: Infinity };
  for (let r = 0; r < repeat; r++) {
    const t0 = process.hrtime.bigint();
    const c0 = process.cpuUsage();
    const calc = new BispectrumCalculator(atoms, grid, malaBispectrumDefaults, { xyz: true });
    try {
      calc.computeAll();
    } finally {
      calc.close();
    }
    const c = process.cpuUsage(c0);
    best.wallS = Math.min(best.wallS, Number(process.hrtime.bigint() - t0) / 1e9);
    best.cpuS = Math.min(best.cpuS, (c.user + c.system) / 1e6);
  }
  return best;
}

function timeExecutable(atoms: Atoms, grid: GridShape): Timing {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mala-ts-bench-'));
  try {
    const w = wrapAtoms(atoms);
    const species = speciesOf(w);
    const data = path.join(dir, 'structure.data');
    fs.writeFileSync(data, lammpsDataText(w, species));
    const vars = templateVariables(malaBispectrumDefaults, species.length, data, grid, 0, w.pbc);
    const args = ['-in', bispectrumTemplate, '-screen', 'none', '-log', 'none', '-nocite'];
    for (const [k, v] of Object.entries(vars)) args.push('-var', k, v);
    const best: Timing = { wallS: Infinity, cpuS: Infinity };
    // bash's `time` gives the child's CPU time; quoting through an argument array
    const script = `TIMEFORMAT='%U %S'; time "$0" "$@" >/dev/null`;
    for (let r = 0; r < repeat; r++) {
      const t0 = process.hrtime.bigint();
      const res = spawnSync('bash', ['-c', script, lmpExe, ...args], { encoding: 'utf8', env: { ...process.env, OMP_NUM_THREADS: '1' } });
      const s = Number(process.hrtime.bigint() - t0) / 1e9;
      if (res.status !== 0) throw new Error(`lmp failed: ${res.stdout}\n${res.stderr}`);
      const [u, sys] = res.stderr.trim().split('\n').pop()!.split(/\s+/).map(Number);
      best.wallS = Math.min(best.wallS, s);
      best.cpuS = Math.min(best.cpuS, u + sys);
    }
    return best;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function main(): void {
  if (!fs.existsSync(lmpExe)) throw new Error(`no lmp executable at ${lmpExe} (run make setup or set MALA_TS_LMP)`);
  const base = readStructure(path.join(repoRoot, 'test', 'grid', 'fixtures', 'qe', 'hex-ibrav4-abc.in'));
  const grid = qeFftGrid(base.atoms.cellAngstrom, base.qeInput!.ecutrhoRy!);
  console.log(`# descriptors benchmark (best of ${repeat}; twojmax ${malaBispectrumDefaults.twojmax}, rcutfac ${malaBispectrumDefaults.rcutfacAngstrom}; ${os.cpus().length} cores, ${os.cpus()[0]?.model})`);
  console.log('\n## mala-ts (library) vs plain lmp, same template, data and grid\n');
  console.log('| atoms | grid | points | mala-ts wall s | lmp wall s | mala-ts CPU s | lmp CPU s | CPU overhead |');
  console.log('|---|---|---|---|---|---|---|---|');
  for (const n of [[1, 1, 1], [2, 2, 1]] as [number, number, number][]) {
    const a = supercell(base.atoms, n);
    const g = grid.map((x, d) => x * n[d]) as GridShape;
    const points = g[0] * g[1] * g[2];
    const lib = timeLibrary(a, g);
    const exe = timeExecutable(a, g);
    console.log(
      `| ${a.symbols.length} | ${g.join('×')} | ${points} | ${lib.wallS.toFixed(3)} | ${exe.wallS.toFixed(3)} | ${lib.cpuS.toFixed(3)} | ${exe.cpuS.toFixed(3)} | ${(((lib.cpuS - exe.cpuS) / exe.cpuS) * 100).toFixed(1)} % |`,
    );
  }
  console.log('\n## time per grid point vs number of atoms (fixed 12×12×12 grid, mala-ts)\n');
  console.log('| supercell | atoms | wall s | CPU s | CPU µs/point |');
  console.log('|---|---|---|---|---|');
  const fixed: GridShape = [12, 12, 12];
  for (const n of [[1, 1, 1], [2, 2, 2], [4, 4, 3], [6, 6, 4]] as [number, number, number][]) {
    const a = supercell(base.atoms, n);
    const s = timeLibrary(a, fixed);
    console.log(`| ${n.join('×')} | ${a.symbols.length} | ${s.wallS.toFixed(3)} | ${s.cpuS.toFixed(3)} | ${((s.cpuS / 1728) * 1e6).toFixed(1)} |`);
  }
}

main();
