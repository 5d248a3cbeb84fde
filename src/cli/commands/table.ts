/**
 * Every subcommand: its name (its module is src/cli/commands/<name>.ts), its term in `mala-ts --help`
 * ("predict [options] <structure>") and its one-line summary. main.ts loads only the module of
 * the command being run (by name), and `mala-ts --help` lists the commands from this table without
 * loading any: the modules import their workflows (LAMMPS, FFTW, libxc, results, MPI launch), which
 * were most of the start-up of `--help` (issue 15). Each module takes its summary from here
 * (`commandSummary`), and
 * test/cli/command-table.test.ts checks that every term matches what the module registers.
 * A new command: one module exporting `register(program)`, one row here.
 */
export interface CommandEntry {
  name: string;
  /** How `--help` lists it: commander's subcommand term of the registered command. */
  term: string;
  summary: string;
}

export const COMMANDS: readonly CommandEntry[] = [
  { name: 'doctor', term: 'doctor [options]', summary: 'check every native part (LAMMPS with sna/grid, FFTW, libxc, libtorch addon, pw.x/pp.x, mpirun)' },
  { name: 'predict', term: 'predict [options] <structure>', summary: 'structure → descriptors (LAMMPS) → LDOS (network) → DOS, Fermi level, band energy, density, total energy' },
  { name: 'import-model', term: 'import-model [options] <mala-model>', summary: 'convert a model saved by MALA (zip: params.json, network.pth, scaler pickles, info.json) to a mala-ts model archive' },
  { name: 'pw', term: 'pw [options] [pw-args...]', summary: 'drop-in for pw.x: "mala-ts pw -in scf.in > scf.out" predicts the scf energies of an unchanged pw.x input and prints them in pw.x 6.7\'s output format' },
  { name: 'watch', term: 'watch [options] <dir>', summary: 'predict every new or changed structure file in a folder; one JSON line per file in a JSONL log (Ctrl-C stops after the file in progress)' },
  { name: 'descriptors', term: 'descriptors [options] <structure>', summary: 'bispectrum descriptors (LAMMPS sna/grid, MALA parameters) on the real-space grid → .npy of shape (nx,ny,nz,F)' },
  { name: 'observables', term: 'observables [options]', summary: 'LDOS (MALA .npy or pp.x cubes) → DOS, self-consistent Fermi energy, band energy, −TS, electron density (and total energy with --pseudo-dir)' },
  { name: 'energy', term: 'energy [options]', summary: 'QE-compatible Hartree, XC (with core correction), Ewald and double-counting terms of a density; total energy with --band-energy' },
  { name: 'train', term: 'train [options]', summary: 'train the LDOS network on descriptor/LDOS .npy pairs (MALA layout) and write a model archive' },
  { name: 'infer', term: 'infer [options]', summary: 'predict the LDOS (1/(eV·Å³)) from descriptors with a model (mala-ts archive or MALA model zip)' },
  { name: 'generate', term: 'generate [options]', summary: 'make MALA training data from a pw.x input: SCF, Gaussian LDOS (from its wavefunctions, or pp.x), bispectrum descriptors → <name>.in.npy, <name>.out.npy, <name>.info.json; reruns resume' },
  { name: 'sample', term: 'sample [options]', summary: 'EAM molecular dynamics of fcc aluminium (LAMMPS) → decorrelated frames written as pw.x inputs for `mala-ts generate`' },
  { name: 'finetune', term: 'finetune [options]', summary: "continue training a model's network on its training snapshots' QE forces and total energies beside the LDOS (a force term, an energy term, no second derivatives)" },
  { name: 'model-domain', term: 'model-domain [options]', summary: 'record a model\'s training domain (descriptor statistics, density, temperature, ecutrho, smearing, grid) from its training structures; the weights stay byte-identical' },
  { name: 'ensemble', term: 'ensemble [options] <models...>', summary: 'combine models trained with different seeds (same data and settings) into one ensemble archive; predict then reports the spread σ of E_total, E_band and E_F (--split: each member of an ensemble as a model of its own)' },
  { name: 'model-info', term: 'model-info [options] <model>', summary: 'what a model is and what it was trained on: versions, sha256, network, training domain, data recipe, ensemble size' },
  { name: 'test', term: 'test [options]', summary: "MALA's Tester: a model against the LDOS and QE numbers of held-out snapshots (band, total and Fermi energy, DOS and density errors per snapshot); on pw.x outputs alone, against QE's numbers" },
];

/** The summary of a command, for its module's `.description(...)`. */
export function commandSummary(name: string): string {
  const entry = COMMANDS.find((c) => c.name === name);
  if (!entry) throw new Error(`no command '${name}' in src/cli/commands/table.ts`);
  return entry.summary;
}
