/**
 * The pull job: pages through external lists and keeps tables equal to them.
 *
 *   const job = createPullJob({ name: 'stripe', db, upstreams: [{ name: 'stripe', baseUrl: 'https://api.stripe.com' }],
 *     streams: [customers] });                       // customers = defineStream({ … map: (c) => row })
 *   await job.start();
 *   const result = await job.run();                   // incremental where a stream can, full otherwise
 *   await job.close();
 *
 * Every page is stored in ONE transaction: its rows upserted (or deleted, for tombstones), the stream's
 * checkpoint moved to the next page and the run ledger counted. A crash anywhere loses at most the page in
 * flight, which the next run fetches again and upserts again — by key, so nothing is duplicated. The run
 * holds the job's advisory lock on the connection doing these writes (job-lock.ts). A stream that reconciles
 * marks every row it stores with the pass's generation, and the transaction of a full pass's last page
 * deletes the rows left with an older one (mark and sweep). The promise in full: docs/sync.md.
 */
import os from 'node:os';
import { sql, type Kysely } from 'kysely';
import { encodeCheckpoint, maxValue, minusOverlap, readCheckpoint, type Checkpoint, type PassState, type WatermarkValue } from './checkpoint.js';
import { createSyncHttp, type FetchedPage, type PauseStore, type SyncHttp, type SyncHttpEvents, type SyncHttpOptions } from './http.js';
import { acquireJobLock, releaseJobLock } from './job-lock.js';
import type { PageCursor, Pagination } from './pagination.js';
import { ensureSyncPullTables, SYNC_PAUSES_TABLE, SYNC_RUNS_TABLE, SYNC_STATE_TABLE } from './pull-tables.js';
import { loadSyncTracer, NOOP_SYNC_TRACER, type SyncTracer } from './tracing.js';
import { createEvents } from '../events.js';

type Row = Record<string, unknown>;

/** One list to pull into one table. `Rec` is the API's record, `R` the table's row: the mapping is yours. */
export interface PullStream<Rec = any, R extends object = Row> {
  /** Unique within the job: the key of its checkpoint. */
  name: string;
  /** The upstream it is pulled from (its name in the job's `upstreams`); default the first one. */
  upstream?: string;
  /** The list's URL: absolute, or relative to the upstream's `baseUrl` (or its runtime/health URLs). */
  url: string;
  /** Query parameters of every page (filters, `expand`). */
  query?: Record<string, string>;
  headers?: Record<string, string>;
  pagination: Pagination;
  /** The records of a page's body; default its `data` array (or the body, when it is an array). */
  records?: (body: unknown) => readonly Rec[];
  /** The table (optionally `schema.table`) and its key columns (the upsert's conflict target). */
  table: string;
  key: readonly (keyof R & string)[];
  /** Record → row. A row must carry every key column. */
  map: (record: Rec) => R;
  /** Tombstones: a record for which this is true deletes its row. */
  deleted?: (record: Rec) => boolean;
  /** The key of a tombstone, when `map` cannot read one (default: the key columns of `map(record)`). */
  deletedKey?: (record: Rec) => Partial<R>;
  /**
   * Incremental pulls: the API filters on `param` (`updated_since`) and `value` reads a record's value of it
   * (an ISO timestamp or a number). A pass asks for `watermark - overlap` (milliseconds for timestamps,
   * default 0) and, when it ends, the watermark becomes the highest value it saw.
   */
  incremental?: {
    param: string;
    value: (record: Rec) => WatermarkValue;
    overlap?: number;
    /** How the value is written in the query (default `String(value)`). */
    format?: (value: WatermarkValue) => string;
  };
  /**
   * Deletes found by full scans: every row stored is marked with the pass's generation in `column` (a
   * `bigint` column of the table), and the end of a full pass deletes the rows of older generations. The
   * table must hold this stream's rows only.
   */
  reconcile?: { column: string };
}

