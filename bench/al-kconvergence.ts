/**
 * Is a training cell's σ-broadened DOS converged in k? Measured, not asserted (a benchmark):
 *
 *   npx tsx bench/al-kconvergence.ts --qe-input FRAME.pw.scf.in [--meshes 4x8x8,6x12x12,8x16x16]
 *        [--sigmas 0.05,0.1,0.15,0.2] [--spacing 0.1] [--temperatures 100,298,900] [--np 1]
 *        [--shifted 6x12x12:4 [--seed 4928459]] [--work ~/.cache/mala-ts/al-kconvergence] [--out kconvergence.json]
 *
 * One pw.x SCF of the frame on the first mesh, then one pw.x NSCF per further mesh on that SCF's
 * density (so only the k-sampling differs; QE 6.7, serial unless --np, OMP_NUM_THREADS=1; wavefunctions
 * are deleted after each run). From
 * each run's eigenvalues and k-weights (data-file-schema.xml) and for each broadening σ (pp.x's
 * degauss_ldos: kernel exp(−((E−ε)/σ)²)/(σ√π), the one `mala-ts generate` trains on):
 *  - the DOS per atom on the LDOS energy grid (--spacing, over the eigenvalue window that every
 *    mesh covers completely: lowest eigenvalue − 1 eV … lowest top-band minimum − 4σ);
 *  - max |ΔDOS| and rms ΔDOS (states/eV/atom) against the last (densest) mesh;
 *  - per electronic temperature: E_F and the band energy the pipeline computes from that grid DOS
 *    (src/targets/dos.ts dosObservables: self-consistent E_F, analytical Fermi–Dirac weights), its
 *    difference to the densest mesh's (meV/atom: the k-sampling error of the training target), and
 *    to the same mesh's eigenvalue band energy Σ w f ε (meV/atom: the cost of representing the
 *    eigenvalues by a σ-broadened DOS on this grid).
 * Temperatures default to the input's Fermi–Dirac degauss.
 * --shifted MESH:M adds M NSCF runs of MESH, each shifted by the random offset `mala-ts sample
 * --kpoint-offset random` gives frame j of --seed (explicit K_POINTS crystal list), and compares
 * each and their mean DOS with the densest mesh: the mean is what a network trained on many
 * randomly shifted frames sees.
 *
 * Resumable: each mesh's run lives in --work/<mesh>/ and is reused when its input is unchanged
 * (a finished run leaves done.json with a hash of the input); delete the folder to redo one.
 * Writes --out (JSON) and prints a table.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { MalaError } from '../src/errors';
import { writeFileAtomic } from '../src/io/atomic-write';
import { parseQeInput } from '../src/structure/qe-input';
import { pwscfTimesS } from '../src/structure/qe-output';
import { kBoltzmannEvPerK, rydbergEv } from '../src/structure/units';
import { replaceCard, setNamelistValue } from '../src/dft/qe-template';
import { runQe } from '../src/dft/qe-run';
import { eigenvalueBandEnergy, parseQeXmlBands, QeXmlBands } from '../src/dft/qe-xml';
import { hashKey } from '../src/dft/stamps';
import { brentRoot, dosObservables } from '../src/targets/dos';
import { kpointShift, shiftedMeshCard } from '../src/workflow/sample';

const HELP = fs.readFileSync(__filename, 'utf8').split('*/')[0].replace(/^\/\*\*?\n?/, '').replace(/^ \* ?/gm, '');
const argv = process.argv.slice(2);
if (argv.includes('--help') || argv.includes('-h') || argv.length === 0) {
  process.stdout.write(HELP);
  process.exit(0);
}
const arg = (name: string, def: string): string => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1] : def;
};
const numbers = (name: string, def: string): number[] => {
  const v = arg(name, def).split(',').map(Number);
  if (v.some((x) => !Number.isFinite(x))) throw new MalaError(`--${name} must be a comma-separated list of numbers, got '${arg(name, def)}'`);
  return v;
};
type Mesh = [number, number, number];
const parseMesh = (s: string): Mesh => {
  const v = s.split('x').map(Number);
  if (v.length !== 3 || v.some((n) => !Number.isInteger(n) || n < 1)) throw new MalaError(`k-mesh '${s}' must look like 4x8x8`);
  return v as Mesh;
};

