/**
 * `backdev/runtime/server`: starts a generated project's server the way `src/server.ts` asks, so that the
 * project's own file stays a few lines and improvements arrive with backdev updates.
 *
 * - Variables come from the environment and from `.env` when there is one (the environment wins).
 * - `PORT` (default 3000), `HOST` (default 127.0.0.1; 0.0.0.0 in a container), `LOG_LEVEL` (default info).
 * - `--migrate` (npm run dev, npm start): pending migrations are applied before the app loads, so a
 *   restart (tsx watch) picks up new ones.
 * - `--pretty` (npm run dev): logs for people, through pino-pretty (a devDependency of the project).
 * - A configuration mistake (a bad PORT, LOG_LEVEL or DATABASE_URL, missing AUTH_* variables), a database
 *   another process holds, a failed migration or a taken port is printed as one block, without a stack,
 *   and the process exits with status 1.
 * - `tracing` (on in projects made by `backdev init`): a span per request, database statement and traced
 *   upstream call, written to `.data/traces.jsonl` (or sent over OTLP when OTEL_EXPORTER_OTLP_ENDPOINT is
 *   set); `TRACING=off` turns it off without a code change, `TRACING=on` on. Unset, it is on unless
 *   NODE_ENV is production and no OTLP endpoint is set. See docs/tracing.md.
 * - SIGINT / SIGTERM close the app (and so the database, and the tracing, which writes out its queue) before
 *   exiting.
 */
import { existsSync, readFileSync } from 'node:fs';
import { parseEnv } from 'node:util';
import type { FastifyInstance, FastifyServerOptions } from 'fastify';
import { databaseConfigProblems, DatabaseLockedError, migrateOnStart } from '../db/index.js';
import { TRACING_CONTEXT_MODES } from '../tracing/constants.js';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** What `startServer` hands the app when it traces: `register(app)` adds the request spans (once per app). */
export interface AppTracing {
  register(app: FastifyInstance): void;
}

/** The tracing settings a server may fix in code; the rest come from the environment (docs/tracing.md). */
export interface ServerTracingOptions {
  /** `service.name` of the spans (OTEL_SERVICE_NAME wins when set). */
  serviceName?: string | undefined;
  /** The JSONL file (default `.data/traces.jsonl`, or BACKDEV_TRACE_FILE); `false`: none. */
  file?: string | false | undefined;
  /** Share of new traces recorded, 0..1 (default 1). */
  sampleRatio?: number | undefined;
}

export interface StartServerOptions {
  /**
   * Builds the app. Import the app module inside it (`async (o) => (await import('./app.js')).buildApp(o)`):
   * modules that read the environment when they load then see `.env`. With tracing on, `options.tracing`
   * is set: register it first thing on the new app (`options.tracing?.register(app)`), so that the app's own
   * hooks run inside the request span; the server registers it after `buildApp` otherwise.
   */
  buildApp: (options: { logger: FastifyServerOptions['logger']; tracing?: AppTracing }) => Promise<FastifyInstance>;
  /**
   * Trace requests (backdev/runtime/tracing; needs `@opentelemetry/api` in the project). Default false;
   * projects made by `backdev init` pass it. `TRACING=off` / `on` in the environment decide; unset, it is
   * on unless NODE_ENV is production without OTEL_EXPORTER_OTLP_ENDPOINT.
   */
  tracing?: boolean | ServerTracingOptions | undefined;
  /** Command-line flags (default: `process.argv.slice(2)`). */
  argv?: readonly string[];
  /** The environment (default `process.env`; `.env` is loaded into it). */
  env?: NodeJS.ProcessEnv;
  /** The `.env` file (default `.env` in the current folder; `false`: none). */
  envFile?: string | false;
  /** The migrations folder (default `db/migrations`). */
  migrations?: string;
}

/** A startup failure: what went wrong (one line each) and what to do. Printed as one block. */
export class StartupError extends Error {
  constructor(
    readonly title: string,
    readonly problems: readonly string[],
    readonly hint: string,
  ) {
    super(`${title}\n${problems.map((p) => `  - ${p}`).join('\n')}\n${hint}`);
    this.name = 'StartupError';
  }
}

const CONFIG_HINT = 'Set them in .env (copy .env.example) or in the environment, then start the server again.';

/** Errors that list configuration problems (AuthConfigError and the like). */
function problemsOf(err: unknown): readonly string[] | undefined {
  const problems = (err as { problems?: unknown } | null)?.problems;
  return Array.isArray(problems) && problems.every((p) => typeof p === 'string') ? problems : undefined;
}

const TRACING_VALUES: Record<string, boolean> = { on: true, true: true, '1': true, off: false, false: false, '0': false };

/** What is wrong with PORT, HOST, LOG_LEVEL, TRACING, BACKDEV_TRACE_CONTEXT and DATABASE_URL, or the settings to use. */
export function serverSettings(env: NodeJS.ProcessEnv): { port: number; host: string; level: string; tracing: boolean; problems: string[] } {
  const problems: string[] = [];
  const portText = env.PORT?.trim() || '3000';
  const port = Number(portText);
  if (!/^\d{1,5}$/.test(portText) || port > 65535) problems.push(`PORT must be a port number from 0 to 65535 (it is "${portText}")`);
  const host = env.HOST?.trim() || '127.0.0.1';
  const level = env.LOG_LEVEL?.trim().toLowerCase() || 'info';
  if (!(LOG_LEVELS as readonly string[]).includes(level)) problems.push(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')} (it is "${level}")`);
  // Unset: on, except in production without a collector, where a file that grows like a log and the cost
  // per request are not what anyone asked for (docs/tracing.md).
  const tracingText = env.TRACING?.trim().toLowerCase();
  const tracing = tracingText ? TRACING_VALUES[tracingText] : env.NODE_ENV !== 'production' || Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim());
  if (tracing === undefined) problems.push(`TRACING must be on or off (it is "${env.TRACING}")`);
  const contextMode = env.BACKDEV_TRACE_CONTEXT;
  if (contextMode && !(TRACING_CONTEXT_MODES as readonly string[]).includes(contextMode)) {
    problems.push(`BACKDEV_TRACE_CONTEXT must be ${TRACING_CONTEXT_MODES.join(' or ')} (it is "${contextMode}")`);
  }
  problems.push(...databaseConfigProblems(env));
  return { port, host, level, tracing: tracing ?? true, problems };
}

