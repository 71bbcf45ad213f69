/**
 * OIDC discovery and JWKS rotation against a provider on loopback (node:http) that counts requests: keys
 * rotate without restarting the verifier, and an unknown `kid` refetches the key set at most once per
 * cooldown.
 */
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuthError, bearerScheme, createAuthHook, createJwtVerifier, type JwtVerifier } from '../../../runtime/auth/index.js';
import { expectProblem, installProblemHandler, listen, sign, signingKey, startKeyServer, type KeyServer, type SigningKey } from './helpers.js';

const AUDIENCE = 'oidc-api';
const COOLDOWN_SECONDS = 1;
let provider: KeyServer;
let keyA: SigningKey;
let keyB: SigningKey;
let stranger: SigningKey;

const reasonOf = (promise: Promise<unknown>) =>
  promise.then(
    () => 'accepted',
    (err: unknown) => (err instanceof AuthError ? err.reason : `unexpected ${String(err)}`),
  );
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

beforeAll(async () => {
  keyA = await signingKey('RS256', 'key-a');
  keyB = await signingKey('RS256', 'key-b');
  stranger = await signingKey('RS256', 'key-unknown');
  provider = await startKeyServer([keyA.publicJwk]);
});
afterAll(async () => {
  await provider?.close();
});

describe('runtime/auth OIDC discovery and key rotation', () => {
  let verifier: JwtVerifier;
  const tokenFor = (key: SigningKey) => sign({ key, claims: { scp: ['read', 'write'] } }, { issuer: provider.issuer, audience: AUDIENCE });

  beforeAll(() => {
    verifier = createJwtVerifier({
      algorithms: ['RS256'],
      issuer: provider.issuer,
      audience: AUDIENCE,
      key: { oidcIssuer: provider.issuer },
      jwks: { cooldownSeconds: COOLDOWN_SECONDS },
    });
  });

  it('discovers lazily: nothing is fetched before the first token', () => {
    expect(provider.counts).toEqual({ discovery: 0, jwks: 0 });
  });

  it('verifies tokens signed by key A through a Fastify route (scp array → scopes)', async () => {
    const app = Fastify();
    app.get('/items', { onRequest: createAuthHook({ oidc: bearerScheme(verifier, { kind: 'openIdConnect' }) }, [{ oidc: ['read'] }]) }, async (request) => ({ auth: request.auth }));
    const base = await listen(app);
    try {
      const res = await fetch(`${base}/items`, { headers: { authorization: `Bearer ${await tokenFor(keyA)}` } });
      expect(res.status).toBe(200);
      expect(((await res.json()) as { auth: { scopes: string[] } }).auth.scopes).toEqual(['read', 'write']);
    } finally {
      await app.close();
    }
    expect(provider.counts).toEqual({ discovery: 1, jwks: 1 });
  });

  it('rejects an unknown kid without refetching during the cooldown (rate limit)', async () => {
    const token = await tokenFor(stranger);
    const reasons = await Promise.all(Array.from({ length: 10 }, () => reasonOf(verifier.verify(token))));
    expect(new Set(reasons)).toEqual(new Set(['unknown_key']));
    expect(provider.counts).toEqual({ discovery: 1, jwks: 1 });
  });

  it('after the cooldown, an unknown kid refetches once, even for many concurrent tokens', async () => {
    await sleep(COOLDOWN_SECONDS * 1000 + 100);
    const token = await tokenFor(stranger);
    const reasons = await Promise.all(Array.from({ length: 10 }, () => reasonOf(verifier.verify(token))));
    expect(new Set(reasons)).toEqual(new Set(['unknown_key']));
    expect(provider.counts).toEqual({ discovery: 1, jwks: 2 });
  });

  it('rotation: tokens of the new key B verify without restarting the verifier', async () => {
    provider.setKeys([keyB.publicJwk]);
    await sleep(COOLDOWN_SECONDS * 1000 + 100);
    const tokenB = await tokenFor(keyB);
    await expect(verifier.verify(tokenB)).resolves.toMatchObject({ subject: 'user-1', scopes: ['read', 'write'] });
    expect(provider.counts).toEqual({ discovery: 1, jwks: 3 });
    // Key A is gone from the set: its tokens no longer verify, and asking does not refetch (cooldown).
    expect(await reasonOf(verifier.verify(await tokenFor(keyA)))).toBe('unknown_key');
    expect(await reasonOf(verifier.verify(await tokenFor(stranger)))).toBe('unknown_key');
    await expect(verifier.verify(tokenB)).resolves.toMatchObject({ subject: 'user-1' });
    expect(provider.counts).toEqual({ discovery: 1, jwks: 3 });
  });

  it('a token of key B presented right after rotation waits for the cooldown (no fetch storm)', async () => {
    // Default JWKS options: a 30 s cooldown.
    const fresh = createJwtVerifier({ algorithms: ['RS256'], issuer: provider.issuer, audience: AUDIENCE, key: { oidcIssuer: provider.issuer } });
    provider.setKeys([keyA.publicJwk]);
    const before = { ...provider.counts };
    await expect(fresh.verify(await tokenFor(keyA))).resolves.toMatchObject({ subject: 'user-1' });
    provider.setKeys([keyA.publicJwk, keyB.publicJwk]);
    // With the default 30 s cooldown the new key is picked up at the next allowed refetch, not at once.
    for (let i = 0; i < 5; i++) expect(await reasonOf(fresh.verify(await tokenFor(keyB)))).toBe('unknown_key');
    expect(provider.counts).toEqual({ discovery: before.discovery + 1, jwks: before.jwks + 1 });
  });
});

