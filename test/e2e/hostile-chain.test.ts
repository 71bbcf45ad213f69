/**
 * The whole chain on a hostile spec (test/fixtures/specs/hostile.yaml: payloads in names, descriptions,
 * enum values, defaults, paths, security scheme keys, header / query / cookie names, scopes, URLs and
 * bearer formats): `init --spec` → `add-auth --accounts` → `design-database --all` → `create-api --endpoint`
 * → `npm install` → the project's own tsc, the project's own tests, `migrate up` and the server over real
 * HTTP. Nothing from the spec runs: the payloads would exit the process, set a global or write a
 * `PWNED-*` file in the working folder, and none of that happens.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backdev, cleanup, type CommandResult, installProject, REPO, runCommand, type Server, SPECS, startServer, stopServer } from '../helpers.js';

/** `--fields` enum values are limited to `[A-Za-z0-9_.-]`: these are the ones that read like types or keys. */
const FIELDS = 'name:string:unique kind:enum(Date|string|null|number|__proto__|constructor) mood:enum(a.b|c-d|_e):default=c-d note:text?';
const AUTH_ENV = {
  AUTH_JWT_SECRET: 'a-test-secret-that-is-long-enough-for-hs256!',
  AUTH_JWT_ISSUER: 'https://issuer.test',
  AUTH_JWT_AUDIENCE: 'hostile-api',
  AUTH_JWT_ALGORITHMS: 'HS256',
};
const parent = mkdtempSync(path.join(os.tmpdir(), 'backdev-hostile-'));
const dir = path.join(parent, 'hostile');
afterAll(() => {
  if (!process.env.BACKDEV_KEEP_TEMP) cleanup(parent);
});

/** Marker files a payload would have written (generators run in `dir`, the tests and server too). */
function markers(): string[] {
  const found: string[] = [];
  for (const d of [parent, dir, path.join(dir, 'test'), REPO]) {
    if (!existsSync(d)) continue;
    for (const f of readdirSync(d)) if (f.startsWith('PWNED')) found.push(path.join(d, f));
  }
  return found;
}

const ok = (r: CommandResult, what: string) => expect(r.code, `${what}\n${r.stdout}\n${r.stderr}`).toBe(0);

beforeAll(async () => {
  ok(await backdev(['init', dir, '--spec', path.join(SPECS, 'hostile.yaml')], parent), 'init');
  ok(await backdev(['add-auth', '--accounts'], dir), 'add-auth --accounts');
  ok(await backdev(['design-database', '--all'], dir), 'design-database --all');
  ok(await backdev(['create-api', '--endpoint', 'things', '--fields', FIELDS], dir), 'create-api --endpoint');
  expect(markers()).toEqual([]);
  await installProject(dir);
});

describe('a project from a hostile spec, through every generator', () => {
  it('type-checks with its own TypeScript', async () => {
    const tsc = await runCommand(process.execPath, [path.join(dir, 'node_modules/typescript/bin/tsc'), '--noEmit'], { cwd: dir });
    expect(tsc.stdout + tsc.stderr).toBe('');
  }, 120_000);

  it('passes its own tests', async () => {
    const tests = await runCommand('npm', ['test'], {
      cwd: dir,
      env: { NO_COLOR: '1', FORCE_COLOR: '0', DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none' },
    });
    expect(tests.code, tests.stdout + tests.stderr).toBe(0);
    expect(tests.stdout).toMatch(/things\.db\.test\.ts \(\d+ tests?\)/);
    expect(markers()).toEqual([]);
  }, 300_000);

  it('migrates and serves: public routes answer, secured ones ask for credentials, accounts work', async () => {
    let server: Server | undefined;
    try {
      // --migrate: the pending migrations are applied as the server starts (npm start does the same).
      server = await startServer(dir, { DATABASE_URL: '', ...AUTH_ENV }, ['--migrate']);
      const call = async (method: string, url: string, body?: unknown, headers: Record<string, string> = {}) => {
        const res = await fetch(server!.url + url, {
          method,
          headers: { ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        });
        const text = await res.text();
        return { status: res.status, type: res.headers.get('content-type') ?? '', body: text ? (JSON.parse(text) as Record<string, unknown>) : undefined };
      };
      // The served document is the spec, hostile strings and all, as data.
      const docs = await call('GET', '/docs/json');
      expect(docs.status).toBe(200);
      const schemes = (docs.body!.components as { securitySchemes: Record<string, unknown> }).securitySchemes;
      expect(Object.keys(schemes)).toContain("basic'\"`");
      expect(Object.keys(schemes)).toContain('bearer */\nAUTH_EVIL=1\n');

      // The resource: enum values that read like types and keys are values.
      const created = await call('POST', '/things', { name: 'one', kind: 'Date' });
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      expect(created.body).toMatchObject({ name: 'one', kind: 'Date', mood: 'c-d' });
      expect((await call('POST', '/things', { name: 'two', kind: '__proto__', mood: 'a.b' })).status).toBe(201);
      expect((await call('POST', '/things', { name: 'three', kind: 'Date | string' })).status).toBe(400);
      const list = await call('GET', '/things');
      expect(list.status).toBe(200);
      expect((list.body!.items as { name: string }[]).map((t) => t.name).sort()).toEqual(['one', 'two']);

      // Secured by the hostile schemes: no credentials → 401; a key under the hostile query name is checked.
      expect((await call('GET', '/1st/abc')).status).toBe(401);
      const query = new URLSearchParams({ "q'+globalThis.process.exit`8`+'|~$*": 'not-a-key' });
      expect((await call('GET', `/1st/abc?${query}`)).status).toBe(401);
      expect((await call('GET', '/1st/abc', undefined, { cookie: "c`+globalThis.process.exit`9`+`'=nope" })).status).toBe(401);

      // The local accounts: register, log in.
      const credentials = { email: 'ada@example.com', password: 'correct horse battery' };
      expect((await call('POST', '/auth/register', credentials)).status).toBe(201);
      const login = await call('POST', '/auth/login', credentials);
      expect(login.status).toBe(200);
      expect(typeof login.body!.accessToken).toBe('string');

      expect(server.child.exitCode).toBeNull();
      expect(server.output()).not.toMatch(/PWNED|__backdevPwned =/);
    } finally {
      if (server) await stopServer(server);
    }
    expect(markers()).toEqual([]);
  }, 180_000);

  it('wrote every spec string of the security schemes as data', () => {
    const auth = readFileSync(path.join(dir, 'src/auth.ts'), 'utf8');
    // The verifiers: fixed calls; every name only inside string literals (a quote is escaped, never closing one).
    expect(auth).toMatch(/bearerAuth: bearerScheme\(accounts\.verifier\)/);
    expect(auth).not.toMatch(/^\s*(x|y):/m);
    const env = readFileSync(path.join(dir, '.env.example'), 'utf8');
    expect(env.split('\n').filter((l) => /^[^#\s]/.test(l)).every((l) => /^AUTH_[A-Z_]+=/.test(l))).toBe(true);
  });
});
