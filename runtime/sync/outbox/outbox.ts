/**
 * The transactional outbox: `enqueue(trx, event)` writes an event in the caller's transaction, beside the
 * data change it reports, so both commit or neither does. Each event gets its idempotency key when it is
 * written (derived from its id unless the caller gives one): the key is in the database before any call is
 * made, and every attempt, by any dispatcher, after any crash, sends that same key.
 */
import { randomUUID } from 'node:crypto';
import { sql, type Kysely, type RawBuilder } from 'kysely';
import { DEFAULT_OUTBOX_TABLE, outboxTableParts, quotedOutboxTable } from './schema.js';

export type OutboxStatus = 'pending' | 'delivered' | 'dead';

export interface OutboxEvent<P = unknown> {
  /** What happened, for the dispatcher's `request` to route on (`order.created`). */
  topic: string;
  /** JSON-serialisable. */
  payload: P;
  /**
   * The key every delivery attempt sends as `Idempotency-Key`. Default `<keyPrefix><id>`. Must be unique
   * in the outbox (a second event with the same key fails the insert).
   */
  idempotencyKey?: string | undefined;
  /** Not delivered before this time (default: now). */
  notBefore?: Date | undefined;
}

export interface OutboxEntry<P = unknown> {
  id: string;
  /** Order of writing. */
  seq: number;
  topic: string;
  payload: P;
  idempotencyKey: string;
  status: OutboxStatus;
  /** Attempts made since the event was written (or last replayed); an attempt that crashed counts. */
  attempts: number;
  /** An earlier attempt may have taken effect without its outcome being known (timeout, dropped response, crash). */
  inDoubt: boolean;
  /** When a pending entry is next due (while one dispatcher holds it: when its hold ends). */
  availableAt: Date;
  lastStatus: number | null;
  lastError: string | null;
  createdAt: Date;
  deliveredAt: Date | null;
  deadAt: Date | null;
}

export interface OutboxCounts {
  pending: number;
  delivered: number;
  dead: number;
  /** Pending entries an earlier attempt of which may have taken effect. */
  inDoubt: number;
}

export interface OutboxOptions {
  /** The database the dispatcher and the inspection methods use (enqueue uses the caller's transaction). */
  db: Kysely<any>;
  /** Default `backdev_outbox` (see `outboxMigration`). */
  table?: string | undefined;
  /** Prefix of the default idempotency key. Default `outbox_`. */
  keyPrefix?: string | undefined;
}

export interface Outbox {
  readonly db: Kysely<any>;
  readonly table: string;
  /**
   * Writes `event` with `trx`: pass the transaction that makes the data change (`db.transaction().execute(
   * async (trx) => { …; await outbox.enqueue(trx, event) })`). Returns its id and idempotency key.
   */
  enqueue<P>(trx: Kysely<any>, event: OutboxEvent<P>): Promise<{ id: string; idempotencyKey: string }>;
  get(id: string): Promise<OutboxEntry | undefined>;
  /** Dead letters, most recent first: what failed, with the last error and the number of attempts. */
  deadLetters(options?: { limit?: number; topic?: string }): Promise<OutboxEntry[]>;
  /**
   * Puts a dead letter back in the queue (attempts from zero, due now, the same idempotency key); false
   * when `id` is not a dead letter.
   */
  replay(id: string): Promise<boolean>;
  counts(): Promise<OutboxCounts>;
  /** Deletes delivered entries older than `olderThanMs`; returns how many. */
  purgeDelivered(olderThanMs: number): Promise<number>;
}

