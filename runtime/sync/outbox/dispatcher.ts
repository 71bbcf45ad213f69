/**
 * The outbox dispatcher: claims due entries, sends each with its stored idempotency key, and records the
 * outcome. Any number of dispatchers may run on one PostgreSQL database: an entry is claimed with
 * `FOR UPDATE SKIP LOCKED` and held for `leaseMs` (its `available_at` is pushed that far ahead), so a
 * dispatcher that dies mid-call leaves its entries to the next one once the hold runs out. On PGlite (one
 * process) the same statements run unchanged.
 *
 * An attempt whose outcome is unknown (timeout, reset, dropped response, a crash before the outcome was
 * written) leaves the entry `in_doubt`. The next attempt then either asks `reconcile(entry)` whether the
 * effect happened, or, without it, sends again with the same key, which a receiver that de-duplicates on
 * `Idempotency-Key` answers without acting twice. Writes after a call are fenced by the claim's lease
 * token: a dispatcher that lost its hold cannot overwrite the newer holder's record.
 */
import { randomUUID } from 'node:crypto';
import { sql, type RawBuilder } from 'kysely';
import type { Upstream } from '../../health/index.js';
import { toOutboxEntry, type Outbox, type OutboxEntry, type OutboxRow } from './outbox.js';
import { quotedOutboxTable } from './schema.js';
import {
  classifyDeliveryStatus,
  readDeliveryFailure,
  resolveOutboxBackoff,
  retryAfterOf,
  outboxRetryDelay,
  type DeliveryVerdict,
  type OutboxBackoffOptions,
} from './retry.js';
import { createEvents } from '../../events.js';

export interface OutboxRequest {
  /** An absolute URL; with an `upstream`, a path relative to its base URLs. */
  url: string;
  /** Default POST. */
  method?: string | undefined;
  headers?: Record<string, string> | undefined;
  /** A string is sent as it is, anything else as JSON. Default: the entry's payload as JSON. */
  body?: unknown;
}

/** What a receiver knows of an earlier attempt: its effect is there, is not there, or it cannot tell. */
export type ReconcileResult = 'delivered' | 'absent' | 'unknown';

export interface OutboxDispatcherOptions {
  outbox: Outbox;
  /** Where and how an entry is sent (`Idempotency-Key` is added to the headers). */
  request: (entry: OutboxEntry) => OutboxRequest | Promise<OutboxRequest>;
  /** Calls go through this upstream of `backdev/runtime/health` (failover, breaker, Retry-After) when given. */
  upstream?: Pick<Upstream, 'fetch'> | undefined;
  /** Used without an upstream; default the global fetch. */
  fetch?: typeof globalThis.fetch | undefined;
  /** Reads a response; default `classifyDeliveryStatus(response.status)`. */
  classify?: ((response: Response, entry: OutboxEntry) => DeliveryVerdict) | undefined;
  /**
   * Looks the effect of an earlier attempt up at the receiver, for entries in doubt, before sending again.
   * Without it an entry in doubt is sent again with the same idempotency key. A throw counts as `unknown`.
   */
  reconcile?: ((entry: OutboxEntry, context: { signal: AbortSignal }) => Promise<ReconcileResult>) | undefined;
  /** Attempts (reconcile look-ups and calls cut short by a crash included) before an entry is a dead letter. Default 10. */
  maxAttempts?: number | undefined;
  backoff?: OutboxBackoffOptions | undefined;
  /** Cap of one call (and of one `reconcile`). Default 10 s. */
  callTimeoutMs?: number | undefined;
  /** How long a claimed entry is held from other dispatchers. Default 2 × callTimeoutMs + 10 s; more than 2 × callTimeoutMs. */
  leaseMs?: number | undefined;
  /** Entries claimed and sent at once. Default 4. */
  concurrency?: number | undefined;
  /** Wait between polls when nothing is due. Default 1 s (`wake()` cuts it short). */
  pollIntervalMs?: number | undefined;
  random?: (() => number) | undefined;
}

export interface OutboxDispatcherEvents {
  /** Before each call (`reconcile: true`: a reconcile look-up). */
  attempt: { id: string; topic: string; idempotencyKey: string; attempt: number; reconcile: boolean };
  delivered: { id: string; topic: string; attempts: number; status?: number; via: 'response' | 'reconcile' };
  retry: { id: string; topic: string; attempts: number; delayMs: number; inDoubt: boolean; error: string; status?: number; retryAfterMs?: number };
  dead: { id: string; topic: string; attempts: number; error: string; status?: number };
  /** The dispatcher's own failures (the database); it keeps polling, backing off. */
  error: { error: unknown };
}

