/**
 * `mala-ts generate`: one MALA training snapshot from a pw.x input.
 *
 *   pw.x SCF → the Gaussian LDOS from its wavefunctions (src/dft/ldos-from-wavefunctions.ts; or
 *              pp.x on the XML with smearing → gaussian, its cubes) → <name>.out.npy (1/(eV·Å³))
 *            → LAMMPS bispectrum on QE's FFT grid → <name>.in.npy (xyz + coefficients)
 *            → <name>.info.json (MALA keys, spec §4.7)
 *
 * Every stage runs in <out>/.work/<name>/ and ends with a stamp holding a hash of what it
 * depends on; a rerun skips finished stages, redoes changed ones and never mixes old files with
 * new ones (a stage deletes its outputs before it starts). Outputs are written atomically.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MalaError } from '../errors';
import { pseudoDirRequest } from '../qe/calculation-context';
import { pseudoDirCandidates } from '../qe/pseudo-dir';
import { writeFileAtomic } from '../io/atomic-write';
import { checkOutputs } from '../io/output-check';
import { lockOutputDir } from '../io/output-lock';
import { writeNpy } from '../io/npy';
import { readLdosCubes } from '../io/cube';
import { parseQeInput, QeInput } from '../structure/qe-input';
import { parseQeOutput } from '../structure/qe-output';
import { atomicNumber } from '../structure/elements';
import { kBoltzmannEvPerK, rydbergEv } from '../structure/units';
import { EnergyGrid, energiesEv, formatEnergyGrid } from '../targets/energy-grid';
import { GridShape, voxelAngstrom } from '../grid/grid';
import { BispectrumParameters, computeBispectrum } from '../descriptors/bispectrum';
import { malaBispectrumDefaults } from '../descriptors/mala-defaults';
import { Progress, silentProgress } from '../util/progress';
import { setNamelistValue } from '../dft/qe-template';
import { ldosFromWavefunctions, nativeLdosRefusal } from '../dft/ldos-from-wavefunctions';
import { DEFAULT_PP_LDOS_TEMPLATE, checkLdosGrid, gaussianSmearingXml, ldosCubeNames, paddedEmaxEv, ppLdosInput } from '../dft/ldos-recipe';
import { runQe } from '../dft/qe-run';
import { eigenvalueBandEnergy, highestBandMinimumEv, lowestEigenvalueEv, parseQeXmlBands, QeXmlBands } from '../dft/qe-xml';
import { clearStamp, hashKey, stageDone, writeStamp } from '../dft/stamps';

export type LdosEngineChoice = 'auto' | 'native' | 'pp.x';

export interface GenerateOptions {
  /** pw.x SCF input (the structure and DFT settings of the snapshot). */
  qeInput: string;
  energyGrid: EnergyGrid;
  outDir: string;
  /** Snapshot name (file prefix); default: input file name without extensions. */
  name?: string;
  /** pp.x degauss_ldos (Gaussian σ, eV); default 2 × spacing as MALA. */
  broadeningEv?: number;
  /** MPI ranks for pw.x and pp.x (1 = no mpirun). */
  np?: number;
  /** k-point pools for pw.x (default np). pp.x uses pools only with norm-conserving pseudopotentials (qe-notes.md §2.3). */
  pools?: number;
  /** Overrides pseudo_dir of the input. */
  pseudoDir?: string;
  /** pp.x LDOS template file (default: built in, = qe-inputs/al-fcc-298K.pp.ldos.in). */
  ppTemplate?: string;
  descriptors?: BispectrumParameters;
  /** Keep wavefunctions and cubes in the work dir. */
  keepWork?: boolean;
  /**
   * Who makes the LDOS from the SCF's wavefunctions: 'native' (one pass over the bands,
   * src/dft/ldos-from-wavefunctions.ts; pp.x's numbers), 'pp.x', or 'auto' (the default): native
   * where it makes exactly what pp.x would (norm-conserving, no spin, no symmetry, one FFT grid)
   * and no pp.x template or program was asked for, else pp.x.
   */
  ldosEngine?: LdosEngineChoice;
  pwx?: string;
  ppx?: string;
  progress?: Progress;
  log?: (msg: string) => void;
}

