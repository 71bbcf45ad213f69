/**
 * The PostgreSQL server tests use (DATABASE_URL, else the local one), and whether it answers. Tests work in
 * databases of their own on it, never in the tables of the database the URL names (test/global-setup.ts
 * fails the run when one is left there).
 */
import pg from 'pg';

export const PG_SERVER = process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test';

/** Whether the server answers; with CI=true an unreachable server throws (`what` says which tests need it). */
export async function postgresReachable(what: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: PG_SERVER, connectionTimeoutMillis: 3_000 });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.end();
    return true;
  } catch {
    if (process.env.CI === 'true') throw new Error(`PostgreSQL not reachable at ${new URL(PG_SERVER).host} (CI=true: ${what} must run)`);
    return false;
  }
}

/** The URL of database `name` on the server. */
export function databaseUrl(name: string): string {
  return Object.assign(new URL(PG_SERVER), { pathname: `/${name}` }).href;
}
