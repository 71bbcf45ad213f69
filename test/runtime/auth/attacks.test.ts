/**
 * The attack table: a real Fastify server on loopback, real HTTP, the API keys and accounts in the database
 * (PGlite, or the PostgreSQL server of DATABASE_URL). Each row is an attack (refused with the right status
 * and nothing more than a reason) or a valid request (accepted).
 */
import Fastify, { type FastifyInstance } from 'fastify';
import { exportJWK, exportPKCS8, exportSPKI, importPKCS8 } from 'jose';
import type { Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AccountError,
  apiKeyScheme,
  apiKeysMigration,
  bearerScheme,
  createAccounts,
  createApiKeyStore,
  createBasicVerifier,
  createJwtVerifier,
  installAuth,
  normalizeEmail,
  refreshTokensMigration,
  usersMigration,
  type Accounts,
} from '../../../runtime/auth/index.js';
import { DB_LABEL, dropTables, expectProblem, installProblemHandler, listen, openDatabase, sign, signingKey, startKeyServer, tamper, unsignedToken, type KeyServer, type SigningKey, type TokenSpec } from './helpers.js';

const ISSUER = 'https://issuer.example/';
const AUDIENCE = 'backdev-api';
const HS_SECRET = 'attack-table-shared-secret-0123456789-abcdefghij';
const TABLES = { keys: 'auth_atk_api_keys', users: 'auth_atk_users', tokens: 'auth_atk_refresh_tokens' };
const ALICE = { email: 'Alice@Example.com', password: 'correct horse battery staple' };
/** The only messages the auth hook may send: fixed texts, never details from jose or the database. */
const SAFE_MESSAGES = new Set([
  'The access token is invalid',
  'The access token expired',
  'The access token is not valid yet',
  'The access token is signed with an unknown key',
  'The credentials are invalid',
  'Authentication is required',
]);

let db: Kysely<any>;
let app: FastifyInstance;
let base: string;
let jwks: KeyServer;
let rsKey: SigningKey;
let impostorKey: SigningKey;
let rs512Key: SigningKey;
let jwksKey: SigningKey;
let rsPublicPem: string;
let accounts: Accounts;
const apiKeys: Record<'acme' | 'globex' | 'revoked', string> = { acme: '', globex: '', revoked: '' };

const tokenDefaults = { issuer: ISSUER, audience: AUDIENCE };
const rsToken = (spec: Partial<TokenSpec> = {}) => sign({ key: rsKey, claims: { scope: 'read' }, ...spec }, tokenDefaults);
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

