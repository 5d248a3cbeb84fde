/**
 * `mala-ts test --model M --data DIR`: MALA's Tester. Per snapshot of a data folder (what
 * `mala-ts generate` writes; tester-data.ts):
 *
 *   context     the pw.x output: atoms, grid, T, electrons, pseudopotentials (src/qe, as predict);
 *   predicted   descriptors (.in.npy) → network → the observables engine (src/engine: DOS, E_F,
 *               band energy, density, total energy), as `predict --descriptors` does;
 *   target      the snapshot's LDOS (.out.npy) → the same engine, the same energy step, as
 *               `observables` does;
 *   compare     errors vs the target LDOS and vs QE's numbers (tester-report.ts).
 *
 * A folder of QE references (pw.x outputs, no .npy: tester-data.ts) is tested as predict runs:
 * descriptors from the atoms, no target, errors against QE's numbers (and forces) only.
 *
 * Every snapshot is checked (files, shapes, grids, pseudopotentials for the limits asked for)
 * before the first one is computed, so bad input fails in a second.
 */
import * as fs from 'node:fs';
import { MalaError } from '../errors';
import { voxelVolumeA3 as gridVoxelVolumeA3 } from '../grid/grid';
import { LdosModel, ensembleMembers, loadModel } from '../network/model';
import { ensembleSpread } from '../engine/ensemble';
import type { BackendName } from '../network/backend';
import { calculationContext, type CalculationContext } from '../qe/calculation-context';
import { wholeGridLayout } from '../qe/grid-layout';
import { closestDistanceAngstrom } from '../structure/atom-distances';
import { readStructure } from '../structure/registry';
import { rydbergEv } from '../structure/units';
import { serialComm } from '../parallel/comm';
import { planBlocks } from '../engine/blocks-plan';
import { descriptorFileSource, openDescriptorSource } from '../engine/descriptor-source';
import { EngineResult, EnergyStep, runObservablesEngine } from '../engine/engine';
import { qeEnergyStep } from '../engine/energy-step';
import { networkLdosSource } from '../engine/network-source';
import { npyLdosSource } from '../engine/npy-source';
import { openDomainSession } from '../domain/domain-session';
import { packageVersionOrUndefined } from '../util/package-paths';
import { Progress, silentProgress } from '../util/progress';
import { modelFileSha256 } from './model-info';
import { structureEnergyAxis } from './energy-axis';
import { dosOnCommonEnergies } from '../targets/dos-common-energies';
import { writeDosComparisonCsv } from '../io/dos-comparison-csv';
import * as path from 'node:path';
import { qeForcesReference, snapshotForceErrors, type QeForcesReference } from './tester-forces';
import { checkSnapshotShapes, findSnapshots, hasLdos, infoTemperatureK, qeReference, type SnapshotFiles } from './tester-data';
import { checkLimits, dosAndDensityErrors, energyErrors, type ErrorLimits, type SnapshotErrors, type SnapshotObservables, type TestReport } from './tester-report';

export interface TesterOptions {
  /** A mala-ts model archive or a MALA model zip — or a loaded model. */
  modelFile?: string;
  model?: LdosModel;
  dataDir: string;
  /** Snapshot names (default: every snapshot of the folder). */
  snapshots?: string[];
  /** UPF folder for the total energy (default: the pseudo_dir rule of src/qe/pseudo-dir.ts). */
  pseudoDir?: string;
  /** |error| limits; a snapshot above any of them is a failure in the report. */
  maxError?: ErrorLimits;
  backend?: BackendName | 'auto';
  device?: string;
  /** Memory budget (MB) of one snapshot's prediction (as predict's --memory). */
  memoryMb?: number;
  progress?: Progress;
  warn?: (message: string) => void;
  /** Also the forces (and stress, where QE printed one) against QE's: tester-forces.ts. */
  forces?: boolean;
  /** Also each snapshot's model and target DOS on common energies: <dosDir>/<name>.dos.csv. */
  dosDir?: string;
  /** One line per snapshot as it starts ("snapshot 2/5: Al4_298K_6"). */
  log?: (message: string) => void;
}

/** One snapshot, ready: its files and calculation context, its energy step (or why there is none). */
interface Prepared {
  files: SnapshotFiles;
  context: CalculationContext;
  energy?: EnergyStep;
  noEnergyWhy?: string;
  noEnergyFix?: string;
  qeOutput: { fermiEnergyEv?: number; totalEnergyEv?: number };
  /** --forces: QE's forces and stress of the snapshot. */
  qeForces?: QeForcesReference;
}

