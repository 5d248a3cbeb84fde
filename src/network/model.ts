/**
 * The LDOS model: network + scalers + descriptor parameters + energy grid (+ reference DFT data),
 * its archive format, and chunked inference.
 *
 * Archive format "mala-ts-model", version 1 — a zip (stored, uncompressed) holding:
 *   model.json          everything but the weights (see ModelJson below; scalers in MALA's
 *                       JSON scaler format; `weights.sha256` guards the weights file)
 *   weights.safetensors float32 tensors named as MALA's nn.Sequential state_dict
 *                       (`layers.0.weight` [out,in], `layers.0.bias`, `layers.2.weight`, ...)
 * In Python: `z = zipfile.ZipFile(p); meta = json.loads(z.read('model.json'));
 * w = safetensors.numpy.load(z.read('weights.safetensors'))` (or unzip and use the folder:
 * `loadModel` accepts the unpacked folder too). Checkpoints are the same archive with
 * `training` state in model.json and `optimizer.*` tensors added.
 * An ensemble (networks of one architecture and scalers, trained with different seeds) adds
 * `ensemble.members` to model.json: each member's seed and weights file with its sha256; member 0
 * is `weights.safetensors`, member k `weights.member-k.safetensors`. Without the field: one network.
 * Written atomically (temporary file + rename): a crash never leaves a broken model behind.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { unzipSync, zipSync } from 'fflate';
import { checkInputFile } from '../io/input-file';
import { MalaError } from '../errors';
import { writeFileAtomic } from '../io/atomic-write';
import type { EnergyGrid } from '../targets/energy-grid';
import { makeEnergyGrid } from '../targets/energy-grid';
import { smallWorkReason } from './small-work';
import { createInferenceNet, netDeviceChoice, NON_FINITE_INPUT, requireVjp, type CreateNetOptions, type InferenceNet } from './backends';
import { float64Path } from './backends/ts';
import type { DeviceChoice } from './device';
import { importMalaModel, isMalaModelMember } from './mala-import';
import { checkZipMemberSize } from './torch-pickle';
import { checkModelBispectrumRanges } from '../descriptors/bispectrum-parameters';
import { checkParametersFinite, checkSpec, parameterShapes, type NetworkSpec } from './mlp';
import { ensembleMembers, type DescriptorParameters, type EnsembleMember, type ModelData, type ReferenceData } from './model-data';
import type { TrainingDomain } from '../domain/training-domain';
import { decodeSafetensors, encodeSafetensors, type NamedTensor } from './safetensors';
import { DataScaler, type ScalerJson } from './scalers';
import { programName } from '../util/package-paths';
import { checkEnergyReference, type EnergyReference } from '../targets/energy-reference';

// The model's data types live in model-data.ts (mala-import.ts builds them too); callers keep importing them from here.
export type { DescriptorParameters, EnsembleMember, ModelData, ReferenceData, TrainingState } from './model-data';
export { ensembleMembers } from './model-data';

export const MODEL_FORMAT = 'mala-ts-model';
export const MODEL_FORMAT_VERSION = 2;
/** Archives without an energy reference are written as version 1, so that older readers still take them. */
const FORMAT_VERSION_PLAIN = 1;
/** Points per forward call: 1k–8k keep activations in cache (spec/nn-backend-notes.md §2D). */
export const DEFAULT_CHUNK_POINTS = 4096;

interface ModelJson {
  format: string;
  formatVersion: number;
  createdBy: string;
  network: { type: 'feed-forward'; layerSizes: number[]; activations: (string | null)[]; parameterNames: string[] };
  inputScaler: ScalerJson;
  outputScaler: ScalerJson;
  descriptors: DescriptorParameters & { nFeatures: number };
  energyGrid: EnergyGrid;
  /** Since format version 2. */
  energyReference?: EnergyReference;
  target: { type: 'LDOS'; unit: '1/(eV*A^3)'; restrictTargets: string };
  reference: ReferenceData | null;
  provenance?: Record<string, unknown>;
  /** The training domain (src/domain/training-domain.ts, own `version`); absent in older archives. */
  domain?: TrainingDomain;
  weights: { file: string; sha256: string };
  /** Two or more networks (ensembleMembers); absent: the one network of `weights`. */
  ensemble?: { members: { seed: number | null; weights: { file: string; sha256: string } }[] };
  training?: { state: Record<string, unknown>; optimizerStep: number };
}

