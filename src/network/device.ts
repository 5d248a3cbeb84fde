/**
 * Which device the network runs on. The request (`--device cpu|cuda|cuda:N|auto`, the calculator's
 * `device`, else $MALA_TS_DEVICE, else 'auto') is resolved here against what the chosen backend
 * reports (the libtorch addon: built with CUDA?, devices visible), so the choice and its reason can
 * be printed, and a CUDA request that cannot be met fails before any work with one MalaError.
 * The backend then gets a concrete device ('cpu' or 'cuda:N').
 */
import { MalaError } from '../errors';

/** What a backend can offer, from its own report (libtorch: `info()` of the addon). */
export interface DeviceProbe {
  /** The backend's label, for messages ('libtorch addon', 'plain-TypeScript network'). */
  label: string;
  /** Whether the backend can use CUDA at all (the addon was linked against a CUDA libtorch). */
  builtWithCuda: boolean;
  /** CUDA devices visible to it (torch::cuda::device_count(); 0 when torch::cuda::is_available() is false). */
  cudaDeviceCount: number;
  /** Why the backend has no CUDA when that is not the addon's build (e.g. the TS backend, a missing addon). */
  noCudaReason?: string;
}

/** The device chosen, what was asked and why. */
export interface DeviceChoice {
  /** 'cpu' or 'cuda:N'. */
  device: string;
  /** 'auto', 'cpu', 'cuda' or 'cuda:N'. */
  requested: string;
  /** One line: why this device. */
  reason: string;
}

const CUDA_FIX = "build the libtorch addon against a CUDA PyTorch (README, 'GPU'): MALA_TS_LIBTORCH=$(python3 -c 'import os, torch; print(os.path.dirname(torch.__file__))') make setup; or use --device cpu (or auto)";

/** Check a request ('auto', 'cpu', 'cuda', 'cuda:N'); `flag` names where it came from in the error. */
export function parseDeviceRequest(value: string, flag = '--device'): string {
  const v = value.trim().toLowerCase();
  if (!/^(auto|cpu|cuda(:\d+)?)$/.test(v)) throw new MalaError(`unknown device '${value}' (${flag})`, { fix: `use ${flag} cpu, cuda, cuda:N or auto` });
  return v;
}

/** The request with its default: the given one, else $MALA_TS_DEVICE, else 'auto'. */
export function deviceRequest(requested?: string): { value: string; flag: string } {
  if (requested !== undefined) return { value: parseDeviceRequest(requested), flag: '--device' };
  const env = process.env.MALA_TS_DEVICE;
  if (env) return { value: parseDeviceRequest(env, 'MALA_TS_DEVICE'), flag: 'MALA_TS_DEVICE' };
  return { value: 'auto', flag: '--device' };
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** Resolve a request against a backend's devices; CUDA that cannot be had is a MalaError. */
export function resolveDevice(requested: string | undefined, probe: DeviceProbe): DeviceChoice {
  const { value, flag } = deviceRequest(requested);
  const noCuda = probe.noCudaReason ?? (!probe.builtWithCuda ? `the ${probe.label} was built against a CPU-only libtorch` : probe.cudaDeviceCount === 0 ? `the ${probe.label} has CUDA but no CUDA device is visible` : '');
  if (value === 'cpu') return { device: 'cpu', requested: value, reason: 'requested' };
  if (value === 'auto') {
    if (noCuda) return { device: 'cpu', requested: value, reason: `auto: ${noCuda}` };
    return { device: 'cuda:0', requested: value, reason: `auto: the ${probe.label} has CUDA and ${plural(probe.cudaDeviceCount, 'device')} visible` };
  }
  // cuda or cuda:N
  const where = flag === '--device' ? `--device ${value}` : `MALA_TS_DEVICE=${value}`;
  if (noCuda) {
    const fix = probe.cudaDeviceCount === 0 && probe.builtWithCuda ? 'check nvidia-smi and CUDA_VISIBLE_DEVICES on this machine, or use --device cpu (or auto)' : CUDA_FIX;
    throw new MalaError(`${where} cannot be met: ${noCuda}`, { fix });
  }
  const index = value === 'cuda' ? 0 : Number(value.slice(5));
  if (index >= probe.cudaDeviceCount) throw new MalaError(`${where} cannot be met: the ${probe.label} sees ${plural(probe.cudaDeviceCount, 'CUDA device')} (cuda:0…cuda:${probe.cudaDeviceCount - 1})`, { fix: 'pick a visible device, or check CUDA_VISIBLE_DEVICES' });
  return { device: `cuda:${index}`, requested: value, reason: 'requested' };
}