function prepare(files: SnapshotFiles, model: LdosModel, opts: TesterOptions): Prepared {
  const read = readStructure(files.structureFile);
  const ref = model.data.reference;
  const context = calculationContext(
    { atoms: read.atoms, source: files.structureFile, read },
    // the run's own temperature in full (the pw.x output rounds degauss to 4 decimals)
    { pseudoDir: opts.pseudoDir, temperatureK: infoTemperatureK(files) },
    { temperatureK: ref?.temperatureK, electronsPerAtom: ref?.electronsPerAtom },
  );
  const g = context.grid.grid;
  const grid = hasLdos(files) ? checkSnapshotShapes(files, { nFeatures: model.nFeatures, nEnergies: model.data.energyGrid.count, source: model.source }) : g;
  if (g[0] !== grid[0] || g[1] !== grid[1] || g[2] !== grid[2]) {
    throw new MalaError(`the grids do not match: the pw.x output's FFT grid is ${g.join('×')} (${context.grid.source}), the snapshot's descriptors and LDOS ${grid.join('×')}`, {
      file: files.structureFile,
      fix: 'use the pw.x output of the run the snapshot was made from',
    });
  }
  const { pseudopotentials, ecutrhoRy, pseudoProblem } = context;
  const energy = pseudopotentials && ecutrhoRy !== undefined ? qeEnergyStep({ atoms: read.atoms, grid: g, ecutrhoRy, pseudopotentials }) : undefined;
  const noEnergyWhy = energy ? undefined : pseudoProblem ? pseudoProblem.message : 'no density cutoff (ecutrho) in the pw.x output';
  const noEnergyFix = energy ? undefined : pseudoProblem?.fix ?? 'use the complete pw.x output of the snapshot';
  const total = read.qeOutput?.energiesRy.total;
  const qeForces = opts.forces ? qeForcesReference(fs.readFileSync(files.structureFile, 'utf8'), files.structureFile) : undefined;
  if (qeForces && !energy) throw new MalaError(`--forces: the total energy of ${files.name}, whose derivative the forces are, cannot be computed: ${noEnergyWhy}`, { file: files.structureFile, fix: noEnergyFix });
  return { files, context, energy, noEnergyWhy, noEnergyFix, qeOutput: { fermiEnergyEv: read.qeOutput?.fermiEnergyEv, totalEnergyEv: total === undefined ? undefined : total * rydbergEv }, qeForces };
}

const observablesOf = (r: EngineResult): SnapshotObservables => ({
  fermiEnergyEv: r.observables.fermiEnergyEv,
  bandEnergyEv: r.observables.bandEnergyEv,
  totalEnergyEv: r.observables.totalEnergy?.totalEnergyEv,
  termsEv: r.observables.totalEnergy?.termsEv,
});