/** Names as MALA's FeedForwardNet.layers (nn.Sequential: Linear, activation, Linear, ...). */
export function parameterNames(spec: NetworkSpec): string[] {
  const names: string[] = [];
  let idx = 0;
  spec.activations.forEach((a) => {
    names.push(`layers.${idx}.weight`, `layers.${idx}.bias`);
    idx += a === null ? 1 : 2;
  });
  return names;
}

/** Hex sha256 of bytes (model files, weights checksums). */
export function sha256(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}

const version = programName;

/** Bytes of the archive (zip) for model data. */
export function encodeModel(m: ModelData): Uint8Array {
  const names = parameterNames(m.spec);
  const shapes = parameterShapes(m.spec);
  const tensors: NamedTensor[] = m.weights.map((w, i) => ({ name: names[i], shape: shapes[i], data: w }));
  if (m.training) {
    m.training.optimizer.expAvg.forEach((w, i) => tensors.push({ name: `optimizer.exp_avg.${names[i]}`, shape: shapes[i], data: w }));
    m.training.optimizer.expAvgSq.forEach((w, i) => tensors.push({ name: `optimizer.exp_avg_sq.${names[i]}`, shape: shapes[i], data: w }));
  }
  const weightBytes = encodeSafetensors(tensors, { format: MODEL_FORMAT });
  const members = m.ensemble && m.ensemble.length > 1 ? m.ensemble : undefined;
  if (members && m.training) throw new Error('a training checkpoint holds one network, not an ensemble');
  if (members && members[0].weights !== m.weights) throw new Error('ensemble member 0 must be the model\'s weights');
  const memberFiles: Record<string, Uint8Array> = {};
  const memberJson = members?.map((mem, k) => {
    if (k === 0) return { seed: mem.seed, weights: { file: 'weights.safetensors', sha256: sha256(weightBytes) } };
    const file = `weights.member-${k}.safetensors`;
    const bytes = encodeSafetensors(mem.weights.map((w, i) => ({ name: names[i], shape: shapes[i], data: w })), { format: MODEL_FORMAT });
    memberFiles[file] = bytes;
    return { seed: mem.seed, weights: { file, sha256: sha256(bytes) } };
  });
  const json: ModelJson = {
    format: MODEL_FORMAT,
    // version 2 only with an energy reference: a reader that ignored it would be wrong by the shift
    formatVersion: m.energyReference ? MODEL_FORMAT_VERSION : FORMAT_VERSION_PLAIN,
    createdBy: version(),
    network: { type: 'feed-forward', layerSizes: m.spec.layerSizes, activations: m.spec.activations, parameterNames: names },
    inputScaler: m.inputScaler.toJSON(),
    outputScaler: m.outputScaler.toJSON(),
    descriptors: { ...m.descriptors, nFeatures: m.spec.layerSizes[0] },
    energyGrid: m.energyGrid,
    energyReference: m.energyReference,
    target: { type: 'LDOS', unit: '1/(eV*A^3)', restrictTargets: m.restrictTargets },
    reference: m.reference,
    provenance: m.provenance,
    domain: m.domain,
    weights: { file: 'weights.safetensors', sha256: sha256(weightBytes) },
    ensemble: memberJson ? { members: memberJson } : undefined,
    training: m.training ? { state: m.training.state, optimizerStep: m.training.optimizer.step } : undefined,
  };
  const jsonBytes = Buffer.from(JSON.stringify(json, null, 1), 'utf8');
  const zip: Parameters<typeof zipSync>[0] = { 'model.json': [jsonBytes, { level: 0 }], 'weights.safetensors': [weightBytes, { level: 0 }] };
  for (const [file, bytes] of Object.entries(memberFiles)) zip[file] = [bytes, { level: 0 }];
  return zipSync(zip);
}

/** Write the archive atomically. */
export function saveModelData(file: string, m: ModelData): void {
  writeFileAtomic(file, encodeModel(m));
}

