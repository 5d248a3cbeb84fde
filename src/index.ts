/**
 * mala-ts as a library: the public API, re-exported from the modules that define it.
 * Lengths in Å, energies in eV, densities per Å³ (see the names); errors a user can fix are MalaError.
 */
export { MalaError, isMalaError } from './errors';

// structures
export type { Atoms, Mat3, Vec3 } from './structure/atoms';
export { validateAtoms, wrapAtoms, speciesOf, cellVolumeA3, fractionalPositions } from './structure/atoms';
export type { StructureFormat, StructureRead, ReadOptions, WritableFormat } from './structure/registry';
export { readStructure, parseStructure, writeStructure, structureText, structureFormats } from './structure/registry';

// grid and descriptors
export type { GridShape } from './grid/grid';
export { qeFftGrid, voxelVolumeA3 } from './grid/grid';
export type { BispectrumParameters } from './descriptors/bispectrum';
export { computeBispectrum, BispectrumCalculator, bispectrumCount } from './descriptors/bispectrum';
export { malaBispectrumDefaults } from './descriptors/mala-defaults';
export { registerDescriptorType, descriptorType, descriptorTypeNames, openDescriptors } from './descriptors/registry';
export type { DescriptorType, DescriptorBlockSource, DescriptorContext } from './descriptors/registry';

// network
export { loadModel, LdosModel } from './network/model';
export { registerBackend, backendNames, resolveBackend, createInferenceNet, createTrainableNet } from './network/backends';
export type { InferenceNet, TrainableNet } from './network/backends';

// observables and energies
export { dosObservables, selfConsistentFermiEnergy, bandEnergy, entropyContribution, numberOfElectrons } from './targets/dos';
export { computeObservables } from './workflow/observables';
export type { ObservablesOptions } from './workflow/observables';
export type { ObservablesResult } from './engine/types';
export { runObservablesEngine } from './engine/engine';
export type { LdosSource } from './engine/ldos-source';
export { calculationContext } from './qe/calculation-context';
export type { CalculationContext } from './qe/calculation-context';
export { pseudoDirCandidates } from './qe/pseudo-dir';
export { resultFields, resultToJson, formatSummary as formatResultSummary } from './results';
export { totalEnergy, loadPseudopotentials, energyTermNames } from './qe';
export type { TotalEnergy, TotalEnergyInput, Pseudopotential } from './qe';

// the main job
export { predict, predictJson } from './workflow/predict';
export type { PredictOptions, PredictResult } from './workflow/predict';
export { MalaCalculator, compareAtoms, implementedProperties } from './workflow/calculator';
export type { MalaCalculatorOptions, CalculatorResults, PropertyName, AtomsChange } from './workflow/calculator';
export { runPwDropIn } from './workflow/pw';
export type { PwDropInOptions, PwDropInResult } from './workflow/pw';
export { formatPwOutput } from './io/pw-output';
export { watchFolder } from './workflow/watch';
export type { WatchOptions, WatchHandle, WatchRecord } from './workflow/watch';
