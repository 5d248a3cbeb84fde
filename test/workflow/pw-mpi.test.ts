/**
 * `mala-ts pw` under MPI (`mpirun -np N mala-ts pw ...`, or `pw --np N`): one output, written by
 * rank 0, whose numbers are the serial run's; relax/md steps and i-PI configurations are driven
 * by rank 0 and predicted by all ranks together (src/parallel/lockstep.ts).
 *
 * Every run uses one BLAS thread per rank (as `--np` sets), so serial and MPI runs differ only in
 * the order of the float64 sums over ranks: 1e-8 relative is far below any physics and far above
 * that order (1e-12), while a structure predicted on one rank only, or rank 1 using other
 * positions, changes energies by more than 1e-4.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import execa from 'execa';
import { parseStructure } from '../../src/structure/registry';
import { pythonWithAse } from '../ase-python';
import { mpirunRootArgs, mpiTestEnv, repoRoot, tempDir } from '../helpers';

const cli = path.join(repoRoot, 'bin', 'mala-ts.js');
const model = path.join(repoRoot, 'models', 'al-fcc-298K', 'model.zip');
const pseudoDir = path.join(repoRoot, 'fixtures', 'al-fcc-qe');
const frame = path.join(repoRoot, 'fixtures', 'al-forces', 'Al4_298K_6.pw.scf.in'); // tprnfor = .true.
const env = { ...mpiTestEnv, MALA_TS_BACKEND: 'torch' };
const mpirun = (np: number) => ['mpirun', ...mpirunRootArgs, '-np', String(np)];

/** `mala-ts pw` serially (np 1) or under mpirun; stdout, stderr, exit code. */
async function pw(np: number, args: string[], opts: { cwd: string; input?: string }): Promise<execa.ExecaReturnValue> {
  const cmd = [...(np > 1 ? mpirun(np) : []), 'node', cli, 'pw', ...args, '--model', model, '--pseudo-dir', pseudoDir];
  return execa(cmd[0], cmd.slice(1), { cwd: opts.cwd, env, reject: false, input: opts.input, timeout: 240000 });
}

/** Every number of the lines pw.x users parse: total energies, Fermi energy, forces, temperatures. */
function numbersOf(out: string): number[] {
  const lines = out.split('\n').filter((l) => /^!|the Fermi energy|atom +\d+ type +\d+ +force|Total force|temperature +=|Ekin \+ Etot/.test(l));
  return lines.flatMap((l) => (l.match(/-?\d+\.\d+(?:[eEdD][-+]?\d+)?/g) ?? []).map(Number));
}

function assertClose(a: number[], b: number[], what: string): void {
  assert.equal(a.length, b.length, `${what}: ${a.length} vs ${b.length} numbers`);
  assert.ok(a.length > 0, what);
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    assert.ok(d <= 1e-8 * Math.max(1, Math.abs(b[i])) + 2e-8, `${what}: number ${i}: ${a[i]} vs ${b[i]}`);
  }
}

