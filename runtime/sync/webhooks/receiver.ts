/**
 * The inbound webhook receiver: verifies a delivery's signature over its raw body, then applies the event
 * ONCE. One transaction inserts the event's id into the de-duplication table and runs your `onEvent`, which
 * stores the event's records through the pull side's writer (`apply(stream, records)`: the stream's own
 * mapping and upsert by key). So:
 * - a delivery that was applied, delivered again (the sender retries when it missed our answer), finds its
 *   id and is a 200 that changes nothing;
 * - a crash or an error before the commit leaves neither the id nor the effect: the sender's retry applies
 *   it, once;
 * - two copies arriving at the same time: the second one's insert waits on the first one's key and finds it
 *   once that commits (or takes over if that rolls back).
 *
 *   const receiver = createWebhookReceiver({ scheme: 'stripe', secrets: [process.env.STRIPE_WEBHOOK_SECRET!], db,
 *     onEvent: async (event, { apply }) => {
 *       if (event.type?.startsWith('customer.')) await apply(customers, [event.payload.data.object]);
 *     } });
 *   const outcome = await receiver.receive({ body: rawBytes, headers });   // { status, … }
 *
 * `registerWebhook` (fastify.ts) puts one on a Fastify route. The promise in full: docs/sync.md, "Webhooks".
 */
import { sql, type Kysely } from 'kysely';
import { classifyError, FORM_CONTENT_TYPE, isJsonMediaType, problemDetails, type ProblemDetails } from '../../http/index.js';
import { readCheckpoint } from '../checkpoint.js';
import { SYNC_STATE_TABLE } from '../pull-tables.js';
import { createStreamWriter, type PullStream } from '../pull.js';
import { createWebhookTables, DEFAULT_WEBHOOK_TABLE, webhookTableParts } from './schema.js';
import { githubScheme, headerValue, stripeScheme, type VerifyFailureReason, type WebhookHeaders, type WebhookScheme } from './signatures.js';
import { createEvents } from '../../events.js';

/** A verified delivery. */
export interface WebhookEvent<P = any> {
  /** The de-duplication namespace of the endpoint. */
  source: string;
  /** The event's id (Stripe: the body's `id`; GitHub: `X-GitHub-Delivery`). */
  id: string;
  /** Stripe: the body's `type` (`customer.updated`); GitHub: `X-GitHub-Event` (`issues`). */
  type: string | undefined;
  /** The body, parsed (JSON; a form body's `payload` field, as GitHub sends with that content type). */
  payload: P;
  /** The raw body, as signed. */
  body: Buffer;
  headers: WebhookHeaders;
}

/** What `onEvent` works with: the transaction holding the event's de-duplication row, and the writer. */
export interface WebhookContext {
  /** The transaction the event is applied in: write your other effects here too (an outbox entry, a log row). */
  trx: Kysely<any>;
  /**
   * Maps `records` with the stream's `map` and upserts them by its key, as a pull page is stored; records
   * for which the stream's `deleted` is true delete their rows. Returns how many rows were upserted and deleted.
   */
  apply<Rec>(stream: PullStream<Rec, any>, records: readonly Rec[]): Promise<{ upserted: number; deleted: number }>;
  /** Deletes the rows of `records` (keys by the stream's `deletedKey`, else its `map`); returns how many. */
  remove<Rec>(stream: PullStream<Rec, any>, records: readonly Rec[]): Promise<number>;
}

export type WebhookSecrets = string | readonly string[] | (() => string | readonly string[]);

export interface WebhookReceiverOptions<P = any> {
  /** `'stripe'`, `'github'`, or a scheme of your own. */
  scheme: 'stripe' | 'github' | WebhookScheme;
  /**
   * Signing secrets; a delivery signed with any of them is accepted (list the old and the new one while a
   * secret is rotated). A function is asked at every delivery (secrets read from a store that changes).
   */
  secrets: WebhookSecrets;
  db: Kysely<any>;
  /** The de-duplication table (see `webhookMigration`); default `backdev_webhook_events`. */
  dedupTable?: string;
  /** The namespace of event ids in that table; default the scheme's name (`stripe`, `github`). */
  source?: string;
  /** Stripe: seconds the signature's timestamp may be off from now; default 300. */
  tolerance?: number;
  /**
   * The pull job whose streams the events feed. Given, rows applied to a stream that reconciles carry the
   * generation of that stream's pass in progress, so that pass's final sweep keeps them.
   */
  job?: string;
  /** Create the de-duplication table at `start()` when missing (scripts and tests; projects use the migration). */
  createTables?: boolean;
  /** Applies one event. Throwing rolls the event back (its id too) and answers an error, so the sender retries. */
  onEvent: (event: WebhookEvent<P>, context: WebhookContext) => unknown;
  /** Milliseconds since the epoch (tests). */
  now?: () => number;
}

