/**
 * Where mala-ts' own files are: the package root (the folder with mala-ts' package.json) found
 * from this module's location, so the same code works from the TypeScript sources of a checkout
 * (src/util/) and from the compiled JS of a checkout or an installed package (dist/src/util/).
 * Use it instead of `__dirname` + '..' or `require('../../package.json')`, whose depth differs
 * between the two.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

const PACKAGE_NAME = 'mala-ts';

let root: string | undefined;

function readName(dir: string): string | undefined {
  try {
    return (JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name?: string }).name;
  } catch {
    return undefined;
  }
}

/** The package root: the nearest folder above this module whose package.json is mala-ts'. */
export function packageRoot(): string {
  if (root) return root;
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    if (readName(dir) === PACKAGE_NAME) return (root = dir);
    if (path.dirname(dir) === dir) break;
  }
  throw new Error(`mala-ts: no package.json named ${PACKAGE_NAME} above ${__dirname} (a damaged installation?)`);
}

/** A path inside the package, e.g. packagePath('lammps-inputs', 'al-md.in'). */
export function packagePath(...parts: string[]): string {
  return path.join(packageRoot(), ...parts);
}

/** The package's version (package.json). */
export function packageVersion(): string {
  return (JSON.parse(fs.readFileSync(packagePath('package.json'), 'utf8')) as { version: string }).version;
}

/** The version, or undefined where package.json cannot be read (a bundled or stripped install). */
export function packageVersionOrUndefined(): string | undefined {
  try {
    return packageVersion();
  } catch {
    return undefined;
  }
}

/** "mala-ts <version>" as archives and reports record the program that wrote them. */
export function programName(): string {
  const v = packageVersionOrUndefined();
  return v === undefined ? 'mala-ts' : `mala-ts ${v}`;
}

/** True in a source checkout (src/ and the setup script are there); false in an installed package. */
export function isSourceCheckout(): boolean {
  return fs.existsSync(packagePath('scripts', 'setup.sh'));
}

/** How to (re)build the native addons here: `make setup` in a checkout, npm's rebuild in an installed package. */
export function addonBuildCommand(): string {
  return isSourceCheckout() ? "run 'make setup'" : "run 'npm rebuild mala-ts'";
}
