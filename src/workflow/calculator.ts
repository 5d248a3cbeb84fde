/**
 * An in-process calculator for TypeScript users, after ASE's calculator protocol: atoms in,
 * energy and observables out, results cached until the atoms change.
 *
 *   const calc = new MalaCalculator({ model: 'Be_model.zip', pseudoDir: 'pseudo/' });
 *   const e = await calc.getPotentialEnergy(atoms);   // eV, runs predict once
 *   const ef = await calc.getFermiLevel(atoms);       // eV, from the cache
 *
 * As in ASE, the calculator keeps a copy of the atoms it computed (cell, positions, symbols,
 * pbc, compared exactly); moving an atom in place or passing different atoms recomputes.
 * Methods are async because predict is. Concurrent calls for the same atoms share one run;
 * runs for different atoms are serialised (one model, bounded memory).
 * "energy" is MALA's total energy, a free energy F = E − TS (as MALA's own ASE calculator).
 */
import { MalaError } from '../errors';
import type { LdosModel } from '../network/model';
import { loadModel } from '../network/model';
import type { Atoms, Mat3, Vec3 } from '../structure/atoms';
import { validateAtoms } from '../structure/atoms';
import { implementedProperties, type PropertyName } from '../results/fields';
import { calculatorProperty } from '../results/views';
import { predict, PredictOptions, PredictResult } from './predict';

export { implementedProperties, type PropertyName } from '../results/fields';

export interface CalculatorResults {
  /** Total (free) energy, eV; absent when no pseudopotentials were available. */
  energy?: number;
  free_energy?: number;
  fermi_level?: number;
  band_energy?: number;
  entropy_contribution?: number;
  /** MALA's terms (eV): e_band, e_rho_times_v_hxc, e_hartree, e_xc, e_ewald, e_entropy. */
  energy_contributions?: Record<string, number>;
  number_of_electrons?: number;
  dos?: { energiesEv: ArrayLike<number>; dosPerEv: ArrayLike<number> };
  /** −dE/dR of `energy`, eV/Å, one row per atom; computed when asked for (getForces) or with the `forces` option. */
  forces?: number[][];
}

/** What ASE calls system_changes. */
export type AtomsChange = 'cell' | 'positions' | 'symbols' | 'pbc';

export interface MalaCalculatorOptions
  extends Omit<PredictOptions, 'structureFile' | 'atoms' | 'structureRead' | 'model' | 'modelFile' | 'outDir' | 'writeLdos' | 'descriptorsFile' | 'grid'> {
  /** A loaded model, or a mala-ts model / MALA model zip (loaded on the first calculation). */
  model: LdosModel | string;
  /** Fixed real-space grid; default QE's grid for the cutoff (option, else the model's ecutrho). */
  grid?: [number, number, number];
}

function copyAtoms(a: Atoms): Atoms {
  return {
    cellAngstrom: a.cellAngstrom.map((r) => [...r]) as Mat3,
    positionsAngstrom: a.positionsAngstrom.map((r) => [...r] as Vec3),
    symbols: [...a.symbols],
    pbc: [...a.pbc] as [boolean, boolean, boolean],
  };
}

const sameRows = (a: readonly (readonly number[])[], b: readonly (readonly number[])[]): boolean =>
  a.length === b.length && a.every((r, i) => r.length === b[i].length && r.every((x, k) => x === b[i][k]));

/** What differs between two atoms (empty: the same system), as ASE's compare_atoms. */
export function compareAtoms(a: Atoms | undefined, b: Atoms): AtomsChange[] {
  if (!a) return ['cell', 'positions', 'symbols', 'pbc'];
  const out: AtomsChange[] = [];
  if (!sameRows(a.cellAngstrom, b.cellAngstrom)) out.push('cell');
  if (!sameRows(a.positionsAngstrom, b.positionsAngstrom)) out.push('positions');
  if (a.symbols.length !== b.symbols.length || a.symbols.some((s, i) => s !== b.symbols[i])) out.push('symbols');
  if (a.pbc.some((p, i) => p !== b.pbc[i])) out.push('pbc');
  return out;
}

export class MalaCalculator {
  /** Results of the last calculation (ASE's `calc.results`), eV. */
  results: CalculatorResults = {};
  /** The whole predict result of the last calculation (timings, grid, warnings, ...). */
  prediction?: PredictResult;
  /** How many times predict has run (the cache at work). */
  calculationCount = 0;
  private readonly opts: MalaCalculatorOptions;
  private model?: LdosModel;
  private atoms?: Atoms;
  private queue: Promise<unknown> = Promise.resolve();
  private pending?: { atoms: Atoms; run: Promise<void>; forces: boolean; stress: boolean };

