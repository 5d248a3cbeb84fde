#!/usr/bin/env node
// Entry point of the `mala-ts` command. An installed package runs the compiled JS in dist/.
// A source checkout runs dist/ only when `npm run build` made it from the current sources
// (dist/.built is newer than every file under src/ and bindings/); otherwise it runs the
// TypeScript sources through tsx, so it never runs stale JS (a terminal gets a note).
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const compiled = path.join(root, 'dist', 'src', 'cli', 'main.js');
const sourceDirs = ['src', 'bindings'].map((d) => path.join(root, d));
const buildInputs = ['tsconfig.json', 'tsconfig.build.json'].map((f) => path.join(root, f));

function mtimeMs(file) {
  try {
    return fs.statSync(file).mtimeMs;
  } catch {
    return undefined;
  }
}

/** Newest modification time of the .ts files (and folders: a deleted file touches its folder) under dir. */
function newestSourceMs(dir) {
  let newest = mtimeMs(dir);
  if (newest === undefined) return 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    if (e.name === 'build' || e.name === 'node_modules') continue; // addon build output, not a source
    const p = path.join(dir, e.name);
    if (e.isDirectory()) newest = Math.max(newest, newestSourceMs(p));
    else if (e.name.endsWith('.ts')) newest = Math.max(newest, mtimeMs(p) ?? 0);
  }
  return newest;
}

function distIsCurrent() {
  const built = mtimeMs(path.join(root, 'dist', '.built'));
  if (built === undefined || !fs.existsSync(compiled)) return false;
  const newest = Math.max(...sourceDirs.map(newestSourceMs), ...buildInputs.map((f) => mtimeMs(f) ?? 0));
  return newest <= built;
}

const checkout = fs.existsSync(path.join(root, 'src', 'cli', 'main.ts'));
if (!checkout || distIsCurrent()) {
  require(compiled);
} else {
  let tsx;
  try {
    tsx = require.resolve('tsx/cjs');
  } catch {
    process.stderr.write('mala-ts: dist/ is missing or older than src/, and tsx is not installed: run `npm run build`\n');
    process.exit(1);
  }
  if (process.stderr.isTTY && fs.existsSync(compiled)) process.stderr.write('mala-ts: note: dist/ is older than src/; running the sources through tsx (`npm run build` for the fast start)\n');
  require(tsx);
  require('../src/cli/main.ts');
}
