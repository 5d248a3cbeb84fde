import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import execa from 'execa';
import { MalaError } from '../../src/errors';
import { ForceEvaluator, parseIpiAddress, runIpiClient } from '../../src/io/ipi-client';
import { NO_STRESS_WARNING, runPwIpi } from '../../src/workflow/pw-ipi';
import type { ForceEvaluatorRequest } from '../../src/workflow/force-evaluator';
import { pythonWithAse } from '../ase-python';
import { repoRoot } from '../helpers';
import { lennardJones, LjParameters } from './lj-evaluator';

const server = path.join(repoRoot, 'test', 'io', 'ipi-ase-server.py');
const cli = path.join(repoRoot, 'bin', 'mala-ts.js');

interface Rec {
  cell: number[][];
  positions: number[][];
  energy: number;
  forces: number[][];
  stress: number[];
  ref_energy: number;
  ref_forces: number[][];
  ref_stress: number[];
}

const lj: LjParameters = { sigma: 2.3, epsilon: 0.05, rc: 6.0 };
/** Four Ar atoms, rattled fcc-like, in a triclinic cell (a transposed cell or a wrong unit shows). */
const system = {
  symbols: ['Ar', 'Ar', 'Ar', 'Ar'],
  cell: [[5.6, 0.4, 0.2], [0.3, 5.4, -0.3], [-0.2, 0.5, 5.9]],
  positions: [[0.1, 0.0, -0.1], [2.9, 2.7, 0.2], [2.6, 0.3, 3.0], [0.2, 3.1, 2.8]],
  momenta: [[0.8, -0.3, 0.1], [-0.2, 0.5, -0.6], [0.1, -0.4, 0.3], [-0.7, 0.2, 0.2]],
  ...lj,
};
let socketCount = 0;
const unixName = () => `mala-ts-test-${process.pid}-${++socketCount}`;

/**
 * Start ASE's SocketIOCalculator (server) with `args`, call `serve(address)` once it listens,
 * and return ASE's records (socket results next to ASE's own LennardJones) and its exit.
 */
async function driveWithAse(args: Record<string, unknown>, serve: (address: string) => Promise<void>): Promise<{ records: Rec[]; exitCode: number; stderr: string }> {
  const py = execa(pythonWithAse(), [server, JSON.stringify({ ...system, ...args })], { reject: false, timeout: 90000, buffer: false });
  // stdout and stderr read here (execa's own buffer can miss what a listener consumed)
  let seen = '';
  let stderr = '';
  py.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
  const address = await new Promise<string>((resolve, reject) => {
    py.stdout!.on('data', (b: Buffer) => {
      seen += b.toString();
      const m = seen.match(/^LISTENING (\S+)\n/);
      if (m) resolve(m[1]);
    });
    py.on('exit', () => reject(new Error(`the ASE server exited before listening:\n${seen}`)));
  });
  let served: unknown;
  try {
    await serve(address);
  } catch (e) {
    served = e;
  }
  const r = await py;
  if (served) throw served;
  const last = seen.trim().split('\n').pop()!;
  return { records: r.exitCode === 0 ? (JSON.parse(last) as Rec[]) : [], exitCode: r.exitCode ?? -1, stderr };
}

const flat = (x: number | number[] | number[][]): number[] => (Array.isArray(x) ? (x as (number | number[])[]).flatMap((y) => (Array.isArray(y) ? y : [y])) : [x]);
/** max |a − b| relative to the largest |b| (1 when b is all zeros). */
function relMax(a: number | number[] | number[][], b: number | number[] | number[][]): number {
  const fa = flat(a);
  const fb = flat(b);
  assert.equal(fa.length, fb.length);
  const scale = Math.max(1e-300, ...fb.map(Math.abs));
  return Math.max(...fa.map((x, i) => Math.abs(x - fb[i]))) / scale;
}

