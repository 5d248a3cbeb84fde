/**
 * `mala-ts pw`: a drop-in for `pw.x -in scf.in > scf.out`. Reads an unchanged pw.x input
 * (structure, cutoffs, smearing, pseudo_dir and ATOMIC_SPECIES files), runs `predict` on it and
 * formats the result as pw.x 6.7 output (src/io/pw-output.ts).
 *
 * pw.x semantics kept: a relative pseudo_dir is relative to the working directory (not to the
 * input file); without pseudo_dir, $ESPRESSO_PSEUDO, else $HOME/espresso/pseudo. The total energy
 * is required (a pw.x output without its `!` line is useless to the tools that read it), so
 * missing pseudopotentials are an error here, not a warning.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MalaError } from '../errors';
import { formatPwOutput, PwOutputSpecies } from '../io/pw-output';
import { domainSummary } from '../domain/domain-check';
import { uncertaintyText } from '../results/fields';
import type { LdosModel } from '../network/model';
import type { BackendName } from '../network/backend';
import { chargedElectronCount, loadContextPseudopotentials, pseudoDirRequest } from '../qe/calculation-context';
import { valenceElectrons } from '../qe/electron-count';
import { pseudoDirCandidates } from '../qe/pseudo-dir';
import { pwOutputValues } from '../results/views';
import { parseStructure, StructureRead } from '../structure/registry';
import { bohrAngstrom } from '../structure/units';
import type { Progress } from '../util/progress';
import { packageVersion } from '../util/package-paths';
import { predict, PredictResult } from './predict';
import { pwDynamicsInput, runPwDynamics, type ForceEvaluator, type PwDynamicsInput, type PwDynamicsResult } from './pw-dynamics';
import { splitPwOutput } from '../io/pw-steps-output';
import { loadModel } from '../network/model';
import type { LoadedPseudopotentials } from '../qe/calculation-context';
import type { Atoms, Mat3, Vec3 } from '../structure/atoms';
import type { Communicator } from '../parallel/comm';
import { driveLockstep, followLockstep } from '../parallel/lockstep';
import { virialEv } from '../engine/stress';

export interface PwDropInOptions {
  /** The pw.x input text. */
  inputText: string;
  /** Its file as given on the command line; undefined when it came from standard input. */
  inputFile?: string;
  modelFile?: string;
  model?: LdosModel;
  /** Overrides the input's pseudo_dir. */
  pseudoDir?: string;
  memoryMb?: number;
  backend?: BackendName | 'auto';
  /** Network device (--device): 'auto', 'cpu', 'cuda' or 'cuda:N'. */
  device?: string;
  tmpDir?: string;
  progress?: Progress;
  warn?: (message: string) => void;
  /** pw.x resolves pseudo_dir against these (default: process.cwd(), process.env). */
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Fail instead of warning outside the model's training domain (src/domain/). */
  strictDomain?: boolean;
  /** Clock for the header and footer dates (tests). */
  now?: () => Date;
  /**
   * MPI ranks sharing each prediction (under mpirun/srun). Rank 0 runs runPwDropIn / runPwIpi and
   * alone writes; the others run followPwDropIn / followPwIpi (src/parallel/lockstep.ts).
   */
  comm?: Communicator;
}

export interface PwDropInResult {
  /** The pw.x-format output text. */
  output: string;
  result: PredictResult;
  read: StructureRead;
  /** relax / md: the steps. */
  dynamics?: PwDynamicsResult;
}

const FERMI_DIRAC = ['fermi-dirac', 'f-d', 'fd'];

/** pw.x's pseudo_dir: the first candidate of mala-ts' one rule (src/qe/pseudo-dir.ts), as pw.x uses it. */
export function pwPseudoDir(read: StructureRead, cwd: string, env: NodeJS.ProcessEnv, explicit?: string): { dir: string; from: string } {
  return pseudoDirCandidates({ ...pseudoDirRequest({ read: { file: '<standard input>', qeInput: read.qeInput } }, { pseudoDir: explicit, cwd, env }) })[0];
}

