/**
 * Output formats by name, like ASE's format table: an output is a kind (density, dos, plot,
 * ldos, results) written in the format its file extension names. Adding a format is one file
 * exporting an OutputWriter plus one line in `outputWriters`.
 */
import * as path from 'node:path';
import { MalaError } from '../../errors';
import { densityCube } from './density-cube';
import { densityNpy } from './density-npy';
import { dosCsv } from './dos-csv';
import { dosPng, dosSvg } from './dos-plot';
import { ldosNpy } from './ldos-npy';
import type { OutputContext, OutputWriter } from './output';
import { resultsJson } from './results-json';

export type { OutputContext, OutputWriter } from './output';

/** Every writer; for one kind, the order here is the order error messages list the formats. */
export const outputWriters: readonly OutputWriter[] = [densityCube, densityNpy, dosCsv, dosSvg, dosPng, ldosNpy, resultsJson];

export interface OutputRequest {
  file: string;
  writer: OutputWriter;
}

/** The writer of `kind` for `file`'s extension; a MalaError naming the known formats when there is none. */
export function outputRequest(kind: string, file: string): OutputRequest {
  const choices = outputWriters.filter((w) => w.kind === kind);
  if (choices.length === 0) throw new Error(`no output of kind '${kind}'`);
  const ext = path.extname(file);
  const writer = choices.find((w) => w.extension === ext.toLowerCase());
  if (!writer) throw new MalaError(`unknown ${kind} format '${ext || '(none)'}'`, { file, fix: `name the ${kind} file ${choices.map((w) => w.label).join(' or ')}` });
  return { file, writer };
}

/** Whether this rank writes the output: every rank for collective writers, rank 0 for the others. */
const mine = (r: OutputRequest, ctx: OutputContext): boolean => r.writer.collective === true || ctx.comm.rank === 0;

/**
 * Writes the requests in order, except the `last` ones (writeLastOutputs), and records every one
 * this rank writes, the last ones included, in `ctx.result.outputs` (kind → file).
 */
export async function writeOutputs(requests: readonly OutputRequest[], ctx: OutputContext): Promise<void> {
  for (const r of requests) {
    if (!mine(r, ctx)) continue;
    if (!r.writer.last) await r.writer.write(r.file, ctx);
    ctx.result.outputs[r.writer.kind] = r.file;
  }
}

/** Writes the `last` requests (results.json), once the result holds its final numbers. */
export async function writeLastOutputs(requests: readonly OutputRequest[], ctx: OutputContext): Promise<void> {
  for (const r of requests) if (r.writer.last && mine(r, ctx)) await r.writer.write(r.file, ctx);
}
