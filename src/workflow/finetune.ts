/**
 * `mala-ts finetune` (issues 16 and 18): continue training a model's network on what the LDOS loss
 * does not see, QE's forces and total energies of its training frames:
 *
 *   loss = MSE(scaled LDOS) + λ_F·mean_i |F_i − F_i,QE|² + λ_E·((E − E_QE)/N_atoms)²
 *          + λ_B·((E_band − E_band,QE)/N_atoms)² + λ_μ·(E_F − E_F,QE)²   (eV/Å, eV/atom, eV)
 *
 * per frame, one Adam step per frame and epoch. Neither term needs second derivatives of the
 * network. With β_p = ∂E/∂L_p (the adjoint the forces use, src/engine/forces.ts), held fixed for
 * the step, and e = F − F_QE:
 *   - energy: ∂E/∂θ = Σ_p β_p·∂L_p/∂θ, an output gradient β_p at the frame's own descriptor rows;
 *   - band energy (judged on its own by issue 18): the same with ∂E_band/∂L_p, one vector over the
 *     energies at every point (src/targets/dos-adjoint.ts, bandEnergyLdosAdjoint);
 *   - Fermi energy (judged on its own too, within 20 meV): the same with ∂μ/∂L_p
 *     (fermiEnergyLdosDerivative), the self-consistent μ's derivative at a fixed electron count;
 *   - forces: Σ_i e_i·F_i = −Σ_p β_p·J_p·v_p with v_p = Σ_i (∂B_p/∂R_i)·e_i, the change of the
 *     descriptors when the atoms move along e, a central difference of the descriptors at R ± h·e
 *     (h: the largest move is `stepAngstrom`), so ∂/∂θ Σ e·F ≈ −(1/2h)·Σ_p ∂/∂θ[β_p·(L(B⁺) − L(B⁻))]:
 *     output gradients ∓β_p/(2h) at the rows B⁺ and B⁻.
 *   - density (energy-only runs, λ_F = 0): λ_ρ·Σ_p (n_p − n*_p)²/Σ_p n*_p², the relative squared
 *     error of the frame's density against its LDOS target's, both at the model's Fermi level
 *     (n_p = Σ_k L_pk·e_k, e_k the occupation weights), so only the LDOS's shape in space is
 *     judged (E_F has its own term): ∂/∂L_pk = 2λ_ρ·(n_p − n*_p)·e_k/Σ n*². Meant for the hottest
 *     frames, whose total-energy error is mostly the density's (total − band); on the broad Al
 *     data it lowered the cool frames' density error, not theirs (models/al-fcc-broad/RECIPE.md).
 * Beside them in the same step, a random mini-batch of the frames' LDOS rows (as many as one
 * frame's points) keeps the ordinary loss, weighted by λ_L (`ldosWeight`, default 1). The step
 * goes through the backends' MSE step with targets that give these gradients
 * (src/network/output-gradient.ts). Negative LDOS is clamped to zero by predict, so those outputs
 * get no gradient.
 *
 * A folder of QE references (pw.x outputs and info.json, no .npy: what `make al-broad-qe-refs`
 * keeps in the repository at a few tens of kB per frame, where a frame's LDOS is megabytes) has
 * no LDOS to hold the network to. There the LDOS rows are the network's own: a fixed random
 * sample of each frame's descriptor rows (`anchorRowsPerFrame`, computed from the atoms once),
 * with the starting network's outputs on them as targets, per network (an ensemble member is held
 * to itself). So the energy, band, Fermi and force terms move the LDOS only as far as they pull
 * against the network's own predictions (distillation, "learning without forgetting"): frames
 * whose LDOS was lost with a machine can still teach a model their QE energies and forces. The
 * density term needs the LDOS targets and is refused there; energy-only steps compute each
 * frame's descriptors from its atoms, as there is no .in.npy to read.
 *
 * Steps, each one call: predict with forces (E, F, β and the rows captured from the forces'
 * backward pass), the displaced frames' descriptors (predictDescriptorRows, nothing else), the
 * network step. Without a force term (λ_F = 0) nothing needs the atoms' derivatives: predict
 * reads the frame's stored descriptors (.in.npy) and returns the engine's ∂E/∂L, so energy-only
 * epochs cost a fraction (on 4 frames here, 14 s against 42 s with forces, start-up included:
 * docs/forces.md §1c).
 *
 * An ensemble's members are fine-tuned one after the other, each alone (its own energies and
 * forces, not the ensemble's mean), as `make al-broad-finetune` does with member files; the members
 * stay separate networks, so their spread keeps its meaning.
 * Under MPI (`finetune --np J`, mpirun, srun) the members are dealt out over the ranks, member k
 * to rank k mod J, each fine-tuned alone on its rank exactly as in one process; their weights and
 * histories then go to every rank (src/parallel/share-slots.ts) and rank 0 writes the archive.
 *
 * With `checkpoint`, each network's weights, Adam state, random state and epoch history are saved
 * after every epoch (one file per member of an ensemble, `<checkpoint>.member-K.zip`), and a run
 * started again with the same model, frames and options goes on from there and ends with the
 * weights an uninterrupted run has, bit for bit. An epoch on a hundred frames takes ten minutes
 * here and a run several epochs: without it a session's end lost the run. Within an epoch it is
 * saved too, after the first frame step that ends `checkpointSeconds` (default 300) after the last
 * save, with the epoch's frame order, the frames stepped and its sums so far: a run resumed from
 * there ends bit for bit as well (an epoch of a hundred frames took over 25 minutes with three
 * members at once, mk/al-broad.mk's run-time note, and a session's end lost the epoch part-way). A finished run removes its
 * checkpoints.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MalaError } from '../errors';
import { checkOutputs } from '../io/output-check';
import { NpyFile } from '../io/npy';
import { ensembleMembers, LdosModel, readModelData, saveModelData, sha256 } from '../network/model';
import type { ModelData } from '../network/model-data';
import { createTrainableNet } from '../network/backends/registry';
import type { BackendName } from '../network/backend';
import { targetsForOutputGradient } from '../network/output-gradient';
import { Rng } from '../network/rng';
import { readStructure, type StructureRead } from '../structure/registry';
import type { Vec3 } from '../structure/atoms';
import { Progress, silentProgress } from '../util/progress';
import { serialComm, type Communicator } from '../parallel/comm';
import { shareFloat32Slots, shareTextSlots } from '../parallel/share-slots';
import { predict, predictDescriptorRows } from './predict';
import { qeForcesReference } from './tester-forces';
import { findSnapshots, hasLdos, infoTemperatureK, qeReference, type SnapshotFiles, type SnapshotWithLdos } from './tester-data';
import { kTEv, rydbergEv } from '../structure/units';
import { bandEnergyLdosAdjoint, fermiEnergyLdosDerivative, ldosGradientRows } from '../targets/dos-adjoint';
import { loadPointData } from './train';

export interface FinetuneOptions {
  modelFile: string;
  dataDir: string;
  /** Snapshot names (default: every snapshot of the folder). */
  snapshots?: string[];
  out: string;
  epochs: number;
  learningRate: number;
  /** λ_F, per (eV/Å)² of mean squared force error. */
  forceWeight: number;
  /** λ_E, per (eV/atom)² of total-energy error. */
  energyWeight: number;
  /** λ_B, per (eV/atom)² of band-energy error against QE's eigenvalue sum (info.json); default 0. */
  bandWeight?: number;
  /** λ_μ, per eV² of Fermi-energy error against QE's (info.json fermi_energy_dft); default 0. */
  fermiWeight?: number;
  /** λ_ρ, per unit of relative squared density error against the frame's LDOS target; needs forceWeight 0; default 0. */
  densityWeight?: number;
  /** λ_L, the weight of the LDOS rows' mean squared error (scaled outputs) in each step; default 1. */
  ldosWeight?: number;
  /**
   * A folder of QE references (no LDOS): how many of each frame's descriptor rows hold the network
   * to its starting outputs (default 4096, or all of a smaller frame's).
   */
  anchorRowsPerFrame?: number;
  /** Largest atom move of the force term's central difference, Å. */
  stepAngstrom: number;
  pseudoDir?: string;
  backend?: BackendName | 'auto';
  seed?: number;
  /** A file saved after every epoch (per member: `<file>.member-K.zip`) and resumed from when it exists; removed at the end. */
  checkpoint?: string;
  /**
   * With `checkpoint`: also save it within an epoch, after the first frame step that ends this many
   * seconds after the last save (0: after every frame). Default 300: an epoch of a hundred frames
   * took over 25 minutes with three members at once (mk/al-broad.mk's run-time note), and a
   * session's end lost the epoch part-way.
   */
  checkpointSeconds?: number;
  progress?: Progress;
  /** One line per epoch (after its checkpoint is saved), and one per save within an epoch (`checkpoint: epoch E, F of N frames`). */
  log?: (line: string) => void;
  /** MPI ranks to deal an ensemble's members out over (default: one process). */
  comm?: Communicator;
}