/** `defineStream<ApiCustomer, CustomerRow>({ … })`: a stream with its record and row types checked. */
export function defineStream<Rec, R extends object>(stream: PullStream<Rec, R>): PullStream<Rec, R> {
  return stream;
}

export interface PullJobOptions {
  /** The job's name: the key of its lock, checkpoints and ledger entries. */
  name: string;
  db: Kysely<any>;
  /** The upstreams, by name; a ready `SyncHttp` is used as it is (its pauses are then its own business). */
  upstreams: readonly (SyncHttpOptions | SyncHttp)[];
  streams: readonly PullStream<any, any>[];
  /**
   * PGlite (one process, one session): no connection is held for the run and no advisory lock is taken —
   * the folder lock of runtime/db already keeps other processes out; runs of this job object are
   * serialised in the process. Default false (PostgreSQL).
   */
  singleProcess?: boolean;
  /** Another instance runs the job: wait for it (poll every `pollMs`, default 1 s) or skip (`wait: false`). Default wait. */
  lock?: { wait?: boolean; pollMs?: number };
  /** Create the pull tables on start() (else apply `syncPullMigration()` in a migration). Default false. */
  createTables?: boolean;
  /** Fetch the next page while the current one is written (default true). */
  prefetch?: boolean;
  /** This instance in the ledger (default host:pid). */
  instance?: string;
}

export type RunStatus = 'succeeded' | 'failed' | 'skipped' | 'aborted';

export interface StreamResult {
  stream: string;
  pages: number;
  rows: number;
  deleted: number;
  /** Rows removed by the sweep of a full pass. */
  swept: number;
  /** The pass finished in this run (else it goes on in the next one). */
  finished: boolean;
  error?: string;
}

export interface RunResult {
  job: string;
  /** The ledger entry (undefined when skipped). */
  runId?: number;
  status: RunStatus;
  streams: StreamResult[];
}

export interface PullJobEvents {
  'lock-wait': { job: string };
  'run-start': { job: string; runId: number; mode: 'full' | 'incremental' };
  page: { job: string; runId: number; stream: string; page: number; rows: number; deleted: number; swept: number; last: boolean; checkpointBytes: number };
  'run-end': { job: string; runId: number; status: RunStatus; pages: number; rows: number; errors: number };
  retry: SyncHttpEvents['retry'];
  paused: SyncHttpEvents['paused'];
  error: { job: string; stream?: string; error: unknown };
}

export interface StreamStatus {
  stream: string;
  checkpoint: Checkpoint;
  checkpointBytes: number;
  updatedAt?: Date;
}

export interface PullJob {
  readonly name: string;
  start(): Promise<void>;
  /** Aborts a run in progress (its current page is not stored; the checkpoint stays at the last stored one) and waits for it. Idempotent. */
  close(): Promise<void>;
  /** One run: each stream goes on from its checkpoint to the end of its pass. `full`: new full passes. */
  run(options?: { full?: boolean; streams?: readonly string[]; signal?: AbortSignal }): Promise<RunResult>;
  /** Checkpoints and the last runs, for `sync status`. */
  status(options?: { runs?: number }): Promise<{ streams: StreamStatus[]; runs: unknown[] }>;
  on<E extends keyof PullJobEvents>(event: E, listener: (event: PullJobEvents[E]) => void): () => void;
}

function lastErrorOf(result: RunResult): string | undefined {
  return result.streams.filter((s) => s.error !== undefined).at(-1)?.error;
}

function defaultRecords(body: unknown): readonly unknown[] {
  if (Array.isArray(body)) return body;
  const data = (body as { data?: unknown } | null)?.data;
  if (Array.isArray(data)) return data;
  throw new Error('sync: the page body has no data array (give the stream a records() function)');
}

/** Most bound parameters per INSERT (PostgreSQL allows 65,535). */
const MAX_PARAMS = 30_000;

function isSyncHttp(x: SyncHttpOptions | SyncHttp): x is SyncHttp {
  return typeof (x as SyncHttp).get === 'function';
}

