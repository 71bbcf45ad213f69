/**
 * The HTTP side of a pull: GET a page and parse its JSON, politely. One client per upstream, shared by its
 * streams: a token bucket paces the requests; `429`/`5xx`/connection errors are retried with full-jitter
 * backoff; a `Retry-After` (seconds or an HTTP date) holds every request of the upstream until it expires,
 * and a `0` or a past date waits `retryAfterFloorMs` rather than looping. The pause is handed to `pauses`
 * (the pull job stores it in the database) before the wait begins, so a process started after a crash
 * waits it out too. With a `backdev/runtime/health` upstream the requests go through its `fetch`
 * (failover, outlier detection, its own retries within its deadline); else through plain `fetch`.
 */
import { fullJitter, isRetryableStatus, parseRetryAfter } from '../health/retry.js';
import { createTokenBucket, delay, type TokenBucketOptions } from './token-bucket.js';
import { createEvents } from '../events.js';

/** What this module needs of a `backdev/runtime/health` upstream. */
export interface UpstreamLike {
  readonly name: string;
  fetch(path: string, init?: RequestInit & { deadlineMs?: number }): Promise<Response>;
  state?(): { urls: readonly { url: string }[] };
}

/** Where an upstream's `Retry-After` pause is kept across processes. */
export interface PauseStore {
  /** The end of the upstream's pause (ms since the epoch), if one was recorded. */
  load(upstream: string): Promise<number | undefined>;
  save(upstream: string, until: number): Promise<void>;
}

export interface SyncRetryOptions {
  /** Attempts per page, the first included (default 10). */
  maxAttempts?: number;
  /** Full-jitter backoff base and cap (defaults 200 ms and 30 s). */
  baseMs?: number;
  maxBackoffMs?: number;
  /** The shortest wait for a `Retry-After` of 0 or a date in the past (default 1 s). */
  retryAfterFloorMs?: number;
  /** A `Retry-After` longer than this fails the page instead of waiting (default 15 min). */
  maxRetryAfterMs?: number;
}

export interface SyncHttpOptions {
  /** The upstream's name: the key of its pause and of its events. */
  name: string;
  /** Through `backdev/runtime/health`: stream URLs are then paths relative to the upstream's URLs. */
  upstream?: UpstreamLike;
  /** Base of relative stream URLs when there is no `upstream`. */
  baseUrl?: string;
  /** Requests per second (and burst) to this upstream; default: unpaced. */
  rate?: TokenBucketOptions;
  retry?: SyncRetryOptions;
  /** Headers sent with every request (authorization). */
  headers?: Record<string, string>;
  /** Cap of one attempt (default 30 s). */
  timeoutMs?: number;
  pauses?: PauseStore;
  fetch?: typeof globalThis.fetch;
  now?: () => number;
  random?: () => number;
}

export interface SyncHttpEvents {
  retry: { upstream: string; url: string; attempt: number; delayMs: number; status?: number; error?: string; retryAfterMs?: number };
  paused: { upstream: string; until: number };
}

export interface FetchedPage {
  url: URL;
  status: number;
  headers: Headers;
  body: unknown;
}

export class SyncHttpError extends Error {
  constructor(
    readonly upstream: string,
    readonly url: string,
    readonly status: number | undefined,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'SyncHttpError';
  }
}

export interface SyncHttp {
  readonly name: string;
  /** Resolves a stream URL (absolute, or relative to `baseUrl` / the upstream). */
  resolve(url: string): URL;
  /** GET `url` and parse the JSON body, retrying as described above; throws a `SyncHttpError` when it gives up. */
  get(url: URL, init?: { headers?: Record<string, string>; signal?: AbortSignal }): Promise<FetchedPage>;
  /** When the upstream's current pause ends (0: none). */
  pausedUntil(): number;
  on<E extends keyof SyncHttpEvents>(event: E, listener: (event: SyncHttpEvents[E]) => void): () => void;
}

/** The base of relative URLs for an upstream reached through runtime/health (never requested as such). */
const UPSTREAM_BASE = 'http://upstream.invalid/';