  constructor(opts: MalaCalculatorOptions) {
    if (!opts || (typeof opts.model !== 'string' && !opts.model)) throw new MalaError('MalaCalculator needs a model', { fix: 'pass { model: "model.zip" } or a loaded model' });
    this.opts = { ...opts };
    if (typeof opts.model !== 'string') this.model = opts.model;
  }

  /** What changed since the last calculation (all four before the first). */
  checkState(atoms: Atoms): AtomsChange[] {
    return compareAtoms(this.atoms, atoms);
  }

  /** Forget the cached results. */
  reset(): void {
    this.atoms = undefined;
    this.results = {};
    this.prediction = undefined;
  }

  /** Whether the cached results (for the cached atoms) hold what is asked. */
  private cachedHas(forces: boolean, stress = false): boolean {
    return (!forces || this.results.forces !== undefined) && (!stress || this.prediction?.stressEvPerA3 !== undefined);
  }

  /** Run predict for these atoms unless the cached results are theirs (with forces when `forces`, or the option, asks). */
  async calculate(atoms: Atoms, want: { forces?: boolean; stress?: boolean } = {}): Promise<CalculatorResults> {
    const forces = Boolean(want.forces || this.opts.forces);
    const stress = Boolean(want.stress || this.opts.stress);
    if (this.pending && compareAtoms(this.pending.atoms, atoms).length === 0 && (!forces || this.pending.forces) && (!stress || this.pending.stress)) {
      await this.pending.run;
      return this.results;
    }
    const snapshot = copyAtoms(validateAtoms(atoms));
    // serialise runs; a queued run re-checks the cache once it is its turn
    const run = this.queue.then(async () => {
      if (this.atoms && compareAtoms(this.atoms, snapshot).length === 0 && this.cachedHas(forces, stress)) return;
      this.reset();
      if (!this.model) this.model = loadModel(this.opts.model as string, { backend: this.opts.backend, device: this.opts.device });
      const { model: _m, grid, ...rest } = this.opts;
      const r = await predict({ ...rest, grid, atoms: snapshot, model: this.model, forces, stress });
      this.calculationCount++;
      this.prediction = r;
      this.atoms = snapshot;
      // the properties the field table names (src/results/fields.ts), in the order ASE users list them
      this.results = Object.fromEntries(implementedProperties.map((name) => [name, calculatorProperty(r, name)])) as CalculatorResults;
    });
    const pending = { atoms: snapshot, run, forces, stress };
    this.pending = pending;
    this.queue = run.catch(() => undefined);
    try {
      await run;
    } finally {
      if (this.pending === pending) this.pending = undefined;
    }
    return this.results;
  }

  /** One property for these atoms (the last atoms when omitted), computing if needed. */
  async getProperty<K extends PropertyName>(name: K, atoms?: Atoms): Promise<NonNullable<CalculatorResults[K]>> {
    if (!(implementedProperties as readonly string[]).includes(name)) {
      throw new MalaError(`property '${name}' is not available from MalaCalculator`, { fix: `ask for one of ${implementedProperties.join(', ')}` });
    }
    const a = atoms ?? this.atoms;
    if (!a) throw new MalaError('no atoms to calculate', { fix: 'pass the atoms to getProperty' });
    await this.calculate(a, { forces: name === 'forces' });
    const v = this.results[name];
    if (v === undefined) {
      const why = this.prediction?.warnings.find((w) => /total energy/.test(w));
      throw new MalaError(`property '${name}' could not be computed${why ? `: ${why}` : ''}`, { fix: 'pass pseudoDir with the UPF files of the structure' });
    }
    return v as NonNullable<CalculatorResults[K]>;
  }

  getPotentialEnergy(atoms?: Atoms): Promise<number> {
    return this.getProperty('energy', atoms);
  }

  getFermiLevel(atoms?: Atoms): Promise<number> {
    return this.getProperty('fermi_level', atoms);
  }

  getBandEnergy(atoms?: Atoms): Promise<number> {
    return this.getProperty('band_energy', atoms);
  }

  /** Forces on the atoms, eV/Å (one more backward pass; cached with the energy of the same run). */
  getForces(atoms?: Atoms): Promise<number[][]> {
    return this.getProperty('forces', atoms);
  }

  /** Stress (1/V)·∂E/∂ε, eV/Å³, 3×3 in ASE's sign (the forces' backward pass; cached with the energy of the same run). */
  async getStress(atoms?: Atoms): Promise<number[][]> {
    const a = atoms ?? this.atoms;
    if (!a) throw new MalaError('no atoms to calculate', { fix: 'pass the atoms to getStress' });
    await this.calculate(a, { stress: true });
    const s = this.prediction?.stressEvPerA3;
    if (!s) {
      const why = this.prediction?.warnings.find((w) => /total energy/.test(w));
      throw new MalaError(`the stress could not be computed${why ? `: ${why}` : ''}`, { fix: 'pass pseudoDir with the UPF files of the structure' });
    }
    return s.map((row) => [...row]);
  }
}
