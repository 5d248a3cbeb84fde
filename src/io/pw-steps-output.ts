/**
 * The per-step lines pw.x 6.7 prints in a 'relax' or 'md' run, so that ASE's `espresso-out`
 * reader (`read(f, index=':')`) returns every step with its positions, energy and forces, and
 * people who grep pw.x outputs find their lines.
 *
 * ASE's reader starts a configuration at "Program PWSCF" and at every "ATOMIC_POSITIONS" line, and
 * takes the `!` energy and "Forces acting on atoms" block that follow it; so each step prints its
 * energy and forces, then the move (BFGS or Verlet report), then the new ATOMIC_POSITIONS, with no
 * blank line between that header and the atoms (ASE reads exactly nat lines after it).
 *
 * Formats are pw.x's (QE 6.7 forces.f90, bfgs_module.f90, dynamics_module.f90, output_tau.f90):
 * Fortran edit descriptors noted beside each line. Coordinates are written wider than pw.x's F14.9
 * where needed (never stars) and stay whitespace-separated. Pure: text in, text out.
 */
import { evToRy, bohrAngstrom } from '../structure/units';
import { inv3, Mat3, vecMat, Vec3 } from '../structure/atoms';
import { energyLine, evPerAToRyPerBohr, fortranF, PW_FREE_ENERGY_LINES, PW_TERM_LINES, pwForcesBlock } from './pw-output';
import type { BfgsNote } from '../qe/pw-bfgs';

/** Fortran Fw.d, but wider instead of stars when the value does not fit. */
const fx = (v: number, w: number, d: number): string => v.toFixed(d).padStart(w);
/** Fortran Iw. */
const iw = (n: number, w: number): string => String(n).padStart(w);
/** Fortran ESw.d ("1.0E-04"). */
function esF(v: number, w: number, d: number): string {
  const [m, e] = v.toExponential(d).split('e');
  const exp = Number(e);
  return `${m}E${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`.padStart(w);
}
/** "5X,label,T<col>" : the label from column 6, padded so the next field starts at column `col`. */
const tab = (label: string, col: number): string => `     ${label}`.padEnd(col - 1);


/**
 * pw.x's forces block (forces.f90: header, `5X,'atom ',I4,' type ',I2,'   force = ',3F14.8`,
 * "Total force" = |F| over all atoms, Ry/Bohr). `atomTypes`: 1-based ATOMIC_SPECIES index per atom.
 * One format: pw-output.ts's block, after the blank line a step's lines start with.
 */
export function pwForcesLines(forcesEvPerA: readonly (readonly number[])[], atomTypes: readonly number[]): string[] {
  return ['', ...pwForcesBlock(forcesEvPerA, atomTypes)];
}

/** The energy lines of one step's prediction (the `!` line that ASE reads; terms when known). */
export function pwStepEnergyLines(e: { energyEv: number; fermiEnergyEv?: number; termsEv?: Record<string, number> }): string[] {
  const L: string[] = [''];
  if (e.fermiEnergyEv !== undefined) L.push(`     the Fermi energy is ${fx(e.fermiEnergyEv, 15, 8)} ev`, '');
  const r = { totalEnergyEv: e.energyEv, termsEv: e.termsEv ?? {} };
  if (e.termsEv) {
    for (const [label, ev] of PW_FREE_ENERGY_LINES) L.push(energyLine(label, ev(r)));
    L.push('', '     The total energy is F=E-TS. E is the sum of the following terms:');
    for (const [label, ev] of PW_TERM_LINES) L.push(energyLine(label, ev(r)));
  } else L.push(energyLine(PW_FREE_ENERGY_LINES[0][0], e.energyEv));
  L.push('', '     convergence has been achieved in   1 iterations');
  return L;
}

export interface PwPositionsBlock {
  unit: 'alat' | 'bohr' | 'angstrom' | 'crystal';
  /** Species label per atom, as pw.x prints atm(ityp). */
  labels: readonly string[];
  positionsAngstrom: readonly (readonly number[])[];
  cellAngstrom: Mat3;
  /** pw.x's alat (celldm(1), else |a1|), in Å: the unit of 'alat' positions. */
  alatAngstrom: number;
  /** if_pos per atom; printed after atoms with a fixed coordinate, as pw.x does. */
  ifPos?: readonly (readonly number[])[];
}

/**
 * output_tau.f90: '(/"ATOMIC_POSITIONS (unit)")', one `A3,3X,3F14.9[,1X,3I4]` line per atom, '(/)';
 * wrapped in "Begin final coordinates" / "End final coordinates" at the end of a relax.
 */
export function pwAtomicPositionsLines(p: PwPositionsBlock, final = false): string[] {
  const inv = p.unit === 'crystal' ? inv3(p.cellAngstrom) : undefined;
  const scale = p.unit === 'angstrom' ? 1 : p.unit === 'bohr' ? bohrAngstrom : p.alatAngstrom;
  const L: string[] = [];
  if (final) L.push('Begin final coordinates');
  L.push('', `ATOMIC_POSITIONS (${p.unit})`);
  p.positionsAngstrom.forEach((r, a) => {
    const v = inv ? vecMat([r[0], r[1], r[2]] as Vec3, inv) : r.map((x) => x / scale);
    const flags = p.ifPos?.[a];
    const fixed = flags && flags.some((f) => f === 0) ? ` ${flags.map((f) => iw(f, 4)).join('')}` : '';
    L.push(`${p.labels[a].padEnd(3)}   ${v.map((x) => ' ' + fx(x, 13, 10)).join('')}${fixed}`);
  });
  if (final) L.push('End final coordinates');
  L.push('', '');
  return L;
}

