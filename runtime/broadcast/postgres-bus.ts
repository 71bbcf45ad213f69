/**
 * The PostgreSQL bus: several instances of a server share one ordered log per topic in two tables, with
 * LISTEN/NOTIFY as the wake-up.
 *
 *   const bus = createPostgresBus({ db: process.env.DATABASE_URL! });            // its own small pool
 *   const bus = createPostgresBus({ db: kysely, listen: process.env.DATABASE_URL! }); // queries on your Kysely
 *
 * Layout (`<p>` is `tablePrefix`, default `backdev_broadcast`), created by `start()` with IF NOT EXISTS under an
 * advisory lock, unless `createTables: false` (then put `postgresBusSchemaSql(prefix)` in a migration):
 * - `<p>_topics (topic text primary key, epoch text, last_offset bigint)`: one row per topic, the counter.
 * - `<p>_messages (topic, epoch, "offset", data text, created_at timestamptz, primary key (topic, "offset"))`.
 *
 * Publishes are stored by one statement: an upsert that increments the topic's counter and returns it (the row
 * lock orders concurrent publishes of a topic), the insert of the message with that offset, and `pg_notify` —
 * all in one transaction, so a failed insert rolls the counter back (no hole) and the notification goes out
 * only when the row is committed. Publishes that arrive while a statement is in flight wait and then go
 * together in the next one, several topics at once (one round trip, one commit, one notification per topic);
 * each resolves with its own offset once its row is committed. Commits of one topic happen in offset order,
 * and PostgreSQL delivers notifications in commit order. The notification carries only `<first offset> <last
 * offset> <epoch> <topic>` (the offsets the statement stored): every instance then reads the rows after the
 * last offset it delivered for that topic, so messages of any size work (NOTIFY payloads stop at 8000 bytes)
 * and several notifications arriving together cost one query.
 *
 * A missing topic row is a new epoch (a truncated or recreated table): offsets start again at 1, and rows
 * left from an older epoch are deleted when they are in the way. Retention is applied on every read (rows
 * older than `maxAgeMs`, or more than `maxMessages` behind the last offset, count as gone) and rows are
 * deleted every `trimIntervalMs` by one instance at a time.
 *
 * LISTEN runs on a dedicated connection (pg Client). When it drops the bus emits `down`, reconnects with
 * backoff, LISTENs again, reads every topic it delivered or was told of from the last offset it delivered,
 * and only then emits `up`. Publishes use the pool and fail while the server is away. A read after a
 * notification that fails is tried again with backoff; one that keeps failing for `readRetryMs` is handled
 * like a dropped LISTEN connection. An instance without `onMessage` listeners reads nothing.
 */
import { randomUUID } from 'node:crypto';
import { CompiledQuery, type Kysely } from 'kysely';
import pg from 'pg';
import { DEFAULT_RETENTION, type Bus, type BusEvent, type BusMessage, type ReadResult, type Retention, type TopicPosition } from './bus.js';
import { createListeners, recordDelivered } from './listeners.js';

export interface PostgresBusOptions {
  /** The database: a connection string (the bus opens a pool of `poolSize`) or a Kysely instance on pg. */
  db: Kysely<any> | string;
  /** The dedicated LISTEN connection: a connection string or pg client config. Default: `db` when it is a string. */
  listen?: string | pg.ClientConfig;
  /** Prefix of the two tables and the NOTIFY channel: letters, digits, `_`; default `backdev_broadcast`. */
  tablePrefix?: string;
  /** Whether `start()` creates the tables when missing (default true); false when a migration does. */
  createTables?: boolean;
  /** Defaults to `DEFAULT_RETENTION` (10,000 messages, 2 minutes per topic). */
  retention?: Partial<Retention>;
  /** How often old rows are deleted; default the smaller of `maxAgeMs` and 30 s. */
  trimIntervalMs?: number;
  /** Reconnection backoff of the LISTEN connection (doubling with jitter): default 100 ms to 5 s. */
  reconnect?: { minDelayMs?: number; maxDelayMs?: number };
  /** A `SELECT 1` on the LISTEN connection this often finds a dead connection; default 15 s (0: off). */
  heartbeatMs?: number;
  /** Size of the pool the bus opens for a connection string; default 5. */
  poolSize?: number;
  /** How many topics the bus remembers a delivered offset for (least recently used dropped); default 100,000. */
  maxTrackedTopics?: number;
  /** Messages per query when delivering or catching up; default 500. */
  pageSize?: number;
  /**
   * How long a read after a notification is retried with backoff while it fails (a query timeout, an
   * exhausted pool, a cut pool connection) before the bus handles it like a lost connection: `down`, reconnect,
   * catch-up, `up`; default 10 s.
   */
  readRetryMs?: number;
}

