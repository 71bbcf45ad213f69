/**
 * Password hashing with scrypt at the OWASP Password Storage Cheat Sheet parameters: N=2^17, r=8, p=1, a
 * 16-byte random salt and a 64-byte derived key, encoded `scrypt$N$r$p$salt$hash` (salt and hash base64url).
 * Each hash takes ~128 MiB of memory for a few hundred milliseconds on the libuv thread pool (4 threads by
 * default, so at most 4 run at once): rate-limit the routes that call it.
 */
import crypto from 'node:crypto';
import { constantTimeEqual } from './timing.js';

export { constantTimeEqual } from './timing.js';

export interface ScryptParams {
  N: number;
  r: number;
  p: number;
}

/** The parameters new hashes use (OWASP: N=2^17, r=8, p=1). */
export const SCRYPT_PARAMS: Readonly<ScryptParams> = Object.freeze({ N: 2 ** 17, r: 8, p: 1 });
const SALT_BYTES = 16;
const KEY_BYTES = 64;
/** Longer passwords are refused (a bound on work per request; 1024 characters is far beyond any passphrase). */
export const MAX_PASSWORD_LENGTH = 1024;

/*
 * Bounds for parameters read back from a stored hash, so that a corrupted or planted row cannot make a
 * verification allocate gigabytes or run for minutes.
 */
const LIMITS = { minLogN: 14, maxLogN: 20, maxR: 32, maxP: 16, minSalt: 16, maxSalt: 64, minKey: 32, maxKey: 128 };

function scrypt(password: string, salt: Buffer, keylen: number, { N, r, p }: ScryptParams): Promise<Buffer> {
  // scrypt needs 128 * N * r * p bytes (plus a little): Node's default maxmem (32 MiB) is too small for N=2^17.
  const maxmem = 128 * N * r * (p + 1) + 1024 * 1024;
  return new Promise((resolve, reject) => {
    crypto.scrypt(password.normalize('NFKC'), salt, keylen, { N, r, p, maxmem }, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

function checkPassword(password: unknown): asserts password is string {
  if (typeof password !== 'string') throw new TypeError('password must be a string');
}

/** Hashes a password for storage: `scrypt$131072$8$1$<salt>$<hash>`. */
export async function hashPassword(password: string): Promise<string> {
  checkPassword(password);
  if (password.length > MAX_PASSWORD_LENGTH) throw new RangeError(`password is longer than ${MAX_PASSWORD_LENGTH} characters`);
  const salt = crypto.randomBytes(SALT_BYTES);
  const key = await scrypt(password, salt, KEY_BYTES, SCRYPT_PARAMS);
  const { N, r, p } = SCRYPT_PARAMS;
  return `scrypt$${N}$${r}$${p}$${salt.toString('base64url')}$${key.toString('base64url')}`;
}

interface ParsedHash extends ScryptParams {
  salt: Buffer;
  hash: Buffer;
}

const B64URL = /^[A-Za-z0-9_-]+$/;

function parseStored(stored: string): ParsedHash | undefined {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return undefined;
  const [, n, r, p, salt, hash] = parts as [string, string, string, string, string, string];
  if (![n, r, p].every((v) => /^[1-9]\d{0,8}$/.test(v)) || !B64URL.test(salt) || !B64URL.test(hash)) return undefined;
  const params = { N: Number(n), r: Number(r), p: Number(p) };
  const logN = Math.log2(params.N);
  if (!Number.isInteger(logN) || logN < LIMITS.minLogN || logN > LIMITS.maxLogN || params.r > LIMITS.maxR || params.p > LIMITS.maxP) return undefined;
  const saltBytes = Buffer.from(salt, 'base64url');
  const hashBytes = Buffer.from(hash, 'base64url');
  if (saltBytes.length < LIMITS.minSalt || saltBytes.length > LIMITS.maxSalt || hashBytes.length < LIMITS.minKey || hashBytes.length > LIMITS.maxKey) return undefined;
  return { ...params, salt: saltBytes, hash: hashBytes };
}

/** Whether `stored` is a hash `verifyPassword` can check. */
export function isPasswordHash(stored: string): boolean {
  return typeof stored === 'string' && parseStored(stored) !== undefined;
}

/**
 * Whether `password` matches `stored` (made by `hashPassword`). Throws a TypeError when `stored` is not such
 * a hash (a bug or corrupted data, not a wrong password).
 */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  checkPassword(password);
  const parsed = typeof stored === 'string' ? parseStored(stored) : undefined;
  if (!parsed) throw new TypeError('stored password hash is not in the scrypt$N$r$p$salt$hash format');
  // An over-long password is hashed anyway (same work as any other), then refused.
  const tooLong = password.length > MAX_PASSWORD_LENGTH;
  const key = await scrypt(tooLong ? '' : password, parsed.salt, parsed.hash.length, parsed);
  return constantTimeEqual(key, parsed.hash) && !tooLong;
}

/** Whether `stored` uses weaker parameters than new hashes (rehash it after a successful login). */
export function needsRehash(stored: string): boolean {
  const parsed = parseStored(stored);
  return !parsed || parsed.N < SCRYPT_PARAMS.N || parsed.r < SCRYPT_PARAMS.r || parsed.p < SCRYPT_PARAMS.p || parsed.hash.length < KEY_BYTES;
}

/**
 * A well-formed hash (random salt and key bytes, no known password) with the current parameters:
 * `verifyPassword(x, DUMMY_PASSWORD_HASH)` costs the same as a real check. Run it when a user does not
 * exist, and ignore its result, so that the absence of the user does not show in the response time.
 */
export const DUMMY_PASSWORD_HASH =
  'scrypt$131072$8$1$oqRKzMw3Iyz-bty7CXD3dQ$iRJheLuBB7zN7EwSW-dLxPW6eMRA3o8VLujyHMRQJ3392SCK41G7mUpsH0WbKOcoRCqbUiufNJPlCMxMQySBFA';