function decodeOurs(files: Record<string, Uint8Array>, where: string): ModelData {
  const bad = (msg: string, cause?: unknown) => new MalaError(`damaged mala-ts model: ${msg}`, { file: where, fix: 'the file is corrupted or truncated; re-train or re-export the model', cause });
  let j: ModelJson;
  try {
    j = JSON.parse(Buffer.from(files['model.json']).toString('utf8')) as ModelJson;
  } catch (e) {
    throw bad(`model.json is not valid JSON (${(e as Error).message})`, e);
  }
  if (j.format !== MODEL_FORMAT) throw bad(`model.json format is '${j.format}'`);
  if (!(j.formatVersion >= 1) || j.formatVersion > MODEL_FORMAT_VERSION) {
    throw new MalaError(`model format version ${j.formatVersion} is newer than this mala-ts understands (${MODEL_FORMAT_VERSION})`, { file: where, fix: 'update mala-ts' });
  }
  const wb = files[j.weights?.file ?? 'weights.safetensors'];
  if (!wb) throw bad(`${j.weights?.file} missing`);
  if (sha256(wb) !== j.weights.sha256) throw bad(`${j.weights.file} does not match its checksum in model.json`);
  const spec: NetworkSpec = { layerSizes: j.network.layerSizes, activations: j.network.activations as NetworkSpec['activations'] };
  checkSpec(spec, where);
  let st: ReturnType<typeof decodeSafetensors>;
  try {
    st = decodeSafetensors(wb);
  } catch (e) {
    throw bad((e as Error).message, e);
  }
  const shapes = parameterShapes(spec);
  const pick = (name: string, i: number): Float32Array => {
    const t = st.tensors.get(name);
    const n = shapes[i].reduce((a, b) => a * b, 1);
    if (!t || t.data.length !== n) throw bad(`tensor ${name} missing or not of shape ${shapes[i].join('×')}`);
    return t.data;
  };
  const names = j.network.parameterNames ?? parameterNames(spec);
  const weights = names.map(pick);
  const ensemble = j.ensemble ? decodeMembers(j, files, weights, names, shapes, bad) : undefined;
  const m: ModelData = {
    spec,
    weights,
    inputScaler: DataScaler.fromMala(j.inputScaler as unknown as Record<string, unknown>, `${where}:model.json inputScaler`),
    outputScaler: DataScaler.fromMala(j.outputScaler as unknown as Record<string, unknown>, `${where}:model.json outputScaler`),
    descriptors: (({ nFeatures: _n, ...rest }) => rest)(j.descriptors),
    energyGrid: makeEnergyGrid(j.energyGrid.offsetEv, j.energyGrid.spacingEv, j.energyGrid.count),
    ...(j.energyReference !== undefined ? { energyReference: checkEnergyReference(j.energyReference, where) } : {}),
    restrictTargets: j.target?.restrictTargets === 'absolute_values' ? 'absolute_values' : 'zero_out_negative',
    reference: j.reference ?? null,
    provenance: j.provenance,
    domain: j.domain,
    ensemble,
  };
  if (j.training) {
    m.training = {
      state: j.training.state,
      optimizer: { step: j.training.optimizerStep, expAvg: names.map((n, i) => pick(`optimizer.exp_avg.${n}`, i)), expAvgSq: names.map((n, i) => pick(`optimizer.exp_avg_sq.${n}`, i)) },
    };
  }
  if (m.energyGrid.count !== spec.layerSizes[spec.layerSizes.length - 1]) throw bad(`energy grid of ${m.energyGrid.count} points but ${spec.layerSizes[spec.layerSizes.length - 1]} network outputs`);
  return m;
}

/** The ensemble's members from model.json's `ensemble` (member 0 is `weights`), each checked against its sha256. */
function decodeMembers(j: ModelJson, files: Record<string, Uint8Array>, weights: Float32Array[], names: string[], shapes: number[][], bad: (msg: string) => MalaError): EnsembleMember[] {
  const list = j.ensemble?.members;
  if (!Array.isArray(list) || list.length < 1) throw bad('model.json ensemble.members is not a list of members');
  return list.map((mem, k) => {
    const seed = typeof mem?.seed === 'number' ? mem.seed : null;
    if (k === 0) {
      if (mem?.weights?.file !== (j.weights?.file ?? 'weights.safetensors')) throw bad(`ensemble member 0 must be ${j.weights?.file}, not ${mem?.weights?.file}`);
      return { weights, seed };
    }
    const wb = files[mem?.weights?.file];
    if (!wb) throw bad(`ensemble member ${k}: ${mem?.weights?.file} missing`);
    if (sha256(wb) !== mem.weights.sha256) throw bad(`ensemble member ${k}: ${mem.weights.file} does not match its checksum in model.json`);
    let st: ReturnType<typeof decodeSafetensors>;
    try {
      st = decodeSafetensors(wb);
    } catch (e) {
      throw bad(`ensemble member ${k}: ${(e as Error).message}`);
    }
    return {
      seed,
      weights: names.map((name, i) => {
        const t = st.tensors.get(name);
        const n = shapes[i].reduce((a, b) => a * b, 1);
        if (!t || t.data.length !== n) throw bad(`ensemble member ${k}: tensor ${name} missing or not of shape ${shapes[i].join('×')}`);
        return t.data;
      }),
    };
  });
}

