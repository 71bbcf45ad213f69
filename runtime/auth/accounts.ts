/**
 * Local accounts: users with scrypt password hashes, short-lived HS256 access tokens and rotating refresh
 * tokens. A refresh token reads `<id>.<secret>`; the table keeps the SHA-256 of the secret only. Each refresh
 * marks the token used and issues a new one in the same family; presenting a used token again (a stolen
 * copy, or the legitimate client after the thief) revokes the whole family. Access tokens stay valid until
 * they expire (`accessTtlSeconds`, 15 minutes by default): keep that short.
 */
import crypto from 'node:crypto';
import { SignJWT } from 'jose';
import { sql, type Kysely, type Migration } from 'kysely';
import { checkTableName } from './api-keys.js';
import { AccountError } from './errors.js';
import { createJwtVerifier, type JwtVerifier } from './jwt.js';
import { DUMMY_PASSWORD_HASH, MAX_PASSWORD_LENGTH, hashPassword, needsRehash, verifyPassword } from './passwords.js';
import { constantTimeEqual, sha256 } from './timing.js';

export interface AccountTables {
  /** Default `users`. */
  users?: string;
  /** Default `refresh_tokens`. */
  refreshTokens?: string;
}

function splitTable(table: string): [string | undefined, string] {
  checkTableName(table);
  return table.includes('.') ? (table.split('.') as [string, string]) : [undefined, table];
}

/** The migration creating the users table. */
export function usersMigration(table = 'users'): Migration {
  const [schema, name] = splitTable(table);
  const builder = (db: Kysely<any>) => (schema ? db.schema.withSchema(schema) : db.schema);
  return {
    async up(db) {
      await builder(db)
        .createTable(name)
        .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
        .addColumn('email', 'text', (c) => c.notNull().unique())
        .addColumn('password_hash', 'text', (c) => c.notNull())
        .addColumn('scopes', sql`text[]`, (c) => c.notNull().defaultTo(sql`'{}'`))
        .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .execute();
    },
    async down(db) {
      await builder(db).dropTable(name).execute();
    },
  };
}

/** The migration creating the refresh tokens table (after the users table it references). */
export function refreshTokensMigration(tables: AccountTables = {}): Migration {
  const [schema, name] = splitTable(tables.refreshTokens ?? 'refresh_tokens');
  const users = checkTableName(tables.users ?? 'users');
  const builder = (db: Kysely<any>) => (schema ? db.schema.withSchema(schema) : db.schema);
  return {
    async up(db) {
      await builder(db)
        .createTable(name)
        .addColumn('id', 'uuid', (c) => c.primaryKey())
        .addColumn('family_id', 'uuid', (c) => c.notNull())
        .addColumn('user_id', 'uuid', (c) => c.notNull().references(`${users}.id`).onDelete('cascade'))
        .addColumn('hash', 'text', (c) => c.notNull())
        .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
        .addColumn('used_at', 'timestamptz')
        .addColumn('revoked_at', 'timestamptz')
        .execute();
      await builder(db).createIndex(`${name}_family_id_idx`).on(name).column('family_id').execute();
      await builder(db).createIndex(`${name}_user_id_idx`).on(name).column('user_id').execute();
    },
    async down(db) {
      await builder(db).dropTable(name).execute();
    },
  };
}

export const USERS_MIGRATION: Migration = usersMigration();
export const REFRESH_TOKENS_MIGRATION: Migration = refreshTokensMigration();

export interface AccountsOptions {
  jwt: {
    /** HS256 signing secret, at least 32 bytes. */
    secret: string;
    issuer: string;
    audience: string;
    /** Access token lifetime (default 900 seconds). */
    accessTtlSeconds?: number;
    /** Leeway when verifying (default 5 seconds). */
    clockToleranceSeconds?: number;
  };
  /** Refresh token lifetime; each rotation starts a new period (default 30 days). */
  refreshTtlSeconds?: number;
  tables?: AccountTables;
  /** Minimum password length in characters (default 8, NIST SP 800-63B). */
  minPasswordLength?: number;
}

export interface TokenPair {
  accessToken: string;
  tokenType: 'Bearer';
  /** Seconds until the access token expires. */
  expiresIn: number;
  refreshToken: string;
}

