/** The python3 with ASE that tests drive ASE through (same rule as test/workflow/pw-dropin.test.ts). */
import execa from 'execa';

let found: string | undefined;

/** A python3 that has ASE (Debian's python3-ase lives in /usr/bin/python3, which a pyenv shim may hide); throws when there is none. */
export function pythonWithAse(): string {
  if (found) return found;
  for (const py of [process.env.MALA_TS_PYTHON, 'python3', '/usr/bin/python3'].filter(Boolean) as string[]) {
    if (execa.sync(py, ['-c', 'import ase'], { reject: false }).exitCode === 0) return (found = py);
  }
  throw new Error('no python3 with ASE found: install Debian python3-ase (or set MALA_TS_PYTHON)');
}
