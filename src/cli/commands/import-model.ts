import type { Command } from 'commander';
import { commandSummary } from './table';
import { checkOutputs } from '../../io/output-check';
import { loadModel } from '../../network/model';

/** `mala-ts import-model`: a MALA model zip → a mala-ts model archive (weights, scalers, parameters). */
export function register(program: Command): void {
  program
    .command('import-model')
    .description(commandSummary('import-model'))
    .argument('<mala-model>', 'MALA model zip (or its unpacked folder)')
    .requiredOption('--out <file>', 'mala-ts model archive to write (zip: model.json + weights.safetensors)')
    .action((input: string, opts: { out: string }) => {
      checkOutputs([{ path: opts.out, kind: 'file', flag: '--out' }], [input]);
      const model = loadModel(input, { backend: 'ts' });
      model.save(opts.out);
      const d = model.data;
      process.stdout.write(
        `imported ${input} → ${opts.out}\n  network ${d.spec.layerSizes.join('→')}; twojmax ${d.descriptors.twojmax}, cutoff ${d.descriptors.rcutfac} Å; ` +
          `energy grid ${d.energyGrid.offsetEv}+${d.energyGrid.spacingEv}·k eV, ${d.energyGrid.count} energies\n`,
      );
    });
}
