#!/usr/bin/env node
// `npm run build`: compiles src/ and bindings/ to dist/ (CommonJS + .d.ts; incremental, so a
// second build takes seconds), then stamps dist/.built with the time the build *started*: a
// source saved during the build is newer than the stamp, so bin/mala-ts.js never trusts JS that
// may predate it (it runs the sources through tsx instead).
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const root = path.join(__dirname, '..');
const stamp = path.join(root, 'dist', '.built');
const startedAt = new Date();
fs.rmSync(stamp, { force: true });
const tsc = require.resolve('typescript/bin/tsc', { paths: [root] });
const r = spawnSync(process.execPath, [tsc, '-p', path.join(root, 'tsconfig.build.json')], { stdio: 'inherit' });
if (r.status !== 0) process.exit(r.status ?? 1);
fs.writeFileSync(stamp, `${startedAt.toISOString()}\n`);
fs.utimesSync(stamp, startedAt, startedAt);
