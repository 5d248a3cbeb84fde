import type { Command } from 'commander';
import { commandSummary } from './table';
import { MalaError } from '../../errors';
import { buildEnsemble, splitEnsemble } from '../../workflow/ensemble';

export function register(program: Command): void {
  program
    .command('ensemble')
    .description(commandSummary('ensemble'))
    .requiredOption('--out <file>', 'the ensemble model archive to write (--split: the members go to <out>.member-K.zip)')
    .option('--split', 'the inverse: write each member of one ensemble as a model of its own')
    .argument('<models...>', 'mala-ts model archives (two or more; --split: one ensemble)')
    .action((models: string[], opts: { out: string; split?: boolean }) => {
      if (opts.split) {
        if (models.length !== 1) throw new MalaError(`--split takes one ensemble, got ${models.length} models`, { fix: 'mala-ts ensemble --split --out M.zip ENSEMBLE.zip (writes M.member-1.zip, M.member-2.zip, ...)' });
        const r = splitEnsemble({ model: models[0], out: opts.out });
        for (const [k, f] of r.files.entries()) process.stdout.write(`wrote ${f}: member ${k + 1} of ${r.files.length} (seed ${r.seeds[k] ?? '?'})\n`);
        return;
      }
      if (models.length < 2) throw new MalaError(`an ensemble needs two or more models, got ${models.length}`, { fix: 'mala-ts ensemble --out E.zip A.zip B.zip [C.zip ...]' });
      const r = buildEnsemble({ models, out: opts.out });
      process.stdout.write(`wrote ${r.out}: ensemble of ${r.size} networks (seeds ${r.seeds.map((s) => s ?? '?').join(', ')})\n`);
    });
}