export interface FinetuneEpoch {
  epoch: number;
  /** Over the frames, each measured just before its own step; only with a force term (without one the forces are not computed). */
  forceRmseEvPerA?: number;
  qeForceRmsEvPerA?: number;
  totalEnergyRmseMeVPerAtom: number;
  /** Against QE's band energy, when every frame has it. */
  bandEnergyRmseMeVPerAtom?: number;
  /** Against QE's Fermi energy, when every frame has it. */
  fermiEnergyRmseMeV?: number;
  /** With a density term: the frames' rms relative L2 density error against their LDOS targets, %. */
  densityErrorPercent?: number;
  /**
   * The LDOS rows' rms error in the network's scaled outputs, over the epoch's mini-batches: against
   * the LDOS targets, or (QE references) against the starting network's outputs, i.e. how far
   * the fine-tuning has moved the LDOS.
   */
  ldosRowsRms?: number;
}

/** A model that keeps what predict hands its network: the forward rows, and the backward pass's rows and cotangent. */
class CapturingModel extends LdosModel {
  forwardRows: Float32Array[] = [];
  backwardRows: Float32Array[] = [];
  cotangents: Float64Array[] = [];
  override async descriptorGradient(d: Float32Array | Float64Array, n: number, c: Float64Array, o: { float64?: boolean; pointOffset?: number } = {}): Promise<Float64Array> {
    this.backwardRows.push(Float32Array.from(d));
    this.cotangents.push(Float64Array.from(c));
    return super.descriptorGradient(d, n, c, o);
  }
  override async predictLdos(d: Float32Array, n: number, o: Parameters<LdosModel['predictLdos']>[2] = {}): Promise<Float32Array> {
    this.forwardRows.push(Float32Array.from(d));
    return super.predictLdos(d, n, o);
  }
}

