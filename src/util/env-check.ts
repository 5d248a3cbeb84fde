/**
 * The numeric MALA_TS_* settings, read by the libtorch addon with atoi/atoll, which turns junk
 * into 0 and then the default, silently (issue 14: MALA_TS_TORCH_THREADS=abc, =-4 and
 * MALA_TS_CUDA_BATCH_POINTS=0 ran as if unset). The CLI checks them before any command runs. An
 * empty value counts as unset.
 */
import { MalaError } from '../errors';

const positiveInt = (v: string) => /^\s*\d+\s*$/.test(v) && Number(v) >= 1 && Number.isSafeInteger(Number(v));

const RULES: Record<string, { ok: (v: string) => boolean; want: string; example: string }> = {
  MALA_TS_TORCH_THREADS: { ok: positiveInt, want: 'a positive integer (libtorch intra-op threads)', example: 'MALA_TS_TORCH_THREADS=4' },
  MALA_TS_CUDA_BATCH_POINTS: { ok: positiveInt, want: 'a positive integer (grid points per CUDA batch)', example: 'MALA_TS_CUDA_BATCH_POINTS=65536' },
  MALA_TS_INFERENCE_MODE: { ok: (v) => v === '0' || v === '1', want: '0 or 1', example: 'MALA_TS_INFERENCE_MODE=1' },
};

export function checkEnvironment(env: NodeJS.ProcessEnv = process.env): void {
  for (const [name, rule] of Object.entries(RULES)) {
    const v = env[name];
    if (v === undefined || v === '') continue;
    if (!rule.ok(v)) throw new MalaError(`the environment variable ${name}=${JSON.stringify(v)} is not ${rule.want}`, { fix: `unset ${name}, or set e.g. ${rule.example}` });
  }
}
