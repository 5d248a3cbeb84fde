import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import execa from 'execa';
import { formatPwOutput } from '../../src/io/pw-output';
import { isMalaError } from '../../src/errors';
import type { Mat3, Vec3 } from '../../src/structure/atoms';
import { inv3 } from '../../src/structure/atoms';
import { parseQeInput } from '../../src/structure/qe-input';
import { bohrAngstrom, kBoltzmannEvPerK, rydbergEv } from '../../src/structure/units';
import { ForceEvaluation, ForceEvaluator, PwDynamicsResult, pwDynamicsInput, runPwDynamics } from '../../src/workflow/pw-dynamics';
import { runPwDropIn } from '../../src/workflow/pw';
import { tempDir } from '../helpers';

/**
 * Periodic Lennard-Jones (ε eV, σ Å, energy shifted to 0 at the cutoff): the test force field.
 * Counts an evaluation per call.
 */
function lennardJones(epsEv: number, sigmaA: number, cutoffA: number): ForceEvaluator & { calls: number } {
  const shift = 4 * epsEv * ((sigmaA / cutoffA) ** 12 - (sigmaA / cutoffA) ** 6);
  const f = async (cell: number[][], pos: number[][]): Promise<ForceEvaluation> => {
    f.calls++;
    const inv = inv3(cell as Mat3);
    // images needed along each axis: cutoff over the plane spacing 1/|b_i|
    const nmax = [0, 1, 2].map((i) => Math.ceil(cutoffA * Math.hypot(inv[0][i], inv[1][i], inv[2][i])));
    let energyEv = 0;
    const forces = pos.map(() => [0, 0, 0]);
    for (let i = 0; i < pos.length; i++) {
      for (let j = 0; j < pos.length; j++) {
        for (let n0 = -nmax[0]; n0 <= nmax[0]; n0++) {
          for (let n1 = -nmax[1]; n1 <= nmax[1]; n1++) {
            for (let n2 = -nmax[2]; n2 <= nmax[2]; n2++) {
              if (i === j && n0 === 0 && n1 === 0 && n2 === 0) continue;
              const d = [0, 1, 2].map((k) => pos[j][k] + n0 * cell[0][k] + n1 * cell[1][k] + n2 * cell[2][k] - pos[i][k]);
              const r2 = d[0] * d[0] + d[1] * d[1] + d[2] * d[2];
              if (r2 >= cutoffA * cutoffA) continue;
              const s6 = (sigmaA * sigmaA / r2) ** 3;
              energyEv += 0.5 * (4 * epsEv * (s6 * s6 - s6) - shift);
              // dE/dr · (1/r) for the pair; force on i is −dE/dr · (r_i − r_j)/r = +dE/dr·d/r
              const dEdrOverR = (4 * epsEv * (-12 * s6 * s6 + 6 * s6)) / r2;
              for (let k = 0; k < 3; k++) forces[i][k] += dEdrOverR * d[k];
            }
          }
        }
      }
    }
    return { energyEv, forcesEvPerA: forces, fermiEnergyEv: 1.5, termsEv: { e_band: energyEv, e_entropy: 0 } };
  };
  f.calls = 0;
  return f;
}

const A_FCC = 3.9; // Å, a little compressed so the lattice is stiff
const FCC: Vec3[] = [[0, 0, 0], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5]];
const JIGGLE: Vec3[] = [[0.12, -0.05, 0.03], [-0.08, 0.1, -0.06], [0.04, 0.07, 0.11], [-0.1, -0.09, 0.02]];

function pwInput(control: string, ions: string, positions: string, extra = ''): string {
  return [
    '&CONTROL',
    control,
    '/',
    '&SYSTEM',
    `  ibrav = 1, celldm(1) = ${A_FCC / bohrAngstrom}, nat = 4, ntyp = 1, ecutwfc = 20`,
    '/',
    '&ELECTRONS',
    '/',
    '&IONS',
    ions,
    '/',
    'ATOMIC_SPECIES',
    'Ar 39.948 Ar.upf',
    positions,
    extra,
  ].join('\n');
}

function jiggledPositions(flags: string[] = []): string {
  const lines = FCC.map((s, a) => `Ar ${s.map((x, k) => (x * A_FCC + JIGGLE[a][k]).toFixed(6)).join(' ')} ${flags[a] ?? ''}`);
  return ['ATOMIC_POSITIONS angstrom', ...lines].join('\n');
}

