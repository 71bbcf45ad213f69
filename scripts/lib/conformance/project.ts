/**
 * Generated projects for conformance runs, and their servers. Projects are made under the repo's `.tmp/`
 * with `backdev` linked in (as `npm install` would through the project's `file:` dependency), so they resolve
 * fastify, kysely and PGlite from the repo without an install. A server runs in its own process (tsx), built
 * with the project's own `buildApp`, its stub handlers replaced by ones that answer schema-valid samples.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCreateApi } from '../../../generators/index.js';
import { runInit } from '../../../generators/index.js';
import { runMigrate } from '../../../commands/migrate/run.js';
import { memoryOutput } from '../../../generators/core/report.js';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const TSX = path.join(REPO, 'node_modules/tsx/dist/cli.mjs');

export const CRUD_ENDPOINTS: readonly { endpoint: string; fields: string }[] = [
  { endpoint: 'products', fields: 'name:string:unique price:number stock:integer? category:enum(a|b) released:date?' },
  { endpoint: 'reviews', fields: 'product:ref(Product) rating:integer body:text?' },
];

/** A folder for projects under the repo's `.tmp/` (so they resolve the repo's node_modules). */
export function projectsDir(name: string): string {
  const dir = path.join(REPO, '.tmp', name);
  mkdirSync(dir, { recursive: true });
  return dir;
}

function linkBackdev(dir: string): void {
  mkdirSync(path.join(dir, 'node_modules'), { recursive: true });
  symlinkSync(REPO, path.join(dir, 'node_modules', 'backdev'), 'dir');
}

/** `backdev init` (the example pet store, or `spec`). */
export async function initProject(dir: string, spec?: string): Promise<void> {
  await runInit({ dir, spec }, memoryOutput());
  linkBackdev(dir);
}

/** `init` + two related `--endpoint` resources (products; reviews with `product:ref(Product)`). */
export async function crudProject(dir: string): Promise<void> {
  await initProject(dir);
  for (const { endpoint, fields } of CRUD_ENDPOINTS) await runCreateApi({ endpoint, fields, cwd: dir }, memoryOutput());
}

/** `backdev migrate up` in the project, against `databaseUrl` (PGlite in `.data/pglite` when undefined). */
export async function migrate(dir: string, databaseUrl: string | undefined): Promise<void> {
  await runMigrate({ action: 'up', cwd: dir, databaseUrl: databaseUrl ?? '' }, memoryOutput());
}

/** The bundled spec the project serves (`src/generated/openapi.gen.json`). */
export function projectSpec(dir: string): Record<string, unknown> {
  return JSON.parse(readFileSync(path.join(dir, 'src/generated/openapi.gen.json'), 'utf8')) as Record<string, unknown>;
}

export interface RunningServer {
  url: string;
  output: () => string;
  stop: () => Promise<void>;
}

const ENTRY = 'conformance-server.ts';

/** Starts the project's app (its own `buildApp`) with sample handlers in a child process. */
export async function startProjectServer(dir: string, options: { seed: number; databaseUrl?: string; keepCrud?: boolean }): Promise<RunningServer> {
  const handlersModule = path.join(REPO, 'scripts/lib/conformance/handlers.ts');
  writeFileSync(
    path.join(dir, ENTRY),
    [
      `import { readFileSync } from 'node:fs';`,
      `import { buildApp } from './src/app.js';`,
      `import { handlers } from './src/generated/routes.gen.js';`,
      `import { sampleHandlers } from ${JSON.stringify(handlersModule)};`,
      `const spec = JSON.parse(readFileSync(new URL('./src/generated/openapi.gen.json', import.meta.url), 'utf8'));`,
      `const overrides = sampleHandlers(spec, handlers, { seed: ${options.seed}, keepCrud: ${options.keepCrud !== false} });`,
      `const app = await buildApp({ logger: { level: 'error' }, docs: false, handlers: overrides as never });`,
      `await app.listen({ port: 0, host: '127.0.0.1' });`,
      `const address = app.server.address();`,
      `process.stdout.write('CONFORMANCE_LISTENING ' + (typeof address === 'object' && address ? address.port : 0) + '\\n');`,
      `process.once('SIGTERM', () => { app.close().then(() => process.exit(0), () => process.exit(1)); });`,
      '',
    ].join('\n'),
  );
  let output = '';
  const child: ChildProcess = spawn(process.execPath, [TSX, ENTRY], {
    cwd: dir,
    env: { ...process.env, DATABASE_URL: options.databaseUrl ?? '', NODE_ENV: 'production' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const append = (d: Buffer) => {
    output += d.toString();
    if (output.length > 200_000) output = output.slice(-100_000);
  };
  child.stderr!.on('data', append);
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start in 60 s:\n${output}`)), 60_000);
    child.stdout!.on('data', (d: Buffer) => {
      append(d);
      const m = /CONFORMANCE_LISTENING (\d+)/.exec(output);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code}:\n${output}`));
    });
  });
  return {
    url: `http://127.0.0.1:${port}`,
    output: () => output,
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** A throwaway database on the PostgreSQL server at `base`; `drop` removes it. */
export async function throwawayDatabase(base: string, prefix: string): Promise<{ url: string; drop: () => Promise<void> }> {
  const pg = (await import('pg')).default;
  const name = `${prefix}_${process.pid}_${Date.now()}_${Math.floor(Math.random() * 1e6)}`;
  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  await admin.query(`create database ${name}`);
  const url = new URL(base);
  url.pathname = `/${name}`;
  return {
    url: url.href,
    drop: async () => {
      try {
        await admin.query(`drop database if exists ${name} with (force)`);
      } finally {
        await admin.end();
      }
    },
  };
}
