/**
 * Databases for the outbox tests: PGlite in memory by default; with DATABASE_URL, a throwaway database created
 * on that server and dropped afterwards (nothing is written into the database the URL names). `serverDatabase`
 * always uses the PostgreSQL server (DATABASE_URL, else postgres://postgres@127.0.0.1:5432/test).
 */
import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import pg from 'pg';
import { createDatabase } from '../../../runtime/db/index.js';

export const SERVER_URL = process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test';

export async function adminQuery(text: string): Promise<pg.QueryResult> {
  const client = new pg.Client({ connectionString: SERVER_URL, connectionTimeoutMillis: 3_000 });
  client.on('error', () => {});
  await client.connect();
  try {
    return await client.query(text);
  } finally {
    await client.end();
  }
}

export async function serverAvailable(): Promise<boolean> {
  return adminQuery('SELECT 1').then(
    () => true,
    () => false,
  );
}

export interface TestDatabase {
  db: Kysely<any>;
  /** The URL of the throwaway database (server only). */
  url?: string;
  kind: 'pglite' | 'postgres';
  drop(): Promise<void>;
}

/** A throwaway database on the server: `bd_outbox_<random>`. */
export async function serverDatabase(poolSize = 5): Promise<TestDatabase & { url: string }> {
  const name = `bd_outbox_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
  await adminQuery(`CREATE DATABASE ${name}`);
  const url = new URL(SERVER_URL);
  url.pathname = `/${name}`;
  const db = createDatabase<any>({ url: url.toString(), poolSize });
  return {
    db,
    url: url.toString(),
    kind: 'postgres',
    async drop() {
      await db.destroy().catch(() => {});
      await adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    },
  };
}

export async function testDatabase(): Promise<TestDatabase> {
  if (process.env.DATABASE_URL) return serverDatabase();
  const db = createDatabase<any>({ url: null, dataDir: 'memory://' });
  return { db, kind: 'pglite', drop: () => db.destroy() };
}
