/**
 * What a pw.x input asks of `calculation = 'relax'` and `'md'` (&CONTROL, &IONS and the
 * ATOMIC_POSITIONS flags), with pw.x 6.7's defaults and units, checked before anything is
 * computed: an option mala-ts does not implement is one MalaError naming it, never a silent
 * change of method.
 *
 * Units as pw.x reads them: etot_conv_thr Ry, forc_conv_thr Ry/Bohr, trust radii Bohr, dt in
 * Rydberg atomic time units (ħ/Ry = 4.8378e-17 s), ATOMIC_VELOCITIES in Bohr per that unit.
 */
import { MalaError } from '../errors';
import { NamelistValue, QeInput, parseFortranNumber, parseQeInputText } from '../structure/qe-input';

export type PwDynamicsCalculation = 'relax' | 'md';
export type PwPositionsUnit = 'alat' | 'bohr' | 'angstrom' | 'crystal';

export interface PwRelaxSettings {
  /** Max. |E_k − E_{k−1}| (Ry) at convergence; pw.x default 1e-4. */
  etotConvThrRy: number;
  /** Max. force component (Ry/Bohr) at convergence; pw.x default 1e-3. */
  forcConvThrRyPerBohr: number;
  /** BFGS trust radii (Bohr): pw.x defaults 0.5, 1e-3, 0.8. */
  trustRadiusIniBohr: number;
  trustRadiusMinBohr: number;
  trustRadiusMaxBohr: number;
  /** Wolfe-condition parameters, pw.x defaults 0.01 and 0.5. */
  w1: number;
  w2: number;
}

export interface PwMdSettings {
  /** Time step in Rydberg atomic units (pw.x default 20). */
  dtRyAu: number;
  /** Initial velocities (Bohr per Ry time unit) from ATOMIC_VELOCITIES, else zero as pw.x. */
  initialVelocitiesBohrPerAu?: number[][];
}

export interface PwDynamicsSettings {
  calculation: PwDynamicsCalculation;
  /** Ionic steps (= energy + force evaluations) at most; pw.x default 50. */
  nstep: number;
  /** if_pos of every atom (1 moves, 0 fixed), from the ATOMIC_POSITIONS lines; all 1 without flags. */
  ifPos: number[][];
  /** Whether any flag was written (pw.x prints them back only for atoms with a 0). */
  hasFixed: boolean;
  /** ATOMIC_POSITIONS' unit, which pw.x uses again for every printed step. */
  positionsUnit: PwPositionsUnit;
  /** Mass (u) of each atom, from ATOMIC_SPECIES. */
  massesU: number[];
  relax?: PwRelaxSettings;
  md?: PwMdSettings;
}

const RELAX_DYNAMICS = ['bfgs'];
const MD_DYNAMICS = ['verlet'];
// &IONS keys that only tune pw.x's SCF restart between steps (wavefunction/potential extrapolation,
// SCF threshold scaling): no meaning for a prediction, accepted and ignored.
const IGNORED_IONS = ['pot_extrapolation', 'wfc_extrapolation', 'upscale', 'ion_positions'];

function numberOf(v: NamelistValue | undefined, key: string, file: string, def: number, positive = true): number {
  if (v === undefined) return def;
  if (typeof v !== 'number' || !Number.isFinite(v) || (positive && !(v > 0))) {
    throw new MalaError(`${key} = ${String(v)} must be a ${positive ? 'positive ' : ''}number`, { file, fix: `set ${key} to a positive number, or remove it for pw.x's default (${def})` });
  }
  return v;
}

function unsupported(file: string, what: string, fix: string): never {
  throw new MalaError(`${what} is not supported by mala-ts pw`, { file, fix });
}