export interface Accounts {
  /** Creates a user; `AccountError` `invalid_email`, `weak_password` or `email_taken`. */
  register(email: string, password: string, options?: { scopes?: string[] }): Promise<{ id: string; email: string }>;
  /** `AccountError('invalid_credentials')` for an unknown email or a wrong password alike. */
  login(email: string, password: string): Promise<TokenPair>;
  /** Rotates a refresh token; `invalid_refresh_token`, or `refresh_token_reused` (family revoked). */
  refresh(refreshToken: string): Promise<TokenPair>;
  /** Revokes the token's family; false when the token is not one of ours. */
  logout(refreshToken: string): Promise<boolean>;
  /** Verifies the access tokens issued here (HS256, `typ: at+jwt`, issuer and audience pinned). */
  readonly verifier: JwtVerifier;
}

/** Lower case, trimmed, NFC: the form emails are stored and looked up in. */
export function normalizeEmail(email: string): string {
  return String(email).normalize('NFC').trim().toLowerCase();
}

const EMAIL = /^[^\s@]+@[^\s@]+$/;
const REFRESH_TOKEN = /^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.([A-Za-z0-9_-]{43})$/;
const SCOPE = /^[\x21\x23-\x5B\x5D-\x7E]+$/;

interface TokenRow {
  id: string;
  family_id: string;
  user_id: string;
  hash: string;
  expires_at: Date;
  used_at: Date | null;
  revoked_at: Date | null;
}

