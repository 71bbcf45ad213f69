/**
 * The de-duplication table of inbound webhooks: one row per event applied, keyed by (source, event id),
 * written in the transaction that applies the event. A project applies it with a migration:
 *
 *   // db/migrations/0006_webhooks.ts
 *   import { webhookMigration } from 'backdev/runtime/sync';
 *   export const { up, down } = webhookMigration();
 */
import { sql, type Kysely, type Migration } from 'kysely';

export const DEFAULT_WEBHOOK_TABLE = 'backdev_webhook_events';

export interface WebhookTableOptions {
  /** Table name, optionally schema-qualified (`sync.webhook_events`). Default `backdev_webhook_events`. */
  table?: string | undefined;
}

/** A row of the de-duplication table. */
export interface WebhookEventRow {
  /** The endpoint's namespace of ids (default the scheme's name: `stripe`, `github`). */
  source: string;
  event_id: string;
  event_type: string | null;
  received_at: Date;
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/** The table name split into its parts, checked (it is written into SQL as an identifier). */
export function webhookTableParts(table: string = DEFAULT_WEBHOOK_TABLE): { schema?: string; name: string } {
  const parts = table.split('.');
  if (parts.length > 2 || !parts.every((p) => NAME.test(p))) {
    throw new TypeError(`webhook de-duplication table must be an identifier or schema.identifier (letters, digits, _), got ${JSON.stringify(table)}`);
  }
  return parts.length === 2 ? { schema: parts[0]!, name: parts[1]! } : { name: parts[0]! };
}

/** The DDL of the de-duplication table (idempotent: IF NOT EXISTS), one statement per item. */
export function webhookSchemaSql(options: WebhookTableOptions = {}): string[] {
  const { schema, name } = webhookTableParts(options.table);
  const t = schema ? `"${schema}"."${name}"` : `"${name}"`;
  return [
    `CREATE TABLE IF NOT EXISTS ${t} (
  source text NOT NULL,
  event_id text NOT NULL,
  event_type text,
  received_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (source, event_id)
)`,
    `CREATE INDEX IF NOT EXISTS "${name}_received" ON ${t} (received_at)`,
  ];
}

/** Creates the de-duplication table when missing (serialised across processes: IF NOT EXISTS alone races). */
export async function createWebhookTables(db: Kysely<any>, options: WebhookTableOptions = {}): Promise<void> {
  const statements = webhookSchemaSql(options);
  await db.transaction().execute(async (trx) => {
    await sql`select pg_advisory_xact_lock(hashtext('backdev_webhook_tables'))`.execute(trx);
    for (const statement of statements) await sql.raw(statement).execute(trx);
  });
}

/** Drops the de-duplication table: events delivered again afterwards are applied again. */
export async function dropWebhookTables(db: Kysely<any>, options: WebhookTableOptions = {}): Promise<void> {
  const { schema, name } = webhookTableParts(options.table);
  await sql.raw(`DROP TABLE IF EXISTS ${schema ? `"${schema}"."${name}"` : `"${name}"`}`).execute(db);
}

/** The Kysely migration creating (up) and dropping (down) the de-duplication table. */
export function webhookMigration(options: WebhookTableOptions = {}): Migration {
  webhookTableParts(options.table);
  return {
    up: async (db) => {
      for (const statement of webhookSchemaSql(options)) await sql.raw(statement).execute(db);
    },
    down: (db) => dropWebhookTables(db, options),
  };
}