export function createSyncHttp(options: SyncHttpOptions): SyncHttp {
  const name = options.name;
  const now = options.now ?? Date.now;
  const random = options.random ?? Math.random;
  const doFetch = options.fetch ?? globalThis.fetch;
  const retry = {
    maxAttempts: Math.max(1, options.retry?.maxAttempts ?? 10),
    baseMs: options.retry?.baseMs ?? 200,
    maxBackoffMs: options.retry?.maxBackoffMs ?? 30_000,
    floorMs: Math.max(1, options.retry?.retryAfterFloorMs ?? 1_000),
    maxRetryAfterMs: options.retry?.maxRetryAfterMs ?? 15 * 60_000,
  };
  const timeoutMs = options.timeoutMs ?? 30_000;
  const bucket = options.rate ? createTokenBucket(options.rate, now) : undefined;
  const base = options.upstream ? UPSTREAM_BASE : options.baseUrl;
  const events = createEvents<SyncHttpEvents>();
  const emit = events.emit;

  let notBefore = 0;
  let loaded: Promise<void> | undefined;
  const loadPause = () =>
    (loaded ??= (options.pauses?.load(name) ?? Promise.resolve(undefined)).then(
      (until) => {
        if (until !== undefined) notBefore = Math.max(notBefore, until);
      },
      (err: unknown) => {
        loaded = undefined;
        throw err;
      },
    ));

  async function pause(until: number): Promise<void> {
    if (until <= notBefore) return;
    notBefore = until;
    emit('paused', { upstream: name, until });
    await options.pauses?.save(name, until);
  }

  /** Waits out the pause and takes a token; the pause is checked again after the token (another request may have set one). */
  async function turn(signal?: AbortSignal): Promise<void> {
    await loadPause();
    for (;;) {
      // The clock is read again after each sleep: a timer may fire a little early.
      while (now() < notBefore) await delay(notBefore - now(), signal);
      await bucket?.take(signal);
      if (now() >= notBefore) return;
    }
  }

  /** The path of `url` relative to the health upstream's URLs (a next link names one of them). */
  function upstreamPath(url: URL): string {
    const href = url.href;
    if (href.startsWith(UPSTREAM_BASE)) return href.slice(UPSTREAM_BASE.length - 1);
    for (const u of options.upstream?.state?.().urls ?? []) {
      const prefix = u.url.replace(/\/+$/, '');
      if (href.startsWith(`${prefix}/`) || href.startsWith(`${prefix}?`)) return href.slice(prefix.length) || '/';
    }
    return `${url.pathname}${url.search}`;
  }

  async function attempt(url: URL, headers: Headers, signal?: AbortSignal): Promise<Response> {
    const timeout = AbortSignal.timeout(timeoutMs);
    const both = signal ? AbortSignal.any([signal, timeout]) : timeout;
    if (options.upstream) return options.upstream.fetch(upstreamPath(url), { method: 'GET', headers, signal: both, deadlineMs: timeoutMs });
    return doFetch(url, { method: 'GET', headers, signal: both });
  }

  return {
    name,
    resolve(url) {
      return base ? new URL(url, base) : new URL(url);
    },
    async get(url, init = {}) {
      const headers = new Headers({ accept: 'application/json', ...options.headers, ...init.headers });
      let last: { status?: number; error?: unknown } = {};
      for (let n = 1; ; n++) {
        await turn(init.signal);
        let res: Response | undefined;
        let body: unknown;
        let failure: string | undefined;
        try {
          res = await attempt(url, headers, init.signal);
          if (res.ok) {
            const text = await res.text();
            body = JSON.parse(text);
            // The URL that answered (through runtime/health: one of the upstream's): next links are checked against it.
            return { url: res.url ? new URL(res.url) : url, status: res.status, headers: res.headers, body };
          }
          if (!isRetryableStatus(res.status)) {
            const text = await res.text().catch(() => '');
            throw new SyncHttpError(name, url.href, res.status, `GET ${url.pathname} on ${name}: ${res.status} ${text.slice(0, 200)}`);
          }
          await res.body?.cancel().catch(() => {});
          failure = `status ${res.status}`;
          last = { status: res.status };
        } catch (err) {
          if (err instanceof SyncHttpError) throw err;
          if (init.signal?.aborted) throw init.signal.reason;
          failure = err instanceof Error ? err.message : String(err);
          last = { status: res?.status, error: err };
        }
        if (n >= retry.maxAttempts) {
          throw new SyncHttpError(name, url.href, last.status, `GET ${url.pathname} on ${name}: gave up after ${n} attempts (${failure})`, { cause: last.error });
        }
        const ra = res ? parseRetryAfter(res.headers.get('retry-after'), now()) : undefined;
        let delayMs: number;
        if (ra !== undefined) {
          delayMs = Math.max(retry.floorMs, ra);
          if (delayMs > retry.maxRetryAfterMs) {
            throw new SyncHttpError(name, url.href, res?.status, `GET ${url.pathname} on ${name}: Retry-After of ${Math.round(delayMs / 1000)} s is longer than maxRetryAfterMs`);
          }
          await pause(now() + delayMs);
        } else {
          delayMs = fullJitter(n, retry.baseMs, retry.maxBackoffMs, random);
        }
        emit('retry', { upstream: name, url: url.href, attempt: n + 1, delayMs, ...(res ? { status: res.status } : { error: failure }), ...(ra !== undefined ? { retryAfterMs: ra } : {}) });
        if (ra === undefined) await delay(delayMs, init.signal);
      }
    },
    pausedUntil: () => (notBefore > now() ? notBefore : 0),
    on: events.on,
  };
}
