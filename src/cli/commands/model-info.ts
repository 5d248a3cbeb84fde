import type { Command } from 'commander';
import { formatJson } from '../../io/results';
import { formatModelInfo, modelInfo, modelInfoJson } from '../../workflow/model-info';

export function register(program: Command): void {
  program
    .command('model-info')
    .description('what a model is and what it was trained on: versions, sha256, network, training domain, data recipe, ensemble size')
    .argument('<model>', 'mala-ts model archive')
    .option('--json', 'print it as JSON')
    .action((model: string, opts: { json?: boolean }) => {
      const info = modelInfo(model);
      process.stdout.write(opts.json ? formatJson(modelInfoJson(info)) : formatModelInfo(info));
    });
}
