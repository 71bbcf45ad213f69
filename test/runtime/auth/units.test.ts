/** Pure parts of runtime/auth: configuration checks, parsers, password hashing, env config. */
import { exportJWK, exportPKCS8, exportSPKI, generateKeyPair } from 'jose';
import { describe, expect, it } from 'vitest';
import {
  AuthConfigError,
  AuthError,
  authConfigFromEnv,
  createJwtVerifier,
  decodeBasicCredentials,
  extractApiKey,
  extractBearerToken,
  hashPassword,
  isPasswordHash,
  needsRehash,
  parseCookies,
  verifyPassword,
  type JwtVerifierOptions,
} from '../../../runtime/auth/index.js';
import { sign } from './helpers.js';

const rsa = await generateKeyPair('RS256', { extractable: true });
const ec = await generateKeyPair('ES256', { extractable: true });
const RSA_PEM = await exportSPKI(rsa.publicKey);
const EC_PEM = await exportSPKI(ec.publicKey);
const RSA_PRIVATE_PEM = await exportPKCS8(rsa.privateKey);
const SECRET = 'unit-test-secret-0123456789-abcdefghijklmnop';
const base = { issuer: 'https://i.example/', audience: 'aud' };

describe('createJwtVerifier refuses unsafe configurations at creation', () => {
  const cases: { given: string; options: Partial<JwtVerifierOptions>; want: RegExp }[] = [
    { given: 'no algorithms', options: { algorithms: [], key: { secret: SECRET } }, want: /algorithms must list at least one algorithm/ },
    { given: 'alg none', options: { algorithms: ['none'], key: { secret: SECRET } }, want: /unsupported values "none"/ },
    { given: 'HS256 with a public key (key confusion)', options: { algorithms: ['HS256'], key: { publicKey: RSA_PEM } }, want: /HS256 \(HMAC\) need a shared secret/ },
    { given: 'HS256 and RS256 mixed with a public key', options: { algorithms: ['RS256', 'HS256'], key: { publicKey: RSA_PEM } }, want: /HS256 \(HMAC\) need a shared secret/ },
    { given: 'HS256 with a JWKS URL', options: { algorithms: ['HS256'], key: { jwksUrl: 'https://idp.example/jwks' } }, want: /HS256 \(HMAC\) need a shared secret/ },
    { given: 'RS256 with a secret', options: { algorithms: ['RS256'], key: { secret: SECRET } }, want: /a shared secret only verifies HS256/ },
    { given: 'a PEM given as the HMAC secret', options: { algorithms: ['HS256'], key: { secret: RSA_PEM } }, want: /secret looks like a PEM or JWK key/ },
    { given: 'a short secret', options: { algorithms: ['HS256'], key: { secret: 'too-short' } }, want: /secret must be at least 32 bytes/ },
    { given: 'HS512 with a 40-byte secret', options: { algorithms: ['HS512'], key: { secret: 'x'.repeat(40) } }, want: /at least 64 bytes for HS512/ },
    { given: 'a private key as publicKey', options: { algorithms: ['RS256'], key: { publicKey: RSA_PRIVATE_PEM } }, want: /is a private key/ },
    { given: 'an EC key for RS256', options: { algorithms: ['RS256'], key: { publicKey: EC_PEM } }, want: /\(ec key\) cannot verify RS256/ },
    { given: 'an RSA key for ES256', options: { algorithms: ['ES256'], key: { publicKey: RSA_PEM } }, want: /\(rsa key\) cannot verify ES256/ },
    { given: 'two key sources', options: { algorithms: ['RS256'], key: { publicKey: RSA_PEM, jwksUrl: 'https://x/jwks' } as never }, want: /exactly one of secret, publicKey, jwksUrl or oidcIssuer/ },
    { given: 'an empty audience list', options: { algorithms: ['HS256'], key: { secret: SECRET }, audience: [] }, want: /audience must be a non-empty string/ },
    { given: 'a huge clock tolerance', options: { algorithms: ['HS256'], key: { secret: SECRET }, clockToleranceSeconds: 3600 }, want: /clockToleranceSeconds must be a number of seconds from 0 to 300/ },
    { given: 'an oct JWK as publicKey', options: { algorithms: ['RS256'], key: { publicKey: JSON.stringify({ kty: 'oct', k: 'c2VjcmV0' }) } }, want: /symmetric \(oct\) JWK/ },
  ];
  it.each(cases)('$given', ({ options, want }) => {
    expect(() => createJwtVerifier({ ...base, ...options } as JwtVerifierOptions)).toThrow(AuthConfigError);
    expect(() => createJwtVerifier({ ...base, ...options } as JwtVerifierOptions)).toThrow(want);
  });

  it('lists every problem at once', () => {
    try {
      createJwtVerifier({ algorithms: ['none'], issuer: '', audience: [], key: { secret: 'short' } });
      expect.unreachable();
    } catch (err) {
      expect((err as AuthConfigError).problems.length).toBeGreaterThanOrEqual(4);
    }
  });

  it('accepts a JWK public key and a PEM, and checks tokens against them', async () => {
    const jwk = JSON.stringify(await exportJWK(rsa.publicKey));
    for (const publicKey of [RSA_PEM, jwk]) {
      const verifier = createJwtVerifier({ ...base, algorithms: ['RS256'], key: { publicKey } });
      const token = await sign({ key: { kid: 'k', alg: 'RS256', privateKey: rsa.privateKey, publicKey: rsa.publicKey, publicJwk: {} }, claims: { scope: 'a  b a' } }, base);
      await expect(verifier.verify(token)).resolves.toMatchObject({ subject: 'user-1', scopes: ['a', 'b'] });
    }
  });
});

