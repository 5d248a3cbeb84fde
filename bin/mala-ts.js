#!/usr/bin/env node
// Entry point of the `mala-ts` command: TypeScript sources run through tsx's CommonJS hook.
require('tsx/cjs');
require('../src/cli/main.ts');