function get(path: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${base}${path}`, { headers });
}
function post(path: string, body: unknown): Promise<Response> {
  return fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
}
async function login(): Promise<{ accessToken: string; refreshToken: string }> {
  const res = await post('/auth/login', { email: ALICE.email, password: ALICE.password });
  expect(res.status).toBe(200);
  return (await res.json()) as { accessToken: string; refreshToken: string };
}
const refresh = (refreshToken: string) => post('/auth/refresh', { refreshToken });

beforeAll(async () => {
  db = await openDatabase([TABLES.tokens, TABLES.users, TABLES.keys]);
  await apiKeysMigration(TABLES.keys).up(db);
  await usersMigration(TABLES.users).up(db);
  await refreshTokensMigration({ users: TABLES.users, refreshTokens: TABLES.tokens }).up(db);

  rsKey = await signingKey('RS256', 'rs-1');
  impostorKey = await signingKey('RS256', 'rs-1');
  // The same RSA key pair, usable for RS512 signatures.
  rs512Key = { ...rsKey, alg: 'RS512', privateKey: await importPKCS8(await exportPKCS8(rsKey.privateKey), 'RS512') };
  jwksKey = await signingKey('RS256', 'jwks-1');
  rsPublicPem = await exportSPKI(rsKey.publicKey);
  jwks = await startKeyServer([jwksKey.publicJwk]);

  const store = createApiKeyStore(db, { table: TABLES.keys });
  apiKeys.acme = (await store.issue({ name: 'acme ci', tenant: 'acme', scopes: ['read'] })).key;
  apiKeys.globex = (await store.issue({ name: 'globex ci', tenant: 'globex' })).key;
  const revoked = await store.issue({ name: 'old', tenant: 'acme' });
  apiKeys.revoked = revoked.key;
  expect(await store.revoke(revoked.id)).toBe(true);

  accounts = createAccounts(db, { jwt: { secret: HS_SECRET, issuer: ISSUER, audience: AUDIENCE }, tables: { users: TABLES.users, refreshTokens: TABLES.tokens } });
  await accounts.register(ALICE.email, ALICE.password, { scopes: ['read'] });

  const schemes = {
    rsBearer: bearerScheme(createJwtVerifier({ algorithms: ['RS256'], issuer: ISSUER, audience: AUDIENCE, key: { publicKey: rsPublicPem } })),
    jwksBearer: bearerScheme(createJwtVerifier({ algorithms: ['RS256'], issuer: ISSUER, audience: AUDIENCE, key: { jwksUrl: jwks.jwksUrl } }), { kind: 'oauth2' }),
    session: bearerScheme(accounts.verifier),
    headerKey: apiKeyScheme(store, { in: 'header', name: 'X-API-Key' }),
    queryKey: apiKeyScheme(store, { in: 'query', name: 'api_key' }),
    cookieKey: apiKeyScheme(store, { in: 'cookie', name: 'api_key' }),
    basic: createBasicVerifier({
      lookup: async (username) => {
        const user = await db.selectFrom(TABLES.users).select(['id', 'password_hash', 'scopes']).where('email', '=', normalizeEmail(username)).executeTakeFirst();
        return user ? { passwordHash: user.password_hash as string, subject: user.id as string, scopes: user.scopes as string[] } : undefined;
      },
    }),
  };

  app = Fastify();
  installProblemHandler(app);
  installAuth(app, {
    schemes,
    defaultSecurity: [{ session: [] }],
    routes: {
      'GET /rs/items': [{ rsBearer: ['read'] }],
      'GET /jwks/items': [{ jwksBearer: [] }],
      'GET /tenants/:tenant/things': [{ headerKey: [] }],
      'GET /query-key': [{ queryKey: [] }],
      'GET /cookie-key': [{ cookieKey: [] }],
      'GET /basic': [{ basic: [] }],
      'POST /auth/login': [],
      'POST /auth/refresh': [],
      'POST /auth/logout': [],
    },
  });
  const echo = async (request: { auth?: unknown }) => ({ auth: request.auth });
  for (const url of ['/rs/items', '/jwks/items', '/query-key', '/cookie-key', '/basic', '/me']) app.get(url, echo);
  app.get<{ Params: { tenant: string } }>('/tenants/:tenant/things', async (request, reply) => {
    // The handler's own check: the key must belong to the tenant of the URL.
    if (request.auth?.claims.tenant !== request.params.tenant) return reply.code(403).send({ error: 'forbidden', message: 'The API key belongs to another tenant' });
    return { tenant: request.params.tenant, things: [] };
  });
  const accountRoute = (run: (body: Record<string, string>) => Promise<unknown>) => async (request: { body: unknown }, reply: { code(n: number): unknown }) => {
    try {
      return await run(request.body as Record<string, string>);
    } catch (err) {
      if (!(err instanceof AccountError)) throw err;
      reply.code(401);
      return { error: err.code, message: err.message };
    }
  };
  app.post('/auth/login', accountRoute((b) => accounts.login(String(b.email), String(b.password))));
  app.post('/auth/refresh', accountRoute((b) => accounts.refresh(String(b.refreshToken))));
  app.post('/auth/logout', accountRoute(async (b) => ({ revoked: await accounts.logout(String(b.refreshToken)) })));
  base = await listen(app);
});

afterAll(async () => {
  await app?.close();
  await jwks?.close();
  if (db) {
    await dropTables(db, [TABLES.tokens, TABLES.users, TABLES.keys]);
    await db.destroy();
  }
});

interface Want {
  status: number;
  /**
   * `error` of the JSON body a route of this app sends itself (accounts, the tenant check). Without it, a
   * refusal comes from the auth hook: a problem, whose `detail` is `message`.
   */
  error?: string;
  /** The WWW-Authenticate header; null: absent. */
  challenge?: RegExp | null;
  message?: string;
}
interface Row {
  given: string;
  send: () => Promise<Response>;
  want: Want;
}

const BEARER_INVALID = /^Bearer realm="api", error="invalid_token", error_description="The access token is invalid"$/;

const rows: Row[] = [
  // ---- JWT (RS256, public key) ----
  { given: 'valid RS256 token with scope read', send: async () => get('/rs/items', bearer(await rsToken())), want: { status: 200, challenge: null } },
  { given: 'alg: none (unsigned) token', send: async () => get('/rs/items', bearer(unsignedToken({ sub: 'u', iss: ISSUER, aud: AUDIENCE, exp: Math.floor(Date.now() / 1000) + 300, scope: 'read' }))), want: { status: 401, challenge: BEARER_INVALID } },
  {
    given: 'HS256 token signed with the RS256 public key as HMAC secret (key confusion)',
    send: async () => get('/rs/items', bearer(await sign({ key: { secret: rsPublicPem, alg: 'HS256' }, claims: { scope: 'read' } }, tokenDefaults))),
    want: { status: 401, challenge: BEARER_INVALID },
  },
  {
    given: 'HS256 token signed with the public key as a JWK JSON string (key confusion)',
    send: async () => get('/rs/items', bearer(await sign({ key: { secret: JSON.stringify(await exportJWK(rsKey.publicKey)), alg: 'HS256' }, claims: { scope: 'read' } }, tokenDefaults))),
    want: { status: 401, challenge: BEARER_INVALID },
  },
  { given: 'RS256 token signed by another key with the same kid', send: async () => get('/rs/items', bearer(await sign({ key: impostorKey, claims: { scope: 'read' } }, tokenDefaults))), want: { status: 401, challenge: BEARER_INVALID } },
  {
    given: 'RS512 token signed by the right key (algorithm not in the pinned list)',
    send: async () => get('/rs/items', bearer(await sign({ key: rs512Key, claims: { scope: 'read' } }, tokenDefaults))),
    want: { status: 401, challenge: BEARER_INVALID },
  },
  {
    given: 'token carrying its own key in the jwk header (embedded key attack)',
    send: async () => get('/rs/items', bearer(await sign({ key: impostorKey, header: { jwk: impostorKey.publicJwk }, claims: { scope: 'read' } }, tokenDefaults))),
    want: { status: 401, challenge: BEARER_INVALID },
  },
  {
    given: 'token pointing at an attacker key set in jku',
    send: async () => get('/rs/items', bearer(await sign({ key: impostorKey, header: { jku: 'https://attacker.example/jwks.json' }, claims: { scope: 'read' } }, tokenDefaults))),
    want: { status: 401, challenge: BEARER_INVALID },
  },
  {
    given: 'expired token (exp a minute ago, beyond the 5 s tolerance)',
    send: async () => get('/rs/items', bearer(await rsToken({ expiresIn: -60 }))),
    want: { status: 401, challenge: /error="invalid_token", error_description="The access token expired"/, message: 'The access token expired' },
  },
  {
    given: 'token whose nbf is two minutes in the future',
    send: async () => get('/rs/items', bearer(await rsToken({ claims: { scope: 'read', nbf: Math.floor(Date.now() / 1000) + 120 } }))),
    want: { status: 401, challenge: /error_description="The access token is not valid yet"/, message: 'The access token is not valid yet' },
  },
  { given: 'wrong iss', send: async () => get('/rs/items', bearer(await rsToken({ issuer: 'https://evil.example/' }))), want: { status: 401, challenge: BEARER_INVALID } },
  { given: 'wrong aud', send: async () => get('/rs/items', bearer(await rsToken({ audience: 'another-api' }))), want: { status: 401, challenge: BEARER_INVALID } },
  { given: 'missing exp', send: async () => get('/rs/items', bearer(await rsToken({ expiresIn: null }))), want: { status: 401, challenge: BEARER_INVALID } },
  { given: 'missing sub', send: async () => get('/rs/items', bearer(await rsToken({ subject: null }))), want: { status: 401, challenge: BEARER_INVALID } },
  {
    given: 'tampered payload (scope and sub changed, signature kept)',
    send: async () => get('/rs/items', bearer(tamper(await rsToken({ claims: { scope: 'none' } }), (p) => ({ ...p, scope: 'read admin', sub: 'admin' })))),
    want: { status: 401, challenge: BEARER_INVALID },
  },
  {
    given: 'valid token without the required scope',
    send: async () => get('/rs/items', bearer(await rsToken({ claims: { scope: 'write' } }))),
    want: { status: 403, challenge: /^Bearer realm="api", error="insufficient_scope", scope="read"$/ },
  },
  { given: 'scope claim that is not a string or list (scope: {"read": true})', send: async () => get('/rs/items', bearer(await rsToken({ claims: { scope: { read: true } } }))), want: { status: 401, challenge: BEARER_INVALID } },
  { given: 'token in the query string instead of the header', send: async () => get(`/rs/items?access_token=${await rsToken()}`), want: { status: 401, challenge: /^Bearer realm="api"$/, message: 'Authentication is required' } },
  { given: 'token in a cookie instead of the header', send: async () => get('/rs/items', { cookie: `access_token=${await rsToken()}` }), want: { status: 401, challenge: /^Bearer realm="api"$/ } },
  { given: '"Bearer" with no token', send: async () => get('/rs/items', { authorization: 'Bearer ' }), want: { status: 401, challenge: BEARER_INVALID } },
  { given: 'over-long token (12 000 characters)', send: async () => get('/rs/items', bearer(`${'a'.repeat(6_000)}.${'b'.repeat(5_998)}.c`)), want: { status: 401, challenge: BEARER_INVALID } },
  { given: 'no credentials at all', send: () => get('/rs/items'), want: { status: 401, challenge: /^Bearer realm="api"$/ } },

  // ---- JWT via JWKS ----
  { given: 'valid JWKS-signed token', send: async () => get('/jwks/items', bearer(await sign({ key: jwksKey }, tokenDefaults))), want: { status: 200 } },
  {
    given: 'token with a kid the JWKS does not have',
    send: async () => get('/jwks/items', bearer(await sign({ key: { ...impostorKey, kid: 'not-published' } }, tokenDefaults))),
    want: { status: 401, challenge: /error_description="The access token is signed with an unknown key"/, message: 'The access token is signed with an unknown key' },
  },
  { given: 'JWKS kid reused by an attacker key', send: async () => get('/jwks/items', bearer(await sign({ key: { ...impostorKey, kid: 'jwks-1' } }, tokenDefaults))), want: { status: 401, challenge: BEARER_INVALID } },

  // ---- API keys ----
  { given: 'API key of the tenant in the URL', send: () => get('/tenants/acme/things', { 'x-api-key': apiKeys.acme }), want: { status: 200 } },
  { given: 'API key of another tenant', send: () => get('/tenants/acme/things', { 'x-api-key': apiKeys.globex }), want: { status: 403, error: 'forbidden' } },
  { given: 'revoked API key', send: () => get('/tenants/acme/things', { 'x-api-key': apiKeys.revoked }), want: { status: 401, message: 'The credentials are invalid', challenge: /^ApiKey realm="api", in="header", name="X-API-Key"$/ } },
  { given: 'malformed API key', send: () => get('/tenants/acme/things', { 'x-api-key': 'bk_short_nope' }), want: { status: 401, message: 'The credentials are invalid' } },
  { given: 'API key with a known prefix and a wrong secret', send: () => get('/tenants/acme/things', { 'x-api-key': `${apiKeys.acme.slice(0, 12)}${'A'.repeat(43)}` }), want: { status: 401, message: 'The credentials are invalid' } },
  { given: 'API key in the query when the scheme says header', send: () => get(`/tenants/acme/things?X-API-Key=${apiKeys.acme}`), want: { status: 401, message: 'Authentication is required' } },
  { given: 'API key as a bearer token when the scheme says header', send: () => get('/tenants/acme/things', bearer(apiKeys.acme)), want: { status: 401, message: 'Authentication is required' } },
  { given: 'API key in a header when the scheme says query', send: () => get('/query-key', { api_key: apiKeys.acme, 'x-api-key': apiKeys.acme }), want: { status: 401, message: 'Authentication is required' } },
  { given: 'API key in the query, as the scheme says', send: () => get(`/query-key?api_key=${encodeURIComponent(apiKeys.acme)}`), want: { status: 200 } },
  { given: 'two different API keys in the query', send: () => get(`/query-key?api_key=${apiKeys.acme}&api_key=${apiKeys.globex}`), want: { status: 401, message: 'The credentials are invalid' } },
  { given: 'API key in a cookie, as the scheme says', send: () => get('/cookie-key', { cookie: `theme=dark; api_key=${apiKeys.acme}` }), want: { status: 200 } },
  { given: 'API key in the query when the scheme says cookie', send: () => get(`/cookie-key?api_key=${apiKeys.acme}`), want: { status: 401, message: 'Authentication is required' } },
  { given: 'two cookies of the same name with different keys (cookie tossing)', send: () => get('/cookie-key', { cookie: `api_key=${apiKeys.globex}; api_key=${apiKeys.acme}` }), want: { status: 401, message: 'The credentials are invalid' } },

  // ---- HTTP Basic ----
  { given: 'Basic with the right password', send: () => get('/basic', { authorization: `Basic ${Buffer.from(`${ALICE.email}:${ALICE.password}`).toString('base64')}` }), want: { status: 200 } },
  {
    given: 'Basic with a wrong password',
    send: () => get('/basic', { authorization: `Basic ${Buffer.from(`${ALICE.email}:wrong password`).toString('base64')}` }),
    want: { status: 401, message: 'The credentials are invalid', challenge: /^Basic realm="api", charset="UTF-8"$/ },
  },
  { given: 'Basic with an unknown user', send: () => get('/basic', { authorization: `Basic ${Buffer.from(`mallory@example.com:${ALICE.password}`).toString('base64')}` }), want: { status: 401, message: 'The credentials are invalid' } },
  { given: 'Basic with invalid base64', send: () => get('/basic', { authorization: 'Basic %%%not-base64%%%' }), want: { status: 401, message: 'The credentials are invalid' } },
  { given: 'Basic without a colon', send: () => get('/basic', { authorization: `Basic ${Buffer.from('alice').toString('base64')}` }), want: { status: 401, message: 'The credentials are invalid' } },
  { given: 'Basic credentials in the URL query', send: () => get(`/basic?authorization=${encodeURIComponent(`Basic ${Buffer.from(`${ALICE.email}:${ALICE.password}`).toString('base64')}`)}`), want: { status: 401, message: 'Authentication is required' } },

  // ---- Local accounts (default security: the session bearer) ----
  { given: 'access token from login', send: async () => get('/me', bearer((await login()).accessToken)), want: { status: 200 } },
  { given: 'login with a wrong password', send: () => post('/auth/login', { email: ALICE.email, password: 'nope nope nope' }), want: { status: 401, error: 'invalid_credentials' } },
  { given: 'login with an unknown email', send: () => post('/auth/login', { email: 'nobody@example.com', password: ALICE.password }), want: { status: 401, error: 'invalid_credentials' } },
  { given: 'an RS256 token of the other issuer on a session route', send: async () => get('/me', bearer(await rsToken())), want: { status: 401, challenge: BEARER_INVALID } },
  {
    given: 'HS256 token signed with the session secret but without typ at+jwt (e.g. an ID token)',
    send: async () => get('/me', bearer(await sign({ key: { secret: HS_SECRET } }, tokenDefaults))),
    want: { status: 401, challenge: BEARER_INVALID },
  },
  { given: 'refresh token presented as a bearer token', send: async () => get('/me', bearer((await login()).refreshToken)), want: { status: 401, challenge: BEARER_INVALID } },
  { given: 'access token presented as a refresh token', send: async () => refresh((await login()).accessToken), want: { status: 401, error: 'invalid_refresh_token' } },
  {
    given: 'a refresh token used a second time (reuse detected)',
    send: async () => {
      const first = await login();
      expect((await refresh(first.refreshToken)).status).toBe(200);
      return refresh(first.refreshToken);
    },
    want: { status: 401, error: 'refresh_token_reused' },
  },
  {
    given: 'the newer refresh token of a family revoked by reuse',
    send: async () => {
      const first = await login();
      const second = (await (await refresh(first.refreshToken)).json()) as { refreshToken: string };
      expect((await refresh(first.refreshToken)).status).toBe(401);
      return refresh(second.refreshToken);
    },
    want: { status: 401, error: 'invalid_refresh_token' },
  },
  {
    given: 'refresh after logout',
    send: async () => {
      const session = await login();
      expect(await (await post('/auth/logout', { refreshToken: session.refreshToken })).json()).toEqual({ revoked: true });
      return refresh(session.refreshToken);
    },
    want: { status: 401, error: 'invalid_refresh_token' },
  },
  {
    given: 'the newer token after logout with an older token of the family',
    send: async () => {
      const session = await login();
      const next = (await (await refresh(session.refreshToken)).json()) as { refreshToken: string };
      // Logging out with the older (already rotated) token ends the whole family, the newer token included.
      expect(await (await post('/auth/logout', { refreshToken: session.refreshToken })).json()).toEqual({ revoked: true });
      return refresh(next.refreshToken);
    },
    want: { status: 401, error: 'invalid_refresh_token' },
  },
  { given: 'refresh token with the right id and a forged secret', send: async () => refresh(`${(await login()).refreshToken.split('.')[0]}.${'A'.repeat(43)}`), want: { status: 401, error: 'invalid_refresh_token' } },
  { given: 'garbage refresh token', send: () => refresh("' or 1=1 --"), want: { status: 401, error: 'invalid_refresh_token' } },
  {
    given: 'a refresh token rotated once (valid rotation)',
    send: async () => {
      const res = await refresh((await login()).refreshToken);
      const body = (await res.clone().json()) as { accessToken: string };
      expect((await get('/me', bearer(body.accessToken))).status).toBe(200);
      return res;
    },
    want: { status: 200 },
  },
];

describe(`runtime/auth attack table over HTTP on ${DB_LABEL}`, () => {
  it('has at least 18 attacks', () => {
    expect(rows.filter((r) => r.want.status >= 400).length).toBeGreaterThanOrEqual(18);
  });

  it.each(rows)('$given → $want.status', async ({ send, want }) => {
    const res = await send();
    const body = (await res.clone().json()) as Record<string, unknown>;
    expect({ status: res.status, body }).toMatchObject({ status: want.status });
    const challenge = res.headers.get('www-authenticate');
    if (want.challenge === null) expect(challenge).toBeNull();
    else if (want.challenge) expect(challenge).toMatch(want.challenge);
    if (want.error !== undefined) {
      expect(body.error).toBe(want.error);
      if (want.message !== undefined) expect(body.message).toBe(want.message);
    } else if (want.status >= 400) {
      // The hook's refusals: problems through the error handler, nothing but a fixed text, not cacheable.
      const problem = await expectProblem(res, want.status);
      if (want.message !== undefined) expect(problem.detail).toBe(want.message);
      if (want.status === 401) expect(SAFE_MESSAGES.has(String(problem.detail))).toBe(true);
      else expect(problem.detail).toMatch(/^The credentials lack a required scope \(/);
      expect(res.headers.get('cache-control')).toBe('no-store');
    }
  });

  it('a forged refresh secret does not revoke the genuine session', async () => {
    const session = await login();
    const forged = `${session.refreshToken.split('.')[0]}.${'B'.repeat(43)}`;
    expect((await refresh(forged)).status).toBe(401);
    expect((await refresh(session.refreshToken)).status).toBe(200);
  });

  it('two concurrent refreshes with one token: one wins, the other counts as reuse and revokes the family', async () => {
    const session = await login();
    const results = await Promise.all([refresh(session.refreshToken), refresh(session.refreshToken)]);
    const statuses = results.map((r) => r.status).sort();
    expect(statuses).toEqual([200, 401]);
    const winner = (await results.find((r) => r.status === 200)!.json()) as { refreshToken: string };
    expect((await refresh(winner.refreshToken)).status).toBe(401);
  });

  it('API key use is recorded in last_used_at', async () => {
    const prefix = apiKeys.acme.slice(3, 11);
    const row = await db.selectFrom(TABLES.keys).select(['last_used_at', 'hash']).where('prefix', '=', prefix).executeTakeFirstOrThrow();
    expect(row.last_used_at).toBeInstanceOf(Date);
    // Only the hash of the secret is stored.
    expect(JSON.stringify(row)).not.toContain(apiKeys.acme.slice(12));
  });

  it('refresh tokens are stored hashed', async () => {
    const session = await login();
    const [id, secret] = session.refreshToken.split('.') as [string, string];
    const row = await db.selectFrom(TABLES.tokens).selectAll().where('id', '=', id).executeTakeFirstOrThrow();
    expect(JSON.stringify(row)).not.toContain(secret);
  });

  it('emails are normalised and duplicates refused with a typed error', async () => {
    await expect(accounts.register('  ALICE@example.COM ', 'another long password')).rejects.toMatchObject({ name: 'AccountError', code: 'email_taken' });
    await expect(accounts.register('not-an-email', 'another long password')).rejects.toMatchObject({ code: 'invalid_email' });
    await expect(accounts.register('bob@example.com', 'short')).rejects.toMatchObject({ code: 'weak_password' });
    const user = await db.selectFrom(TABLES.users).select('email').where('email', '=', 'alice@example.com').executeTakeFirst();
    expect(user).toEqual({ email: 'alice@example.com' });
  });
});