/** ASE's results through the socket equal ASE's LennardJones on the same atoms. */
function assertAgrees(records: Rec[], { stress }: { stress: boolean }): void {
  for (const [i, r] of records.entries()) {
    assert.ok(relMax(r.energy, r.ref_energy) < 1e-8, `step ${i}: energy ${r.energy} vs ASE's LJ ${r.ref_energy}`);
    assert.ok(relMax(r.forces, r.ref_forces) < 1e-8, `step ${i}: forces ${JSON.stringify(r.forces)} vs ASE's LJ ${JSON.stringify(r.ref_forces)}`);
    if (stress) assert.ok(relMax(r.stress, r.ref_stress) < 1e-8, `step ${i}: stress ${r.stress} vs ASE's LJ ${r.ref_stress}`);
    else assert.ok(r.stress.length === 6 && r.stress.every((x) => x === 0), `step ${i}: stress ${r.stress} without a virial`);
  }
  // the runs did move the atoms, and the last configuration has another cell
  assert.ok(relMax(records[records.length - 2].positions, records[0].positions) > 1e-3, 'atoms moved');
  assert.ok(relMax(records[records.length - 1].cell, records[0].cell) > 1e-3, 'cell changed');
}

describe('io: i-PI client (pw.x --ipi protocol), driven by ASE 3.22 SocketIOCalculator', function () {
  this.timeout(120000);

  it('parses pw.x addresses: HOST:PORT, NAME:UNIX (/tmp/ipi_NAME), the last ":" separates', () => {
    assert.deepEqual(parseIpiAddress('localhost:31415'), { kind: 'inet', host: 'localhost', port: 31415 });
    assert.deepEqual(parseIpiAddress('driver:UNIX'), { kind: 'unix', name: 'driver', path: '/tmp/ipi_driver' });
    assert.deepEqual(parseIpiAddress('::1:3141'), { kind: 'inet', host: '::1', port: 3141 });
    for (const bad of ['localhost', ':31415', 'h:', 'h:0', 'h:65536', 'h:31415x', 'h:unix', ':UNIX', 'a/b:UNIX', `${'x'.repeat(120)}:UNIX`]) {
      assert.throws(() => parseIpiAddress(bad), (e: unknown) => e instanceof MalaError && /--ipi address/.test(e.message) && /HOST:PORT.*NAME:UNIX/.test(e.fix ?? ''), bad);
    }
  });

  it('UNIX socket: BFGS steps, a strained cell, EXIT; energies, forces and stress equal ASE\'s LennardJones', async () => {
    let noVirial = 0;
    let steps = 0;
    const { records, exitCode, stderr } = await driveWithAse({ unix: unixName(), run: 'bfgs', steps: 5, exit: true }, (address) =>
      runIpiClient(address, lennardJones(lj), { onNoVirial: () => noVirial++, onStep: (s) => (steps = s.index) }),
    );
    assert.equal(exitCode, 0, `the ASE server failed:\n${stderr}`);
    assert.ok(records.length >= 5, `${records.length} records`);
    assert.equal(steps, records.length, 'one POSDATA per configuration');
    assert.equal(noVirial, 0);
    assertAgrees(records, { stress: true });
  });

  it('TCP (localhost:PORT): velocity Verlet steps, a strained cell, the server closes without EXIT', async () => {
    const { records, exitCode, stderr } = await driveWithAse({ run: 'md', steps: 6 }, (address) => {
      assert.match(address, /^localhost:\d+$/);
      return runIpiClient(address, lennardJones(lj));
    });
    assert.equal(exitCode, 0, `the ASE server failed:\n${stderr}`);
    assert.equal(records.length, 8, 'the start, 6 MD steps, the strained cell');
    assertAgrees(records, { stress: true });
  });

  it('an evaluator that fails closes the connection and rethrows', async () => {
    const failing: ForceEvaluator = async () => {
      throw new MalaError('made-up failure');
    };
    await assert.rejects(
      driveWithAse({ unix: unixName(), run: 'bfgs', steps: 2 }, (address) => runIpiClient(address, failing)),
      /made-up failure/,
    );
  });

  it('no server: one clear error naming the address', async () => {
    await assert.rejects(runIpiClient(`${unixName()}:UNIX`, lennardJones(lj)), (e: unknown) => e instanceof MalaError && /cannot connect to the i-PI server at UNIX socket \/tmp\/ipi_mala-ts-test-\d+-\d+: ENOENT/.test(e.message));
  });
});

