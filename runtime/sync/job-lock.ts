/**
 * One runner per job across instances: a session-level PostgreSQL advisory lock taken on the connection
 * that then does all of the run's writes. If that session dies (the process is killed, the network drops)
 * PostgreSQL releases the lock, and the same session loss makes any further write of the old runner fail:
 * a runner can never write after losing its lock.
 */
import { sql, type Kysely } from 'kysely';
import { LOCK_SPACE } from './pull-tables.js';
import { delay } from './token-bucket.js';

/** The job name as the second 32-bit key of the lock (FNV-1a, signed). */
export function jobLockKey(job: string): number {
  let h = 0x811c9dc5;
  for (const byte of Buffer.from(job, 'utf8')) {
    h ^= byte;
    h = Math.imul(h, 0x01000193);
  }
  return h | 0;
}

export async function tryJobLock(conn: Kysely<any>, job: string): Promise<boolean> {
  const { rows } = await sql<{ ok: boolean }>`select pg_try_advisory_lock(${LOCK_SPACE}::int, ${jobLockKey(job)}::int) as ok`.execute(conn);
  return rows[0]?.ok === true;
}

export async function releaseJobLock(conn: Kysely<any>, job: string): Promise<void> {
  await sql`select pg_advisory_unlock(${LOCK_SPACE}::int, ${jobLockKey(job)}::int)`.execute(conn);
}

/**
 * Takes the job's lock on `conn`, polling every `pollMs` while another instance holds it (`onWait` is
 * called once, before the first wait). With `wait: false`, resolves false at once when it is taken.
 */
export async function acquireJobLock(
  conn: Kysely<any>,
  job: string,
  options: { wait: boolean; pollMs: number; signal?: AbortSignal; onWait?: () => void },
): Promise<boolean> {
  let waited = false;
  for (;;) {
    options.signal?.throwIfAborted();
    if (await tryJobLock(conn, job)) return true;
    if (!options.wait) return false;
    if (!waited) {
      waited = true;
      options.onWait?.();
    }
    await delay(options.pollMs, options.signal);
  }
}
