/**
 * add-auth end to end: a project from a spec with bearer, OAuth2 scopes, API keys (header and query), HTTP
 * Basic and an OR-of-AND requirement, plus `--accounts`; served over real HTTP on a fresh PostgreSQL
 * database, and attacked. Operations without an implementation answer 501, so 501 means "let through".
 */
import { createHmac } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKeyStore, hashPassword } from '../../runtime/auth/index.js';
import { backdev, cleanup, runCommand, SPECS, startServer, stopServer, type Server } from '../helpers.js';

const SECRET = 'a-test-secret-that-is-long-enough-for-hs256!';
const ISSUER = 'https://issuer.test';
const AUDIENCE = 'notes-api';
const parent = mkdtempSync(path.join(os.tmpdir(), 'backdev-auth-'));
const dir = path.join(parent, 'secured');
const base = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const dbName = `backdev_auth_${process.pid}_${Date.now()}`;
const dbUrl = Object.assign(new URL(base), { pathname: `/${dbName}` }).href;
let admin: pg.Client;
let db: Kysely<any>;
let server: Server;
let apiKey: string;
let revokedKey: string;

const b64 = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');
/** An HS256 JWT signed with `secret` (or unsigned for alg none), built by hand so any claim can be wrong. */
function jwt(claims: Record<string, unknown>, options: { secret?: string; alg?: string; header?: Record<string, unknown> } = {}): string {
  // typ at+jwt (RFC 9068): what the accounts verifier behind bearerAuth requires of access tokens.
  const header = { alg: options.alg ?? 'HS256', typ: 'at+jwt', ...options.header };
  const now = Math.floor(Date.now() / 1000);
  const body = { iss: ISSUER, aud: AUDIENCE, sub: 'user-1', iat: now, exp: now + 300, ...claims };
  const input = `${b64(header)}.${b64(body)}`;
  if (header.alg === 'none') return `${input}.`;
  return `${input}.${createHmac('sha256', options.secret ?? SECRET).update(input).digest('base64url')}`;
}
const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

