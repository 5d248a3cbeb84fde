/**
 * Thin koffi binding over LAMMPS' C library interface (`library.h`), in the spirit of the LAMMPS
 * Python module: one method per C function we use, no physics. Every call that can fail checks
 * `lammps_has_error` and throws a `LammpsError` carrying LAMMPS' own message; the instance stays
 * usable (or can be closed) and a new one can be opened.
 *
 * The library is found at, in order: the `libraryPath` argument, $MALA_TS_LAMMPS_LIB, the build
 * made by `scripts/setup.sh` (<cache>/lammps/lib/liblammps.so). Debian's own liblammps.so.0 is
 * deliberately not searched: it has no ML-SNAP.
 */
import * as path from 'node:path';
import koffi from 'koffi';
import { MalaError } from '../src/errors';
import { cacheDir, checkMpiTempSpace, firstExisting, openNativeLibrary } from './native-paths';

/** Styles and types of `lammps_extract_compute` (enums `_LMP_STYLE_CONST`, `_LMP_TYPE_CONST`). */
export const LMP_STYLE_GLOBAL = 0;
export const LMP_STYLE_ATOM = 1;
export const LMP_STYLE_LOCAL = 2;
export const LMP_TYPE_SCALAR = 0;
export const LMP_TYPE_VECTOR = 1;
export const LMP_TYPE_ARRAY = 2;
export const LMP_SIZE_VECTOR = 3;
export const LMP_SIZE_ROWS = 4;
export const LMP_SIZE_COLS = 5;

export type ComputeStyle = 'global' | 'atom' | 'local';
const styleCode: Record<ComputeStyle, number> = { global: LMP_STYLE_GLOBAL, atom: LMP_STYLE_ATOM, local: LMP_STYLE_LOCAL };

/** An error reported by LAMMPS itself (bad command, missing style, lost atoms...). */
export class LammpsError extends MalaError {
  constructor(message: string, readonly command?: string) {
    super(command ? `LAMMPS error in '${command}': ${message}` : `LAMMPS error: ${message}`);
    this.name = 'LammpsError';
  }
}

interface LammpsApi {
  libraryPath: string;
  open_no_mpi: (argc: number, argv: string[], ptr: null) => unknown;
  open_fortran: (argc: number, argv: string[], fComm: number) => unknown;
  close: (h: unknown) => void;
  command: (h: unknown, cmd: string) => unknown;
  commands_string: (h: unknown, cmds: string) => void;
  file: (h: unknown, file: string) => void;
  version: (h: unknown) => number;
  has_error: (h: unknown) => number;
  get_last_error_message: (h: unknown, buf: Buffer, size: number) => number;
  has_style: (h: unknown, category: string, name: string) => number;
  extract_compute: (h: unknown, id: string, style: number, type: number) => unknown;
  extract_setting: (h: unknown, name: string) => number;
  get_natoms: (h: unknown) => number;
  config_has_mpi_support: () => number;
  config_has_package: (name: string) => number;
  set_show_error?: (h: unknown, flag: number) => number;
}

let api: LammpsApi | undefined;

/** Resolve the liblammps path without loading it (for `doctor`). */
export function findLammpsLibrary(libraryPath?: string): string | undefined {
  // an explicit choice is honoured or reported missing, never silently replaced by the default
  const explicit = libraryPath || process.env.MALA_TS_LAMMPS_LIB;
  return firstExisting(explicit ? [explicit] : [path.join(cacheDir(), 'lammps', 'lib', 'liblammps.so')]);
}

