/**
 * The observables engine: one run over an LDOS source, the same for predict (the network's LDOS,
 * one rank or many) and for `observables` (an LDOS file):
 *
 *   DOS pass     Σ_r LDOS(r, ε) per energy, float64, summed over the communicator's ranks; a
 *                computed LDOS is kept meanwhile in the spill store (ldos-store.ts);
 *   Fermi level  self-consistent for the electron count (or given), band energy, −TS;
 *   density pass n(r) at E_F (from the store, or the file read again); min, max and ∫n dV over
 *                all ranks; the density moved to the grid layout of the energy terms;
 *   energy step  the total energy from the density (energy-step.ts: src/qe's totalEnergy on the
 *                layout: the whole grid serially, FFTW-MPI slabs under MPI), when asked for;
 *   ensemble     a source with members (an ensemble's mean LDOS): each member's DOS is summed in
 *                the same DOS pass, its LDOS kept (memberStores), then per member E_F, band
 *                energy, −TS, its density and total energy (ensemble.ts), for their spread;
 *   forces       with `forces`: the energy step's ∂E/∂n and explicit (Ewald, core) forces, then
 *                the LDOS cotangent (forces.ts) and the source's backward pass over its points;
 *                for an ensemble, those of the printed energy (the mean LDOS's): the cotangent of
 *                the mean's kept LDOS, back-propagated through every member (network-source.ts).
 *
 * Every rank of `comm` must run the engine together (the collectives are in the same order).
 */
import { Communicator, serialComm } from '../parallel/comm';
import type { GridLayout } from '../qe/grid-layout';
import { kTEv } from '../structure/units';
import { DensityAccumulator } from '../targets/density';
import { DosAccumulator, dosObservables } from '../targets/dos';
import { EnergyGrid, energiesEv as gridEnergies } from '../targets/energy-grid';
import { Progress, silentProgress } from '../util/progress';
import type { LdosCotangent, LdosSink, LdosSource } from './ldos-source';
import { LdosStore, LdosStorePlan, openLdosStore } from './ldos-store';
import { addTiming, EnsembleMemberObservables, ObservablesResult, TotalEnergyResult } from './types';
import { memberObservables } from './ensemble';
import { checkForcesPossible, ldosEnergyCotangent, ldosForces } from './forces';

export interface EnergyStepInput {
  /** The density on `layout` (this rank's slab in grid order), or in the source's point order without a layout. */
  densityPerA3: Float64Array;
  layout?: GridLayout;
  fermiEnergyEv: number;
  bandEnergyEv: number;
  entropyContributionEv: number;
  /** Also return ∂E/∂n and the explicit forces (for `forces`). */
  gradient?: boolean;
  /** With `gradient`, also ∂E/∂ε at fixed density values (for `stress`). */
  strain?: boolean;
}

export interface EnergyStepResult {
  totalEnergy: TotalEnergyResult;
  /** With `gradient`: ∂E/∂n_i (eV·Å³) on the layout, and the forces at fixed density (Ewald, core charge), eV/Å, 3 per atom. */
  gradient?: { densityGradient: Float64Array; explicitForcesEvPerA: Float64Array; strainDerivativeEv?: Float64Array };
  /** G-vectors in the ecutrho sphere and the XC functional (src/qe's energy terms). */
  gVectorCount?: number;
  xcFunctional?: string;
}

/** The total energy from the density and the DOS terms (energy-step.ts has src/qe's). */
export type EnergyStep = (inp: EnergyStepInput) => EnergyStepResult | Promise<EnergyStepResult>;