export interface GenerateResult {
  name: string;
  descriptorsFile: string;
  ldosFile: string;
  infoFile: string;
  qeOutputFile: string;
  /** Seconds per stage that ran now (absent: resumed from a stamp). */
  seconds: Record<string, number>;
  skipped: string[];
}

const SMEARING_FD = ['fermi-dirac', 'f-d', 'fd'];

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v.toLowerCase() : undefined;
}

/**
 * The pseudopotential folder by mala-ts' one rule (src/qe/pseudo-dir.ts): the first candidate
 * holding every ATOMIC_SPECIES file, else the first candidate (checkInputForLdos then says what is
 * missing). Absolute, since pw.x runs in the snapshot's work folder.
 */
export function resolvePseudoDir(input: QeInput, inputFile: string, override?: string): string {
  const candidates = pseudoDirCandidates(pseudoDirRequest({ read: { file: inputFile, qeInput: input } }, { pseudoDir: override }));
  const files = input.species.map((s) => s.pseudopotential).filter((f) => f);
  return (candidates.find((c) => files.every((f) => fs.existsSync(path.join(c.dir, f)))) ?? candidates[0]).dir;
}

/**
 * Check that a pw.x input can make MALA LDOS data; throws one MalaError naming the problem and the
 * fix. (What only the SCF can tell, nbnd coverage, is checked after it: `checkBandCoverage`.)
 */
export function checkInputForLdos(input: QeInput, file: string, pseudoDir: string): void {
  const c = input.namelists.control ?? {};
  const s = input.namelists.system ?? {};
  const calc = str(c.calculation) ?? 'scf';
  if (calc !== 'scf') throw new MalaError(`calculation = '${calc}': LDOS training data need a plain SCF`, { file, fix: "set calculation = 'scf' in &CONTROL" });
  if (str(s.occupations) !== 'smearing') {
    throw new MalaError(`occupations = '${str(s.occupations) ?? 'fixed (default)'}': MALA data need Fermi-Dirac smearing (the electronic temperature comes from degauss)`, { file, fix: "set occupations = 'smearing', smearing = 'fermi-dirac', degauss = <k_B T in Ry> (0.0018874 for 298 K) in &SYSTEM" });
  }
  const sm = str(s.smearing) ?? 'gaussian';
  if (!SMEARING_FD.includes(sm)) throw new MalaError(`smearing = '${sm}': MALA data need Fermi-Dirac smearing (the temperature of the Fermi function in the band energy)`, { file, fix: "set smearing = 'fermi-dirac' in &SYSTEM" });
  if (!(typeof s.degauss === 'number' && s.degauss > 0)) throw new MalaError('degauss is missing: it sets the electronic temperature', { file, fix: 'set degauss = <k_B T in Ry> in &SYSTEM (0.0018874 Ry = 298 K)' });
  if (s.nspin !== undefined && s.nspin !== 1) throw new MalaError(`nspin = ${s.nspin}: MALA's LDOS and total energy are spin-unpolarised`, { file, fix: 'remove nspin (or set nspin = 1)' });
  if (!fs.existsSync(pseudoDir)) throw new MalaError(`pseudopotential directory ${pseudoDir} does not exist`, { file, fix: 'set pseudo_dir in &CONTROL or pass --pseudo-dir (Debian: /usr/share/espresso/pseudo)' });
  for (const sp of input.species) {
    if (!sp.pseudopotential) throw new MalaError(`ATOMIC_SPECIES names no pseudopotential for ${sp.label}`, { file, fix: 'give "<label> <mass> <file>.UPF" for every species' });
    const p = path.join(pseudoDir, sp.pseudopotential);
    if (!fs.existsSync(p)) throw new MalaError(`pseudopotential ${sp.pseudopotential} for ${sp.label} is not in ${pseudoDir}`, { file, fix: 'put the file there, fix the name in ATOMIC_SPECIES, or pass --pseudo-dir' });
  }
}

/**
 * After the SCF: does the energy grid fit the bands pw.x computed? The LDOS is complete only
 * below the lowest energy of the highest band; a grid starting above the lowest band cuts
 * occupied states (refused); one starting below it but within 3σ loses only part of the
 * broadened tail below the band bottom (a warning: MALA's own Be2 grid, −5 eV with σ = 2.5 eV
 * and the band bottom at −3.3 eV, is such a grid). Returns the warnings.
 */
