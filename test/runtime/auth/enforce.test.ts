/**
 * OpenAPI security semantics over real HTTP: alternatives are ORed, the schemes of an alternative ANDed,
 * `[]` is public, undefined falls back to the global default, `{}` makes authentication optional. Every
 * combination of absent / valid / invalid credentials is tried against the spec's expected outcome.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AuthConfigError,
  AuthFailure,
  AuthRefusal,
  authorize,
  apiKeyScheme,
  bearerScheme,
  createAuthHook,
  createBasicVerifier,
  createJwtVerifier,
  hashPassword,
  installAuth,
  type ApiKeyIdentity,
  type Requirement,
  type SchemeVerifier,
} from '../../../runtime/auth/index.js';
import { classifyError } from '../../../runtime/http/index.js';
import { expectProblem, installProblemHandler, listen, sign } from './helpers.js';

const ISSUER = 'https://enforce.example/';
const AUDIENCE = 'enforce-api';
const SECRET = 'enforce-table-secret-0123456789-abcdefghijklmnop';
const defaults = { issuer: ISSUER, audience: AUDIENCE };
const KEYS: Record<string, ApiKeyIdentity> = { 'valid-key': { id: 'key-1', name: 'ci', tenant: 't1', scopes: [] } };

/** The security of the operations, as an OpenAPI document would declare them. */
const SECURITY = {
  orAnd: [{ bearer: ['read'], apiKey: [] }, { basic: [] }] as Requirement[],
  public: [] as Requirement[],
  inherited: undefined,
  optional: [{}, { bearer: [] }] as Requirement[],
};
const GLOBAL_DEFAULT: Requirement[] = [{ apiKey: [] }];

let app: FastifyInstance;
let base: string;
let schemes: Record<string, SchemeVerifier>;
const tokens = { read: '', noRead: '' };
const basicHeader = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

beforeAll(async () => {
  const passwordHash = await hashPassword('s3cret-pass');
  schemes = {
    bearer: bearerScheme(createJwtVerifier({ algorithms: ['HS256'], issuer: ISSUER, audience: AUDIENCE, key: { secret: SECRET } })),
    apiKey: apiKeyScheme({ verify: async (key) => KEYS[key] }, { in: 'header', name: 'X-API-Key' }),
    basic: createBasicVerifier({ lookup: async (name) => (name === 'ann' ? { passwordHash, subject: 'user-ann' } : undefined) }),
  };
  tokens.read = await sign({ key: { secret: SECRET }, claims: { scope: 'read write' }, subject: 'user-bearer' }, defaults);
  tokens.noRead = await sign({ key: { secret: SECRET }, claims: { scope: 'write' }, subject: 'user-bearer' }, defaults);
  app = Fastify();
  installProblemHandler(app);
  const echo = async (request: { auth?: unknown }) => ({ auth: request.auth ?? null });
  for (const [name, security] of Object.entries(SECURITY)) app.get(`/${name}`, { onRequest: createAuthHook(schemes, security, GLOBAL_DEFAULT) }, echo);
  base = await listen(app);
});
afterAll(async () => {
  await app?.close();
});

type Bearer = 'absent' | 'valid' | 'no-scope' | 'invalid';
type Simple = 'absent' | 'valid' | 'invalid';
interface Given {
  bearer: Bearer;
  apiKey: Simple;
  basic: Simple;
}

function headersFor(given: Given): Record<string, string> {
  const headers: Record<string, string> = {};
  // Bearer and Basic share the Authorization header: a request carries one or the other.
  if (given.bearer !== 'absent') headers.authorization = `Bearer ${given.bearer === 'valid' ? tokens.read : given.bearer === 'no-scope' ? tokens.noRead : 'not.a.token'}`;
  else if (given.basic !== 'absent') headers.authorization = basicHeader('ann', given.basic === 'valid' ? 's3cret-pass' : 'wrong-pass');
  if (given.apiKey !== 'absent') headers['x-api-key'] = given.apiKey === 'valid' ? 'valid-key' : 'wrong-key';
  return headers;
}

const combinations: Given[] = [];
for (const bearer of ['absent', 'valid', 'no-scope', 'invalid'] as Bearer[])
  for (const apiKey of ['absent', 'valid', 'invalid'] as Simple[])
    for (const basic of ['absent', 'valid', 'invalid'] as Simple[]) {
      if (bearer !== 'absent' && basic !== 'absent') continue; // one Authorization header per request
      combinations.push({ bearer, apiKey, basic });
    }