async function run(text: string, evaluate: ForceEvaluator): Promise<{ result: PwDynamicsResult; output: string }> {
  const q = parseQeInput(text, 'test.in');
  const input = pwDynamicsInput(q, text, 'test.in');
  let output = '';
  const result = await runPwDynamics(input, evaluate, {
    singlePointText: (first) =>
      formatPwOutput({
        atoms: q.atoms,
        labels: q.labels,
        species: q.species.map((s) => ({ label: s.label, massU: s.massU, valence: 8 })),
        ibrav: 1,
        celldm: [A_FCC / bohrAngstrom, 0, 0, 0, 0, 0],
        electrons: 32,
        grid: [20, 20, 20],
        fermiEnergyEv: first.fermiEnergyEv ?? 0,
        termsEv: first.termsEv ?? {},
        totalEnergyEv: first.energyEv,
        inputName: 'test.in',
        programVersion: 'test',
        modelName: 'lennard-jones',
        startedAt: new Date(2026, 0, 1, 10, 0, 0),
        finishedAt: new Date(2026, 0, 1, 10, 0, 1),
        cpuSeconds: 1,
        wallSeconds: 1,
      }),
    write: (t) => {
      output += t;
    },
  });
  return { result, output };
}

/** A python3 with ASE (Debian's python3-ase is /usr/bin/python3). */
function pythonWithAse(): string {
  for (const py of [process.env.MALA_TS_PYTHON, 'python3', '/usr/bin/python3'].filter(Boolean) as string[]) {
    if (execa.sync(py, ['-c', 'import ase'], { reject: false }).exitCode === 0) return py;
  }
  throw new Error('no python3 with ASE found: install Debian python3-ase (or set MALA_TS_PYTHON)');
}

interface AseImage {
  positions: number[][];
  energy: number;
  forces: number[][];
}

/** Every image ASE's espresso-out reader returns, converted back to our constants (it multiplies by CODATA 2006 Ry and Bohr). */
function readAllWithAse(text: string, positionsScaledByAlat = false): AseImage[] {
  const { dir, cleanup } = tempDir();
  try {
    const file = path.join(dir, 'dyn.out');
    fs.writeFileSync(file, text);
    const script = [
      'import json, sys',
      'from ase.io import read',
      'from ase.io.espresso import units',
      "imgs = read(sys.argv[1], index=':', format='espresso-out')",
      'print(json.dumps({"Ry": units["Ry"], "Bohr": units["Bohr"], "images": [{"positions": a.positions.tolist(), "energy": a.get_potential_energy(), "forces": a.get_forces().tolist()} for a in imgs]}))',
    ].join('\n');
    const r = execa.sync(pythonWithAse(), ['-c', script, file], { reject: false });
    assert.equal(r.exitCode, 0, `ASE could not read the output:\n${r.stderr}`);
    const raw = JSON.parse(r.stdout) as { Ry: number; Bohr: number; images: AseImage[] };
    const e = rydbergEv / raw.Ry;
    const f = e * (raw.Bohr / bohrAngstrom);
    const l = positionsScaledByAlat ? bohrAngstrom / raw.Bohr : 1;
    return raw.images.map((im) => ({ positions: im.positions.map((row) => row.map((x) => x * l)), energy: im.energy * e, forces: im.forces.map((row) => row.map((x) => x * f)) }));
  } finally {
    cleanup();
  }
}

const maxAbsDiff = (a: number[][], b: number[][]): number => Math.max(...a.flatMap((row, i) => row.map((x, k) => Math.abs(x - b[i][k]))));
const ryPerBohr = (evPerA: number): number => (evPerA * bohrAngstrom) / rydbergEv;