export function checkBandCoverage(bands: QeXmlBands, grid: EnergyGrid, broadeningEv: number, kTEv: number, file: string): string[] {
  const warnings: string[] = [];
  const e = energiesEv(grid);
  const last = e[e.length - 1];
  const top = highestBandMinimumEv(bands);
  const margin = 3 * broadeningEv;
  if (top < last + margin) {
    const perBand = (last - lowestEigenvalueEv(bands)) / bands.nbnd;
    const want = Math.ceil(bands.nbnd + (last + margin - top) / Math.max(perBand, 1e-3)) + 2;
    throw new MalaError(
      `nbnd = ${bands.nbnd} is too small for the energy grid: band ${bands.nbnd} starts at ${top.toFixed(3)} eV, but the LDOS up to ${last.toFixed(3)} eV (+3σ = ${margin.toFixed(3)} eV) needs every band below ${(last + margin).toFixed(3)} eV`,
      { file, fix: `raise nbnd in &SYSTEM (try ${want}) or end the energy grid lower` },
    );
  }
  const bottom = lowestEigenvalueEv(bands);
  if (e[0] > bottom) {
    throw new MalaError(`the energy grid starts at ${e[0]} eV, above the lowest band at ${bottom.toFixed(3)} eV: the LDOS would miss occupied states`, { file, fix: `start the grid at or below ${(bottom - margin).toFixed(2)} eV (OFFSET of --energy-grid)` });
  }
  if (e[0] > bottom - margin) {
    warnings.push(`the energy grid starts at ${e[0]} eV, within 3σ (${margin.toFixed(2)} eV) of the lowest band at ${bottom.toFixed(3)} eV: the broadened LDOS below ${e[0]} eV is not on the grid (start at or below ${(bottom - margin).toFixed(2)} eV to keep it)`);
  }
  const ef = bands.fermiEnergyEv;
  if (ef !== undefined && last < ef + Math.max(3 * broadeningEv, 15 * kTEv)) {
    throw new MalaError(`the energy grid ends at ${last} eV, too close to the Fermi energy ${ef.toFixed(3)} eV: the band energy and density need the LDOS above it`, { file, fix: `extend COUNT of --energy-grid so the grid reaches at least ${(ef + Math.max(3 * broadeningEv, 15 * kTEv)).toFixed(2)} eV` });
  }
  return warnings;
}

/**
 * The LDOS engine for this SCF and why (for the log). The stage's key leaves the engine out: both
 * make the same LDOS (to float32 rounding; pp.x's cubes hold 5 digits), so frames made with either
 * stay done.
 */
export function chooseLdosEngine(o: Pick<GenerateOptions, 'ldosEngine' | 'ppTemplate' | 'ppx'>, xml: string, normConserving: boolean, xmlFile: string): { use: 'native' | 'pp.x'; why: string } {
  const choice = o.ldosEngine ?? 'auto';
  if (choice === 'pp.x') return { use: 'pp.x', why: '--ldos-engine pp.x' };
  // a pw.x built with HDF5 writes wfcK.hdf5, which the native route does not read
  const refusal = nativeLdosRefusal(xml, normConserving) ?? (fs.existsSync(path.join(path.dirname(xmlFile), 'wfc1.dat')) ? undefined : 'wavefunctions other than wfc1.dat … (a pw.x built with HDF5?)');
  if (choice === 'native') {
    if (refusal) throw new MalaError(`the native LDOS cannot make this calculation's LDOS as pp.x would: ${refusal}`, { file: xmlFile, fix: 'use --ldos-engine pp.x (or auto)' });
    return { use: 'native', why: '--ldos-engine native' };
  }
  if (o.ppTemplate) return { use: 'pp.x', why: 'a pp.x template was given' };
  if (o.ppx && o.ppx !== 'pp.x') return { use: 'pp.x', why: `pp.x program ${o.ppx} was given` };
  if (refusal) return { use: 'pp.x', why: `the native route does not cover ${refusal}` };
  return { use: 'native', why: 'auto' };
}

