/**
 * `mala-ts test --merge`: add this run's rows to the table already in `--out` (a model's
 * VALIDATION.json). Validation data of a broad model is made over many CPU hours, in pieces, on
 * more than one machine; a table that can only be written whole would need every frame's LDOS
 * kept forever. Merging keeps the rows that were measured and adds the new ones:
 *
 *   - only a table of the same model file (sha256) is merged: rows of two models are not one table;
 *   - a snapshot tested again replaces its row; every row records its data folder;
 *   - the summary and the --max-error failures are recomputed over all rows, with this run's
 *     limits (or, when this run sets none, the table's).
 */
import { MalaError } from '../errors';
import { checkLimitsJson, failureJson, summarize, type ErrorLimits } from './tester-report';

type JsonRow = Record<string, unknown>;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The table in `file` (parsed), checked to be a table of mala-ts test of the model file with this sha256. */
export function checkMergeTarget(previous: unknown, modelSha256: string | undefined, file: string): { snapshots: JsonRow[]; data?: unknown; max_error?: unknown } {
  const rows = isObject(previous) ? previous.snapshots : undefined;
  if (!isObject(previous) || !Array.isArray(rows) || !rows.every((r) => isObject(r) && typeof r.name === 'string') || typeof previous.model_sha256 !== 'string') {
    throw new MalaError('--merge: the --out file is not a table of mala-ts test (no snapshots and model_sha256)', { file, fix: 'drop --merge to overwrite it, or give another --out' });
  }
  if (previous.model_sha256 !== modelSha256) {
    throw new MalaError(`--merge: the --out file holds the rows of another model file (sha256 ${previous.model_sha256.slice(0, 16)}…; this model's is ${String(modelSha256).slice(0, 16)}…)`, {
      file,
      fix: 'rows of two models are not one table: drop --merge to replace the table, or write to another --out',
    });
  }
  return previous as { snapshots: JsonRow[]; data?: unknown; max_error?: unknown };
}

/** The merged report (JSON) of the table in `file` (already parsed) and this run's report. */
export function mergeTestReports(table: unknown, current: Record<string, unknown>, file: string): Record<string, unknown> {
  const previous = checkMergeTarget(table, current.model_sha256 as string | undefined, file);
  const currentRows: JsonRow[] = (current.snapshots as JsonRow[]).map((r) => ({ ...r, data: current.data }));
  const tested = new Set(currentRows.map((r) => r.name));
  const kept: JsonRow[] = previous.snapshots.filter((r) => !tested.has(r.name)).map((r) => ({ ...r, data: r.data ?? previous.data }));
  const snapshots = [...kept, ...currentRows].sort((a, b) => String(a.name).localeCompare(String(b.name)));
  const limits = (current.max_error ?? previous.max_error) as ErrorLimits | undefined;
  const failures = limits ? checkLimitsJson(snapshots, limits) : [];
  const folders = [...new Set(snapshots.map((r) => String(r.data)))];
  return {
    ...current,
    data: folders.join(', '),
    snapshots,
    summary: summarize(snapshots),
    max_error: limits,
    failures: failures.map(failureJson),
    passed: failures.length === 0,
  };
}