/** A row as both drivers return it (bigint may come back as a string from a driver without parsers). */
export interface OutboxRow {
  id: string;
  seq: number | string;
  topic: string;
  payload: unknown;
  idempotency_key: string;
  status: OutboxStatus;
  attempts: number;
  in_doubt: boolean;
  available_at: Date | string;
  lease_token: string | null;
  last_status: number | null;
  last_error: string | null;
  created_at: Date | string;
  delivered_at: Date | string | null;
  dead_at: Date | string | null;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const date = (v: Date | string): Date => (v instanceof Date ? v : new Date(v));
const maybeDate = (v: Date | string | null): Date | null => (v === null ? null : date(v));

export function toOutboxEntry<P = unknown>(row: OutboxRow): OutboxEntry<P> {
  return {
    id: row.id,
    seq: Number(row.seq),
    topic: row.topic,
    payload: row.payload as P,
    idempotencyKey: row.idempotency_key,
    status: row.status,
    attempts: Number(row.attempts),
    inDoubt: row.in_doubt,
    availableAt: date(row.available_at),
    lastStatus: row.last_status,
    lastError: row.last_error,
    createdAt: date(row.created_at),
    deliveredAt: maybeDate(row.delivered_at),
    deadAt: maybeDate(row.dead_at),
  };
}

export function createOutbox(options: OutboxOptions): Outbox {
  const db = options.db;
  const table = options.table ?? DEFAULT_OUTBOX_TABLE;
  outboxTableParts(table);
  const t: RawBuilder<unknown> = sql.raw(quotedOutboxTable(table));
  const keyPrefix = options.keyPrefix ?? 'outbox_';

  return {
    db,
    table,
    async enqueue(trx, event) {
      if (typeof event.topic !== 'string' || event.topic === '') throw new TypeError('outbox event: topic must be a non-empty string');
      const payload = JSON.stringify(event.payload);
      if (payload === undefined) throw new TypeError(`outbox event ${event.topic}: payload must be JSON-serialisable`);
      const id = randomUUID();
      const idempotencyKey = event.idempotencyKey ?? `${keyPrefix}${id}`;
      if (idempotencyKey === '' || idempotencyKey.length > 255) throw new TypeError('outbox event: idempotencyKey must be 1-255 characters');
      const notBefore = event.notBefore ? event.notBefore.toISOString() : null;
      await sql`INSERT INTO ${t} (id, topic, payload, idempotency_key, available_at)
        VALUES (${id}, ${event.topic}, ${payload}::jsonb, ${idempotencyKey}, coalesce(${notBefore}::timestamptz, now()))`.execute(trx);
      return { id, idempotencyKey };
    },
    async get(id) {
      if (!UUID.test(id)) return undefined;
      const { rows } = await sql<OutboxRow>`SELECT * FROM ${t} WHERE id = ${id}::uuid`.execute(db);
      return rows[0] ? toOutboxEntry(rows[0]) : undefined;
    },
    async deadLetters(query = {}) {
      const limit = Math.max(1, Math.min(query.limit ?? 100, 10_000));
      const topic = query.topic === undefined ? sql`` : sql`AND topic = ${query.topic}`;
      const { rows } = await sql<OutboxRow>`SELECT * FROM ${t} WHERE status = 'dead' ${topic} ORDER BY dead_at DESC, seq DESC LIMIT ${limit}`.execute(db);
      return rows.map((r) => toOutboxEntry(r));
    },
    async replay(id) {
      if (!UUID.test(id)) return false;
      const { rows } = await sql<{ id: string }>`UPDATE ${t}
        SET status = 'pending', attempts = 0, available_at = now(), dead_at = NULL, lease_token = NULL
        WHERE id = ${id}::uuid AND status = 'dead' RETURNING id`.execute(db);
      return rows.length === 1;
    },
    async counts() {
      const { rows } = await sql<{ status: OutboxStatus; n: number | string; doubt: number | string }>`
        SELECT status, count(*) AS n, count(*) FILTER (WHERE in_doubt) AS doubt FROM ${t} GROUP BY status`.execute(db);
      const out: OutboxCounts = { pending: 0, delivered: 0, dead: 0, inDoubt: 0 };
      for (const r of rows) {
        out[r.status] = Number(r.n);
        if (r.status === 'pending') out.inDoubt = Number(r.doubt);
      }
      return out;
    },
    async purgeDelivered(olderThanMs) {
      const { rows } = await sql<{ id: string }>`DELETE FROM ${t}
        WHERE status = 'delivered' AND delivered_at < now() - (${olderThanMs}::double precision * interval '1 millisecond') RETURNING id`.execute(db);
      return rows.length;
    },
  };
}