/** A page's (or a webhook event's) records as the rows to upsert and the keys to delete. */
export interface StreamRows {
  upserts: Row[];
  deletes: Row[];
}

/**
 * How records of a stream become rows in its table: `rows` maps them (tombstones to keys to delete, the
 * later of two records with one key wins, the reconcile column set to `generation`), `upsert` and `remove`
 * write them in the transaction given. The pull job stores its pages with it; inbound webhooks
 * (`registerWebhook`) store their events' records with it too, so both take the same path into a table.
 */
export interface StreamWriter {
  /** `deleteAll`: every record is a delete (by `deletedKey`, else the key columns of `map`). */
  rows(stream: PullStream<any, any>, records: readonly unknown[], options?: { generation?: number; deleteAll?: boolean }): StreamRows;
  upsert(trx: Kysely<any>, stream: PullStream<any, any>, rows: Row[]): Promise<void>;
  /** Deletes the rows with these keys; returns how many were deleted. */
  remove(trx: Kysely<any>, stream: PullStream<any, any>, keys: Row[]): Promise<number>;
}

export function createStreamWriter(): StreamWriter {
  function keyString(stream: PullStream, row: Row): string {
    return JSON.stringify(stream.key.map((k) => {
      const v = row[k];
      if (v === undefined || v === null) throw new Error(`sync stream ${stream.name}: a row has no value for key column ${k}`);
      return v instanceof Date ? v.toISOString() : v;
    }));
  }

  /** Column types of the stream tables (format_type), looked up once per writer; undefined: unknown. */
  const columnTypes = new Map<string, Promise<Map<string, string> | undefined>>();
  function typesOf(conn: Kysely<any>, table: string): Promise<Map<string, string> | undefined> {
    let types = columnTypes.get(table);
    if (!types) {
      const dot = table.indexOf('.');
      const qualified = dot < 0 ? sql`quote_ident(${table})` : sql`quote_ident(${table.slice(0, dot)}) || '.' || quote_ident(${table.slice(dot + 1)})`;
      types = sql<{ name: string; type: string }>`select a.attname as name, format_type(a.atttypid, a.atttypmod) as type from pg_attribute a where a.attrelid = to_regclass(${qualified}) and a.attnum > 0 and not a.attisdropped`
        .execute(conn)
        .then(({ rows }) => (rows.length ? new Map(rows.map((r) => [r.name, r.type])) : undefined));
      types.catch(() => columnTypes.delete(table));
      columnTypes.set(table, types);
    }
    return types;
  }

  async function upsert(trx: Kysely<any>, stream: PullStream, rows: Row[]): Promise<void> {
    if (!rows.length) return;
    const columns = [...new Set(rows.flatMap((r) => Object.keys(r)))];
    const updates = columns.filter((c) => !stream.key.includes(c));
    /*
     * One array parameter per column (`insert … select * from unnest($1::text[], …)`) when every row has
     * every column and no column is itself an array: a few parameters instead of rows × columns, which the
     * driver and the server handle much faster. Otherwise a plain multi-row VALUES (absent columns take their
     * default there).
     */
    const types = await typesOf(trx, stream.table);
    const whole = rows.every((r) => Object.keys(r).length === columns.length);
    const typed = types && columns.every((c) => types.has(c) && !types.get(c)!.endsWith('[]'));
    if (whole && typed) {
      const arrays = columns.map((c) => sql`${rows.map((r) => r[c] ?? null)}::${sql.raw(`${types.get(c)!}[]`)}`);
      const conflict = sql.join(stream.key.map((k) => sql.ref(k)));
      const action = updates.length ? sql`do update set ${sql.join(updates.map((c) => sql`${sql.ref(c)} = ${sql.ref(`excluded.${c}`)}`))}` : sql`do nothing`;
      await sql`insert into ${sql.table(stream.table)} (${sql.join(columns.map((c) => sql.ref(c)))}) select * from unnest(${sql.join(arrays)}) on conflict (${conflict}) ${action}`.execute(trx);
      return;
    }
    const per = Math.max(1, Math.floor(MAX_PARAMS / columns.length));
    for (let i = 0; i < rows.length; i += per) {
      const chunk = rows.slice(i, i + per);
      await trx
        .insertInto(stream.table)
        .values(chunk)
        .onConflict((oc) => {
          const target = oc.columns(stream.key as string[]);
          return updates.length ? target.doUpdateSet(Object.fromEntries(updates.map((c) => [c, sql.ref(`excluded.${c}`)]))) : target.doNothing();
        })
        .execute();
    }
  }

  async function remove(trx: Kysely<any>, stream: PullStream, keys: Row[]): Promise<number> {
    if (!keys.length) return 0;
    let n = 0;
    const per = Math.max(1, Math.floor(MAX_PARAMS / stream.key.length));
    for (let i = 0; i < keys.length; i += per) {
      const chunk = keys.slice(i, i + per);
      const result = await trx
        .deleteFrom(stream.table)
        .where((eb) => (stream.key.length === 1 ? eb(stream.key[0]!, 'in', chunk.map((k) => k[stream.key[0]!])) : eb.or(chunk.map((k) => eb.and(stream.key.map((c) => eb(c, '=', k[c])))))))
        .executeTakeFirst();
      n += Number(result.numDeletedRows);
    }
    return n;
  }

  function rows(stream: PullStream, records: readonly unknown[], options: { generation?: number; deleteAll?: boolean } = {}): StreamRows {
    const ops = new Map<string, { row: Row; deleted: boolean }>();
    for (const record of records) {
      const gone = options.deleteAll === true || stream.deleted?.(record) === true;
      const row = (gone && stream.deletedKey ? stream.deletedKey(record) : stream.map(record)) as Row;
      if (!gone && stream.reconcile && options.generation !== undefined) row[stream.reconcile.column] = options.generation;
      // The same key twice: the later record wins (one statement cannot upsert a row twice).
      const k = keyString(stream, row);
      ops.delete(k);
      ops.set(k, { row, deleted: gone });
    }
    const upserts: Row[] = [];
    const deletes: Row[] = [];
    for (const op of ops.values()) (op.deleted ? deletes : upserts).push(op.row);
    return { upserts, deletes };
  }

  return { rows, upsert, remove };
}

