/** The fault suite's common checks: exit status, one clear message, no stack trace, nothing left behind. */
import { strict as assert } from 'node:assert';
import { spawnSync, SpawnSyncReturns } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeNpy } from '../../src/io/npy';
import { writeSmallPredictModel } from '../network/synthetic';
import { repoRoot } from '../helpers';

export const cli = path.join(repoRoot, 'bin', 'mala-ts.js');

/** `mala-ts args…` (through bash when `shell` prefixes it, e.g. 'ulimit -f 16;'), with a time limit. */
export function mt(args: string[], o: { shell?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number; stdout?: string } = {}): SpawnSyncReturns<string> & { ms: number } {
  const t0 = Date.now();
  const argv = [process.execPath, cli, ...args];
  const redirect = o.stdout ? ` > ${o.stdout}` : '';
  const r = o.shell || o.stdout
    ? spawnSync('bash', ['-c', `${o.shell ?? ''} exec "$0" "$@"${redirect}`, ...argv], { encoding: 'utf8', env: { ...process.env, ...o.env }, timeout: o.timeoutMs ?? 60000 })
    : spawnSync(argv[0], argv.slice(1), { encoding: 'utf8', env: { ...process.env, ...o.env }, timeout: o.timeoutMs ?? 60000 });
  return Object.assign(r, { ms: Date.now() - t0 });
}

/** Exit 1, one "mala-ts: error:" message matching `re` (plus its fix line), no stack trace. */
export function assertCleanError(r: SpawnSyncReturns<string>, re: RegExp): void {
  assert.equal(r.error, undefined, `no hang: ${r.error}`);
  assert.equal(r.status, 1, `exit 1, got ${r.status} ${r.signal ?? ''}\n${r.stderr}`);
  const lines = r.stderr.split('\n').filter((l) => l.trim() !== '' && !/^mala-ts: note:/.test(l));
  assert.match(lines[0] ?? '', /^mala-ts: error: /, r.stderr);
  assert.match(r.stderr, re);
  assert.doesNotMatch(r.stderr, /^\s+at .*\(.*:\d+:\d+\)$/m, 'no stack trace');
  assert.doesNotMatch(r.stderr, /internal error|Unhandled 'error' event/);
  assert.ok(lines.length <= 2, `one message and its fix:\n${r.stderr}`);
}

/** Files (recursively) under dir whose names look temporary: *.tmp, spill files, LAMMPS folders. */
export function leftovers(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(d, { withFileTypes: true });
    } catch (e) {
      // a folder that vanished while we looked (OpenMPI's session files are removed after exit) left nothing
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw e;
    }
    for (const e of entries) {
      const p = path.join(d, e.name);
      if (/\.tmp$|^mala-ts-ldos-|^mala-ts-bispectrum-|^\.mala-ts-probe-/.test(e.name)) out.push(p);
      // tsx's cache and OpenMPI's session folders (ompi.<host>.<uid>) are not ours
      if (e.isDirectory() && !e.name.startsWith('tsx-') && !e.name.startsWith('ompi.')) walk(p);
    }
  };
  walk(dir);
  return out;
}

/** A small model (14 descriptors → 24 energies) and a 10×10×10 descriptor file in dir. */
export function smallInferInputs(dir: string): { model: string; descriptors: string } {
  const model = writeSmallPredictModel(dir);
  const descriptors = path.join(dir, 'd.npy');
  writeNpy(descriptors, new Float32Array(10 * 10 * 10 * 14).map((_, i) => (i % 7) / 7), [10, 10, 10, 14]);
  return { model, descriptors };
}