/** Read model data from our archive (zip or unpacked folder) or a MALA model (zip or folder). */
export function readModelData(file: string): ModelData {
  let files: Record<string, Uint8Array>;
  let stat: fs.Stats;
  try {
    stat = fs.statSync(file);
  } catch (e) {
    throw new MalaError(`model not found`, { file, fix: 'check the --model path', cause: e });
  }
  checkInputFile(file, 'model', { allowDirectory: true }); // not /dev/zero, not a FIFO
  if (stat.isDirectory()) {
    files = {};
    for (const n of fs.readdirSync(file)) {
      const p = path.join(file, n);
      if (fs.statSync(p).isFile()) files[n] = fs.readFileSync(p);
    }
  } else {
    const buf = fs.readFileSync(file);
    if (buf.byteLength < 22 || buf[0] !== 0x50 || buf[1] !== 0x4b) {
      throw new MalaError('not a model archive (not a zip file)', { file, fix: 'pass a mala-ts model (.zip with model.json) or a MALA model zip' });
    }
    try {
      // only the members a model needs, each bounded by its declared size (an unused 5 GiB member was inflated whole)
      files = unzipSync(buf, { filter: (f) => (f.name === 'model.json' || f.name.endsWith('.safetensors') || isMalaModelMember(f.name)) && checkZipMemberSize(f.name, f.originalSize, 'model archive') });
    } catch (e) {
      throw new MalaError(`damaged model archive: ${(e as Error).message}`, { file, fix: 'the file is truncated or corrupted; re-train or re-export the model', cause: e });
    }
  }
  const m = files['model.json'] ? decodeOurs(files, file) : importMalaModel(files, file);
  checkModelBispectrumRanges(m.descriptors, file); // rcutfac = 1e6 ran into 6 GB
  checkParametersFinite(m.spec, m.weights, file);
  for (const member of m.ensemble?.slice(1) ?? []) checkParametersFinite(m.spec, member.weights, file); // every ensemble member, not only the first
  return m;
}

/** A loaded model, ready for inference. */
export class LdosModel {
  readonly data: ModelData;
  readonly source: string;
  private net?: InferenceNet;
  private backendOpts: CreateNetOptions;
  private memberModels?: LdosModel[];

  constructor(data: ModelData, source = '<memory>', opts: CreateNetOptions = {}) {
    checkSpec(data.spec, source);
    this.data = data;
    this.source = source;
    this.backendOpts = opts;
    const nIn = data.spec.layerSizes[0];
    const nOut = this.nEnergies;
    if (data.inputScaler.featureWise && data.inputScaler.nFeatures !== nIn) throw new MalaError(`input scaler has ${data.inputScaler.nFeatures} features, network ${nIn}`, { file: source });
    if (data.outputScaler.featureWise && data.outputScaler.nFeatures !== nOut) throw new MalaError(`output scaler has ${data.outputScaler.nFeatures} features, network ${nOut}`, { file: source });
  }

  /** Networks in the model (1 unless it is an ensemble). */
  get ensembleSize(): number {
    return ensembleMembers(this.data).length;
  }

  /**
   * One model per ensemble member (same scalers, energy grid, backend options), each with its own
   * network; `[this]` for a single network.
   */
  members(): LdosModel[] {
    if (this.ensembleSize === 1) return [this];
    if (!this.memberModels) {
      // member 0's weights are this model's: its network is this one's (created once)
      this.memberModels = ensembleMembers(this.data).map((mem, k) =>
        k === 0 ? this : new LdosModel({ ...this.data, weights: mem.weights, ensemble: undefined, provenance: { ...this.data.provenance, seed: mem.seed } }, `${this.source} (member ${k + 1})`, this.backendOpts),
      );
    }
    return this.memberModels;
  }

  /** Descriptor features per point the network expects (without xyz columns). */
  get nFeatures(): number {
    return this.data.spec.layerSizes[0];
  }
  /** LDOS energies per point. */
  get nEnergies(): number {
    return this.data.spec.layerSizes[this.data.spec.layerSizes.length - 1];
  }

