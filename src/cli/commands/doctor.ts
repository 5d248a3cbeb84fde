import type { Command } from 'commander';
import { commandSummary } from './table';
import { formatChecks, runDoctor } from '../../workflow/doctor';

export function register(program: Command): void {
  program
    .command('doctor')
    .description(commandSummary('doctor'))
    .option('--json', 'print the checks as JSON')
    .action((opts: { json?: boolean }) => {
      const checks = runDoctor();
      const failed = checks.filter((c) => !c.ok && !c.optional);
      if (opts.json) process.stdout.write(JSON.stringify({ ok: failed.length === 0, checks }, null, 2) + '\n');
      else {
        process.stdout.write(formatChecks(checks) + '\n');
        process.stdout.write(failed.length === 0 ? 'all components present\n' : `missing: ${failed.map((c) => c.component).join(', ')}\n`);
      }
      if (failed.length > 0) process.exitCode = 1;
    });
}
