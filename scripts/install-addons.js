#!/usr/bin/env node
// npm's "install" step of the mala-ts package: builds the two N-API addons with node-gyp (npm
// bundles it) when their native libraries are present, and otherwise says in one line what to
// install. It never fails the installation: without the libtorch addon the network runs on the
// plain-TypeScript backend (about 20x slower; `mala-ts doctor` says which one is in use), and
// without the MPI addon mala-ts runs serially.
//   MALA_TS_LIBTORCH=<dir>     link another libtorch (e.g. site-packages/torch; see bindings/torch/torch-config.js)
//   MALA_TS_SKIP_ADDONS=1      build nothing
// Rebuild after installing a library: `npm rebuild mala-ts`.
// In a source checkout `make setup` builds the addons (cached by a stamp), so this step does nothing there.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { spawn } = require('node:child_process');

const root = path.join(__dirname, '..');
const say = (msg) => console.log(`mala-ts: ${msg}`);

function onPath(cmd) {
  return (process.env.PATH || '').split(path.delimiter).some((d) => d && fs.existsSync(path.join(d, cmd)));
}

/** Node's headers next to the running node (Debian, nodesource, nvm), so node-gyp need not download them. */
function nodeDir() {
  const prefix = path.dirname(path.dirname(fs.realpathSync(process.execPath)));
  return fs.existsSync(path.join(prefix, 'include', 'node', 'node_api.h')) ? prefix : undefined;
}

/** The node-gyp npm runs packages' builds with (it puts node-gyp on PATH for scripts), else the one on PATH. */
function nodeGypCommand() {
  const js = process.env.npm_config_node_gyp;
  if (js && fs.existsSync(js)) return [process.execPath, js];
  return onPath('node-gyp') ? ['node-gyp'] : undefined;
}

/** Why the addon's libraries are missing (one line naming the packages), or '' when they are present. */
function missingTorch() {
  if (process.env.MALA_TS_LIBTORCH) {
    const h = path.join(process.env.MALA_TS_LIBTORCH, 'include', 'torch', 'csrc', 'api', 'include', 'torch', 'torch.h');
    return fs.existsSync(h) ? '' : `MALA_TS_LIBTORCH=${process.env.MALA_TS_LIBTORCH} has no include/torch/csrc/api/include/torch/torch.h (point it at site-packages/torch)`;
  }
  const h = '/usr/include/torch/csrc/api/include/torch/torch.h';
  return fs.existsSync(h) ? '' : 'libtorch not found: apt-get install libtorch-dev libopenblas0-pthread (or set MALA_TS_LIBTORCH=<site-packages/torch>)';
}

function missingMpi() {
  const mpicc = process.env.MPICC || 'mpicc';
  if (!onPath(mpicc) && !fs.existsSync(mpicc)) return `no ${mpicc}: apt-get install libopenmpi-dev libfftw3-mpi-dev`;
  if (!['/usr/include/fftw3-mpi.h', '/usr/local/include/fftw3-mpi.h'].some((h) => fs.existsSync(h))) return 'no fftw3-mpi.h: apt-get install libfftw3-mpi-dev';
  return '';
}

function missingCompiler() {
  const cxx = process.env.CXX || 'c++';
  return onPath(cxx) || fs.existsSync(cxx) ? '' : `no C++ compiler (${cxx}): apt-get install g++`;
}

const addons = [
  { name: 'torch', file: 'mala_torch.node', label: 'libtorch addon', missing: missingTorch, without: 'the network runs on the plain-TypeScript backend, about 20x slower' },
  { name: 'mpi', file: 'mala_mpi.node', label: 'MPI addon', missing: missingMpi, without: 'mala-ts runs serially (no mpirun -np N)' },
  { name: 'sna', file: 'mala_sna.node', label: 'native bispectrum addon', missing: missingCompiler, without: "descriptors come from LAMMPS' sna/grid, about 10x slower" },
];

/** Runs a command; resolves with its exit status and output (never rejects). */
function run(cmd, args, cwd) {
  return new Promise((resolve) => {
    let out = '';
    const child = spawn(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('error', (e) => resolve({ status: null, out: `${out}${e.message}\n` }));
    child.on('close', (status) => resolve({ status, out }));
  });
}

// The addons compile at once (npm runs the install step once; the small ones cost little beside libtorch's).
async function build(addon, gyp) {
  const dir = path.join(root, 'bindings', addon.name);
  const log = path.join(dir, 'install.log');
  const why = addon.missing();
  if (why) {
    say(`${addon.label} not built: ${why}; then \`npm rebuild mala-ts\`. Meanwhile ${addon.without}.`);
    return;
  }
  if (!gyp) {
    say(`${addon.label} not built: node-gyp not found (npm normally provides it); \`npm rebuild mala-ts\` with npm, or \`npx node-gyp rebuild\` in ${dir}. Meanwhile ${addon.without}.`);
    return;
  }
  const nodedir = nodeDir();
  const args = [...gyp.slice(1), 'rebuild', '--loglevel=error', ...(nodedir ? [`--nodedir=${nodedir}`] : [])];
  const t0 = Date.now();
  const r = await run(gyp[0], args, dir);
  fs.writeFileSync(log, `${gyp[0]} ${args.join(' ')}\n${r.out}\n`);
  const built = path.join(dir, 'build', 'Release', addon.file);
  if (r.status === 0 && fs.existsSync(built)) {
    say(`built the ${addon.label} in ${((Date.now() - t0) / 1000).toFixed(0)} s (${built})`);
  } else {
    const tail = r.out.trim().split('\n').slice(-8).join('\n');
    if (tail) console.log(tail);
    say(`${addon.label} build failed (log: ${log}); fix it and run \`npm rebuild mala-ts\`. Meanwhile ${addon.without}.`);
  }
}

async function main() {
  if (fs.existsSync(path.join(root, 'scripts', 'setup.sh'))) return; // a source checkout: `make setup` builds the addons
  if (process.env.MALA_TS_SKIP_ADDONS) {
    say('MALA_TS_SKIP_ADDONS is set: addons not built (`npm rebuild mala-ts` builds them)');
    return;
  }
  const gyp = nodeGypCommand();
  await Promise.all(addons.map((addon) => build(addon, gyp)));
}

main()
  .catch((e) => say(`addon build step failed: ${e && e.message ? e.message : e}; \`npm rebuild mala-ts\` retries. The package works without the addons.`))
  .finally(() => (process.exitCode = 0));