function concat<T extends Float32Array | Float64Array>(parts: T[], make: (n: number) => T): T {
  const out = make(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

interface Frame {
  files: SnapshotFiles;
  read: StructureRead;
  temperatureK: number;
  qeTotalEnergyEv: number;
  qeBandEnergyEv?: number;
  qeFermiEnergyEv?: number;
  qeForcesEvPerA: number[][];
}

function readFrame(f: SnapshotFiles): Frame {
  const read = readStructure(f.structureFile);
  // the tester's readers: info.json's full-precision values first, else the pw.x output's
  const totalRy = read.qeOutput?.energiesRy.total;
  const qe = qeReference(f, { totalEnergyEv: totalRy === undefined ? undefined : totalRy * rydbergEv });
  const qeTotalEnergyEv = qe.totalEnergyEv;
  const temperatureK = infoTemperatureK(f);
  if (qeTotalEnergyEv === undefined || temperatureK === undefined) {
    throw new MalaError(`finetune needs the snapshot's electronic temperature and QE total energy (${f.name}.info.json, as mala-ts generate writes it)`, { file: f.infoFile ?? f.structureFile, fix: 'use snapshots written by mala-ts generate' });
  }
  return {
    files: f,
    read,
    temperatureK,
    qeTotalEnergyEv,
    qeBandEnergyEv: qe.bandEnergyEv,
    qeFermiEnergyEv: qe.fermiEnergyEv,
    qeForcesEvPerA: qeForcesReference(fs.readFileSync(f.structureFile, 'utf8'), f.structureFile).forcesEvPerA,
  };
}

/**
 * The density term of one frame: its density from the network's outputs on its own rows and from
 * its LDOS target rows, both n_p = Σ_k max(L_pk, 0)·e_k. The rows predict handed the network must
 * be the stored rows in file order (whole-plane blocks): checked, since a mismatch would teach noise.
 */
function densityTerm(
  outputs: Float32Array,
  points: { x: Float32Array; y: Float32Array; nPoints: number },
  firstRow: number,
  ownRows: Float32Array,
  e: Float64Array,
  o: { nIn: number; nOut: number; rangeLdos: number; minLdos: number; name: string },
): { residual: Float64Array; targetSq: number; relativeErrorSq: number } {
  const n = ownRows.length / o.nIn;
  if (firstRow + n > points.nPoints) throw new Error(`finetune: ${o.name} has ${n} rows beyond the data's ${points.nPoints}`);
  for (const p of [0, n >> 1, n - 1]) {
    for (let c = 0; c < o.nIn; c++) {
      const a = ownRows[p * o.nIn + c];
      const b = points.x[(firstRow + p) * o.nIn + c];
      if (Math.abs(a - b) > 1e-5 * (1 + Math.abs(b))) throw new Error(`finetune: the density term's rows of ${o.name} are not its stored rows (point ${p}, feature ${c}: ${a} vs ${b})`);
    }
  }
  const residual = new Float64Array(n);
  let targetSq = 0;
  for (let p = 0; p < n; p++) {
    let model = 0, target = 0;
    for (let k = 0; k < o.nOut; k++) {
      model += Math.max(outputs[p * o.nOut + k] * o.rangeLdos + o.minLdos, 0) * e[k];
      target += Math.max(points.y[(firstRow + p) * o.nOut + k], 0) * e[k];
    }
    residual[p] = model - target;
    targetSq += target * target;
  }
  let sq = 0;
  for (const r of residual) sq += r * r;
  return { residual, targetSq, relativeErrorSq: sq / targetSq };
}

/** 3 when the descriptor file has MALA's leading xyz columns (what generate writes), else 0. */
function xyzColumnsOf(file: string, nFeatures: number): number {
  const f = new NpyFile(file);
  try {
    return f.shape[f.shape.length - 1] === nFeatures + 3 ? 3 : 0;
  } finally {
    f.close();
  }
}


/**
 * The model's energy (and forces, with a force term) on one frame, with ∂E/∂L_p (β) at the
 * descriptor rows it belongs to. Without a force term no backward pass is needed: the frame's
 * stored descriptors (its .in.npy, as generate wrote them) and the engine's LDOS cotangent give β
 * in a fraction of the time, so energy-only epochs are cheap.
 */
async function frameTerms(data: ModelData, frame: Frame, o: FinetuneOptions) {
  const cap = new CapturingModel(data, '<finetune>', { backend: o.backend });
  const withForces = o.forceWeight > 0;
  const r = await predict({
    structureRead: frame.read,
    structureFile: frame.files.structureFile,
    model: cap,
    pseudoDir: o.pseudoDir,
    temperatureK: frame.temperatureK,
    requireTotalEnergy: true,
    ...(withForces ? { forces: true } : { descriptorsFile: frame.files.descriptorsFile, ldosCotangent: true }),
    warn: () => undefined,
  });
  const dos = { dosPerEv: r.dosPerEv, energiesEv: r.energiesEv, kTEv: kTEv(r.temperatureK), fermiEnergyEv: r.fermiEnergyEv, voxelVolumeA3: r.voxelVolumeA3 };
  let rows: Float32Array;
  let beta: Float64Array;
  let electronWeights: Float64Array | undefined;
  if (withForces) {
    rows = concat(cap.backwardRows, (n) => new Float32Array(n));
    beta = concat(cap.cotangents, (n) => new Float64Array(n));
  } else {
    rows = concat(cap.forwardRows, (n) => new Float32Array(n));
    const c = r.ldosCotangent!;
    beta = ldosGradientRows(c.adjoint, c.densityGradient, 0, c.densityGradient.length);
    electronWeights = Float64Array.from(c.adjoint.electronWeights);
  }
  return {
    totalEnergyEv: r.totalEnergy!.totalEnergyEv,
    bandEnergyEv: r.bandEnergyEv,
    fermiEnergyEv: r.fermiEnergyEv,
    forcesEvPerA: r.forcesEvPerA,
    rows,
    beta,
    /** e_k = ∂n_p/∂L_pk at the model's Fermi level (energy-only path). */
    electronWeights,
    // ∂E_band/∂L and ∂μ/∂L (per energy, the same at every point) on predict's axis, which is the network's outputs' (shifted as a whole)
    bandBeta: o.bandWeight ? bandEnergyLdosAdjoint(dos) : undefined,
    fermiBeta: o.fermiWeight ? fermiEnergyLdosDerivative(dos) : undefined,
  };
}

/** The frame's descriptor rows (predict's point order) with every atom moved by `move` (Å): descriptors only. */
function displacedRows(data: ModelData, frame: Frame, move: number[][], o: FinetuneOptions): Float32Array {
  const atoms = { ...frame.read.atoms, positionsAngstrom: frame.read.atoms.positionsAngstrom.map((p, i) => p.map((x, a) => x + move[i][a]) as Vec3) };
  return predictDescriptorRows({ structureRead: { ...frame.read, atoms }, structureFile: frame.files.structureFile, model: new LdosModel(data, '<finetune>', { backend: o.backend }), pseudoDir: o.pseudoDir, temperatureK: frame.temperatureK });
}

/**
 * QE references: `perFrame` of each frame's descriptor rows (predict's, from its atoms), a fixed
 * random sample of its own stream (the networks' draws stay as without it), scaled as the
 * network's inputs. Computed once: every network of the run is held on the same rows.
 */
function anchorRows(data: ModelData, frames: Frame[], perFrame: number, o: FinetuneOptions): Float32Array {
  const nIn = data.spec.layerSizes[0];
  const rng = new Rng(1_000_003 + (o.seed ?? 1));
  const parts = frames.map((frame) => {
    const all = predictDescriptorRows({ structureRead: frame.read, structureFile: frame.files.structureFile, model: new LdosModel(data, '<finetune>', { backend: o.backend }), pseudoDir: o.pseudoDir, temperatureK: frame.temperatureK });
    const n = all.length / nIn;
    const pick = rng.permutation(n).subarray(0, Math.min(perFrame, n));
    const rows = new Float32Array(pick.length * nIn);
    pick.forEach((p, q) => rows.set(all.subarray(p * nIn, (p + 1) * nIn), q * nIn));
    return data.inputScaler.transform(rows, nIn);
  });
  return concat(parts, (k) => new Float32Array(k));
}

/** The network's outputs on `rows` rows of x, a bounded block at a time. */
async function forwardInChunks(net: ReturnType<typeof createTrainableNet>, x: Float32Array, rows: number, nIn: number): Promise<Float32Array> {
  const block = 65536;
  const parts: Float32Array[] = [];
  for (let r = 0; r < rows; r += block) {
    const m = Math.min(block, rows - r);
    parts.push(Float32Array.from(await net.forward(x.subarray(r * nIn, (r + m) * nIn), m)));
  }
  return concat(parts, (k) => new Float32Array(k));
}

/** What every network of a fine-tuning run shares: the frames, their LDOS rows (scaled) and the terms' weights. */
interface TuningSet {
  frames: Frame[];
  /** The frames' rows unscaled (the density term's); undefined for QE references. */
  points?: ReturnType<typeof loadPointData>;
  /** The LDOS rows the mini-batches are drawn from, scaled; `rows` of them. */
  tx: Float32Array;
  /** Their targets, scaled; undefined (QE references): each network's own starting outputs on `tx`. */
  ty?: Float32Array;
  rows: number;
  ldosWeight: number;
  bandWeight: number;
  fermiWeight: number;
  densityWeight: number;
  /** Some frame lacks QE's band (Fermi) energy: that epoch column is left out. */
  noBand: boolean;
  noFermi: boolean;
}

/** An epoch's sums over the frames stepped so far (its record is made from them at its end). */
interface EpochSums {
  forceSq: number;
  qeSq: number;
  components: number;
  energySq: number;
  bandSq: number;
  fermiSq: number;
  densitySq: number;
  /** Σ over the epoch's steps of the LDOS rows' mean squared error (scaled outputs). */
  ldosSq?: number;
}

/** What a fine-tuning checkpoint holds besides the weights and the Adam state. */
interface FinetuneState {
  kind: 'finetune';
  fingerprint: string;
  /** Epochs done. */
  epoch: number;
  rng: number[];
  history: FinetuneEpoch[];
  /** Saved within epoch `epoch + 1`: its frame order, how many of them are stepped, and its sums so far. */
  within?: { order: number[]; done: number; sums: EpochSums };
}

/** The checkpoint of one network: where it goes, and what a run must match to resume it. */
interface NetworkCheckpoint {
  file: string;
  fingerprint: string;
}

/** The fine-tuning state saved in `ck.file`, checked against this run; undefined when there is none. */
function readCheckpoint(ck: NetworkCheckpoint, spec: ModelData['spec']): { data: ModelData; state: FinetuneState } | undefined {
  if (!fs.existsSync(ck.file)) return undefined;
  const c = readModelData(ck.file);
  const state = c.training?.state as FinetuneState | undefined;
  if (!c.training || state?.kind !== 'finetune') {
    throw new MalaError('the checkpoint holds no fine-tuning state (a mala-ts train checkpoint, or another file)', { file: ck.file, fix: 'remove it, or pass another --checkpoint' });
  }
  if (state.fingerprint !== ck.fingerprint || JSON.stringify(c.spec.layerSizes) !== JSON.stringify(spec.layerSizes)) {
    throw new MalaError('the checkpoint was written by a fine-tuning run of another model, other frames or other options', { file: ck.file, fix: 'resume with the model, --snapshots and options it was written with, or delete it to start over' });
  }
  return { data: c, state };
}

/** One network (`weights`, with the model's scalers and settings) fine-tuned on the set: its new weights and each epoch's errors. */
async function tuneNetwork(data: ModelData, weights: ModelData['weights'], set: TuningSet, o: FinetuneOptions, progress: Progress, ck?: NetworkCheckpoint): Promise<{ weights: ModelData['weights']; history: FinetuneEpoch[] }> {
  const { frames, points, tx, bandWeight, fermiWeight, densityWeight, noBand, noFermi, ldosWeight } = set;
  const nIn = data.spec.layerSizes[0];
  const nOut = data.spec.layerSizes[data.spec.layerSizes.length - 1];
  const rangeLdos = data.outputScaler.scale[0];
  const minLdos = data.outputScaler.shift[0];
  const resumed = ck ? readCheckpoint(ck, data.spec) : undefined;
  const net = createTrainableNet(data.spec, weights, { backend: o.backend });
  // QE references: the LDOS rows' targets are this network's outputs before any step (a resumed run too)
  const ty = set.ty ?? (await forwardInChunks(net, tx, set.rows, nIn));
  if (resumed) net.setParameters(resumed.data.weights);
  net.configureAdam({ lr: o.learningRate, weightDecay: 0 });
  if (resumed) net.setOptimizerState(resumed.data.training!.optimizer);
  const current = (): ModelData => ({ ...data, ensemble: undefined, weights: net.getParameters() });
  const rng = resumed ? new Rng(Uint32Array.from(resumed.state.rng)) : new Rng(o.seed ?? 1);
  const history: FinetuneEpoch[] = resumed ? [...resumed.state.history] : [];
  const firstEpoch = resumed ? resumed.state.epoch + 1 : 1;
  let within = resumed?.state.within;
  if (resumed) {
    o.log?.(`resuming from ${ck!.file}: ${resumed.state.epoch} of ${o.epochs} epochs done${within ? ` and ${within.done} of ${frames.length} frames of epoch ${resumed.state.epoch + 1}` : ''}`);
    progress.tick(resumed.state.epoch * frames.length + (within?.done ?? 0));
  }
  const save = (state: FinetuneState) => saveModelData(ck!.file, { ...current(), training: { state: state as unknown as Record<string, unknown>, optimizer: net.getOptimizerState() } });
  const everyMs = 1000 * (o.checkpointSeconds ?? 300);
  let lastSave = Date.now();
  for (let epoch = firstEpoch; epoch <= o.epochs; epoch++) {
    // a run saved within this epoch goes on with its order, after its frames, from its sums
    const order = within ? within.order : Array.from(rng.permutation(frames.length));
    const sums: EpochSums = within ? { ...within.sums } : { forceSq: 0, qeSq: 0, components: 0, energySq: 0, bandSq: 0, fermiSq: 0, densitySq: 0, ldosSq: 0 };
    const first = within ? within.done : 0;
    within = undefined;
    let { forceSq, qeSq, components, energySq, bandSq, fermiSq, densitySq } = sums;
    let ldosSq = sums.ldosSq ?? 0;
    for (let step = first; step < order.length; step++) {
      const fi = order[step];
      const frame = frames[fi];
      const model = current();
      const t = await frameTerms(model, frame, o);
      const atomCount = frame.read.atoms.symbols.length;
      const dEPerAtom = (t.totalEnergyEv - frame.qeTotalEnergyEv) / atomCount;
      energySq += dEPerAtom * dEPerAtom;
      const dBandPerAtom = frame.qeBandEnergyEv === undefined ? 0 : (t.bandEnergyEv - frame.qeBandEnergyEv) / atomCount;
      bandSq += dBandPerAtom * dBandPerAtom;
      const dFermiEv = frame.qeFermiEnergyEv === undefined ? 0 : t.fermiEnergyEv - frame.qeFermiEnergyEv;
      fermiSq += dFermiEv * dFermiEv;
      // without a force term the forces are not computed (frameTerms)
      const e = t.forcesEvPerA?.map((row, i) => row.map((v, a) => v - frame.qeForcesEvPerA[i][a])) ?? [];
      let eMax = 0;
      for (let i = 0; i < e.length; i++) {
        for (let a = 0; a < 3; a++) {
          forceSq += e[i][a] ** 2;
          qeSq += frame.qeForcesEvPerA[i][a] ** 2;
          eMax = Math.max(eMax, Math.abs(e[i][a]));
        }
      }
      components += 3 * e.length;
      const n = t.rows.length / nIn;
      const parts: Float32Array[] = [];
      const useForces = o.forceWeight > 0 && eMax > 0;
      const h = useForces ? o.stepAngstrom / eMax : 0;
      if (useForces) {
        parts.push(data.inputScaler.transform(displacedRows(model, frame, e.map((r) => r.map((v) => h * v)), o), nIn));
        parts.push(data.inputScaler.transform(displacedRows(model, frame, e.map((r) => r.map((v) => -h * v)), o), nIn));
        if (parts[0].length !== t.rows.length || parts[1].length !== t.rows.length) throw new Error('finetune: the displaced frame has another point count');
      }
      const ownRows = o.energyWeight > 0 || bandWeight > 0 || fermiWeight > 0 || densityWeight > 0;
      if (ownRows) parts.push(data.inputScaler.transform(Float32Array.from(t.rows), nIn));
      const lx = new Float32Array(n * nIn);
      const ly = new Float32Array(n * nOut);
      for (let q = 0; q < n; q++) {
        const p = Math.floor(rng.uniform() * set.rows);
        lx.set(tx.subarray(p * nIn, (p + 1) * nIn), q * nIn);
        ly.set(ty.subarray(p * nOut, (p + 1) * nOut), q * nOut);
      }
      parts.push(lx);
      const x = concat(parts, (k) => new Float32Array(k));
      const rows = x.length / nIn;
      const out = await net.forward(x, rows);
      const g = new Float64Array(out.length);
      // per block of n rows: its output gradient (physical LDOS → scaled outputs: × the LDOS range)
      let block = 0;
      // coefficient·β + perEnergy (the band and Fermi terms, indexed by energy only)
      // + perPoint_p·e_k (the density term)
      const betaBlock = (coefficient: number, perEnergy?: Float64Array, perPoint?: Float64Array) => {
        const base = block * n * nOut;
        for (let i = 0; i < n * nOut; i++) {
          const alive = out[base + i] * rangeLdos + minLdos >= 0;
          const own = (perEnergy ? perEnergy[i % nOut] : 0) + (perPoint ? perPoint[Math.floor(i / nOut)] * t.electronWeights![i % nOut] : 0);
          g[base + i] = alive ? (coefficient * t.beta[i] + own) * rangeLdos : 0;
        }
        block++;
      };
      if (useForces) {
        // ∂(λ_F/(3N)·Σ e²)/∂L at B± = ∓ λ_F·2/(3N)·β/(2h)
        const c = (o.forceWeight * 2) / (3 * atomCount) / (2 * h);
        betaBlock(-c);
        betaBlock(+c);
      }
      if (ownRows) {
        const perEnergy = new Float64Array(nOut);
        const bandCoefficient = (2 * bandWeight * dBandPerAtom) / atomCount;
        const fermiCoefficient = 2 * fermiWeight * dFermiEv;
        for (let k = 0; k < nOut; k++) perEnergy[k] = (t.bandBeta ? bandCoefficient * t.bandBeta[k] : 0) + (t.fermiBeta ? fermiCoefficient * t.fermiBeta[k] : 0);
        let perPoint: Float64Array | undefined;
        if (densityWeight > 0) {
          const d = densityTerm(out.subarray(block * n * nOut, (block + 1) * n * nOut), points!, points!.firstRows[fi], t.rows, t.electronWeights!, { nIn, nOut, rangeLdos, minLdos, name: frame.files.name });
          densitySq += d.relativeErrorSq;
          perPoint = d.residual.map((r) => (2 * densityWeight * r) / d.targetSq);
        }
        betaBlock((2 * o.energyWeight * dEPerAtom) / atomCount, perEnergy, perPoint);
      }
      // the LDOS rows: the gradient of their own mean squared error, × λ_L
      const base = block * n * nOut;
      let sq = 0;
      for (let i = 0; i < n * nOut; i++) {
        const r = out[base + i] - ly[i];
        sq += r * r;
        g[base + i] = (ldosWeight * 2 * r) / (n * nOut);
      }
      ldosSq += sq / (n * nOut);
      await net.trainStep(x, targetsForOutputGradient(out, g, rows, nOut), rows);
      progress.tick(1);
      if (ck && step + 1 < order.length && Date.now() - lastSave >= everyMs) {
        save({
          kind: 'finetune', fingerprint: ck.fingerprint, epoch: epoch - 1, rng: Array.from(rng.state()), history,
          within: { order, done: step + 1, sums: { forceSq, qeSq, components, energySq, bandSq, fermiSq, densitySq, ldosSq } },
        });
        lastSave = Date.now();
        o.log?.(`checkpoint: epoch ${epoch}, ${step + 1} of ${order.length} frames`);
      }
    }
    const rec: FinetuneEpoch = {
      epoch,
      forceRmseEvPerA: components ? Math.sqrt(forceSq / components) : undefined,
      qeForceRmsEvPerA: components ? Math.sqrt(qeSq / components) : undefined,
      totalEnergyRmseMeVPerAtom: 1000 * Math.sqrt(energySq / frames.length),
      bandEnergyRmseMeVPerAtom: noBand ? undefined : 1000 * Math.sqrt(bandSq / frames.length),
      fermiEnergyRmseMeV: noFermi ? undefined : 1000 * Math.sqrt(fermiSq / frames.length),
      densityErrorPercent: densityWeight > 0 ? 100 * Math.sqrt(densitySq / frames.length) : undefined,
      ldosRowsRms: Math.sqrt(ldosSq / frames.length),
    };
    history.push(rec);
    if (ck) {
      save({ kind: 'finetune', fingerprint: ck.fingerprint, epoch, rng: Array.from(rng.state()), history });
      lastSave = Date.now();
    }
    const forceText = rec.forceRmseEvPerA === undefined ? '' : `force RMSE ${rec.forceRmseEvPerA.toFixed(4)} eV/Å (QE's rms ${rec.qeForceRmsEvPerA!.toFixed(4)}), `;
    o.log?.(`epoch ${epoch}: before their steps, the frames' ${forceText}total-energy RMSE ${rec.totalEnergyRmseMeVPerAtom.toFixed(2)} meV/atom${rec.bandEnergyRmseMeVPerAtom === undefined ? '' : `, band-energy RMSE ${rec.bandEnergyRmseMeVPerAtom.toFixed(2)} meV/atom`}${rec.fermiEnergyRmseMeV === undefined ? '' : `, E_F RMSE ${rec.fermiEnergyRmseMeV.toFixed(1)} meV`}${rec.densityErrorPercent === undefined ? '' : `, density error ${rec.densityErrorPercent.toFixed(3)} %`}, LDOS rows' rms error ${rec.ldosRowsRms!.toExponential(2)} (scaled; ${set.ty ? 'against the targets' : 'from the network\'s starting outputs'})`);
  }
  return { weights: net.getParameters(), history };
}

/**
 * Fine-tunes the model's network, or every member of an ensemble (the result is then an ensemble of
 * the fine-tuned members); `history` is the first network's epochs, `memberHistories` every network's.
 */
export async function finetuneModel(o: FinetuneOptions): Promise<{ out: string; history: FinetuneEpoch[]; memberHistories: FinetuneEpoch[][] }> {
  const progress = o.progress ?? silentProgress;
  if (!Number.isInteger(o.epochs)) throw new MalaError(`--epochs must be a whole number, got ${o.epochs}`);
  for (const [name, v] of [['--epochs', o.epochs], ['--learning-rate', o.learningRate], ['--step', o.stepAngstrom]] as const) {
    if (!(v > 0) || !Number.isFinite(v)) throw new MalaError(`${name} must be positive, got ${v}`);
  }
  const bandWeight = o.bandWeight ?? 0;
  const fermiWeight = o.fermiWeight ?? 0;
  const densityWeight = o.densityWeight ?? 0;
  const ldosWeight = o.ldosWeight ?? 1;
  const anchorRowsPerFrame = o.anchorRowsPerFrame ?? 4096;
  if (!Number.isInteger(anchorRowsPerFrame) || anchorRowsPerFrame < 1) throw new MalaError(`--anchor-rows must be a whole number ≥ 1, got ${anchorRowsPerFrame}`);
  if (o.checkpointSeconds !== undefined && !(o.checkpointSeconds >= 0 && Number.isFinite(o.checkpointSeconds))) {
    throw new MalaError(`--checkpoint-minutes must be ≥ 0, got ${o.checkpointSeconds / 60}`);
  }
  for (const [name, v] of [['--force-weight', o.forceWeight], ['--energy-weight', o.energyWeight], ['--band-weight', bandWeight], ['--fermi-weight', fermiWeight], ['--density-weight', densityWeight], ['--ldos-weight', ldosWeight]] as const) {
    if (!(v >= 0) || !Number.isFinite(v)) throw new MalaError(`${name} must be ≥ 0, got ${v}`);
  }
  if (densityWeight > 0 && o.forceWeight > 0) {
    throw new MalaError('--density-weight needs --force-weight 0: the density term compares the stored descriptors\' rows with their LDOS targets, which energy-only runs read', { fix: 'run the density term in its own run with --force-weight 0' });
  }
  const data = readModelData(o.modelFile);
  if (data.outputScaler.featureWise || !data.outputScaler.minmax) {
    throw new MalaError(`finetune needs the global minmax output scaler (the model has ${data.outputScaler.typestring})`, { file: o.modelFile, fix: 'train the model with --output-scaling minmax (the default)' });
  }
  const snapshots = findSnapshots(o.dataDir, o.snapshots);
  // a folder of QE references (no .npy; findSnapshots never mixes the two): the LDOS rows are the network's own (the header)
  const qeReferences = !snapshots.every(hasLdos);
  if (qeReferences && densityWeight > 0) {
    throw new MalaError(`--density-weight needs each frame's LDOS target; the data folder holds QE references (pw.x outputs only, ${path.basename(snapshots[0].structureFile)})`, { file: o.dataDir, fix: 'drop --density-weight, or pass the folder mala-ts generate wrote' });
  }
  checkOutputs([{ path: o.out, kind: 'file', flag: '--out' }], [o.modelFile, ...snapshots.flatMap((s) => [s.descriptorsFile, s.ldosFile, s.structureFile].filter((f): f is string => f !== undefined))]);
  const frames = snapshots.map(readFrame);
  const noBand = frames.find((f) => f.qeBandEnergyEv === undefined);
  if (bandWeight > 0 && noBand) {
    throw new MalaError(`--band-weight needs QE's band energy of every frame; ${noBand.files.name} has none (band_energy_dft_calculation)`, { file: noBand.files.infoFile ?? noBand.files.structureFile, fix: 'use snapshots written by mala-ts generate, or drop --band-weight' });
  }
  const noFermi = frames.find((f) => f.qeFermiEnergyEv === undefined);
  if (fermiWeight > 0 && noFermi) {
    throw new MalaError(`--fermi-weight needs QE's Fermi energy of every frame; ${noFermi.files.name} has none (fermi_energy_dft)`, { file: noFermi.files.infoFile ?? noFermi.files.structureFile, fix: 'use snapshots written by mala-ts generate, or drop --fermi-weight' });
  }
  const nIn = data.spec.layerSizes[0];
  const nOut = data.spec.layerSizes[data.spec.layerSizes.length - 1];
  const terms = { frames, ldosWeight, bandWeight, fermiWeight, densityWeight, noBand: !!noBand, noFermi: !!noFermi };
  let set: TuningSet;
  if (qeReferences) {
    const tx = anchorRows(data, frames, anchorRowsPerFrame, o);
    set = { ...terms, tx, rows: tx.length / nIn };
  } else {
    const withLdos = snapshots as SnapshotWithLdos[];
    // the LDOS rows of all frames, on the model's axis and scaled as in training
    const axis = data.energyReference ? { reference: data.energyReference, spacingEv: data.energyGrid.spacingEv } : undefined;
    const loaded = loadPointData(withLdos.map((s) => ({ descriptors: s.descriptorsFile, ldos: s.ldosFile })), xyzColumnsOf(withLdos[0].descriptorsFile, nIn), nIn, nOut, axis);
    // scaled in place; only the density term needs the raw rows beside them (a hundred frames' rows
    // are gigabytes, and members are fine-tuned side by side: mk/al-broad.mk AL_BROAD_FT_JOBS)
    const keepRaw = densityWeight > 0;
    const tx = data.inputScaler.transform(keepRaw ? Float32Array.from(loaded.x) : loaded.x, nIn);
    const ty = data.outputScaler.transform(keepRaw ? Float32Array.from(loaded.y) : loaded.y, nOut);
    const points = keepRaw ? loaded : { ...loaded, x: new Float32Array(0), y: new Float32Array(0) };
    set = { ...terms, points, tx, ty, rows: loaded.nPoints };
  }
  // a checkpoint resumes only the run it was written by: the same model file, frames and options
  const fingerprint = JSON.stringify({
    model: sha256(fs.readFileSync(o.modelFile)),
    frames: frames.map((f) => f.files.name),
    options: [o.epochs, o.learningRate, o.forceWeight, o.energyWeight, bandWeight, fermiWeight, densityWeight, o.stepAngstrom, o.seed ?? 1,
      ...(ldosWeight !== 1 ? [ldosWeight] : []), ...(qeReferences ? ['qe-references', anchorRowsPerFrame] : [])],
  });
  // an ensemble: each member in turn, from the same frames, order and seed, as fine-tuning each
  // member's own file and combining them with mala-ts ensemble would
  const members = ensembleMembers(data);
  const checkpointOf = (k: number): NetworkCheckpoint | undefined =>
    o.checkpoint ? { file: members.length > 1 ? `${o.checkpoint.replace(/\.zip$/, '')}.member-${k + 1}.zip` : o.checkpoint, fingerprint: `${fingerprint} member ${k + 1} of ${members.length}` } : undefined;
  if (o.checkpoint) checkOutputs(members.map((_, k) => ({ path: checkpointOf(k)!.file, kind: 'file' as const, flag: '--checkpoint' })), [o.modelFile]);
  const comm = o.comm ?? serialComm;
  if (comm.size > 1 && members.length === 1) {
    throw new MalaError(`finetune runs on ${comm.size} MPI ranks but the model holds one network`, { file: o.modelFile, fix: 'fine-tune it in one process (no mpirun, no --np); ranks share the members of an ensemble' });
  }
  // this rank's members (all of them in one process); a rank without one still joins the exchange
  const mine = members.map((_, k) => k).filter((k) => k % comm.size === comm.rank);
  if (comm.rank === 0 && comm.size > members.length) o.log?.(`${comm.size} MPI ranks for ${members.length} members: ${comm.size - members.length} rank(s) have no member and wait`);
  progress.start('finetune', mine.length * o.epochs * frames.length, 'frames');
  const done = new Map<number, { weights: ModelData['weights']; history: FinetuneEpoch[] }>();
  for (const k of mine) {
    const member = members[k];
    // several members at once: each line says whose it is
    const log = comm.size > 1 && o.log ? (line: string) => o.log!(`member ${k + 1}: ${line}`) : o.log;
    if (members.length > 1) o.log?.(`member ${k + 1} of ${members.length}${member.seed === null ? '' : ` (seed ${member.seed})`}${comm.size > 1 ? ` on rank ${comm.rank}` : ''}`);
    done.set(k, await tuneNetwork(data, member.weights, set, { ...o, log }, progress, checkpointOf(k)));
  }
  progress.stop();
  let tuned: { weights: ModelData['weights']; seed: number | null; history: FinetuneEpoch[] }[];
  if (comm.size > 1) {
    const weights = shareFloat32Slots(comm, members.length, data.weights.map((w) => w.length), new Map([...done].map(([k, r]) => [k, r.weights])));
    const histories = shareTextSlots(comm, members.length, new Map([...done].map(([k, r]) => [k, JSON.stringify(r.history)])));
    tuned = members.map((m, k) => ({ weights: weights[k], seed: m.seed, history: JSON.parse(histories[k]) as FinetuneEpoch[] }));
  } else {
    tuned = members.map((m, k) => ({ ...done.get(k)!, seed: m.seed }));
  }
  const history = tuned[0].history;
  const finetune = {
    epochs: o.epochs, learningRate: o.learningRate, forceWeight: o.forceWeight, energyWeight: o.energyWeight, bandWeight, fermiWeight, densityWeight, ldosWeight, stepAngstrom: o.stepAngstrom,
    ldosRows: qeReferences ? { of: 'the network itself (QE references: no LDOS targets)', perFrame: anchorRowsPerFrame } : { of: 'the frames\' LDOS targets' },
    frames: frames.map((f) => f.files.name), history, ...(tuned.length > 1 ? { memberHistories: tuned.map((m) => m.history) } : {}) };
  const networks: Pick<ModelData, 'weights' | 'ensemble'> = tuned.length > 1 ? { weights: tuned[0].weights, ensemble: tuned.map((m) => ({ weights: m.weights, seed: m.seed })) } : { weights: tuned[0].weights, ensemble: undefined };
  if (comm.rank === 0) saveModelData(o.out, { ...data, ...networks, provenance: { ...(data.provenance ?? {}), finetune } });
  comm.barrier(); // the archive is written: each rank's checkpoints may go
  for (const k of mine) if (o.checkpoint) fs.rmSync(checkpointOf(k)!.file, { force: true });
  return { out: o.out, history, memberHistories: tuned.map((m) => m.history) };
}
