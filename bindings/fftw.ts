/**
 * Thin koffi binding over FFTW3 (double precision, Debian `libfftw3.so.3`): 3D complex-to-complex
 * transforms on interleaved (re, im) Float64Arrays, row-major (last index fastest, i.e. MALA's z
 * fastest). No physics, no normalisation: FFTW's forward is Σ x·e^(−2πi jk/n), backward the same
 * with +i, both unscaled.
 *
 * The library is found at, in order: the `libraryPath` argument, $MALA_TS_FFTW_LIB, Debian's soname.
 */
import koffi from 'koffi';
import { MalaError } from '../src/errors';
import { findSystemLibrary, openNativeLibrary } from './native-paths';

const FFTW_FORWARD = -1;
const FFTW_BACKWARD = 1;
const FFTW_ESTIMATE = 1 << 6;
// JS typed arrays carry no 16-byte alignment guarantee, so plans must not assume it.
const FFTW_UNALIGNED = 1 << 1;

interface FftwApi {
  libraryPath: string;
  plan_dft_3d: (n0: number, n1: number, n2: number, inp: Float64Array, out: Float64Array, sign: number, flags: number) => unknown;
  execute_dft: (plan: unknown, inp: Float64Array, out: Float64Array) => void;
  destroy_plan: (plan: unknown) => void;
  version: () => string;
}

let api: FftwApi | undefined;

/** Resolve the libfftw3 path without loading it (for `doctor`). */
export function findFftwLibrary(libraryPath?: string): string | undefined {
  return findSystemLibrary('libfftw3.so.3', 'MALA_TS_FFTW_LIB', libraryPath);
}

/** Load libfftw3 once per process; one MalaError with the fix when it is missing. */
export function loadFftw(libraryPath?: string): FftwApi {
  if (api && (!libraryPath || libraryPath === api.libraryPath)) return api;
  const found = findFftwLibrary(libraryPath);
  const lib = openNativeLibrary({
    label: 'FFTW3 library (libfftw3.so.3)',
    found,
    wanted: libraryPath ?? process.env.MALA_TS_FFTW_LIB,
    missingFix: 'install it with `apt-get install libfftw3-double3` (or run `make setup`), or set MALA_TS_FFTW_LIB=/path/to/libfftw3.so.3',
    brokenFix: 'reinstall libfftw3-double3, or point MALA_TS_FFTW_LIB to a working libfftw3.so.3',
  });
  const versionPtr = lib.symbol('fftw_version', 'char');
  const loaded: FftwApi = {
    libraryPath: lib.path,
    plan_dft_3d: lib.func('void *fftw_plan_dft_3d(int n0, int n1, int n2, double *in, double *out, int sign, unsigned int flags)'),
    execute_dft: lib.func('void fftw_execute_dft(void *plan, double *in, double *out)'),
    destroy_plan: lib.func('void fftw_destroy_plan(void *plan)'),
    version: () => koffi.decode(versionPtr, 'char', -1) as string,
  };
  api = loaded;
  return loaded;
}

/** FFTW's version string, e.g. "fftw-3.3.10-sse2-avx". */
export function fftwVersion(): string {
  return loadFftw().version();
}

/**
 * A reusable pair of 3D plans (forward and backward) for arrays of shape (n0, n1, n2), last index
 * fastest, complex interleaved (length 2·n0·n1·n2). Transforms run in place. Call `dispose()`.
 */
export class Fft3d {
  readonly shape: [number, number, number];
  readonly size: number;
  private readonly api: FftwApi;
  private fwd: unknown;
  private bwd: unknown;
  /** Number of transforms executed (for benchmarks). */
  count = 0;

  constructor(n0: number, n1: number, n2: number) {
    for (const n of [n0, n1, n2]) {
      if (!Number.isInteger(n) || n < 1) throw new MalaError(`invalid FFT grid ${n0}×${n1}×${n2}`, { fix: 'grid dimensions must be positive integers' });
    }
    this.api = loadFftw();
    this.shape = [n0, n1, n2];
    this.size = n0 * n1 * n2;
    // FFTW_ESTIMATE never touches the arrays, so a small scratch buffer of the right length will do.
    const scratch = new Float64Array(2 * this.size);
    this.fwd = this.api.plan_dft_3d(n0, n1, n2, scratch, scratch, FFTW_FORWARD, FFTW_ESTIMATE | FFTW_UNALIGNED);
    this.bwd = this.api.plan_dft_3d(n0, n1, n2, scratch, scratch, FFTW_BACKWARD, FFTW_ESTIMATE | FFTW_UNALIGNED);
    if (!this.fwd || !this.bwd) throw new MalaError(`FFTW could not plan a ${n0}×${n1}×${n2} transform`);
  }

  private check(data: Float64Array): void {
    if (data.length !== 2 * this.size) {
      throw new Error(`Fft3d: array of length ${data.length}, expected ${2 * this.size} (complex interleaved ${this.shape.join('×')})`);
    }
    if (!this.fwd) throw new Error('Fft3d used after dispose()');
  }

  /** In place: data ← Σ_r data(r)·e^(−2πi k·r/n) (unnormalised). */
  forward(data: Float64Array): void {
    this.check(data);
    this.api.execute_dft(this.fwd, data, data);
    this.count++;
  }

  /** In place: data ← Σ_k data(k)·e^(+2πi k·r/n) (unnormalised). */
  backward(data: Float64Array): void {
    this.check(data);
    this.api.execute_dft(this.bwd, data, data);
    this.count++;
  }

  dispose(): void {
    if (this.fwd) this.api.destroy_plan(this.fwd);
    if (this.bwd) this.api.destroy_plan(this.bwd);
    this.fwd = undefined;
    this.bwd = undefined;
  }
}