export interface OutboxDispatcher {
  /** Starts polling; checks that the outbox table exists. Idempotent. */
  start(): Promise<void>;
  /** Stops polling and waits for the calls in flight to be recorded. Idempotent. */
  close(): Promise<void>;
  /** One round: claims up to `concurrency` due entries and delivers them; returns how many it claimed. */
  runOnce(): Promise<number>;
  /** Rounds until nothing is due (entries waiting for a backoff stay pending). */
  drain(): Promise<void>;
  /** Polls now (after a commit that enqueued something). */
  wake(): void;
  on<E extends keyof OutboxDispatcherEvents>(event: E, listener: (event: OutboxDispatcherEvents[E]) => void): () => void;
}

interface ClaimedRow extends OutboxRow {
  was_in_doubt: boolean;
}

interface Failure {
  verdict: 'retry' | 'dead';
  /** This attempt may have taken effect. */
  unknown: boolean;
  error: string;
  status?: number;
  retryAfterMs?: number;
}

const SNIPPET = 300;

async function snippet(res: Response): Promise<string> {
  try {
    const reader = res.body?.getReader();
    if (!reader) return '';
    const decoder = new TextDecoder();
    let text = '';
    while (text.length < SNIPPET) {
      const { done, value } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
    await reader.cancel().catch(() => {});
    return text.slice(0, SNIPPET).replace(/\s+/g, ' ').trim();
  } catch {
    return '';
  }
}

function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return url;
  }
}

async function withTimeout<T>(ms: number, run: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const error = new Error(`timed out after ${ms} ms`);
      error.name = 'TimeoutError';
      controller.abort(error);
      reject(error);
    }, ms);
  });
  try {
    return await Promise.race([run(controller.signal), expired]);
  } finally {
    clearTimeout(timer);
  }
}

function positive(name: string, value: number, min = 1): number {
  if (!Number.isFinite(value) || value < min) throw new RangeError(`outbox dispatcher: ${name} must be a number >= ${min}, got ${value}`);
  return value;
}

