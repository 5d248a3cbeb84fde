/**
 * `mala-ts sample`: training structures from classical MD. LAMMPS (C library) runs EAM
 * aluminium from lammps-inputs/al-md.in at a temperature; after equilibration, frames spaced by
 * a decorrelation interval are written as pw.x inputs from a QE template (qe-inputs/), ready for
 * `mala-ts generate`. Deterministic for a given seed.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Lammps } from '../../bindings/lammps';
import { cacheDir, repoRoot } from '../../bindings/native-paths';
import { MalaError } from '../errors';
import { writeFileAtomic } from '../io/atomic-write';
import { Atoms } from '../structure/atoms';
import { extxyzText } from '../structure/extxyz';
import { parseLammpsDump } from '../structure/lammps-data';
import { automaticKpoints, qeInputFromTemplate } from '../dft/qe-template';
import { Progress, silentProgress } from '../util/progress';
import { checkOutputs } from '../io/output-check';
import { registerTemp } from '../util/cleanup';

export interface SampleOptions {
  /** pw.x template (ibrav = 0) the frames are written into. */
  qeTemplate: string;
  outDir: string;
  /** Name prefix of the frame files: <prefix>_<i>.pw.scf.in. */
  prefix: string;
  /** Conventional fcc cells along a1, a2, a3 (1,1,1 = 4 atoms). */
  supercell?: [number, number, number];
  latticeAngstrom?: number;
  temperatureK?: number;
  frames?: number;
  equilibrationPs?: number;
  intervalPs?: number;
  timestepPs?: number;
  /** Langevin damping time, ps. */
  dampPs?: number;
  seed?: number;
  /** EAM potential file (setfl, eam/alloy) with an Al entry. */
  potential?: string;
  mdTemplate?: string;
  /** k-point grid of the written inputs; default: the template's divided by the supercell (rounded up). */
  kpoints?: [number, number, number];
  /** nbnd of the written inputs; default: the template's scaled by the number of atoms. */
  nbnd?: number;
  progress?: Progress;
  libraryPath?: string;
}

export interface SampledFrame {
  file: string;
  step: number;
  timePs: number;
  temperatureK: number;
  potentialEnergyEvPerAtom: number;
  atoms: Atoms;
}

/** Default EAM file: Zhou et al. (2001) Al from the LAMMPS build's potentials folder. */
export function defaultAlPotential(): string {
  const candidates = [
    path.join(cacheDir(), 'lammps', 'share', 'lammps', 'potentials', 'Al_zhou.eam.alloy'),
    '/usr/share/lammps/potentials/Al_zhou.eam.alloy',
  ];
  const found = candidates.find((c) => fs.existsSync(c));
  if (!found) throw new MalaError(`no EAM aluminium potential found (looked for ${candidates.join(', ')})`, { fix: 'run `make setup` (it installs LAMMPS with its potentials) or pass --potential <file.eam.alloy>' });
  return found;
}

export function fillTemplate(text: string, values: Record<string, string | number>, file: string): string {
  return text.replace(/\{\{([A-Z_]+)\}\}/g, (m, k: string) => {
    if (!(k in values)) throw new MalaError(`unknown placeholder ${m}`, { file, fix: `use only ${Object.keys(values).map((v) => `{{${v}}}`).join(', ')}` });
    return String(values[k]);
  });
}

/**
 * k-mesh and bands of a supercell's pw.x input from the template's (4-atom) ones: the template's
 * k-mesh divided by the repetition (rounded up, ≥ 1), its bands per atom (rounded up).
 */
export function supercellKpointsAndBands(template: string, supercell: [number, number, number], atomCount: number): { kpoints?: [number, number, number]; nbnd?: number } {
  const k = automaticKpoints(template);
  const kpoints = k ? (k.map((n, i) => Math.max(1, Math.ceil(n / supercell[i]))) as [number, number, number]) : undefined;
  const tNbnd = /^\s*nbnd\s*=\s*(\d+)/im.exec(template)?.[1];
  const tNat = /^\s*nat\s*=\s*(\d+)/im.exec(template)?.[1];
  const nbnd = tNbnd && tNat ? Math.ceil((Number(tNbnd) * atomCount) / Number(tNat)) : undefined;
  return { kpoints, nbnd };
}

