import type { Command } from 'commander';
import { commandSummary } from './table';
import { descriptorEngine } from '../../descriptors/descriptor-type';
import { defaultProgress } from '../../util/progress';
import { recordModelDomain } from '../../workflow/model-domain';

interface Opts {
  model: string;
  structures: string[];
  descriptors?: string[];
  out?: string;
  descriptorEngine?: string;
}

export function register(program: Command): void {
  program
    .command('model-domain')
    .description(commandSummary('model-domain'))
    .requiredOption('--model <file>', 'mala-ts model archive')
    .requiredOption('--structures <files...>', 'the training structures (pw.x inputs or outputs)')
    .option('--descriptors <files...>', 'their descriptors (.npy, same order; default: computed with the model\'s parameters)')
    .option('--out <file>', 'where the model with its domain goes (default: --model, replaced atomically)')
    .option('--descriptor-engine <name>', 'lammps or native (default: native where built)')
    .action((opts: Opts) => {
      const command = `mala-ts model-domain ${process.argv.slice(3).join(' ')}`;
      const r = recordModelDomain({
        modelFile: opts.model,
        structures: opts.structures,
        descriptorsFiles: opts.descriptors,
        out: opts.out ?? opts.model,
        engine: opts.descriptorEngine === undefined ? undefined : descriptorEngine(opts.descriptorEngine),
        recordedBy: command,
        progress: defaultProgress(),
      });
      const d = r.domain;
      const dens = d.numberDensityPerA3 ? `, density ${d.numberDensityPerA3.min.toFixed(5)}–${d.numberDensityPerA3.max.toFixed(5)} Å⁻³` : '';
      process.stdout.write(`wrote ${r.out}: training domain of ${d.structures.count} structures, ${d.points.count} grid points, ${d.elements.join(', ')}${dens}, T ${d.temperaturesK?.join(', ') ?? '?'} K, ecutrho ${d.ecutrhoRy?.join(', ') ?? '?'} Ry; weights sha256 ${r.weightsSha256} (unchanged)\n`);
    });
}