export interface EngineOptions {
  /** The LDOS; the engine closes it when it no longer needs it (a computed one right after the DOS pass). */
  source: LdosSource;
  energyGrid: EnergyGrid;
  temperatureK: number;
  electrons: number;
  /** Use this Fermi energy instead of the self-consistent one (eV). */
  fermiEnergyEv?: number;
  voxelVolumeA3: number;
  /** The whole grid (all ranks), as the result reports it. */
  gridShape: number[];
  /** Where the density goes for the energy step and the writers; none: the source's point order. */
  layout?: GridLayout;
  /** Ranks sharing the source's points (default: one process). */
  comm?: Communicator;
  /** Where a computed LDOS waits for the density pass (default: memory). */
  store?: LdosStorePlan;
  /** Where each ensemble member's LDOS waits for its density (one plan per member; default memory). */
  memberStores?: LdosStorePlan[];
  energy?: EnergyStep;
  /** Also compute the forces −∂E/∂R (needs `energy` and a source with a backward pass). */
  forces?: boolean;
  /** Also compute ∂E/∂ε (the stress; implies the forces' backward pass, and gives the forces too). */
  stress?: boolean;
  /**
   * Also return the energy's LDOS cotangent ∂E/∂L (needs `energy`; no backward pass through the
   * source, so a file's LDOS or stored descriptors do): fine-tuning on energies (src/workflow/finetune.ts).
   */
  ldosCotangent?: boolean;
  progress?: Progress;
  /** Fields the result carries through: the LDOS as reported, the structure, its DFT Fermi energy. */
  ldosSource: string;
  structureFile?: string;
  fermiEnergyDftEv?: number;
  /** The result's warnings and timings (the caller's records; the engine's stage times are in `stageTimesS`). */
  warnings?: string[];
  timings?: Record<string, number>;
}

export interface EngineResult {
  observables: ObservablesResult;
  /** n(r) in 1/Å³ on `layout` (this rank's slab, grid order), else in the source's point order. */
  densityPerA3: Float64Array;
  layout?: GridLayout;
  /** Where a computed LDOS waited between the passes. */
  ldosStorage?: 'memory' | 'disk';
  gVectorCount?: number;
  xcFunctional?: string;
  /** dos_s (accumulation; the whole pass for a file), fermi_s, density_s, total_energy_s (with an energy step), forces_s. */
  stageTimesS: Record<string, number>;
  /** With `forces`: −dE/dR_I of the printed total energy, eV/Å, 3 per atom (the same on every rank). */
  forcesEvPerA?: Float64Array;
  /**
   * With `stress`: ∂E/∂ε_ab of the printed total energy for a strain r → r·(I + ε) of cell, atoms
   * and grid (fractional coordinates fixed), eV, 9 values row-major (the same on every rank);
   * the stress is this over the volume (stress.ts).
   */
  strainDerivativeEv?: Float64Array;
  /** With an ensemble source: each member's own observables (the result's are the mean LDOS's). */
  ensembleMembers?: EnsembleMemberObservables[];
  /** With `ldosCotangent`: ∂E/∂L of the printed total energy (forces.ts), in the source's point order. */
  ldosCotangent?: LdosCotangent;
}

