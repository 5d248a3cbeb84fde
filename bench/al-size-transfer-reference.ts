/**
 * The QE reference for the size-transfer check: one pw.x SCF of a cell larger than the training
 * cells (the 32-atom 2×2×2 fcc Al MD frame from `mala-ts sample`), its numbers kept as a fixture.
 *
 *   npx tsx bench/al-size-transfer-reference.ts --qe-input <Al32.pw.scf.in> [--np 2] [--work DIR] --out fixtures/al-size-transfer
 *
 * Writes <out>/Al32_298K_0.pw.scf.in (the input as given), <out>/qe-reference.json (energies in eV,
 * eigenvalue band energy as MALA computes it, wall time, the command) and <out>/pw.scf.out.
 * Skips the run when qe-reference.json already belongs to the same input (use --force to redo).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic } from '../src/io/atomic-write';
import { parseQeInput } from '../src/structure/qe-input';
import { parseQeOutput } from '../src/structure/qe-output';
import { kBoltzmannEvPerK, rydbergEv } from '../src/structure/units';
import { setNamelistValue } from '../src/dft/qe-template';
import { qeCommandLine, runQe } from '../src/dft/qe-run';
import { eigenvalueBandEnergy, parseQeOutputBands } from '../src/dft/qe-xml';
import { qeOutputProblem } from '../src/dft/qe-run';
import { hashKey } from '../src/dft/stamps';
import { resolvePseudoDir } from '../src/workflow/generate';
import { arg, helpIfAsked } from './help';

helpIfAsked(__filename);

async function main(): Promise<void> {
  const inputFile = path.resolve(arg('qe-input'));
  const out = path.resolve(arg('out'));
  const np = Number(arg('np', '2'));
  const text = fs.readFileSync(inputFile, 'utf8');
  const key = hashKey('al32-ref-v1', text);
  const refFile = path.join(out, 'qe-reference.json');
  if (!process.argv.includes('--force') && fs.existsSync(refFile) && JSON.parse(fs.readFileSync(refFile, 'utf8')).inputHash === key) {
    console.log(`${refFile} is up to date (same input); --force reruns QE`);
    return;
  }
  const input = parseQeInput(text, inputFile);
  const work = path.resolve(arg('work', path.join('.cache', 'al-size-transfer-ref')));
  let run = setNamelistValue(text, 'control', 'outdir', path.join(work, 'tmp'));
  run = setNamelistValue(run, 'control', 'pseudo_dir', resolvePseudoDir(input, inputFile));
  run = setNamelistValue(run, 'control', 'disk_io', 'none'); // energies only: no wavefunctions to write
  const argv = qeCommandLine({ program: 'pw.x', inputFile: 'pw.scf.in', np, pools: np });
  // resume: a finished run of exactly this input in the work dir is used as it is
  const prevIn = path.join(work, 'pw.scf.in');
  const prevOut = path.join(work, 'pw.scf.out');
  const prevRun = path.join(work, 'run.json');
  let r: { output: string; wallSeconds: number };
  if (fs.existsSync(prevIn) && fs.readFileSync(prevIn, 'utf8') === run && fs.existsSync(prevOut) && !qeOutputProblem('pw.x', fs.readFileSync(prevOut, 'utf8')) && fs.existsSync(prevRun)) {
    console.log(`reusing the finished run in ${work}`);
    r = { output: fs.readFileSync(prevOut, 'utf8'), wallSeconds: JSON.parse(fs.readFileSync(prevRun, 'utf8')).wallSeconds };
  } else {
    fs.rmSync(work, { recursive: true, force: true });
    fs.mkdirSync(work, { recursive: true });
    writeFileAtomic(prevIn, run);
    console.log(`running ${argv.join(' ')} in ${work} (a few minutes on 2 cores)`);
    let iter = 0;
    r = await runQe({ program: 'pw.x', inputFile: 'pw.scf.in', outputFile: 'pw.scf.out', cwd: work, np, pools: np, onLine: (l) => /^\s*iteration #/.test(l) && process.stderr.write(`  SCF iteration ${++iter}\n`) });
    writeFileAtomic(prevRun, JSON.stringify({ wallSeconds: r.wallSeconds }));
  }
  // disk_io = 'none' writes no XML: eigenvalues and weights as printed (verbosity 'high'), as MALA reads them
  const bands = parseQeOutputBands(r.output, prevOut);
  const qo = parseQeOutput(r.output, prevOut);
  const degaussRy = input.namelists.system.degauss as number;
  const temperatureK = (degaussRy * rydbergEv) / kBoltzmannEvPerK;
  const ef = bands.fermiEnergyEv!; // printed, 4 decimals
  const { bandEnergyEv, electrons } = eigenvalueBandEnergy(bands, ef, kBoltzmannEvPerK * temperatureK);
  const nat = input.atoms.symbols.length;
  const wall = /PWSCF\s*:.*CPU\s+(.*?)\s*WALL/.exec(r.output)?.[1]?.trim();
  const ref = {
    description: 'QE 6.7 pw.x SCF of a 32-atom fcc Al MD frame (2x2x2 conventional cells, EAM MD at 298 K): size-transfer reference for models/al-fcc-298K',
    command: `npx tsx bench/al-size-transfer-reference.ts --qe-input ${path.relative(process.cwd(), inputFile)} --np ${np} --out ${path.relative(process.cwd(), out)}   (pw.x run: ${argv.join(' ')})`,
    inputHash: key,
    input: path.basename(inputFile),
    atoms: nat,
    fftGrid: qo.fftGrid,
    kpointsIrreducible: bands.kWeights.length,
    nbnd: bands.nbnd,
    temperatureK,
    numberOfElectrons: bands.numberOfElectrons,
    numberOfElectronsFromEigenvalues: electrons,
    fermiEnergyEv: ef,
    bandEnergyEv,
    totalEnergyEv: (qo.energiesRy.total ?? NaN) * rydbergEv,
    entropyContributionEv: (qo.energiesRy.smearingContribution ?? NaN) * rydbergEv,
    hartreeEv: (qo.energiesRy.hartree ?? NaN) * rydbergEv,
    xcEv: (qo.energiesRy.xc ?? NaN) * rydbergEv,
    ewaldEv: (qo.energiesRy.ewald ?? NaN) * rydbergEv,
    converged: qo.converged,
    wallSeconds: r.wallSeconds,
    pwscfReportedWall: wall,
    mpiRanks: np,
    pools: np,
    machine: `${require('node:os').cpus().length} cores, ${require('node:os').cpus()[0]?.model ?? ''}`.trim(),
    date: new Date().toISOString(),
  };
  fs.mkdirSync(out, { recursive: true });
  fs.copyFileSync(inputFile, path.join(out, path.basename(inputFile)));
  writeFileAtomic(path.join(out, 'pw.scf.out'), r.output);
  writeFileAtomic(refFile, `${JSON.stringify(ref, null, 1)}\n`);
  console.log(`QE: band energy ${bandEnergyEv.toFixed(6)} eV, total energy ${ref.totalEnergyEv.toFixed(6)} eV, E_F ${ef.toFixed(4)} eV, wall ${r.wallSeconds.toFixed(1)} s → ${refFile}`);
  fs.rmSync(work, { recursive: true, force: true });
}

main().catch((e) => {
  console.error(e?.describe ? e.describe() : e);
  process.exit(1);
});
