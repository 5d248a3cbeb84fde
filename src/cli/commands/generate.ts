import type { Command } from 'commander';
import { pseudoDirOption } from '../options';
import { commandSummary } from './table';
import { MalaError } from '../../errors';
import { malaBispectrumDefaults } from '../../descriptors/mala-defaults';
import { parseEnergyGrid } from '../../targets/energy-grid';
import { defaultProgress } from '../../util/progress';
import { generateSnapshot, LdosEngineChoice } from '../../workflow/generate';

const posInt = (name: string) => (s: string) => {
  const n = Number(s);
  if (!Number.isInteger(n) || n < 1) throw new MalaError(`--${name} must be a positive integer, got '${s}'`);
  return n;
};
const posNum = (name: string) => (s: string) => {
  const n = Number(s);
  if (!(n > 0) || !Number.isFinite(n)) throw new MalaError(`--${name} must be a positive number, got '${s}'`);
  return n;
};

const ldosEngine = (s: string): LdosEngineChoice => {
  if (s === 'auto' || s === 'native' || s === 'pp.x') return s;
  throw new MalaError(`--ldos-engine must be auto, native or pp.x, got '${s}'`, { fix: 'e.g. --ldos-engine pp.x' });
};

export function register(program: Command): void {
  program
    .command('generate')
    .description(commandSummary('generate'))
    .requiredOption('--qe-input <file>', 'pw.x SCF input (Fermi-Dirac smearing; see qe-inputs/)')
    .requiredOption('--energy-grid <offset,spacing,count>', 'LDOS energies in eV, e.g. --energy-grid=-4,0.1,131')
    .requiredOption('--out <dir>', 'output directory (a work folder .work/<name>/ is kept there for resuming)')
    .option('--name <name>', 'snapshot name (default: the input file name)')
    .option('--ldos-broadening <eV>', "Gaussian σ of the LDOS (pp.x degauss_ldos); default 2 × spacing, MALA's choice", posNum('ldos-broadening'))
    .option('--np <n>', 'MPI ranks for pw.x and pp.x (mpirun -np N)', posInt('np'), 1)
    .option('--pools <n>', 'k-point pools of pw.x (default: --np); pp.x uses pools only with norm-conserving pseudopotentials', posInt('pools'))
    .addOption(pseudoDirOption('directory of the pseudopotentials (overrides pseudo_dir of the input)'))
    .option('--pp-template <file>', 'pp.x LDOS input template (default: qe-inputs/al-fcc-298K.pp.ldos.in equivalent)')
    .option('--twojmax <n>', 'bispectrum 2J', posInt('twojmax'), malaBispectrumDefaults.twojmax)
    .option('--rcutfac <A>', 'bispectrum cutoff, Å', posNum('rcutfac'), malaBispectrumDefaults.rcutfacAngstrom)
    .option('--keep-work', 'keep wavefunctions and cube files in the work folder')
    .option('--ldos-engine <engine>', "who makes the LDOS from the SCF's wavefunctions: native (one pass, pp.x's numbers), pp.x, or auto: native where it matches pp.x exactly (norm-conserving, no spin, no symmetry) and no --pp-template or --pp was given", ldosEngine, 'auto')
    .option('--pw <program>', 'pw.x executable', 'pw.x')
    .option('--pp <program>', 'pp.x executable', 'pp.x')
    .action(async (o) => {
      const t0 = Date.now();
      const res = await generateSnapshot({
        qeInput: o.qeInput,
        energyGrid: parseEnergyGrid(o.energyGrid),
        outDir: o.out,
        name: o.name,
        broadeningEv: o.ldosBroadening,
        np: o.np,
        pools: o.pools,
        pseudoDir: o.pseudoDir,
        ppTemplate: o.ppTemplate,
        descriptors: { ...malaBispectrumDefaults, twojmax: o.twojmax, rcutfacAngstrom: o.rcutfac },
        keepWork: Boolean(o.keepWork),
        ldosEngine: o.ldosEngine,
        pwx: o.pw,
        ppx: o.pp,
        progress: defaultProgress(),
        log: (m) => process.stderr.write(`${m}\n`),
      });
      const ran = Object.entries(res.seconds).map(([k, s]) => `${k} ${s.toFixed(1)} s`).join(', ');
      process.stdout.write(
        `${res.name}: ${res.descriptorsFile}\n  ${res.ldosFile}\n  ${res.infoFile}\n  ${res.qeOutputFile}\n` +
          `  ${ran || 'nothing to do'}${res.skipped.length ? ` (resumed: ${res.skipped.join(', ')} already done)` : ''}; total ${((Date.now() - t0) / 1000).toFixed(1)} s\n`,
      );
    });
}
