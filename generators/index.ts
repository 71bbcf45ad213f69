/**
 * The composition root and programmatic API: every writing command, run through core's one runner
 * (core/generator/run.ts) with the planners generators lend each other. The CLI (cli.ts) and plop
 * (plopfile.ts) call these functions; generator modules load on demand, so `--help` stays fast.
 */
import { runGenerator } from './core/generator/run.js';
import type { Answers } from './core/generator/prompts.js';
import type { Generator, GeneratorResult, Planners, WriteOptions } from './core/generator/types.js';
import type { Output } from './core/report.js';
import type { AddAuthOptions } from './add-auth/index.js';
import type { AddHealthOptions } from './add-health/index.js';
import type { AddSyncOptions } from './add-sync/index.js';
import type { AddRealtimeOptions } from './add-realtime/index.js';
import type { CreateApiOptions } from './create-api/index.js';
import type { DesignDatabaseOptions } from './design-database/index.js';
import type { InitOptions } from './init/index.js';

/** Planners one generator lends another for a change that spans both. */
const planners: Planners = {
  api: async (...args) => (await import('./create-api/plan.js')).planCreateApi(...args),
  database: async (...args) => (await import('./design-database/index.js')).planTables(...args),
  followUps: async (...args) => (await import('./add-health/follow-ups.js')).healthFollowUps(...args),
};

export const runInit = async (options: InitOptions, output: Output) => runGenerator((await import('./init/index.js')).init, options, output, planners);
export const runCreateApi = async (options: CreateApiOptions, output: Output) =>
  runGenerator((await import('./create-api/index.js')).createApi, options, output, planners);
export const runDesignDatabase = async (options: DesignDatabaseOptions, output: Output) =>
  runGenerator((await import('./design-database/index.js')).designDatabase, options, output, planners);
export const runAddAuth = async (options: AddAuthOptions, output: Output) =>
  runGenerator((await import('./add-auth/index.js')).addAuth, options, output, planners);
export const runAddRealtime = async (options: AddRealtimeOptions, output: Output) =>
  runGenerator((await import('./add-realtime/index.js')).addRealtime, options, output, planners);
export const runAddHealth = async (options: AddHealthOptions, output: Output) =>
  runGenerator((await import('./add-health/index.js')).addHealth, options, output, planners);
export const runAddSync = async (options: AddSyncOptions, output: Output) =>
  runGenerator((await import('./add-sync/index.js')).addSync, options, output, planners);

/** The generators, in the order the interactive front lists them. */
export const GENERATORS = ['init', 'create-api', 'design-database', 'add-auth', 'add-realtime', 'add-health', 'add-sync'] as const;
export type GeneratorName = (typeof GENERATORS)[number];

/** A generator's module, loaded on demand. */
export async function loadGenerator(name: string): Promise<Generator<WriteOptions>> {
  switch (name) {
    case 'init':
      return (await import('./init/index.js')).init as Generator<WriteOptions>;
    case 'create-api':
      return (await import('./create-api/index.js')).createApi as Generator<WriteOptions>;
    case 'design-database':
      return (await import('./design-database/index.js')).designDatabase as Generator<WriteOptions>;
    case 'add-auth':
      return (await import('./add-auth/index.js')).addAuth as Generator<WriteOptions>;
    case 'add-realtime':
      return (await import('./add-realtime/index.js')).addRealtime as Generator<WriteOptions>;
    case 'add-health':
      return (await import('./add-health/index.js')).addHealth as Generator<WriteOptions>;
    case 'add-sync':
      return (await import('./add-sync/index.js')).addSync as Generator<WriteOptions>;
    default:
      throw new Error(`bug: no generator named ${name}`);
  }
}

/** Runs a generator from the interactive front's answers. */
export async function runGeneratorNamed(name: string, answers: Answers, output: Output): Promise<GeneratorResult> {
  const generator = await loadGenerator(name);
  return runGenerator(generator, generator.interactive.options(answers), output, planners);
}

export type { AddAuthOptions, AddHealthOptions, AddRealtimeOptions, AddSyncOptions, CreateApiOptions, DesignDatabaseOptions, InitOptions };
export type { GeneratorResult, WriteOptions };
export { BackdevError, type ErrorCode, type SourceLocation, type Warning } from './core/errors.js';
export { consoleOutput, memoryOutput, type Output } from './core/report.js';
