import type { Command } from 'commander';
import { commandSummary } from './table';
import { malaBispectrumDefaults } from '../../descriptors/mala-defaults';
import { MalaError } from '../../errors';
import { ACTIVATIONS, type Activation } from '../../network/mlp';
import { parseEnergyGrid } from '../../targets/energy-grid';
import { defaultProgress } from '../../util/progress';
import { runTraining, type SnapshotFiles } from '../../workflow/train';
import { runEnsembleTraining } from '../../workflow/train-ensemble';
import { backendOption, deviceOption } from '../options';
import type { Communicator } from '../../parallel/comm';
import { runOnRanks } from '../ranks';

const list = (s: string) => s.split(',').map((x) => x.trim()).filter(Boolean);
const int = (name: string) => (s: string) => {
  const n = Number(s);
  if (!Number.isInteger(n)) throw new MalaError(`--${name} must be an integer, got '${s}'`);
  return n;
};
const num = (name: string) => (s: string) => {
  const n = Number(s);
  if (!Number.isFinite(n)) throw new MalaError(`--${name} must be a number, got '${s}'`);
  return n;
};

/** --layers 400,400,400; an empty entry (8,,8) is a typo, not a layer to drop. */
function hiddenLayers(s: string): number[] {
  const parts = s.split(',').map((x) => x.trim());
  if (parts.some((x) => x === '')) throw new MalaError(`--layers '${s}' has an empty entry`, { fix: 'give comma-separated layer sizes, e.g. --layers 400,400,400' });
  return parts.map(int('layers'));
}

function energyReferenceKind(x: string): 'none' | 'atom-density' {
  if (x === 'none' || x === 'atom-density') return x;
  throw new MalaError(`unknown --energy-reference '${x}'`, { fix: 'use none or atom-density' });
}

export function register(program: Command): void {
  program
    .command('train')
    .description(commandSummary('train'))
    .requiredOption('--descriptors <files>', 'training descriptors, comma-separated .npy (nx,ny,nz,3+ncoeff)')
    .requiredOption('--ldos <files>', 'training LDOS, comma-separated .npy (nx,ny,nz,nE), 1/(eV·Å³), same order')
    .requiredOption('--validation <pairs>', 'validation snapshots as desc.npy:ldos.npy, comma-separated')
    .requiredOption('--energy-grid <offset,spacing,count>', 'LDOS energies in eV, e.g. --energy-grid=-5,2.5,11')
    .requiredOption('--out <model>', 'model archive to write (.zip)')
    .option('--layers <sizes>', 'hidden layer sizes', '400,400,400')
    .option('--activation <name>', `activation (${ACTIVATIONS.join(', ')})`, 'LeakyReLU')
    .option('--no-output-activation', 'no activation after the output layer (MALA applies it by default)')
    .option('--epochs <n>', 'epochs', int('epochs'), 100)
    .option('--batch-size <n>', 'mini-batch size', int('batch-size'), 40)
    .option('--learning-rate <lr>', 'Adam learning rate', num('learning-rate'), 1e-5)
    .option('--weight-decay <w>', 'Adam weight decay (L2)', num('weight-decay'), 0)
    .option('--input-noise <sigma>', 'Gaussian noise added to the scaled descriptors of every training batch (in feature standard deviations): smooths the network, and so its forces; 0 = off', num('input-noise'), 0)
    .option('--seed <n>', 'seed for initialisation and shuffling', int('seed'), 0)
    .option('--ensemble <n>', 'train n networks with seeds seed, seed+1, … into one ensemble archive (predict then reports σ); each member is kept as <out>.member-K.zip', int('ensemble'))
    .option('--np <N>', 'with --ensemble: train the members on N MPI ranks at once, member k on rank k mod N (relaunches itself under mpirun -np N; the same as calling mpirun or srun yourself). Each rank holds the training data; --out must be on a filesystem every rank sees')
    .option('--no-shuffle', 'keep the point order')
    .option('--input-scaling <type>', 'None, standard, minmax, feature-wise-standard, feature-wise-minmax', 'feature-wise-standard')
    .option('--output-scaling <type>', 'same choices', 'minmax')
    .option('--early-stopping <epochs>', 'stop after this many epochs without improvement (0 = off)', int('early-stopping'), 0)
    .option('--early-stopping-threshold <t>', 'relative improvement that counts', num('early-stopping-threshold'), 0)
    .option('--lr-plateau <patience>', 'ReduceLROnPlateau with this patience (off when absent)', int('lr-plateau'))
    .option('--lr-decay <factor>', 'factor of ReduceLROnPlateau', num('lr-decay'), 0.1)
    .option('--checkpoint <file>', 'checkpoint archive, written every --checkpoint-every epochs and resumed from if present (kept when the run ends: the same command with more --epochs goes on from it, as one longer run would)')
    .option('--checkpoint-every <n>', 'epochs between checkpoints', int('checkpoint-every'), 1)
    .option('--no-xyz', 'descriptor files have no leading xyz columns')
    .option('--twojmax <n>', 'bispectrum 2J of the descriptors', int('twojmax'), malaBispectrumDefaults.twojmax)
    .option('--rcutfac <A>', 'bispectrum cutoff (Å) the descriptors used', num('rcutfac'), malaBispectrumDefaults.rcutfacAngstrom)
    .option('--element-weights <w>', 'bispectrum element weights, alphabetical element order')
    .option('--energy-reference <kind>', "none, or atom-density: learn the LDOS on an energy axis that follows the atom density (a shift fitted to the training snapshots' Fermi energies; needs each snapshot's info.json from generate). For data across lattice constants", 'none')
    .option('--energy-weighting <eV>', "weigh each energy's squared LDOS error by 1 + ((E_F − E)/eV)² below the training snapshots' Fermi level (1 above): the band energy counts a DOS error by its distance below E_F, so the deep band weighs most (needs each snapshot's info.json; off when absent)", num('energy-weighting'))
    .option('--info <info.json>', 'MALA .info.json of a training snapshot (temperature, electrons; stored in the model)')
    .addOption(backendOption())
    .addOption(deviceOption())
    .action(async (o: TrainCliOptions) => {
      await runOnRanks(o.np, (comm) => trainCommand(o, comm));
    });
}