interface Want {
  status: 200 | 401 | 403;
  schemes?: string[];
}

/** `[{ bearer: ['read'], apiKey: [] }, { basic: [] }]` by the OpenAPI rules. */
function expectOrAnd(g: Given): Want {
  if (g.bearer === 'valid' && g.apiKey === 'valid') return { status: 200, schemes: ['bearer', 'apiKey'] };
  if (g.basic === 'valid') return { status: 200, schemes: ['basic'] };
  if (g.bearer === 'no-scope' && g.apiKey === 'valid') return { status: 403 };
  return { status: 401 };
}
/** undefined → the global default `[{ apiKey: [] }]`. */
const expectInherited = (g: Given): Want => (g.apiKey === 'valid' ? { status: 200, schemes: ['apiKey'] } : { status: 401 });
/** `[{}, { bearer: [] }]`: anonymous allowed, but credentials presented must be valid. */
const expectOptional = (g: Given): Want =>
  g.bearer === 'valid' || g.bearer === 'no-scope' ? { status: 200, schemes: ['bearer'] } : g.bearer === 'invalid' ? { status: 401 } : { status: 200 };

const label = (g: Given) => (['bearer', 'apiKey', 'basic'] as const).map((k) => `${k}:${g[k] === 'absent' ? '-' : g[k]}`).join(' ');
const table = (route: keyof typeof SECURITY, oracle: (g: Given) => Want) => combinations.map((given) => ({ route, given, want: oracle(given), name: label(given) }));

async function check(route: string, given: Given, want: Want) {
  const res = await fetch(`${base}/${route}`, { headers: headersFor(given) });
  const challenge = res.headers.get('www-authenticate') ?? '';
  if (want.status === 200) {
    expect(res.status).toBe(200);
    const body = (await res.json()) as { auth?: { schemes: string[]; subject: string } | null };
    if (want.schemes) expect(body.auth?.schemes).toEqual(want.schemes);
    else expect(body.auth).toBeNull();
    return challenge;
  }
  // Refusals are thrown into the error handler: problems, not cacheable.
  const body = await expectProblem(res, want.status);
  expect(res.headers.get('cache-control')).toBe('no-store');
  if (want.status === 403) {
    expect(body.detail).toBe('The credentials lack a required scope (read)');
    expect(challenge).toBe('Bearer realm="api", error="insufficient_scope", scope="read"');
  }
  return challenge;
}

describe('runtime/auth OR-of-AND security over HTTP', () => {
  it.each(table('orAnd', expectOrAnd))('[{ bearer: [read], apiKey: [] }, { basic: [] }] with $name → $want.status', async ({ route, given, want }) => {
    const challenge = await check(route, given, want);
    if (want.status === 401) {
      // Every scheme involved is challenged; the bearer challenge says why a token was refused.
      expect(challenge).toContain('ApiKey realm="api", in="header", name="X-API-Key"');
      expect(challenge).toContain('Basic realm="api", charset="UTF-8"');
      expect(challenge).toContain(given.bearer === 'invalid' ? 'Bearer realm="api", error="invalid_token"' : 'Bearer realm="api"');
    }
  });

  it.each(table('public', () => ({ status: 200 })))('[] (public) with $name → 200, no auth context', async ({ route, given, want }) => {
    await check(route, given, want);
  });

  it.each(table('inherited', expectInherited))('undefined → global [{ apiKey: [] }] with $name → $want.status', async ({ route, given, want }) => {
    const challenge = await check(route, given, want);
    if (want.status === 401) expect(challenge).toBe('ApiKey realm="api", in="header", name="X-API-Key"');
  });

  it.each(table('optional', expectOptional))('[{}, { bearer: [] }] (optional) with $name → $want.status', async ({ route, given, want }) => {
    await check(route, given, want);
  });
});