const inputFile = path.resolve(arg('qe-input', ''));
if (!fs.existsSync(inputFile)) throw new MalaError('pw.x input not found', { file: inputFile, fix: 'pass --qe-input <frame.pw.scf.in> (e.g. from mala-ts sample)' });
const meshes = arg('meshes', '4x8x8,6x12x12,8x16x16').split(',').map(parseMesh);
const sigmasEv = numbers('sigmas', '0.05,0.1,0.15,0.2');
const spacingEv = Number(arg('spacing', '0.1'));
const np = Number(arg('np', '1'));
const work = path.resolve(arg('work', path.join(os.homedir(), '.cache', 'mala-ts', 'al-kconvergence')));
const outFile = path.resolve(arg('out', 'kconvergence.json'));
const shifted = ((spec: string) => {
  if (!spec) return undefined;
  const [m, n] = spec.split(':');
  const count = Number(n);
  if (!Number.isInteger(count) || count < 1) throw new MalaError(`--shifted must look like 6x12x12:4 (mesh:copies), got '${spec}'`);
  return { mesh: parseMesh(m), count, seed: Number(arg('seed', '4928459')) };
})(arg('shifted', ''));

const inputText = fs.readFileSync(inputFile, 'utf8');
const parsed = parseQeInput(inputText, inputFile);
const nat = parsed.atoms.symbols.length;
const degaussRy = Number(parsed.namelists.system?.degauss);
if (!(degaussRy > 0) || String(parsed.namelists.system?.smearing ?? '').toLowerCase().replace(/[-_]/g, '') !== 'fermidirac') {
  throw new MalaError('the input must use Fermi–Dirac smearing with a degauss', { file: inputFile, fix: "set occupations = 'smearing', smearing = 'fermi-dirac', degauss = kT in Ry" });
}
const temperaturesK = arg('temperatures', '') ? numbers('temperatures', '') : [(degaussRy * rydbergEv) / kBoltzmannEvPerK];
const cellLengthsA = parsed.atoms.cellAngstrom.map((r) => Math.hypot(...r));

const PREFIX = 'kconv';
const meshName = (m: Mesh): string => m.join('x');

/** The pw.x input of one mesh: SCF for the first, NSCF on the first's density for the others. */
function meshInput(m: Mesh, scf: boolean, outdir: string, shift?: [number, number, number]): string {
  let t = replaceCard(inputText, 'K_POINTS', shift ? shiftedMeshCard(m, shift) : ['K_POINTS automatic', `${m.join(' ')} 0 0 0`]);
  t = setNamelistValue(t, 'control', 'prefix', PREFIX);
  t = setNamelistValue(t, 'control', 'outdir', outdir);
  t = setNamelistValue(t, 'control', 'tprnfor', undefined);
  t = setNamelistValue(t, 'control', 'tstress', undefined);
  // eigenvalues come from the XML (disk_io = 'none' would not write it; wavefunctions are deleted after the run)
  t = setNamelistValue(t, 'control', 'verbosity', 'low');
  if (!scf) t = setNamelistValue(t, 'control', 'calculation', 'nscf');
  return t;
}

interface MeshRun {
  mesh: Mesh;
  /** mesh name, with -shift<i> for a randomly shifted copy */
  label: string;
  shift?: [number, number, number];
  kind: 'scf' | 'nscf';
  kpoints: number;
  /** k-points per Å⁻¹ along each cell vector: n_i · |a_i| / (2π)⁻¹ … reported as the equivalent mesh of a 4.05 Å conventional cell. */
  equivalentConventionalMesh: number[];
  pwCpuS?: number;
  pwWallS?: number;
  bands: QeXmlBands;
}

