/**
 * The `mala-ts` command. Thin: parses arguments, calls workflow/, prints results. Each
 * subcommand lives in src/cli/commands/<name>.ts and exports `register(program)`.
 * Errors a user can fix (MalaError, and system errors such as a full disk: src/cli/fail.ts)
 * print one clear message and exit 1; anything else is a bug (exit 2). Stack traces need --debug.
 * SIGINT/SIGTERM remove the temporary files (src/util/cleanup.ts).
 */
import { Command } from 'commander';
import { installSignalCleanup } from '../util/cleanup';
import { fail, takeDebugFlag } from './fail';
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
import * as ensemble from './commands/ensemble';
import * as modelInfo from './commands/model-info';

const program = new Command();
program
  .name('mala-ts')
  .description('Machine-learned electronic structure, the MALA way: LAMMPS descriptors → libtorch LDOS network → QE-compatible observables')
  .version(packageVersion())
  .option('--debug', 'print stack traces with errors (also MALA_TS_DEBUG=1); accepted anywhere on the command line');

for (const cmd of [doctor, predict, importModel, pw, watch, descriptors, observables, energy, train, infer, generate, sample, modelDomain, modelInfo, ensemble]) cmd.register(program);

installSignalCleanup();
// a full or closed stdout (`pw > /dev/full`, `| head`) is a message, not Node's unhandled 'error' event
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (!e.path) e.path = stream === process.stdout ? 'standard output' : 'standard error';
    fail(e);
  });
}
process.on('uncaughtException', fail);
process.on('unhandledRejection', fail);

program.parseAsync(takeDebugFlag(process.argv)).catch(fail);