// commander's parsed options of `train` (their types are set by the option definitions above)
type TrainCliOptions = Record<string, any>;

/** `mala-ts train` once its ranks are known (comm undefined: one process). */
async function trainCommand(o: TrainCliOptions, comm: Communicator | undefined): Promise<void> {
  const ranks = comm?.size ?? 1;
  // one network is one process: N ranks would train the same network into the same file
  if (ranks > 1 && (o.ensemble === undefined || o.ensemble < 2)) {
    throw new MalaError(`train runs on ${ranks} MPI ranks but trains one network`, { fix: 'add --ensemble M (M ≥ 2 members, dealt out over the ranks), or start it without mpirun/--np' });
  }
  const desc = list(o.descriptors);
  const ldos = list(o.ldos);
  if (desc.length !== ldos.length) throw new MalaError(`${desc.length} descriptor files but ${ldos.length} LDOS files`, { fix: 'give one LDOS file per descriptor file, same order' });
  const validation: SnapshotFiles[] = list(o.validation).map((p) => {
    const [d, l] = p.split(':');
    if (!d || !l) throw new MalaError(`--validation entry '${p}' is not desc.npy:ldos.npy`);
    return { descriptors: d, ldos: l };
  });
  if (!ACTIVATIONS.includes(o.activation)) throw new MalaError(`unknown activation '${o.activation}'`, { fix: `use one of ${ACTIVATIONS.join(', ')}` });
  const trainOpts: Parameters<typeof runTraining>[0] = {
    training: desc.map((d, i) => ({ descriptors: d, ldos: ldos[i] })),
    validation,
    energyGrid: parseEnergyGrid(o.energyGrid),
    out: o.out,
    hiddenLayers: hiddenLayers(o.layers),
    activation: o.activation as Activation,
    activationOnOutput: o.outputActivation,
    epochs: o.epochs,
    batchSize: o.batchSize,
    learningRate: o.learningRate,
    weightDecay: o.weightDecay,
    inputNoise: o.inputNoise,
    seed: o.seed,
    shuffle: o.shuffle,
    inputScaling: o.inputScaling,
    outputScaling: o.outputScaling,
    earlyStoppingEpochs: o.earlyStopping,
    earlyStoppingThreshold: o.earlyStoppingThreshold,
    lrScheduler: o.lrPlateau === undefined ? null : 'ReduceLROnPlateau',
    lrPatience: o.lrPlateau ?? 0,
    lrDecay: o.lrDecay,
    checkpoint: o.checkpoint,
    checkpointEveryEpochs: o.checkpointEvery,
    resume: true,
    xyzColumns: o.xyz ? 3 : 0,
    twojmax: o.twojmax,
    rcutfac: o.rcutfac,
    elementWeights: o.elementWeights ? list(o.elementWeights).map(num('element-weights')) : null,
    referenceInfo: o.info,
    energyReference: energyReferenceKind(o.energyReference),
    energyWeightingEv: o.energyWeighting,
    backend: o.backend,
    device: o.device,
  };
  // under MPI several members train at once: their epoch lines say whose they are
  let member: number | undefined;
  const whose = () => (ranks > 1 && member !== undefined ? `member ${member + 1}: ` : '');
  const onEpoch = (r: { epoch: number; trainLoss: number; validationLoss: number; learningRate: number; seconds: number }) => process.stderr.write(`${whose()}epoch ${r.epoch}: train loss ${r.trainLoss.toExponential(4)}, validation loss ${r.validationLoss.toExponential(4)}, lr ${r.learningRate.toExponential(2)}, ${r.seconds.toFixed(1)} s\n`);
  if (o.ensemble !== undefined && o.ensemble !== 1) {
    const root = !comm || comm.rank === 0;
    if (root && ranks > o.ensemble) process.stderr.write(`mala-ts: ${ranks} MPI ranks for ${o.ensemble} members: ${ranks - o.ensemble} rank(s) have no member and wait\n`);
    // one progress bar: rank 0's (the others' epochs are its lines)
    const e = await runEnsembleTraining(trainOpts, o.ensemble, root ? defaultProgress() : undefined, {
      onEpoch,
      onMember: (k, file, skipped) => {
        member = k;
        const where = ranks > 1 ? ` on rank ${comm!.rank}` : '';
        process.stderr.write(skipped ? `member ${k + 1}: ${file} exists, kept\n` : `member ${k + 1} of ${o.ensemble} (seed ${o.seed + k})${where} → ${file}\n`);
      },
    }, comm);
    if (root) process.stdout.write(`ensemble of ${e.members.length} networks (seeds ${e.seeds.join(', ')}${ranks > 1 ? `, on ${ranks} MPI ranks` : ''}) written to ${e.out}\n`);
    return;
  }
  const res = await runTraining(trainOpts, defaultProgress(), { onEpoch });
  if (res.resumedFromEpoch > 0) process.stderr.write(`(resumed from the checkpoint after epoch ${res.resumedFromEpoch})\n`);
  process.stdout.write(`model written to ${res.out} (${res.history.length} epochs${res.stoppedEarly ? ', stopped early' : ''}, backend ${res.backend}${res.device ? `, device ${res.device.device}: ${res.device.reason}` : ''})\n`);
}