export async function runObservablesEngine(o: EngineOptions): Promise<EngineResult> {
  const { source, voxelVolumeA3 } = o;
  const comm = o.comm ?? serialComm;
  // the stress rides on the forces' backward pass
  const forces = o.forces || o.stress;
  // both need ∂E/∂n from the energy step and the LDOS kept after the density pass
  const needsGradient = forces || o.ldosCotangent;
  const progress = o.progress ?? silentProgress;
  const energies = gridEnergies(o.energyGrid);
  const nE = energies.length;
  const stage: Record<string, number> = {};
  let store: LdosStore | undefined;
  let storeDone = false;
  // the kept LDOS is done with after its last reader: the density pass, the cotangent, or the forces
  const finishStore = (): void => {
    store?.finish(o.store?.kind === 'disk' && o.store.keep);
    storeDone = true;
  };
  const memberCount = source.kind === 'computed' && (source.memberCount ?? 1) > 1 ? source.memberCount! : 0;
  const memberDos: DosAccumulator[] = [];
  const memberStores: LdosStore[] = [];
  try {
    if (source.energyCount !== nE) throw new Error(`LDOS source has ${source.energyCount} energies, the energy grid ${nE}`);
    if (forces) checkForcesPossible(source, o.energy);
    if (o.ldosCotangent && !o.energy) throw new Error('the LDOS cotangent needs the energy step');
    // a file's LDOS is read again for the density pass; the cotangent's moments need it kept
    if (o.ldosCotangent && source.kind !== 'computed') throw new Error('the LDOS cotangent needs a computed LDOS source');
    for (let k = 0; k < memberCount; k++) {
      memberDos.push(new DosAccumulator(nE, { source: `${source.names.dosPass} of member ${k + 1}`, clampNegative: source.clampNegative }));
      // a member's density (for its total energy) needs its LDOS after its Fermi level: kept like the mean's
      if (o.energy) memberStores.push(openLdosStore(o.memberStores?.[k] ?? { kind: 'memory' }, nE));
    }
    // DOS pass
    const dosAcc = new DosAccumulator(nE, { source: source.names.dosPass, clampNegative: source.clampNegative });
    let t0 = performance.now();
    if (source.kind === 'computed') {
      const s = (store = openLdosStore(o.store ?? { kind: 'memory' }, nE));
      const tee: LdosSink = {
        addPoints: (chunk, first) => {
          const t = performance.now();
          dosAcc.addPoints(chunk, first); // (clamps negatives in place first: the store keeps clamped values)
          s.add(chunk);
          addTiming(stage, 'dos_s', t);
        },
        addEnergySlice: () => {
          throw new Error('a computed LDOS source delivers blocks of points');
        },
        addMemberPoints: memberCount
          ? (k, chunk, first) => {
              const t = performance.now();
              memberDos[k].addPoints(chunk, first);
              memberStores[k]?.add(chunk);
              addTiming(stage, 'ensemble_s', t);
            }
          : undefined,
      };
      await source.pass(tee, progress, 'DOS');
      source.close(); // frees LAMMPS and the descriptors before the density pass
    } else {
      await source.pass(dosAcc, progress, 'DOS');
      addTiming(stage, 'dos_s', t0);
    }

    // Fermi level, band energy, −TS
    t0 = performance.now();
    comm.allreduceSum(dosAcc.sums);
    const dosPerEv = dosAcc.dos(voxelVolumeA3);
    const kT = kTEv(o.temperatureK);
    const obs = dosObservables(dosPerEv, energies, kT, o.electrons, { fermiEnergyEv: o.fermiEnergyEv, source: source.names.dos });
    addTiming(stage, 'fermi_s', t0);

    // density pass (in a function, so the source-order density is garbage once it has moved)
    t0 = performance.now();
    const d = await (async (): Promise<{ lo: number; hi: number; electrons: number; density: Float64Array }> => {
      const dens = new DensityAccumulator(source.pointCount, energies, obs.fermiEnergyEv, kT, source.names.densityPass);
      if (store) {
        store.forEach((block, first) => dens.addPoints(block, first));
        if (!needsGradient) finishStore();
      } else {
        await source.pass(dens, progress, 'density');
      }
      const local = dens.densityPerA3;
      // [min n, min (−n)]: one min-reduction gives both the minimum and the maximum.
      const range = new Float64Array([Infinity, Infinity]);
      for (let i = 0; i < local.length; i++) {
        if (local[i] < range[0]) range[0] = local[i];
        if (-local[i] < range[1]) range[1] = -local[i];
      }
      comm.allreduceMin(range);
      const electrons = comm.allreduceSum(new Float64Array([dens.numberOfElectrons(voxelVolumeA3)]))[0];
      const density = o.layout && source.toLayout ? source.toLayout(local, o.layout) : local;
      return { lo: range[0], hi: -range[1], electrons, density };
    })();
    addTiming(stage, 'density_s', t0);
    if (!forces) source.close();

    let energy: EnergyStepResult | undefined;
    if (o.energy) {
      t0 = performance.now();
      energy = await o.energy({ densityPerA3: d.density, layout: o.layout, fermiEnergyEv: obs.fermiEnergyEv, bandEnergyEv: obs.bandEnergyEv, entropyContributionEv: obs.entropyContributionEv, gradient: needsGradient, strain: o.stress });
      addTiming(stage, 'total_energy_s', t0);
    }

    // each member's own observables, after the mean's (every rank runs the same collectives)
    let ensembleMembers: EnsembleMemberObservables[] | undefined;
    if (memberCount) {
      t0 = performance.now();
      ensembleMembers = await memberObservables({ dos: memberDos, stores: memberStores, source, comm, energies, kTEv: kT, electrons: o.electrons, fermiEnergyEv: o.fermiEnergyEv, voxelVolumeA3, layout: o.layout, energy: o.energy });
      addTiming(stage, 'ensemble_s', t0);
    }

    let ldosCotangent: LdosCotangent | undefined;
    if (o.ldosCotangent) {
      if (!energy?.gradient || !store) throw new Error('LDOS cotangent: the energy step gave no gradient, or the LDOS was not kept');
      ldosCotangent = ldosEnergyCotangent({ source, store, comm, layout: o.layout, gradient: energy.gradient, dosPerEv, energiesEv: energies, kTEv: kT, fermiEnergyEv: obs.fermiEnergyEv, fixedFermi: o.fermiEnergyEv !== undefined, voxelVolumeA3 });
      if (!forces) finishStore();
    }

    let forcesEvPerA: Float64Array | undefined;
    let strainDerivativeEv: Float64Array | undefined;
    if (forces) {
      t0 = performance.now();
      if (!energy?.gradient || !store) throw new Error('forces: the energy step gave no gradient, or the LDOS was not kept');
      forcesEvPerA = await ldosForces({ source, store, comm, layout: o.layout, gradient: energy.gradient, dosPerEv, energiesEv: energies, kTEv: kT, fermiEnergyEv: obs.fermiEnergyEv, fixedFermi: o.fermiEnergyEv !== undefined, voxelVolumeA3, progress, strainDerivativeEv: o.stress ? (strainDerivativeEv = new Float64Array(9)) : undefined }, ldosCotangent);
      if (strainDerivativeEv) {
        // + the density terms' own (Hartree, XC, core, Ewald) at fixed density values
        const q = energy.gradient.strainDerivativeEv;
        if (!q) throw new Error('stress: the energy step gave no strain derivative');
        for (let k = 0; k < 9; k++) strainDerivativeEv[k] += q[k];
      }
      finishStore();
      addTiming(stage, 'forces_s', t0);
    }

    const observables: ObservablesResult = {
      fermiEnergyEv: obs.fermiEnergyEv,
      fermiEnergyIsSelfConsistent: o.fermiEnergyEv === undefined,
      bandEnergyEv: obs.bandEnergyEv,
      entropyContributionEv: obs.entropyContributionEv,
      numberOfElectrons: obs.numberOfElectrons,
      electronsRequested: o.electrons,
      densityElectrons: d.electrons,
      densityMinPerA3: d.lo,
      densityMaxPerA3: d.hi,
      temperatureK: o.temperatureK,
      energyGrid: o.energyGrid,
      energiesEv: energies,
      dosPerEv,
      gridShape: [...o.gridShape],
      pointCount: o.gridShape.reduce((a, b) => a * b, 1),
      voxelVolumeA3,
      ldosSource: o.ldosSource,
      structureFile: o.structureFile,
      fermiEnergyDftEv: o.fermiEnergyDftEv,
      totalEnergy: energy?.totalEnergy,
      warnings: o.warnings ?? [],
      outputs: {},
      timingsS: o.timings ?? {},
    };
    return { observables, densityPerA3: d.density, layout: o.layout, ldosStorage: store?.kind, gVectorCount: energy?.gVectorCount, xcFunctional: energy?.xcFunctional, stageTimesS: stage, forcesEvPerA, strainDerivativeEv, ensembleMembers, ldosCotangent };
  } finally {
    source.close();
    if (store && !storeDone) store.finish(false);
    for (const m of memberStores) m.finish(false);
  }
}
