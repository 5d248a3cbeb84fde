/**
 * Checks every native part mala-ts relies on and says how to install what is missing.
 * Used by `mala-ts doctor`; each check is independent so one failure never hides another.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type execaType from 'execa';
import { Lammps, findLammpsLibrary, lammpsConfig } from '../../bindings/lammps';
import { checkMpiTempSpace } from '../../bindings/native-paths';
import { MalaError } from '../errors';
import { fftwVersion, loadFftw } from '../../bindings/fftw';
import { libxcVersion, loadLibxc } from '../../bindings/libxc';
import { loadMpiAddon, mpiAddonPath } from '../../bindings/mpi';
import { addonPath as torchAddonPath } from '../../bindings/torch';
import { resolveBackend } from '../network/backend';
import { isSourceCheckout, packagePath } from '../util/package-paths';

export interface Check {
  component: string;
  ok: boolean;
  /** Version, path or what was found. */
  detail: string;
  /** How to install it when missing. */
  fix?: string;
  /** Optional parts do not make `doctor` fail. */
  optional?: boolean;
}

// A checkout has `make setup`; an installed package rebuilds its addons with npm (scripts/install-addons.js).
const SETUP_FIX = isSourceCheckout()
  ? 'run `make setup` (installs Debian packages, builds LAMMPS and the addon)'
  : 'run `npm rebuild mala-ts` (builds the addons; LAMMPS with ML-SNAP: `make setup` in a mala-ts checkout builds one)';

function guard(component: string, fix: string, fn: () => Omit<Check, 'component'>, optional = false): Check {
  try {
    return { component, optional, ...fn() };
  } catch (e) {
    return { component, ok: false, detail: (e as Error).message.split('\n')[0], fix, optional };
  }
}

function checkLammps(): Check[] {
  const fix = `${SETUP_FIX}, or set MALA_TS_LAMMPS_LIB to a liblammps.so built with ML-SNAP`;
  const lib = findLammpsLibrary();
  if (!lib) return [{ component: 'LAMMPS library', ok: false, detail: 'liblammps.so not found', fix }];
  try {
    checkMpiTempSpace('opening LAMMPS starts MPI'); // a full TMPDIR aborted doctor inside MPI_Init
  } catch (e) {
    if (e instanceof MalaError) return [{ component: 'LAMMPS library', ok: false, detail: e.message, fix: e.fix }];
    throw e;
  }
  const out: Check[] = [];
  out.push(
    guard('LAMMPS library', fix, () => {
      const cfg = lammpsConfig();
      const lmp = new Lammps();
      try {
        const version = lmp.version();
        const grid = lmp.hasStyle('compute', 'sna/grid') && lmp.hasStyle('compute', 'sna/grid/local');
        const eam = lmp.hasStyle('pair', 'eam/alloy');
        const ok = grid && eam && version >= 20230000;
        const missing = [!grid && 'compute sna/grid (ML-SNAP)', !eam && 'pair eam/alloy (MANYBODY)', version < 20230000 && 'version ≥ 2023'].filter(Boolean);
        return {
          ok,
          detail: `${lib} | version ${version} | sna/grid ${grid ? 'yes' : 'no'} | eam ${eam ? 'yes' : 'no'} | MPI ${cfg.mpi ? 'yes' : 'no'}${missing.length ? ` | missing: ${missing.join(', ')}` : ''}`,
        };
      } finally {
        lmp.close();
      }
    }),
  );
  return out;
}

/** A koffi-loaded library, through the same loader the physics uses (so doctor checks what runs). */
function checkLibrary(component: string, pkg: string, load: () => { libraryPath: string }, version: () => string): Check {
  return guard(component, `apt-get install ${pkg}`, () => {
    const { libraryPath } = load();
    return { ok: true, detail: `${libraryPath} | version ${version()}` };
  });
}

function checkMpiAddon(): Check {
  return guard('MPI addon', `apt-get install libopenmpi-dev libfftw3-mpi-dev, then ${SETUP_FIX}`, () => {
    const { addon, reason } = loadMpiAddon();
    if (!addon) return { ok: false, detail: reason };
    return { ok: true, detail: `${mpiAddonPath} | ${addon.libraryVersion().split(',')[0]} | FFTW-MPI` };
  }, true);
}

