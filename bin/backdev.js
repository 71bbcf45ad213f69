#!/usr/bin/env node
// backdev runs from its TypeScript sources: tsx compiles them on the fly, so a clone needs no build step.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../generators/cli.ts');
process.exitCode = await main();
