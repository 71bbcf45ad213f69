#!/usr/bin/env node
// The installed package runs its compiled code (dist/) with plain node. A clone, where the TypeScript
// sources sit beside this file, runs them through tsx instead, so development needs no build step;
// BACKDEV_RUN_DIST=1 makes a clone run its dist/ (after `npm run build`) as the installed package does.
import { existsSync } from 'node:fs';

const sources = new URL('../generators/cli.ts', import.meta.url);
let cli;
if (existsSync(sources) && process.env.BACKDEV_RUN_DIST !== '1') {
  const { register } = await import('tsx/esm/api');
  register();
  cli = await import(sources.href);
} else {
  cli = await import('../dist/generators/cli.js');
}
process.exitCode = await cli.main();
