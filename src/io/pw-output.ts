/**
 * A pw.x 6.7-style output for a mala-ts prediction, so that tools which parse pw.x outputs (ASE's
 * `espresso-out`, pymatgen, shell `grep '^!'`) read mala-ts results unchanged.
 *
 * Only the lines those parsers use are written, with pw.x's labels: header, lattice parameter /
 * celldm(1), atoms, types, electrons, cutoffs, crystal axes, site positions (alat units), FFT
 * dimensions, Fermi energy, the `!` total energy and its terms, convergence, the forces when the
 * result has them (pw.x's "Forces acting on atoms" block, F14.8 Ry/Bohr), JOB DONE. Lines that
 * announce k-points or bands ("number of k points=", "End of self-consistent calculation") are
 * never written: parsers would then expect blocks a prediction has not got; nor is the forces block
 * without forces. Energies keep pw.x's F17.8 Ry; the Fermi energy, axes and positions carry more decimals
 * than pw.x prints (still whitespace-separated) so that they round-trip to ~1e-10.
 *
 * Units: Ry and Bohr of src/structure/units.ts (ASE's CODATA 2014, like every mala-ts number), so
 * the `!` line is the eV total of `predict --json` divided by that Rydberg. ASE's espresso reader
 * multiplies by CODATA 2006 constants (8e-8 relative on energies, 4e-9 on lengths), as it does
 * for pw.x's own outputs.
 *
 * Pure: the caller supplies the results, the atoms and the clock.
 */
import { Atoms, cellVolumeA3, inv3, norm } from '../structure/atoms';
import { bohrAngstrom, evToRy } from '../structure/units';
import { pwStress } from '../engine/stress';

export interface PwOutputSpecies {
  label: string;
  valence?: number;
  massU?: number;
}