  /**
   * Before the first network is made: when nobody chose a backend and the work is small (points ×
   * multiply-adds × networks below SMALL_WORK_MACS), use the TypeScript network, which is done
   * before libtorch would have loaded (src/network/small-work.ts). Returns the reason when it did.
   */
  chooseBackendForWork(points: number): string | undefined {
    if (this.net || this.memberModels) return this.smallWorkReason;
    const reason = smallWorkReason({ backend: this.backendOpts.backend, device: this.backendOpts.device, spec: this.data.spec, points, networks: this.ensembleSize });
    if (reason) {
      this.backendOpts = { ...this.backendOpts, backend: 'ts' };
      this.smallWorkReason = reason;
    }
    return reason;
  }
  private smallWorkReason?: string;

  /** The compute backend (created on first use; libtorch when available). */
  backend(): InferenceNet {
    if (!this.net) {
      this.net = createInferenceNet(this.data.spec, this.data.weights, this.backendOpts);
      const { inputScaler: i, outputScaler: o } = this.data;
      const none = new Float32Array(0);
      this.net.setScaling({
        inShift: i.isIdentity ? none : i.shift, inScale: i.isIdentity ? none : i.scale,
        outShift: o.isIdentity ? none : o.shift, outScale: o.isIdentity ? none : o.scale,
        restrict: this.data.restrictTargets,
      });
    }
    return this.net;
  }

  /** The device the network runs on and why (creates the backend: a CUDA request that cannot be met throws here). */
  deviceChoice(): DeviceChoice {
    const net = this.backend();
    const choice = netDeviceChoice(net) ?? { device: net.device, requested: this.backendOpts.device ?? 'auto', reason: 'set by the caller' };
    return this.smallWorkReason ? { ...choice, reason: this.smallWorkReason } : choice;
  }

  /** The backend's registered name ('torch', 'ts', ...). */
  backendName(): string {
    return this.backend().name;
  }

  /** Whether the backend can back-propagate to its inputs (forces). */
  supportsVjp(): boolean {
    return typeof this.backend().predictVjp === 'function';
  }

  /**
   * ∂(Σ cotangent·LDOS)/∂descriptors for nPoints rows (predictLdosVjp's gradient) (the network part of the forces):
   * the backend's predictVjp through scaling, net, unscaling and the clamp. With `float64`, the
   * ts backend's float64 checking path (finite-difference tests), descriptors may then be float64.
   */
  async descriptorGradient(descriptors: Float32Array | Float64Array, nPoints: number, cotangent: Float64Array, opts: { float64?: boolean; pointOffset?: number } = {}): Promise<Float64Array> {
    if (opts.float64) return float64Path(this.backend()).predictVjpFloat64(descriptors, nPoints, cotangent).gradInput;
    if (!(descriptors instanceof Float32Array)) throw new Error('descriptorGradient: float64 descriptors need the float64 path');
    return (await this.predictLdosVjp(descriptors, nPoints, cotangent, { pointOffset: opts.pointOffset, chunkPoints: nPoints })).gradDescriptors;
  }

  /** The LDOS in float64 throughout (the ts backend's checking path; see descriptorGradient). */
  predictLdosFloat64(descriptors: Float32Array | Float64Array, nPoints: number): Float64Array {
    return float64Path(this.backend()).predictFloat64(descriptors, nPoints);
  }

  /**
   * LDOS in 1/(eV·Å³) for nPoints rows of descriptors (nFeatures each, xyz columns already
   * dropped, unscaled): scale → network → unscale → negatives to 0 (MALA's restrict_targets).
   * Big inputs run in chunks of DEFAULT_CHUNK_POINTS (on a GPU in one call: the addon batches its
   * pinned transfers itself, and small calls would leave the GPU idle); the caller's array is not modified.
   */
  async predictLdos(descriptors: Float32Array, nPoints: number, opts: { chunkPoints?: number; onChunk?: (points: number) => void; /** index of the first point, for error messages */ pointOffset?: number } = {}): Promise<Float32Array> {
    const nIn = this.nFeatures;
    const nOut = this.nEnergies;
    this.checkDescriptors(descriptors, nPoints);
    const out = new Float32Array(nPoints * nOut);
    const net = this.backend();
    const chunk = Math.max(1, opts.chunkPoints ?? (net.device.startsWith('cuda') ? Math.max(1, nPoints) : DEFAULT_CHUNK_POINTS));
    for (let p0 = 0; p0 < nPoints; p0 += chunk) {
      const n = Math.min(chunk, nPoints - p0);
      // Scaling, network, unscaling and the clamp all run in the backend (off the main thread
      // with libtorch); the chunk is a view of the caller's array, never modified.
      const x = descriptors.subarray(p0 * nIn, (p0 + n) * nIn);
      try {
        await net.predict(x, n, out.subarray(p0 * nOut, (p0 + n) * nOut));
      } catch (e) {
        throw this.locateNonFinite(e, x, (opts.pointOffset ?? 0) + p0);
      }
      opts.onChunk?.(n);
    }
    return out;
  }