export function createAccounts(db: Kysely<any>, options: AccountsOptions): Accounts {
  const users = checkTableName(options.tables?.users ?? 'users');
  const tokens = checkTableName(options.tables?.refreshTokens ?? 'refresh_tokens');
  const { secret, issuer, audience } = options.jwt;
  const accessTtl = options.jwt.accessTtlSeconds ?? 900;
  const refreshTtl = options.refreshTtlSeconds ?? 30 * 24 * 3600;
  const minPasswordLength = options.minPasswordLength ?? 8;
  if (!Number.isInteger(accessTtl) || accessTtl < 1) throw new TypeError('jwt.accessTtlSeconds must be a positive integer');
  if (!Number.isInteger(refreshTtl) || refreshTtl < 1) throw new TypeError('refreshTtlSeconds must be a positive integer');
  if (!Number.isInteger(minPasswordLength) || minPasswordLength < 8) throw new TypeError('minPasswordLength must be an integer of at least 8');
  // Checks the secret (length, not a PEM) and the claims once, at startup.
  const verifier = createJwtVerifier({
    algorithms: ['HS256'],
    issuer,
    audience,
    key: { secret },
    typ: 'at+jwt',
    ...(options.jwt.clockToleranceSeconds !== undefined ? { clockToleranceSeconds: options.jwt.clockToleranceSeconds } : {}),
  });
  const signingKey = new TextEncoder().encode(secret);
  const dummyHash = sha256(crypto.randomBytes(32).toString('base64url'));

  async function accessToken(userId: string, scopes: string[]): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({ scope: scopes.join(' ') })
      .setProtectedHeader({ alg: 'HS256', typ: 'at+jwt' })
      .setSubject(userId)
      .setIssuer(issuer)
      .setAudience(audience)
      .setIssuedAt(now)
      .setExpirationTime(now + accessTtl)
      .setJti(crypto.randomUUID())
      .sign(signingKey);
  }

  /** Inserts a new refresh token of `familyId` and returns it. */
  async function newRefreshToken(executor: Kysely<any>, userId: string, familyId: string): Promise<string> {
    const id = crypto.randomUUID();
    const secretPart = crypto.randomBytes(32).toString('base64url');
    await executor
      .insertInto(tokens)
      .values({ id, family_id: familyId, user_id: userId, hash: sha256(secretPart).toString('base64url'), expires_at: new Date(Date.now() + refreshTtl * 1000) })
      .execute();
    return `${id}.${secretPart}`;
  }

  async function pair(userId: string, scopes: string[], refreshToken: string): Promise<TokenPair> {
    return { accessToken: await accessToken(userId, scopes), tokenType: 'Bearer', expiresIn: accessTtl, refreshToken };
  }

  /** The row of a refresh token whose secret matches (checked in constant time), else undefined. */
  async function findToken(executor: Kysely<any>, token: string, lock: boolean): Promise<TokenRow | undefined> {
    const match = typeof token === 'string' ? REFRESH_TOKEN.exec(token) : null;
    if (!match) return undefined;
    const [, id, secretPart] = match as unknown as [string, string, string];
    let query = executor.selectFrom(tokens).select(['id', 'family_id', 'user_id', 'hash', 'expires_at', 'used_at', 'revoked_at']).where('id', '=', id);
    if (lock) query = query.forUpdate();
    const row = (await query.executeTakeFirst()) as TokenRow | undefined;
    const same = constantTimeEqual(sha256(secretPart), row ? Buffer.from(row.hash, 'base64url') : dummyHash);
    return row && same ? row : undefined;
  }

  async function revokeFamily(executor: Kysely<any>, familyId: string): Promise<void> {
    await executor.updateTable(tokens).set({ revoked_at: sql`now()` }).where('family_id', '=', familyId).where('revoked_at', 'is', null).execute();
  }

  return {
    verifier,

    async register(email, password, registerOptions = {}) {
      const normalized = normalizeEmail(email);
      if (normalized.length > 254 || !EMAIL.test(normalized)) throw new AccountError('invalid_email');
      if (typeof password !== 'string' || [...password].length < minPasswordLength || password.length > MAX_PASSWORD_LENGTH)
        throw new AccountError('weak_password', { message: `The password must have ${minPasswordLength} to ${MAX_PASSWORD_LENGTH} characters` });
      const scopes = registerOptions.scopes ?? [];
      if (!Array.isArray(scopes) || !scopes.every((s) => typeof s === 'string' && SCOPE.test(s))) throw new TypeError('scopes must be a list of scope tokens');
      const passwordHash = await hashPassword(password);
      const row = await db
        .insertInto(users)
        .values({ email: normalized, password_hash: passwordHash, scopes: sql`${sql.val([...new Set(scopes)])}::text[]` })
        .onConflict((oc) => oc.column('email').doNothing())
        .returning('id')
        .executeTakeFirst();
      if (!row) throw new AccountError('email_taken');
      return { id: String(row.id), email: normalized };
    },

    async login(email, password) {
      if (typeof password !== 'string') throw new AccountError('invalid_credentials');
      const normalized = normalizeEmail(email);
      const user = (await db.selectFrom(users).select(['id', 'password_hash', 'scopes']).where('email', '=', normalized).executeTakeFirst()) as
        | { id: string; password_hash: string; scopes: string[] }
        | undefined;
      if (!user) {
        await verifyPassword(password, DUMMY_PASSWORD_HASH);
        throw new AccountError('invalid_credentials');
      }
      if (!(await verifyPassword(password, user.password_hash))) throw new AccountError('invalid_credentials');
      if (needsRehash(user.password_hash)) await db.updateTable(users).set({ password_hash: await hashPassword(password) }).where('id', '=', user.id).execute();
      const refreshToken = await newRefreshToken(db, user.id, crypto.randomUUID());
      return pair(user.id, user.scopes, refreshToken);
    },

    async refresh(refreshToken) {
      // Decided in one transaction (the row locked), thrown after it commits: a reuse must stay revoked.
      type Outcome = { error: 'invalid_refresh_token' | 'refresh_token_reused' } | { user: { id: string; scopes: string[] }; next: string };
      const outcome = await db.transaction().execute(async (trx): Promise<Outcome> => {
        const row = await findToken(trx, refreshToken, true);
        if (!row || row.revoked_at !== null) return { error: 'invalid_refresh_token' };
        if (row.used_at !== null) {
          await revokeFamily(trx, row.family_id);
          return { error: 'refresh_token_reused' };
        }
        if (row.expires_at.getTime() <= Date.now()) return { error: 'invalid_refresh_token' };
        const user = (await trx.selectFrom(users).select(['id', 'scopes']).where('id', '=', row.user_id).executeTakeFirst()) as { id: string; scopes: string[] } | undefined;
        if (!user) return { error: 'invalid_refresh_token' };
        await trx.updateTable(tokens).set({ used_at: sql`now()` }).where('id', '=', row.id).execute();
        return { user, next: await newRefreshToken(trx, user.id, row.family_id) };
      });
      if ('error' in outcome) throw new AccountError(outcome.error);
      return pair(outcome.user.id, outcome.user.scopes, outcome.next);
    },

    async logout(refreshToken) {
      const row = await findToken(db, refreshToken, false);
      if (!row) return false;
      await revokeFamily(db, row.family_id);
      return true;
    },
  };
}