describe('runtime/auth authorize() without a server', () => {
  const request = (headers: Record<string, string>) => ({ headers, url: '/x' });

  it('evaluates each scheme at most once and stops at the first passing alternative', async () => {
    const calls: string[] = [];
    const counting = (name: string, result: 'ok' | 'missing'): SchemeVerifier => ({
      kind: 'http-bearer',
      authenticate: async () => {
        calls.push(name);
        return result === 'ok' ? { subject: name, scopes: [], claims: {} } : undefined;
      },
    });
    const s = { a: counting('a', 'missing'), b: counting('b', 'ok'), c: counting('c', 'ok') };
    const result = await authorize(request({}), [{ a: [], b: [] }, { b: [] }, { c: [] }], s);
    expect(result).toMatchObject({ scheme: 'b', subject: 'b' });
    expect(calls).toEqual(['a', 'b']);
  });

  it('joins the scopes of an alternative and keeps each scheme credentials', async () => {
    const s: Record<string, SchemeVerifier> = {
      a: { kind: 'oauth2', authenticate: async () => ({ subject: 'sa', scopes: ['x'], claims: { from: 'a' } }) },
      b: { kind: 'apiKey', in: 'header', name: 'k', authenticate: async () => ({ subject: 'sb', scopes: ['y'], claims: {} }) },
    };
    const result = await authorize(request({}), [{ a: ['x'], b: ['y'] }], s);
    expect(result).toEqual({ scheme: 'a', schemes: ['a', 'b'], subject: 'sa', scopes: ['x', 'y'], claims: { from: 'a' }, credentials: expect.objectContaining({ a: expect.anything(), b: expect.anything() }) });
  });

  it('answers 503 (not 401) when keys cannot be fetched, and lets other errors through', async () => {
    const { AuthError } = await import('../../../runtime/auth/index.js');
    const down: SchemeVerifier = { kind: 'openIdConnect', authenticate: async () => Promise.reject(new AuthError('unavailable')) };
    const result = await authorize(request({}), [{ oidc: [] }], { oidc: down });
    expect(result).toBeInstanceOf(AuthFailure);
    expect(result).toMatchObject({ status: 503, error: 'unavailable' });
    const broken: SchemeVerifier = { kind: 'http-bearer', authenticate: async () => Promise.reject(new Error('database is down')) };
    await expect(authorize(request({}), [{ b: [] }], { b: broken })).rejects.toThrow('database is down');
  });

  it('throws refusals as AuthRefusal errors for the error handler: statusCode, headers, a fixed exposed message', async () => {
    const hook = createAuthHook(schemes, [{ bearer: ['read'] }]);
    const refusalOf = async (headers: Record<string, string>) => {
      const req = { headers, query: {}, log: { debug() {}, warn() {} } };
      try {
        await (hook as unknown as (r: unknown) => Promise<void>)(req);
      } catch (err) {
        return err;
      }
      throw new Error('the hook let the request through');
    };
    const missing = await refusalOf({});
    expect(missing).toBeInstanceOf(AuthRefusal);
    expect(missing).toMatchObject({ statusCode: 401, code: 'unauthorized', expose: true, message: 'Authentication is required' });
    expect((missing as AuthRefusal).headers).toEqual({ 'cache-control': 'no-store', 'www-authenticate': 'Bearer realm="api"' });
    const scope = await refusalOf({ authorization: `Bearer ${tokens.noRead}` });
    expect(scope).toMatchObject({ statusCode: 403, code: 'insufficient_scope', headers: { 'www-authenticate': 'Bearer realm="api", error="insufficient_scope", scope="read"' } });
  });

  it('classifyError keeps a refusal\'s status, fixed message and headers, and drops malformed header values', () => {
    const refusal = new AuthRefusal(401, 'unauthorized', 'Authentication is required', { 'www-authenticate': ['Bearer realm="api"', 'Basic realm="api"'], 'cache-control': 'no-store' });
    expect(classifyError(refusal)).toEqual({
      status: 401,
      detail: 'Authentication is required',
      headers: { 'www-authenticate': ['Bearer realm="api"', 'Basic realm="api"'], 'cache-control': 'no-store' },
      level: 'info',
    });
    expect(classifyError(new AuthRefusal(503, 'unavailable', 'The credentials cannot be checked right now', { 'cache-control': 'no-store' }))).toMatchObject({
      status: 503,
      detail: 'The credentials cannot be checked right now',
    });
    // A 5xx that does not say its message is safe still says nothing; a header value with a line break is dropped.
    expect(classifyError(Object.assign(new Error('db at 10.0.0.1 down'), { statusCode: 503, headers: { 'retry-after': '5' } }))).toEqual({ status: 503, detail: 'internal error', level: 'error' });
    expect(classifyError(Object.assign(new Error('no'), { statusCode: 401, headers: { 'x-evil': 'a\r\nset-cookie: x=1', 'bad name': 'x', 'retry-after': 5 } })).headers).toEqual({ 'retry-after': '5' });
  });

  it('answers 503 as a problem with the fixed text, nothing of the configuration or the cause', async () => {
    const { AuthError } = await import('../../../runtime/auth/index.js');
    const jwksUrl = 'https://keys.internal.example/secret-path/jwks.json';
    const down: SchemeVerifier = {
      kind: 'openIdConnect',
      authenticate: async () => Promise.reject(new AuthError('unavailable', { cause: new Error(`fetch ${jwksUrl} failed`) })),
    };
    const other = Fastify();
    installProblemHandler(other);
    installAuth(other, { schemes: { oidc: down }, defaultSecurity: [{ oidc: [] }], routes: {} });
    other.get('/down', async () => ({ ok: true }));
    const url = await listen(other);
    try {
      const res = await fetch(`${url}/down`, { headers: { authorization: 'Bearer some.token.here' } });
      const body = await expectProblem(res, 503);
      expect(body.detail).toBe('The credentials cannot be checked right now');
      expect(res.headers.get('cache-control')).toBe('no-store');
      expect(res.headers.get('www-authenticate')).toBeNull();
      expect(JSON.stringify(body)).not.toContain('keys.internal');
    } finally {
      await other.close();
    }
  });

  it('works in a plain Fastify app too: its default error handler keeps the status and the challenge', async () => {
    const plain = Fastify();
    plain.get('/closed', { onRequest: createAuthHook(schemes, [{ bearer: [] }]) }, async () => ({ ok: true }));
    const url = await listen(plain);
    try {
      const res = await fetch(`${url}/closed`);
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe('Bearer realm="api"');
      expect(((await res.json()) as { message: string }).message).toBe('Authentication is required');
    } finally {
      await plain.close();
    }
  });

  it('refuses requirements naming a scheme without a verifier, at hook creation', () => {
    expect(() => createAuthHook(schemes, [{ bearer: [] }, { oauth: ['read'] }])).toThrow(AuthConfigError);
    expect(() => createAuthHook(schemes, undefined, [{ nope: [] }])).toThrow(/"nope", which has no verifier/);
  });

  it('installAuth fails at startup when a listed route does not exist', async () => {
    const other = Fastify();
    installAuth(other, { schemes, routes: { 'GET /exists': [], 'GET /typo': [{ bearer: [] }] } });
    other.get('/exists', async () => ({}));
    await expect(other.ready()).rejects.toThrow(/routes\["GET \/typo"\] matches no registered route/);
  });

  it('installAuth: unlisted routes (any registration order) get the default security, HEAD follows GET', async () => {
    const other = Fastify();
    installProblemHandler(other);
    other.get('/registered-before-install', async () => ({ ok: true }));
    installAuth(other, { schemes, defaultSecurity: [{ apiKey: [] }], routes: { 'GET /open': [] } });
    other.get('/open', async () => ({ ok: true }));
    await other.register(async (child) => {
      child.get('/in-a-plugin', async () => ({ ok: true }));
    });
    other.get('/closed', async () => ({ ok: true }));
    const url = await listen(other);
    try {
      expect((await fetch(`${url}/open`)).status).toBe(200);
      expect((await fetch(`${url}/open`, { method: 'HEAD' })).status).toBe(200);
      expect((await fetch(`${url}/closed`)).status).toBe(401);
      expect((await fetch(`${url}/closed`, { method: 'HEAD' })).status).toBe(401);
      expect((await fetch(`${url}/closed`, { headers: { 'x-api-key': 'valid-key' } })).status).toBe(200);
      // Routes registered before installAuth, or in an encapsulated plugin, are covered too.
      expect((await fetch(`${url}/registered-before-install`)).status).toBe(401);
      expect((await fetch(`${url}/in-a-plugin`)).status).toBe(401);
      expect((await fetch(`${url}/no-such-route`)).status).toBe(404);
    } finally {
      await other.close();
    }
  });
});
