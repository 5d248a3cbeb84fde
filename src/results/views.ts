/**
 * The views of a result, each driven by the field table (./fields.ts): the JSON object
 * (results.json, --json), the terminal summary, the calculator's properties and the pw.x-format
 * output's values.
 */
import { MalaError } from '../errors';
import type { ObservablesResult } from '../engine/types';
import type { PredictResult } from './predict-result';
import { fieldValue, fmt, observableFields, PwResultValues, ResultField, resultFields, SummaryEntry, SummaryLine } from './fields';

/** A predict result (it has the predict-only fields), rather than an observables one. */
export function isPredictResult(r: ObservablesResult): r is PredictResult {
  return typeof (r as Partial<PredictResult>).modelFile === 'string';
}

/** The rows that apply to this result. */
export function fieldsOf<R extends ObservablesResult>(r: R): ResultField<R>[] {
  return (isPredictResult(r) ? resultFields : observableFields) as unknown as ResultField<R>[];
}

/** The JSON object of the rows with a JSON key, in table order (exactly the shipped keys and order). */
export function resultToJson<R extends ObservablesResult>(r: R, fields: ResultField<R>[] = fieldsOf(r)): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of fields) {
    if (f.jsonKey === undefined || (f.jsonIf && !f.jsonIf(r))) continue;
    out[f.jsonKey] = f.json ? f.json(r) : fieldValue(f, r);
  }
  return out;
}

/** `observables --json`: the observables' keys only, also for a predict result. */
export function observablesResultJson(r: ObservablesResult): Record<string, unknown> {
  return resultToJson(r, observableFields);
}

/** `predict --json` and results.json: the observables' keys, then what predict adds. */
export function predictResultJson(r: PredictResult): Record<string, unknown> {
  return resultToJson(r, resultFields);
}

const entriesOf = <R>(f: ResultField<R>): SummaryEntry<R>[] => (f.summary === undefined ? [] : Array.isArray(f.summary) ? f.summary : [f.summary]);

/** The default line: `label  value unit`, none for an undefined value. */
function defaultLines<R>(f: ResultField<R>, r: R): SummaryLine[] {
  const v = fieldValue(f, r);
  if (v === undefined) return [];
  const text = typeof v === 'number' ? fmt(v, 6) : Array.isArray(v) ? v.join(', ') : String(v);
  return [[f.label, f.unit ? `${text} ${f.unit}` : text]];
}

/** One section's lines, ordered by the entries' `order`, then table order. */
function sectionLines<R>(r: R, fields: ResultField<R>[], section: 'head' | 'body' | 'tail'): SummaryLine[] {
  const picked: { order: number; index: number; lines: SummaryLine[] }[] = [];
  fields.forEach((f, index) => {
    for (const e of entriesOf(f)) {
      if ((e.section ?? 'body') !== section) continue;
      picked.push({ order: e.order ?? 100, index, lines: e.lines ? e.lines(r) : defaultLines(f, r) });
    }
  });
  picked.sort((a, b) => a.order - b.order || a.index - b.index);
  return picked.flatMap((p) => p.lines);
}

/** [label, text] lines with labels padded to `width`, plain lines as they are. */
function layout(lines: SummaryLine[], width: number): string {
  return lines.map((l) => (typeof l === 'string' ? l : `${l[0].padEnd(width)}  ${l[1]}`) + '\n').join('');
}

/** The short summary a chemist reads (the body: observables, energies, files, warnings). */
export function formatSummary<R extends ObservablesResult>(r: R, fields: ResultField<R>[] = fieldsOf(r)): string {
  const lines = sectionLines(r, fields, 'body');
  const width = Math.max(...lines.map((l) => (typeof l === 'string' ? 0 : l[0].length)));
  return layout(lines, width);
}

/** predict's summary: structure and model, the body, then timings, memory and the warnings again. */
export function formatPredictSummary(r: PredictResult): string {
  // head and tail keep a fixed 13-column label, as they always had
  return layout(sectionLines(r, resultFields, 'head'), 11) + formatSummary(r, resultFields) + layout(sectionLines(r, resultFields, 'tail'), 11);
}

/** Every calculator property name the table provides, in table order. */
export function calculatorPropertyNames(): string[] {
  return resultFields.flatMap((f) => f.calculator?.names ?? []);
}

/** One calculator property (ASE's name) of a result; undefined when the result has none (no total energy). */
export function calculatorProperty(r: PredictResult, name: string): unknown {
  const f = resultFields.find((x) => x.calculator?.names.includes(name as never));
  if (!f) throw new MalaError(`property '${name}' is not available from MalaCalculator`, { fix: `ask for one of ${calculatorPropertyNames().join(', ')}` });
  return f.calculator!.value ? f.calculator!.value(r) : fieldValue(f, r);
}

/** The pw.x-format output's inputs that come from the result (the rest is the pw.x input's). */
export function pwOutputValues(r: PredictResult): PwResultValues {
  if (!r.totalEnergy) throw new MalaError('no total energy to write: a pw.x output without its `!` line is useless to the tools that read it', { fix: 'pass the pseudopotentials (pseudo_dir or --pseudo-dir) so that the total energy is computed' });
  const out: Record<string, unknown> = {};
  for (const f of resultFields) if (f.pw) out[f.pw.key] = f.pw.value ? f.pw.value(r) : fieldValue(f, r);
  return out as unknown as PwResultValues;
}
