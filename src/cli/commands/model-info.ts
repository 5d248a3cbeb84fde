import type { Command } from 'commander';
import { commandSummary } from './table';
import { formatJson } from '../../io/results';
import { formatModelInfo, modelInfoJson, readModelInfo } from '../../workflow/model-info';

export function register(program: Command): void {
  program
    .command('model-info')
    .description(commandSummary('model-info'))
    .argument('<model>', 'mala-ts model archive')
    .option('--json', 'print it as JSON')
    .action((model: string, opts: { json?: boolean }) => {
      const info = readModelInfo(model);
      process.stdout.write(opts.json ? formatJson(modelInfoJson(info)) : formatModelInfo(info));
    });
}