/** Whether every pseudopotential is norm-conserving (pp.x pools are safe only then). */
export function allNormConserving(input: QeInput, pseudoDir: string): boolean {
  return input.species.every((sp) => {
    try {
      const head = fs.readFileSync(path.join(pseudoDir, sp.pseudopotential), 'utf8').slice(0, 20000);
      const v2 = /pseudo_type\s*=\s*"(\w+)"/i.exec(head)?.[1];
      if (v2) return v2.toUpperCase() === 'NC' || v2.toUpperCase() === 'SL';
      return /<PP_HEADER>[^\n]*\n[^\n]*\n\s*NC\b/i.test(head);
    } catch {
      return false;
    }
  });
}

function defaultName(file: string): string {
  return path.basename(file).replace(/(\.pw)?(\.scf)?\.(in|pwi)$/i, '').replace(/\.[^.]*$/, '') || 'snapshot';
}

/** MALA info.json (spec §4.7) from the pw.x output, the XML and the grid. */
export function snapshotInfo(a: {
  qeOutputText: string;
  qeOutputFile: string;
  input: QeInput;
  bands: QeXmlBands;
  grid: GridShape;
  energyGrid: EnergyGrid;
  broadeningEv: number;
  descriptors: BispectrumParameters;
}): Record<string, unknown> {
  const out = parseQeOutput(a.qeOutputText, a.qeOutputFile);
  const degaussRy = a.input.namelists.system.degauss as number;
  // the degauss QE used (the printed one has 4 decimals; MALA's 299.99 K for 298 K comes from that)
  const temperatureK = (degaussRy * rydbergEv) / kBoltzmannEvPerK;
  const ef = a.bands.fermiEnergyEv ?? out.fermiEnergyEv;
  if (ef === undefined) throw new MalaError('no Fermi energy in the SCF output', { file: a.qeOutputFile, fix: 'use smearing (metallic occupations)' });
  const { bandEnergyEv, electrons } = eigenvalueBandEnergy(a.bands, ef, kBoltzmannEvPerK * temperatureK);
  const e = out.energiesRy;
  const ev = (x: number | undefined) => (x === undefined ? undefined : x * rydbergEv);
  const atoms = a.input.atoms;
  return {
    fermi_energy_dft: ef,
    temperature: temperatureK,
    number_of_electrons_exact: a.bands.numberOfElectrons ?? out.numberOfElectrons,
    band_energy_dft_calculation: bandEnergyEv,
    total_energy_dft_calculation: ev(e.total),
    grid_dimensions: a.grid,
    electrons_per_atom: (a.bands.numberOfElectrons ?? out.numberOfElectrons ?? NaN) / atoms.symbols.length,
    number_of_electrons_from_eigenvals: electrons,
    ibrav: 0,
    ecutwfc: a.input.ecutwfcRy,
    ecutrho: a.input.ecutrhoRy,
    degauss: degaussRy,
    pseudopotentials: Object.fromEntries(a.input.species.map((s) => [s.symbol, s.pseudopotential])),
    entropy_contribution_dft_calculation: ev(e.smearingContribution),
    one_electron_contribution: ev(e.oneElectron),
    hartree_contribution: ev(e.hartree),
    xc_contribution: ev(e.xc),
    ewald_contribution: ev(e.ewald),
    voxel: { array: voxelAngstrom(atoms.cellAngstrom, a.grid) },
    atoms: { numbers: atoms.symbols.map((s) => atomicNumber(s)), positions: atoms.positionsAngstrom, cell: atoms.cellAngstrom, pbc: atoms.pbc },
    // mala-ts extras: how the LDOS and descriptors were made
    mala_ts: {
      ldos_gridoffset_ev: a.energyGrid.offsetEv,
      ldos_gridspacing_ev: a.energyGrid.spacingEv,
      ldos_gridsize: a.energyGrid.count,
      ldos_broadening_ev: a.broadeningEv,
      ldos_kernel: 'gaussian',
      descriptors: a.descriptors,
      qe_total_energy_xml_ev: a.bands.totalEnergyEv.etot,
    },
  };
}

/** Make one training snapshot; resumable (see the file comment). */
export async function generateSnapshot(o: GenerateOptions): Promise<GenerateResult> {
  // one run per snapshot (src/io/output-lock.ts): two runs of one name would mix their stages;
  // other names in the same folder (make -j) run side by side
  const lock = { release: () => undefined as void };
  try {
    return await generateSnapshotRun(o, lock);
  } finally {
    lock.release();
  }
}