export function createPullJob(options: PullJobOptions): PullJob {
  const job = options.name;
  if (!job) throw new TypeError('createPullJob: name is required');
  const names = new Set<string>();
  for (const s of options.streams) {
    if (names.has(s.name)) throw new TypeError(`sync job ${job}: two streams named ${s.name}`);
    names.add(s.name);
    if (!s.key.length) throw new TypeError(`sync stream ${s.name}: key needs at least one column`);
  }
  const instance = options.instance ?? `${os.hostname()}:${process.pid}`;
  const wait = options.lock?.wait ?? true;
  const pollMs = options.lock?.pollMs ?? 1_000;
  const prefetch = options.prefetch ?? true;
  const db = options.db;

  const events = createEvents<PullJobEvents>();
  const emit = events.emit;

  /** The connection of the run in progress (pauses are written on it: PGlite has only one). */
  let session: Kysely<any> = db;
  const pauses: PauseStore = {
    async load(upstream) {
      const row = await session.selectFrom(SYNC_PAUSES_TABLE).select('until').where('upstream', '=', upstream).executeTakeFirst();
      return row ? new Date(row.until as Date).getTime() : undefined;
    },
    async save(upstream, until) {
      await session
        .insertInto(SYNC_PAUSES_TABLE)
        .values({ upstream, until: new Date(until) })
        .onConflict((oc) => oc.column('upstream').doUpdateSet({ until: sql`greatest(${sql.ref(`${SYNC_PAUSES_TABLE}.until`)}, excluded.until)` }))
        .execute();
    },
  };

  const clients = new Map<string, SyncHttp>();
  for (const u of options.upstreams) {
    const client = isSyncHttp(u) ? u : createSyncHttp({ ...u, pauses: u.pauses ?? pauses });
    if (clients.has(client.name)) throw new TypeError(`sync job ${job}: two upstreams named ${client.name}`);
    clients.set(client.name, client);
    client.on('retry', (e) => emit('retry', e));
    client.on('paused', (e) => emit('paused', e));
  }
  const firstClient = clients.values().next().value;
  function clientOf(stream: PullStream): SyncHttp {
    const client = stream.upstream ? clients.get(stream.upstream) : firstClient;
    if (!client) throw new TypeError(`sync stream ${stream.name}: no upstream ${stream.upstream ?? '(none given)'}`);
    return client;
  }
  for (const s of options.streams) clientOf(s);

  let started: Promise<void> | undefined;
  let closed = false;
  const closing = new AbortController();
  /** Runs of this object, one at a time. */
  let queue: Promise<unknown> = Promise.resolve();

  async function loadCheckpoint(conn: Kysely<any>, stream: string): Promise<Checkpoint> {
    const row = await conn.selectFrom(SYNC_STATE_TABLE).select('state').where('job', '=', job).where('stream', '=', stream).executeTakeFirst();
    return readCheckpoint(row?.state);
  }

  /** Spans of runs and pages (tracing.ts); records only while a tracer provider is registered. */
  let tracer: SyncTracer = NOOP_SYNC_TRACER;
  const writer = createStreamWriter();
  const { upsert, remove } = writer;

  async function runStream(conn: Kysely<any>, stream: PullStream, runId: number, full: boolean, signal: AbortSignal): Promise<StreamResult> {
    const client = clientOf(stream);
    const result: StreamResult = { stream: stream.name, pages: 0, rows: 0, deleted: 0, swept: 0, finished: false };
    const cp = await loadCheckpoint(conn, stream.name);
    const inc = stream.incremental;
    let gen = cp.g;
    let pass: PassState;
    if (cp.pass && (!full || cp.pass.full)) {
      pass = cp.pass;
    } else {
      gen = cp.g + 1;
      const since = !full && inc && cp.w !== undefined ? minusOverlap(cp.w, inc.overlap ?? 0) : undefined;
      pass = since === undefined ? { full: true, pages: 0 } : { full: false, since, pages: 0 };
    }
    const base = client.resolve(stream.url);
    for (const [k, v] of Object.entries(stream.query ?? {})) base.searchParams.set(k, v);
    if (inc && pass.since !== undefined) base.searchParams.set(inc.param, (inc.format ?? String)(pass.since));
    const records = (stream.records ?? defaultRecords) as (body: unknown) => readonly unknown[];
    const get = (cursor: PageCursor | undefined) => {
      const p = client.get(stream.pagination.request(base, cursor), { ...(stream.headers ? { headers: stream.headers } : {}), signal });
      p.catch(() => {}); // awaited below; a prefetch abandoned by an error elsewhere must not be unhandled
      return p;
    };

    let cursor = pass.cursor;
    let pending: Promise<FetchedPage> = get(cursor);
    for (;;) {
      const step = await tracer.page({ job, stream: stream.name, page: pass.pages + 1 }, async (done) => {
        const page = await pending;
        const list = records(page.body);
        const next = stream.pagination.next({ url: page.url, headers: page.headers, body: page.body, records: list }, cursor);
        if (next !== undefined && prefetch) pending = get(next);
        const seen = stream.pagination.seen;
        let high = pass.high;
        const kept: unknown[] = [];
        for (const record of list) {
          if (seen?.(record, cursor)) continue;
          if (inc) high = maxValue(high, inc.value(record));
          kept.push(record);
        }
        const { upserts, deletes } = writer.rows(stream, kept, { generation: gen });
        const last = next === undefined;
        const checkpoint: Checkpoint = last
          ? { v: 1, g: gen, ...(inc ? { w: maxValue(cp.w, high) } : {}), done: new Date().toISOString() }
          : { v: 1, g: gen, ...(cp.w !== undefined ? { w: cp.w } : {}), pass: { ...pass, cursor: next, ...(high !== undefined ? { high } : {}), pages: pass.pages + 1 } };
        if (checkpoint.w === undefined) delete checkpoint.w;
        const text = encodeCheckpoint(stream.name, checkpoint);
        signal.throwIfAborted();
        let swept = 0;
        let deleted = 0;
        await conn.transaction().execute(async (trx) => {
          await upsert(trx, stream, upserts);
          deleted = await remove(trx, stream, deletes);
          if (last && pass.full && stream.reconcile) {
            const col = stream.reconcile.column;
            const r = await trx
              .deleteFrom(stream.table)
              .where((eb) => eb.or([eb(col, '<>', gen), eb(col, 'is', null)]))
              .executeTakeFirst();
            swept = Number(r.numDeletedRows);
          }
          await trx
            .insertInto(SYNC_STATE_TABLE)
            .values({ job, stream: stream.name, state: text, owner: runId, updated_at: new Date() })
            .onConflict((oc) => oc.columns(['job', 'stream']).doUpdateSet({ state: text, owner: runId, updated_at: new Date() }))
            .execute();
          await trx
            .updateTable(SYNC_RUNS_TABLE)
            .set((eb) => ({ pages: eb('pages', '+', 1), rows: eb('rows', '+', upserts.length), deleted: eb('deleted', '+', deleted + swept) }))
            .where('id', '=', runId)
            .execute();
        });
        result.pages++;
        result.rows += upserts.length;
        result.deleted += deleted;
        result.swept += swept;
        emit('page', { job, runId, stream: stream.name, page: pass.pages + 1, rows: upserts.length, deleted, swept, last, checkpointBytes: Buffer.byteLength(text) });
        done({ rows: upserts.length, deleted: deleted + swept, last });
        return { last, checkpoint, next };
      });
      if (step.last) {
        result.finished = true;
        return result;
      }
      pass = step.checkpoint.pass!;
      cursor = step.next;
      if (!prefetch) pending = get(cursor);
    }
  }

  /**
   * Passes in progress first, then the streams whose last pass finished longest ago: runs cut short again
   * and again (crashes, deploys) still bring every stream forward, not only the first ones.
   */
  async function fairOrder(conn: Kysely<any>, selected: readonly PullStream[]): Promise<PullStream[]> {
    const rows = await conn.selectFrom(SYNC_STATE_TABLE).select(['stream', 'state']).where('job', '=', job).execute();
    const byName = new Map(rows.map((r) => [r.stream as string, readCheckpoint(r.state)]));
    const rank = (s: PullStream): [number, string] => {
      const cp = byName.get(s.name);
      if (cp?.pass) return [0, ''];
      return [1, cp?.done ?? ''];
    };
    return selected
      .map((s, i) => ({ s, i, r: rank(s) }))
      .sort((a, b) => a.r[0] - b.r[0] || (a.r[1] < b.r[1] ? -1 : a.r[1] > b.r[1] ? 1 : 0) || a.i - b.i)
      .map((x) => x.s);
  }

  async function runLocked(conn: Kysely<any>, full: boolean, selected: readonly PullStream[], signal: AbortSignal): Promise<RunResult> {
    session = conn;
    try {
      // Runs still marked running were the lock holder's before us: their process is gone.
      await conn.updateTable(SYNC_RUNS_TABLE).set({ status: 'interrupted', finished_at: new Date() }).where('job', '=', job).where('status', '=', 'running').execute();
      const mode = full ? 'full' : 'incremental';
      const inserted = await conn.insertInto(SYNC_RUNS_TABLE).values({ job, mode, status: 'running', instance }).returning('id').executeTakeFirstOrThrow();
      const runId = Number(inserted.id);
      return await tracer.run(
        job,
        mode,
        async () => {
          emit('run-start', { job, runId, mode });
          const streams: StreamResult[] = [];
          let errors = 0;
          let lastError: string | undefined;
          let aborted = false;
          for (const stream of await fairOrder(conn, selected)) {
            try {
              streams.push(await runStream(conn, stream, runId, full, signal));
            } catch (error) {
              if (signal.aborted) {
                aborted = true;
                streams.push({ stream: stream.name, pages: 0, rows: 0, deleted: 0, swept: 0, finished: false, error: 'aborted' });
                break;
              }
              errors++;
              lastError = `${stream.name}: ${error instanceof Error ? error.message : String(error)}`;
              streams.push({ stream: stream.name, pages: 0, rows: 0, deleted: 0, swept: 0, finished: false, error: lastError });
              emit('error', { job, stream: stream.name, error });
            }
          }
          const status: RunStatus = aborted ? 'aborted' : errors ? 'failed' : 'succeeded';
          const totals = await conn
            .updateTable(SYNC_RUNS_TABLE)
            .set({ status, finished_at: new Date(), errors, last_error: lastError ?? null })
            .where('id', '=', runId)
            .returning(['pages', 'rows'])
            .executeTakeFirst()
            .catch(() => undefined);
          emit('run-end', { job, runId, status, pages: Number(totals?.pages ?? 0), rows: Number(totals?.rows ?? 0), errors });
          return { job, runId, status, streams } satisfies RunResult;
        },
        (result) => (result.status === 'failed' ? lastErrorOf(result) : undefined),
      );
    } finally {
      session = db;
    }
  }

  async function runOnce(full: boolean, selected: readonly PullStream[], signal: AbortSignal): Promise<RunResult> {
    if (options.singleProcess) return runLocked(db, full, selected, signal);
    return db.connection().execute(async (conn) => {
      const got = await acquireJobLock(conn, job, { wait, pollMs, signal, onWait: () => emit('lock-wait', { job }) });
      if (!got) return { job, status: 'skipped' as const, streams: [] };
      try {
        return await runLocked(conn, full, selected, signal);
      } finally {
        await releaseJobLock(conn, job).catch(() => {});
      }
    });
  }

  function start(): Promise<void> {
    if (closed) return Promise.reject(new Error(`sync job ${job} is closed`));
    started ??= (async () => {
      tracer = await loadSyncTracer();
      if (options.createTables) await ensureSyncPullTables(db);
    })();
    started.catch(() => (started = undefined));
    return started;
  }

  return {
    name: job,
    start,
    async close() {
      if (closed) return;
      closed = true;
      closing.abort(new Error(`sync job ${job} closed`));
      await queue.catch(() => {});
    },
    run(runOptions = {}) {
      if (closed) return Promise.reject(new Error(`sync job ${job} is closed`));
      const selected = runOptions.streams ? options.streams.filter((s) => runOptions.streams!.includes(s.name)) : options.streams;
      const unknown = (runOptions.streams ?? []).filter((n) => !names.has(n));
      if (unknown.length) return Promise.reject(new TypeError(`sync job ${job}: no stream ${unknown.join(', ')}`));
      const signal = runOptions.signal ? AbortSignal.any([runOptions.signal, closing.signal]) : closing.signal;
      const p = queue.then(async () => {
        await start();
        return runOnce(runOptions.full === true, selected, signal);
      });
      queue = p.catch(() => {});
      return p;
    },
    async status(statusOptions = {}) {
      const rows = await db.selectFrom(SYNC_STATE_TABLE).selectAll().where('job', '=', job).orderBy('stream').execute();
      const runs = await db.selectFrom(SYNC_RUNS_TABLE).selectAll().where('job', '=', job).orderBy('id', 'desc').limit(statusOptions.runs ?? 5).execute();
      return {
        streams: rows.map((r) => {
          const text = typeof r.state === 'string' ? r.state : JSON.stringify(r.state);
          return { stream: r.stream as string, checkpoint: readCheckpoint(r.state), checkpointBytes: Buffer.byteLength(text), updatedAt: r.updated_at as Date };
        }),
        runs,
      };
    },
    on: events.on,
  };
}
