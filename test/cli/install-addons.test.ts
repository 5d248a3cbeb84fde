import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { repoRoot, tempDir } from '../helpers';

/** scripts/install-addons.js, npm's install step of the package, run from a fake installed package. */
describe('install step of the npm package (scripts/install-addons.js)', () => {
  let root: string;
  let cleanup: () => void;
  beforeEach(() => {
    ({ dir: root, cleanup } = tempDir('mala-ts-install-'));
    fs.mkdirSync(path.join(root, 'scripts'));
    fs.copyFileSync(path.join(repoRoot, 'scripts', 'install-addons.js'), path.join(root, 'scripts', 'install-addons.js'));
  });
  afterEach(() => cleanup());
  const run = (env: Record<string, string>) => spawnSync(process.execPath, [path.join(root, 'scripts', 'install-addons.js')], { encoding: 'utf8', env: { ...process.env, ...env } });

  it('without libtorch, mpicc or a C++ compiler: one line each naming what to install, and the install still succeeds', () => {
    const r = run({ MALA_TS_LIBTORCH: '/nonexistent/torch', MPICC: '/nonexistent/mpicc', CXX: '/nonexistent/c++' });
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    assert.equal(lines.length, 3, r.stdout);
    assert.match(lines[0], /^mala-ts: libtorch addon not built: MALA_TS_LIBTORCH=\/nonexistent\/torch has no include\/torch.*`npm rebuild mala-ts`.*plain-TypeScript backend, about 20x slower/);
    assert.match(lines[1], /^mala-ts: MPI addon not built: no \/nonexistent\/mpicc: apt-get install libopenmpi-dev libfftw3-mpi-dev.*runs serially/);
    assert.match(lines[2], /^mala-ts: native bispectrum addon not built: no C\+\+ compiler \(\/nonexistent\/c\+\+\): apt-get install g\+\+.*LAMMPS' sna\/grid/);
    assert.equal(fs.existsSync(path.join(root, 'bindings')), false, 'nothing built');
  });

  it('a failing compiler is reported with its log, and the install still succeeds', function () {
    if (!fs.existsSync('/usr/include/fftw3-mpi.h')) this.skip(); // without FFTW-MPI the MPI addon is skipped before compiling
    fs.mkdirSync(path.join(root, 'bindings', 'mpi'), { recursive: true });
    fs.writeFileSync(path.join(root, 'bindings', 'mpi', 'binding.gyp'), 'this is not a gyp file');
    const fakeGyp = path.join(root, 'fake-node-gyp.js');
    fs.writeFileSync(fakeGyp, "console.error('gyp: broken binding.gyp'); process.exit(1);\n");
    fs.writeFileSync(path.join(root, 'mpicc'), '#!/bin/sh\n', { mode: 0o755 });
    const r = run({ MALA_TS_LIBTORCH: '/nonexistent/torch', MPICC: path.join(root, 'mpicc'), CXX: '/nonexistent/c++', npm_config_node_gyp: fakeGyp });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /gyp: broken binding\.gyp/);
    assert.match(r.stdout, /^mala-ts: MPI addon build failed \(log: .*bindings\/mpi\/install\.log\).*`npm rebuild mala-ts`/m);
    assert.match(fs.readFileSync(path.join(root, 'bindings', 'mpi', 'install.log'), 'utf8'), /broken binding\.gyp/);
  });

  it('does nothing in a source checkout (make setup builds the addons there)', () => {
    fs.writeFileSync(path.join(root, 'scripts', 'setup.sh'), '');
    const r = run({ MALA_TS_LIBTORCH: '/nonexistent/torch' });
    assert.equal(r.status, 0);
    assert.equal(r.stdout, '');
  });
});
