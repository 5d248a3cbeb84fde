/**
 * Completion stamps for resumable multi-stage work: a stage is done when its stamp exists and
 * records the same key (a hash of everything the stage's result depends on). A stage that starts
 * removes its stamp first, so an interrupted stage is never mistaken for a finished one, and a
 * changed input (different key) is redone instead of mixed with stale files.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic } from '../io/atomic-write';

export function hashKey(...parts: unknown[]): string {
  const h = crypto.createHash('sha256');
  for (const p of parts) h.update(typeof p === 'string' ? p : JSON.stringify(p)).update('\0');
  return h.digest('hex').slice(0, 24);
}

export interface Stamp {
  stage: string;
  key: string;
  finished: string;
  seconds?: number;
  [extra: string]: unknown;
}

const stampPath = (dir: string, stage: string): string => path.join(dir, `${stage}.done.json`);

export function readStamp(dir: string, stage: string): Stamp | undefined {
  try {
    return JSON.parse(fs.readFileSync(stampPath(dir, stage), 'utf8')) as Stamp;
  } catch {
    return undefined;
  }
}

/** Whether `stage` finished with this key (and its listed outputs still exist). */
export function stageDone(dir: string, stage: string, key: string, outputs: string[] = []): boolean {
  const s = readStamp(dir, stage);
  return s?.key === key && outputs.every((f) => fs.existsSync(f));
}

export function clearStamp(dir: string, stage: string): void {
  fs.rmSync(stampPath(dir, stage), { force: true });
}

export function writeStamp(dir: string, stage: string, key: string, extra: Record<string, unknown> = {}): void {
  const s: Stamp = { stage, key, finished: new Date().toISOString(), ...extra };
  writeFileAtomic(stampPath(dir, stage), `${JSON.stringify(s, null, 1)}\n`);
}
