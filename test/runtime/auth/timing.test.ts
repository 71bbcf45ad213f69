/**
 * Timing by construction: every secret comparison (API key hashes, refresh token hashes, password hashes)
 * goes through `constantTimeEqual`, which delegates to `crypto.timingSafeEqual` on equal-length digests.
 * The spy sits on the node:crypto module object the runtime calls through.
 */
import crypto from 'node:crypto';
import type { Kysely } from 'kysely';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi, type MockInstance } from 'vitest';
import {
  apiKeysMigration,
  constantTimeEqual,
  createAccounts,
  createApiKeyStore,
  createBasicVerifier,
  hashPassword,
  refreshTokensMigration,
  usersMigration,
  verifyPassword,
  type Accounts,
  type ApiKeyStore,
} from '../../../runtime/auth/index.js';
import { DB_LABEL, dropTables, openDatabase } from './helpers.js';

const TABLES = { keys: 'auth_tim_api_keys', users: 'auth_tim_users', tokens: 'auth_tim_refresh_tokens' };
let db: Kysely<any>;
let store: ApiKeyStore;
let accounts: Accounts;
let storedHash: string;

beforeAll(async () => {
  db = await openDatabase([TABLES.tokens, TABLES.users, TABLES.keys]);
  await apiKeysMigration(TABLES.keys).up(db);
  await usersMigration(TABLES.users).up(db);
  await refreshTokensMigration({ users: TABLES.users, refreshTokens: TABLES.tokens }).up(db);
  store = createApiKeyStore(db, { table: TABLES.keys });
  accounts = createAccounts(db, { jwt: { secret: 'timing-test-secret-0123456789-abcdefghijkl', issuer: 'https://t.example/', audience: 't' }, tables: { users: TABLES.users, refreshTokens: TABLES.tokens } });
  await accounts.register('tim@example.com', 'a long enough password');
  storedHash = await hashPassword('a long enough password');
});
afterAll(async () => {
  if (db) {
    await dropTables(db, [TABLES.tokens, TABLES.users, TABLES.keys]);
    await db.destroy();
  }
});

let spy: MockInstance<typeof crypto.timingSafeEqual>;
beforeEach(() => {
  spy = vi.spyOn(crypto, 'timingSafeEqual');
});
afterEach(() => {
  spy.mockRestore();
});

/** Every call compared two 32-byte digests (never the raw, possibly unequal-length inputs). */
function expectDigestComparisons(min = 1) {
  expect(spy.mock.calls.length).toBeGreaterThanOrEqual(min);
  for (const [a, b] of spy.mock.calls) {
    expect((a as Buffer).length).toBe(32);
    expect((b as Buffer).length).toBe(32);
  }
}

describe(`runtime/auth timing by construction on ${DB_LABEL}`, () => {
  it.each([
    { given: 'equal inputs', a: 'secret', b: 'secret', want: true },
    { given: 'same length, last byte differs', a: 'secret', b: 'secreT', want: false },
    { given: 'different lengths (no throw, no early return)', a: 'short', b: 'a much longer value', want: false },
    { given: 'empty and non-empty', a: '', b: 'x', want: false },
    { given: 'both empty', a: '', b: '', want: true },
  ])('constantTimeEqual: $given → $want, through crypto.timingSafeEqual', ({ a, b, want }) => {
    expect(constantTimeEqual(Buffer.from(a), Buffer.from(b))).toBe(want);
    expect(spy).toHaveBeenCalledTimes(1);
    expectDigestComparisons();
  });

  it('password verification compares through crypto.timingSafeEqual', async () => {
    expect(await verifyPassword('a long enough password', storedHash)).toBe(true);
    expect(await verifyPassword('a wrong password', storedHash)).toBe(false);
    expect(spy).toHaveBeenCalledTimes(2);
    expectDigestComparisons();
  });

  it('Basic with an unknown user still runs scrypt and a comparison (dummy hash)', async () => {
    const scrypt = vi.spyOn(crypto, 'scrypt');
    try {
      const basic = createBasicVerifier({ lookup: async () => undefined });
      expect(await basic.verifyCredentials('nobody', 'whatever')).toBeUndefined();
      expect(scrypt).toHaveBeenCalledTimes(1);
      expect(scrypt.mock.calls[0]![3]).toMatchObject({ N: 2 ** 17, r: 8, p: 1 });
      expect(spy).toHaveBeenCalledTimes(1);
    } finally {
      scrypt.mockRestore();
    }
  });

  it('API key verification compares through crypto.timingSafeEqual (known and unknown prefix alike)', async () => {
    const { key } = await store.issue({ name: 'timing' });
    expect(await store.verify(key)).toMatchObject({ name: 'timing' });
    expect(spy).toHaveBeenCalledTimes(1);
    expect(await store.verify(`${key.slice(0, -1)}${key.endsWith('A') ? 'B' : 'A'}`)).toBeUndefined();
    expect(spy).toHaveBeenCalledTimes(2);
    expect(await store.verify(`bk_zzzzzzzz_${key.slice(12)}`)).toBeUndefined();
    expect(spy).toHaveBeenCalledTimes(3);
    expectDigestComparisons(3);
  });

  it('refresh token verification compares through crypto.timingSafeEqual', async () => {
    const session = await accounts.login('tim@example.com', 'a long enough password');
    spy.mockClear();
    await accounts.refresh(session.refreshToken);
    expect(spy).toHaveBeenCalledTimes(1);
    const [id] = session.refreshToken.split('.') as [string];
    await expect(accounts.refresh(`${id}.${'x'.repeat(43)}`)).rejects.toMatchObject({ code: 'invalid_refresh_token' });
    expect(spy).toHaveBeenCalledTimes(2);
    await expect(accounts.refresh(`${crypto.randomUUID()}.${'x'.repeat(43)}`)).rejects.toMatchObject({ code: 'invalid_refresh_token' });
    expect(spy).toHaveBeenCalledTimes(3);
    expectDigestComparisons(3);
  });

  it('login compares the password through crypto.timingSafeEqual, and for unknown emails too', async () => {
    await expect(accounts.login('tim@example.com', 'wrong password!')).rejects.toMatchObject({ code: 'invalid_credentials' });
    await expect(accounts.login('nobody@example.com', 'wrong password!')).rejects.toMatchObject({ code: 'invalid_credentials' });
    expect(spy).toHaveBeenCalledTimes(2);
    expectDigestComparisons(2);
  });
});
