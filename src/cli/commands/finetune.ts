import type { Command } from 'commander';
import { commandSummary } from './table';
import { MalaError } from '../../errors';
import { finiteNumber } from '../args';
import type { Communicator } from '../../parallel/comm';
import { runOnRanks } from '../ranks';
import { defaultProgress } from '../../util/progress';
import { finetuneModel } from '../../workflow/finetune';
import { backendOption, pseudoDirOption } from '../options';

// a number option, checked as every command's are (src/cli/args.ts); the workflow checks the ranges
const num = (flag: string) => (s: string) => finiteNumber(s, flag)!;

interface Opts {
  model: string;
  data: string;
  snapshots?: string;
  out: string;
  epochs: number;
  learningRate: number;
  forceWeight: number;
  energyWeight: number;
  bandWeight: number;
  fermiWeight: number;
  densityWeight: number;
  ldosWeight: number;
  anchorRows: number;
  step: number;
  seed: number;
  checkpoint?: string;
  checkpointMinutes: number;
  pseudoDir?: string;
  backend: string;
  np?: string;
}

export function register(program: Command): void {
  program
    .command('finetune')
    .description(commandSummary('finetune'))
    .requiredOption('--model <file>', 'a mala-ts model (mala-ts train); an ensemble: each member is fine-tuned in turn, with the same frames, order and seed, and --out is the ensemble of them')
    .requiredOption('--data <dir>', 'its training snapshots as mala-ts generate writes them (<name>.in.npy, .out.npy, .pw.scf.out with QE forces, .info.json); or a folder of QE references (.pw.scf.out and .info.json, no .npy; scripts/qe-reference.ts), where the LDOS rows hold the network to its own starting outputs')
    .option('--snapshots <a,b,...>', 'only these snapshots (default: all in --data)')
    .requiredOption('--out <file>', 'the fine-tuned model archive')
    .option('--epochs <n>', 'epochs (one step per snapshot each)', num('--epochs'), 3)
    .option('--learning-rate <lr>', 'Adam learning rate', num('--learning-rate'), 1e-4)
    .option('--force-weight <w>', 'weight of the mean squared force error, per (eV/Å)²; 0 = off (then each step reads the snapshot\'s .in.npy instead of computing descriptors and forces: several times faster)', num('--force-weight'), 1)
    .option('--energy-weight <w>', 'weight of the squared total-energy error, per (eV/atom)²; 0 = off', num('--energy-weight'), 0)
    .option('--band-weight <w>', 'weight of the squared band-energy error against QE\'s (info.json), per (eV/atom)²; 0 = off', num('--band-weight'), 0)
    .option('--fermi-weight <w>', 'weight of the squared Fermi-energy error against QE\'s (info.json), per eV²; 0 = off', num('--fermi-weight'), 0)
    .option('--density-weight <w>', 'weight of the relative squared density error against each snapshot\'s LDOS target (at the model\'s Fermi level); needs --force-weight 0; 0 = off', num('--density-weight'), 0)
    .option('--ldos-weight <w>', 'weight of the LDOS rows\' mean squared error (scaled outputs) beside the other terms in each step', num('--ldos-weight'), 1)
    .option('--anchor-rows <n>', 'QE references: how many of each frame\'s grid points (a fixed random sample) hold the network to its starting outputs', num('--anchor-rows'), 4096)
    .option('--step <Å>', 'largest atom move of the force term\'s central difference', num('--step'), 0.01)
    .option('--seed <n>', 'seed of the snapshot order and the LDOS rows', num('--seed'), 1)
    .option('--checkpoint <file>', 'save the run after every epoch (an ensemble: <file>.member-K.zip) and resume from it when it exists (the same model, snapshots and options; removed when the run ends)')
    .option('--checkpoint-minutes <m>', 'with --checkpoint: also save within an epoch, after the first snapshot step that ends m minutes after the last save (0: after every step); a resumed run ends with the weights of an uninterrupted one all the same', num('--checkpoint-minutes'), 5)
    .addOption(pseudoDirOption('UPF files for the total energy (default: the pseudo_dir rule: $ESPRESSO_PSEUDO, the snapshot\'s folder, ...)'))
    .addOption(backendOption())
    .option('--np <N>', 'an ensemble\'s members on N MPI ranks at once, member k on rank k mod N (relaunches itself under mpirun -np N; the same as calling mpirun or srun yourself). Each rank holds every frame\'s rows; --out and --checkpoint must be on a filesystem every rank sees')
    .action(async (opts: Opts) => {
      await runOnRanks(opts.np, (comm) => finetuneCommand(opts, comm));
    });
}

/** `mala-ts finetune` once its ranks are known (comm undefined: one process); rank 0 alone prints the result. */
async function finetuneCommand(opts: Opts, comm: Communicator | undefined): Promise<void> {
  const root = !comm || comm.rank === 0;
  const snapshots = opts.snapshots?.split(',').map((s) => s.trim()).filter((s) => s);
  if (snapshots && snapshots.length === 0) throw new MalaError(`--snapshots '${opts.snapshots}' names no snapshot`, { fix: 'give snapshot names separated by commas, or drop --snapshots' });
  const stderr = (m: string) => process.stderr.write(`mala-ts: ${m}\n`);
  const r = await finetuneModel({
    modelFile: opts.model,
    dataDir: opts.data,
    snapshots,
    out: opts.out,
    epochs: opts.epochs,
    learningRate: opts.learningRate,
    forceWeight: opts.forceWeight,
    energyWeight: opts.energyWeight,
    bandWeight: opts.bandWeight,
    fermiWeight: opts.fermiWeight,
    densityWeight: opts.densityWeight,
    ldosWeight: opts.ldosWeight,
    anchorRowsPerFrame: opts.anchorRows,
    stepAngstrom: opts.step,
    seed: opts.seed,
    checkpoint: opts.checkpoint,
    checkpointSeconds: 60 * opts.checkpointMinutes,
    pseudoDir: opts.pseudoDir,
    backend: opts.backend as 'auto',
    progress: root ? defaultProgress() : undefined,
    log: stderr,
    comm,
  });
  if (!root) return;
  const course = (history: typeof r.history) => (history.every((h) => h.forceRmseEvPerA !== undefined) ? `the frames' force RMSE ${history.map((h) => h.forceRmseEvPerA!.toFixed(3)).join(' → ')} eV/Å` : `the frames' total-energy RMSE ${history.map((h) => h.totalEnergyRmseMeVPerAtom.toFixed(2)).join(' → ')} meV/atom`);
  const members = r.memberHistories.length;
  const each = members > 1 ? r.memberHistories.map((h, k) => `member ${k + 1}: ${course(h)}`).join('; ') : course(r.history);
  process.stdout.write(`wrote ${r.out} (${members > 1 ? `an ensemble of ${members} fine-tuned members, ` : ''}${r.history.length} epoch${r.history.length === 1 ? '' : 's'}; ${each} before each epoch's steps)\n`);
}