describe('scopes from scope / scp', () => {
  const verifier = createJwtVerifier({ ...base, algorithms: ['HS256'], key: { secret: SECRET } });
  it.each([
    { given: 'scope string', claims: { scope: 'read write' }, want: ['read', 'write'] },
    { given: 'scp array', claims: { scp: ['read', 'write'] }, want: ['read', 'write'] },
    { given: 'scp string', claims: { scp: 'read' }, want: ['read'] },
    { given: 'scope wins over scp', claims: { scope: 'a', scp: ['b'] }, want: ['a'] },
    { given: 'none', claims: {}, want: [] },
  ])('$given', async ({ claims, want }) => {
    const token = await sign({ key: { secret: SECRET }, claims }, base);
    expect((await verifier.verify(token)).scopes).toEqual(want);
  });
  it('refuses a scp array with non-strings', async () => {
    const token = await sign({ key: { secret: SECRET }, claims: { scp: ['read', 1] } }, base);
    await expect(verifier.verify(token)).rejects.toMatchObject({ reason: 'invalid_token' });
  });
  it('accepts an expired token within the clock tolerance only', async () => {
    await expect(verifier.verify(await sign({ key: { secret: SECRET }, expiresIn: -3 }, base))).resolves.toBeDefined();
    await expect(verifier.verify(await sign({ key: { secret: SECRET }, expiresIn: -8 }, base))).rejects.toMatchObject({ reason: 'expired' });
  });
  it('never puts jose details in the message', async () => {
    const err = await verifier.verify(await sign({ key: { secret: SECRET }, expiresIn: -60 }, base)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AuthError);
    expect((err as AuthError).message).toBe('The access token expired');
    expect(String((err as AuthError).cause)).toMatch(/exp/); // the detail is in cause, for logs
  });
});

