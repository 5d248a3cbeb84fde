import { strict as assert } from 'node:assert';
import { Lammps, LammpsError, findLammpsLibrary, lammpsConfig, withLammps } from '../../bindings/lammps';
import { MalaError } from '../../src/errors';

const small = [
  'units metal',
  'region box block 0 3 0 3 0 3',
  'create_box 1 box',
  'create_atoms 1 single 1.0 1.5 1.5',
  'create_atoms 1 single 2.2 1.5 1.5',
  'mass * 1.0',
  'pair_style zero 2.5',
  'pair_coeff * *',
  'compute bg all sna/grid grid 2 2 3 2.5 0.99363 2 0.5 1 rmin0 0 bzeroflag 0 quadraticflag 0 switchflag 1',
  'thermo_style custom step c_bg[1][4]',
  'run 0',
];

describe('bindings/lammps', () => {
  it('finds and opens the library with ML-SNAP', () => {
    assert.ok(findLammpsLibrary(), 'liblammps.so found (run make setup)');
    const cfg = lammpsConfig();
    assert.equal(cfg.packages['ML-SNAP'], true);
    withLammps((lmp) => {
      assert.ok(lmp.version() >= 20250204);
      assert.ok(lmp.hasStyle('compute', 'sna/grid'));
      assert.ok(!lmp.hasStyle('compute', 'no/such/style'));
    });
  });

  it('runs a small input and extracts a grid compute', () => {
    withLammps((lmp) => {
      lmp.commands(small);
      assert.equal(lmp.natoms(), 2);
      const a = lmp.extractComputeArray('bg');
      // twojmax 2 → 5 coefficients + xyz; 2·2·3 grid points, x fastest
      assert.equal(a.rows, 12);
      assert.equal(a.cols, 8);
      assert.deepEqual(Array.from(a.data.slice(0, 3)), [0, 0, 0]);
      assert.deepEqual(Array.from(a.data.slice(8, 11)), [1.5, 0, 0]);
      assert.deepEqual(Array.from(a.data.slice(16, 19)), [0, 1.5, 0]);
      // B_000 = (1 + Σ weights)³ ≥ 1, finite everywhere
      for (let r = 0; r < a.rows; r++) assert.ok(a.data[r * 8 + 3] >= 1 && Number.isFinite(a.data[r * 8 + 7]));
      assert.equal(lmp.extractSetting('dimension'), 3);
    });
  });

  it('turns an invalid command into a catchable LammpsError with LAMMPS\' message, and stays usable', () => {
    const lmp = new Lammps();
    try {
      assert.throws(
        () => lmp.command('no_such_command 1 2'),
        (e: unknown) => e instanceof LammpsError && e instanceof MalaError && /Unknown command/.test(e.message) && /no_such_command/.test(e.message),
      );
      assert.throws(() => lmp.commands(['units metal', 'region box block 0 1 0 1']), LammpsError);
      lmp.command('clear');
      lmp.commands(small);
      assert.equal(lmp.extractComputeArray('bg').rows, 12);
      assert.throws(() => lmp.extractComputeArray('missing'), LammpsError);
    } finally {
      lmp.close();
    }
    assert.throws(() => lmp.version(), /closed/);
  });

  it('opens and closes two instances in sequence with identical results', () => {
    const run = () => withLammps((lmp) => (lmp.commands(small), lmp.extractComputeArray('bg').data));
    const a = run();
    const b = run();
    assert.deepEqual(Array.from(a), Array.from(b));
  });

  it('reports a missing library path clearly', () => {
    assert.throws(() => new Lammps({ libraryPath: '/nonexistent/liblammps.so' }), (e: unknown) => e instanceof MalaError && /not found/.test(e.message) && /make setup/.test(e.fix ?? ''));
  });

  it('leaves no MPI singleton variables in the environment for child processes', () => {
    const lmp = new Lammps();
    lmp.close();
    const leaked = Object.keys(process.env).filter((k) => /^(PMIX_|ORTE_)/.test(k) || k === 'OMPI_COMMAND');
    assert.deepEqual(leaked, [], 'a child pw.x or mpirun would try to join this process\' MPI job');
  });
});