async function call(method: string, url: string, headers: Record<string, string> = {}, body?: unknown) {
  const res = await fetch(server.url + url, {
    method,
    headers: { ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, challenge: res.headers.get('www-authenticate') ?? '', body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

beforeAll(async () => {
  admin = new pg.Client({ connectionString: base });
  await admin.connect(); // a server that is down fails here
  await admin.query(`create database ${dbName}`);
  expect((await backdev(['init', dir, '--spec', path.join(SPECS, 'auth.yaml')])).code).toBe(0);
  const install = await runCommand('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund'], { cwd: dir, timeout: 300_000 });
  expect(install.code, install.stderr).toBe(0);
  const add = await backdev(['add-auth', '--accounts'], dir);
  expect(add.code, add.stderr).toBe(0);
  const migrate = await runCommand(process.execPath, ['node_modules/backdev/bin/backdev.js', 'migrate', 'up'], { cwd: dir, env: { DATABASE_URL: dbUrl } });
  expect(migrate.code, migrate.stdout + migrate.stderr).toBe(0);
  const pool = new pg.Pool({ connectionString: dbUrl, max: 2 });
  pool.on('error', () => {}); // the database is dropped at the end, which ends idle connections
  db = new Kysely<any>({ dialect: new PostgresDialect({ pool }) });
  const keys = createApiKeyStore(db);
  apiKey = (await keys.issue({ name: 'ci', tenant: 'acme' })).key;
  const revoked = await keys.issue({ name: 'old', tenant: 'acme' });
  revokedKey = revoked.key;
  await keys.revoke(revoked.id);
  await db.insertInto('users').values({ email: 'basic@example.com', password_hash: await hashPassword('correct horse battery') }).execute();
  server = await startServer(dir, {
    DATABASE_URL: dbUrl,
    AUTH_JWT_SECRET: SECRET,
    AUTH_JWT_ISSUER: ISSUER,
    AUTH_JWT_AUDIENCE: AUDIENCE,
    AUTH_JWT_ALGORITHMS: 'HS256',
  });
}, 400_000);

afterAll(async () => {
  if (server) await stopServer(server);
  await db?.destroy();
  await admin?.query(`drop database if exists ${dbName} with (force)`);
  await admin?.end();
  cleanup(parent);
});

it('the secured project type-checks', async () => {
  const tsc = await runCommand(process.execPath, [path.join(dir, 'node_modules/typescript/bin/tsc'), '--noEmit'], { cwd: dir });
  expect(tsc.stdout + tsc.stderr).toBe('');
});

it('refuses to start without its configuration, naming what is missing', async () => {
  const r = await runCommand(process.execPath, ['node_modules/tsx/dist/cli.mjs', 'src/server.ts'], {
    cwd: dir,
    env: { DATABASE_URL: dbUrl, PORT: '0', AUTH_JWT_SECRET: '', AUTH_JWT_ISSUER: '', AUTH_JWT_AUDIENCE: '' },
    timeout: 60_000,
  });
  expect(r.code).not.toBe(0);
  expect(r.stdout + r.stderr).toMatch(/AUTH_JWT_ISSUER/);
  expect(r.stdout + r.stderr).toMatch(/AUTH_JWT_AUDIENCE/);
  expect(r.stdout + r.stderr).not.toContain(SECRET);
});

describe('attacks on the generated server', () => {
  const write = (extra: Record<string, unknown> = {}) => jwt({ scope: 'notes:write', ...extra });
  const rows: { name: string; request: () => Promise<{ status: number; challenge: string; body: Record<string, unknown> }>; status: number; challenge?: RegExp }[] = [
    { name: 'no credentials on a default-secured operation', request: () => call('GET', '/notes'), status: 401, challenge: /^Bearer/ },
    { name: 'alg: none', request: () => call('POST', '/notes', { authorization: `Bearer ${jwt({ scope: 'notes:write' }, { alg: 'none' })}` }), status: 401 },
    { name: 'signed with another secret', request: () => call('POST', '/notes', { authorization: `Bearer ${write({}) .replace(/\.[^.]+$/, '')}.${createHmac('sha256', 'wrong-secret-wrong-secret-wrong-secret!!').update(write({}).split('.').slice(0, 2).join('.')).digest('base64url')}` }), status: 401 },
    { name: 'HS512 when only HS256 is allowed', request: () => call('POST', '/notes', { authorization: `Bearer ${jwt({ scope: 'notes:write' }, { alg: 'HS512' })}` }), status: 401 },
    { name: 'expired', request: () => call('POST', '/notes', { authorization: `Bearer ${write({ exp: Math.floor(Date.now() / 1000) - 600 })}` }), status: 401, challenge: /invalid_token/ },
    { name: 'nbf in the future', request: () => call('POST', '/notes', { authorization: `Bearer ${write({ nbf: Math.floor(Date.now() / 1000) + 600 })}` }), status: 401 },
    { name: 'wrong iss', request: () => call('POST', '/notes', { authorization: `Bearer ${write({ iss: 'https://evil.test' })}` }), status: 401 },
    { name: 'wrong aud', request: () => call('POST', '/notes', { authorization: `Bearer ${write({ aud: 'other-api' })}` }), status: 401 },
    { name: 'missing exp', request: () => call('POST', '/notes', { authorization: `Bearer ${write({ exp: undefined })}` }), status: 401 },
    {
      name: 'tampered payload',
      request: () => {
        const [h, , s] = write().split('.');
        return call('POST', '/notes', { authorization: `Bearer ${h}.${b64({ iss: ISSUER, aud: AUDIENCE, sub: 'admin', scope: 'notes:write', exp: 9999999999 })}.${s}` });
      },
      status: 401,
    },
    { name: 'missing scope', request: () => call('POST', '/notes', { authorization: `Bearer ${jwt({ scope: 'notes:read' })}` }), status: 403, challenge: /insufficient_scope/ },
    { name: 'token in the query string', request: () => call('POST', `/notes?access_token=${write()}`), status: 401 },
    { name: 'OR-of-AND: bearer alone', request: () => call('DELETE', '/notes/1', { authorization: `Bearer ${write()}` }), status: 401 },
    { name: 'OR-of-AND: API key alone', request: () => call('DELETE', '/notes/1', { 'x-api-key': apiKey }), status: 401 },
    { name: 'revoked API key', request: () => call('DELETE', '/notes/1', { authorization: `Bearer ${write()}`, 'x-api-key': revokedKey }), status: 401 },
    { name: 'malformed API key', request: () => call('DELETE', '/notes/1', { authorization: `Bearer ${write()}`, 'x-api-key': 'bk_nope' }), status: 401 },
    { name: 'API key in the query when the scheme says header', request: () => call('DELETE', `/notes/1?x-api-key=${apiKey}`, { authorization: `Bearer ${write()}` }), status: 401 },
    { name: 'query-string key sent in a header', request: () => call('GET', '/export', { api_key: apiKey }), status: 401 },
    { name: 'wrong basic password', request: () => call('DELETE', '/notes/1', { authorization: basic('basic@example.com', 'wrong') }), status: 401, challenge: /Basic/ },
    { name: 'unknown basic user', request: () => call('DELETE', '/notes/1', { authorization: basic('nobody@example.com', 'correct horse battery') }), status: 401 },
  ];
  it.each(rows)('rejects: $name → $status', async (row) => {
    const res = await row.request();
    expect(res.status).toBe(row.status);
    if (row.challenge) expect(res.challenge).toMatch(row.challenge);
  });

  const allowed: { name: string; request: () => ReturnType<typeof call> }[] = [
    { name: 'public operation without credentials', request: () => call('GET', '/health') },
    { name: 'oauth2 token with the scope', request: () => call('POST', '/notes', { authorization: `Bearer ${write()}` }) },
    { name: 'OR-of-AND: bearer with scope AND API key', request: () => call('DELETE', '/notes/1', { authorization: `Bearer ${write()}`, 'x-api-key': apiKey }) },
    { name: 'OR-of-AND: basic alone', request: () => call('DELETE', '/notes/1', { authorization: basic('basic@example.com', 'correct horse battery') }) },
    { name: 'query-string API key', request: () => call('GET', `/export?api_key=${apiKey}`) },
  ];
  it.each(allowed)('lets through: $name', async (row) => {
    expect((await row.request()).status).toBe(501);
  });
});

describe('local accounts', () => {
  it('register, login, access, refresh rotation and reuse detection, logout', async () => {
    const creds = { email: 'Alice@Example.com', password: 'a long enough password' };
    expect((await call('POST', '/auth/register', {}, creds)).status).toBe(201);
    expect((await call('POST', '/auth/register', {}, creds)).status).toBe(409);
    expect((await call('POST', '/auth/login', {}, { ...creds, password: 'wrong password!' })).status).toBe(401);
    const login = await call('POST', '/auth/login', {}, { email: 'alice@example.com', password: creds.password });
    expect(login.status).toBe(200);
    const first = login.body as { accessToken: string; refreshToken: string };
    expect((await call('GET', '/notes', { authorization: `Bearer ${first.accessToken}` })).status).toBe(501);
    const rotated = await call('POST', '/auth/refresh', {}, { refreshToken: first.refreshToken });
    expect(rotated.status).toBe(200);
    const second = rotated.body as { refreshToken: string };
    expect(second.refreshToken).not.toBe(first.refreshToken);
    // Reusing the first refresh token revokes the family: the second one stops working too.
    expect((await call('POST', '/auth/refresh', {}, { refreshToken: first.refreshToken })).status).toBe(401);
    expect((await call('POST', '/auth/refresh', {}, { refreshToken: second.refreshToken })).status).toBe(401);
    const again = (await call('POST', '/auth/login', {}, creds)).body as { refreshToken: string };
    expect((await call('POST', '/auth/logout', {}, { refreshToken: again.refreshToken })).status).toBe(204);
    expect((await call('POST', '/auth/refresh', {}, { refreshToken: again.refreshToken })).status).toBe(401);
  });

  it('limits login attempts', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++) statuses.push((await call('POST', '/auth/login', {}, { email: 'mallory@example.com', password: `guess number ${i}` })).status);
    expect(statuses).toContain(429);
  });
});
