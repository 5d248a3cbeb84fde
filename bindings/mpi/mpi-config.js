// Compiler and linker flags of the MPI the addon links (for binding.gyp): `mpicc --showme`
// (Open MPI) or `mpicc -show` (MPICH), else $MALA_TS_MPI_INCLUDE / $MALA_TS_MPI_LIBS.
'use strict';
const { execFileSync } = require('node:child_process');
const mpicc = process.env.MPICC || 'mpicc';
function run(args) {
  try {
    return execFileSync(mpicc, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return undefined;
  }
}
function words(s) {
  return s ? s.split(/\s+/).filter(Boolean) : [];
}
const what = process.argv[2];
let compile = run(['--showme:compile']);
let link = run(['--showme:link']);
if (compile === undefined) {
  // MPICH: `mpicc -show` prints the whole command line
  const all = words(run(['-show']));
  compile = all.filter((w) => w.startsWith('-I')).join(' ');
  link = all.filter((w) => w.startsWith('-L') || w.startsWith('-l') || w.startsWith('-Wl')).join(' ');
}
if (process.env.MALA_TS_MPI_INCLUDE) compile = `-I${process.env.MALA_TS_MPI_INCLUDE}`;
if (process.env.MALA_TS_MPI_LIBS) link = process.env.MALA_TS_MPI_LIBS;
if (what === 'include') {
  process.stdout.write(words(compile).filter((w) => w.startsWith('-I')).map((w) => w.slice(2)).join(' '));
} else if (what === 'libs') {
  const libs = words(link);
  // keep the library folder on the runtime search path too
  const rpath = libs.filter((w) => w.startsWith('-L')).map((w) => `-Wl,-rpath,${w.slice(2)}`);
  process.stdout.write([...libs, ...rpath].join(' '));
} else {
  process.stderr.write('usage: node mpi-config.js include|libs\n');
  process.exit(2);
}
