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
 * - SIGINT / SIGTERM close the app (and so the database) before exiting.
 */
import { existsSync, readFileSync } from 'node:fs';
import { parseEnv } from 'node:util';
import type { FastifyInstance, FastifyServerOptions } from 'fastify';
import { databaseConfigProblems, DatabaseLockedError, migrateOnStart } from '../db/index.js';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export interface StartServerOptions {
  /**
   * Builds the app. Import the app module inside it (`async (o) => (await import('./app.js')).buildApp(o)`):
   * modules that read the environment when they load then see `.env`.
   */
  buildApp: (options: { logger: FastifyServerOptions['logger'] }) => Promise<FastifyInstance>;
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

/** What is wrong with PORT, HOST, LOG_LEVEL and DATABASE_URL, or the settings to use. */
export function serverSettings(env: NodeJS.ProcessEnv): { port: number; host: string; level: string; problems: string[] } {
  const problems: string[] = [];
  const portText = env.PORT?.trim() || '3000';
  const port = Number(portText);
  if (!/^\d{1,5}$/.test(portText) || port > 65535) problems.push(`PORT must be a port number from 0 to 65535 (it is "${portText}")`);
  const host = env.HOST?.trim() || '127.0.0.1';
  const level = env.LOG_LEVEL?.trim().toLowerCase() || 'info';
  if (!(LOG_LEVELS as readonly string[]).includes(level)) problems.push(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')} (it is "${level}")`);
  problems.push(...databaseConfigProblems(env));
  return { port, host, level, problems };
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
  const { port, host, level, problems } = serverSettings(env);
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

  const pretty = flags.has('--pretty') ? { transport: { target: 'pino-pretty', options: { translateTime: 'HH:MM:ss.l', ignore: 'pid,hostname' } } } : {};
  const app = await options.buildApp({ logger: { level, ...pretty } }).catch((err: unknown) => {
    const list = problemsOf(err);
    if (list) throw new StartupError('The server cannot start: its configuration is incomplete.', list, CONFIG_HINT);
    throw err;
  });
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