export interface PwOutputInput {
  atoms: Atoms;
  /** Species label of each atom as written in the input (default: the symbols). */
  labels?: string[];
  /** ATOMIC_SPECIES in input order (default: one entry per element). */
  species?: PwOutputSpecies[];
  ibrav?: number;
  /** celldm(1..6); celldm(1) = alat in Bohr. Default: alat = |a1|, the rest 0 (pw.x's ibrav = 0 rule). */
  celldm?: number[];
  ecutwfcRy?: number;
  ecutrhoRy?: number;
  electrons: number;
  grid: readonly number[];
  gVectorCount?: number;
  xcFunctional?: string;
  smearing?: string;
  degaussRy?: number;
  fermiEnergyEv: number;
  /** Terms in MALA's names (eV): e_band, e_rho_times_v_hxc, e_hartree, e_xc, e_ewald, e_entropy. */
  termsEv: Record<string, number>;
  totalEnergyEv: number;
  /** Where the input came from ("scf.in" or "standard input"). */
  inputName: string;
  /** What wrote this (mala-ts version) and from which model. */
  programVersion: string;
  modelName: string;
  startedAt: Date;
  finishedAt: Date;
  cpuSeconds: number;
  wallSeconds: number;
  /** Shown as pw.x-style messages (one line each). */
  warnings?: string[];
  /** The domain check's one line (src/domain/domain-check.ts `domainSummary`), a comment after the input name. */
  domainLine?: string;
  /** An ensemble model's spread (src/results/fields.ts `uncertaintyText`), a comment after the domain line. */
  uncertaintyLine?: string;
  /** Force on each atom (eV/Å, input order); when given, pw.x's "Forces acting on atoms" block is written. */
  forcesEvPerA?: readonly (readonly number[])[];
  /** Stress σ = (1/V)·∂E/∂ε (eV/Å³, ASE's sign); when given, pw.x's "total   stress" block is written (tstress). */
  stressEvPerA3?: number[][];
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const i2 = (n: number): string => String(n).padStart(2);
/** pw.x's date (" 7Sep2021") and time ("16:21:22", fields I2 so " 9: 5: 3"). */
export const pwDate = (d: Date): string => `${i2(d.getDate())}${MONTHS[d.getMonth()]}${d.getFullYear()}`;
export const pwTime = (d: Date): string => `${i2(d.getHours())}:${i2(d.getMinutes())}:${i2(d.getSeconds())}`;

/** Fortran Fw.d: right-aligned fixed-point, all stars when it does not fit (as Fortran does). */
export function fortranF(v: number, w: number, d: number): string {
  const s = v.toFixed(d);
  return s.length > w ? '*'.repeat(w) : s.padStart(w);
}

/** Fixed-point with at least `d` decimals and a leading space, wider than pw.x where needed. */
const fw = (v: number, w: number, d: number): string => ' ' + v.toFixed(d).padStart(w - 1);

/** One pw.x energy line: label, F17.8 Ry. */
export const energyLine = (label: string, ev: number): string => `${label}=${fortranF(evToRy(ev), 17, 8)} Ry`;

export type PwEnergies = Pick<PwOutputInput, 'totalEnergyEv' | 'termsEv'>;
const term = (r: PwEnergies, name: string): number => r.termsEv[name] ?? 0;

/** pw.x's free-energy lines (label, eV): F, −TS, E = F + TS. The values are the result's (src/results/fields.ts, pw rows). */
export const PW_FREE_ENERGY_LINES: readonly (readonly [string, (r: PwEnergies) => number])[] = [
  ['!    total energy              ', (r) => r.totalEnergyEv],
  ['     smearing contrib. (-TS)   ', (r) => term(r, 'e_entropy')],
  ['     internal energy E=F+TS    ', (r) => r.totalEnergyEv - term(r, 'e_entropy')],
];

/** pw.x's terms of E from MALA's: the one-electron term is eband + deband (band energy minus ∫n·v_Hxc). */
export const PW_TERM_LINES: readonly (readonly [string, (r: PwEnergies) => number])[] = [
  ['     one-electron contribution ', (r) => term(r, 'e_band') + term(r, 'e_rho_times_v_hxc')],
  ['     hartree contribution      ', (r) => term(r, 'e_hartree')],
  ['     xc contribution           ', (r) => term(r, 'e_xc')],
  ['     ewald contribution        ', (r) => term(r, 'e_ewald')],
];

/** eV/Å → Ry/Bohr, with the constants of units.ts. */
/** eV/Å → Ry/Bohr (pw.x's force unit). */
export const evPerAToRyPerBohr = (f: number): number => evToRy(f) * bohrAngstrom;

/**
 * pw.x 6.7's stress block (PW/src/stress.f90, format 9000): −σ in Ry/Bohr³ (3F13.8) and kbar
 * (3F12.2), the pressure P = tr/3 in kbar; ASE's reader takes the first three columns.
 */
export function pwStressBlock(stressEvPerA3: number[][]): string[] {
  const s = pwStress(stressEvPerA3);
  const L = ['     Computing stress (Cartesian axis) and pressure', ''];
  L.push(`          total   stress  (Ry/bohr**3) ${' '.repeat(18)}(kbar)     P=${fortranF(s.pressureKbar, 12, 2)}`);
  for (let a = 0; a < 3; a++) L.push(s.ryPerBohr3[a].map((x) => fortranF(x, 13, 8)).join('') + '    ' + s.kbar[a].map((x) => fortranF(x, 12, 2)).join(''));
  return L;
}

/**
 * pw.x 6.7's forces block (PW/src/forces.f90): header, blank, one `atom I4 type I2 force = 3F14.8`
 * line per atom (type = the atom's ATOMIC_SPECIES index), blank, the total force
 * √(Σ|F_I|²) as F12.6, and a zero SCF correction (a prediction has no SCF residual).
 */
function forceLines(forcesEvPerA: readonly (readonly number[])[], labels: readonly string[], species: readonly PwOutputSpecies[]): string[] {
  if (forcesEvPerA.length !== labels.length) throw new Error(`pw output: ${forcesEvPerA.length} forces for ${labels.length} atoms`);
  return pwForcesBlock(
    forcesEvPerA,
    labels.map((l) => species.findIndex((s) => s.label === l) + 1),
  );
}

/** The forces block itself, with each atom's ATOMIC_SPECIES index given (also every relax/md step's, src/io/pw-steps-output.ts). */
export function pwForcesBlock(forcesEvPerA: readonly (readonly number[])[], atomTypes: readonly number[]): string[] {
  const L = ['     Forces acting on atoms (cartesian axes, Ry/au):', ''];
  let sumSquares = 0;
  forcesEvPerA.forEach((fEv, a) => {
    const fRy = fEv.map(evPerAToRyPerBohr);
    sumSquares += fRy.reduce((s, x) => s + x * x, 0);
    L.push(`     atom ${String(a + 1).padStart(4)} type ${String(atomTypes[a]).padStart(2)}   force = ${fRy.map((x) => fortranF(x, 14, 8)).join('')}`);
  });
  L.push('', `     Total force = ${fortranF(Math.sqrt(sumSquares), 12, 6)}     Total SCF correction = ${fortranF(0, 12, 6)}`);
  return L;
}

/** The whole pw.x-style output text. */
export function formatPwOutput(r: PwOutputInput): string {
  const { atoms } = r;
  const nat = atoms.symbols.length;
  const labels = r.labels ?? atoms.symbols;
  const species: PwOutputSpecies[] = r.species ?? [...new Set(atoms.symbols)].map((s) => ({ label: s }));
  const celldm = [...(r.celldm ?? [])];
  while (celldm.length < 6) celldm.push(0);
  // pw.x's alat: celldm(1) when given, else |a1| (ibrav = 0 with CELL_PARAMETERS in Å/Bohr).
  if (!(celldm[0] > 0)) celldm[0] = norm(atoms.cellAngstrom[0]) / bohrAngstrom;
  const alatBohr = celldm[0];
  const alatA = alatBohr * bohrAngstrom;
  const volumeBohr3 = cellVolumeA3(atoms.cellAngstrom) / bohrAngstrom ** 3;
  // reciprocal vectors b_i (rows) in 2π/alat: columns of inv(cell), times alat
  const inv = inv3(atoms.cellAngstrom);
  const recip = [0, 1, 2].map((i) => [0, 1, 2].map((k) => inv[k][i] * alatA));

  const L: string[] = [];
  const p = (s = '') => L.push(s);
  p();
  p(`     Program PWSCF v.6.7 starts on ${pwDate(r.startedAt)} at ${pwTime(r.startedAt)} `);
  p();
  p(`     This output was written by mala-ts ${r.programVersion}, not by pw.x: the electronic structure`);
  p(`     is predicted by the machine-learned LDOS model ${r.modelName} (MALA workflow).`);
  if (r.forcesEvPerA) {
    p('     It has pw.x 6.7\'s lines for the structure, the energies and the forces; there are no');
    p('     k-points, bands, wavefunctions or stress.');
  } else {
    p('     It has pw.x 6.7\'s lines for the structure and the energies; there are no');
    p('     k-points, bands, wavefunctions, forces or stress.');
  }
  p();
  p(`     Reading input from ${r.inputName}`);
  if (r.domainLine !== undefined) {
    p();
    p(`     mala-ts training domain: ${r.domainLine}`);
  }
  if (r.uncertaintyLine !== undefined) {
    p();
    p(`     mala-ts uncertainty: ${r.uncertaintyLine}`);
  }
  for (const w of r.warnings ?? []) {
    p();
    p('     Message from mala-ts:');
    p(`     ${w}`);
  }
  p();
  p();
  p(`     bravais-lattice index     = ${String(r.ibrav ?? 0).padStart(12)}`);
  p(`     lattice parameter (alat)  = ${fortranF(alatBohr, 12, 4)}  a.u.`);
  p(`     unit-cell volume          = ${fortranF(volumeBohr3, 12, 4)} (a.u.)^3`);
  p(`     number of atoms/cell      = ${String(nat).padStart(12)}`);
  p(`     number of atomic types    = ${String(species.length).padStart(12)}`);
  p(`     number of electrons       = ${fortranF(r.electrons, 12, 2)}`);
  if (r.ecutwfcRy !== undefined) p(`     kinetic-energy cutoff     = ${fortranF(r.ecutwfcRy, 12, 4)}  Ry`);
  if (r.ecutrhoRy !== undefined) p(`     charge density cutoff     = ${fortranF(r.ecutrhoRy, 12, 4)}  Ry`);
  if (r.xcFunctional) p(`     Exchange-correlation= ${r.xcFunctional.toUpperCase()}`);
  p();
  p(`     celldm(1)=${fw(celldm[0], 14, 10)}  celldm(2)=${fw(celldm[1], 11, 6)}  celldm(3)=${fw(celldm[2], 11, 6)}`);
  p(`     celldm(4)=${fw(celldm[3], 11, 6)}  celldm(5)=${fw(celldm[4], 11, 6)}  celldm(6)=${fw(celldm[5], 11, 6)}`);
  p();
  p('     crystal axes: (cart. coord. in units of alat)');
  for (let i = 0; i < 3; i++) p(`               a(${i + 1}) = (${atoms.cellAngstrom[i].map((x) => fw(x / alatA, 16, 12)).join('')} )  `);
  p();
  p('     reciprocal axes: (cart. coord. in units 2 pi/alat)');
  for (let i = 0; i < 3; i++) p(`               b(${i + 1}) = (${recip[i].map((x) => fw(x, 11, 6)).join('')} )  `);
  p();
  p();
  p('     atomic species   valence    mass     pseudopotential');
  for (const s of species) {
    p(`        ${s.label.padEnd(6)}${s.valence !== undefined ? fortranF(s.valence, 13, 2) : '          n/a'}${s.massU !== undefined ? fortranF(s.massU, 12, 5) : '         n/a'}     ${s.label.padStart(2)}( 1.00)`);
  }
  p();
  p('   Cartesian axes');
  p();
  p('     site n.     atom                  positions (alat units)');
  for (let a = 0; a < nat; a++) {
    const tau = atoms.positionsAngstrom[a].map((x) => fw(x / alatA, 17, 12)).join('');
    p(`     ${String(a + 1).padStart(5)}           ${labels[a].padEnd(3)}  tau(${String(a + 1).padStart(4)}) = (${tau}  )`);
  }
  p();
  if (r.smearing) p(`     ${r.smearing} smearing${r.degaussRy !== undefined ? `, width (Ry)=${fortranF(r.degaussRy, 7, 4)}` : ''}`);
  p();
  const g = r.grid.map((n) => String(n).padStart(4)).join(',');
  p(`     Dense  grid: ${String(r.gVectorCount ?? 0).padStart(8)} G-vectors     FFT dimensions: (${g})`);
  p();
  p();
  p(`     the Fermi energy is ${fw(r.fermiEnergyEv, 15, 8)} ev`);
  p();
  for (const [label, ev] of PW_FREE_ENERGY_LINES) p(energyLine(label, ev(r)));
  p();
  p('     The total energy is F=E-TS. E is the sum of the following terms:');
  for (const [label, ev] of PW_TERM_LINES) p(energyLine(label, ev(r)));
  p();
  p('     convergence has been achieved in   1 iterations');
  p();
  if (r.forcesEvPerA) {
    for (const line of forceLines(r.forcesEvPerA, labels, species)) p(line);
    p();
  }
  if (r.stressEvPerA3) {
    p();
    for (const line of pwStressBlock(r.stressEvPerA3)) p(line);
    p();
    p();
  }
  p(`     PWSCF        : ${fortranF(r.cpuSeconds, 8, 2)}s CPU ${fortranF(r.wallSeconds, 8, 2)}s WALL`);
  p();
  p();
  p(`   This run was terminated on:  ${pwTime(r.finishedAt)}  ${pwDate(r.finishedAt)}            `);
  p();
  p('=------------------------------------------------------------------------------=');
  p('   JOB DONE.');
  p('=------------------------------------------------------------------------------=');
  return L.join('\n') + '\n';
}
