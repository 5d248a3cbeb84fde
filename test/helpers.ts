/** Shared test helpers. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

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

/** A fresh temporary directory, removed by the returned cleanup. */
export function tempDir(prefix = 'mala-ts-test-'): { dir: string; cleanup: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  return { dir, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
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
