/**
 * The errors of opening a project's database, as a command reports them: the embedded database held by
 * another process, or a server that cannot be reached or refuses the connection. Anything else is left to
 * the caller (undefined).
 */
import { DatabaseLockedError, unreachableReason } from '../runtime/db/index.js';
import { BackdevError } from '../generators/core/errors.js';

/** `postgres://user@host:port/db` of a connection string, without its password or parameters. */
function serverOf(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.username ? `${decodeURIComponent(u.username)}@` : ''}${u.host}${u.pathname}`;
  } catch {
    return 'the DATABASE_URL server';
  }
}

export function databaseFailure(err: unknown, url: string | undefined): BackdevError | undefined {
  if (err instanceof DatabaseLockedError) return new BackdevError('DATABASE_LOCKED', err.message, { cause: err });
  const reason = url ? unreachableReason(err) : undefined;
  if (reason === undefined || url === undefined) return undefined;
  return new BackdevError('DATABASE_UNREACHABLE', `cannot use the database at ${serverOf(url)}: ${reason}`, {
    cause: err,
    details: [
      `the driver said: ${err instanceof Error && err.message ? err.message : String(err)}`,
      'the URL comes from --database-url or DATABASE_URL (without either, the embedded database in .data/pglite is used)',
    ],
  });
}
