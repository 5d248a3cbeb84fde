/** Shared test helpers. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Atoms } from '../src/structure/atoms';

export const repoRoot = path.resolve(__dirname, '..');

/**
 * Path of ../shared/reference/<name> (MALA's public data), or null after printing a visible
 * notice and skipping the calling test/suite when it is absent (a user's clone has no shared/).
 */
export function referenceDir(ctx: Mocha.Context, name = 'be2'): string {
  const dir = process.env.MALA_TS_REFERENCE ? path.join(process.env.MALA_TS_REFERENCE, name) : path.resolve(repoRoot, '..', 'shared', 'reference', name);
  if (!fs.existsSync(dir)) {
    console.warn(`    ! SKIPPED: reference data ${dir} is absent (set MALA_TS_REFERENCE to ../shared/reference)`);
    ctx.skip();
  }
  return dir;
}

/** A fresh temporary directory, removed by the returned cleanup; write(name, text) puts a file in it and returns its path. */
export function tempDir(prefix = 'mala-ts-test-'): { dir: string; cleanup: () => void; write: (name: string, text: string) => string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  return {
    dir,
    cleanup: () => fs.rmSync(dir, { recursive: true, force: true }),
    write: (name, text) => {
      const f = path.join(dir, name);
      fs.writeFileSync(f, text);
      return f;
    },
  };
}

/** Relative L2 error ||a-b|| / ||b||. */
export function relL2(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < b.length; i++) {
    num += (a[i] - b[i]) ** 2;
    den += b[i] ** 2;
  }
  return Math.sqrt(num / den);
}

/**
 * A general triclinic cell (not in LAMMPS' lower-triangular form) with two elements and one atom
 * outside the cell; `a` is the length scale of the first cell vector (Å).
 */
export function generalTriclinicAtoms(a: number): Atoms {
  return {
    cellAngstrom: [
      [a, 0.4, -0.2],
      [0.9, a + 0.5, 0.3],
      [-0.5, 0.7, a + 1.1],
    ],
    positionsAngstrom: [
      [0.1, 0.2, 0.3],
      [1.7, 2.1, 2.2],
      [-0.4, 5.0, 1.0],
    ],
    symbols: ['O', 'Al', 'O'],
    pbc: [true, true, true],
  };
}

/**
 * The environment of a test that starts `mpirun`: one BLAS and OpenMP thread per rank (what
 * `--np` gives each rank, and 2 cores here), no CMA single copy (containers refuse the ptrace it
 * needs), and more ranks than cores allowed.
 */
export const mpiTestEnv: NodeJS.ProcessEnv = {
  ...process.env,
  OPENBLAS_NUM_THREADS: '1',
  OMP_NUM_THREADS: '1',
  OMPI_MCA_btl_vader_single_copy_mechanism: 'none',
  OMPI_MCA_rmaps_base_oversubscribe: '1',
};

/** mpirun's arguments before `-np`: Open MPI refuses to run as root without --allow-run-as-root. */
export const mpirunRootArgs: string[] = process.getuid?.() === 0 ? ['--allow-run-as-root'] : [];
