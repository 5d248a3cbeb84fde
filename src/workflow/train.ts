/**
 * `mala-ts train`: read descriptor/LDOS .npy pairs (MALA layout (nx,ny,nz,F), descriptors with
 * leading xyz columns by default), train the LDOS network, write the model archive.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { MalaError } from '../errors';
import { readNpy, readNpyShape } from '../io/npy';
import { checkOutputs } from '../io/output-check';
import { lockOutputDir } from '../io/output-lock';
import { bispectrumCount } from '../descriptors/bispectrum-parameters';
import { malaModelDescriptorDefaults } from '../descriptors/mala-defaults';
import type { DescriptorParameters, ReferenceData } from '../network/model';
import { saveModelData } from '../network/model';
import { trainNetwork, type PointData, type TrainOptions, type TrainResult } from '../network/trainer';
import type { EnergyGrid } from '../targets/energy-grid';
import { silentProgress, type Progress } from '../util/progress';
import { TrainingDomainBuilder, type StructureFacts, type TrainingDomain } from '../domain/training-domain';
import type { Atoms, Mat3, Vec3 } from '../structure/atoms';
import { symbolOf } from '../structure/elements';
import { readStructure } from '../structure/registry';
import { qeFileFacts } from '../qe/calculation-context';
import { checkTrainNumbers } from './train-option-check';
import { atomDensityPerA3, fitAtomDensityReference, referenceShiftEv, type EnergyReference } from '../targets/energy-reference';
import { shiftLdosAxis } from '../targets/ldos-shift';

export interface SnapshotFiles {
  descriptors: string;
  ldos: string;
}

export interface TrainWorkflowOptions extends Omit<TrainOptions, 'descriptors' | 'energyGrid' | 'reference'> {
  training: SnapshotFiles[];
  validation: SnapshotFiles[];
  energyGrid: EnergyGrid;
  /** Leading xyz columns in the descriptor files (MALA: 3). */
  xyzColumns?: number;
  twojmax?: number;
  rcutfac?: number;
  switchflag?: number;
  elementWeights?: number[] | null;
  /** MALA .info.json of a training snapshot: temperature, electrons, grid, kept in the model. */
  referenceInfo?: string;
  /**
   * 'atom-density': the LDOS targets on an energy axis shifted by a reference fitted to the training
   * snapshots' Fermi energies against their atom density (src/targets/energy-reference.ts); each
   * snapshot needs its <name>.info.json (atoms, fermi_energy_dft) beside the descriptors. Default none.
   */
  energyReference?: 'none' | 'atom-density';
  /**
   * Weigh each energy's squared LDOS error in the loss by 1 + ((E_F − E)/scale)² below the training
   * snapshots' mean Fermi level (on the network's axis), 1 above; scale in eV. The band energy
   * counts a DOS error by its distance below E_F (bench/band-error-budget.ts), so the deep band
   * weighs most. Needs each snapshot's info.json (its Fermi energy). Off when absent.
   */
  energyWeightingEv?: number;
  out: string;
}

/** Descriptors (xyz dropped) and LDOS of several snapshots, concatenated point-wise. */
/** The nFeatures coefficients of n points stored with `stride` values each, the first `xyzColumns` dropped. */
function coefficientsOf(data: ArrayLike<number>, n: number, stride: number, xyzColumns: number, nFeatures: number): Float32Array {
  const x = new Float32Array(n * nFeatures);
  for (let p = 0; p < n; p++) for (let k = 0; k < nFeatures; k++) x[p * nFeatures + k] = data[p * stride + xyzColumns + k];
  return x;
}

function firstNonFinite(data: ArrayLike<number>, perPoint: number, what: string, file: string): void {
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i])) {
      throw new MalaError(`${what} file: value ${i % perPoint} of grid point ${Math.floor(i / perPoint)} is ${data[i]}`, { file, fix: 'the data file is damaged or comes from a diverged calculation; regenerate it' });
    }
  }
}

/**
 * The snapshots' rows, concatenated in their order; `firstRows[i]`: snapshot i's first row. The
 * files' shapes are read first (headers only), so that each of x and y is one array filled frame by
 * frame: the rows are never held twice (a hundred 8-atom frames are 2.4 GB).
 */
