/**
 * The registry of network backends, by name and priority (as tfjs registers its backends).
 * Each backend is one file in this folder ending in `registerBackend({...})`; index.ts imports
 * them all, so import the registry through `./backends` (or `../backend`), not this file alone.
 *
 * Choice of a backend: the `backend` option, else $MALA_TS_BACKEND, else 'auto' = the available
 * backend with the highest priority (libtorch when its addon loads, else plain TypeScript, with
 * a one-time warning naming what was skipped and why).
 */
import { MalaError } from '../../errors';
import { resolveDevice, type DeviceChoice } from '../device';
import type { NetworkSpec, Parameters } from '../mlp';
import type { BackendDefinition, InferenceNet, NetOptions, TrainableNet } from './types';

/** A registered backend name; 'auto' (the default) picks one by priority. */
export type BackendName = string;

export interface CreateNetOptions extends NetOptions {
  /** A registered name or 'auto' (default: $MALA_TS_BACKEND, else 'auto'). */
  backend?: BackendName | 'auto';
  /** 'auto' | 'cpu' | 'cuda' | 'cuda:N' (default: $MALA_TS_DEVICE, else 'auto'); resolved by `resolveNet`. */
  device?: string;
}

export type BackendPurpose = 'inference' | 'training';

const backends = new Map<string, BackendDefinition>();

/** Add a backend. Names are lower-case words; 'auto' is reserved; a name is registered once. */
export function registerBackend(def: BackendDefinition): void {
  if (!/^[a-z][a-z0-9_-]*$/.test(def.name) || def.name === 'auto') throw new Error(`invalid network backend name '${def.name}' (lower-case letters, digits, '-', '_'; not 'auto')`);
  if (backends.has(def.name)) throw new Error(`network backend '${def.name}' is already registered`);
  if (!Number.isFinite(def.priority)) throw new Error(`network backend '${def.name}' needs a finite priority`);
  backends.set(def.name, def);
}

/** Remove a backend (tests, plugins); true when it was registered. */
export function unregisterBackend(name: string): boolean {
  return backends.delete(name);
}

/** The registered backend of that name, if any. */
export function getBackend(name: string): BackendDefinition | undefined {
  return backends.get(name);
}

/** Registered backends, highest priority first (registration order among equals). */
export function registeredBackends(): BackendDefinition[] {
  return [...backends.values()].sort((a, b) => b.priority - a.priority);
}

/** Registered backend names, highest priority first. */
export function backendNames(): BackendName[] {
  return registeredBackends().map((b) => b.name);
}

/** "'a', 'b' or 'c'" */
function quoteList(names: string[]): string {
  const q = names.map((n) => `'${n}'`);
  return q.length > 1 ? `${q.slice(0, -1).join(', ')} or ${q[q.length - 1]}` : q.join('');
}

export interface Resolution {
  name: BackendName;
  /** 'requested' when named explicitly; '' when auto took the top backend; else why better ones were skipped. */
  reason: string;
  /** Higher-priority backends auto passed over because they are unavailable here. */
  skipped: { name: BackendName; label: string; reason: string }[];
}

/** Which backend `createInferenceNet`/`createTrainableNet` would use, and why. */
export function resolveBackend(requested?: BackendName | 'auto', purpose: BackendPurpose = 'inference'): Resolution {
  const want = requested ?? (process.env.MALA_TS_BACKEND || 'auto');
  const usable = (b: BackendDefinition) => purpose === 'inference' || !!b.createTraining;
  if (want !== 'auto') {
    const def = backends.get(want);
    if (!def) throw new MalaError(`unknown network backend '${want}'${requested === undefined ? ' (MALA_TS_BACKEND)' : ''}`, { fix: `use ${quoteList([...backendNames(), 'auto'])} (MALA_TS_BACKEND)` });
    const a = def.availability();
    if (!a.ok) throw new MalaError(`the ${def.label} is required but unavailable: ${a.reason}`, { fix: a.fix ?? `use --backend auto (MALA_TS_BACKEND=auto)` });
    if (!usable(def)) {
      throw new MalaError(`the '${want}' network backend runs inference only`, { fix: `train with ${quoteList([...registeredBackends().filter(usable).map((b) => b.name), 'auto'])}` });
    }
    return { name: want, reason: 'requested', skipped: [] };
  }
  const skipped: Resolution['skipped'] = [];
  for (const def of registeredBackends().filter(usable)) {
    const a = def.availability();
    if (a.ok) return { name: def.name, reason: skipped.map((s) => s.reason).join('; '), skipped };
    skipped.push({ name: def.name, label: def.label, reason: a.reason });
  }
  throw new MalaError(`no network backend for ${purpose} is available: ${skipped.map((s) => `${s.name}: ${s.reason}`).join('; ') || 'none registered'}`, { fix: "run 'make setup'" });
}

let warned = false;

/** Once per process: auto fell back past a faster backend (e.g. the missing libtorch addon). */
function warnFallback(r: Resolution): void {
  if (!r.skipped.length || warned || process.env.MALA_TS_QUIET_FALLBACK === '1') return;
  warned = true;
  const chosen = backends.get(r.name)!;
  process.stderr.write(`mala-ts: warning: ${r.skipped.map((s) => s.label).join(', ')} unavailable, using the ${chosen.label}.\n  reason: ${r.reason}\n`);
}

/** The backend and the device a net with these options would get, and why (throws MalaError when unmet). */
export function resolveNet(opts: CreateNetOptions = {}, purpose: BackendPurpose = 'inference'): { backend: Resolution; device: DeviceChoice } {
  const r = resolveBackend(opts.backend, purpose);
  const def = backends.get(r.name)!;
  const probe = def.devices?.() ?? { label: def.label, builtWithCuda: false, cudaDeviceCount: 0, noCudaReason: `the network backend is the ${def.label}, which runs on the CPU only${r.skipped.length ? ` (${r.reason})` : ''}` };
  return { backend: r, device: resolveDevice(opts.device, probe) };
}

/** A network for inference with the given parameters (copied) on the chosen backend and device. */
export function createInferenceNet(spec: NetworkSpec, params: Parameters, opts: CreateNetOptions = {}): InferenceNet {
  const { backend: r, device } = resolveNet(opts, 'inference');
  warnFallback(r);
  const net = backends.get(r.name)!.createInference(spec, params, { device: device.device });
  deviceChoices.set(net, device);
  return net;
}

/** A trainable network with the given parameters (copied) on the chosen backend and device. */
export function createTrainableNet(spec: NetworkSpec, params: Parameters, opts: CreateNetOptions = {}): TrainableNet {
  const { backend: r, device } = resolveNet(opts, 'training');
  warnFallback(r);
  const net = backends.get(r.name)!.createTraining!(spec, params, { device: device.device });
  deviceChoices.set(net, device);
  return net;
}

const deviceChoices = new WeakMap<InferenceNet, DeviceChoice>();

/** The device a net made here runs on, what was asked and why (undefined for nets made elsewhere). */
export function netDeviceChoice(net: InferenceNet): DeviceChoice | undefined {
  return deviceChoices.get(net);
}