async function generateSnapshotRun(o: GenerateOptions, lock: { release: () => void }): Promise<GenerateResult> {
  const progress = o.progress ?? silentProgress;
  const log = o.log ?? (() => {});
  const inputFile = path.resolve(o.qeInput);
  if (!fs.existsSync(inputFile)) throw new MalaError('QE input file not found', { file: inputFile, fix: 'pass an existing pw.x input with --qe-input' });
  const inputText = fs.readFileSync(inputFile, 'utf8');
  const input = parseQeInput(inputText, inputFile);
  const pseudoDir = resolvePseudoDir(input, inputFile, o.pseudoDir);
  checkInputForLdos(input, inputFile, pseudoDir);
  const grid = o.energyGrid;
  const broadeningEv = o.broadeningEv ?? 2 * grid.spacingEv;
  checkLdosGrid(grid, broadeningEv);
  const desc = o.descriptors ?? malaBispectrumDefaults;
  const name = o.name ?? defaultName(inputFile);
  if (!/^[\w.+-]+$/.test(name)) throw new MalaError(`snapshot name '${name}' has characters unsafe for file names`, { fix: 'pass --name with letters, digits, . _ + -' });
  const outDir = path.resolve(o.outDir);
  checkOutputs([{ path: o.outDir, kind: 'dir', flag: '--out' }]);
  const work = path.join(outDir, '.work', name);
  lock.release = lockOutputDir(work, `snapshot ${name} in --out ${o.outDir}`);
  fs.mkdirSync(work, { recursive: true });
  const np = o.np ?? 1;
  const pools = o.pools ?? np;
  const prefix = typeof input.namelists.control?.prefix === 'string' ? (input.namelists.control.prefix as string) : 'pwscf';
  const tmp = path.join(work, 'tmp');
  const xmlFile = path.join(tmp, `${prefix}.save`, 'data-file-schema.xml');
  const files = {
    descriptorsFile: path.join(outDir, `${name}.in.npy`),
    ldosFile: path.join(outDir, `${name}.out.npy`),
    infoFile: path.join(outDir, `${name}.info.json`),
    qeOutputFile: path.join(outDir, `${name}.pw.scf.out`),
  };
  const seconds: Record<string, number> = {};
  const skipped: string[] = [];

  // ---- SCF -------------------------------------------------------------------------------
  let scfText = inputText;
  // relative to pw.x's folder (work): the XML pw.x writes quotes outdir, and QE's XML reader (FoX) refused a non-ASCII one in pp.x
  scfText = setNamelistValue(scfText, 'control', 'outdir', path.relative(work, tmp));
  scfText = setNamelistValue(scfText, 'control', 'pseudo_dir', pseudoDir);
  scfText = setNamelistValue(scfText, 'control', 'prefix', prefix);
  scfText = setNamelistValue(scfText, 'control', 'verbosity', 'high');
  // pp.x reads the wavefunctions from the save dir; 'none'/'nowf' would not write them
  const dio = str(input.namelists.control?.disk_io);
  if (dio === 'none' || dio === 'nowf') scfText = setNamelistValue(scfText, 'control', 'disk_io', 'low');
  // the key ignores where files go, so moving --out keeps nothing stale but needs a rerun anyway
  const scfKey = hashKey('scf-v1', inputText, pseudoDir, o.pwx ?? 'pw.x');
  const pwOut = path.join(work, 'pw.scf.out');
  // the SCF's XML (eigenvalues) is kept beside the output: the save dir with the wavefunctions
  // is deleted after the LDOS unless --keep-work, and is needed only to (re)make the LDOS
  const scfXml = path.join(work, 'pw.scf.xml');
  const ppTemplateText = o.ppTemplate ? fs.readFileSync(o.ppTemplate, 'utf8') : DEFAULT_PP_LDOS_TEMPLATE;
  const ldosKey = hashKey('ldos-v1', scfKey, grid, broadeningEv, ppTemplateText);
  const ldosDone = stageDone(work, 'ldos', ldosKey, [files.ldosFile]);
  if (stageDone(work, 'scf', scfKey, [pwOut, scfXml, ...(ldosDone ? [] : [xmlFile])])) skipped.push('scf');
  else {
    for (const st of ['scf', 'ldos', 'descriptors', 'info']) clearStamp(work, st);
    for (const f of Object.values(files)) fs.rmSync(f, { force: true });
    fs.rmSync(tmp, { recursive: true, force: true });
    writeFileAtomic(path.join(work, 'pw.scf.in'), scfText);
    const maxIter = Number(input.namelists.electrons?.electron_maxstep ?? 100);
    progress.start(`pw.x SCF ${name}`, maxIter, 'iterations');
    log(`${name}: pw.x SCF (${np > 1 ? `mpirun -np ${np}${pools > 1 ? ` -nk ${pools}` : ''}` : 'serial'})`);
    try {
      const r = await runQe({ program: o.pwx ?? 'pw.x', inputFile: 'pw.scf.in', outputFile: 'pw.scf.out', cwd: work, np, pools, onLine: (l) => /^\s*iteration #/.test(l) && progress.tick() });
      seconds.scf = r.wallSeconds;
    } finally {
      progress.stop();
    }
    if (!fs.existsSync(xmlFile)) throw new MalaError(`pw.x finished but wrote no ${xmlFile}`, { file: pwOut, fix: 'check outdir/prefix and disk space' });
    fs.copyFileSync(xmlFile, scfXml);
    writeStamp(work, 'scf', scfKey, { seconds: seconds.scf });
  }
  const pwOutText = fs.readFileSync(pwOut, 'utf8');
  const bands = parseQeXmlBands(fs.readFileSync(scfXml, 'utf8'), scfXml);
  const degaussRy = input.namelists.system.degauss as number;
  for (const w of checkBandCoverage(bands, grid, broadeningEv, degaussRy * rydbergEv, inputFile)) log(`warning: ${w}`);
  const qeGridM = /FFT dimensions:\s*\(\s*(\d+),\s*(\d+),\s*(\d+)\)/.exec(pwOutText);
  if (!qeGridM) throw new MalaError('no "FFT dimensions" line in the pw.x output', { file: pwOut, fix: 'rerun generate (the output is incomplete)' });
  const fftGrid = [Number(qeGridM[1]), Number(qeGridM[2]), Number(qeGridM[3])] as GridShape;

  // ---- LDOS ------------------------------------------------------------------------------
  if (ldosDone && skipped.includes('scf')) skipped.push('ldos');
  else {
    clearStamp(work, 'ldos');
    clearStamp(work, 'info');
    fs.rmSync(files.ldosFile, { force: true });
    fs.rmSync(files.infoFile, { force: true });
    const ldosDir = path.join(work, 'ldos');
    fs.rmSync(ldosDir, { recursive: true, force: true });
    const saveXml = fs.readFileSync(xmlFile, 'utf8');
    const engine = chooseLdosEngine(o, saveXml, allNormConserving(input, pseudoDir), xmlFile);
    if (engine.use === 'native') {
      log(`${name}: LDOS from the wavefunctions (native, one pass; ${engine.why}), ${formatEnergyGrid(grid)}, Gaussian σ = ${broadeningEv} eV`);
      progress.start(`LDOS ${name}`, bands.kWeights.length, 'k-points');
      const t0 = Date.now();
      try {
        const { shape, ldosPerEvA3 } = ldosFromWavefunctions({ saveDir: path.dirname(xmlFile), grid, broadeningEv, xml: saveXml, onKpoint: () => progress.tick() });
        if (shape.slice(0, 3).join() !== fftGrid.join()) throw new MalaError(`the save dir's FFT grid ${shape.slice(0, 3).join('×')} is not pw.x's ${fftGrid.join('×')}`, { file: xmlFile, fix: 'rerun generate (the save dir is from another run)' });
        writeNpy(files.ldosFile, ldosPerEvA3, shape);
        seconds.ldos = (Date.now() - t0) / 1000;
        writeStamp(work, 'ldos', ldosKey, { seconds: seconds.ldos, shape, engine: 'native' });
      } finally {
        progress.stop();
      }
    } else {
      fs.mkdirSync(ldosDir, { recursive: true });
      // Gaussian kernel (MALA's LDOS) from QE 6.7: the smearing tag of the XML says 'gaussian'.
      // Kept in place: only pp.x reads it, and the edit is idempotent on reruns.
      writeFileAtomic(xmlFile, gaussianSmearingXml(saveXml, xmlFile));
      const fileout = `${name}_ldos.cube`;
      // relative to pp.x's folder: QE's XML reader (FoX) takes the path as a URI and refused an output folder with a space or non-ASCII name
      const ppText = ppLdosInput(ppTemplateText, { outdir: path.relative(ldosDir, tmp) || '.', prefix, grid, broadeningEv, fileout }, o.ppTemplate);
      writeFileAtomic(path.join(ldosDir, 'pp.ldos.in'), ppText);
      const ppPools = np > 1 && allNormConserving(input, pseudoDir) ? Math.min(np, pools) : 1;
      log(`${name}: pp.x LDOS (${engine.why}), ${formatEnergyGrid(grid)}, Gaussian σ = ${broadeningEv} eV${ppPools > 1 ? `, ${ppPools} pools` : ''}`);
      progress.start(`pp.x LDOS ${name}`, grid.count, 'energies');
      try {
        const r = await runQe({ program: o.ppx ?? 'pp.x', inputFile: 'pp.ldos.in', outputFile: 'pp.ldos.out', cwd: ldosDir, np, pools: ppPools, onLine: (l) => /^\s*Energy\s*=/.test(l) && progress.tick() });
        seconds.ldos = r.wallSeconds;
      } finally {
        progress.stop();
      }
      const expected = ldosCubeNames(grid, fileout).map((f) => path.join(ldosDir, f));
      const missing = expected.filter((f) => !fs.existsSync(f));
      const made = fs.readdirSync(ldosDir).filter((f) => f.endsWith(fileout)).length;
      if (missing.length > 0 || made !== grid.count) {
        throw new MalaError(`pp.x made ${made} LDOS cubes, expected ${grid.count} (${formatEnergyGrid(grid)}; emax given as ${paddedEmaxEv(grid)} eV)`, { file: path.join(ldosDir, 'pp.ldos.out'), fix: 'check the energy grid against the pp.x output' });
      }
      const t0 = Date.now();
      const { shape, ldosPerEvA3 } = readLdosCubes(expected, { shape: fftGrid, energiesEv: energiesEv(grid) });
      writeNpy(files.ldosFile, ldosPerEvA3, shape);
      seconds.ldosConvert = (Date.now() - t0) / 1000;
      if (!o.keepWork) fs.rmSync(ldosDir, { recursive: true, force: true });
      writeStamp(work, 'ldos', ldosKey, { seconds: seconds.ldos, shape, engine: 'pp.x' });
    }
  }

  // ---- descriptors ----------------------------------------------------------------------
  const descKey = hashKey('desc-v1', input.atoms, fftGrid, desc);
  if (stageDone(work, 'descriptors', descKey, [files.descriptorsFile])) skipped.push('descriptors');
  else {
    clearStamp(work, 'descriptors');
    fs.rmSync(files.descriptorsFile, { force: true });
    log(`${name}: bispectrum descriptors on ${fftGrid.join('×')} (twojmax ${desc.twojmax}, rcut ${desc.rcutfacAngstrom} Å)`);
    const t0 = Date.now();
    const d = computeBispectrum(input.atoms, fftGrid, desc, { xyz: true, progress });
    const nf = d.length / (fftGrid[0] * fftGrid[1] * fftGrid[2]);
    writeNpy(files.descriptorsFile, d, [...fftGrid, nf]);
    seconds.descriptors = (Date.now() - t0) / 1000;
    writeStamp(work, 'descriptors', descKey, { seconds: seconds.descriptors });
  }

  // ---- info.json + QE output copy (last: their presence with a stamp means "complete") --
  const infoKey = hashKey('info-v1', ldosKey, descKey);
  if (stageDone(work, 'info', infoKey, [files.infoFile, files.qeOutputFile])) skipped.push('info');
  else {
    const info = snapshotInfo({ qeOutputText: pwOutText, qeOutputFile: pwOut, input, bands, grid: fftGrid, energyGrid: grid, broadeningEv, descriptors: desc });
    writeFileAtomic(files.qeOutputFile, pwOutText);
    writeFileAtomic(files.infoFile, `${JSON.stringify(info, null, 1)}\n`);
    writeStamp(work, 'info', infoKey);
  }
  if (!o.keepWork) {
    // wavefunctions are the bulk (≈90 MB for Al4); a later change of the energy grid reruns the SCF
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  return { name, ...files, seconds, skipped };
}
