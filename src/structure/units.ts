/**
 * Physical constants and unit conversions. MALA uses ASE's defaults (CODATA 2014), so we do too:
 * spec §0.2. QE's own constants differ by ~1e-9 relative, which is irrelevant at printed precision.
 */
export const kBoltzmannEvPerK = 8.617330337217213e-5;
export const rydbergEv = 13.605693012183622;
export const hartreeEv = 27.211386024367243;
export const bohrAngstrom = 0.5291772105638411;

/** Volume of one Bohr³ in Å³. */
export const bohr3InAngstrom3 = bohrAngstrom ** 3;

export const ryToEv = (ry: number): number => ry * rydbergEv;
export const evToRy = (ev: number): number => ev / rydbergEv;
export const bohrToAngstrom = (bohr: number): number => bohr * bohrAngstrom;
export const angstromToBohr = (a: number): number => a / bohrAngstrom;

/** kB·T in eV for a temperature in K. */
export const kTEv = (temperatureK: number): number => kBoltzmannEvPerK * temperatureK;
/** Temperature in K for a smearing width given in Ry (QE's degauss). */
export const rydbergToKelvin = (ry: number): number => (ry * rydbergEv) / kBoltzmannEvPerK;

/** Atomic mass unit in electron masses (ASE/CODATA 2014: _amu/_me), for pw.x's ionic masses. */
export const amuElectronMasses = 1.66053904e-27 / 9.10938356e-31;
/**
 * pw.x's time unit for &CONTROL dt (Rydberg atomic units): ħ/Ry in seconds, 4.8378e-17 s
 * (from spec §0.2's _hplanck and _e).
 */
export const rydbergTimeSeconds = 6.62607004e-34 / (2 * Math.PI) / (rydbergEv * 1.6021766208e-19);
/** An ionic mass (u) in Rydberg atomic units, where the electron mass is 1/2 (QE's amu_ry). */
export const amuToRydbergMass = (massU: number): number => (massU * amuElectronMasses) / 2;