/** celldm(1..6) as pw.x prints them: from celldm(k), or A (Å) for celldm(1); empty → alat = |a1|. */
function celldmOf(sys: Record<string, unknown>): number[] | undefined {
  const c = [1, 2, 3, 4, 5, 6].map((k) => (typeof sys[`celldm(${k})`] === 'number' ? (sys[`celldm(${k})`] as number) : 0));
  if (c[0] > 0) return c;
  if (typeof sys.a === 'number' && sys.a > 0) return [sys.a / bohrAngstrom, 0, 0, 0, 0, 0];
  return undefined;
}

/** A pw.x input read and checked once, with what every prediction for it shares (model, pseudopotentials). */
export interface PwPrepared {
  read: StructureRead;
  inputLabel: string;
  calculation: 'scf' | 'relax' | 'md';
  dynamics?: PwDynamicsInput;
  /** tprnfor, or relax/md: the output has forces. */
  forces: boolean;
  /** tstress: the scf output has pw.x's stress block, and the i-PI driver sends the virial. */
  stress: boolean;
  warnings: string[];
  warn: (message: string) => void;
  pseudoDir: string;
  loaded: LoadedPseudopotentials;
  electrons?: number;
  model: LdosModel;
  occupations: string;
  smearing: string;
}

/** Read and check the input (one clear error each, before the model is read), then load the pseudopotentials and the model. */
export function preparePw(opts: Omit<PwDropInOptions, 'inputText'> & { inputText?: string; read?: StructureRead }): PwPrepared {
  const inputLabel = opts.inputFile ?? '<standard input>';
  const read = opts.read ?? parseStructure(opts.inputText ?? '', inputLabel, { format: 'qe-in' });
  const q = read.qeInput!;
  const ctl = q.namelists.control ?? {};
  const sys = q.namelists.system;
  const warnings: string[] = [];
  // relax, md and --ipi predict many structures: a warning of the same kind (numbers aside) is said once
  const said = new Set<string>();
  const warn = (m: string) => {
    const kind = m.replace(/[-+]?\d[\d.eE+-]*/g, '#');
    if (said.has(kind)) return;
    said.add(kind);
    warnings.push(m);
    opts.warn?.(m);
  };

  const calculation = typeof ctl.calculation === 'string' ? ctl.calculation.toLowerCase() : 'scf';
  // relax/md: their options are checked first (one clear error each, before any model is loaded)
  const dynamics = calculation === 'relax' || calculation === 'md' ? pwDynamicsInput(q, opts.inputText ?? '', inputLabel) : undefined;
  if (calculation !== 'scf' && !dynamics) {
    throw new MalaError(`calculation = '${calculation}' is not supported by mala-ts pw (it predicts scf energies and forces, and runs relax and md; no bands, nscf or variable-cell runs)`, {
      file: inputLabel,
      fix: "use calculation = 'scf', 'relax' or 'md', or run pw.x for this step",
    });
  }
  if (typeof sys.nspin === 'number' && sys.nspin !== 1) {
    throw new MalaError(`nspin = ${sys.nspin}: the LDOS model is not spin-polarised`, { file: inputLabel, fix: 'remove nspin (or set nspin = 1), or run pw.x' });
  }
  const occupations = typeof sys.occupations === 'string' ? sys.occupations.toLowerCase() : 'fixed';
  const smearing = typeof sys.smearing === 'string' ? sys.smearing.toLowerCase() : 'gaussian';
  if (occupations !== 'smearing') warn(`occupations = '${occupations}': the prediction uses Fermi-Dirac occupations at the model's temperature`);
  else if (!FERMI_DIRAC.includes(smearing)) warn(`smearing = '${smearing}': the prediction uses Fermi-Dirac occupations at T = degauss/k_B`);

  const cwd = opts.cwd ?? process.cwd();
  const pseudo = pwPseudoDir(read, cwd, opts.env ?? process.env, opts.pseudoDir);
  if (!fs.existsSync(pseudo.dir)) {
    throw new MalaError(`the pseudopotential folder ${pseudo.dir} (${pseudo.from}) does not exist`, {
      file: inputLabel,
      fix: 'set pseudo_dir in &CONTROL to the folder with the UPF files, or pass --pseudo-dir DIR',
    });
  }
  // read once here (the valence for tot_charge) and handed to predict, which would read them again
  const loaded = loadContextPseudopotentials({ atoms: read.atoms, read }, { pseudoDir: pseudo.dir });
  const pps = loaded.pseudopotentials;
  let electrons: number | undefined;
  const totCharge = typeof sys.tot_charge === 'number' ? sys.tot_charge : 0;
  if (totCharge !== 0) electrons = chargedElectronCount(valenceElectrons(read.atoms.symbols, pps), totCharge, inputLabel);
  if (!opts.model && !opts.modelFile) throw new MalaError('no model given', { fix: 'pass --model FILE or set MALA_TS_MODEL' });
  // loaded once: relax, md and --ipi predict many structures with it
  const model = opts.model ?? loadModel(opts.modelFile!, { backend: opts.backend, device: opts.device });
  // the stress rides on the forces' backward pass (an ensemble's: that of its mean LDOS)
  const stress = ctl.tstress === true;
  return {
    read,
    inputLabel,
    calculation: calculation as PwPrepared['calculation'],
    dynamics,
    forces: ctl.tprnfor === true || dynamics !== undefined,
    stress,
    warnings,
    warn,
    pseudoDir: pseudo.dir,
    loaded,
    electrons,
    model,
    occupations,
    smearing,
  };
}

