/**
 * Import a model saved by MALA itself (`Runner.save_run`, spec §4.4): a zip (or folder) with
 * `<name>.params.json`, `<name>.network.pth` (legacy or zip torch format), `<name>.iscaler.pkl|json`,
 * `<name>.oscaler.pkl|json` and optionally `<name>.info.json`. Everything is read in TypeScript.
 */
import { MalaError } from '../errors';
import { bispectrumCount, bispectrumRangeProblem } from '../descriptors/bispectrum-parameters';
import { malaModelDescriptorDefaults } from '../descriptors/mala-defaults';
import { makeEnergyGrid } from '../targets/energy-grid';
import { activationsFromMala, parameterShapes, type NetworkSpec } from './mlp';
import type { DescriptorParameters, ModelData, ReferenceData } from './model-data';
import { PickleError, PyObject, unpickle } from './pickle';
import { DataScaler } from './scalers';
import { checkTensorView, readLegacyTorch, readStateDict } from './torch-pickle';

/** Plain object from pickled attribute dicts (Map) with tensors left as {shape, data}. */
function mapToObject(v: unknown): Record<string, unknown> {
  if (!(v instanceof Map)) throw new PickleError('scaler pickle state is not a dict');
  const o: Record<string, unknown> = {};
  for (const [k, x] of v) o[String(k)] = x;
  return o;
}

/** A legacy MALA scaler pickle (`*.iscaler.pkl`): DataScaler object with tensors inside. */
export function readScalerPickle(buf: Uint8Array, where: string): DataScaler {
  const cls = { 'mala.datahandling.data_scaler.DataScaler': () => new PyObject('DataScaler') };
  const { value } = unpickle(buf, 0, {
    findClass(module, name) {
      const full = `${module}.${name}`;
      if (full in cls) return cls[full as keyof typeof cls];
      // Tensors inside the pickle are reduced through torch's helpers; reuse the torch reader's hooks.
      return torchHooks.findClass(module, name);
    },
  });
  if (!(value instanceof PyObject)) throw new MalaError('scaler pickle does not hold a MALA DataScaler', { file: where });
  return DataScaler.fromMala(mapToObject(value.state), where);
}

// The torch-side globals (rebuild_tensor_v2, _load_from_bytes, OrderedDict) as readLegacyTorch resolves them.
const torchHooks = {
  findClass(module: string, name: string): (...a: unknown[]) => unknown {
    const full = `${module}.${name}`;
    if (full === 'torch.storage._load_from_bytes') return (b: unknown) => readLegacyTorch(b as Uint8Array).value;
    if (full === 'collections.OrderedDict') return () => new Map();
    if (full === 'torch._utils._rebuild_tensor_v2' || full === 'torch._utils._rebuild_tensor') {
      return (storage: unknown, offset: unknown, size: unknown, stride: unknown) => rebuildFromStorage(storage, Number(offset), (size as number[]).map(Number), (stride as number[]).map(Number));
    }
    throw new PickleError(`unsupported Python object '${full}' in a scaler pickle`);
  },
};

function rebuildFromStorage(storage: unknown, offset: number, shape: number[], stride: number[]): { shape: number[]; data: Float32Array | Float64Array } {
  const src = (storage as { data?: Float32Array | Float64Array }).data;
  if (!src) throw new PickleError('tensor storage without data in scaler pickle');
  const n = checkTensorView('of a scaler', src.length, offset, shape, stride);
  const out = src instanceof Float32Array ? new Float32Array(n) : new Float64Array(n);
  const idx = new Array<number>(shape.length).fill(0);
  for (let k = 0; k < n; k++) {
    let s = offset;
    for (let d = 0; d < shape.length; d++) s += idx[d] * stride[d];
    out[k] = src[s];
    for (let d = shape.length - 1; d >= 0; d--) {
      if (++idx[d] < shape[d]) break;
      idx[d] = 0;
    }
  }
  return { shape, data: out };
}

/** The members of a MALA model zip this importer reads (others are never decompressed). */
export function isMalaModelMember(name: string): boolean {
  return /\.(params|info|iscaler|oscaler)\.json$|\.(iscaler|oscaler)\.pkl$|\.network\.pth$/.test(name);
}

function findMember(files: Record<string, Uint8Array>, suffixes: string[]): [string, Uint8Array] | undefined {
  for (const suf of suffixes) {
    const name = Object.keys(files).find((n) => n.endsWith(suf) && !n.startsWith('__MACOSX'));
    if (name) return [name, files[name]];
  }
  return undefined;
}

function readScaler(files: Record<string, Uint8Array>, kind: 'iscaler' | 'oscaler', where: string): DataScaler {
  const json = findMember(files, [`.${kind}.json`]);
  if (json) {
    // Python's json writes ±inf/nan as bare Infinity/NaN tokens (unused totals of the scaler).
    const text = Buffer.from(json[1]).toString('utf8').replace(/(-?Infinity|NaN)(?=\s*[,}\]])/g, '"$1"');
    const o = JSON.parse(text) as Record<string, unknown>;
    return DataScaler.fromMala(o, `${where}:${json[0]}`);
  }
  const pkl = findMember(files, [`.${kind}.pkl`]);
  if (!pkl) throw new MalaError(`MALA model has no ${kind} (.${kind}.json or .${kind}.pkl)`, { file: where, fix: 'pass the complete zip written by MALA save_run' });
  return readScalerPickle(pkl[1], `${where}:${pkl[0]}`);
}

/** Convert a MALA model's members (name → bytes) into our model data. */
export function importMalaModel(files: Record<string, Uint8Array>, where: string): ModelData {
  try {
    return importUnchecked(files, where);
  } catch (e) {
    if (e instanceof MalaError) throw e;
    throw new MalaError(`cannot read MALA model: ${(e as Error).message}`, { file: where, fix: 'the zip may be damaged or truncated; re-export it with MALA save_run', cause: e });
  }
}