/** Load liblammps once per process. */
export function loadLammps(libraryPath?: string): LammpsApi {
  if (api && (!libraryPath || libraryPath === api.libraryPath)) return api;
  const found = findLammpsLibrary(libraryPath);
  const explicit = libraryPath ?? process.env.MALA_TS_LAMMPS_LIB;
  const lib = openNativeLibrary({
    label: explicit ? 'LAMMPS library' : 'LAMMPS shared library (with ML-SNAP)',
    found,
    wanted: explicit,
    missingFix: 'run `make setup` (builds LAMMPS 4Feb2025 into the cache), or set MALA_TS_LAMMPS_LIB=/path/to/liblammps.so of a LAMMPS built with ML-SNAP',
    brokenFix: 'rebuild it with `make setup`, or point MALA_TS_LAMMPS_LIB to a working liblammps.so',
  });
  // a library without LAMMPS' C API (MALA_TS_LAMMPS_LIB pointing at another .so) fails on its first missing function
  const need = (signature: string) => {
    try {
      return lib.func(signature);
    } catch (e) {
      const name = /(lammps_\w+)\(/.exec(signature)?.[1] ?? signature;
      throw new MalaError(`${lib.path} is not a LAMMPS library: it has no function ${name} (${(e as Error).message})`, {
        file: lib.path,
        fix: explicit ? 'point MALA_TS_LAMMPS_LIB to liblammps.so of a LAMMPS built as a shared library with ML-SNAP (or unset it to use the one `make setup` builds)' : 'rebuild it with `make setup`',
        cause: e,
      });
    }
  };
  const a: LammpsApi = {
    libraryPath: lib.path,
    open_no_mpi: need('void *lammps_open_no_mpi(int argc, const char **argv, void **ptr)'),
    open_fortran: need('void *lammps_open_fortran(int argc, const char **argv, int f_comm)'),
    close: need('void lammps_close(void *handle)'),
    command: need('void *lammps_command(void *handle, const char *cmd)'),
    commands_string: need('void lammps_commands_string(void *handle, const char *str)'),
    file: need('void lammps_file(void *handle, const char *file)'),
    version: need('int lammps_version(void *handle)'),
    has_error: need('int lammps_has_error(void *handle)'),
    get_last_error_message: need('int lammps_get_last_error_message(void *handle, _Out_ uint8_t *buffer, int size)'),
    has_style: need('int lammps_has_style(void *handle, const char *category, const char *name)'),
    extract_compute: need('void *lammps_extract_compute(void *handle, const char *id, int style, int type)'),
    extract_setting: need('int lammps_extract_setting(void *handle, const char *name)'),
    get_natoms: need('double lammps_get_natoms(void *handle)'),
    config_has_mpi_support: need('int lammps_config_has_mpi_support()'),
    config_has_package: need('int lammps_config_has_package(const char *name)'),
  };
  try {
    a.set_show_error = lib.func('int lammps_set_show_error(void *handle, int flag)');
  } catch {
    // older LAMMPS: errors are also printed to the screen, harmless
  }
  api = a;
  return a;
}

export interface LammpsOptions {
  /** MPI communicator as a Fortran handle (lammps_open_fortran); default MPI_COMM_WORLD (lammps_open_no_mpi). */
  fortranCommunicator?: number;
  /** Extra command-line arguments (default: no screen, no log file, no citation reminder). */
  args?: string[];
  libraryPath?: string;
}

/**
 * The first LAMMPS instance of a process not started by mpirun initialises MPI as a "singleton",
 * and Open MPI then sets OMPI_, PMIX_ and ORTE_ variables in this process' environment. Left there,
 * every child process (pw.x, mpirun, a test's CLI run) would inherit them and try to join this
 * process' MPI job, and MPI-launch detection would misfire. MPI has read them by then; remove
 * the ones that appeared (those present before, e.g. under a real mpirun, stay).
 */
function dropSingletonMpiEnv(before: Set<string>): void {
  for (const k of Object.keys(process.env)) {
    if (!before.has(k) && /^(OMPI_|PMIX_|ORTE_|OPAL_|IPATH_NO_BACKTRACE|HFI_NO_BACKTRACE)/.test(k)) delete process.env[k];
  }
}

/** One LAMMPS instance. Always `close()` it (or use `withLammps`). */
export class Lammps {
  private handle: unknown;
  private readonly api: LammpsApi;

  constructor(opts: LammpsOptions = {}) {
    this.api = loadLammps(opts.libraryPath);
    checkMpiTempSpace('opening LAMMPS starts MPI'); // (a native abort otherwise)
    const args = ['mala-ts', ...(opts.args ?? ['-screen', 'none', '-log', 'none', '-nocite'])];
    const envBefore = new Set(Object.keys(process.env));
    const comm = opts.fortranCommunicator;
    const h = comm === undefined ? this.api.open_no_mpi(args.length, args, null) : this.api.open_fortran(args.length, args, comm);
    dropSingletonMpiEnv(envBefore);
    if (!h) {
      const msg = this.lastErrorMessage(null);
      throw new LammpsError(msg || 'lammps_open_no_mpi failed (invalid command-line arguments?)');
    }
    this.handle = h;
    this.api.set_show_error?.(h, 0);
    this.checkError();
  }

  get libraryPath(): string {
    return this.api.libraryPath;
  }

  private live(): unknown {
    if (!this.handle) throw new MalaError('this LAMMPS instance is closed');
    return this.handle;
  }

  private lastErrorMessage(h: unknown): string {
    const buf = Buffer.alloc(4096);
    this.api.get_last_error_message(h, buf, buf.length);
    const end = buf.indexOf(0);
    return buf.toString('utf8', 0, end < 0 ? buf.length : end).trim();
  }

  private checkError(command?: string): void {
    const h = this.live();
    if (this.api.has_error(h)) throw new LammpsError(this.lastErrorMessage(h) || 'unknown error', command);
  }

  /** Run one input line. */
  command(cmd: string): void {
    this.api.command(this.live(), cmd);
    this.checkError(cmd);
  }

  /** Run several lines (a whole input script as a string). */
  commands(script: string | string[]): void {
    const text = Array.isArray(script) ? script.join('\n') : script;
    this.api.commands_string(this.live(), text);
    // LAMMPS' own message names the failing command; the script's first line (\`units metal\`) was blamed
    this.checkError();
  }

  /** Run an input file. */
  file(inputFile: string): void {
    this.api.file(this.live(), inputFile);
    this.checkError(`file ${inputFile}`);
  }

  /** Version as an integer date, e.g. 20250204. */
  version(): number {
    return this.api.version(this.live());
  }

  /** Whether a style exists, e.g. hasStyle('compute', 'sna/grid'). */
  hasStyle(category: string, name: string): boolean {
    return this.api.has_style(this.live(), category, name) === 1;
  }

  natoms(): number {
    return this.api.get_natoms(this.live());
  }

  extractSetting(name: string): number {
    return this.api.extract_setting(this.live(), name);
  }

  private extractInt(id: string, style: ComputeStyle, type: number): number {
    const p = this.api.extract_compute(this.live(), id, styleCode[style], type);
    this.checkError(`extract compute ${id}`);
    if (!p) throw new LammpsError(`compute '${id}' has no ${style} data of the requested kind`);
    return koffi.decode(p, 'int') as number;
  }

  /** Global scalar of a compute. */
  extractComputeScalar(id: string): number {
    const p = this.api.extract_compute(this.live(), id, LMP_STYLE_GLOBAL, LMP_TYPE_SCALAR);
    this.checkError(`extract compute ${id}`);
    if (!p) throw new LammpsError(`compute '${id}' has no global scalar`);
    return koffi.decode(p, 'double') as number;
  }

  /**
   * A compute's array (global or local) as a row-major copy: rows × cols doubles.
   * LAMMPS allocates such arrays contiguously, so one view of row 0 covers the whole block.
   */
  extractComputeArray(id: string, style: ComputeStyle = 'global'): { rows: number; cols: number; data: Float64Array } {
    const rows = this.extractInt(id, style, LMP_SIZE_ROWS);
    const cols = this.extractInt(id, style, LMP_SIZE_COLS);
    const p = this.api.extract_compute(this.live(), id, styleCode[style], LMP_TYPE_ARRAY);
    this.checkError(`extract compute ${id}`);
    if (!p) throw new LammpsError(`compute '${id}' has no ${style} array`);
    const data = new Float64Array(rows * cols);
    if (rows * cols > 0) {
      const row0 = koffi.decode(p, 'void *');
      data.set(new Float64Array(koffi.view(row0, rows * cols * 8)));
    }
    return { rows, cols, data };
  }

  close(): void {
    if (this.handle) {
      this.api.close(this.handle);
      this.handle = null;
    }
  }
}

/** Open an instance, run `fn`, and always close it. */
export function withLammps<T>(fn: (lmp: Lammps) => T, opts: LammpsOptions = {}): T {
  const lmp = new Lammps(opts);
  try {
    return fn(lmp);
  } finally {
    lmp.close();
  }
}

/** Build-level facts, for `doctor`. */
export function lammpsConfig(libraryPath?: string): { libraryPath: string; mpi: boolean; packages: Record<string, boolean> } {
  const a = loadLammps(libraryPath);
  const packages: Record<string, boolean> = {};
  for (const p of ['ML-SNAP', 'MANYBODY']) packages[p] = a.config_has_package(p) === 1;
  return { libraryPath: a.libraryPath, mpi: a.config_has_mpi_support() !== 0, packages };
}