describe('workflow: pw relax and md (pw.x BFGS and Verlet on a force evaluator, pw.x 6.7 output)', function () {
  this.timeout(60000);
  const lj = () => lennardJones(0.2, 2.5, 6.0);

  it('relax: converges to forc_conv_thr on a jiggled fcc cell, and ASE reads every step', async () => {
    const evaluate = lj();
    const text = pwInput("  calculation = 'relax'\n  forc_conv_thr = 1.0d-4\n  etot_conv_thr = 1.0d-6\n  nstep = 60", '', jiggledPositions());
    const { result, output } = await run(text, evaluate);
    assert.ok(result.converged, 'converged');
    assert.equal(result.steps.length, evaluate.calls);
    assert.ok(result.steps.length < 30, `${result.steps.length} steps`);
    const last = result.steps[result.steps.length - 1];
    const fmax = Math.max(...last.forcesEvPerA.flat().map(Math.abs));
    assert.ok(ryPerBohr(fmax) < 1e-4, `max force ${ryPerBohr(fmax)} Ry/Bohr`);
    // the minimum is the perfect lattice (any translation of it): same energy, fcc distances
    const perfect = await lj()(
      [[A_FCC, 0, 0], [0, A_FCC, 0], [0, 0, A_FCC]],
      FCC.map((s) => s.map((x) => x * A_FCC)),
    );
    assert.ok(Math.abs(last.energyEv - perfect.energyEv) < 1e-6, `E ${last.energyEv} vs lattice ${perfect.energyEv}`);
    assert.ok(result.steps[0].energyEv > last.energyEv + 0.01, 'the energy went down');
    // pw.x's lines
    assert.match(output, /^ {5}BFGS Geometry Optimization$/m);
    assert.match(output, /^ {5}bfgs converged in +\d+ scf cycles and +\d+ bfgs steps$/m);
    assert.match(output, /^ {5}\(criteria: energy <  1\.0E-06 Ry, force <  1\.0E-04 Ry\/Bohr\)$/m);
    assert.match(output, /^Begin final coordinates\n\nATOMIC_POSITIONS \(angstrom\)\n(Ar .*\n){4}End final coordinates$/m);
    assert.match(output, /^ {5}Final energy   = +-?\d+\.\d{10} Ry$/m);
    assert.match(output, /JOB DONE\./);
    assert.equal(output.match(/^!    total energy/gm)?.length, result.steps.length);
    // ASE: one image per evaluation, with that step's positions, energy and forces
    const images = readAllWithAse(output);
    assert.equal(images.length, result.steps.length);
    images.forEach((im, n) => {
      const s = result.steps[n];
      assert.ok(maxAbsDiff(im.positions, s.positionsAngstrom) < 1e-8, `positions of step ${n}`);
      assert.ok(Math.abs(im.energy - s.energyEv) < 2e-7, `energy of step ${n}: ${im.energy} vs ${s.energyEv}`);
      // F14.8 in Ry/Bohr: 5e-9 Ry/Bohr = 1.3e-7 eV/Å
      assert.ok(maxAbsDiff(im.forces, s.forcesEvPerA) < 2e-7, `forces of step ${n}`);
    });
  });

  it('relax: fixed coordinates (if_pos 0) stay where they are and print zero forces', async () => {
    const text = pwInput("  calculation = 'relax'\n  forc_conv_thr = 1.0d-4", '', jiggledPositions(['0 0 0', '', '1 0 1', '']));
    const q = parseQeInput(text, 'test.in');
    const { result, output } = await run(text, lj());
    assert.ok(result.converged);
    const last = result.steps[result.steps.length - 1];
    assert.deepEqual(last.positionsAngstrom[0], q.atoms.positionsAngstrom[0]);
    assert.equal(last.positionsAngstrom[2][1], q.atoms.positionsAngstrom[2][1]);
    assert.notEqual(last.positionsAngstrom[2][0], q.atoms.positionsAngstrom[2][0]);
    for (const s of result.steps) assert.deepEqual([...s.forcesEvPerA[0], s.forcesEvPerA[2][1]], [0, 0, 0, 0]);
    assert.match(output, /^ {5}atom {4}1 type  1   force = {5}0\.00000000 {4}0\.00000000 {4}0\.00000000$/m);
    assert.match(output, /^Ar +\S+ +\S+ +\S+ +0 +0 +0$/m);
    assert.match(output, /^Ar +\S+ +\S+ +\S+ +1 +0 +1$/m);
    assert.equal(readAllWithAse(output).length, result.steps.length);
  });

  it('relax: stops after nstep evaluations without converging, as pw.x', async () => {
    const evaluate = lj();
    const text = pwInput("  calculation = 'relax'\n  forc_conv_thr = 1.0d-8\n  nstep = 3", '', jiggledPositions());
    const { result, output } = await run(text, evaluate);
    assert.equal(result.converged, false);
    assert.equal(evaluate.calls, 3);
    assert.match(output, /The maximum number of steps has been reached\.\n\n {5}End of BFGS Geometry Optimization/);
    assert.doesNotMatch(output, /Begin final coordinates/);
  });

  it('md: velocity Verlet conserves Ekin + Etot, Ekin matches the positions, ASE reads every step', async () => {
    const evaluate = lj();
    const nstep = 150;
    const text = pwInput(`  calculation = 'md'\n  dt = 20\n  nstep = ${nstep}`, "  ion_temperature = 'not_controlled'\n  tempw = 300", jiggledPositions());
    const { result, output } = await run(text, evaluate);
    assert.equal(result.steps.length, nstep);
    const conserved = result.steps.map((s) => s.conservedEnergyEv!);
    const ekinMax = Math.max(...result.steps.map((s) => s.kineticEnergyEv!));
    const drift = Math.max(...conserved.map((e) => Math.abs(e - conserved[0])));
    assert.ok(ekinMax > 0.05, `the atoms move: Ekin up to ${ekinMax} eV`);
    assert.ok(drift < 2e-3 * ekinMax, `Ekin + Etot drifts ${drift} eV (Ekin max ${ekinMax} eV)`);
    assert.equal(result.steps[0].kineticEnergyEv, 0, 'starts at rest, as pw.x without velocities');
    // Ekin from the printed trajectory (central differences, SI units): checks dt's unit and the masses
    const dtS = 20 * 4.8377686521e-17;
    const massKg = 39.948 * 1.66053904e-27;
    const traj = [...result.steps.map((s) => s.positionsAngstrom), result.finalPositionsAngstrom];
    for (const n of [1, 40, 100]) {
      let ekinJ = 0;
      for (let a = 0; a < 4; a++) for (let k = 0; k < 3; k++) ekinJ += 0.5 * massKg * (((traj[n + 1][a][k] - traj[n - 1][a][k]) * 1e-10) / (2 * dtS)) ** 2;
      const ekinEv = ekinJ / 1.6021766208e-19;
      assert.ok(Math.abs(ekinEv - result.steps[n].kineticEnergyEv!) < 1e-9 + 1e-7 * ekinEv, `Ekin at step ${n + 1}: ${ekinEv} vs ${result.steps[n].kineticEnergyEv}`);
      // T = 2 Ekin / (k_B (3N − 3)), the centre of mass fixed
      assert.ok(Math.abs(result.steps[n].temperatureK! - (2 * result.steps[n].kineticEnergyEv!) / (kBoltzmannEvPerK * 9)) < 1e-9);
    }
    // the printed lines: Ekin + Etot (const) in Ry, one per step, and the time of step 1 = dt
    const consts = [...output.matchAll(/^ {5}Ekin \+ Etot \(const\) {3}= +(-?\d+\.\d+) Ry$/gm)].map((m) => Number(m[1]) * rydbergEv);
    assert.equal(consts.length, nstep);
    assert.ok(Math.abs(consts[nstep - 1] - conserved[nstep - 1]) < 1e-7);
    assert.match(output, /^ {5}Entering Dynamics: {4}iteration = {5}1\n {27}time {6}= {3}0\.0010 pico-seconds$/m);
    assert.match(output, /^ {5}Time step {13}= {4}20\.00 a\.u\., {2}0\.9676 femto-seconds$/m);
    assert.match(output, /End of molecular dynamics calculation/);
    const images = readAllWithAse(output);
    assert.equal(images.length, nstep);
    images.forEach((im, n) => {
      assert.ok(maxAbsDiff(im.positions, result.steps[n].positionsAngstrom) < 1e-8, `positions of step ${n}`);
      assert.ok(Math.abs(im.energy - result.steps[n].energyEv) < 2e-7, `energy of step ${n}`);
      assert.ok(maxAbsDiff(im.forces, result.steps[n].forcesEvPerA) < 2e-7, `forces of step ${n}`);
    });
  });

  it('md: the error in Ekin + Etot falls as dt² (a second-order integrator)', async () => {
    const driftOver = async (dt: number, nstep: number): Promise<number> => {
      const text = pwInput(`  calculation = 'md'\n  dt = ${dt}\n  nstep = ${nstep}`, '', jiggledPositions());
      const c = (await run(text, lj())).result.steps.map((s) => s.conservedEnergyEv!);
      return Math.max(...c.map((e) => Math.abs(e - c[0])));
    };
    // the same 145 fs with dt = 40 and 20 a.u. (measured: 1.3e-3 and 3.4e-4 eV)
    const ratio = (await driftOver(40, 75)) / (await driftOver(20, 150));
    assert.ok(ratio > 3 && ratio < 5.5, `drift ratio ${ratio} for dt halved`);
  });

  it('md: the centre of mass stays put; ATOMIC_VELOCITIES start the run', async () => {
    const vel = 'ATOMIC_VELOCITIES\nAr 1.0d-4 0 0\nAr -1.0d-4 0 0\nAr 0 2.0d-4 0\nAr 0 -2.0d-4 0';
    const text = pwInput("  calculation = 'md'\n  nstep = 20", "  ion_velocities = 'from_input'", jiggledPositions(), vel);
    const { result } = await run(text, lj());
    const ekin0Ry = 0.5 * ((39.948 * 1.66053904e-27) / 9.10938356e-31 / 2) * (2 * 1e-8 + 2 * 4e-8);
    assert.ok(Math.abs(result.steps[0].kineticEnergyEv! / rydbergEv - ekin0Ry) < 1e-12, 'Ekin of the input velocities');
    const com = (p: number[][]) => [0, 1, 2].map((k) => p.reduce((s, r) => s + r[k], 0) / 4);
    assert.ok(maxAbsDiff([com(result.finalPositionsAngstrom)], [com(result.steps[0].positionsAngstrom)]) < 1e-10);
  });

  it('prints positions in the unit of the input (alat, bohr, crystal, angstrom), as pw.x, and ASE reads each', async () => {
    const angstrom = FCC.map((s, a) => s.map((x, k) => x * A_FCC + JIGGLE[a][k]));
    const scale: Record<string, number> = { alat: A_FCC, bohr: bohrAngstrom, crystal: A_FCC };
    for (const unit of ['alat', 'bohr', 'crystal']) {
      const card = [`ATOMIC_POSITIONS ${unit}`, ...angstrom.map((r) => `Ar ${r.map((x) => (x / scale[unit]).toFixed(12)).join(' ')}`)].join('\n');
      const { result, output } = await run(pwInput("  calculation = 'relax'\n  nstep = 3", '', card), lj());
      assert.equal(output.match(new RegExp(`^ATOMIC_POSITIONS \\(${unit}\\)$`, 'gm'))?.length, 3, unit);
      const images = readAllWithAse(output, true);
      assert.equal(images.length, 3);
      // 10 decimals of alat/Bohr/crystal: 4e-11 Å
      images.forEach((im, n) => assert.ok(maxAbsDiff(im.positions, result.steps[n].positionsAngstrom) < 1e-9, `${unit}, step ${n}`));
    }
  });

  it('does not print the first forces twice when the single-point text already has them (tprnfor)', async () => {
    const text = pwInput("  calculation = 'relax'\n  nstep = 2", '', jiggledPositions());
    const q = parseQeInput(text, 'test.in');
    let output = '';
    await runPwDynamics(pwDynamicsInput(q, text, 'test.in'), lj(), {
      singlePointText: () => '     Program PWSCF v.6.7\n!    total energy = -1 Ry\n     Forces acting on atoms (cartesian axes, Ry/au):\n\n     PWSCF        :  1s CPU\n   JOB DONE.\n',
      footerText: () => '     PWSCF        :  2s CPU\n   JOB DONE.\n',
      write: (t) => {
        output += t;
      },
    });
    assert.equal(output.match(/Forces acting on atoms/g)?.length, 2, 'one block per evaluation');
    assert.equal(output.match(/JOB DONE/g)?.length, 1);
    assert.match(output, /2s CPU\n   JOB DONE\.\n$/);
  });

  it('refuses what it does not implement, with one clear error naming the option', () => {
    const cases: [string, RegExp][] = [
      [pwInput("  calculation = 'relax'", "  ion_dynamics = 'damp'", jiggledPositions()), /ion_dynamics = 'damp' for calculation = 'relax' is not supported/],
      [pwInput("  calculation = 'md'", "  ion_temperature = 'rescaling'", jiggledPositions()), /ion_temperature = 'rescaling' \(thermostat\) is not supported/],
      [pwInput("  calculation = 'md'", "  ion_dynamics = 'langevin'", jiggledPositions()), /ion_dynamics = 'langevin'/],
      [pwInput("  calculation = 'relax'", '', jiggledPositions(), 'CONSTRAINTS\n1\n"distance" 1 2 2.0'), /the CONSTRAINTS card is not supported/],
      [pwInput("  calculation = 'relax'", '  bfgs_ndim = 3', jiggledPositions()), /bfgs_ndim = 3 \(GDIIS\)/],
      [pwInput("  calculation = 'md'\n  dt = -1", '', jiggledPositions()), /dt = -1 must be a positive number/],
    ];
    for (const [text, message] of cases) {
      const q = parseQeInput(text, 'bad.in');
      assert.throws(
        () => pwDynamicsInput(q, text, 'bad.in'),
        (e: unknown) => isMalaError(e) && message.test(e.message) && e.file === 'bad.in' && !!e.fix,
      );
    }
  });

  it('pw: a relax input with an unsupported option fails on that option before any model is read', async () => {
    const text = pwInput("  calculation = 'relax'", "  ion_dynamics = 'damp'", jiggledPositions());
    await assert.rejects(runPwDropIn({ inputText: text, inputFile: 'relax.in', modelFile: '/no/such/model.zip' }), /ion_dynamics = 'damp'/);
  });
});
