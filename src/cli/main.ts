/**
 * The `mala-ts` command. Thin: parses arguments, calls workflow/, prints results. Each
 * subcommand lives in src/cli/commands/<name>.ts and exports `register(program)`.
 * Errors a user can fix (MalaError) print one clear message and exit 1; anything else is a bug.
 */
import { Command } from 'commander';
import { isMalaError } from '../errors';
import { packageVersion } from '../util/package-paths';
import * as doctor from './commands/doctor';
import * as observables from './commands/observables';
import * as train from './commands/train';
import * as infer from './commands/infer';
import * as descriptors from './commands/descriptors';
import * as generate from './commands/generate';
import * as sample from './commands/sample';
import * as energy from './commands/energy';
import * as predict from './commands/predict';
import * as importModel from './commands/import-model';
import * as pw from './commands/pw';
import * as watch from './commands/watch';
import * as modelDomain from './commands/model-domain';
import * as modelInfo from './commands/model-info';

const program = new Command();
program
  .name('mala-ts')
  .description('Machine-learned electronic structure, the MALA way: LAMMPS descriptors → libtorch LDOS network → QE-compatible observables')
  .version(packageVersion());

for (const cmd of [doctor, predict, importModel, pw, watch, descriptors, observables, energy, train, infer, generate, sample, modelDomain, modelInfo]) cmd.register(program);

function fail(e: unknown): never {
  if (isMalaError(e)) {
    process.stderr.write(`mala-ts: error: ${e.describe()}\n`);
    process.exit(1);
  }
  process.stderr.write(`mala-ts: internal error (please report): ${(e as Error)?.stack ?? String(e)}\n`);
  process.exit(2);
}

program.parseAsync(process.argv).catch(fail);
