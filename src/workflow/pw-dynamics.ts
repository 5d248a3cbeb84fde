/**
 * `calculation = 'relax'` and `'md'` of `mala-ts pw`: the ionic loops pw.x runs, on energies and
 * forces from an evaluator (the ML prediction with forces; any function in tests), writing pw.x
 * 6.7's per-step output (src/io/pw-steps-output.ts) between the single-point header and footer
 * of src/io/pw-output.ts.
 *
 * relax: pw.x's BFGS (src/qe/pw-bfgs.ts) at fixed cell, converged when |ΔE| < etot_conv_thr and
 *   every force component < forc_conv_thr (Ry, Ry/Bohr), at most nstep evaluations.
 * md: pw.x's 'verlet' as velocity Verlet (the same trajectory as pw.x's position Verlet; the
 *   velocity of step n is the central difference pw.x prints), NVE, dt in Rydberg atomic units,
 *   initial velocities zero (or ATOMIC_VELOCITIES). As pw.x, when every atom moves the centre of
 *   mass is kept fixed (net force and initial momentum removed) and T = 2·Ekin/(k_B·(3N−3));
 *   with fixed coordinates those do not move and T = 2·Ekin/(k_B·(3N − #fixed)).
 *
 * The steps are written as they are computed (`out.write`), as pw.x does, so a long run can be
 * watched and an interrupted one keeps its steps.
 *
 * Use from pw.ts (once predict gives forces): `const dyn = pwDynamicsInput(q, inputText, file)`
 * (throws on unsupported options, before any model is read), then
 * `runPwDynamics(dyn, evaluate, { singlePointText: (first) => formatPwOutput(...first prediction...),
 * footerText: () => splitPwOutput(formatPwOutput(...final timings...)).footer, write })`.
 */
import type { Atoms, Mat3 } from '../structure/atoms';
import { norm } from '../structure/atoms';
import type { QeInput } from '../structure/qe-input';
import { bohrAngstrom, evToRy, kBoltzmannEvPerK, rydbergEv, rydbergTimeSeconds, amuToRydbergMass, ryToEv } from '../structure/units';
import { PwBfgs } from '../qe/pw-bfgs';
import { evPerAToRyPerBohr, pwStressBlock } from '../io/pw-output';
import {
  pwAtomicPositionsLines,
  pwBfgsEndLines,
  pwBfgsLines,
  pwForcesLines,
  pwMdEndLines,
  pwMdEnterLines,
  pwMdReportLines,
  pwMdStartLines,
  pwStepEnergyLines,
  splitPwOutput,
} from '../io/pw-steps-output';
import { PwDynamicsSettings, readPwDynamicsSettings } from './pw-dynamics-settings';

/** Energy and forces of one structure (the contract the force computation implements). */
export interface ForceEvaluation {
  energyEv: number;
  forcesEvPerA: number[][];
  virialEv?: number[][];
  /** Optional (tstress): the stress σ = (1/V)·∂E/∂ε, eV/Å³, ASE's sign; every step then prints pw.x's stress block. */
  stressEvPerA3?: number[][];
  /** Optional, for the per-step pw.x lines: the Fermi energy and MALA's energy terms (eV). */
  fermiEnergyEv?: number;
  termsEv?: Record<string, number>;
}
export type ForceEvaluator = (cellAngstrom: number[][], positionsAngstrom: number[][]) => Promise<ForceEvaluation>;

export interface PwDynamicsInput {
  settings: PwDynamicsSettings;
  /** The starting structure (cell fixed throughout). */
  atoms: Atoms;
  /** Species label per atom (ATOMIC_POSITIONS). */
  labels: string[];
  /** ATOMIC_SPECIES in input order (type index of the forces block, masses of the md report). */
  species: { label: string; massU: number }[];
  /** pw.x's alat in Å (celldm(1) or A, else |a1|): the unit of 'alat' positions. */
  alatAngstrom: number;
}

export interface PwDynamicsOutput {
  /**
   * The whole single-point pw.x text of the first structure (formatPwOutput of its prediction);
   * its closing lines are moved after the last step.
   */
  singlePointText(first: ForceEvaluation): string;
  /** The closing lines at the end (with the whole run's timings); default: those of singlePointText. */
  footerText?(): string;
  /** Receives the output piece by piece, in order. */
  write(text: string): void;
}

export interface PwDynamicsStep {
  positionsAngstrom: number[][];
  energyEv: number;
  /** As printed: fixed coordinates zero. */
  forcesEvPerA: number[][];
  /** tstress: the step's stress (eV/Å³, ASE's sign). */
  stressEvPerA3?: number[][];
  /** md only: Ekin at this step's positions, T, and Ekin + E (the conserved quantity). */
  kineticEnergyEv?: number;
  temperatureK?: number;
  conservedEnergyEv?: number;
}

