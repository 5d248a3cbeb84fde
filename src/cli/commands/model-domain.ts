import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Command } from 'commander';
import { commandSummary } from './table';
import { descriptorEngine } from '../../descriptors/descriptor-type';
import { defaultProgress } from '../../util/progress';
import { registerTemp, yieldToSignals } from '../../util/cleanup';
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
    .action(async (opts: Opts) => {
      const command = `mala-ts model-domain ${process.argv.slice(3).join(' ')}`;
      // The descriptor work is synchronous, so a Ctrl-C or SIGTERM is only seen when it ends: the
      // model goes to a staged file first, and replaces the target only after the event loop has
      // had its turn (a pending interrupt then exits 130/143 with the target untouched).
      const target = opts.out ?? opts.model;
      const staged = path.join(path.dirname(target), `.${path.basename(target)}.${process.pid}.domain.tmp`);
      const unregister = registerTemp(staged);
      const r = recordModelDomain({
        modelFile: opts.model,
        structures: opts.structures,
        descriptorsFiles: opts.descriptors,
        out: staged,
        engine: opts.descriptorEngine === undefined ? undefined : descriptorEngine(opts.descriptorEngine),
        recordedBy: command,
        progress: defaultProgress(),
      });
      await yieldToSignals();
      fs.renameSync(staged, target);
      unregister();
      r.out = target;
      const d = r.domain;
      const dens = d.numberDensityPerA3 ? `, density ${d.numberDensityPerA3.min.toFixed(5)}–${d.numberDensityPerA3.max.toFixed(5)} Å⁻³` : '';
      process.stdout.write(`wrote ${r.out}: training domain of ${d.structures.count} structures, ${d.points.count} grid points, ${d.elements.join(', ')}${dens}, T ${d.temperaturesK?.join(', ') ?? '?'} K, ecutrho ${d.ecutrhoRy?.join(', ') ?? '?'} Ry; weights sha256 ${r.weightsSha256} (unchanged)\n`);
    });
}