describe('passwords', () => {
  it('hashes with scrypt at OWASP parameters, salted, and verifies', async () => {
    const a = await hashPassword('hunter2 hunter2');
    const b = await hashPassword('hunter2 hunter2');
    expect(a).toMatch(/^scrypt\$131072\$8\$1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{86}$/);
    expect(a).not.toBe(b);
    expect(await verifyPassword('hunter2 hunter2', a)).toBe(true);
    expect(await verifyPassword('hunter2 hunter3', a)).toBe(false);
    expect(needsRehash(a)).toBe(false);
    expect(isPasswordHash(a)).toBe(true);
  });

  it('normalises Unicode (NFKC) so the same password typed differently matches', async () => {
    const stored = await hashPassword('caf\u00e9 au lait');
    expect(await verifyPassword('cafe\u0301 au lait', stored)).toBe(true);
  });

  it.each([
    { given: 'another algorithm', stored: 'bcrypt$2b$10$abc' },
    { given: 'N not a power of two', stored: 'scrypt$100000$8$1$oqRKzMw3Iyz-bty7CXD3dQ$iRJheLuBB7zN7EwSW-dLxPW6eMRA3o8VLujyHMRQJ3392SCK41G7mUpsH0WbKOcoRCqbUiufNJPlCMxMQySBFA' },
    { given: 'N = 2^30 (memory bomb)', stored: 'scrypt$1073741824$8$1$oqRKzMw3Iyz-bty7CXD3dQ$iRJheLuBB7zN7EwSW-dLxPW6eMRA3o8VLujyHMRQJ3392SCK41G7mUpsH0WbKOcoRCqbUiufNJPlCMxMQySBFA' },
    { given: 'a short salt', stored: 'scrypt$131072$8$1$abc$iRJheLuBB7zN7EwSW-dLxPW6eMRA3o8VLujyHMRQJ3392SCK41G7mUpsH0WbKOcoRCqbUiufNJPlCMxMQySBFA' },
    { given: 'empty', stored: '' },
  ])('refuses a stored hash with $given (TypeError, not false)', async ({ stored }) => {
    await expect(verifyPassword('x', stored)).rejects.toThrow(TypeError);
  });

  it('flags weaker stored parameters for rehash', () => {
    expect(needsRehash('scrypt$16384$8$1$oqRKzMw3Iyz-bty7CXD3dQ$iRJheLuBB7zN7EwSW-dLxPW6eMRA3o8VLujyHMRQJ3392SCK41G7mUpsH0WbKOcoRCqbUiufNJPlCMxMQySBFA')).toBe(true);
  });
});

describe('Basic credentials parsing', () => {
  const enc = (s: string) => Buffer.from(s, 'utf8').toString('base64');
  it.each([
    { given: 'user:password', encoded: enc('ann:pw'), want: { username: 'ann', password: 'pw' } },
    { given: 'a colon in the password', encoded: enc('ann:a:b'), want: { username: 'ann', password: 'a:b' } },
    { given: 'UTF-8', encoded: enc('zoë:pässword'), want: { username: 'zoë', password: 'pässword' } },
    { given: 'an empty password', encoded: enc('ann:'), want: { username: 'ann', password: '' } },
  ])('decodes $given', ({ encoded, want }) => {
    expect(decodeBasicCredentials(encoded)).toEqual(want);
  });
  it.each([
    { given: 'no colon', encoded: enc('ann') },
    { given: 'an empty user', encoded: enc(':pw') },
    { given: 'invalid base64', encoded: 'YW5u*nB3' },
    { given: 'missing padding', encoded: enc('ann:p').replace(/=+$/, '') },
    { given: 'non-canonical base64 (unused bits set)', encoded: 'YW5uOnB=' },
    { given: 'invalid UTF-8', encoded: Buffer.from([0x61, 0x3a, 0xff, 0xfe]).toString('base64') },
    { given: 'a control character', encoded: enc('ann:p\nw') },
  ])('refuses $given', ({ encoded }) => {
    expect(() => decodeBasicCredentials(encoded)).toThrow(AuthError);
  });
});

describe('credential extraction', () => {
  const req = (headers: Record<string, string | string[] | undefined>, url = '/') => ({ headers, url });
  it.each([
    { given: 'Bearer token', headers: { authorization: 'Bearer abc.def.ghi' }, want: 'abc.def.ghi' },
    { given: 'lower-case scheme', headers: { authorization: 'bearer abc' }, want: 'abc' },
    { given: 'another scheme', headers: { authorization: 'Basic YTpi' }, want: undefined },
    { given: 'no header', headers: {}, want: undefined },
  ])('bearer: $given', ({ headers, want }) => {
    expect(extractBearerToken(req(headers))).toBe(want);
  });
  it('bearer: a token with spaces is invalid', () => {
    expect(() => extractBearerToken(req({ authorization: 'Bearer a b' }))).toThrow(AuthError);
  });
  it('parses cookies: quoted, encoded, repeated, junk', () => {
    const cookies = parseCookies('a=1; b="two"; c=%20x; a=3; junk; =nameless; d=');
    expect(Object.fromEntries(cookies)).toEqual({ a: ['1', '3'], b: ['two'], c: [' x'], d: [''] });
  });
  it('API key: only where the scheme says, repeated values refused', () => {
    expect(extractApiKey(req({ 'x-api-key': 'k1' }), 'header', 'x-api-key')).toBe('k1');
    expect(extractApiKey(req({}, '/?x-api-key=k1'), 'header', 'x-api-key')).toBeUndefined();
    expect(extractApiKey(req({}, '/?key=k1&key=k1'), 'query', 'key')).toBe('k1');
    expect(() => extractApiKey(req({}, '/?key=k1&key=k2'), 'query', 'key')).toThrow(AuthError);
    expect(extractApiKey(req({ cookie: 'key=k1' }), 'query', 'key')).toBeUndefined();
    expect(extractApiKey(req({ cookie: 'other=1; key=k1' }), 'cookie', 'key')).toBe('k1');
  });
});