export interface PwDynamicsResult {
  calculation: 'relax' | 'md';
  /** relax: BFGS converged within nstep (false when out of steps or stuck); md: always true after nstep steps. */
  converged: boolean;
  /** One per energy + force evaluation, in order. */
  steps: PwDynamicsStep[];
  /**
   * relax, converged or stuck: the last evaluated positions; out of steps: the next BFGS positions
   * (pw.x prints them last). md: the positions after the last step.
   */
  finalPositionsAngstrom: number[][];
}

/** pw.x's alat (Å): celldm(1) (Bohr) or A (Å), else |a1|, as src/io/pw-output.ts prints it. */
export function pwAlatAngstrom(q: QeInput): number {
  const sys = q.namelists.system;
  const c1 = sys['celldm(1)'];
  if (typeof c1 === 'number' && c1 > 0) return c1 * bohrAngstrom;
  if (typeof sys.a === 'number' && sys.a > 0) return sys.a;
  return norm(q.atoms.cellAngstrom[0]);
}

/** Everything runPwDynamics needs from a pw.x input ('relax' or 'md'); throws MalaError on unsupported options. */
export function pwDynamicsInput(q: QeInput, inputText: string, file: string): PwDynamicsInput {
  return {
    settings: readPwDynamicsSettings(q, inputText, file),
    atoms: q.atoms,
    labels: q.labels,
    species: q.species.map((s) => ({ label: s.label, massU: s.massU })),
    alatAngstrom: pwAlatAngstrom(q),
  };
}

const lines = (L: string[]): string => L.map((l) => l + '\n').join('');
const flat = (rows: readonly (readonly number[])[]): number[] => rows.flatMap((r) => [r[0], r[1], r[2]]);
const rows3 = (v: readonly number[]): number[][] => Array.from({ length: v.length / 3 }, (_, a) => [v[3 * a], v[3 * a + 1], v[3 * a + 2]]);

