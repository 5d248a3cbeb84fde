/**
 * Descriptor types by name, as ASE keeps file formats in one table: adding a type is one new file
 * (a `DescriptorType`) plus one line in `BUILT_IN`. `registerDescriptorType` adds one at run time
 * (a plugin, a test).
 */
import { MalaError } from '../errors';
import { bispectrumType } from './bispectrum-type';
import type { DescriptorBlockSource, DescriptorContext, DescriptorType } from './descriptor-type';

export type { DescriptorBlockSource, DescriptorContext, DescriptorType } from './descriptor-type';

const BUILT_IN: DescriptorType<any>[] = [bispectrumType]; // eslint-disable-line @typescript-eslint/no-explicit-any

const types = new Map<string, DescriptorType<unknown>>(BUILT_IN.map((t) => [t.name.toLowerCase(), t]));

/** Register (or replace) a descriptor type; names are case-insensitive, as MALA's. */
export function registerDescriptorType<P>(type: DescriptorType<P>): void {
  types.set(type.name.toLowerCase(), type as DescriptorType<unknown>);
}

export function descriptorTypeNames(): string[] {
  return [...types.values()].map((t) => t.name);
}

/** The registered type of this name, or one error listing the known ones. */
export function descriptorType(name: string, source?: string): DescriptorType<unknown> {
  const t = types.get(String(name).toLowerCase());
  if (!t) {
    throw new MalaError(`unsupported descriptor type '${name}'`, { file: source, fix: `mala-ts computes ${descriptorTypeNames().join(', ')} descriptors; use a model trained on one of them` });
  }
  return t;
}

/** A model's descriptor record (`{ type, ...parameters }`), resolved to its type and parameters. */
export interface ResolvedDescriptors {
  type: DescriptorType<unknown>;
  parameters: unknown;
  featureCount: number;
}

export function resolveDescriptors(record: Readonly<{ type: string }>, source?: string): ResolvedDescriptors {
  const type = descriptorType(record.type, source);
  const parameters = type.parameters(record as unknown as Record<string, unknown>);
  return { type, parameters, featureCount: type.featureCount(parameters) };
}

/** Open a calculator for a model's descriptors on a structure, its grid and communicator. */
export function openDescriptors(record: Readonly<{ type: string }>, context: DescriptorContext, source?: string): DescriptorBlockSource {
  const r = resolveDescriptors(record, source);
  return r.type.open(r.parameters, context);
}