/** bfgs_module.f90's messages for one `bfgs` call. */
export function pwBfgsLines(notes: readonly BfgsNote[]): string[] {
  const L: string[] = [];
  for (const n of notes) {
    switch (n.kind) {
      case 'start':
        L.push('', '     BFGS Geometry Optimization');
        break;
      case 'counts':
        L.push('', `${tab('number of scf cycles', 30)}= ${iw(n.scfCycles, 3)}`, `${tab('number of bfgs steps', 30)}= ${iw(n.bfgsSteps, 3)}`, '');
        if (n.energyOldRy !== undefined) L.push(`${tab('energy   old', 30)}= ${fx(n.energyOldRy, 18, 10)} Ry`);
        L.push(`${tab('energy   new', 30)}= ${fx(n.energyNewRy, 18, 10)} Ry`, '');
        break;
      case 'rejected':
        L.push('     CASE: energy_new > energy_old', '');
        break;
      case 'accepted':
        L.push('     CASE: energy_new < energy_old', '');
        break;
      case 'trust-radius':
        L.push(`${tab('new trust radius', 30)}= ${fx(n.bohr, 18, 10)} bohr`);
        break;
      case 'damped':
        L.push('', `     WARNING: bfgs curvature condition failed, Theta=${fortranF(n.theta, 6, 3)}`);
        break;
      case 'reset':
        if (n.reason === 'trust-radius-min') L.push('', '     trust_radius < trust_radius_min', '', '     resetting bfgs history', '');
        else if (n.reason === 'uphill') L.push('     uphill step: resetting bfgs history', '');
        else if (n.reason === 'small-trust-radius') L.push('     small trust_radius: resetting bfgs history', '');
        else L.push('', '     WARNING: unexpected behaviour in update_inverse_hessian', '              resetting bfgs history', '');
        break;
    }
  }
  return L;
}

/** terminate_bfgs: converged (criteria, final energy), out of steps, or stuck (no step left to take). */
export function pwBfgsEndLines(r: { converged: boolean; stuck?: boolean; scfCycles: number; bfgsSteps: number; energyThrRy: number; forceThrRyPerBohr: number; finalEnergyEv: number }): string[] {
  if (r.stuck) return ['', '     Message from routine bfgs:', '     history already reset at previous step: stopping', '', '     bfgs did not converge: no step left to take', '', '     End of BFGS Geometry Optimization'];
  if (!r.converged) return ['', '     The maximum number of steps has been reached.', '', '     End of BFGS Geometry Optimization'];
  return [
    '',
    `     bfgs converged in ${iw(r.scfCycles, 3)} scf cycles and ${iw(r.bfgsSteps, 3)} bfgs steps`,
    `     (criteria: energy < ${esF(r.energyThrRy, 8, 1)} Ry, force < ${esF(r.forceThrRyPerBohr, 8, 1)} Ry/Bohr)`,
    '',
    '     End of BFGS Geometry Optimization',
    '',
    `     Final energy   = ${fx(evToRy(r.finalEnergyEv), 18, 10)} Ry`,
  ];
}

/** md_init: masses per species and the time step. */
export function pwMdStartLines(species: readonly { label: string; massU: number }[], dtRyAu: number, dtFs: number): string[] {
  return [
    '',
    '     Molecular Dynamics Calculation',
    '',
    ...species.map((s) => `${tab(`mass ${s.label.padEnd(2)}`, 27)} = ${fx(s.massU, 8, 2)}`),
    `${tab('Time step', 27)} = ${fx(dtRyAu, 8, 2)} a.u.,${fx(dtFs, 8, 4)} femto-seconds`,
  ];
}

/** verlet: '(/,5X,"Entering Dynamics:",T28,"iteration",T37," = ",I5,/,T28,"time",T37," = ",F8.4," pico-seconds",/)'. */
export function pwMdEnterLines(iteration: number, timePs: number): string[] {
  return ['', `${'     Entering Dynamics:'.padEnd(27)}${'iteration'.padEnd(9)} = ${iw(iteration, 5)}`, `${' '.repeat(27)}${'time'.padEnd(9)} = ${fx(timePs, 8, 4)} pico-seconds`, ''];
}

/** verlet's report after the new positions: Ekin, T, Ekin + Etot (Ry, K), and the linear momentum when every atom moves. */
export function pwMdReportLines(r: { kineticEnergyEv: number; temperatureK: number; totalEnergyEv: number; linearMomentum?: readonly number[] }): string[] {
  const L = [
    `     kinetic energy (Ekin) = ${fx(evToRy(r.kineticEnergyEv), 14, 8)} Ry`,
    `     temperature           = ${fx(r.temperatureK, 14, 8)} K `,
    `     Ekin + Etot (const)   = ${fx(evToRy(r.kineticEnergyEv + r.totalEnergyEv), 14, 8)} Ry`,
  ];
  if (r.linearMomentum) L.push('', `     Linear momentum :${r.linearMomentum.map((p) => '  ' + fx(p, 14, 10)).join('')}`);
  return L;
}

/** terminate_verlet. */
export function pwMdEndLines(): string[] {
  return ['', '     The maximum number of steps has been reached.', '', '     End of molecular dynamics calculation'];
}

/**
 * A whole single-point pw.x text (src/io/pw-output.ts) split before its closing lines ("PWSCF :"
 * timings, date, JOB DONE), so the ionic steps go between.
 */
export function splitPwOutput(text: string): { head: string; footer: string } {
  const at = text.search(/^ {5}PWSCF {8}:/m);
  if (at < 0) return { head: text, footer: '' };
  return { head: text.slice(0, at), footer: text.slice(at) };
}