/**
 * Loads `.env`, checks the configuration, applies migrations (`--migrate`), builds the app and listens.
 * Resolves with the listening app; throws a `StartupError` for the failures listed above.
 */
export async function listen(options: StartServerOptions): Promise<FastifyInstance> {
  const env = options.env ?? process.env;
  const flags = new Set(options.argv ?? process.argv.slice(2));
  const envFile = options.envFile ?? '.env';
  if (envFile !== false && existsSync(envFile)) {
    // What the environment already sets wins, as with Node's --env-file.
    for (const [k, v] of Object.entries(parseEnv(readFileSync(envFile, 'utf8')))) env[k] ??= v;
  }
  const { port, host, level, tracing: tracingOn, problems } = serverSettings(env);
  if (problems.length) throw new StartupError('The server cannot start: its configuration is wrong.', problems, CONFIG_HINT);

  let migrated: string[] = [];
  if (flags.has('--migrate')) {
    try {
      migrated = await migrateOnStart({ folder: options.migrations ?? 'db/migrations', url: env.DATABASE_URL, dataDir: env.DATA_DIR ?? '.data/pglite' });
    } catch (err) {
      if (err instanceof DatabaseLockedError) throw new StartupError('The server cannot start: its database is in use.', [err.message], 'Stop the other process, then start again.');
      const cause = (err as Error).cause as { message?: string } | undefined;
      throw new StartupError(
        'The server cannot start: pending migrations could not be applied.',
        [(err as Error).message, ...(cause?.message && !(err as Error).message.includes(cause.message) ? [cause.message] : [])],
        'Fix the migration in db/migrations (or the database it runs on), then start again.',
      );
    }
  }

  const tracing = options.tracing && tracingOn ? await startTracing(options.tracing, env) : undefined;
  const pretty = flags.has('--pretty') ? { transport: { target: 'pino-pretty', options: { translateTime: 'HH:MM:ss.l', ignore: 'pid,hostname' } } } : {};
  const app = await options.buildApp({ logger: { level, ...pretty }, ...(tracing ? { tracing } : {}) }).catch(async (err: unknown) => {
    await tracing?.close();
    const list = problemsOf(err);
    if (list) throw new StartupError('The server cannot start: its configuration is incomplete.', list, CONFIG_HINT);
    throw err;
  });
  if (tracing) {
    tracing.register(app); // nothing when the app registered it itself
    app.addHook('onClose', () => tracing.close());
    // The context manager says whether callbacks of timers and emitters stay in a request's trace (docs/tracing.md).
    app.log.info({ traces: tracing.otlpUrl ?? tracing.file, context: tracing.contextManager }, 'tracing requests (TRACING=off turns it off)');
  }
  if (options.tracing && !tracingOn && !env.TRACING?.trim()) {
    app.log.info('tracing off: NODE_ENV is production and OTEL_EXPORTER_OTLP_ENDPOINT is not set (TRACING=on writes .data/traces.jsonl)');
  }
  if (migrated.length) app.log.info({ migrations: migrated }, 'applied pending migrations');
  try {
    await app.listen({ port, host });
  } catch (err) {
    await app.close();
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      throw new StartupError('The server cannot start: the port is taken.', [`${host}:${port} is in use by another process`], 'Stop that process, or set PORT to another port.');
    }
    throw err;
  }
  return app;
}

/** Starts a tracing instance for the server (the tracing module is loaded only when tracing is on). */
async function startTracing(settings: true | ServerTracingOptions, env: NodeJS.ProcessEnv) {
  let mod: typeof import('../tracing/index.js');
  try {
    mod = await import('../tracing/index.js');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ERR_MODULE_NOT_FOUND') throw err;
    throw new StartupError(
      'The server cannot start: tracing is on but @opentelemetry/api is not installed.',
      [(err as Error).message.split('\n')[0]!],
      'Run npm install @opentelemetry/api@~1.9, or set TRACING=off.',
    );
  }
  const given = settings === true ? {} : settings;
  const tracing = mod.createTracing({
    env,
    serviceName: env.OTEL_SERVICE_NAME || given.serviceName,
    ...(given.file !== undefined ? { file: given.file } : {}),
    ...(given.sampleRatio !== undefined ? { sampleRatio: given.sampleRatio } : {}),
  });
  await tracing.start();
  return tracing;
}

/**
 * `listen`, then close the app on SIGINT / SIGTERM. A `StartupError` is printed as one block and the
 * process exits with status 1; any other error is rethrown (a bug: its stack matters).
 */
export async function startServer(options: StartServerOptions): Promise<FastifyInstance> {
  let app: FastifyInstance;
  try {
    app = await listen(options);
  } catch (err) {
    if (!(err instanceof StartupError)) throw err;
    process.stderr.write(`\n${err.message}\n\n`);
    process.exit(1);
  }
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      app.log.info({ signal }, 'shutting down');
      app.close().then(
        () => process.exit(0),
        () => process.exit(1),
      );
    });
  }
  return app;
}