/** Run a pw.x 'relax' or 'md' on `evaluate`, writing pw.x's output to `out`. */
export async function runPwDynamics(input: PwDynamicsInput, evaluate: ForceEvaluator, out: PwDynamicsOutput): Promise<PwDynamicsResult> {
  const { settings, atoms } = input;
  const cell = atoms.cellAngstrom.map((r) => [...r]);
  const typeOf = new Map(input.species.map((s, i) => [s.label, i + 1]));
  const atomTypes = input.labels.map((l) => typeOf.get(l) ?? 1);
  const freeMask = flat(settings.ifPos);
  const steps: PwDynamicsStep[] = [];
  let footer = '';
  const positionsText = (posAngstrom: number[][], final = false): string =>
    lines(
      pwAtomicPositionsLines(
        { unit: settings.positionsUnit, labels: input.labels, positionsAngstrom: posAngstrom, cellAngstrom: atoms.cellAngstrom as Mat3, alatAngstrom: input.alatAngstrom, ifPos: settings.hasFixed ? settings.ifPos : undefined },
        final,
      ),
    );

  /** Evaluate, zero the fixed force components (as pw.x prints them), write the step's energy and forces. */
  const evaluateStep = async (posAngstrom: number[][]): Promise<PwDynamicsStep> => {
    const e = await evaluate(cell, posAngstrom);
    const forcesEvPerA = e.forcesEvPerA.map((f, a) => f.map((x, k) => (settings.ifPos[a][k] ? x : 0)));
    if (steps.length === 0) {
      const split = splitPwOutput(out.singlePointText(e));
      footer = split.footer;
      out.write(split.head);
      // the single-point formatter may print forces itself (tprnfor); never twice
      if (!split.head.includes('Forces acting on atoms')) out.write(lines(pwForcesLines(forcesEvPerA, atomTypes)));
    } else {
      // pw.x's order within a step: energies, forces, then (tstress) the stress
      out.write(lines([...pwStepEnergyLines(e), ...pwForcesLines(forcesEvPerA, atomTypes), ...(e.stressEvPerA3 ? pwStressBlock(e.stressEvPerA3) : [])]));
    }
    const step: PwDynamicsStep = { positionsAngstrom: posAngstrom.map((r) => [...r]), energyEv: e.energyEv, forcesEvPerA, stressEvPerA3: e.stressEvPerA3?.map((r) => [...r]) };
    steps.push(step);
    return step;
  };

  let converged = false;
  let finalPositions: number[][];
  if (settings.calculation === 'relax') {
    const r = settings.relax!;
    const bfgs = new PwBfgs(
      { energyThrRy: r.etotConvThrRy, gradThrRyPerBohr: r.forcConvThrRyPerBohr, trustRadiusIniBohr: r.trustRadiusIniBohr, trustRadiusMinBohr: r.trustRadiusMinBohr, trustRadiusMaxBohr: r.trustRadiusMaxBohr, w1: r.w1, w2: r.w2 },
      freeMask,
    );
    let posAngstrom = atoms.positionsAngstrom.map((p) => [...p]);
    for (let idone = 1; idone <= settings.nstep; idone++) {
      const s = await evaluateStep(posAngstrom);
      const posBohr = flat(posAngstrom).map((x) => x / bohrAngstrom);
      const gradRyPerBohr = flat(s.forcesEvPerA).map((f) => -evPerAToRyPerBohr(f));
      const b = bfgs.step(posBohr, evToRy(s.energyEv), gradRyPerBohr);
      out.write(lines(pwBfgsLines(b.notes)));
      const end = { scfCycles: bfgs.scfCycles, bfgsSteps: bfgs.bfgsSteps, energyThrRy: r.etotConvThrRy, forceThrRyPerBohr: r.forcConvThrRyPerBohr, finalEnergyEv: s.energyEv };
      if (b.converged) {
        converged = true;
        out.write(lines(pwBfgsEndLines({ ...end, converged: true })));
        out.write(positionsText(posAngstrom, true));
        break;
      }
      if (b.stuck) {
        out.write(lines(pwBfgsEndLines({ ...end, converged: false, stuck: true })));
        break;
      }
      posAngstrom = rows3(b.posBohr.map((x) => x * bohrAngstrom));
      if (idone === settings.nstep) out.write(lines(pwBfgsEndLines({ ...end, converged: false })));
      out.write(positionsText(posAngstrom));
    }
    finalPositions = posAngstrom;
  } else {
    const md = settings.md!;
    const dt = md.dtRyAu;
    const nat = atoms.symbols.length;
    const massRy = settings.massesU.map(amuToRydbergMass);
    const totalMass = massRy.reduce((s, m) => s + m, 0);
    const allFree = !settings.hasFixed;
    const ndof = allFree ? 3 * nat - 3 : freeMask.filter((f) => f === 1).length;
    const ryToKelvin = rydbergEv / kBoltzmannEvPerK;
    // positions in Bohr, velocities in Bohr per Ry time unit
    let x = flat(atoms.positionsAngstrom).map((v) => v / bohrAngstrom);
    let v = (md.initialVelocitiesBohrPerAu ? flat(md.initialVelocitiesBohrPerAu) : new Array<number>(3 * nat).fill(0)).map((u, i) => u * freeMask[i]);
    const removeCentreOfMass = (perAtom: number[], weighted: boolean): number[] => {
      // weighted: remove Σ m·w / M from w (a velocity); else remove Σ f / M · m from f (a force)
      if (!allFree) return perAtom;
      const c = [0, 1, 2].map((k) => massRy.reduce((s, m, a) => s + (weighted ? m : 1) * perAtom[3 * a + k], 0) / totalMass);
      return perAtom.map((w, i) => w - c[i % 3] * (weighted ? 1 : massRy[Math.floor(i / 3)]));
    };
    v = removeCentreOfMass(v, true);
    const dtFs = dt * rydbergTimeSeconds * 1e15;
    let posAngstrom = atoms.positionsAngstrom.map((p) => [...p]);
    for (let n = 1; n <= settings.nstep; n++) {
      const s = await evaluateStep(posAngstrom);
      const forceRy = removeCentreOfMass(flat(s.forcesEvPerA).map(evPerAToRyPerBohr), false);
      const acc = forceRy.map((f, i) => (f / massRy[Math.floor(i / 3)]) * freeMask[i]);
      // v of step n: the half kick from step n−1 completed with this step's forces
      if (n > 1) v = v.map((u, i) => u + 0.5 * dt * acc[i]);
      const ekinRy = v.reduce((sum, u, i) => sum + 0.5 * massRy[Math.floor(i / 3)] * u * u, 0);
      const temperatureK = ndof > 0 ? (2 * ekinRy * ryToKelvin) / ndof : 0;
      const momentum = [0, 1, 2].map((k) => massRy.reduce((sum, m, a) => sum + m * v[3 * a + k], 0));
      // kick and drift to step n+1
      v = v.map((u, i) => u + 0.5 * dt * acc[i]);
      x = x.map((p, i) => p + dt * v[i]);
      posAngstrom = rows3(x.map((p) => p * bohrAngstrom));
      if (n === 1) out.write(lines(pwMdStartLines(input.species, dt, dtFs)));
      out.write(lines(pwMdEnterLines(n, (n * dtFs) / 1000)));
      out.write(positionsText(posAngstrom));
      const kineticEnergyEv = ryToEv(ekinRy);
      out.write(lines(pwMdReportLines({ kineticEnergyEv, temperatureK, totalEnergyEv: s.energyEv, linearMomentum: allFree ? momentum : undefined })));
      Object.assign(s, { kineticEnergyEv, temperatureK, conservedEnergyEv: kineticEnergyEv + s.energyEv });
      if (n === settings.nstep) out.write(lines(pwMdEndLines()));
    }
    converged = true;
    finalPositions = posAngstrom;
  }
  out.write(out.footerText?.() ?? footer);
  return { calculation: settings.calculation, converged, steps, finalPositionsAngstrom: finalPositions };
}