function importUnchecked(files: Record<string, Uint8Array>, where: string): ModelData {
  const paramsFile = findMember(files, ['.params.json']);
  const pth = findMember(files, ['.network.pth']);
  if (!paramsFile || !pth) throw new MalaError('not a MALA model: .params.json or .network.pth missing', { file: where, fix: 'pass a zip written by MALA (Runner.save_run) or a mala-ts model' });
  const params = JSON.parse(Buffer.from(paramsFile[1]).toString('utf8')) as Record<string, Record<string, unknown>>;
  const net = params.network ?? {};
  if (net.nn_type !== undefined && net.nn_type !== 'feed-forward') throw new MalaError(`unsupported MALA network type '${String(net.nn_type)}'`, { file: where, fix: 'only feed-forward networks exist in MALA 1.4' });
  const layerSizes = (net.layer_sizes as number[]).map(Number);
  const spec: NetworkSpec = {
    layerSizes,
    activations: activationsFromMala(net.layer_activations as string | string[], layerSizes.length - 1, net.layer_activations_include_output_layer !== false),
  };
  // Linear layers in state_dict order: layers.<i>.weight / .bias with increasing i.
  const sd = readStateDict(pth[1]);
  const linear = new Map<number, { w?: Float32Array; b?: Float32Array }>();
  for (const [k, t] of sd) {
    const m = /(?:^|\.)(\d+)\.(weight|bias)$/.exec(k);
    if (!m) continue;
    const e = linear.get(Number(m[1])) ?? {};
    e[m[2] === 'weight' ? 'w' : 'b'] = Float32Array.from(t.data);
    linear.set(Number(m[1]), e);
  }
  const ordered = [...linear.entries()].sort((a, b) => a[0] - b[0]).map(([, v]) => v);
  const shapes = parameterShapes(spec);
  if (ordered.length !== layerSizes.length - 1) throw new MalaError(`network.pth has ${ordered.length} Linear layers, params.json says ${layerSizes.length - 1}`, { file: where });
  const weights: Float32Array[] = [];
  ordered.forEach((l, i) => {
    for (const [arr, shape] of [[l.w, shapes[2 * i]], [l.b, shapes[2 * i + 1]]] as const) {
      const n = shape.reduce((a, b) => a * b, 1);
      if (!arr || arr.length !== n) throw new MalaError(`network.pth layer ${i}: expected ${shape.join('×')} values, found ${arr?.length ?? 'none'}`, { file: where });
      weights.push(arr);
    }
  });
  const d = params.descriptors ?? {};
  if (d.descriptor_type !== undefined && d.descriptor_type !== 'Bispectrum') throw new MalaError(`unsupported descriptor type '${String(d.descriptor_type)}'`, { file: where, fix: 'mala-ts computes bispectrum descriptors only' });
  const mala = malaModelDescriptorDefaults;
  const descriptors: DescriptorParameters = {
    ...mala,
    twojmax: Number(d.bispectrum_twojmax ?? mala.twojmax),
    rcutfac: Number(d.bispectrum_cutoff ?? mala.rcutfac),
    switchflag: Number(d.bispectrum_switchflag ?? mala.switchflag) > 0 ? 1 : 0,
    elementWeights: Array.isArray(d.bispectrum_element_weights) ? (d.bispectrum_element_weights as number[]).map(Number) : null,
  };
  // params.json's twojmax must give the network's input width (a mismatch predicts from other descriptors)
  if (!bispectrumRangeProblem({ twojmax: descriptors.twojmax, rcutfacAngstrom: descriptors.rcutfac, rfac0: descriptors.rfac0, rmin0Angstrom: descriptors.rmin0 })) {
    const count = bispectrumCount(descriptors.twojmax, descriptors.quadraticflag ? 1 : 0);
    if (count !== layerSizes[0]) {
      throw new MalaError(`params.json's bispectrum_twojmax ${descriptors.twojmax} gives ${count} descriptors per point, but the network's input layer takes ${layerSizes[0]}`, {
        file: where,
        fix: 'the model files do not belong together: set bispectrum_twojmax to the value the network was trained with, or export the model again',
      });
    }
  }
  const t = params.targets ?? {};
  if (Array.isArray(t.ldos_gridsize)) throw new MalaError('split LDOS energy grids are not supported', { file: where });
  const energyGrid = makeEnergyGrid(Number(t.ldos_gridoffset_ev), Number(t.ldos_gridspacing_ev), Number(t.ldos_gridsize));
  if (energyGrid.count !== layerSizes[layerSizes.length - 1]) throw new MalaError(`energy grid has ${energyGrid.count} points but the network outputs ${layerSizes[layerSizes.length - 1]}`, { file: where });
  const info = findMember(files, ['.info.json']);
  let reference: ReferenceData | null = null;
  if (info) {
    const j = JSON.parse(Buffer.from(info[1]).toString('utf8')) as Record<string, unknown>;
    reference = {
      temperatureK: j.temperature as number | undefined,
      electronsPerAtom: j.electrons_per_atom as number | undefined,
      numberOfElectrons: j.number_of_electrons_exact as number | undefined,
      gridDimensions: j.grid_dimensions as number[] | undefined,
      malaInfo: j,
    };
  }
  return {
    spec,
    weights,
    inputScaler: readScaler(files, 'iscaler', where),
    outputScaler: readScaler(files, 'oscaler', where),
    descriptors,
    energyGrid,
    restrictTargets: (t.restrict_targets as string | undefined) === 'absolute_values' ? 'absolute_values' : 'zero_out_negative',
    reference,
    provenance: { source: 'mala', file: where, malaParams: params },
  };
}
