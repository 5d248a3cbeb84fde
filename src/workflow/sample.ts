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
import { closestDistanceAngstrom } from '../structure/atom-distances';
import { automaticKpoints, qeInputFromTemplate, replaceCard, setNamelistValue } from '../dft/qe-template';
import { kBoltzmannEvPerK, rydbergEv } from '../structure/units';
import { Progress, silentProgress } from '../util/progress';
import { lockOutputDir } from '../io/output-lock';
import { checkOutputs } from '../io/output-check';
import { registerTemp } from '../util/cleanup';
import { seededUniform } from '../util/seeded-uniform';

export interface SampleOptions {
  /** pw.x template (ibrav = 0) the frames are written into. */
  qeTemplate: string;
  outDir: string;
  /** Name prefix of the frame files: <prefix>_<i>.pw.scf.in. */
  prefix: string;
  /** Conventional fcc cells along a1, a2, a3 (1,1,1 = 4 atoms). */
  supercell?: [number, number, number];
  /** fcc lattice constant of the MD cell, Å (default 4.05); the cell is held fixed (NVT). */
  latticeAngstrom?: number;
  /** Ionic (MD thermostat) temperature, K (default 298). */
  temperatureK?: number;
  /**
   * Electronic temperature of the written inputs, K: sets Fermi–Dirac smearing with
   * degauss = k_B·T (Ry), the temperature MALA and `predict` read from the input. Default: the
   * template's smearing is left as it is.
   */
  electronTemperatureK?: number;
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
  /**
   * 'gamma' (default): the Γ-centred Monkhorst–Pack mesh (`K_POINTS automatic`). 'random': the
   * same mesh shifted by a random fraction of a mesh step, its own per frame (seeded), written as
   * an explicit `K_POINTS crystal` list with equal weights. Averaged over frames, shifted meshes
   * sample the Brillouin zone uniformly, so a network trained on many frames learns the
   * k-converged LDOS instead of one mesh's sampling wiggles.
   */
  kpointOffset?: 'gamma' | 'random';
  /**
   * Keep only frames with a pair of atoms closer than this, Å (periodic images included): MD goes
   * on, one interval at a time, past frames without one. Close contacts are rare in small cells
   * (7 of 24 hot 8-atom frames at 700–900 K have one below 2.43 Å) and mark the frames a network
   * gets most wrong (models/al-fcc-broad/RECIPE.md, "Close pairs"); this makes frames with them, to
   * test a model on or to add to a set. The frames are then not a thermal sample: md.json says so
   * (closestBelowAngstrom, intervalsRun).
   */
  closestBelowAngstrom?: number;
  /** With closestBelowAngstrom: give up after this many intervals (default 500 per frame). */
  maxIntervals?: number;
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
  /** With kpointOffset 'random': the frame's mesh shift in fractions of a step. */
  kpointShift?: [number, number, number];
  /** Shortest interatomic distance of the frame, Å (images included). */
  closestAngstrom: number;
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

/** Fermi–Dirac degauss (Ry) of an electronic temperature (K), 10 significant digits. */
export function fermiDiracDegaussRy(temperatureK: number): number {
  return Number(((kBoltzmannEvPerK * temperatureK) / rydbergEv).toPrecision(10));
}

/** The input with Fermi–Dirac smearing at `temperatureK` (occupations, smearing, degauss in &SYSTEM). */
export function withElectronTemperature(text: string, temperatureK: number): string {
  let t = setNamelistValue(text, 'system', 'occupations', 'smearing');
  t = setNamelistValue(t, 'system', 'smearing', 'fermi-dirac');
  return setNamelistValue(t, 'system', 'degauss', fermiDiracDegaussRy(temperatureK));
}

/** The random offset (fractions of a mesh step, each in [0, 1)) of frame `frame` for `seed`. */
export function kpointShift(seed: number, frame: number): [number, number, number] {
  const u = seededUniform(Math.imul(seed, 2654435761) ^ (frame + 1));
  u();
  return [u(), u(), u()];
}

/**
 * K_POINTS card lines of an n1×n2×n3 mesh shifted by `shift` (fractions of a step): crystal
 * coordinates (i + s)/n, equal weights (pw.x normalises them).
 */
export function shiftedMeshCard(mesh: [number, number, number], shift: [number, number, number]): string[] {
  const lines = ['K_POINTS crystal', String(mesh[0] * mesh[1] * mesh[2])];
  for (let i = 0; i < mesh[0]; i++) {
    for (let j = 0; j < mesh[1]; j++) {
      for (let k = 0; k < mesh[2]; k++) lines.push(`${[(i + shift[0]) / mesh[0], (j + shift[1]) / mesh[1], (k + shift[2]) / mesh[2]].map((x) => x.toFixed(10).padStart(14)).join('')} 1`);
    }
  }
  return lines;
}

export function sampleSnapshots(o: SampleOptions): SampledFrame[] {
  const progress = o.progress ?? silentProgress;
  const sc = o.supercell ?? [1, 1, 1];
  const T = o.temperatureK ?? 298;
  const frames = o.frames ?? 8;
  const dt = o.timestepPs ?? 0.002;
  const intervalPs = o.intervalPs ?? 1;
  const equilibrationPs = o.equilibrationPs ?? 2;
  // times checked before any folder is made: a time step of 0 reached LAMMPS as "thermo Infinity"
  if (!(Number.isFinite(dt) && dt > 0)) throw new MalaError(`time step ${dt} ps must be a positive number`, { fix: 'pass --timestep in ps (EAM aluminium: 0.001–0.002)' });
  if (!(Number.isFinite(intervalPs) && intervalPs >= dt)) throw new MalaError(`the frame interval ${intervalPs} ps is shorter than one time step (${dt} ps)`, { fix: 'raise --interval (ps) or lower --timestep' });
  if (!(Number.isFinite(equilibrationPs) && equilibrationPs >= 0)) throw new MalaError(`equilibration ${equilibrationPs} ps must be ≥ 0`, { fix: 'pass --equilibration in ps (e.g. 2)' });
  if (o.dampPs !== undefined && !(Number.isFinite(o.dampPs) && o.dampPs > 0)) throw new MalaError(`thermostat damping ${o.dampPs} ps must be positive`);
  const every = Math.round(intervalPs / dt);
  const equil = Math.round(equilibrationPs / dt);
  const seed = o.seed ?? 4928459;
  const latticeA = o.latticeAngstrom ?? 4.05;
  const Te = o.electronTemperatureK;
  if (!(latticeA > 0) || !Number.isFinite(latticeA)) throw new MalaError(`lattice constant ${latticeA} Å must be a positive number`, { fix: 'pass --lattice in Å (fcc Al: 4.05)' });
  if (Te !== undefined && !(Te > 0 && Number.isFinite(Te))) throw new MalaError(`electronic temperature ${Te} K must be positive`, { fix: 'pass --electron-temperature in K, or leave it out to keep the template\'s degauss' });
  const offset = o.kpointOffset ?? 'gamma';
  if (offset !== 'gamma' && offset !== 'random') throw new MalaError(`k-point offset '${offset}' must be 'gamma' or 'random'`, { fix: 'pass --kpoint-offset gamma or --kpoint-offset random' });
  const closestBelow = o.closestBelowAngstrom;
  if (closestBelow !== undefined && !(Number.isFinite(closestBelow) && closestBelow > 0)) throw new MalaError(`--closest-below ${closestBelow} Å must be a positive distance`, { fix: 'pass --closest-below in Å (fcc Al: nearest neighbours at a/√2 ≈ 2.86 Å; close contacts below ≈ 2.45 Å)' });
  if (o.maxIntervals !== undefined && closestBelow === undefined) throw new MalaError('--max-intervals limits the search of --closest-below, which is not given', { fix: 'add --closest-below Å, or leave out --max-intervals' });
  const maxIntervals = o.maxIntervals ?? 500 * frames;
  if (!(Number.isInteger(maxIntervals) && maxIntervals >= frames)) throw new MalaError(`--max-intervals ${maxIntervals} must be an integer ≥ the number of frames (${frames})`, { fix: `pass --max-intervals ≥ ${frames}` });
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
  if (offset === 'random' && !kpoints) throw new MalaError('--kpoint-offset random needs a k-point mesh', { file: templateFile, fix: 'give the template a `K_POINTS automatic` card or pass --kpoints' });
  const script = fillTemplate(
    fs.readFileSync(mdFile, 'utf8'),
    {
      LATTICE_A: latticeA,
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
  const createdDir = !fs.existsSync(outDir);
  fs.mkdirSync(outDir, { recursive: true });
  // one run per prefix (src/io/output-lock.ts); other prefixes in the same folder run side by side
  const releaseLock = lockOutputDir(path.join(outDir, o.prefix), `--prefix ${o.prefix} in --out ${o.outDir}`);
  const scratch = fs.mkdtempSync(path.join(outDir, '.md-'));
  const unregisterScratch = registerTemp(scratch, true);
  const result: SampledFrame[] = [];
  let intervalsRun = 0;
  try {
    const lmp = new Lammps({ libraryPath: o.libraryPath });
    try {
      lmp.commands(script);
      const nat = lmp.natoms();
      // bands grow with the cell: keep the template's bands per atom unless told otherwise
      const nbnd = o.nbnd ?? supercellKpointsAndBands(template, sc, nat).nbnd;
      progress.start('MD frames', frames, 'frames');
      lmp.command(`run ${equil}`);
      let intervals = 0;
      let closestSeen = Infinity;
      for (let f = 0; f < frames; f++) {
        let atoms: Atoms;
        let closest: number;
        // without closestBelow the first interval's frame is taken, as always
        for (;;) {
          if (intervals >= maxIntervals) {
            throw new MalaError(`found ${f} of ${frames} frames with a pair of atoms closer than ${closestBelow} Å in ${intervals} MD intervals of ${intervalPs} ps (closest pair seen: ${closestSeen.toFixed(3)} Å)`, { fix: 'raise --closest-below or --max-intervals, or sample hotter ions (--temperature) or a smaller --lattice' });
          }
          lmp.command(`run ${every}`);
          intervals++;
          const dump = path.join(scratch, 'frame.dump');
          lmp.command(`write_dump all custom ${dump} id type x y z modify sort id`);
          atoms = parseLammpsDump(fs.readFileSync(dump, 'utf8'), dump, { typeElements: ['Al'] });
          closest = closestDistanceAngstrom(atoms) ?? Infinity;
          closestSeen = Math.min(closestSeen, closest);
          if (closestBelow === undefined || closest < closestBelow) break;
        }
        const step = equil + intervals * every;
        const temperatureK = lmp.extractComputeScalar('thermo_temp');
        const pe = lmp.extractComputeScalar('thermo_pe') / nat;
        const file = path.join(outDir, `${o.prefix}_${f}.pw.scf.in`);
        const shift = offset === 'random' ? kpointShift(seed, f) : undefined;
        let text = qeInputFromTemplate(template, atoms, templateFile, {
          kpoints,
          nbnd,
          comment: `mala-ts sample: EAM MD frame ${f}, step ${step} (${(step * dt).toFixed(3)} ps), T_inst ${temperatureK.toFixed(1)} K, target ${T} K, a ${latticeA} Å, ${closestBelow !== undefined ? `closest pair ${closest.toFixed(3)} Å (selected: < ${closestBelow} Å), ` : ''}${Te !== undefined ? `electrons ${Te} K, ` : ''}${shift ? `k-mesh ${kpoints!.join('x')} shifted by ${shift.map((x) => x.toFixed(4)).join(' ')} steps, ` : ''}seed ${seed}, potential ${path.basename(potential)}`,
        });
        if (Te !== undefined) text = withElectronTemperature(text, Te);
        if (shift) text = replaceCard(text, 'K_POINTS', shiftedMeshCard(kpoints!, shift));
        writeFileAtomic(file, text.endsWith('\n') ? text : `${text}\n`);
        result.push({ file, step, timePs: step * dt, temperatureK, potentialEnergyEvPerAtom: pe, atoms, kpointShift: shift, closestAngstrom: closest });
        progress.tick();
      }
      progress.stop();
      intervalsRun = intervals;
    } finally {
      lmp.close();
      fs.rmSync(scratch, { recursive: true, force: true });
      unregisterScratch();
    }
    writeFileAtomic(path.join(outDir, `${o.prefix}.frames.xyz`), result.map((r, i) => extxyzText(r.atoms, `frame=${i} step=${r.step}`)).join(''));
    writeFileAtomic(
      path.join(outDir, `${o.prefix}.md.json`),
      `${JSON.stringify({ temperatureK: T, latticeAngstrom: latticeA, electronTemperatureK: Te ?? null, kpointOffset: offset, supercell: sc, seed, timestepPs: dt, equilibrationSteps: equil, intervalSteps: every, closestBelowAngstrom: closestBelow ?? null, intervalsRun, potential: path.basename(potential), kpoints, frames: result.map(({ atoms: _a, ...r }) => ({ ...r, file: path.basename(r.file) })) }, null, 1)}\n`,
    );
  } catch (e) {
    releaseLock();
    fs.rmSync(scratch, { recursive: true, force: true }); // (also when LAMMPS did not even load)
    unregisterScratch();
    // a run that fails (LAMMPS error, full disk) leaves no partial frame set and no empty folder behind
    for (const r of result) fs.rmSync(r.file, { force: true });
    if (createdDir) {
      for (const f of [`${o.prefix}.frames.xyz`, `${o.prefix}.md.json`]) fs.rmSync(path.join(outDir, f), { force: true });
      try {
        fs.rmdirSync(outDir);
      } catch {
        // not empty: another process put files there meanwhile; they are not ours to remove
      }
    }
    throw e;
  }
  removeStaleFrames(outDir, o.prefix, frames);
  releaseLock();
  return result;
}

/**
 * Frames <prefix>_<i>.pw.scf.in with i ≥ frames that an earlier `sample` run left in the folder:
 * next to this run's frames they would mix two trajectories while <prefix>.md.json describes only
 * this one. Only files sample wrote (its first-line marker) are removed, with a note.
 */
function removeStaleFrames(outDir: string, prefix: string, frames: number): void {
  const re = new RegExp(`^${prefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}_(\\d+)\\.pw\\.scf\\.in$`);
  const stale: string[] = [];
  for (const name of fs.readdirSync(outDir)) {
    const m = re.exec(name);
    if (!m || Number(m[1]) < frames) continue;
    const file = path.join(outDir, name);
    let head = '';
    try {
      head = fs.readFileSync(file, 'utf8').slice(0, 40);
    } catch {
      continue; // a folder or an unreadable file: not a frame of ours
    }
    if (!head.startsWith('! mala-ts sample:')) continue;
    fs.rmSync(file, { force: true });
    stale.push(name);
  }
  if (stale.length > 0) {
    process.stderr.write(`mala-ts: note: removed ${stale.length} frame file${stale.length > 1 ? 's' : ''} of an earlier sample run with more frames (${stale.slice(0, 3).join(', ')}${stale.length > 3 ? ', …' : ''}), so ${prefix}.md.json describes every ${prefix}_*.pw.scf.in in the folder\n`);
  }
}