export type WebhookRejection = VerifyFailureReason | 'unreadable-body' | 'no-event-id' | 'closed' | 'failed';

export type WebhookOutcome =
  | { status: 200; id: string; type: string | undefined; duplicate: boolean }
  | {
      status: number;
      reason: WebhookRejection;
      /** The answer's body (RFC 9457), without `instance` (the HTTP layer adds the request's). */
      problem: ProblemDetails;
      /** Headers to send with it (a 401's `WWW-Authenticate`). */
      headers?: Record<string, string>;
      /** What `onEvent` (or the database) threw, for the log. */
      error?: unknown;
    };

export interface WebhookReceiverEvents {
  applied: { source: string; id: string; type: string | undefined; ms: number };
  duplicate: { source: string; id: string; type: string | undefined };
  /** A delivery refused before anything was written (signature, body, id, closed). */
  rejected: { source: string; status: number; reason: WebhookRejection; detail: string };
  /** `onEvent` or the database failed: nothing of the event was kept. */
  failed: { source: string; id: string; type: string | undefined; status: number; error: unknown };
}

export interface WebhookReceiver {
  readonly scheme: WebhookScheme;
  readonly source: string;
  /** Creates the table when `createTables`; idempotent. `receive` calls it too. */
  start(): Promise<void>;
  /** Refuses new deliveries (503: the sender retries later) and waits for those in progress. Idempotent. */
  close(): Promise<void>;
  /** Verifies and applies one delivery; never throws (failures are outcomes). */
  receive(request: { body: Uint8Array | string | undefined; headers: WebhookHeaders }): Promise<WebhookOutcome>;
  /**
   * Deletes de-duplication rows older than `olderThanMs` (default 30 days) and returns how many. A delivery
   * of an event older than that is applied again: keep it longer than the sender's retries last.
   */
  prune(olderThanMs?: number): Promise<number>;
  on<E extends keyof WebhookReceiverEvents>(event: E, listener: (event: WebhookReceiverEvents[E]) => void): () => void;
}

const DAY = 86_400_000;

function schemeOf(options: WebhookReceiverOptions): WebhookScheme {
  if (options.scheme === 'stripe') return stripeScheme(options.tolerance !== undefined ? { tolerance: options.tolerance } : {});
  if (options.scheme === 'github') return githubScheme();
  if (options.scheme && typeof options.scheme.verify === 'function' && typeof options.scheme.identify === 'function') return options.scheme;
  throw new TypeError(`webhook receiver: scheme must be 'stripe', 'github' or a WebhookScheme, got ${JSON.stringify(options.scheme)}`);
}

function secretList(secrets: WebhookSecrets): string[] {
  const value = typeof secrets === 'function' ? secrets() : secrets;
  const list = typeof value === 'string' ? [value] : [...value];
  if (!list.length || !list.every((s) => typeof s === 'string' && s !== '')) {
    throw new TypeError('webhook receiver: secrets must be one or more non-empty strings');
  }
  return list;
}

/** The body as its sender meant it: JSON, or the `payload` field of a form (GitHub's form content type). */
function parsePayload(body: Buffer, headers: WebhookHeaders): { ok: true; payload: unknown } | { ok: false; detail: string } {
  const type = headerValue(headers, 'content-type');
  const mediaType = (typeof type === 'string' ? type : '').split(';')[0]!.trim().toLowerCase();
  try {
    if (mediaType === FORM_CONTENT_TYPE) {
      const payload = new URLSearchParams(body.toString('utf8')).get('payload');
      if (payload === null) return { ok: false, detail: 'the form body has no payload field' };
      return { ok: true, payload: JSON.parse(payload) };
    }
    if (mediaType !== '' && !isJsonMediaType(mediaType)) return { ok: false, detail: `the body's media type ${mediaType} is neither JSON nor a form` };
    return { ok: true, payload: JSON.parse(body.toString('utf8')) };
  } catch {
    return { ok: false, detail: 'the body is not valid JSON' };
  }
}

