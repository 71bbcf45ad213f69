/**
 * The generated server as a new user meets it, on a spec whose document-level `security` covers every
 * operation, after `add-auth`: Swagger UI and the spec stay public, `.env` is read, configuration mistakes
 * are one readable block (no stack, exit 1), `--migrate` applies pending migrations at start and
 * `--pretty` prints readable logs at LOG_LEVEL.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { backdevInProcess, cleanup, installProject, runCommand, SPECS } from '../helpers.js';

const parent = mkdtempSync(path.join(os.tmpdir(), 'backdev-dev-'));
const dir = path.join(parent, 'api');
const TSX = 'node_modules/tsx/dist/cli.mjs';
const AUTH_ENV = {
  AUTH_JWT_SECRET: 'a-test-secret-that-is-long-enough-for-hs256!',
  AUTH_JWT_ISSUER: 'https://issuer.test',
  AUTH_JWT_AUDIENCE: 'notes-api',
};
/** The test process's environment without the variables the project reads, so .env decides. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (/^(AUTH_|DATABASE_URL$|PORT$|HOST$|LOG_LEVEL$|DATA_DIR$)/.test(k)) delete env[k];
  return { ...env, ...extra };
}
/** Runs `tsx src/server.ts` with exactly `env` (runCommand would merge in the test's environment). */
function server(args: string[], env: NodeJS.ProcessEnv, timeout = 60_000): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [TSX, 'src/server.ts', ...args], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeout);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, out, err });
    });
  });
}

beforeAll(async () => {
  expect((await backdevInProcess(['init', dir, '--spec', path.join(SPECS, 'auth.yaml')])).code).toBe(0);
  const add = await backdevInProcess(['add-auth'], dir);
  expect(add.stderr).not.toMatch(/error/i);
  expect(add.code).toBe(0);
  await installProject(dir);
}, 600_000);
afterAll(() => cleanup(parent));

it('the project type-checks', async () => {
  const tsc = await runCommand(process.execPath, [path.join(dir, 'node_modules/typescript/bin/tsc'), '--noEmit'], { cwd: dir });
  expect(tsc.stdout + tsc.stderr).toBe('');
}, 120_000);

it('serves Swagger UI and the spec without credentials while the operations stay secured', async () => {
  writeFileSync(
    path.join(dir, 'check-docs.mts'),
    `import { buildApp } from './src/app.js';
const out: Record<string, number> = {};
for (const docsPublic of [true, false]) {
  const app = await buildApp({ logger: false, docsPublic });
  for (const url of ['/docs', '/docs/json', '/docs/static/swagger-ui.css', '/notes']) out[\`\${docsPublic} \${url}\`] = (await app.inject({ url })).statusCode;
  await app.close();
}
console.log(JSON.stringify(out));
`,
  );
  const r = await runCommand(process.execPath, [TSX, 'check-docs.mts'], { cwd: dir, env: { ...AUTH_ENV, DATA_DIR: 'memory://', DATABASE_URL: '' }, timeout: 60_000 });
  expect(r.stderr).toBe('');
  expect(JSON.parse(r.stdout.trim())).toEqual({
    'true /docs': 200,
    'true /docs/json': 200,
    'true /docs/static/swagger-ui.css': 200,
    'true /notes': 401,
    // docsPublic: false puts the docs under the document's security.
    'false /docs': 401,
    'false /docs/json': 401,
    'false /docs/static/swagger-ui.css': 401,
    'false /notes': 401,
  });
}, 120_000);

it('prints configuration mistakes as one block, exit 1, no stack; reads .env', async () => {
  rmSync(path.join(dir, '.env'), { force: true });
  const missing = await server([], cleanEnv({ DATA_DIR: 'memory://' }));
  expect(missing.code).toBe(1);
  expect(missing.err).toContain('The server cannot start: its configuration is incomplete.');
  expect(missing.err).toMatch(/^ {2}- .*AUTH_JWT_SECRET/m);
  expect(missing.err).toMatch(/^ {2}- AUTH_JWT_ISSUER is not set/m);
  expect(missing.err).toMatch(/^ {2}- AUTH_JWT_AUDIENCE is not set/m);
  expect(missing.err).toContain('.env.example');
  expect(missing.err).not.toMatch(/\n\s+at /);

  // The AUTH_* variables now come from .env; the bad PORT and DATABASE_URL are named together.
  writeFileSync(path.join(dir, '.env'), `${Object.entries(AUTH_ENV).map(([k, v]) => `${k}=${v}`).join('\n')}\nPORT=eighty\nDATABASE_URL=mysql://localhost/x\n`);
  const bad = await server([], cleanEnv({ DATA_DIR: 'memory://' }));
  expect(bad.code).toBe(1);
  expect(bad.err).toContain('The server cannot start: its configuration is wrong.');
  expect(bad.err).toMatch(/^ {2}- PORT must be a port number/m);
  expect(bad.err).toMatch(/^ {2}- DATABASE_URL must start with postgres:\/\//m);
  expect(bad.err).not.toContain('AUTH_JWT');
  expect(bad.err).not.toMatch(/\n\s+at /);
}, 120_000);

it('applies pending migrations at start (--migrate), logs readably (--pretty) at LOG_LEVEL, and frees the database on exit', async () => {
  const port = 20_000 + Math.floor(Math.random() * 20_000);
  writeFileSync(path.join(dir, '.env'), `${Object.entries(AUTH_ENV).map(([k, v]) => `${k}=${v}`).join('\n')}\nPORT=${port}\nLOG_LEVEL=debug\n`);
  const child = spawn(process.execPath, [TSX, 'src/server.ts', '--migrate', '--pretty'], { cwd: dir, env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  try {
    for (let i = 0; i < 1200 && !output.includes('Server listening'); i++) {
      if (child.exitCode !== null) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(output).toContain('Server listening');
    expect(output).toContain('applied pending migrations');
    expect(output).toMatch(/auth_api_keys/);
    expect(output).toMatch(/\bINFO\b/); // pino-pretty, not JSON lines
    expect(output).not.toContain('"level":30');
    // The migrated tables are there: HTTP Basic credentials are checked against the users table (401, not 500).
    const basic = `Basic ${Buffer.from('nobody@example.com:password').toString('base64')}`;
    const res = await fetch(`http://127.0.0.1:${port}/notes/1`, { method: 'DELETE', headers: { authorization: basic } });
    expect(res.status).toBe(401);
    // LOG_LEVEL=debug: the refusal is logged at debug (the log is written by a worker: give it a moment).
    for (let i = 0; i < 50 && !/\bDEBUG\b/.test(output); i++) await new Promise((r) => setTimeout(r, 100));
    expect(output).toMatch(/\bDEBUG\b.*refused by auth/);
    // Held by the server (tsx runs it in a child process of its own, hence no pid to compare).
    expect(JSON.parse(readFileSync(path.join(dir, '.data/pglite.lock'), 'utf8'))).toMatchObject({ pid: expect.any(Number), command: 'src/server.ts --migrate --pretty' });
  } finally {
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  }
  // tsx watch exits with the server it runs, which may still be closing (the database, the trace file) on a
  // loaded machine: the lock goes with it (up to 30 s allowed).
  for (let i = 0; i < 300 && existsSync(path.join(dir, '.data/pglite.lock')); i++) await new Promise((r) => setTimeout(r, 100));
  expect(existsSync(path.join(dir, '.data/pglite.lock'))).toBe(false);
}, 240_000);