export function loadPointData(files: SnapshotFiles[], xyzColumns: number, nFeatures: number, nEnergies: number, axis?: { reference: EnergyReference; spacingEv: number }): PointData & { firstRows: number[] } {
  const perLast = (shape: number[]) => shape[shape.length - 1];
  const counts = files.map((f) => {
    const ds = readNpyShape(f.descriptors);
    const ls = readNpyShape(f.ldos);
    const fd = perLast(ds);
    const fl = perLast(ls);
    const nd = ds.reduce((a, b) => a * b, 1) / fd;
    const nl = ls.reduce((a, b) => a * b, 1) / fl;
    if (!(nd >= 1)) throw new MalaError(`descriptor file has no grid points (shape (${ds.join(', ')}))`, { file: f.descriptors, fix: 'pass the descriptors of a whole snapshot, (nx, ny, nz, features)' });
    if (!(nl >= 1)) throw new MalaError(`LDOS file has no grid points (shape (${ls.join(', ')}))`, { file: f.ldos, fix: 'pass the LDOS of a whole snapshot, (nx, ny, nz, energies)' });
    if (fd !== nFeatures + xyzColumns) {
      throw new MalaError(`descriptor file has ${fd} features per point, expected ${nFeatures + xyzColumns} (${nFeatures} coefficients + ${xyzColumns} xyz columns)`, {
        file: f.descriptors,
        fix: fd === nFeatures ? 'the file has no xyz columns: pass --no-xyz' : 'check --twojmax (91 coefficients for twojmax 10) and --no-xyz',
      });
    }
    if (fl !== nEnergies) throw new MalaError(`LDOS file has ${fl} energies, the energy grid ${nEnergies}`, { file: f.ldos, fix: 'pass the --energy-grid the LDOS was computed on' });
    if (nd !== nl) throw new MalaError(`${nd} descriptor points but ${nl} LDOS points`, { file: f.ldos, fix: `pair each descriptor file with the LDOS of the same snapshot (${f.descriptors})` });
    return nd;
  });
  const nPoints = counts.reduce((a, b) => a + b, 0);
  const x = new Float32Array(nPoints * nFeatures);
  const y = new Float32Array(nPoints * nEnergies);
  const firstRows: number[] = [];
  let row = 0;
  files.forEach((f, i) => {
    const nd = counts[i];
    const fd = nFeatures + xyzColumns;
    const d = readNpy(f.descriptors);
    const l = readNpy(f.ldos);
    if (d.data.length !== nd * fd || l.data.length !== nd * nEnergies) throw new MalaError('the file changed while it was read', { file: d.data.length !== nd * fd ? f.descriptors : f.ldos, fix: 'train again once it is written' });
    // a NaN or Inf named by its file (the trainer's own check sees only the concatenated data)
    firstNonFinite(d.data, fd, 'descriptor', f.descriptors);
    firstNonFinite(l.data, nEnergies, 'LDOS', f.ldos);
    const x0 = row * nFeatures;
    for (let p = 0; p < nd; p++) for (let k = 0; k < nFeatures; k++) x[x0 + p * nFeatures + k] = d.data[p * fd + xyzColumns + k];
    y.set(axis ? shiftLdosAxis(l.data, nEnergies, axis.spacingEv, referenceShiftEv(axis.reference, snapshotDensity(f).densityPerA3)) : l.data, row * nEnergies);
    firstRows.push(row);
    row += nd;
  });
  return { x, y, nPoints, firstRows };
}

