import type { Command } from 'commander';
import { commandSummary } from './table';
import { MalaError } from '../../errors';
import { defaultProgress } from '../../util/progress';
import { runInference } from '../../workflow/infer';
import { backendOption, deviceOption } from '../options';

export function register(program: Command): void {
  program
    .command('infer')
    .description(commandSummary('infer'))
    .requiredOption('--model <file>', 'mala-ts model (.zip or folder) or MALA model zip (e.g. Be_model.zip)')
    .requiredOption('--descriptors <file>', 'descriptors .npy (nx,ny,nz,F); 3 leading xyz columns are dropped automatically')
    .requiredOption('--out <file>', 'LDOS .npy to write (nx,ny,nz,nE), float32')
    .option('--xyz <n>', "leading xyz columns in the descriptors ('auto', 0 or 3)", 'auto')
    .addOption(backendOption())
    .addOption(deviceOption())
    .action(async (o) => {
      const xyz = o.xyz === 'auto' ? 'auto' : Number(o.xyz);
      if (xyz !== 'auto' && !Number.isInteger(xyz)) throw new MalaError(`--xyz must be auto or an integer, got '${o.xyz}'`);
      const r = await runInference({ model: o.model, descriptors: o.descriptors, out: o.out, xyzColumns: xyz, backend: o.backend, device: o.device }, defaultProgress());
      process.stdout.write(`LDOS (${r.shape.join('×')}) written to ${r.out}: ${Math.round(r.pointsPerSecond)} points/s on ${r.backend} (device ${r.device.device}: ${r.device.reason})\n`);
    });
}