async function testSnapshot(p: Prepared, model: LdosModel, opts: TesterOptions, progress: Progress): Promise<SnapshotErrors> {
  const t0 = performance.now();
  const warnings: string[] = [];
  const warn = (m: string) => {
    // the forces' predict run says the domain's and the validation's warnings again: once is enough
    if (warnings.includes(m)) return;
    warnings.push(m);
    opts.warn?.(`${p.files.name}: ${m}`);
  };
  if (p.noEnergyWhy) warn(`total energy skipped: ${p.noEnergyWhy} (${p.noEnergyFix})`);
  const { context: c } = p;
  const atoms = c.atoms;
  const grid = c.grid.grid;
  const energyCount = model.data.energyGrid.count;
  const layout = wholeGridLayout(grid);
  // the network's energies for this structure (the model's grid shifted by its energy reference,
  // as predict has them); the snapshot's LDOS file sits on the model's grid as generate wrote it
  const axis = structureEnergyAxis(model.data, atoms);
  const common = {
    temperatureK: c.temperatureK,
    electrons: c.electrons,
    voxelVolumeA3: gridVoxelVolumeA3(atoms.cellAngstrom, grid),
    gridShape: [...grid],
    layout,
    comm: serialComm,
    energy: p.energy,
    progress,
    structureFile: p.files.structureFile,
    fermiEnergyDftEv: p.qeOutput.fermiEnergyEv,
  };

  // the model's LDOS: predict's chain with the snapshot's descriptors (predict --descriptors)
  const plan = planBlocks({ grid, featureCount: model.nFeatures, energyCount, memoryMb: opts.memoryMb, splitRows: atoms.pbc[1], comm: serialComm, writeLdos: false, warn });
  const domain = openDomainSession({ domain: model.data.domain, descriptors: model.data.descriptors, modelSource: model.source, warn, input: { atoms, temperatureK: c.temperatureK, ecutrhoRy: c.ecutrhoRy, smearing: c.facts.smearing } }, p.files.structureFile);
  // a QE reference has no descriptors file: computed from the atoms, as predict does
  const descriptors = p.files.descriptorsFile
    ? descriptorFileSource(p.files.descriptorsFile, grid, model.nFeatures, model.source)
    : openDescriptorSource({ atoms, grid, descriptors: model.data.descriptors, nFeatures: model.nFeatures, modelSource: model.source, comm: serialComm });
  const predicted = await runObservablesEngine({
    ...common,
    energyGrid: axis.grid,
    // an ensemble as predict runs it: the members' mean LDOS, and each member's for σ
    source: networkLdosSource({ model, members: model.members(), descriptors, grid, blocks: plan.blocks, range: plan.range, energyCount, timings: {}, onDescriptors: domain.onDescriptors, atomCount: atoms.symbols.length }),
    store: plan.store,
    ldosSource: `predicted by ${model.source}`,
  });
  const domainReport = domain.finish(serialComm);

  // the snapshot's LDOS: the same engine and energy step (observables --ldos); none for a QE reference
  const ldosFile = p.files.ldosFile;
  const target = ldosFile ? await runObservablesEngine({ ...common, energyGrid: model.data.energyGrid, source: npyLdosSource(ldosFile, energyCount), ldosSource: ldosFile }) : undefined;

  const n = atoms.symbols.length;
  // the two DOS on common energies (the prediction's grid may be shifted: dos-common-energies.ts), once: for the DOS errors and for --dos-out
  const dos = target && dosOnCommonEnergies({ grid: predicted.observables.energyGrid, dosPerEv: predicted.observables.dosPerEv }, { grid: target.observables.energyGrid, dosPerEv: target.observables.dosPerEv });
  if (opts.dosDir && target && dos) {
    writeDosComparisonCsv(path.join(opts.dosDir, `${p.files.name}.dos.csv`), {
      snapshot: p.files.name,
      atomCount: n,
      temperatureK: c.temperatureK,
      fermiModelEv: predicted.observables.fermiEnergyEv,
      fermiTargetEv: target.observables.fermiEnergyEv,
      energiesEv: dos.energiesEv,
      modelPerEv: dos.predictedPerEv,
      targetPerEv: dos.targetPerEv,
    });
  }
  const pred = observablesOf(predicted);
  const tgt = target && observablesOf(target);
  const qe = qeReference(p.files, p.qeOutput);
  const spread = predicted.ensembleMembers ? ensembleSpread(predicted.ensembleMembers, ensembleMembers(model.data).map((m) => m.seed), n) : undefined;
  const forceErrs = p.qeForces
    ? await snapshotForceErrors(c.read!, p.files.structureFile, p.qeForces, model, { pseudoDir: c.pseudoDir?.dir ?? opts.pseudoDir, temperatureK: c.temperatureK, memoryMb: opts.memoryMb, warn })
    : undefined;
  return {
    name: p.files.name,
    atomCount: n,
    predicted: pred,
    target: tgt,
    qe,
    ...energyErrors(pred, tgt, qe, n),
    ...(target && dos ? dosAndDensityErrors(dos.predictedPerEv, dos.targetPerEv, predicted.densityPerA3, target.densityPerA3, n) : {}),
    ...forceErrs,
    ...(spread
      ? {
          ensembleSize: spread.size,
          sigmaBandMeVPerAtom: (spread.bandEnergySigmaEv * 1000) / n,
          sigmaTotalMeVPerAtom: spread.totalEnergySigmaEv === undefined ? undefined : (spread.totalEnergySigmaEv * 1000) / n,
          sigmaFermiMeV: spread.fermiEnergySigmaEv * 1000,
        }
      : {}),
    ...(axis.applied ? { energyReferenceShiftEv: axis.applied.shiftEv } : {}),
    closestAtomsAngstrom: closestDistanceAngstrom(atoms),
    domainScoreSigma: domainReport.score,
    inDomain: domainReport.known ? domainReport.inDomain : undefined,
    warnings,
    seconds: (performance.now() - t0) / 1000,
  };
}

