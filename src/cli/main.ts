/**
 * The `mala-ts` command. Thin: parses arguments, calls workflow/, prints results. Each
 * subcommand lives in src/cli/commands/<name>.ts and exports `register(program)`; the table in
 * src/cli/commands/table.ts lists them, and only the command being run is loaded.
 * Errors a user can fix (MalaError, and system errors such as a full disk: src/cli/fail.ts)
 * print one clear message and exit 1; anything else is a bug (exit 2). Stack traces need --debug.
 * SIGINT/SIGTERM remove the temporary files (src/util/cleanup.ts).
 */
import { Command } from 'commander';
import { installSignalCleanup } from '../util/cleanup';
import { checkEnvironment } from '../util/env-check';
import { fail, takeDebugFlag } from './fail';
import { packageVersion } from '../util/package-paths';
import { COMMANDS } from './commands/table';

const program = new Command();
program
  .name('mala-ts')
  .description('Machine-learned electronic structure, the MALA way: LAMMPS descriptors → libtorch LDOS network → QE-compatible observables')
  .version(packageVersion())
  .option('--debug', 'print stack traces with errors (also MALA_TS_DEBUG=1); accepted anywhere on the command line');

const argv = takeDebugFlag(process.argv);
registerCommands(program, argv.slice(2));

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

try {
  // junk in a numeric MALA_TS_* setting is an error, not the default (src/util/env-check.ts)
  checkEnvironment();
  program.parseAsync(argv).catch(fail);
} catch (e) {
  fail(e);
}

/**
 * Registers the command being run (the first word that is not an option; for `help X`, X) from its
 * module. Without one (`mala-ts`, `mala-ts --help`, an unknown word), every command is listed from
 * the table alone, with its term and summary: commander prints the same help and the same
 * "unknown command" error, and no command module is loaded.
 */
function registerCommands(program: Command, args: string[]): void {
  const words = args.filter((a) => !a.startsWith('-'));
  const name = words[0] === 'help' ? words[1] : words[0];
  const entry = COMMANDS.find((c) => c.name === name);
  if (entry) {
    loadCommand(entry.name).register(program);
    return;
  }
  for (const c of COMMANDS) program.command(c.name).description(c.summary);
  const terms = new Map(COMMANDS.map((c) => [c.name, c.term]));
  program.configureHelp({ subcommandTerm: (cmd) => terms.get(cmd.name()) ?? cmd.name() });
}

/** A command's module, src/cli/commands/<name>.ts, loaded by name when it runs. */
function loadCommand(name: string): { register(program: Command): void } {
  return require(`./commands/${name}`);
}