/** The options every prediction of a pw run shares. */
export type PwPredictOptions = Pick<PwDropInOptions, 'memoryMb' | 'tmpDir' | 'progress' | 'strictDomain' | 'comm'>;

/** One prediction for the input's species and settings, at `atoms` (default: the input's). */
export function predictPw(p: PwPrepared, opts: PwPredictOptions, forces: boolean, atoms?: Atoms, extra: { stress?: boolean; smallWorkBackend?: boolean } = {}): Promise<PredictResult> {
  const { stress = false, smallWorkBackend = false } = extra;
  return predict({
    smallWorkBackend,
    comm: opts.comm,
    structureRead: atoms ? { ...p.read, atoms } : p.read,
    structureFile: p.inputLabel,
    model: p.model,
    pseudoDir: p.pseudoDir,
    pseudopotentials: p.loaded,
    requireTotalEnergy: true,
    electrons: p.electrons,
    memoryMb: opts.memoryMb,
    tmpDir: opts.tmpDir,
    progress: opts.progress,
    warn: p.warn,
    strictDomain: opts.strictDomain,
    forces,
    stress,
  });
}

/** The pw.x-format text of one prediction. */
function formatPw(p: PwPrepared, result: PredictResult, opts: PwDropInOptions, startedAt: Date, wall0: number, cpu0: NodeJS.CpuUsage, atoms = p.read.atoms): string {
  const q = p.read.qeInput!;
  const sys = q.namelists.system;
  const pps = p.loaded.pseudopotentials;
  const species: PwOutputSpecies[] = q.species.map((s) => ({ label: s.label, massU: s.massU, valence: pps[s.symbol]?.zValence }));
  const cpu = process.cpuUsage(cpu0);
  return formatPwOutput({
    atoms,
    labels: q.labels,
    species,
    ibrav: typeof sys.ibrav === 'number' ? sys.ibrav : 0,
    celldm: celldmOf(sys),
    ecutwfcRy: q.ecutwfcRy,
    ecutrhoRy: q.ecutrhoRy,
    // energies, Fermi energy, electrons, grid, model: the field table's pw rows (src/results/fields.ts)
    ...pwOutputValues(result),
    forcesEvPerA: p.forces ? result.forcesEvPerA : undefined,
    stressEvPerA3: p.stress ? result.stressEvPerA3 : undefined,
    smearing: p.occupations === 'smearing' ? p.smearing : undefined,
    degaussRy: typeof sys.degauss === 'number' ? sys.degauss : undefined,
    inputName: opts.inputFile ?? 'standard input',
    programVersion: packageVersion(),
    startedAt,
    finishedAt: opts.now?.() ?? new Date(),
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    wallSeconds: (performance.now() - wall0) / 1000,
    warnings: p.warnings,
    domainLine: result.domain ? domainSummary(result.domain) : undefined,
    uncertaintyLine: result.uncertainty ? uncertaintyText(result.uncertainty) : undefined,
  });
}