/** Test a model on the snapshots of a folder; the report holds every row and the limit failures. */
export async function testModel(opts: TesterOptions): Promise<TestReport> {
  const progress = opts.progress ?? silentProgress;
  if (!opts.model && !opts.modelFile) throw new MalaError('no model given', { fix: 'pass --model with a mala-ts model or a MALA model zip' });
  const snapshots = findSnapshots(opts.dataDir, opts.snapshots);
  const model = opts.model ?? loadModel(opts.modelFile!, { backend: opts.backend, device: opts.device });
  const limits = opts.maxError ?? {};
  for (const k of ['forces-qe', 'stress-qe'] as const) {
    if (limits[k] !== undefined && !opts.forces) throw new MalaError(`--max-error ${k} needs --forces`, { fix: `add --forces, or drop ${k} from --max-error` });
  }
  // everything checked before the first snapshot is computed
  const prepared = snapshots.map((s) => prepare(s, model, opts));
  if (limits['stress-qe'] !== undefined) {
    const none = prepared.find((p) => !p.qeForces?.stressGpa);
    if (none) throw new MalaError(`--max-error stress-qe: the pw.x output of ${none.files.name} has no stress block`, { file: none.files.structureFile, fix: 'make the snapshot from a pw.x input with tstress = .true., or drop stress-qe' });
  }
  if (limits.total !== undefined || limits['total-qe'] !== undefined) {
    const none = prepared.find((p) => !p.energy);
    if (none) throw new MalaError(`--max-error total: the total energy of ${none.files.name} cannot be computed: ${none.noEnergyWhy}`, { file: none.files.structureFile, fix: none.noEnergyFix });
  }
  // limits against the target LDOS need one: a QE reference has none
  const targetKeys = (['band', 'total', 'fermi', 'dos', 'density'] as const).filter((k) => limits[k] !== undefined);
  const noLdos = prepared.find((p) => !hasLdos(p.files));
  if (targetKeys.length > 0 && noLdos) {
    throw new MalaError(`--max-error ${targetKeys.join(', ')}: snapshot ${noLdos.files.name} has no LDOS to compare with (a folder of pw.x outputs only)`, {
      file: noLdos.files.structureFile,
      fix: `limit the errors against QE instead (band-qe, total-qe, fermi-qe; forces-qe with --forces), or test on a folder mala-ts generate wrote`,
    });
  }
  if (opts.dosDir && noLdos) {
    throw new MalaError(`--dos-out writes each snapshot's model DOS beside its target DOS, and snapshot ${noLdos.files.name} has no LDOS (a folder of pw.x outputs only)`, { file: noLdos.files.structureFile, fix: 'drop --dos-out, or test on a folder mala-ts generate wrote' });
  }
  const qeKeys = (['band-qe', 'total-qe', 'fermi-qe'] as const).filter((k) => limits[k] !== undefined);
  for (const k of qeKeys) {
    for (const p of prepared) {
      const q = qeReference(p.files, p.qeOutput);
      const v = k === 'band-qe' ? q.bandEnergyEv : k === 'total-qe' ? q.totalEnergyEv : q.fermiEnergyEv;
      if (v === undefined) {
        throw new MalaError(`--max-error ${k}: snapshot ${p.files.name} has no QE ${k === 'band-qe' ? 'band energy (band_energy_dft_calculation in its info.json)' : k === 'total-qe' ? 'total energy' : 'Fermi energy'}`, {
          file: p.files.infoFile ?? p.files.structureFile,
          fix: k === 'band-qe' ? 'use snapshots made by mala-ts generate (their info.json has it), or drop band-qe from --max-error' : 'use the complete pw.x output of the snapshot',
        });
      }
    }
  }

  const rows: SnapshotErrors[] = [];
  for (const [i, p] of prepared.entries()) {
    opts.log?.(`snapshot ${i + 1}/${prepared.length}: ${p.files.name}`);
    rows.push(await testSnapshot(p, model, opts, progress));
  }
  return {
    model: model.source,
    modelSha256: modelFileSha256(model.source),
    malaTsVersion: packageVersionOrUndefined(),
    dataDir: opts.dataDir,
    rows,
    limits: opts.maxError,
    failures: opts.maxError ? checkLimits(rows, opts.maxError) : [],
  };
}
