/**
 * Energy-term timing vs grid size: `npx tsx bench/energy.ts [--max 200] [--repeat 3]`.
 *
 * Cubic cells of 32 atoms (2×2×2 fcc) scaled so the FFT grid n³ keeps the Al fixture's resolution
 * (24³ for a = 4.05 Å at ecutrho 80 Ry); the density is a sum of Gaussians normalised to 3 e/atom.
 * For each n: wall time of computeEnergyTerms (median of --repeat), the number of 3D FFTs it ran,
 * FFTW's own time for one n³ complex transform (FFTW_ESTIMATE, as used), the share of the total
 * that is FFT, and the memory the call added (RSS and ArrayBuffers, peak over the call).
 * Functionals: LDA-PZ with fixtures/al-fcc-qe/Al.pz-vbc.UPF (no core charge); PBE + core
 * correction with the Be2 pseudopotential when ../shared/reference/be2 exists (labelled).
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Fft3d, fftwVersion } from '../bindings/fftw';
import { computeEnergyTerms } from '../src/qe/energy-terms';
import { Pseudopotential, readUpf } from '../src/qe/upf';
import { gaussianAlDensity } from './gaussian-density';
import { helpIfAsked } from './help';
import { median } from './stats';

helpIfAsked(__filename);

const args = process.argv.slice(2);
const opt = (name: string, dflt: number): number => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const maxN = opt('--max', 200);
const repeat = opt('--repeat', 3);
const sizes = [18, 24, 48, 72, 96, 144, 200].filter((n) => n <= maxN);

const root = path.resolve(__dirname, '..');
const al = readUpf(path.join(root, 'fixtures', 'al-fcc-qe', 'Al.pz-vbc.UPF'));
const beFile = path.resolve(root, '..', 'shared', 'reference', 'be2', 'Be.pbe-n-rrkjus_psl.1.0.0.UPF');
const be = fs.existsSync(beFile) ? readUpf(beFile) : undefined;

function fftwSeconds(n: number): number {
  const f = new Fft3d(n, n, n);
  const x = new Float64Array(2 * f.size).map((_, i) => Math.sin(i));
  f.forward(x);
  const reps = n >= 144 ? 2 : 6;
  const t0 = process.hrtime.bigint();
  for (let r = 0; r < reps; r++) {
    f.forward(x);
    f.backward(x);
  }
  f.dispose();
  return Number(process.hrtime.bigint() - t0) / 1e9 / (2 * reps);
}

// Memory: one fresh process per case, so the peak RSS is the call's own (typed arrays included).
if (args[0] === '--child') {
  const n = Number(args[1]);
  const pp = args[2] === 'be' ? (be as Pseudopotential) : al;
  const { cell, pos, dens } = gaussianAlDensity(n);
  const before = process.memoryUsage().rss;
  computeEnergyTerms({ cellAngstrom: cell, positionsAngstrom: pos, species: pos.map(() => 'X'), grid: [n, n, n], densityPerA3: dens, ecutrhoRy: 80, pseudopotentials: { X: pp } });
  process.stdout.write(JSON.stringify({ peakMb: (process.resourceUsage().maxRSS * 1024 - before) / 2 ** 20 }));
  process.exit(0);
}
function childPeakMb(n: number, which: 'al' | 'be'): number {
  const out = execFileSync(process.execPath, ['-r', 'tsx/cjs', __filename, '--child', String(n), which], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  return JSON.parse(out).peakMb;
}

console.log(`# ${fftwVersion()}, node ${process.version}, ${repeat} repeats (median), 32 atoms, ecutrho 80 Ry`);
console.log('# peak_MB: peak RSS growth of a fresh process over the call (density already built); MB per Mpoint in brackets');
console.log('functional      grid     points  G-vectors  total_s  FFTs  fftw_1_s  fft_share  ms/Mpt  peak_MB  stages_s (gsphere density hartree core lda gga ewald)');
for (const n of sizes) {
  const { cell, pos, dens } = gaussianAlDensity(n);
  const fftS = fftwSeconds(n);
  const cases: [string, Pseudopotential, 'al' | 'be'][] = [['lda-pz', al, 'al']];
  if (be) cases.push(['pbe+nlcc(Be)', be, 'be']);
  for (const [label, pp, which] of cases) {
    const times: number[] = [];
    let last: ReturnType<typeof computeEnergyTerms> | undefined;
    for (let r = 0; r < repeat; r++) {
      const t0 = process.hrtime.bigint();
      last = computeEnergyTerms({ cellAngstrom: cell, positionsAngstrom: pos, species: pos.map(() => 'X'), grid: [n, n, n], densityPerA3: dens, ecutrhoRy: 80, pseudopotentials: { X: pp } });
      times.push(Number(process.hrtime.bigint() - t0) / 1e9);
    }
    const peakMb = childPeakMb(n, which);
    const t = last as ReturnType<typeof computeEnergyTerms>;
    const tot = median(times);
    const pts = n ** 3;
    const st = ['gsphere', 'density', 'hartree', 'core', 'lda', 'gga', 'ewald'].map((k) => (t.timingsS[k] ?? 0).toFixed(3)).join(' ');
    console.log(
      `${label.padEnd(14)} ${`${n}³`.padStart(5)} ${String(pts).padStart(10)} ${String(t.gVectorCount).padStart(10)} ${tot.toFixed(3).padStart(8)} ${String(t.fftCount).padStart(5)} ${fftS.toFixed(4).padStart(9)} ${(((t.fftCount * fftS) / tot) * 100).toFixed(0).padStart(8)} % ${((tot * 1e3) / (pts / 1e6)).toFixed(0).padStart(7)} ${peakMb.toFixed(0).padStart(8)} (${(peakMb / (pts / 1e6)).toFixed(0)})  ${st}`,
    );
  }
}
