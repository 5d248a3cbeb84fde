/**
 * Thin koffi binding over libxc (Debian `libxc.so.9`): spin-unpolarised LDA and GGA energy
 * densities and potentials, in libxc's conventions (Hartree atomic units; `zk` is the energy per
 * particle, `vsigma` = ∂(ρ·ε)/∂σ with σ = |∇ρ|²). No physics of ours here.
 *
 * The library is found at, in order: the `libraryPath` argument, $MALA_TS_LIBXC_LIB, Debian's soname.
 */
import koffi from 'koffi';
import { MalaError } from '../src/errors';
import { findSystemLibrary, openNativeLibrary } from './native-paths';

/** libxc functional ids (xc_funcs.h). */
export const XC_LDA_X = 1;
export const XC_LDA_C_PZ = 9;
export const XC_LDA_C_PW = 12;
/** PW92 with the extra digits PBE uses (libxc's choice for GGA_C_PBE's LDA part). */
export const XC_LDA_C_PW_MOD_ID = 13;
export const XC_GGA_X_PBE = 101;
export const XC_GGA_C_PBE = 130;
const XC_UNPOLARIZED = 1;

interface LibxcApi {
  libraryPath: string;
  func_alloc: () => unknown;
  func_init: (p: unknown, id: number, nspin: number) => number;
  func_end: (p: unknown) => void;
  func_free: (p: unknown) => void;
  lda_exc_vxc: (p: unknown, np: number, rho: Float64Array, zk: Float64Array, vrho: Float64Array) => void;
  gga_exc_vxc: (p: unknown, np: number, rho: Float64Array, sigma: Float64Array, zk: Float64Array, vrho: Float64Array, vsigma: Float64Array) => void;
  version_string: () => string;
}

let api: LibxcApi | undefined;

/** Resolve the libxc path without loading it (for `doctor`). */
export function findLibxcLibrary(libraryPath?: string): string | undefined {
  return findSystemLibrary('libxc.so.9', 'MALA_TS_LIBXC_LIB', libraryPath);
}

/** Load libxc once per process; one MalaError with the fix when it is missing. */
export function loadLibxc(libraryPath?: string): LibxcApi {
  if (api && (!libraryPath || libraryPath === api.libraryPath)) return api;
  const found = findLibxcLibrary(libraryPath);
  const lib = openNativeLibrary({
    label: 'libxc (libxc.so.9)',
    found,
    wanted: libraryPath ?? process.env.MALA_TS_LIBXC_LIB,
    missingFix: 'install it with `apt-get install libxc9` (or run `make setup`), or set MALA_TS_LIBXC_LIB=/path/to/libxc.so.9',
    brokenFix: 'reinstall libxc9, or point MALA_TS_LIBXC_LIB to a working libxc.so.9',
  });
  const loaded: LibxcApi = {
    libraryPath: lib.path,
    func_alloc: lib.func('void *xc_func_alloc()'),
    func_init: lib.func('int xc_func_init(void *p, int functional, int nspin)'),
    func_end: lib.func('void xc_func_end(void *p)'),
    func_free: lib.func('void xc_func_free(void *p)'),
    lda_exc_vxc: lib.func('void xc_lda_exc_vxc(void *p, size_t np, double *rho, double *zk, double *vrho)'),
    gga_exc_vxc: lib.func('void xc_gga_exc_vxc(void *p, size_t np, double *rho, double *sigma, double *zk, double *vrho, double *vsigma)'),
    version_string: lib.func('const char *xc_version_string()'),
  };
  api = loaded;
  return loaded;
}

export function libxcVersion(): string {
  return loadLibxc().version_string();
}

/** One initialised spin-unpolarised libxc functional. Call `dispose()`. */
export class XcFunctional {
  private readonly api: LibxcApi;
  private p: unknown;
  readonly id: number;
  readonly kind: 'lda' | 'gga';

  constructor(id: number) {
    this.api = loadLibxc();
    this.id = id;
    this.kind = id >= 100 ? 'gga' : 'lda';
    const p = this.api.func_alloc();
    if (!p || this.api.func_init(p, id, XC_UNPOLARIZED) !== 0) {
      if (p) this.api.func_free(p);
      throw new MalaError(`libxc does not know functional id ${id}`);
    }
    this.p = p;
  }

  /** LDA: energy per particle zk and potential vrho at each density (Hartree units). */
  lda(rho: Float64Array): { zk: Float64Array; vrho: Float64Array } {
    if (this.kind !== 'lda') throw new Error(`functional ${this.id} is not an LDA`);
    const zk = new Float64Array(rho.length);
    const vrho = new Float64Array(rho.length);
    this.api.lda_exc_vxc(this.alive(), rho.length, rho, zk, vrho);
    return { zk, vrho };
  }

  /** GGA: zk, vrho and vsigma at each (ρ, σ = |∇ρ|²) (Hartree units). */
  gga(rho: Float64Array, sigma: Float64Array): { zk: Float64Array; vrho: Float64Array; vsigma: Float64Array } {
    if (this.kind !== 'gga') throw new Error(`functional ${this.id} is not a GGA`);
    if (sigma.length !== rho.length) throw new Error('gga: rho and sigma differ in length');
    const zk = new Float64Array(rho.length);
    const vrho = new Float64Array(rho.length);
    const vsigma = new Float64Array(rho.length);
    this.api.gga_exc_vxc(this.alive(), rho.length, rho, sigma, zk, vrho, vsigma);
    return { zk, vrho, vsigma };
  }

  private alive(): unknown {
    if (!this.p) throw new Error('XcFunctional used after dispose()');
    return this.p;
  }

  dispose(): void {
    if (this.p) {
      this.api.func_end(this.p);
      this.api.func_free(this.p);
    }
    this.p = undefined;
  }
}
