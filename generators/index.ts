/**
 * The composition root and programmatic API: every writing command, run through core's one runner
 * (core/generator/run.ts) with the planners generators lend each other. The CLI (cli.ts) and plop
 * (plopfile.ts) call these functions; generator modules load on demand, so `--help` stays fast.
 */
import { runGenerator } from './core/generator/run.js';
import type { Planners } from './core/generator/types.js';
import type { Output } from './core/report.js';
import type { AddAuthOptions } from './add-auth/index.js';
import type { CreateApiOptions } from './create-api/index.js';
import type { DesignDatabaseOptions } from './design-database/index.js';
import type { InitOptions } from './init/index.js';

/** Planners one generator lends another for a change that spans both. */
const planners: Planners = {
  api: async (...args) => (await import('./create-api/plan.js')).planCreateApi(...args),
  database: async (...args) => (await import('./design-database/index.js')).planTables(...args),
};

export const runInit = async (options: InitOptions, output: Output) => runGenerator((await import('./init/index.js')).init, options, output, planners);
export const runCreateApi = async (options: CreateApiOptions, output: Output) =>
  runGenerator((await import('./create-api/index.js')).createApi, options, output, planners);
export const runDesignDatabase = async (options: DesignDatabaseOptions, output: Output) =>
  runGenerator((await import('./design-database/index.js')).designDatabase, options, output, planners);
export const runAddAuth = async (options: AddAuthOptions, output: Output) =>
  runGenerator((await import('./add-auth/index.js')).addAuth, options, output, planners);

export type { AddAuthOptions, CreateApiOptions, DesignDatabaseOptions, InitOptions };
export type { GeneratorResult, WriteOptions } from './core/generator/types.js';
export { BackdevError, type ErrorCode, type SourceLocation, type Warning } from './core/errors.js';
export { consoleOutput, memoryOutput, type Output } from './core/report.js';