async function runMesh(m: Mesh, i: number, shift?: { index: number; offset: [number, number, number] }): Promise<MeshRun> {
  const label = shift ? `${meshName(m)}-shift${shift.index}` : meshName(m);
  const dir = path.join(work, label);
  const scf = i === 0;
  const outdir = path.join(dir, 'out');
  const text = meshInput(m, scf, outdir, shift?.offset);
  const key = hashKey(text, scf ? '' : fs.readFileSync(path.join(work, meshName(meshes[0]), 'done.json'), 'utf8'));
  const doneFile = path.join(dir, 'done.json');
  const xmlFile = path.join(outdir, `${PREFIX}.save`, 'data-file-schema.xml');
  let times: { cpuS: number; wallS: number } | undefined;
  const done = fs.existsSync(doneFile) ? (JSON.parse(fs.readFileSync(doneFile, 'utf8')) as { key: string; cpuS?: number; wallS?: number }) : undefined;
  if (done?.key === key && fs.existsSync(xmlFile)) {
    times = done.cpuS !== undefined ? { cpuS: done.cpuS, wallS: done.wallS ?? NaN } : undefined;
    process.stderr.write(`${label}: reusing ${dir}\n`);
  } else {
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(path.join(outdir, `${PREFIX}.save`), { recursive: true });
    if (!scf) {
      // NSCF reads the SCF's density and XML (and the pseudopotential) from its own outdir
      const from = path.join(work, meshName(meshes[0]), 'out', `${PREFIX}.save`);
      for (const f of fs.readdirSync(from)) if (!fs.statSync(path.join(from, f)).isDirectory() && !/^wfc/.test(f)) fs.copyFileSync(path.join(from, f), path.join(outdir, `${PREFIX}.save`, f));
    }
    fs.writeFileSync(path.join(dir, 'pw.in'), text);
    process.stderr.write(`${label}: pw.x ${scf ? 'SCF' : 'NSCF'} (${m[0] * m[1] * m[2]} k-points, ${nat} atoms) in ${dir} ...\n`);
    const started = Date.now();
    const res = await runQe({ program: 'pw.x', inputFile: 'pw.in', outputFile: 'pw.out', cwd: dir, np, pools: np });
    times = pwscfTimesS(res.output);
    if (fs.statSync(xmlFile).mtimeMs < started - 1000) throw new MalaError(`pw.x did not rewrite ${xmlFile}`, { file: path.join(dir, 'pw.out') });
    // only the eigenvalues (XML) and the SCF density are needed: drop the wavefunctions
    for (const f of fs.readdirSync(path.join(outdir, `${PREFIX}.save`))) if (/^wfc/.test(f)) fs.rmSync(path.join(outdir, `${PREFIX}.save`, f));
    for (const f of fs.readdirSync(outdir)) if (/\.wfc\d*$|\.mix\d*$/.test(f)) fs.rmSync(path.join(outdir, f));
    writeFileAtomic(doneFile, `${JSON.stringify({ key, cpuS: times?.cpuS, wallS: times?.wallS })}\n`);
  }
  const bands = parseQeXmlBands(fs.readFileSync(xmlFile, 'utf8'), xmlFile);
  return {
    mesh: m,
    label,
    shift: shift?.offset,
    kind: scf ? 'scf' : 'nscf',
    kpoints: bands.kWeights.length,
    equivalentConventionalMesh: m.map((n, d) => +((n * cellLengthsA[d]) / 4.05).toFixed(2)),
    pwCpuS: times?.cpuS,
    pwWallS: times?.wallS,
    bands,
  };
}

/** σ-broadened DOS of the whole cell (states/eV), pp.x's Gaussian kernel. */
function broadenedDos(b: QeXmlBands, energies: Float64Array, sigmaEv: number): Float64Array {
  const dos = new Float64Array(energies.length);
  const norm = 1 / (sigmaEv * Math.sqrt(Math.PI));
  const reach = 7 * sigmaEv;
  b.eigenvaluesEv.forEach((eps, k) => {
    const w = b.kWeights[k] * norm;
    for (const e of eps) {
      for (let i = 0; i < energies.length; i++) {
        const x = energies[i] - e;
        if (x > -reach && x < reach) dos[i] += w * Math.exp(-((x / sigmaEv) ** 2));
      }
    }
  });
  return dos;
}

