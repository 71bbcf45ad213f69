/**
 * API keys stored hashed. A key reads `bk_<prefix>_<secret>`: the 8-character prefix (lower case letters
 * and digits) finds the row, the secret (32 random bytes, base64url) is checked against the SHA-256 stored
 * for it, in constant time. The full key is returned once, by `issue`; the table never holds it.
 */
import crypto from 'node:crypto';
import { sql, type Kysely, type Migration } from 'kysely';
import type { ApiKeyIdentity } from './schemes.js';
import { constantTimeEqual, sha256 } from './timing.js';

export type { ApiKeyIdentity } from './schemes.js';

export interface ApiKeyStoreOptions {
  /** The table (default `api_keys`; `schema.table` accepted). Create it with `apiKeysMigration`. */
  table?: string;
  /** `last_used_at` is written at most once per this many seconds per key (default 60; 0: on every use). */
  lastUsedResolutionSeconds?: number;
}

export interface IssueApiKeyInput {
  name: string;
  tenant?: string | null;
  scopes?: string[];
}

export interface ApiKeyStore {
  /** Creates a key; `key` is shown to its owner once and cannot be recovered. */
  issue(input: IssueApiKeyInput): Promise<{ id: string; key: string }>;
  /** The key's identity, or undefined when it is malformed, unknown, wrong or revoked. */
  verify(key: string): Promise<ApiKeyIdentity | undefined>;
  /** Revokes a key; false when there is no such (unrevoked) key. */
  revoke(id: string): Promise<boolean>;
}

const KEY_FORMAT = /^bk_([a-z0-9]{8})_([A-Za-z0-9_-]{43})$/;
const PREFIX_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const SCOPE = /^[\x21\x23-\x5B\x5D-\x7E]+$/; // RFC 6749 scope-token
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,62}(\.[A-Za-z_][A-Za-z0-9_]{0,62})?$/;

/** Checks a table name given in options (it is used as an identifier, never from user input). */
export function checkTableName(table: string, what = 'table'): string {
  if (typeof table !== 'string' || !IDENTIFIER.test(table)) throw new TypeError(`${what} ${JSON.stringify(table)} is not a valid table name (letters, digits, _; optionally schema.table)`);
  return table;
}

function randomPrefix(): string {
  // 36 is not a power of two: draw bytes below 252 (= 7 × 36) so every character is equally likely.
  let out = '';
  while (out.length < 8) {
    for (const byte of crypto.randomBytes(16)) {
      if (byte < 252 && out.length < 8) out += PREFIX_ALPHABET[byte % 36];
    }
  }
  return out;
}

function checkScopes(scopes: unknown): string[] {
  if (!Array.isArray(scopes) || !scopes.every((s) => typeof s === 'string' && SCOPE.test(s))) throw new TypeError('scopes must be a list of scope tokens (no spaces or quotes)');
  return [...new Set(scopes as string[])];
}

/** The migration creating the API key table (`api_keys` unless named). */
export function apiKeysMigration(table = 'api_keys'): Migration {
  checkTableName(table);
  const [schema, name] = table.includes('.') ? (table.split('.') as [string, string]) : [undefined, table];
  const builder = (db: Kysely<any>) => (schema ? db.schema.withSchema(schema) : db.schema);
  return {
    async up(db) {
      await builder(db)
        .createTable(name)
        .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
        .addColumn('prefix', 'text', (c) => c.notNull().unique())
        .addColumn('hash', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('tenant', 'text')
        .addColumn('scopes', sql`text[]`, (c) => c.notNull().defaultTo(sql`'{}'`))
        .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .addColumn('last_used_at', 'timestamptz')
        .addColumn('revoked_at', 'timestamptz')
        .execute();
    },
    async down(db) {
      await builder(db).dropTable(name).execute();
    },
  };
}

/** The migration creating `api_keys`, for a generator to emit. */
export const API_KEYS_MIGRATION: Migration = apiKeysMigration();

interface ApiKeyRow {
  id: string;
  hash: string;
  name: string;
  tenant: string | null;
  scopes: string[];
  revoked_at: Date | null;
}

export function createApiKeyStore(db: Kysely<any>, options: ApiKeyStoreOptions = {}): ApiKeyStore {
  const table = checkTableName(options.table ?? 'api_keys');
  const resolution = options.lastUsedResolutionSeconds ?? 60;
  if (!Number.isFinite(resolution) || resolution < 0) throw new TypeError('lastUsedResolutionSeconds must be a non-negative number');
  // A hash to compare against when the prefix is unknown, so that case does the same work.
  const dummyHash = sha256(crypto.randomBytes(32).toString('base64url'));

  return {
    async issue({ name, tenant = null, scopes = [] }) {
      if (typeof name !== 'string' || name.trim() === '') throw new TypeError('an API key needs a name');
      if (tenant !== null && typeof tenant !== 'string') throw new TypeError('tenant must be a string or null');
      const list = checkScopes(scopes);
      for (let attempt = 0; ; attempt++) {
        const prefix = randomPrefix();
        const secret = crypto.randomBytes(32).toString('base64url');
        const hash = sha256(secret).toString('base64url');
        // ON CONFLICT keeps a prefix collision (1 in ~2.8e12 per pair) out of the error path.
        const row = await db
          .insertInto(table)
          .values({ prefix, hash, name, tenant, scopes: sql`${sql.val(list)}::text[]` })
          .onConflict((oc) => oc.column('prefix').doNothing())
          .returning('id')
          .executeTakeFirst();
        if (row) return { id: String(row.id), key: `bk_${prefix}_${secret}` };
        if (attempt >= 4) throw new Error('could not find a free API key prefix');
      }
    },

    async verify(key) {
      const match = typeof key === 'string' ? KEY_FORMAT.exec(key) : null;
      if (!match) return undefined;
      const [, prefix, secret] = match as unknown as [string, string, string];
      const row = (await db
        .selectFrom(table)
        .select(['id', 'hash', 'name', 'tenant', 'scopes', 'revoked_at'])
        .where('prefix', '=', prefix)
        .executeTakeFirst()) as ApiKeyRow | undefined;
      const stored = row ? Buffer.from(row.hash, 'base64url') : dummyHash;
      const same = constantTimeEqual(sha256(secret), stored);
      if (!row || !same || row.revoked_at !== null) return undefined;
      await db
        .updateTable(table)
        .set({ last_used_at: sql`now()` })
        .where('id', '=', row.id)
        .where((eb) => eb.or([eb('last_used_at', 'is', null), eb('last_used_at', '<', sql<Date>`now() - make_interval(secs => ${resolution})`)]))
        .execute();
      return { id: String(row.id), name: row.name, tenant: row.tenant, scopes: [...row.scopes] };
    },

    async revoke(id) {
      if (typeof id !== 'string' || !UUID.test(id)) return false;
      const result = await db.updateTable(table).set({ revoked_at: sql`now()` }).where('id', '=', id).where('revoked_at', 'is', null).executeTakeFirst();
      return result.numUpdatedRows > 0n;
    },
  };
}