const IDENTIFIER = /^[a-z_][a-z0-9_]{0,39}$/;

function validPrefix(prefix: string): string {
  if (!IDENTIFIER.test(prefix)) throw new TypeError(`postgres bus: tablePrefix must be 1 to 40 lowercase letters, digits or _, starting with a letter or _ (got ${JSON.stringify(prefix)})`);
  return prefix;
}

/** The DDL of the bus's tables, for a migration (idempotent: IF NOT EXISTS). */
export function postgresBusSchemaSql(tablePrefix = 'backdev_broadcast'): string {
  const p = validPrefix(tablePrefix);
  return [
    `CREATE TABLE IF NOT EXISTS ${p}_topics (topic text PRIMARY KEY, epoch text NOT NULL, last_offset bigint NOT NULL)`,
    `CREATE TABLE IF NOT EXISTS ${p}_messages (topic text NOT NULL, epoch text NOT NULL, "offset" bigint NOT NULL, data text NOT NULL, created_at timestamptz NOT NULL DEFAULT clock_timestamp(), PRIMARY KEY (topic, "offset"))`,
    `CREATE INDEX IF NOT EXISTS ${p}_messages_created_at ON ${p}_messages (created_at)`,
  ].join(';\n');
}

function validRetention(partial: Partial<Retention> | undefined): Retention {
  const retention = { ...DEFAULT_RETENTION, ...partial };
  if (!(Number.isInteger(retention.maxMessages) && retention.maxMessages >= 1)) throw new TypeError('retention.maxMessages must be a positive integer');
  if (!(Number.isInteger(retention.maxAgeMs) && retention.maxAgeMs >= 1)) throw new TypeError('retention.maxAgeMs must be a positive integer (ms)');
  return retention;
}

/** A stable 32-bit key for the advisory locks of one prefix. */
function lockKey(text: string): number {
  let h = 0;
  for (let i = 0; i < text.length; i++) h = (Math.imul(h, 31) + text.charCodeAt(i)) | 0;
  return h;
}

interface Tracked {
  epoch: string;
  offset: number;
}

interface Wanted extends Tracked {
  /** For a topic not delivered before: the offset its delivery starts after. */
  from: number;
}

interface Pending {
  readonly topic: string;
  readonly data: string;
  resolve(message: BusMessage): void;
  reject(error: unknown): void;
}

type Query = (text: string, params?: unknown[]) => Promise<Array<Record<string, unknown>>>;