/** E_F of the eigenvalues at kT: Σ w f(ε) = N. */
function eigenvalueFermiEv(b: QeXmlBands, kTEv: number, electrons: number): number {
  const lo = Math.min(...b.eigenvaluesEv.map((e) => e[0]));
  const hi = Math.max(...b.eigenvaluesEv.map((e) => e[e.length - 1]));
  return brentRoot((mu) => eigenvalueBandEnergy(b, mu, kTEv).electrons - electrons, lo, hi);
}

async function main(): Promise<void> {
  fs.mkdirSync(work, { recursive: true });
  const runs: MeshRun[] = [];
  for (let i = 0; i < meshes.length; i++) runs.push(await runMesh(meshes[i], i));
  // --shifted MESH:M — M copies of MESH, each shifted by `mala-ts sample --kpoint-offset random`'s offset
  const shiftedRuns: MeshRun[] = [];
  if (shifted) for (let j = 0; j < shifted.count; j++) shiftedRuns.push(await runMesh(shifted.mesh, 1, { index: j, offset: kpointShift(shifted.seed, j) }));
  const electrons = runs[0].bands.numberOfElectrons;
  if (electrons === undefined) throw new MalaError('no electron count in the SCF data file', { file: work });
  const all = [...runs, ...shiftedRuns];
  const bottom = Math.min(...all.map((r) => Math.min(...r.bands.eigenvaluesEv.map((e) => e[0]))));
  const topComplete = Math.min(...all.map((r) => Math.min(...r.bands.eigenvaluesEv.map((e) => e[e.length - 1]))));
  const ref = runs[runs.length - 1];
  // what is compared with the densest mesh: every run, and the mean DOS of the shifted copies
  const entries: { label: string; members: MeshRun[] }[] = [...runs.slice(0, -1), ...shiftedRuns].map((r) => ({ label: r.label, members: [r] }));
  if (shiftedRuns.length > 1) entries.push({ label: `mean of ${shiftedRuns.length} × ${meshName(shifted!.mesh)} shifted`, members: shiftedRuns });
  entries.push({ label: ref.label, members: [ref] });
  const results = sigmasEv.map((sigmaEv) => {
    const first = Math.floor((bottom - 1) / spacingEv) * spacingEv;
    const count = Math.floor((topComplete - 4 * sigmaEv - first) / spacingEv) + 1;
    const energies = new Float64Array(count).map((_, i) => first + i * spacingEv);
    const dos = entries.map((en) => {
      const d = new Float64Array(count);
      for (const r of en.members) broadenedDos(r.bands, energies, sigmaEv).forEach((x, i) => (d[i] += x / en.members.length));
      return d;
    });
    const last = dos.length - 1;
    const perTemperature = temperaturesK.map((T) => {
      const kT = kBoltzmannEvPerK * T;
      const obs = dos.map((d) => dosObservables(d, energies, kT, electrons));
      // eigenvalue band energy of an entry: the mean over its runs
      const eig = entries.map((en) => en.members.reduce((sum, r) => sum + eigenvalueBandEnergy(r.bands, eigenvalueFermiEv(r.bands, kT, electrons), kT).bandEnergyEv, 0) / en.members.length);
      return {
        temperatureK: T,
        entries: entries.map((en, i) => ({
          label: en.label,
          fermiEnergyEv: +obs[i].fermiEnergyEv.toFixed(5),
          fermiVsDensestMeV: +((obs[i].fermiEnergyEv - obs[last].fermiEnergyEv) * 1000).toFixed(2),
          bandEnergyVsDensestMeVPerAtom: +(((obs[i].bandEnergyEv - obs[last].bandEnergyEv) / nat) * 1000).toFixed(3),
          bandEnergyVsEigenvaluesMeVPerAtom: +(((obs[i].bandEnergyEv - eig[i]) / nat) * 1000).toFixed(3),
          eigenvalueBandEnergyVsDensestMeVPerAtom: +(((eig[i] - eig[last]) / nat) * 1000).toFixed(3),
        })),
      };
    });
    return {
      sigmaEv,
      energyWindowEv: [+first.toFixed(4), +energies[count - 1].toFixed(4)],
      entries: entries.map((en, i) => {
        let maxAbs = 0;
        let sq = 0;
        for (let j = 0; j < count; j++) {
          const d = (dos[i][j] - dos[last][j]) / nat;
          maxAbs = Math.max(maxAbs, Math.abs(d));
          sq += d * d;
        }
        return { label: en.label, maxAbsDosDiffPerEvPerAtom: +maxAbs.toPrecision(4), rmsDosDiffPerEvPerAtom: +Math.sqrt(sq / count).toPrecision(4) };
      }),
      dosAtFermiPerEvPerAtom: +(interp(energies, dos[last], eigenvalueFermiEv(ref.bands, kBoltzmannEvPerK * temperaturesK[0], electrons)) / nat).toFixed(4),
      perTemperature,
      dosPerEvPerAtom: { energiesEv: Array.from(energies, (e) => +e.toFixed(4)), byEntry: Object.fromEntries(entries.map((en, i) => [en.label, Array.from(dos[i], (x) => +(x / nat).toFixed(5))])) },
    };
  });
  const report = {
    what: 'k-convergence of the σ-broadened DOS (bench/al-kconvergence.ts)',
    command: `npx tsx bench/al-kconvergence.ts ${argv.join(' ')}`,
    qeInput: inputFile,
    atoms: nat,
    cellLengthsAngstrom: cellLengthsA.map((x) => +x.toFixed(4)),
    electrons,
    degaussRy,
    spacingEv,
    densestMesh: meshName(ref.mesh),
    runs: all.map(({ bands, ...r }) => ({ ...r, mesh: meshName(r.mesh), fermiEnergyQeEv: bands.fermiEnergyEv, lowestEigenvalueEv: Math.min(...bands.eigenvaluesEv.map((e) => e[0])), topBandMinimumEv: Math.min(...bands.eigenvaluesEv.map((e) => e[e.length - 1])) })),
    results,
  };
  writeFileAtomic(outFile, `${JSON.stringify(report, null, 1)}\n`);
  const lines = [`${nat} atoms, cell ${report.cellLengthsAngstrom.join(' × ')} Å; reference mesh ${report.densestMesh}; spacing ${spacingEv} eV`];
  for (const r of all) lines.push(`  ${r.label.padEnd(17)} ${r.kind.padEnd(4)} ${String(r.kpoints).padStart(5)} k  ≙ ${r.equivalentConventionalMesh.join('x')} (4.05 Å 4-atom cell)  pw.x CPU ${r.pwCpuS?.toFixed(0) ?? '?'} s`);
  lines.push('σ (eV)  k-points                          max|ΔDOS|  rms ΔDOS (states/eV/atom)   T (K): ΔE_band vs densest / vs eigenvalues (meV/atom), ΔE_F vs densest (meV)');
  for (const s of results) {
    s.entries.forEach((m, i) => {
      const t = s.perTemperature.map((p) => `${p.temperatureK.toFixed(0)}: ${p.entries[i].bandEnergyVsDensestMeVPerAtom.toFixed(2)} / ${p.entries[i].bandEnergyVsEigenvaluesMeVPerAtom.toFixed(2)}, ${p.entries[i].fermiVsDensestMeV.toFixed(1)}`).join('   ');
      lines.push(`${s.sigmaEv.toFixed(3).padEnd(7)} ${m.label.padEnd(33)} ${m.maxAbsDosDiffPerEvPerAtom.toFixed(4).padStart(9)}  ${m.rmsDosDiffPerEvPerAtom.toFixed(4).padStart(8)}   ${t}`);
    });
  }
  lines.push(`wrote ${outFile}`);
  process.stdout.write(`${lines.join('\n')}\n`);
}

function interp(x: Float64Array, y: Float64Array, at: number): number {
  for (let i = 1; i < x.length; i++) if (x[i] >= at) return y[i - 1] + ((y[i] - y[i - 1]) * (at - x[i - 1])) / (x[i] - x[i - 1]);
  return NaN;
}

main().catch((e) => {
  process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
