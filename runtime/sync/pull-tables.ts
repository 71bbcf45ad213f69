/**
 * The tables of the pull side: one checkpoint row per (job, stream), the run ledger, and the upstreams'
 * `Retry-After` pauses. A generated project applies them with a migration:
 *
 *   // db/migrations/0005_sync_pull.ts
 *   import { syncPullMigration } from 'backdev/runtime/sync';
 *   export const { up, down } = syncPullMigration();
 */
import { sql, type Kysely, type Migration } from 'kysely';

export const SYNC_STATE_TABLE = 'backdev_sync_state';
export const SYNC_RUNS_TABLE = 'backdev_sync_runs';
export const SYNC_PAUSES_TABLE = 'backdev_sync_pauses';

export interface SyncStateRow {
  job: string;
  stream: string;
  /** The checkpoint (see checkpoint.ts), under 4 KB. */
  state: unknown;
  /** The run that owns the stream now: a page is stored only by its owner (fencing). */
  owner: number | null;
  updated_at: Date;
}

export interface SyncRunRow {
  id: number;
  job: string;
  mode: string;
  /** running | succeeded | failed | interrupted (its process died; marked by the next runner). */
  status: string;
  instance: string;
  started_at: Date;
  finished_at: Date | null;
  pages: number;
  rows: number;
  deleted: number;
  errors: number;
  last_error: string | null;
}

export interface SyncPauseRow {
  upstream: string;
  until: Date;
}

/** The pull tables as Kysely sees them (merge into your `Database` type when you query them). */
export interface SyncPullTables {
  backdev_sync_state: SyncStateRow;
  backdev_sync_runs: SyncRunRow;
  backdev_sync_pauses: SyncPauseRow;
}

async function create(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable(SYNC_STATE_TABLE)
    .ifNotExists()
    .addColumn('job', 'text', (c) => c.notNull())
    .addColumn('stream', 'text', (c) => c.notNull())
    .addColumn('state', 'jsonb', (c) => c.notNull())
    .addColumn('owner', 'bigint')
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint(`${SYNC_STATE_TABLE}_pkey`, ['job', 'stream'])
    .execute();
  await db.schema
    .createTable(SYNC_RUNS_TABLE)
    .ifNotExists()
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('job', 'text', (c) => c.notNull())
    .addColumn('mode', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('instance', 'text', (c) => c.notNull())
    .addColumn('started_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('finished_at', 'timestamptz')
    .addColumn('pages', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('rows', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('deleted', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('errors', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('last_error', 'text')
    .execute();
  await db.schema.createIndex(`${SYNC_RUNS_TABLE}_job_idx`).ifNotExists().on(SYNC_RUNS_TABLE).columns(['job', 'id']).execute();
  await db.schema
    .createTable(SYNC_PAUSES_TABLE)
    .ifNotExists()
    .addColumn('upstream', 'text', (c) => c.primaryKey())
    .addColumn('until', 'timestamptz', (c) => c.notNull())
    .execute();
}

/** The Kysely migration creating (and dropping) the pull tables; `export const { up, down } = syncPullMigration()`. */
export function syncPullMigration(): Migration {
  return {
    up: (db) => create(db),
    async down(db) {
      await db.schema.dropTable(SYNC_PAUSES_TABLE).ifExists().execute();
      await db.schema.dropTable(SYNC_RUNS_TABLE).ifExists().execute();
      await db.schema.dropTable(SYNC_STATE_TABLE).ifExists().execute();
    },
  };
}

/** Creates the pull tables when missing, serialised across processes (tests, scripts, `createTables: true`). */
export async function ensureSyncPullTables(db: Kysely<any>): Promise<void> {
  await db.transaction().execute(async (trx) => {
    await sql`select pg_advisory_xact_lock(${LOCK_SPACE}, 0)`.execute(trx);
    await create(trx);
  });
}

/** The first key of the advisory locks the pull side takes (the second is the job's hash). */
export const LOCK_SPACE = 0x5a7c;