describe('runtime/auth OIDC discovery checks', () => {
  it('refuses a discovery document naming another issuer (503 unavailable), and retries only after the cooldown', async () => {
    const impostor = await startKeyServer([keyA.publicJwk]);
    try {
      impostor.setAdvertisedIssuer('https://real-issuer.example');
      const verifier = createJwtVerifier({ algorithms: ['RS256'], issuer: impostor.issuer, audience: AUDIENCE, key: { oidcIssuer: impostor.issuer }, jwks: { cooldownSeconds: 30 } });
      const token = await sign({ key: keyA }, { issuer: impostor.issuer, audience: AUDIENCE });
      expect(await reasonOf(verifier.verify(token))).toBe('unavailable');
      expect(await reasonOf(verifier.verify(token))).toBe('unavailable');
      expect(impostor.counts).toEqual({ discovery: 1, jwks: 0 });
    } finally {
      await impostor.close();
    }
  });

  it('a JWKS that cannot be fetched is `unavailable`, not a bad token', async () => {
    const verifier = createJwtVerifier({ algorithms: ['RS256'], issuer: 'https://x.example', audience: AUDIENCE, key: { jwksUrl: `${provider.issuer}/missing.json` } });
    expect(await reasonOf(verifier.verify(await sign({ key: keyA }, { issuer: 'https://x.example', audience: AUDIENCE })))).toBe('unavailable');
  });

  it('over HTTP, keys that cannot be fetched answer a 503 problem naming nothing of the configuration', async () => {
    const jwksUrl = `${provider.issuer}/missing-keys-${Date.now()}.json`;
    const verifier = createJwtVerifier({ algorithms: ['RS256'], issuer: 'https://x.example', audience: AUDIENCE, key: { jwksUrl } });
    const app = Fastify();
    installProblemHandler(app);
    app.get('/items', { onRequest: createAuthHook({ oidc: bearerScheme(verifier, { kind: 'openIdConnect' }) }, [{ oidc: [] }]) }, async () => ({ ok: true }));
    const base = await listen(app);
    try {
      const token = await sign({ key: keyA }, { issuer: 'https://x.example', audience: AUDIENCE });
      const res = await fetch(`${base}/items`, { headers: { authorization: `Bearer ${token}` } });
      const body = await expectProblem(res, 503);
      expect(body.detail).toBe('The credentials cannot be checked right now');
      expect(res.headers.get('www-authenticate')).toBeNull();
      const text = JSON.stringify(body);
      for (const secret of [jwksUrl, provider.issuer, 'x.example', token]) expect(text).not.toContain(secret);
    } finally {
      await app.close();
    }
  });

  it('refuses non-https key URLs off loopback', () => {
    expect(() => createJwtVerifier({ algorithms: ['RS256'], issuer: 'i', audience: 'a', key: { oidcIssuer: 'http://idp.example.com' } })).toThrow(/oidcIssuer must use https/);
    expect(() => createJwtVerifier({ algorithms: ['RS256'], issuer: 'i', audience: 'a', key: { jwksUrl: 'file:///etc/passwd' } })).toThrow(/jwksUrl must be an https URL/);
    expect(() => createJwtVerifier({ algorithms: ['RS256'], issuer: 'i', audience: 'a', key: { jwksUrl: 'http://idp.internal/jwks' }, allowInsecureHttp: true })).not.toThrow();
  });
});