export function createPostgresBus(options: PostgresBusOptions): Bus {
  const p = validPrefix(options.tablePrefix ?? 'backdev_broadcast');
  const retention = validRetention(options.retention);
  const listenConfig: pg.ClientConfig | undefined =
    typeof options.listen === 'string' ? { connectionString: options.listen } : options.listen ?? (typeof options.db === 'string' ? { connectionString: options.db } : undefined);
  if (!listenConfig) throw new TypeError('postgres bus: give `listen` (a connection string) for the LISTEN connection when `db` is a Kysely instance');
  const minDelay = options.reconnect?.minDelayMs ?? 100;
  const maxDelay = Math.max(minDelay, options.reconnect?.maxDelayMs ?? 5_000);
  const heartbeatMs = options.heartbeatMs ?? 15_000;
  const trimIntervalMs = options.trimIntervalMs ?? Math.min(retention.maxAgeMs, 30_000);
  const maxTracked = options.maxTrackedTopics ?? 100_000;
  const pageSize = options.pageSize ?? 500;
  const readRetryMs = options.readRetryMs ?? 10_000;
  const channel = p;
  const topicsTable = `${p}_topics`;
  const messagesTable = `${p}_messages`;

  const SQL = {
    /**
     * Messages of several topics in one statement: $1 the distinct topics (sorted, so that concurrent
     * statements lock topic rows in one order), $2 a fresh epoch for each, $3 how many messages each has; $4
     * the data of every message in call order, $5 the index of its topic in $1. Returns each topic's epoch and
     * new last offset: its messages are the last $3 offsets, in call order.
     */
    publish: `WITH c AS (SELECT topic, epoch, n, i FROM unnest($1::text[], $2::text[], $3::int[]) WITH ORDINALITY AS c(topic, epoch, n, i)),
      t AS (
        INSERT INTO ${topicsTable} AS t (topic, epoch, last_offset) SELECT topic, epoch, n FROM c ORDER BY i
        ON CONFLICT (topic) DO UPDATE SET last_offset = t.last_offset + excluded.last_offset
        RETURNING t.topic, t.epoch, t.last_offset
      ), m AS (
        INSERT INTO ${messagesTable} (topic, epoch, "offset", data)
        SELECT t.topic, t.epoch, t.last_offset - c.n + d.j, d.data
        FROM (SELECT data, ti, row_number() OVER (PARTITION BY ti ORDER BY k) AS j FROM unnest($4::text[], $5::int[]) WITH ORDINALITY AS d(data, ti, k)) d
        JOIN c ON c.i = d.ti JOIN t ON t.topic = c.topic
      )
      SELECT t.topic, t.epoch, t.last_offset,
        pg_notify($6::text, (t.last_offset - c.n + 1) || ' ' || t.last_offset || ' ' || t.epoch || ' ' || t.topic) AS notified
      FROM t JOIN c ON c.topic = t.topic`,
    /** Rows of older epochs in the way of a new epoch's offsets. */
    clearStale: `DELETE FROM ${messagesTable} m WHERE m.topic = ANY($1::text[])
      AND NOT EXISTS (SELECT 1 FROM ${topicsTable} t WHERE t.topic = m.topic AND t.epoch = m.epoch)`,
    position: `SELECT epoch, last_offset FROM ${topicsTable} WHERE topic = $1::text`,
    createTopic: `INSERT INTO ${topicsTable} AS t (topic, epoch, last_offset) VALUES ($1::text, $2::text, 0)
      ON CONFLICT (topic) DO UPDATE SET topic = t.topic RETURNING epoch, last_offset`,
    read: `SELECT t.epoch, t.last_offset, m."offset", m.data FROM ${topicsTable} t
      LEFT JOIN LATERAL (
        SELECT "offset", data FROM ${messagesTable}
        WHERE topic = t.topic AND epoch = t.epoch AND "offset" > $3::bigint AND "offset" > t.last_offset - $5::bigint
          AND created_at >= now() - $6::double precision * interval '1 millisecond'
        ORDER BY "offset" LIMIT $4::int
      ) m ON true
      WHERE t.topic = $1::text AND t.epoch = $2::text`,
    positions: `SELECT topic, epoch, last_offset FROM ${topicsTable} WHERE topic = ANY($1::text[])`,
    trim: `DO $trim$ BEGIN
        IF pg_try_advisory_xact_lock(${lockKey(`${p}:trim`)}) THEN
          DELETE FROM ${messagesTable} WHERE created_at < now() - ${retention.maxAgeMs} * interval '1 millisecond';
          DELETE FROM ${messagesTable} m USING ${topicsTable} t
            WHERE m.topic = t.topic AND (m.epoch <> t.epoch OR m."offset" <= t.last_offset - ${retention.maxMessages});
        END IF;
      END $trim$`,
    schema: `SELECT pg_advisory_xact_lock(${lockKey(`${p}:schema`)});\n${postgresBusSchemaSql(p)}`,
  };

  let pool: pg.Pool | undefined;
  let query: Query;
  if (typeof options.db === 'string') {
    const ownPool = new pg.Pool({ connectionString: options.db, max: options.poolSize ?? 5, connectionTimeoutMillis: 10_000 });
    // An idle connection cut by the server must not crash the process; the next query reconnects.
    ownPool.on('error', () => {});
    pool = ownPool;
    query = async (text, params) => (await ownPool.query(text, params as unknown[])).rows as Array<Record<string, unknown>>;
  } else {
    const db = options.db;
    query = async (text, params) => (await db.executeQuery(CompiledQuery.raw(text, params ?? []))).rows as Array<Record<string, unknown>>;
  }

  const messageListeners = createListeners<BusMessage>();
  const eventListeners = createListeners<BusEvent>();
  /** Last offset delivered per topic. */
  const tracked = new Map<string, Tracked>();
  /** Highest offset announced per topic and not delivered yet. */
  const wanted = new Map<string, Wanted>();
  const draining = new Map<string, Promise<void>>();

  let starting: Promise<void> | undefined;
  let started = false;
  let closed = false;
  let listener: pg.Client | undefined;
  let down = false;
  let attempts = 0;
  let lastError: Error | undefined;
  let reconnectTimer: NodeJS.Timeout | undefined;
  let heartbeatTimer: NodeJS.Timeout | undefined;
  let trimTimer: NodeJS.Timeout | undefined;

  const asError = (error: unknown) => (error instanceof Error ? error : new Error(String(error)));

  const emit = (event: BusEvent) => eventListeners.emit(event);


  const deliver = (message: BusMessage) => {
    recordDelivered(tracked, maxTracked, message);
    messageListeners.emit(message);
  };


  async function readLog(topic: string, epoch: string, after: number, limit: number): Promise<ReadResult> {
    const rows = await query(SQL.read, [topic, epoch, after, Math.max(1, Math.floor(limit)), retention.maxMessages, retention.maxAgeMs]);
    if (rows.length === 0) return { messages: [], complete: false }; // no such topic, or another epoch
    const last = Number(rows[0]!.last_offset);
    if (after > last) return { messages: [], complete: false };
    if (after === last) return { messages: [], complete: true };
    const messages: BusMessage[] = [];
    for (const row of rows) {
      if (row.offset === null) break;
      const offset = Number(row.offset);
      if (messages.length > 0 && offset !== messages[messages.length - 1]!.offset + 1) break;
      messages.push({ topic, epoch, offset, data: String(row.data) });
    }
    const complete = messages.length > 0 && messages[0]!.offset === after + 1;
    return { messages: limit >= 1 ? messages : [], complete };
  }

  /**
   * Delivers what the table holds of `topic` up to what was announced; one loop per topic at a time. A read
   * that fails is tried again with backoff, from what was delivered meanwhile, for up to `readRetryMs`; then
   * the loop rejects (the announcement stays) and the caller handles it like a lost connection.
   */
  function drain(topic: string): Promise<void> {
    const running = draining.get(topic);
    if (running) return running;
    const task = (async () => {
      let failingSince: number | undefined;
      let attempt = 0;
      try {
        while (!closed) {
          const want = wanted.get(topic);
          if (!want) return;
          const known = tracked.get(topic);
          const after = !known ? want.from : known.epoch !== want.epoch ? 0 : known.offset;
          if (after >= want.offset) {
            if (wanted.get(topic) === want) wanted.delete(topic);
            continue;
          }
          let messages: readonly BusMessage[];
          try {
            ({ messages } = await readLog(topic, want.epoch, after, Math.min(pageSize, want.offset - after)));
          } catch (error) {
            lastError = asError(error);
            failingSince ??= Date.now();
            const left = failingSince + readRetryMs - Date.now();
            if (closed || left <= 0) throw lastError;
            const delay = Math.min(maxDelay, minDelay * 2 ** Math.min(attempt++, 10), left);
            await new Promise((resolve) => setTimeout(resolve, delay).unref());
            continue;
          }
          failingSince = undefined;
          attempt = 0;
          const next = messages.filter((m) => m.offset > after);
          if (next.length === 0) {
            // Trimmed, or the epoch changed again: nothing to deliver; the hub reports the hole it sees.
            if (wanted.get(topic) === want) wanted.delete(topic);
            continue;
          }
          for (const m of next) deliver(m);
        }
      } finally {
        draining.delete(topic);
      }
    })();
    draining.set(topic, task);
    return task;
  }

  /** Drains `topic`; when its reads keep failing, the LISTEN connection is dropped: `down`, reconnect, catch-up. */
  function startDrain(topic: string): void {
    drain(topic).catch((error: unknown) => {
      lastError = asError(error);
      if (listener) lost(listener, lastError);
    });
  }

  /** Offsets `first` to `offset` of `topic` are stored: deliver them (and anything before not delivered yet). */
  function announce(topic: string, epoch: string, first: number, offset: number): void {
    const known = tracked.get(topic);
    if (known && known.epoch === epoch && known.offset >= offset) return;
    const want = wanted.get(topic);
    if (!want || want.epoch !== epoch) wanted.set(topic, { epoch, offset, from: first - 1 });
    else {
      if (want.offset < offset) want.offset = offset;
      if (want.from > first - 1) want.from = first - 1;
    }
    startDrain(topic);
  }

  function onNotification(msg: pg.Notification): void {
    // Nobody to deliver to (an instance that only publishes): no reads. A listener added later starts from
    // the next notification of each topic, like a new instance.
    if (closed || msg.channel !== channel || !msg.payload || messageListeners.size === 0) return;
    // `<first offset> <last offset> <epoch> <topic>`: the offsets one statement stored.
    const s1 = msg.payload.indexOf(' ');
    const s2 = msg.payload.indexOf(' ', s1 + 1);
    const s3 = msg.payload.indexOf(' ', s2 + 1);
    if (s1 < 0 || s2 < 0 || s3 < 0) return;
    const first = Number(msg.payload.slice(0, s1));
    const offset = Number(msg.payload.slice(s1 + 1, s2));
    if (!Number.isSafeInteger(first) || !Number.isSafeInteger(offset) || first < 1 || first > offset) return;
    announce(msg.payload.slice(s3 + 1), msg.payload.slice(s2 + 1, s3), first, offset);
  }

  /** Reads every known topic from the last offset delivered. */
  async function catchUp(): Promise<void> {
    const topics = [...tracked.keys()];
    for (let i = 0; i < topics.length; i += 1000) {
      const rows = await query(SQL.positions, [topics.slice(i, i + 1000)]);
      for (const row of rows) {
        const last = Number(row.last_offset);
        const epoch = String(row.epoch);
        const known = tracked.get(String(row.topic));
        if (!known || last === 0) continue;
        if (known.epoch !== epoch || last > known.offset) announce(String(row.topic), epoch, last, last);
      }
    }
    // Announced topics not delivered yet (a drain that gave up, a topic new to this instance) are read too.
    const drains = [...wanted.keys()].map((topic) => drain(topic));
    await Promise.all(drains);
    // A drain that failed left its announcement: fail the catch-up so that it is tried again.
    for (const [topic] of wanted) if (!draining.has(topic)) throw lastError ?? new Error(`postgres bus: could not read ${topic}`);
  }

  function backoff(): number {
    const ceiling = Math.min(maxDelay, minDelay * 2 ** Math.min(20, attempts));
    attempts++;
    return Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
  }

  async function openListener(): Promise<pg.Client> {
    const client = new pg.Client({ application_name: 'backdev-broadcast-listen', keepAlive: true, ...listenConfig });
    client.on('error', (error) => lost(client, error));
    client.on('end', () => lost(client));
    client.on('notification', onNotification);
    try {
      await client.connect();
      await client.query(`LISTEN ${channel}`);
    } catch (error) {
      client.removeAllListeners('end');
      client.on('error', () => {});
      void client.end().catch(() => {});
      throw error;
    }
    return client;
  }

  function lost(client: pg.Client, error?: Error): void {
    if (error) lastError = error;
    if (client !== listener || closed) return;
    listener = undefined;
    client.removeAllListeners('notification');
    client.on('error', () => {});
    void client.end().catch(() => {});
    if (!down) {
      down = true;
      emit({ type: 'down', error: lastError ?? new Error('postgres bus: LISTEN connection closed') });
    }
    scheduleReconnect();
  }

  function scheduleReconnect(): void {
    if (closed || reconnectTimer) return;
    reconnectTimer = setTimeout(() => {
      reconnectTimer = undefined;
      void reconnect();
    }, backoff());
  }

  async function reconnect(): Promise<void> {
    if (closed || listener) return;
    let client: pg.Client;
    try {
      client = await openListener();
    } catch (error) {
      lastError = asError(error);
      scheduleReconnect();
      return;
    }
    if (closed) {
      void client.end().catch(() => {});
      return;
    }
    listener = client;
    try {
      // Listening again before reading, so nothing committed in between is missed.
      await catchUp();
    } catch (error) {
      lastError = asError(error);
      if (listener === client) lost(client, lastError);
      return;
    }
    if (listener !== client || closed) return;
    attempts = 0;
    if (down) {
      down = false;
      emit({ type: 'up' });
    }
  }

  function heartbeat(): void {
    const client = listener;
    if (!client || closed) return;
    let answered = false;
    const timer = setTimeout(() => {
      if (!answered) lost(client, new Error('postgres bus: the LISTEN connection did not answer'));
    }, Math.max(1_000, heartbeatMs));
    client.query('SELECT 1').then(
      () => {
        answered = true;
        clearTimeout(timer);
      },
      (error: unknown) => {
        answered = true;
        clearTimeout(timer);
        lost(client, asError(error));
      },
    );
  }

  async function trim(): Promise<void> {
    try {
      await query(SQL.trim);
    } catch (error) {
      lastError = asError(error);
    }
  }

  async function connect(): Promise<void> {
    if (options.createTables !== false) await query(SQL.schema);
    const client = await openListener();
    if (closed) {
      void client.end().catch(() => {});
      throw new Error('postgres bus: closed');
    }
    listener = client;
    started = true;
    if (heartbeatMs > 0) {
      heartbeatTimer = setInterval(heartbeat, heartbeatMs);
      heartbeatTimer.unref();
    }
    trimTimer = setInterval(() => void trim(), trimIntervalMs);
    trimTimer.unref();
  }

  async function topicRow(topic: string): Promise<TopicPosition> {
    const rows = await query(SQL.position, [topic]);
    const row = rows[0] ?? (await query(SQL.createTopic, [topic, randomUUID()]))[0]!;
    return { epoch: String(row.epoch), offset: Number(row.last_offset) };
  }

  /**
   * Publishes waiting to be stored, in call order. Whatever is waiting goes in one statement (up to 1,000
   * messages or 1 MB), topics mixed: one round trip, one commit, one notification per topic. At most one
   * statement per topic is in flight, so a topic's offsets follow the order of the calls on this instance;
   * statements for other topics may run beside it (up to `MAX_STATEMENTS`).
   */
  let outbox: Pending[] = [];
  /** Topics with a statement in flight. */
  const storing = new Set<string>();
  let statements = 0;
  let flushQueued = false;
  const MAX_STATEMENTS = 4;
  const MAX_BATCH = 1_000;
  const MAX_BATCH_BYTES = 1_000_000;

  /** Stores `batch` in one statement; resolves with each message's position, in the batch's order. */
  async function insert(batch: readonly Pending[]): Promise<BusMessage[]> {
    const topics = [...new Set(batch.map((b) => b.topic))].sort();
    const index = new Map(topics.map((t, i) => [t, i]));
    const counts = topics.map(() => 0);
    const topicIndex = batch.map((b) => {
      const i = index.get(b.topic)!;
      counts[i]!++;
      return i + 1;
    });
    const params = [topics, topics.map(() => randomUUID()), counts, batch.map((b) => b.data), topicIndex, channel];
    let rows: Array<Record<string, unknown>>;
    try {
      rows = await query(SQL.publish, params);
    } catch (error) {
      // 23505 on the messages' key: rows of an older epoch (a topic row was lost) are in the way.
      if ((error as { code?: string }).code !== '23505') throw error;
      await query(SQL.clearStale, [topics]);
      rows = await query(SQL.publish, params);
    }
    const next = new Map<string, { epoch: string; offset: number }>();
    for (const row of rows) {
      const topic = String(row.topic);
      next.set(topic, { epoch: String(row.epoch), offset: Number(row.last_offset) - counts[index.get(topic)!]! + 1 });
    }
    return batch.map((b) => {
      const at = next.get(b.topic);
      if (!at) throw new Error(`postgres bus: no position returned for ${b.topic}`);
      return { topic: b.topic, epoch: at.epoch, offset: at.offset++, data: b.data };
    });
  }

  async function store(batch: readonly Pending[]): Promise<void> {
    try {
      if (closed) throw new Error('postgres bus: closed');
      const stored = await insert(batch);
      batch.forEach((b, i) => b.resolve(stored[i]!));
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      // The server refused the statement itself (bad data, a constraint): nothing was stored, so the
      // messages are tried one by one, in call order, and only the bad one fails. After a connection error the
      // outcome is unknown: all of them fail, none is sent twice.
      const refused = typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) && !/^(08|57|53|58|XX)/.test(code);
      if (refused && batch.length > 1) {
        for (const b of batch) {
          try {
            b.resolve((await insert([b]))[0]!);
          } catch (one) {
            b.reject(one);
          }
        }
      } else for (const b of batch) b.reject(error);
    }
  }

  /** Starts statements for what waits, as long as fewer than `MAX_STATEMENTS` are in flight. */
  function flush(): void {
    flushQueued = false;
    while (statements < MAX_STATEMENTS && outbox.length > 0) {
      const batch: Pending[] = [];
      const rest: Pending[] = [];
      // A topic already being stored waits, and so does everything after its first message left behind.
      const blocked = new Set(storing);
      let bytes = 0;
      let i = 0;
      for (; i < outbox.length && batch.length < MAX_BATCH; i++) {
        const item = outbox[i]!;
        if (blocked.has(item.topic) || (batch.length > 0 && bytes + item.data.length > MAX_BATCH_BYTES)) {
          blocked.add(item.topic);
          rest.push(item);
          continue;
        }
        batch.push(item);
        bytes += item.data.length;
      }
      if (batch.length === 0) return;
      outbox = i < outbox.length ? rest.concat(outbox.slice(i)) : rest;
      const topics = new Set(batch.map((b) => b.topic));
      for (const t of topics) storing.add(t);
      statements++;
      void store(batch).finally(() => {
        statements--;
        for (const t of topics) storing.delete(t);
        scheduleFlush();
      });
    }
  }

  /** Flushes once the current turn's publishes are queued, so that they share a statement. */
  function scheduleFlush(): void {
    if (flushQueued || outbox.length === 0) return;
    flushQueued = true;
    queueMicrotask(flush);
  }

  const ensureOpen = () => {
    if (closed) throw new Error('postgres bus: closed');
    if (!started) throw new Error('postgres bus: not started');
  };

  return {
    start() {
      if (closed) return Promise.reject(new Error('postgres bus: closed'));
      starting ??= connect().catch((error: unknown) => {
        starting = undefined;
        throw error;
      });
      return starting;
    },
    async close() {
      if (closed) return;
      closed = true;
      clearTimeout(reconnectTimer);
      clearInterval(heartbeatTimer);
      clearInterval(trimTimer);
      const client = listener;
      listener = undefined;
      if (client) {
        client.removeAllListeners('notification');
        client.removeAllListeners('end');
        client.on('error', () => {});
        await client.end().catch(() => {});
      }
      await pool?.end().catch(() => {});
      messageListeners.clear();
      eventListeners.clear();
      wanted.clear();
    },
    async publish(topic, data) {
      ensureOpen();
      if (typeof topic !== 'string' || typeof data !== 'string') throw new TypeError('postgres bus: topic and data must be strings');
      return new Promise<BusMessage>((resolve, reject) => {
        outbox.push({ topic, data, resolve, reject });
        scheduleFlush();
      });
    },
    onMessage: (listener) => messageListeners.add(listener),
    async position(topic) {
      ensureOpen();
      return topicRow(topic);
    },
    async read(topic, epoch, after, limit) {
      ensureOpen();
      return readLog(topic, epoch, after, limit);
    },
    onEvent: (listener) => eventListeners.add(listener),
  };
}