export function readReferenceInfo(file: string): ReferenceData {
  let j: Record<string, unknown>;
  try {
    j = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch (e) {
    throw new MalaError(`cannot read info.json: ${(e as Error).message}`, { file, fix: 'pass a MALA .info.json', cause: e });
  }
  return { temperatureK: j.temperature as number, electronsPerAtom: j.electrons_per_atom as number, numberOfElectrons: j.number_of_electrons_exact as number, gridDimensions: j.grid_dimensions as number[], malaInfo: j };
}

/**
 * A snapshot's atom density and QE Fermi energy, from the <name>.info.json `generate` writes beside
 * it. `needs`: the option that reads it, as the messages name it; `flag`: the flag to drop instead.
 */
export function snapshotDensity(f: SnapshotFiles, needs = '--energy-reference atom-density', flag = '--energy-reference'): { densityPerA3: number; fermiEv: number } {
  const file = `${f.descriptors.replace(/\.in\.npy$/, '').replace(/\.npy$/, '')}.info.json`;
  let j: { atoms?: { numbers?: number[]; cell?: number[][] }; fermi_energy_dft?: number };
  try {
    j = JSON.parse(fs.readFileSync(file, 'utf8')) as typeof j;
  } catch (e) {
    throw new MalaError(`${needs} needs each snapshot's info.json with its atoms and Fermi energy: ${(e as Error).message}`, { file, fix: `train on data written by mala-ts generate (it writes <name>.info.json), or drop ${flag}`, cause: e });
  }
  if (!j.atoms?.numbers || !j.atoms.cell || typeof j.fermi_energy_dft !== 'number') {
    throw new MalaError(`${needs}: this info.json has no atoms (numbers, cell) or no fermi_energy_dft`, { file, fix: `regenerate the snapshot with mala-ts generate, or drop ${flag}` });
  }
  return { densityPerA3: atomDensityPerA3(j.atoms.numbers.length, j.atoms.cell), fermiEv: j.fermi_energy_dft };
}

/**
 * Loss weights per energy of the model's grid: 1 + ((E_F − e_k)/scale)² below E_F, 1 above, with E_F
 * the training snapshots' mean Fermi energy on the network's axis (each moved by its reference
 * shift, so that with a reference it is the Fermi level the axis is aligned to).
 */
export function fermiDistanceWeights(files: SnapshotFiles[], grid: EnergyGrid, reference: EnergyReference | undefined, scaleEv: number): number[] {
  if (!(scaleEv > 0) || !Number.isFinite(scaleEv)) throw new MalaError(`--energy-weighting ${scaleEv}: the scale must be a positive number of eV`, { fix: 'e.g. --energy-weighting 2' });
  const frames = files.map((f) => snapshotDensity(f, '--energy-weighting', '--energy-weighting'));
  const fermiEv = frames.reduce((a, f) => a + f.fermiEv - referenceShiftEv(reference, f.densityPerA3), 0) / frames.length;
  return Array.from({ length: grid.count }, (_, k) => {
    const below = fermiEv - (grid.offsetEv + k * grid.spacingEv);
    return below > 0 ? 1 + (below / scaleEv) ** 2 : 1;
  });
}

/** The atom-density reference fitted to the training snapshots, n₀ their mean density. */
function referenceOfSnapshots(files: SnapshotFiles[]): EnergyReference {
  const frames = files.map((f) => snapshotDensity(f));
  const n0 = frames.reduce((a, f) => a + f.densityPerA3, 0) / frames.length;
  return fitAtomDensityReference(frames, n0, `E_F of ${frames.length} training snapshots (mala-ts train)`);
}

/** A snapshot's facts from its siblings written by `generate`: <name>.info.json (atoms, T, ecutrho, grid), <name>.pw.scf.out (smearing). */
export function snapshotFacts(descriptorsFile: string): StructureFacts {
  const base = descriptorsFile.replace(/\.in\.npy$/, '').replace(/\.npy$/, '');
  const facts: StructureFacts = {};
  try {
    const j = JSON.parse(fs.readFileSync(`${base}.info.json`, 'utf8')) as { atoms?: { numbers: number[]; positions: number[][]; cell: number[][]; pbc?: boolean[] }; temperature?: number; ecutrho?: number; grid_dimensions?: number[] };
    if (j.atoms) {
      const a: Atoms = { symbols: j.atoms.numbers.map((z) => symbolOf(z)), positionsAngstrom: j.atoms.positions as Vec3[], cellAngstrom: j.atoms.cell as Mat3, pbc: (j.atoms.pbc ?? [true, true, true]) as [boolean, boolean, boolean] };
      facts.atoms = a;
    }
    facts.temperatureK = j.temperature;
    facts.ecutrhoRy = j.ecutrho;
    facts.grid = j.grid_dimensions;
  } catch {
    // no info.json: the domain holds the descriptor statistics only
  }
  if (fs.existsSync(`${base}.pw.scf.out`)) {
    try {
      facts.smearing = qeFileFacts(readStructure(`${base}.pw.scf.out`)).smearing;
    } catch {
      // an unreadable QE output only costs the smearing kind
    }
  }
  return facts;
}

/** The training domain (src/domain/) of these snapshots: descriptor statistics and, where their siblings tell, density, T, ecutrho, smearing, grid. */
export function trainingDomainOf(files: SnapshotFiles[], xyzColumns: number, nFeatures: number, reference: ReferenceData | null): TrainingDomain {
  const builder = new TrainingDomainBuilder(nFeatures);
  // only the descriptors (the LDOS files were read and checked for training already)
  for (const f of files) {
    const d = readNpy(f.descriptors);
    const stride = d.shape[d.shape.length - 1];
    const n = d.data.length / stride;
    builder.addStructure(coefficientsOf(d.data, n, stride, xyzColumns, nFeatures), n, snapshotFacts(f.descriptors));
  }
  const pps = (reference?.malaInfo as { pseudopotentials?: Record<string, string> } | undefined)?.pseudopotentials;
  if (pps) builder.addElements(Object.keys(pps));
  return builder.finish('mala-ts train');
}

export async function runTraining(opts: TrainWorkflowOptions, progress: Progress = silentProgress, hooks: Parameters<typeof trainNetwork>[4] = {}): Promise<TrainResult & { out: string }> {
  checkTrainNumbers(opts);
  const mala = malaModelDescriptorDefaults;
  const twojmax = opts.twojmax ?? mala.twojmax;
  const nFeatures = bispectrumCount(twojmax);
  const xyz = opts.xyzColumns ?? 3;
  if (opts.training.length === 0) throw new MalaError('no training snapshots', { fix: 'pass --descriptors a.npy --ldos a.out.npy' });
  const inputs = [...opts.training, ...opts.validation].flatMap((f) => [f.descriptors, f.ldos]).concat(opts.referenceInfo ? [opts.referenceInfo] : []);
  checkOutputs([{ path: opts.out, kind: 'file', flag: '--out' }, ...(opts.checkpoint ? [{ path: opts.checkpoint, kind: 'file' as const, flag: '--checkpoint' }] : [])], inputs);
  // one run per --out: a second run would train into the same model and member files (src/io/output-lock.ts)
  const releaseLock = lockOutputDir(opts.out, `--out ${opts.out}`);
  try {
    const energyReference = opts.energyReference === 'atom-density' ? referenceOfSnapshots(opts.training) : undefined;
    const axis = energyReference ? { reference: energyReference, spacingEv: opts.energyGrid.spacingEv } : undefined;
    // (before the data is read: a bad scale or a missing info.json costs a second)
    const outputWeights = opts.energyWeightingEv === undefined ? undefined : fermiDistanceWeights(opts.training, opts.energyGrid, energyReference, opts.energyWeightingEv);
    const train = loadPointData(opts.training, xyz, nFeatures, opts.energyGrid.count, axis);
    const validation = loadPointData(opts.validation, xyz, nFeatures, opts.energyGrid.count, axis);
    // the scalers need two points to have a spread; say which files hold too few
    const names = (files: SnapshotFiles[]) => files.map((f) => f.descriptors).join(', ');
    if (train.nPoints < 2) {
      throw new MalaError(`the training data has ${train.nPoints} grid point${train.nPoints === 1 ? '' : 's'} (${names(opts.training)}): fitting the data scalers needs at least 2`, {
        file: opts.training[0].descriptors,
        fix: 'pass the descriptors and LDOS of whole snapshots (a grid of points each)',
      });
    }
    if (validation.nPoints < 1) {
      throw new MalaError(`the validation data has no grid points${opts.validation.length ? ` (${names(opts.validation)})` : ''}`, {
        file: opts.validation[0]?.descriptors,
        fix: 'give a validation snapshot with points (--validation desc.npy:ldos.npy)',
      });
    }
    const descriptors: DescriptorParameters = {
      ...mala, twojmax, rcutfac: opts.rcutfac ?? mala.rcutfac, switchflag: opts.switchflag ?? mala.switchflag, elementWeights: opts.elementWeights ?? null,
    };
    const reference = opts.referenceInfo ? readReferenceInfo(opts.referenceInfo) : null;
    // the rows are the trainer's now (scaled in place: held once); nothing below reads them
    const result = await trainNetwork(train, validation, { ...opts, descriptors, energyGrid: opts.energyGrid, reference, outputWeights, scaleInPlace: true }, progress, hooks);
    result.model.domain = trainingDomainOf(opts.training, xyz, nFeatures, reference);
    if (energyReference) result.model.energyReference = energyReference;
    saveTrainedModel(opts.out, result.model);
    return { ...result, out: opts.out };
  } finally {
    releaseLock();
  }
}

/**
 * Save the trained model; when the target fails after training (disk full, folder gone), the
 * hours of training are not lost: the model goes to a fallback file and the error says where.
 */
export function saveTrainedModel(out: string, model: TrainResult['model'], fallbackDirs: readonly string[] = [process.cwd(), os.tmpdir()]): void {
  try {
    saveModelData(out, model);
    return;
  } catch (e) {
    const why = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
    for (const dir of fallbackDirs) {
      const fallback = path.join(dir, `mala-ts-model-${process.pid}-${Date.now()}.zip`);
      if (path.resolve(fallback) === path.resolve(out)) continue;
      try {
        saveModelData(fallback, model);
      } catch {
        continue;
      }
      throw new MalaError(`cannot write the model to ${out} (${why}); the trained model was saved to ${fallback} instead`, { file: out, fix: `move ${fallback} where you want it (nothing needs retraining)`, cause: e });
    }
    throw new MalaError(`cannot write the model to ${out} (${why}), nor to a fallback file in ${fallbackDirs.join(' or ')}`, { file: out, fix: 'free space or fix the permissions, then train again (a --checkpoint resumes)', cause: e });
  }
}