/** The made-up system as a pw.x input (the structure runPwIpi reads once). */
const pwInput = [
  '&control',
  "  calculation = 'md'",
  '/',
  '&system',
  '  ibrav = 0, nat = 4, ntyp = 1, ecutwfc = 30',
  '/',
  '&electrons',
  '/',
  'ATOMIC_SPECIES',
  '  Ar 39.948 Ar.upf',
  'CELL_PARAMETERS angstrom',
  ...system.cell.map((r) => `  ${r.join(' ')}`),
  'ATOMIC_POSITIONS angstrom',
  ...system.positions.map((r) => `  Ar ${r.join(' ')}`),
  'K_POINTS gamma',
  '',
].join('\n');

describe('workflow: runPwIpi (mala-ts pw --ipi)', function () {
  this.timeout(120000);

  it('reads the input once, builds one evaluator from it, serves every step; no virial → zero stress and one warning', async () => {
    const warnings: string[] = [];
    const requests: ForceEvaluatorRequest[] = [];
    let served = 0;
    const { records, exitCode, stderr } = await driveWithAse({ unix: unixName(), run: 'md', steps: 3 }, async (address) => {
      const r = await runPwIpi({ inputText: pwInput, inputFile: 'ar.in', modelFile: 'model.zip', address, warn: (m) => warnings.push(m) }, async (req) => {
        requests.push(req);
        return lennardJones(lj, false);
      });
      served = r.steps;
    });
    assert.equal(exitCode, 0, `the ASE server failed:\n${stderr}`);
    assert.equal(requests.length, 1, 'one evaluator for the whole run');
    assert.deepEqual(requests[0].read.atoms.symbols, system.symbols);
    assert.equal(requests[0].inputLabel, 'ar.in');
    assert.equal(requests[0].modelFile, 'model.zip');
    assert.equal(served, records.length);
    assert.deepEqual(warnings, [NO_STRESS_WARNING]);
    assertAgrees(records, { stress: false });
  });

  it('refuses a server whose atoms are not the input\'s', async () => {
    const twoAtoms = pwInput.replace('nat = 4', 'nat = 2').replace(/(ATOMIC_POSITIONS angstrom\n.*\n.*\n).*\n.*\n/, '$1');
    await assert.rejects(
      driveWithAse({ unix: unixName(), run: 'bfgs', steps: 1 }, async (address) => {
        await runPwIpi({ inputText: twoAtoms, inputFile: 'ar2.in', address }, async () => lennardJones(lj));
      }),
      (e: unknown) => e instanceof MalaError && /the i-PI server sent 4 atoms; the pw.x input has 2/.test(e.message),
    );
  });
});

describe('cli: mala-ts pw --ipi ADDRESS', function () {
  this.timeout(60000);

  it('a bad address is one clear error, before the input or the model is looked at', async () => {
    for (const args of [['--ipi', 'localhost'], ['-ipi', 'host:port', '-in', 'no-such.in'], ['-in', 'no-such.in', '--ipi', 'name:unix']]) {
      const r = await execa('node', [cli, 'pw', ...args], { reject: false, env: { MALA_TS_MODEL: '' } });
      assert.equal(r.exitCode, 1, r.stderr);
      assert.match(r.stderr, /^mala-ts: error: --ipi address '[^']*'.*\n {2}fix: write --ipi HOST:PORT .* or --ipi NAME:UNIX .*$/);
      assert.equal(r.stdout, '');
    }
  });
});