describe('authConfigFromEnv', () => {
  it('names every missing variable at once', () => {
    try {
      authConfigFromEnv({}, ['jwt']);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(AuthConfigError);
      const message = (err as Error).message;
      for (const name of ['AUTH_JWT_SECRET', 'AUTH_JWT_PUBLIC_KEY', 'AUTH_JWKS_URL', 'AUTH_OIDC_ISSUER', 'AUTH_JWT_ISSUER', 'AUTH_JWT_AUDIENCE', 'AUTH_JWT_ALGORITHMS']) expect(message).toContain(name);
    }
  });

  it('names every invalid variable at once, without echoing secrets', () => {
    const env = { AUTH_JWT_SECRET: 'tiny-secret-value', AUTH_JWT_ISSUER: 'https://i/', AUTH_JWT_AUDIENCE: 'a', AUTH_JWT_ALGORITHMS: 'RS256,none', AUTH_JWT_CLOCK_TOLERANCE: 'soon' };
    const err = (() => {
      try {
        authConfigFromEnv(env, ['jwt']);
      } catch (e) {
        return e as AuthConfigError;
      }
    })();
    expect(err?.problems.join('\n')).toMatch(/AUTH_JWT_ALGORITHMS: .*"none"/);
    expect(err?.message).toMatch(/AUTH_JWT_ALGORITHMS: a shared secret only verifies HS256/);
    expect(err?.message).toMatch(/AUTH_JWT_SECRET: secret must be at least 32 bytes/);
    expect(err?.message).toMatch(/AUTH_JWT_CLOCK_TOLERANCE must be a whole number/);
    expect(err?.message).not.toContain('tiny-secret-value');
  });

  it('refuses two key sources', () => {
    expect(() => authConfigFromEnv({ AUTH_JWT_SECRET: SECRET, AUTH_JWKS_URL: 'https://x/jwks', AUTH_JWT_ISSUER: 'i', AUTH_JWT_AUDIENCE: 'a' }, ['jwt'])).toThrow(/AUTH_JWT_SECRET and AUTH_JWKS_URL are all set/);
  });

  it('builds verifier options: a secret defaults to HS256, audiences split on commas', () => {
    const config = authConfigFromEnv({ AUTH_JWT_SECRET: SECRET, AUTH_JWT_ISSUER: 'https://i/', AUTH_JWT_AUDIENCE: 'a, b', AUTH_JWT_CLOCK_TOLERANCE: '10' }, ['jwt', 'apiKey']);
    expect(config.jwt).toEqual({ algorithms: ['HS256'], issuer: 'https://i/', audience: ['a', 'b'], key: { secret: SECRET }, clockToleranceSeconds: 10 });
    expect(() => createJwtVerifier(config.jwt!)).not.toThrow();
  });

  it('oidc: the issuer defaults to AUTH_OIDC_ISSUER; a PEM with \\n escapes is accepted for jwt', () => {
    const oidc = authConfigFromEnv({ AUTH_OIDC_ISSUER: 'https://idp.example', AUTH_JWT_AUDIENCE: 'api', AUTH_JWT_ALGORITHMS: 'RS256' }, ['oidc']);
    expect(oidc.jwt).toMatchObject({ issuer: 'https://idp.example', key: { oidcIssuer: 'https://idp.example' } });
    const pem = authConfigFromEnv({ AUTH_JWT_PUBLIC_KEY: RSA_PEM.replace(/\n/g, '\\n'), AUTH_JWT_ISSUER: 'i', AUTH_JWT_AUDIENCE: 'a', AUTH_JWT_ALGORITHMS: 'RS256' }, ['jwt']);
    expect(() => createJwtVerifier(pem.jwt!)).not.toThrow();
  });

  it('basic and apiKey need no variables', () => {
    expect(authConfigFromEnv({}, ['basic', 'apiKey'])).toEqual({ realm: 'api', features: ['basic', 'apiKey'] });
  });
});
