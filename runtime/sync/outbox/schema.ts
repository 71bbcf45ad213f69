/**
 * The outbox table: one row per event, its delivery state in a status column (`pending`, `delivered`,
 * `dead`: dead letters are the rows with status `dead`). `outboxMigration()` is what a project's migration
 * exports; `outboxSchemaSql()` gives the same statements for migrations written in SQL.
 */
import { sql, type Kysely, type Migration } from 'kysely';

export const DEFAULT_OUTBOX_TABLE = 'backdev_outbox';

export interface OutboxTableOptions {
  /** Table name, optionally schema-qualified (`sync.outbox`). Default `backdev_outbox`. */
  table?: string | undefined;
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/** The table name split into its parts, checked (it is written into SQL as an identifier). */
export function outboxTableParts(table: string = DEFAULT_OUTBOX_TABLE): { schema?: string; name: string } {
  const parts = table.split('.');
  if (parts.length > 2 || !parts.every((p) => NAME.test(p))) {
    throw new TypeError(`outbox table name must be an identifier or schema.identifier (letters, digits, _), got ${JSON.stringify(table)}`);
  }
  return parts.length === 2 ? { schema: parts[0]!, name: parts[1]! } : { name: parts[0]! };
}

const quote = (id: string) => `"${id}"`;

/** The table name quoted for SQL. */
export function quotedOutboxTable(table?: string): string {
  const { schema, name } = outboxTableParts(table);
  return schema ? `${quote(schema)}.${quote(name)}` : quote(name);
}

/** The DDL of the outbox (idempotent: IF NOT EXISTS), one statement per item. */
export function outboxSchemaSql(options: OutboxTableOptions = {}): string[] {
  const { name } = outboxTableParts(options.table);
  const t = quotedOutboxTable(options.table);
  return [
    `CREATE TABLE IF NOT EXISTS ${t} (
  id uuid PRIMARY KEY,
  seq bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
  topic text NOT NULL,
  payload jsonb NOT NULL,
  idempotency_key text NOT NULL UNIQUE,
  status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'dead')),
  attempts integer NOT NULL DEFAULT 0,
  in_doubt boolean NOT NULL DEFAULT false,
  available_at timestamptz NOT NULL DEFAULT now(),
  lease_token uuid,
  last_status integer,
  last_error text,
  created_at timestamptz NOT NULL DEFAULT now(),
  delivered_at timestamptz,
  dead_at timestamptz
)`,
    `CREATE INDEX IF NOT EXISTS ${quote(`${name}_due`)} ON ${t} (available_at, seq) WHERE status = 'pending'`,
    `CREATE INDEX IF NOT EXISTS ${quote(`${name}_dead`)} ON ${t} (dead_at) WHERE status = 'dead'`,
  ];
}

/** Creates the outbox table and its indexes when missing. */
export async function createOutboxTables(db: Kysely<any>, options: OutboxTableOptions = {}): Promise<void> {
  for (const statement of outboxSchemaSql(options)) await sql.raw(statement).execute(db);
}

/** Drops the outbox table (and with it every undelivered event and dead letter). */
export async function dropOutboxTables(db: Kysely<any>, options: OutboxTableOptions = {}): Promise<void> {
  await sql.raw(`DROP TABLE IF EXISTS ${quotedOutboxTable(options.table)}`).execute(db);
}

/**
 * A Kysely migration creating (up) and dropping (down) the outbox. In a project's `db/migrations/NNNN_outbox.ts`:
 *
 *   import { outboxMigration } from 'backdev/runtime/sync';
 *   export const { up, down } = outboxMigration();
 */
export function outboxMigration(options: OutboxTableOptions = {}): Migration {
  outboxTableParts(options.table);
  return {
    up: (db) => createOutboxTables(db, options),
    down: (db) => dropOutboxTables(db, options),
  };
}