export function createWebhookReceiver<P = any>(options: WebhookReceiverOptions<P>): WebhookReceiver {
  const scheme = schemeOf(options);
  secretList(options.secrets); // a configuration mistake shows at startup, not at the first delivery
  if (typeof options.onEvent !== 'function') throw new TypeError('webhook receiver: onEvent is required');
  if (!options.db) throw new TypeError('webhook receiver: db is required');
  const table = options.dedupTable ?? DEFAULT_WEBHOOK_TABLE;
  webhookTableParts(table);
  const source = options.source ?? scheme.name;
  const db = options.db;
  const now = options.now ?? Date.now;
  const writer = createStreamWriter();

  const events = createEvents<WebhookReceiverEvents>();
  const emit = events.emit;

  let started: Promise<void> | undefined;
  let closed = false;
  let inFlight = 0;
  let waiters: (() => void)[] = [];

  function start(): Promise<void> {
    if (closed) return Promise.reject(new Error('webhook receiver is closed'));
    started ??= options.createTables ? createWebhookTables(db, { table }) : Promise.resolve();
    started.catch(() => (started = undefined));
    return started;
  }

  function reject(status: number, reason: WebhookRejection, detail: string, extra: { headers?: Record<string, string>; error?: unknown } = {}, announce = true): WebhookOutcome {
    if (announce) emit('rejected', { source, status, reason, detail });
    return { status, reason, problem: problemDetails(status, detail), ...extra };
  }

  function context(trx: Kysely<any>): WebhookContext {
    const checked = (stream: PullStream<any, any>) => {
      if (!stream || typeof stream.map !== 'function' || !stream.table || !stream.key?.length) {
        throw new TypeError('webhook apply: the stream needs a table, a key and a map (a defineStream object)');
      }
    };
    return {
      trx,
      async apply(stream, records) {
        checked(stream);
        let generation: number | undefined;
        if (stream.reconcile && options.job !== undefined) {
          const row = await trx.selectFrom(SYNC_STATE_TABLE).select('state').where('job', '=', options.job).where('stream', '=', stream.name).executeTakeFirst();
          if (row) generation = readCheckpoint(row.state).g;
        }
        const { upserts, deletes } = writer.rows(stream, records, generation !== undefined ? { generation } : {});
        await writer.upsert(trx, stream, upserts);
        const deleted = await writer.remove(trx, stream, deletes);
        return { upserted: upserts.length, deleted };
      },
      async remove(stream, records) {
        checked(stream);
        const { deletes } = writer.rows(stream, records, { deleteAll: true });
        return writer.remove(trx, stream, deletes);
      },
    };
  }

  async function handle(request: { body: Uint8Array | string | undefined; headers: WebhookHeaders }): Promise<WebhookOutcome> {
    const body = request.body === undefined ? Buffer.alloc(0) : typeof request.body === 'string' ? Buffer.from(request.body, 'utf8') : Buffer.from(request.body.buffer, request.body.byteOffset, request.body.byteLength);
    let secrets: string[];
    try {
      secrets = secretList(options.secrets);
    } catch (error) {
      return reject(500, 'failed', 'internal error', { error });
    }
    const verdict = scheme.verify({ body, headers: request.headers, secrets, now: now() });
    if (!verdict.ok) {
      const headers = verdict.status === 401 ? { 'www-authenticate': `HMAC-SHA256 header="${scheme.header}"` } : undefined;
      return reject(verdict.status, verdict.reason, verdict.detail, headers ? { headers } : {});
    }
    const parsed = parsePayload(body, request.headers);
    if (!parsed.ok) return reject(400, 'unreadable-body', parsed.detail);
    const identity = scheme.identify({ headers: request.headers, payload: parsed.payload });
    if ('error' in identity) return reject(400, 'no-event-id', identity.error);
    const event: WebhookEvent<P> = { source, id: identity.id, type: identity.type, payload: parsed.payload as P, body, headers: request.headers };

    const began = performance.now();
    let duplicate = false;
    try {
      await start();
      await db.transaction().execute(async (trx) => {
        // Waits on a concurrent copy's uncommitted row: after its commit this finds it, after its rollback it inserts.
        const inserted = await sql`insert into ${sql.table(table)} (source, event_id, event_type) values (${source}, ${event.id}, ${event.type ?? null}) on conflict (source, event_id) do nothing returning event_id`.execute(trx);
        if (!inserted.rows.length) {
          duplicate = true;
          return;
        }
        await options.onEvent(event, context(trx));
      });
    } catch (error) {
      const c = classifyError(error);
      emit('failed', { source, id: event.id, type: event.type, status: c.status, error });
      return reject(c.status, 'failed', c.detail, { error }, false);
    }
    if (duplicate) emit('duplicate', { source, id: event.id, type: event.type });
    else emit('applied', { source, id: event.id, type: event.type, ms: performance.now() - began });
    return { status: 200, id: event.id, type: event.type, duplicate };
  }

  return {
    scheme,
    source,
    start,
    async close() {
      closed = true;
      if (inFlight > 0) await new Promise<void>((resolve) => waiters.push(resolve));
    },
    async receive(request) {
      if (closed) return reject(503, 'closed', 'the webhook endpoint is shutting down; deliver again later');
      inFlight++;
      try {
        return await handle(request);
      } finally {
        if (--inFlight === 0 && waiters.length) {
          const done = waiters;
          waiters = [];
          for (const resolve of done) resolve();
        }
      }
    },
    async prune(olderThanMs = 30 * DAY) {
      const before = new Date(now() - olderThanMs);
      const result = await db.deleteFrom(table).where('source', '=', source).where('received_at', '<', before).executeTakeFirst();
      return Number(result.numDeletedRows);
    },
    on: events.on,
  };
}
