/**
 * Constant-time comparison. Every secret comparison in backdev/runtime/auth (API key hashes, refresh token
 * hashes, password hashes) goes through `constantTimeEqual`, which calls `crypto.timingSafeEqual` on the
 * module object (not a destructured binding) so tests can observe it.
 */
import crypto from 'node:crypto';

/**
 * Whether `a` and `b` hold the same bytes, in time that does not depend on where they differ.
 * `crypto.timingSafeEqual` throws on inputs of different lengths, and branching on the length first would
 * return early; instead both sides are hashed to 32-byte SHA-256 digests, which are always compared in full
 * (equal digests mean equal inputs). Only the lengths of the inputs influence the time taken.
 */
export function constantTimeEqual(a: Buffer, b: Buffer): boolean {
  const da = crypto.createHash('sha256').update(a).digest();
  const db = crypto.createHash('sha256').update(b).digest();
  return crypto.timingSafeEqual(da, db);
}

/** SHA-256 of a UTF-8 string, as bytes. */
export function sha256(value: string): Buffer {
  return crypto.createHash('sha256').update(value, 'utf8').digest();
}