export function createOutboxDispatcher(options: OutboxDispatcherOptions): OutboxDispatcher {
  const { outbox, upstream } = options;
  if (typeof options.request !== 'function') throw new TypeError('outbox dispatcher: request(entry) is required');
  const db = outbox.db;
  const t: RawBuilder<unknown> = sql.raw(quotedOutboxTable(outbox.table));
  const doFetch = options.fetch ?? globalThis.fetch;
  const classify: (response: Response, entry: OutboxEntry) => DeliveryVerdict = options.classify ?? ((res) => classifyDeliveryStatus(res.status));
  const maxAttempts = Math.floor(positive('maxAttempts', options.maxAttempts ?? 10));
  const backoff = resolveOutboxBackoff(options.backoff);
  const callTimeoutMs = positive('callTimeoutMs', options.callTimeoutMs ?? 10_000);
  // A claim may make two calls (a reconcile look-up, then the send): the hold outlasts both.
  const leaseMs = positive('leaseMs', options.leaseMs ?? 2 * callTimeoutMs + 10_000, 2 * callTimeoutMs + 1);
  const concurrency = Math.floor(positive('concurrency', options.concurrency ?? 4));
  const pollIntervalMs = positive('pollIntervalMs', options.pollIntervalMs ?? 1_000, 0);
  const random = options.random ?? Math.random;

  const events = createEvents<OutboxDispatcherEvents>();
  const emit = events.emit;

  /** Origins (or the upstream) that sent a Retry-After: nothing goes to them before this time. */
  const paused = new Map<string, number>();
  let started: Promise<void> | undefined;
  let closing: Promise<void> | undefined;
  let stopping = false;
  let looping: Promise<void> | undefined;
  let wakeUp: (() => void) | undefined;
  const rounds = new Set<Promise<number>>();

  const ms = (value: number) => sql`(${Math.max(0, Math.round(value))}::double precision * interval '1 millisecond')`;

  /** Entries whose last attempt ran out of attempts without an outcome (a crash during it): dead letters. */
  async function sweep(): Promise<void> {
    const { rows } = await sql<OutboxRow>`UPDATE ${t}
      SET status = 'dead', dead_at = now(), lease_token = NULL,
        last_error = CASE WHEN lease_token IS NOT NULL
            THEN 'no outcome was recorded for the last attempt (the dispatcher stopped during the call)'
            ELSE 'no attempts left' END || coalesce('; before it: ' || last_error, '')
      WHERE status = 'pending' AND attempts >= ${maxAttempts} AND available_at <= now()
      RETURNING *`.execute(db);
    for (const r of rows) emit('dead', { id: r.id, topic: r.topic, attempts: Number(r.attempts), error: r.last_error ?? '' });
  }

  async function claim(limit: number): Promise<ClaimedRow[]> {
    const token = randomUUID();
    const { rows } = await sql<ClaimedRow>`UPDATE ${t} AS o
      SET attempts = o.attempts + 1, in_doubt = true, lease_token = ${token}::uuid, available_at = now() + ${ms(leaseMs)}
      FROM (SELECT id, in_doubt FROM ${t}
            WHERE status = 'pending' AND available_at <= now() AND attempts < ${maxAttempts}
            ORDER BY available_at, seq LIMIT ${limit} FOR UPDATE SKIP LOCKED) AS c
      WHERE o.id = c.id
      RETURNING o.*, c.in_doubt AS was_in_doubt`.execute(db);
    return rows;
  }

  async function markDelivered(row: ClaimedRow, status: number | undefined, via: 'response' | 'reconcile'): Promise<void> {
    // Not fenced by the lease: a delivery learnt late is still the truth, whoever holds the entry now.
    const { rows } = await sql<{ attempts: number }>`UPDATE ${t}
      SET status = 'delivered', delivered_at = now(), in_doubt = false, lease_token = NULL, last_status = ${status ?? null}, last_error = NULL
      WHERE id = ${row.id}::uuid AND status <> 'delivered' RETURNING attempts`.execute(db);
    if (rows[0]) emit('delivered', { id: row.id, topic: row.topic, attempts: Number(rows[0].attempts), ...(status !== undefined ? { status } : {}), via });
  }

  async function markFailed(row: ClaimedRow, failure: Failure, inDoubt: boolean): Promise<void> {
    const attempts = Number(row.attempts);
    const status = failure.status ?? null;
    if (failure.verdict === 'dead' || attempts >= maxAttempts) {
      const error = failure.verdict === 'dead' ? failure.error : `${failure.error} (attempt ${attempts} of ${maxAttempts})`;
      const { rows } = await sql`UPDATE ${t}
        SET status = 'dead', dead_at = now(), in_doubt = ${inDoubt}, lease_token = NULL, available_at = now(), last_status = ${status}, last_error = ${error}
        WHERE id = ${row.id}::uuid AND lease_token = ${row.lease_token}::uuid RETURNING id`.execute(db);
      if (rows.length) emit('dead', { id: row.id, topic: row.topic, attempts, error, ...(failure.status !== undefined ? { status: failure.status } : {}) });
      return;
    }
    const delayMs = outboxRetryDelay(attempts, failure.retryAfterMs, backoff, random);
    const { rows } = await sql`UPDATE ${t}
      SET available_at = now() + ${ms(delayMs)}, in_doubt = ${inDoubt}, lease_token = NULL, last_status = ${status}, last_error = ${failure.error}
      WHERE id = ${row.id}::uuid AND lease_token = ${row.lease_token}::uuid RETURNING id`.execute(db);
    if (rows.length) {
      emit('retry', {
        id: row.id,
        topic: row.topic,
        attempts,
        delayMs,
        inDoubt,
        error: failure.error,
        ...(failure.status !== undefined ? { status: failure.status } : {}),
        ...(failure.retryAfterMs !== undefined ? { retryAfterMs: failure.retryAfterMs } : {}),
      });
    }
  }

  /** Gives a claimed entry back unattempted (its receiver asked for a pause), due in `delayMs`. */
  async function release(row: ClaimedRow, delayMs: number): Promise<void> {
    await sql`UPDATE ${t}
      SET attempts = attempts - 1, in_doubt = ${row.was_in_doubt}, lease_token = NULL, available_at = now() + ${ms(delayMs)}
      WHERE id = ${row.id}::uuid AND lease_token = ${row.lease_token}::uuid`.execute(db);
  }

  async function send(req: OutboxRequest, entry: OutboxEntry): Promise<{ status: number; verdict: DeliveryVerdict; failure?: Failure }> {
    const method = (req.method ?? 'POST').toUpperCase();
    const headers = new Headers(req.headers);
    headers.set('idempotency-key', entry.idempotencyKey);
    let body: string | undefined;
    if (method !== 'GET' && method !== 'HEAD') {
      const value = req.body === undefined ? entry.payload : req.body;
      if (typeof value === 'string') body = value;
      else {
        body = JSON.stringify(value);
        if (!headers.has('content-type')) headers.set('content-type', 'application/json');
      }
    }
    const init: RequestInit = { method, headers, ...(body !== undefined ? { body } : {}) };
    let res: Response;
    try {
      res = upstream
        ? await upstream.fetch(req.url, { ...init, deadlineMs: callTimeoutMs })
        : await doFetch(req.url, { ...init, signal: AbortSignal.timeout(callTimeoutMs) });
    } catch (err) {
      const { inDoubt, error } = readDeliveryFailure(err);
      return { status: 0, verdict: 'retry', failure: { verdict: 'retry', unknown: inDoubt, error } };
    }
    let verdict: DeliveryVerdict;
    try {
      verdict = classify(res, entry);
    } catch (err) {
      await res.body?.cancel().catch(() => {});
      // The receiver answered; what it meant could not be read: not delivered as far as anyone can tell.
      return { status: res.status, verdict: 'retry', failure: { verdict: 'retry', unknown: false, error: `classify(): ${readDeliveryFailure(err).error}`, status: res.status } };
    }
    if (verdict === 'delivered') {
      await res.body?.cancel().catch(() => {});
      return { status: res.status, verdict };
    }
    const retryAfterMs = retryAfterOf(res, Date.now());
    const text = await snippet(res);
    const error = `HTTP ${res.status}${text ? `: ${text}` : ''}`;
    return {
      status: res.status,
      verdict,
      failure: { verdict, unknown: false, error, status: res.status, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) },
    };
  }

  async function handle(row: ClaimedRow): Promise<void> {
    const entry: OutboxEntry = { ...toOutboxEntry(row), inDoubt: row.was_in_doubt };
    let doubt = row.was_in_doubt;
    let req: OutboxRequest;
    try {
      req = await options.request(entry);
    } catch (err) {
      return markFailed(row, { verdict: 'retry', unknown: false, error: `request(): ${readDeliveryFailure(err).error}` }, doubt);
    }
    const origin = upstream ? 'upstream' : originOf(req.url);
    const until = paused.get(origin);
    if (until !== undefined) {
      if (until > Date.now()) return release(row, until - Date.now());
      paused.delete(origin);
    }
    const attempt = Number(row.attempts);
    if (doubt && options.reconcile) {
      const reconcile = options.reconcile;
      emit('attempt', { id: entry.id, topic: entry.topic, idempotencyKey: entry.idempotencyKey, attempt, reconcile: true });
      let result: ReconcileResult;
      let error = '';
      try {
        result = await withTimeout(callTimeoutMs, (signal) => reconcile(entry, { signal }));
      } catch (err) {
        result = 'unknown';
        error = `: ${readDeliveryFailure(err).error}`;
      }
      if (result === 'delivered') return markDelivered(row, undefined, 'reconcile');
      if (result !== 'absent') {
        return markFailed(row, { verdict: 'retry', unknown: true, error: `reconcile could not tell whether an earlier attempt took effect${error}` }, true);
      }
      doubt = false;
    }
    emit('attempt', { id: entry.id, topic: entry.topic, idempotencyKey: entry.idempotencyKey, attempt, reconcile: false });
    const outcome = await send(req, entry);
    if (!outcome.failure) return markDelivered(row, outcome.status, 'response');
    const ra = outcome.failure.retryAfterMs;
    if (ra !== undefined && outcome.failure.verdict === 'retry') paused.set(origin, Date.now() + Math.max(backoff.retryAfterFloorMs, ra));
    return markFailed(row, outcome.failure, doubt || outcome.failure.unknown);
  }

  async function round(): Promise<number> {
    await sweep();
    const rows = await claim(concurrency);
    const results = await Promise.allSettled(rows.map((row) => handle(row)));
    for (const r of results) if (r.status === 'rejected') emit('error', { error: r.reason });
    return rows.length;
  }

  function runOnce(): Promise<number> {
    const p = round();
    rounds.add(p);
    const forget = () => rounds.delete(p);
    p.then(forget, forget);
    return p;
  }

  function idle(waitMs: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, waitMs);
      function done() {
        clearTimeout(timer);
        wakeUp = undefined;
        resolve();
      }
      wakeUp = done;
    });
  }

  async function loop(): Promise<void> {
    let failures = 0;
    while (!stopping) {
      let claimed = 0;
      try {
        claimed = await runOnce();
        failures = 0;
      } catch (error) {
        failures++;
        emit('error', { error });
      }
      if (stopping) break;
      if (claimed > 0) continue;
      await idle(failures ? Math.min(Math.max(pollIntervalMs, 100) * 2 ** Math.min(failures, 8), 30_000) : pollIntervalMs);
    }
  }

  return {
    start() {
      if (stopping) return Promise.reject(new Error('outbox dispatcher is closed'));
      started ??= (async () => {
        try {
          await sql`SELECT 1 FROM ${t} LIMIT 0`.execute(db);
        } catch (err) {
          if ((err as { code?: unknown }).code === '42P01') {
            throw new Error(`the outbox table ${outbox.table} does not exist: add a migration exporting outboxMigration() (backdev/runtime/sync)`, { cause: err });
          }
          throw err;
        }
        if (!stopping) looping = loop();
      })();
      started.catch(() => (started = undefined));
      return started;
    },
    close() {
      closing ??= (async () => {
        stopping = true;
        wakeUp?.();
        await started?.catch(() => {});
        await looping;
        await Promise.allSettled([...rounds]);
      })();
      return closing;
    },
    runOnce,
    async drain() {
      while ((await runOnce()) > 0) {
        // more may be due
      }
    },
    wake() {
      wakeUp?.();
    },
    on: events.on,
  };
}