describe('workflow: mala-ts pw under MPI', function () {
  this.timeout(600000);
  let dir: string;
  let cleanup: (() => void) | undefined;
  before(() => ({ dir, cleanup } = tempDir()));
  after(() => cleanup?.());

  it('scf with forces on 2 ranks: one output, the serial numbers; standard input reaches every rank', async () => {
    fs.copyFileSync(frame, path.join(dir, 'scf.in'));
    const serial = await pw(1, ['-in', 'scf.in'], { cwd: dir });
    assert.equal(serial.exitCode, 0, serial.stderr);
    const two = await pw(2, ['-in', 'scf.in'], { cwd: dir });
    assert.equal(two.exitCode, 0, two.stderr);
    assert.equal(two.stdout.match(/^!/gm)?.length, 1, 'one total energy line: rank 0 alone writes');
    assert.equal(two.stdout.match(/JOB DONE/g)?.length, 1);
    assert.equal((two.stderr.match(/forces: the model's validation .* records force RMSEs/g) ?? []).length, 1, 'warnings come once, from rank 0');
    assertClose(numbersOf(two.stdout), numbersOf(serial.stdout), 'pw -in on 2 ranks vs serial');
    const piped = await pw(2, [], { cwd: dir, input: fs.readFileSync(frame, 'utf8') });
    assert.equal(piped.exitCode, 0, piped.stderr);
    assertClose(numbersOf(piped.stdout), numbersOf(serial.stdout), 'pw < scf.in on 2 ranks vs serial');
  });

  it('md (3 steps) on 2 ranks via --np: each step as the serial run', async () => {
    const text = fs.readFileSync(frame, 'utf8').replace("calculation = 'scf'", "calculation = 'md'\n  dt = 20\n  nstep = 3").replace(/(&ELECTRONS[\s\S]*?\n\/\n)/i, "$1&IONS\n  ion_temperature = 'not_controlled'\n/\n");
    fs.writeFileSync(path.join(dir, 'md.in'), text);
    const serial = await pw(1, ['-in', 'md.in'], { cwd: dir });
    assert.equal(serial.exitCode, 0, serial.stderr);
    const two = await pw(1, ['-in', 'md.in', '--np', '2'], { cwd: dir });
    assert.equal(two.exitCode, 0, two.stderr);
    assert.equal(two.stdout.match(/^!/gm)?.length, 3, 'three steps, written once');
    assertClose(numbersOf(two.stdout), numbersOf(serial.stdout), 'md on 2 ranks vs serial');
  });

  it('--ipi on 2 ranks: rank 0 serves ASE\'s SocketIOCalculator; energies and forces as the serial client', async () => {
    const read = parseStructure(fs.readFileSync(frame, 'utf8'), frame, { format: 'qe-in' });
    const server = path.join(repoRoot, 'test', 'io', 'ipi-ase-server.py');
    const drive = async (np: number, name: string) => {
      const system = { symbols: read.atoms.symbols, cell: read.atoms.cellAngstrom, positions: read.atoms.positionsAngstrom, momenta: read.atoms.symbols.map((_, i) => [0.3 * Math.sin(i + 1), -0.2, 0.1 * i]), sigma: 2.5, epsilon: 0.01, rc: 5, unix: name, run: 'md', steps: 2 };
      const py = execa(pythonWithAse(), [server, JSON.stringify(system)], { reject: false, timeout: 240000, buffer: false });
      let seen = '';
      py.stdout!.on('data', (b: Buffer) => (seen += b.toString()));
      await new Promise<void>((resolve, reject) => {
        const t = setInterval(() => /^LISTENING /.test(seen) && (clearInterval(t), resolve()), 50);
        py.on('exit', () => (clearInterval(t), reject(new Error(`the ASE server exited:\n${seen}`))));
      });
      const client = await pw(np, ['-in', 'scf.in', '--ipi', `${name}:UNIX`], { cwd: dir });
      assert.equal(client.exitCode, 0, client.stderr);
      const r = await py;
      assert.equal(r.exitCode, 0, `ASE server: ${r.stderr}`);
      const records = JSON.parse(seen.trim().split('\n').pop()!) as { energy: number; forces: number[][] }[];
      return { records, stdout: client.stdout };
    };
    fs.copyFileSync(frame, path.join(dir, 'scf.in'));
    const serial = await drive(1, `mala-ts-mpi-${process.pid}-a`);
    const two = await drive(2, `mala-ts-mpi-${process.pid}-b`);
    assert.equal(two.records.length, 4, 'initial, 2 MD steps, the strained cell');
    assert.equal(two.stdout.match(/DRIVER MODE: step/g)?.length, 4, 'one line per step, from rank 0');
    assertClose(two.records.flatMap((r) => [r.energy, ...r.forces.flat()]), serial.records.flatMap((r) => [r.energy, ...r.forces.flat()]), 'i-PI on 2 ranks vs serial');
    // the structures did change between configurations (rank 1 must have followed them)
    assert.ok(Math.abs(two.records[3].energy - two.records[0].energy) > 1e-3);
  });

  it('a failure on rank 0 (no i-PI server) ends every rank with one error, no hang', async () => {
    fs.copyFileSync(frame, path.join(dir, 'scf.in'));
    const t0 = Date.now();
    const r = await pw(2, ['-in', 'scf.in', '--ipi', `mala-ts-none-${process.pid}:UNIX`], { cwd: dir });
    assert.notEqual(r.exitCode, 0);
    assert.match(r.stderr, /error on MPI rank 0: .*(i-PI|connect)/i);
    assert.ok(Date.now() - t0 < 120000, 'ended promptly');
  });
});
