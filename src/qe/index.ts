/** QE-compatible total-energy terms (spec §5.11–5.13): public entry points. */
export { computeEnergyTerms, ewaldEnergy, qeBohrAngstrom } from './energy-terms';
export type { EnergyTermsInput, EnergyTermsRy } from './energy-terms';
export { totalEnergy, totalEnergyWithGradient, checkDensityShape, energyTermNames } from './total-energy';
export type { TotalEnergy, TotalEnergyInput, EnergyTermName } from './total-energy';
export { readUpf, loadPseudopotentials, normaliseFunctional } from './upf';
export type { Pseudopotential, XcFunctionalName } from './upf';
export { energyGradient } from './energy-gradient';
export type { EnergyGradient, EnergyGradientOptions } from './energy-gradient';
