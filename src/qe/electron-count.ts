/**
 * ∫n against the electron count the pseudopotentials' valence gives (pw.x checks the same: it
 * renormalises or stops when the starting charge is off). A density that integrates to −4 or 8
 * where 4 electrons are expected gives a total energy that means nothing.
 */
import { MalaError } from '../errors';

/**
 * Relative tolerance on ∫n. Densities written by pp.x (cube, 5 significant digits) integrate to N
 * within ~1e-5·N, MALA's densities from the LDOS at the self-consistent Fermi level to the
 * bisection's tolerance; a density off by 1 % already shifts the Hartree energy (∝ n²) by ~2 %,
 * far more than any model error, so anything beyond 1 % is another density, not rounding.
 */
export const electronCountRelTol = 0.01;

/** Σ over atoms of the pseudopotentials' z_valence, minus the cell's charge (QE's tot_charge). */
export function valenceElectrons(species: readonly string[], zValence: Readonly<Record<string, { zValence: number }>>, totCharge = 0): number {
  return species.reduce((s, el) => s + zValence[el].zValence, 0) - totCharge;
}

/**
 * Checks ∫n (electrons) against the expected count: a non-positive or non-finite integral is
 * refused (it is no density); one off by more than `electronCountRelTol` gives a warning text.
 */
export function checkDensityElectrons(integratedElectrons: number, expectedElectrons: number, file: string, expectedFrom: string, refuseNonPositive = true): string | undefined {
  const n = integratedElectrons;
  if (refuseNonPositive && (!Number.isFinite(n) || n <= 0)) {
    throw new MalaError(`the density integrates to ${n.toPrecision(6)} electrons where ${expectedFrom} gives ${expectedElectrons}: it is not an electron density (wrong sign, units or file?)`, {
      file,
      fix: 'pass the electron density of this structure (MALA .npy in 1/Å³, or a pp.x plot_num=0 cube in 1/Bohr³)',
    });
  }
  if (Math.abs(n - expectedElectrons) <= electronCountRelTol * expectedElectrons) return undefined;
  return `${file}: the density integrates to ${n.toFixed(4)} electrons, but ${expectedFrom} gives ${expectedElectrons} (off by more than ${electronCountRelTol * 100} %): it is the density of another electron count, and energy terms from it are not this structure's (wrong density, units, --electrons or --fermi-energy?)`;
}

/**
 * An electron count given explicitly (--electrons, or a pw.x output's "number of electrons")
 * against the pseudopotentials' valence minus tot_charge: pw.x has no way to run with another
 * count, so a difference is a charged cell the input does not say (or another set of UPFs than the
 * output's). A warning text, or undefined; tolerance: pw.x prints the count with two decimals.
 */
export function checkElectronCount(electrons: number, expected: number, from: string, pseudoNames: string): string | undefined {
  if (Math.abs(electrons - expected) <= Math.max(0.01, 1e-6 * expected)) return undefined;
  return `${from} gives ${electrons} electrons, but the pseudopotentials' valence charges minus tot_charge give ${expected} (valence per atom: ${pseudoNames}): this predicts a cell of charge ${(expected - electrons).toFixed(2)} e (drop --electrons to use the valence count, or set tot_charge in the pw.x input)`;
}
