#!/usr/bin/env node
// The installed package runs its compiled code (dist/) with plain node. A clone, where the TypeScript
// sources sit beside this file, runs them through tsx instead, so development needs no build step.
import { existsSync } from 'node:fs';

const sources = new URL('../generators/cli.ts', import.meta.url);
let cli;
if (existsSync(sources)) {
  const { register } = await import('tsx/esm/api');
  register();
  cli = await import(sources.href);
} else {
  cli = await import('../dist/generators/cli.js');
}
process.exitCode = await cli.main();