  /**
   * predictLdos and its vector–Jacobian product (forces): for ldosCotangent = ∂E/∂LDOS (nPoints ×
   * nEnergies), gradDescriptors = ∂E/∂descriptors (nPoints × nFeatures) through the input scaling,
   * the network, the unscaling and the clamp (InferenceNet.predictVjp), in the same chunks as
   * predictLdos. A backend without a vjp gives one MalaError (requireVjp).
   */
  async predictLdosVjp(descriptors: Float32Array, nPoints: number, ldosCotangent: Float64Array, opts: { chunkPoints?: number; pointOffset?: number } = {}): Promise<{ ldos: Float32Array; gradDescriptors: Float64Array }> {
    const nIn = this.nFeatures;
    const nOut = this.nEnergies;
    this.checkDescriptors(descriptors, nPoints);
    if (ldosCotangent.length !== nPoints * nOut) throw new MalaError(`the LDOS cotangent has ${ldosCotangent.length} values, expected ${nPoints * nOut} (${nPoints} points × ${nOut} energies)`);
    const net = this.backend();
    const vjp = requireVjp(net);
    const ldos = new Float32Array(nPoints * nOut);
    const gradDescriptors = new Float64Array(nPoints * nIn);
    const chunk = Math.max(1, opts.chunkPoints ?? (net.device.startsWith('cuda') ? Math.max(1, nPoints) : DEFAULT_CHUNK_POINTS));
    for (let p0 = 0; p0 < nPoints; p0 += chunk) {
      const n = Math.min(chunk, nPoints - p0);
      const x = descriptors.subarray(p0 * nIn, (p0 + n) * nIn);
      try {
        const r = await vjp(x, n, ldosCotangent.subarray(p0 * nOut, (p0 + n) * nOut));
        ldos.set(r.out, p0 * nOut);
        gradDescriptors.set(r.gradInput, p0 * nIn);
      } catch (e) {
        throw this.locateNonFinite(e, x, (opts.pointOffset ?? 0) + p0);
      }
    }
    return { ldos, gradDescriptors };
  }

  private checkDescriptors(descriptors: Float32Array, nPoints: number): void {
    const nIn = this.nFeatures;
    if (!Number.isInteger(nPoints) || nPoints < 0) throw new MalaError(`invalid point count ${nPoints}`);
    if (descriptors.length !== nPoints * nIn) {
      const per = nPoints > 0 ? descriptors.length / nPoints : NaN;
      throw new MalaError(`descriptors have ${Number.isInteger(per) ? per : descriptors.length + ' values for ' + nPoints + ' points, i.e. ' + per.toFixed(2)} features per point but the model ${this.source} expects ${nIn}`, {
        fix: per === nIn + 3 ? 'drop the 3 leading xyz columns (MALA .in.npy files carry them)' : 'compute descriptors with the twojmax the model was trained with',
      });
    }
  }

  /** A backend's non-finite-input error as a MalaError naming the point and feature; other errors unchanged. */
  private locateNonFinite(e: unknown, x: Float32Array, firstPoint: number): unknown {
    if (!String((e as Error).message).includes(NON_FINITE_INPUT)) return e;
    const nIn = this.nFeatures;
    const i = x.findIndex((v) => !Number.isFinite(v));
    return new MalaError(`descriptor ${i % nIn} of grid point ${firstPoint + Math.floor(i / nIn)} is ${x[i]}`, { fix: 'the descriptor file is damaged or was computed from a broken structure; recompute it' });
  }

  /** Save as a mala-ts archive (atomically). Inference never changes the weights, so they are the loaded ones. */
  save(file: string): void {
    saveModelData(file, { ...this.data, training: undefined });
  }
}

/** Load a mala-ts model (zip or folder) or a MALA model zip/folder. */
export function loadModel(file: string, opts: CreateNetOptions = {}): LdosModel {
  return new LdosModel(readModelData(file), file, opts);
}
