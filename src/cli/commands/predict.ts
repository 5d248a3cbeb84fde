import type { Command } from 'commander';
import { commandSummary } from './table';
import { MalaError } from '../../errors';
import { abortOnRankFailure } from '../../parallel/rank-failure';
import { finalizeWorld, launchedByMpi, worldComm } from '../../parallel/comm';
import { relaunchForNp } from '../../parallel/launch';
import { positiveNumber } from '../args';

export { positiveNumber };
import { parseGrid } from '../../grid/grid';
import { formatJson } from '../../io/results';
import { formatPredictSummary as formatResultPredictSummary, predictResultJson } from '../../results/views';
import { defaultProgress } from '../../util/progress';
import { predict, PredictResult } from '../../workflow/predict';
import { descriptorEngine } from '../../descriptors/descriptor-type';
import { backendOption, deviceOption, pseudoDirOption, modelFileOption } from '../options';

interface Opts {
  model?: string;
  out?: string;
  json?: boolean;
  pseudoDir?: string;
  temperature?: string;
  electrons?: string;
  grid?: string;
  forceGrid?: boolean;
  ecutrho?: string;
  memory: string;
  blockPoints?: string;
  elements?: string;
  ldos?: boolean;
  requireTotalEnergy?: boolean;
  backend: string;
  descriptorEngine?: string;
  device?: string;
  descriptors?: string;
  np?: string;
  strictDomain?: boolean;
  forces?: boolean;
  stress?: boolean;
}

/** Structure and model, the observables summary, then timings and memory (src/results: the field table). */
export function formatPredictSummary(r: PredictResult): string {
  return formatResultPredictSummary(r);
}

export function register(program: Command): void {
  program
    .command('predict')
    .description(commandSummary('predict'))
    .argument('<structure>', 'QE pw.x input/output, LAMMPS data/dump or extxyz file')
    .option('--model <file>', 'mala-ts model or MALA model zip (default: $MALA_TS_MODEL)')
    .option('--out <dir>', 'write results.json, density.cube, dos.csv and dos.svg here')
    .option('--json', 'print the results as JSON on stdout')
    .addOption(pseudoDirOption('UPF files for the energy terms (default: the QE input\'s pseudo_dir or the structure\'s folder)'))
    .option('--temperature <K>', 'electronic temperature (default: QE degauss, else the model\'s training temperature)')
    .option('--electrons <N>', 'number of electrons (default: QE output, else valence charges of the pseudopotentials)')
    .option('--elements <E1,E2,...>', 'LAMMPS data/dump without element names: element of each atom type, type 1 first')
    .option('--grid <nx,ny,nz>', 'real-space grid (default: QE\'s FFT grid for the structure and ecutrho)')
    .option('--force-grid', 'use --grid even where it is coarser than the grid the structure file states (or QE\'s rule gives): its energy terms are then wrong')
    .option('--ecutrho <Ry>', "density cutoff (Ry) for QE's grid rule and the energy terms; overrides the structure file's ecutrho (a grid the file states, a pw.x output's FFT grid or nr1..3, still wins)")
    .option('--memory <MB>', 'memory budget for descriptors, LDOS and density', '4096')
    .option('--block-points <N>', 'largest block of grid points computed at once (default 65536, less for a small --memory); about 3 KB each in flight')
    .option('--ldos', 'also write the LDOS as <out>/ldos.npy (nx,ny,nz,N_E)')
    .option('--require-total-energy', 'fail (instead of warning) when the total energy cannot be computed')
    .option('--descriptors <file.npy>', 'use precomputed descriptors (nx,ny,nz,F), e.g. MALA\'s .in.npy, instead of running LAMMPS')
    .addOption(backendOption())
    .option('--descriptor-engine <name>', 'who computes the descriptors: lammps (LAMMPS sna/grid) or native (mala-ts\' own kernel); default $MALA_TS_DESCRIPTOR_ENGINE, else native where built, else lammps')
    .addOption(deviceOption())
    .option('--strict-domain', 'fail (exit 1) instead of warning when the structure or its settings lie outside the model\'s training domain')
    .option('--forces', 'also compute the forces on the atoms (eV/Å, the derivative of the printed total energy; native descriptor engine)')
    .option('--stress', 'also compute the stress (1/V)·∂E/∂ε (eV/Å³ in the JSON, ASE\'s sign; GPa in the summary; native descriptor engine)')
    .option('--np <N>', 'run on N MPI ranks (relaunches itself under mpirun -np N; the same as calling mpirun yourself)')
    .action(async (structure: string, opts: Opts) => {
      if (await relaunchForNp(positiveNumber(opts.np, '--np', '2'), opts.np)) return;
      const model = modelFileOption(opts.model);
      if (opts.ldos && !opts.out) throw new MalaError('--ldos needs --out DIR');
      // Under mpirun/srun every rank runs this; rank 0 alone prints (src/parallel, docs/slurm-predict.sh).
      const comm = launchedByMpi() ? worldComm() : undefined;
      const root = !comm || comm.rank === 0;
      let r: PredictResult;
      try {
        r = await predict({
          structureFile: structure,
          modelFile: model,
          outDir: opts.out,
          writeLdos: opts.ldos,
          pseudoDir: opts.pseudoDir,
          temperatureK: positiveNumber(opts.temperature, '--temperature'),
          electrons: positiveNumber(opts.electrons, '--electrons'),
          grid: opts.grid ? parseGrid(opts.grid) : undefined,
          refuseCoarseGrid: !opts.forceGrid,
          ecutrhoRy: positiveNumber(opts.ecutrho, '--ecutrho'),
          memoryMb: positiveNumber(opts.memory, '--memory'),
          maxBlockPoints: positiveNumber(opts.blockPoints, '--block-points'),
          typeElements: opts.elements?.split(',').map((e) => e.trim()),
          requireTotalEnergy: opts.requireTotalEnergy,
          descriptorsFile: opts.descriptors,
          descriptorEngine: opts.descriptorEngine === undefined ? undefined : descriptorEngine(opts.descriptorEngine),
          backend: opts.backend,
          device: opts.device,
          progress: root ? defaultProgress() : undefined,
          warn: opts.json && root ? (m) => process.stderr.write(`mala-ts: warning: ${m}\n`) : undefined,
          comm,
          strictDomain: opts.strictDomain,
          forces: opts.forces,
          stress: opts.stress,
        });
      } catch (e) {
        if (comm && comm.size > 1) {
          // the other ranks would wait forever in the next collective; one message per job (src/parallel/rank-failure.ts)
          await abortOnRankFailure(e, comm);
        }
        throw e;
      }
      if (root) process.stdout.write(opts.json ? formatJson(predictResultJson(r)) : formatPredictSummary(r));
      finalizeWorld();
    });
}
