/**
 * LDOS engines side by side (not a test):
 *
 *   npx tsx bench/ldos-engines.ts --save DIR [--energy-grid -5,0.1,151] [--broadening 0.1] [--rounds 1]
 *
 * On one pw.x save dir (`mala-ts generate --keep-work` leaves it in <out>/.work/<name>/tmp/<prefix>.save,
 * or a frame's while its LDOS stage runs; norm-conserving, no symmetry), times pp.x 6.7 (plot_num = 3
 * on the Gaussian-tagged XML, as generate runs it, serial) and the native one-pass route
 * (src/dft/ldos-from-wavefunctions.ts), interleaved per round, by wall time and by the CPU time of
 * each (pp.x's from its own report, native's from this process), and prints the medians and the
 * largest difference between their LDOS (pp.x's cubes hold 5 significant digits).
 *   --save DIR       pw.x's <outdir>/<prefix>.save (data-file-schema.xml, wfc1.dat …)
 *   --energy-grid    offset,spacing,count in eV (default -5,0.1,151: the broad Al recipe's)
 *   --broadening σ   Gaussian σ, eV (default 0.1)
 *   --rounds N       rounds of pp.x then native (default 1)
 * The XML's smearing tag is set to 'gaussian' in place, as generate does before pp.x.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DEFAULT_PP_LDOS_TEMPLATE, gaussianSmearingXml, ldosCubeNames, ppLdosInput } from '../src/dft/ldos-recipe';
import { ldosFromWavefunctions, nativeLdosRefusal } from '../src/dft/ldos-from-wavefunctions';
import { runQe } from '../src/dft/qe-run';
import { readLdosCubes } from '../src/io/cube';
import { EnergyGrid, energiesEv, parseEnergyGrid } from '../src/targets/energy-grid';
import { arg, helpIfAsked } from './help';
import { median } from './stats';

helpIfAsked(__filename);

function args(): { save: string; grid: EnergyGrid; sigma: number; rounds: number } {
  const save = arg('save');
  if (!fs.existsSync(path.join(save, 'data-file-schema.xml'))) throw new Error(`bench/ldos-engines: --save must name a pw.x save dir with data-file-schema.xml (got ${save})`);
  return { save: path.resolve(save), grid: parseEnergyGrid(arg('energy-grid', '-5,0.1,151')), sigma: Number(arg('broadening', '0.1')), rounds: Number(arg('rounds', '1')) };
}

async function main(): Promise<void> {
  const o = args();
  const xmlFile = path.join(o.save, 'data-file-schema.xml');
  const xml = fs.readFileSync(xmlFile, 'utf8');
  const refusal = nativeLdosRefusal(xml, true);
  if (refusal) throw new Error(`the native route does not cover this save dir: ${refusal}`);
  fs.writeFileSync(xmlFile, gaussianSmearingXml(xml, xmlFile));
  const prefix = path.basename(o.save).replace(/\.save$/, '');
  const nk = (xml.match(/<ks_energies>/g) ?? []).length;
  console.log(`${o.save}: ${nk} k-points, ${o.grid.count} energies, σ ${o.sigma} eV`);
  const ppx: number[] = [];
  const ppxCpu: number[] = [];
  const native: number[] = [];
  const nativeCpu: number[] = [];
  let worst = 0;
  for (let round = 0; round < o.rounds; round++) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ldos-engines-'));
    try {
      const fileout = `${prefix}_ldos.cube`;
      fs.writeFileSync(path.join(dir, 'pp.ldos.in'), ppLdosInput(DEFAULT_PP_LDOS_TEMPLATE, { outdir: path.relative(dir, path.dirname(o.save)), prefix, grid: o.grid, broadeningEv: o.sigma, fileout }));
      const r = await runQe({ program: 'pp.x', inputFile: 'pp.ldos.in', outputFile: 'pp.ldos.out', cwd: dir, np: 1 });
      ppx.push(r.wallSeconds);
      // pp.x's CPU from its own report ("POST-PROC : 4m12.34s CPU", hours and minutes only when needed)
      const cpu = /POST-PROC\s*:\s*(?:(\d+)h)?\s*(?:(\d+)m)?\s*([\d.]+)s CPU/.exec(fs.readFileSync(path.join(dir, 'pp.ldos.out'), 'utf8'));
      ppxCpu.push(cpu ? Number(cpu[1] ?? 0) * 3600 + Number(cpu[2] ?? 0) * 60 + Number(cpu[3]) : NaN);
      const t0 = Date.now();
      const u0 = process.cpuUsage();
      const n = ldosFromWavefunctions({ saveDir: o.save, grid: o.grid, broadeningEv: o.sigma });
      native.push((Date.now() - t0) / 1000);
      const u = process.cpuUsage(u0);
      nativeCpu.push((u.user + u.system) / 1e6);
      const cubes = readLdosCubes(ldosCubeNames(o.grid, fileout).map((f) => path.join(dir, f)), { shape: [n.shape[0], n.shape[1], n.shape[2]], energiesEv: energiesEv(o.grid) });
      let max = 0;
      for (const v of cubes.ldosPerEvA3) max = Math.max(max, Math.abs(v));
      for (let i = 0; i < n.ldosPerEvA3.length; i++) {
        const ref = cubes.ldosPerEvA3[i];
        if (Math.abs(ref) > 1e-3 * max) worst = Math.max(worst, Math.abs(n.ldosPerEvA3[i] - ref) / Math.abs(ref));
      }
      console.log(`round ${round + 1}: pp.x ${ppx[round].toFixed(1)} s wall (${ppxCpu[round].toFixed(1)} s CPU), native ${native[round].toFixed(1)} s wall (${nativeCpu[round].toFixed(1)} s CPU)`);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
  console.log(`median: pp.x ${median(ppx).toFixed(1)} s, native ${median(native).toFixed(1)} s wall: ${(median(ppx) / median(native)).toFixed(1)}×; CPU ${median(ppxCpu).toFixed(1)} vs ${median(nativeCpu).toFixed(1)} s: ${(median(ppxCpu) / median(nativeCpu)).toFixed(1)}×`);
  console.log(`largest relative difference from pp.x's cubes (values above 1e-3 of the largest): ${worst.toExponential(2)}`);
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