function checkTorchAddon(): Check {
  const addon = torchAddonPath;
  const fix = `apt-get install libtorch-dev libopenblas0-pthread, then ${SETUP_FIX}`;
  return guard('libtorch addon', fix, () => {
    if (!fs.existsSync(packagePath('bindings', 'torch', 'binding.gyp'))) {
      return { ok: false, detail: 'addon sources not present in this checkout (plain-TypeScript network only)' };
    }
    if (!fs.existsSync(addon)) return { ok: false, detail: `${addon} not built`, fix };
    const mod = require(addon) as { version?: () => string };
    return { ok: true, detail: `${addon}${typeof mod.version === 'function' ? ` | libtorch ${mod.version()}` : ''}` };
  });
}

/** Which network backend predict/infer/train would use now (MALA_TS_BACKEND or auto), and why. */
function checkBackend(): Check {
  return guard('NN backend', "set MALA_TS_BACKEND to 'auto', 'torch' or 'ts'", () => {
    const { name, reason } = resolveBackend();
    if (name === 'torch') return { ok: true, detail: 'torch (libtorch addon loaded)' };
    if (reason === 'requested') return { ok: true, detail: 'ts (MALA_TS_BACKEND=ts)' };
    return { ok: true, detail: `ts (plain-TypeScript network, about 20x slower; libtorch addon unavailable: ${reason})` };
  });
}

function checkProgram(component: string, cmd: string, args: string[], pattern: RegExp, pkg: string, input?: string, optional = false): Check {
  return guard(
    component,
    `apt-get install ${pkg}`,
    () => {
      // QE programs write CRASH/input_tmp.in into their working directory: run them in a scratch one.
      const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'mala-ts-doctor-'));
      const r = (require('execa') as typeof execaType).sync(cmd, args, { cwd, input: input ?? '', reject: false, timeout: 30000, env: { OMPI_MCA_btl_vader_single_copy_mechanism: 'none' } });
      fs.rmSync(cwd, { recursive: true, force: true });
      const m = pattern.exec(`${r.stdout}\n${r.stderr}`);
      if (!m) return { ok: false, detail: `${cmd} ran but printed no version (exit ${r.exitCode})`, fix: `apt-get install ${pkg}` };
      return { ok: true, detail: m[0].trim() };
    },
    optional,
  );
}

export function runDoctor(): Check[] {
  return [
    ...checkLammps(),
    checkLibrary('FFTW3', 'libfftw3-dev', loadFftw, fftwVersion),
    checkLibrary('libxc', 'libxc-dev', loadLibxc, libxcVersion),
    checkTorchAddon(),
    checkBackend(),
    checkMpiAddon(),
    checkProgram('pw.x (QE)', 'pw.x', [], /PWSCF v\.\S+/, 'quantum-espresso'),
    checkProgram('pp.x (QE)', 'pp.x', [], /POST-PROC v\.\S+/, 'quantum-espresso'),
    checkProgram('mpirun', 'mpirun', ['--version'], /\(Open MPI\) \S+|mpirun \(.*\) \S+|HYDRA.*Version:\s*\S+/, 'openmpi-bin'),
    guard('QE pseudopotentials', 'apt-get install quantum-espresso-data', () => {
      const upf = '/usr/share/espresso/pseudo/Al.pz-vbc.UPF';
      return fs.existsSync(upf) ? { ok: true, detail: upf } : { ok: false, detail: `${upf} not found` };
    }),
  ];
}

/** Plain-text table of the checks. */
export function formatChecks(checks: Check[]): string {
  const w = Math.max(...checks.map((c) => c.component.length));
  const lines = checks.map((c) => {
    const mark = c.ok ? 'ok     ' : c.optional ? 'absent ' : 'MISSING';
    const fix = !c.ok && c.fix ? `\n${' '.repeat(w + 11)}fix: ${c.fix}` : '';
    return `${c.component.padEnd(w)}  ${mark}  ${c.detail}${fix}`;
  });
  return lines.join('\n');
}
