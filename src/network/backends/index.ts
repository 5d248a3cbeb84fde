/**
 * The network backends: the registry plus every backend shipped with mala-ts. A new backend is
 * one file here ending in `registerBackend({...})` and one import line below.
 */
import './torch';
import './ts';

export * from './registry';
export * from './types';
export { float64Path, TsNet } from './ts';
export * from './vjp';