export function sampleSnapshots(o: SampleOptions): SampledFrame[] {
  const progress = o.progress ?? silentProgress;
  const sc = o.supercell ?? [1, 1, 1];
  const T = o.temperatureK ?? 298;
  const frames = o.frames ?? 8;
  const dt = o.timestepPs ?? 0.002;
  const every = Math.round((o.intervalPs ?? 1) / dt);
  const equil = Math.round((o.equilibrationPs ?? 2) / dt);
  const seed = o.seed ?? 4928459;
  if (!(T > 0)) throw new MalaError(`temperature ${T} K must be positive`, { fix: 'pass --temperature in K' });
  if (!Number.isInteger(frames) || frames < 1) throw new MalaError(`frames ${frames} must be a positive integer`, { fix: 'pass --frames N' });
  if (every < 1) throw new MalaError('the frame interval is shorter than one time step', { fix: 'raise --interval (ps) or lower --timestep' });
  if (!Number.isInteger(seed) || seed < 1) throw new MalaError(`seed ${seed} must be a positive integer (LAMMPS)`, { fix: 'pass --seed N ≥ 1' });
  const templateFile = path.resolve(o.qeTemplate);
  if (!fs.existsSync(templateFile)) throw new MalaError('QE template not found', { file: templateFile, fix: 'pass a pw.x input such as qe-inputs/al-fcc-298K.pw.scf.in' });
  const template = fs.readFileSync(templateFile, 'utf8');
  const mdFile = o.mdTemplate ?? path.join(repoRoot, 'lammps-inputs', 'al-md.in');
  const potential = path.resolve(o.potential ?? defaultAlPotential());
  if (!fs.existsSync(potential)) throw new MalaError('EAM potential file not found', { file: potential, fix: 'pass --potential <file.eam.alloy>' });
  const kpoints = o.kpoints ?? supercellKpointsAndBands(template, sc, 1).kpoints;
  const script = fillTemplate(
    fs.readFileSync(mdFile, 'utf8'),
    {
      LATTICE_A: o.latticeAngstrom ?? 4.05,
      NX: sc[0],
      NY: sc[1],
      NZ: sc[2],
      POTENTIAL: potential,
      TIMESTEP_PS: dt,
      TEMPERATURE_K: T,
      SEED: seed,
      DAMP_PS: o.dampPs ?? 0.1,
      THERMO_EVERY: every,
    },
    mdFile,
  );
  const outDir = path.resolve(o.outDir);
  checkOutputs([{ path: o.outDir, kind: 'dir', flag: '--out' }]);
  fs.mkdirSync(outDir, { recursive: true });
  const scratch = fs.mkdtempSync(path.join(outDir, '.md-'));
  const unregisterScratch = registerTemp(scratch, true);
  const lmp = new Lammps({ libraryPath: o.libraryPath });
  const result: SampledFrame[] = [];
  try {
    lmp.commands(script);
    const nat = lmp.natoms();
    // bands grow with the cell: keep the template's bands per atom unless told otherwise
    const nbnd = o.nbnd ?? supercellKpointsAndBands(template, sc, nat).nbnd;
    progress.start('MD frames', frames, 'frames');
    lmp.command(`run ${equil}`);
    for (let f = 0; f < frames; f++) {
      lmp.command(`run ${every}`);
      const dump = path.join(scratch, `frame${f}.dump`);
      lmp.command(`write_dump all custom ${dump} id type x y z modify sort id`);
      const atoms = parseLammpsDump(fs.readFileSync(dump, 'utf8'), dump, { typeElements: ['Al'] });
      const step = equil + (f + 1) * every;
      const temperatureK = lmp.extractComputeScalar('thermo_temp');
      const pe = lmp.extractComputeScalar('thermo_pe') / nat;
      const file = path.join(outDir, `${o.prefix}_${f}.pw.scf.in`);
      const text = qeInputFromTemplate(template, atoms, templateFile, {
        kpoints,
        nbnd,
        comment: `mala-ts sample: EAM MD frame ${f}, step ${step} (${(step * dt).toFixed(3)} ps), T_inst ${temperatureK.toFixed(1)} K, target ${T} K, seed ${seed}, potential ${path.basename(potential)}`,
      });
      writeFileAtomic(file, text);
      result.push({ file, step, timePs: step * dt, temperatureK, potentialEnergyEvPerAtom: pe, atoms });
      progress.tick();
    }
    progress.stop();
  } finally {
    lmp.close();
    fs.rmSync(scratch, { recursive: true, force: true });
    unregisterScratch();
  }
  writeFileAtomic(path.join(outDir, `${o.prefix}.frames.xyz`), result.map((r, i) => extxyzText(r.atoms, `frame=${i} step=${r.step}`)).join(''));
  writeFileAtomic(
    path.join(outDir, `${o.prefix}.md.json`),
    `${JSON.stringify({ temperatureK: T, supercell: sc, seed, timestepPs: dt, equilibrationSteps: equil, intervalSteps: every, potential: path.basename(potential), kpoints, frames: result.map(({ atoms: _a, ...r }) => ({ ...r, file: path.basename(r.file) })) }, null, 1)}\n`,
  );
  return result;
}
