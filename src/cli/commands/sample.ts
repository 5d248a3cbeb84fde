import type { Command } from 'commander';
import { commandSummary } from './table';
import { MalaError } from '../../errors';
import { defaultProgress } from '../../util/progress';
import { sampleSnapshots } from '../../workflow/sample';

const num = (name: string) => (s: string) => {
  const n = Number(s);
  if (!Number.isFinite(n)) throw new MalaError(`--${name} must be a number, got '${s}'`);
  return n;
};
const triple = (name: string) => (s: string): [number, number, number] => {
  const v = s.split(/[x,]/).map(Number);
  if (v.length !== 3 || v.some((n) => !Number.isInteger(n) || n < 1)) throw new MalaError(`--${name} must be three positive integers like 2x2x2, got '${s}'`);
  return v as [number, number, number];
};

export function register(program: Command): void {
  program
    .command('sample')
    .description(commandSummary('sample'))
    .requiredOption('--qe-template <file>', 'pw.x input template with ibrav = 0 (e.g. qe-inputs/al-fcc-298K.pw.scf.in)')
    .requiredOption('--out <dir>', 'directory for <prefix>_<i>.pw.scf.in, <prefix>.frames.xyz, <prefix>.md.json')
    .option('--prefix <name>', 'file name prefix', 'Al')
    .option('--supercell <n1xn2xn3>', 'conventional fcc cells (1x1x1 = 4 atoms)', triple('supercell'), [1, 1, 1])
    .option('--lattice <A>', 'fcc lattice constant, Å (the MD cell is held fixed)', num('lattice'), 4.05)
    .option('--temperature <K>', 'MD (ionic) temperature, K', num('temperature'), 298)
    .option('--electron-temperature <K>', "electronic temperature of the written inputs: Fermi–Dirac smearing, degauss = k_B·T (default: the template's smearing)", num('electron-temperature'))
    .option('--frames <n>', 'number of frames', num('frames'), 8)
    .option('--equilibration <ps>', 'equilibration before the first frame, ps', num('equilibration'), 2)
    .option('--interval <ps>', 'time between frames, ps', num('interval'), 1)
    .option('--timestep <ps>', 'MD time step, ps', num('timestep'), 0.002)
    .option('--seed <n>', 'random seed (velocities, thermostat)', num('seed'), 4928459)
    .option('--potential <file>', 'EAM setfl file with Al (default: Al_zhou.eam.alloy of the LAMMPS build)')
    .option('--kpoints <k1xk2xk3>', "k-point grid of the written inputs (default: the template's divided by the supercell)", triple('kpoints'))
    .option('--kpoint-offset <gamma|random>', "gamma: the Γ-centred mesh (K_POINTS automatic); random: the mesh shifted by a seeded random fraction of a step per frame (explicit K_POINTS crystal list), so that many frames together sample the Brillouin zone uniformly", 'gamma')
    .option('--closest-below <A>', 'keep only frames with a pair of atoms closer than this, Å (images included): MD runs on, one interval at a time, past frames without one; enriches a training set with rare close contacts (the frames are then not a thermal sample)', num('closest-below'))
    .option('--max-intervals <n>', 'with --closest-below: give up after this many MD intervals (default 500 per frame)', num('max-intervals'))
    .option('--nbnd <n>', "nbnd of the written inputs (default: the template's, scaled by the number of atoms)", num('nbnd'))
    .option('--md-template <file>', 'LAMMPS input template (default lammps-inputs/al-md.in)')
    .action((o) => {
      const frames = sampleSnapshots({
        qeTemplate: o.qeTemplate,
        outDir: o.out,
        prefix: o.prefix,
        supercell: o.supercell,
        latticeAngstrom: o.lattice,
        temperatureK: o.temperature,
        electronTemperatureK: o.electronTemperature,
        frames: o.frames,
        equilibrationPs: o.equilibration,
        intervalPs: o.interval,
        timestepPs: o.timestep,
        seed: o.seed,
        potential: o.potential,
        kpoints: o.kpoints,
        nbnd: o.nbnd,
        kpointOffset: o.kpointOffset,
        closestBelowAngstrom: o.closestBelow,
        maxIntervals: o.maxIntervals,
        mdTemplate: o.mdTemplate,
        progress: defaultProgress(),
      });
      for (const f of frames) process.stdout.write(`${f.file}  t=${f.timePs.toFixed(2)} ps  T_inst=${f.temperatureK.toFixed(0)} K  E_pot=${f.potentialEnergyEvPerAtom.toFixed(4)} eV/atom  closest=${f.closestAngstrom.toFixed(3)} Å\n`);
    });
}
