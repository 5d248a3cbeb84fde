import type { Command } from 'commander';
import { commandSummary } from './table';
import { MalaError } from '../../errors';
import { buildEnsemble } from '../../workflow/ensemble';

export function register(program: Command): void {
  program
    .command('ensemble')
    .description(commandSummary('ensemble'))
    .requiredOption('--out <file>', 'the ensemble model archive to write')
    .argument('<models...>', 'mala-ts model archives (two or more)')
    .action((models: string[], opts: { out: string }) => {
      if (models.length < 2) throw new MalaError(`an ensemble needs two or more models, got ${models.length}`, { fix: 'mala-ts ensemble --out E.zip A.zip B.zip [C.zip ...]' });
      const r = buildEnsemble({ models, out: opts.out });
      process.stdout.write(`wrote ${r.out}: ensemble of ${r.size} networks (seeds ${r.seeds.map((s) => s ?? '?').join(', ')})\n`);
    });
}