/** What relax, md and the i-PI driver call: energy, forces and the per-step lines' numbers of a structure. */
export function pwForceEvaluator(p: PwPrepared, opts: PwPredictOptions, onResult?: (r: PredictResult, atoms: Atoms) => void): ForceEvaluator {
  return async (cellAngstrom, positionsAngstrom) => {
    const atoms: Atoms = { ...p.read.atoms, cellAngstrom: cellAngstrom.map((r) => [...r]) as Mat3, positionsAngstrom: positionsAngstrom.map((r) => [...r] as Vec3) };
    let r: PredictResult;
    try {
      r = await predictPw(p, opts, true, atoms, { stress: p.stress });
    } catch (e) {
      // these positions are not the input file's: say where they came from
      if (e instanceof MalaError && /overlapping atoms/.test(e.message)) {
        throw new MalaError(`${e.message} (positions of a relax or md step, or sent by the i-PI server, not those of the input)`, {
          file: p.inputLabel,
          fix: "the model's forces moved the atoms there: check the training-domain warnings before this step, use a model validated for such structures, a shorter time step, or pw.x",
        });
      }
      throw e;
    }
    onResult?.(r, atoms);
    const virial = r.stressEvPerA3 ? virialEv(r.stressEvPerA3, atoms.cellAngstrom) : undefined;
    return { energyEv: r.totalEnergy!.totalEnergyEv, forcesEvPerA: r.forcesEvPerA!, fermiEnergyEv: r.fermiEnergyEv, termsEv: r.totalEnergy!.termsEv, virialEv: virial, stressEvPerA3: r.stressEvPerA3 };
  };
}

/**
 * Run the prediction for a pw.x input and format it as pw.x output: one scf (with forces when
 * tprnfor), or the relax / md loop (src/workflow/pw-dynamics.ts), whose steps go to `write` as
 * they are computed when it is given (the whole text is returned as well).
 */
export async function runPwDropIn(opts: PwDropInOptions & { write?: (text: string) => void }): Promise<PwDropInResult> {
  const startedAt = opts.now?.() ?? new Date();
  const wall0 = performance.now();
  const cpu0 = process.cpuUsage();
  const p = preparePw(opts);
  if (!p.dynamics) {
    // one scf of a model loaded for it: small work may run on the TypeScript network
    const result = await predictPw(p, opts, p.forces, undefined, { stress: p.stress, smallWorkBackend: !opts.model });
    return { output: formatPw(p, result, opts, startedAt, wall0, cpu0), result, read: p.read };
  }
  let first: { result: PredictResult; atoms: Atoms } | undefined;
  let last: PredictResult | undefined;
  const evaluate = pwForceEvaluator(p, opts, (r, atoms) => {
    first ??= { result: r, atoms };
    last = r;
  });
  // under MPI the optimiser or integrator runs here, on rank 0; every step's structure goes to
  // the other ranks (followPwDropIn), which predict it with us
  const lock = opts.comm && opts.comm.size > 1 ? driveLockstep(opts.comm, p.read.atoms.symbols.length, evaluate) : undefined;
  const chunks: string[] = [];
  const dyn = await runPwDynamics(p.dynamics, lock?.evaluate ?? evaluate, {
    singlePointText: () => formatPw(p, first!.result, opts, startedAt, wall0, cpu0, first!.atoms),
    footerText: () => splitPwOutput(formatPw(p, last!, opts, startedAt, wall0, cpu0)).footer,
    write: (t) => {
      chunks.push(t);
      opts.write?.(t);
    },
  });
  lock?.finish();
  if (!dyn.converged) p.warn(`relax did not converge in ${dyn.steps.length} steps (nstep): the last positions are printed`);
  return { output: chunks.join(''), result: last!, read: p.read, dynamics: dyn };
}

/**
 * An MPI rank other than 0 in `mala-ts pw`: the same input checks and loads, then its share of
 * every prediction rank 0 makes (one scf, or each relax/md step rank 0 sends); it writes nothing.
 * Resolves with the number of predictions it took part in.
 */
export async function followPwDropIn(opts: PwDropInOptions & { comm: Communicator }): Promise<number> {
  const p = preparePw(opts);
  if (!p.dynamics) {
    await predictPw(p, opts, p.forces, undefined, { stress: p.stress, smallWorkBackend: !opts.model }); // as rank 0's call
    return 1;
  }
  return followLockstep(opts.comm, p.read.atoms.symbols.length, pwForceEvaluator(p, opts));
}