/** The dynamics settings of a pw.x input whose calculation is 'relax' or 'md'. */
export function readPwDynamicsSettings(q: QeInput, inputText: string, file: string): PwDynamicsSettings {
  const ctl = q.namelists.control ?? {};
  const ions = q.namelists.ions ?? {};
  const calc = String(ctl.calculation ?? 'scf').toLowerCase();
  if (calc !== 'relax' && calc !== 'md') throw new RangeError(`readPwDynamicsSettings: calculation '${calc}'`);
  const calculation = calc as PwDynamicsCalculation;

  const { cards } = parseQeInputText(inputText, file);
  for (const card of ['CONSTRAINTS', 'ATOMIC_FORCES']) {
    if (cards.has(card)) unsupported(file, `the ${card} card`, `remove ${card}, or run pw.x for this ${calculation}`);
  }
  if (typeof ctl.lfcp === 'boolean' && ctl.lfcp) unsupported(file, 'lfcp (fictitious charge particle)', 'remove lfcp');

  const nstep = numberOf(ctl.nstep, 'nstep', file, 50);
  if (!Number.isInteger(nstep)) throw new MalaError(`nstep = ${nstep} must be an integer`, { file, fix: 'set nstep to a whole number of ionic steps' });

  const dynamics = String(ions.ion_dynamics ?? (calculation === 'relax' ? 'bfgs' : 'verlet')).toLowerCase();
  const allowed = calculation === 'relax' ? RELAX_DYNAMICS : MD_DYNAMICS;
  if (!allowed.includes(dynamics)) {
    unsupported(file, `ion_dynamics = '${dynamics}' for calculation = '${calculation}'`, `use ion_dynamics = '${allowed[0]}' (or remove it), or run pw.x`);
  }
  if (ions.remove_rigid_rot === true) unsupported(file, 'remove_rigid_rot', 'remove remove_rigid_rot (it is for isolated molecules)');
  if (ions.refold_pos === true) unsupported(file, 'refold_pos', 'remove refold_pos (positions are printed unfolded)');
  const bfgsNdim = numberOf(ions.bfgs_ndim, 'bfgs_ndim', file, 1);
  if (bfgsNdim !== 1) unsupported(file, `bfgs_ndim = ${bfgsNdim} (GDIIS)`, 'remove bfgs_ndim (standard BFGS, pw.x\'s default)');
  const temperatureControl = String(ions.ion_temperature ?? 'not_controlled').toLowerCase().replace(/[- ]/g, '_');
  if (temperatureControl !== 'not_controlled') {
    unsupported(file, `ion_temperature = '${String(ions.ion_temperature)}' (thermostat)`, "use ion_temperature = 'not_controlled' (NVE; tempw is then ignored, as in pw.x), or run pw.x");
  }
  for (const key of Object.keys(ions)) {
    const known = ['ion_dynamics', 'remove_rigid_rot', 'refold_pos', 'bfgs_ndim', 'ion_temperature', 'tempw', 'tolp', 'delta_t', 'nraise', 'ion_velocities', 'trust_radius_ini', 'trust_radius_min', 'trust_radius_max', 'w_1', 'w_2', ...IGNORED_IONS];
    if (!known.includes(key)) unsupported(file, `&IONS ${key}`, `remove ${key} from &IONS, or run pw.x`);
  }

  // ATOMIC_POSITIONS: unit and if_pos flags (columns 5..7)
  const posCard = cards.get('ATOMIC_POSITIONS')!;
  const unit = (posCard.option || 'alat') as PwPositionsUnit;
  const nat = q.atoms.symbols.length;
  let hasFixed = false;
  const ifPos = posCard.lines.slice(0, nat).map((t) => {
    if (t.length < 7) return [1, 1, 1];
    const f = t.slice(4, 7).map((s) => parseFortranNumber(s));
    if (f.some((x) => x !== 0 && x !== 1)) {
      throw new MalaError(`ATOMIC_POSITIONS: the flags in '${t.join(' ')}' must be 0 or 1`, { file, fix: 'write if_pos as three 0/1 flags after the coordinates' });
    }
    if (f.includes(0)) hasFixed = true;
    return f as number[];
  });
  const massOf = new Map(q.species.map((s) => [s.label, s.massU]));
  const massesU = q.labels.map((l) => massOf.get(l)!);
  if (massesU.some((m) => !(m > 0))) {
    throw new MalaError('ATOMIC_SPECIES: every mass must be positive for relax or md', { file, fix: 'give each species its mass in u' });
  }

  const settings: PwDynamicsSettings = { calculation, nstep, ifPos, hasFixed, positionsUnit: unit, massesU };
  if (calculation === 'relax') {
    settings.relax = {
      etotConvThrRy: numberOf(ctl.etot_conv_thr, 'etot_conv_thr', file, 1e-4),
      forcConvThrRyPerBohr: numberOf(ctl.forc_conv_thr, 'forc_conv_thr', file, 1e-3),
      trustRadiusIniBohr: numberOf(ions.trust_radius_ini, 'trust_radius_ini', file, 0.5),
      trustRadiusMinBohr: numberOf(ions.trust_radius_min, 'trust_radius_min', file, 1e-3),
      trustRadiusMaxBohr: numberOf(ions.trust_radius_max, 'trust_radius_max', file, 0.8),
      w1: numberOf(ions.w_1, 'w_1', file, 0.01),
      w2: numberOf(ions.w_2, 'w_2', file, 0.5),
    };
  } else {
    const velocities = String(ions.ion_velocities ?? 'default').toLowerCase();
    let initialVelocitiesBohrPerAu: number[][] | undefined;
    if (velocities === 'from_input') {
      const card = cards.get('ATOMIC_VELOCITIES');
      if (!card || card.lines.length < nat) {
        throw new MalaError("ion_velocities = 'from_input' needs an ATOMIC_VELOCITIES card with one line per atom", { file, fix: 'add ATOMIC_VELOCITIES (a.u.), or remove ion_velocities' });
      }
      initialVelocitiesBohrPerAu = card.lines.slice(0, nat).map((t) => {
        const v = t.slice(1, 4).map((s) => parseFortranNumber(s));
        if (v.length < 3 || v.some((x) => x === undefined)) throw new MalaError(`ATOMIC_VELOCITIES: cannot read '${t.join(' ')}'`, { file, fix: 'write: label vx vy vz (a.u.)' });
        return v as number[];
      });
    } else if (velocities !== 'default') {
      unsupported(file, `ion_velocities = '${velocities}'`, "use ion_velocities = 'default' (zero) or 'from_input'");
    }
    settings.md = { dtRyAu: numberOf(ctl.dt, 'dt', file, 20), initialVelocitiesBohrPerAu };
  }
  return settings;
}
