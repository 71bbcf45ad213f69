/**
 * backdev/runtime/health: named upstreams with failover that hold when upstreams misbehave.
 *
 *   const users = createUpstream({ name: 'users', urls: ['http://users-a:8080', 'http://users-b:8080'],
 *     probe: { path: '/health/ready', intervalMs: 5_000 } });
 *   await users.start();                               // starts the probes (fetch works without them)
 *   const res = await users.fetch('/users/42', { deadlineMs: 2_000 });
 *   users.on('ejected', (e) => log.warn(e));
 *
 * Each base URL has passive outlier detection (consecutive 5xx / timeouts / connection errors, failure
 * percentage over a window with a minimum volume) and optional active probes; an outlier is ejected for
 * base × times ejected (capped, jittered), at most `maxEjectedPercent` of them at once, and when the healthy
 * share falls under `panicThresholdPercent` the upstream enters panic mode (an event and a log line) and routes
 * to every URL. In front of it all an upstream-wide circuit breaker (breaker.ts) fails fast while the whole
 * upstream is down. `fetch` picks the best available URL (priority order, or round-robin), fails over, and
 * retries idempotent requests only, within a retry budget and the request's deadline, honouring Retry-After.
 * The policy and its defaults: docs/health.md.
 */
import { randomUUID } from 'node:crypto';
import { CircuitBreaker, resolveBreakerOptions, type BreakerOptions, type BreakerTransition } from './breaker.js';
import { RetryBudget, fullJitter, isRetryable, isRetryableStatus, parseRetryAfter, type RetryBudgetOptions } from './retry.js';
import type { BreakerSnapshot, BreakerStateStore } from './store.js';
import { SlidingWindow } from './window.js';
import { createEvents } from '../events.js';

export { CircuitBreaker, resolveBreakerOptions, type BreakerOptions, type BreakerPermit, type BreakerTransition } from './breaker.js';
export { RetryBudget, fullJitter, isRetryable, isRetryableStatus, parseRetryAfter, type RetryBudgetOptions } from './retry.js';
export { createMemoryBreakerStore, type BreakerSnapshot, type BreakerState, type BreakerStateStore } from './store.js';
export {
  UpstreamHttpError,
  callUpstream,
  createOperationCalls,
  createTypedClient,
  fillPath,
  queryString,
  type CallOptions,
  type HttpMethod,
  type OperationAt,
  type OperationCalls,
  type OperationRoute,
  type PathsWith,
  type SuccessData,
  type TypedClient,
} from './client.js';
export { HEALTH_CHANGE_EVENTS, publishHealthChanges, type HealthChange, type HealthChangeEvent, type PublishHealthOptions } from './publish.js';

export interface OutlierOptions {
  /** Consecutive failures (5xx, timeout, connection error) that eject a URL. Default 5. */
  consecutiveFailures?: number;
  /** Failure percentage over `windowMs` that ejects a URL with at least `minimumRequests` calls. Default 50. */
  failurePercent?: number;
  /** Default 20. */
  minimumRequests?: number;
  /** Default 10 s; also the time after which the ejection multiplier steps down by one. */
  windowMs?: number;
  /** The n-th ejection in a row lasts n × this (capped, jittered). Default 5 s. */
  baseEjectionMs?: number;
  /** Default 300 s. */
  maxEjectionMs?: number;
  /** Ejection times are stretched by up to this fraction at random. Default 0.1. */
  jitter?: number;
  /** Passive ejections stop at this share of the URLs (one URL may always be ejected). Default 50. */
  maxEjectedPercent?: number;
  /** Under this healthy share the upstream is in panic mode and routes to every URL. Default 50. */
  panicThresholdPercent?: number;
}

export interface ProbeOptions {
  /** Path requested on every URL (GET). */
  path: string;
  /** Default 200. */
  expectedStatus?: number;
  /** Default 1 s. */
  timeoutMs?: number;
  /** Default 5 s. */
  intervalMs?: number;
  /** Failed probes in a row that take a URL out. Default 2. */
  unhealthyThreshold?: number;
  /** Passing probes in a row that bring it back. Default 2. */
  healthyThreshold?: number;
  /**
   * With a `store` that has leases: only the instance holding the probe lease probes (the lease lasts two
   * intervals plus `timeoutMs` and is renewed every interval); the others rely on passive detection. Default false.
   */
  leased?: boolean;
}

export interface RetryOptions {
  /** Attempts per call, the first included. Default 3. */
  maxAttempts?: number;
  /** Full-jitter backoff base and cap. Defaults 50 ms and 2 s. */
  baseMs?: number;
  maxBackoffMs?: number;
  /** Smallest wait for a `Retry-After` of 0 or a past date. Default 100 ms. */
  retryAfterFloorMs?: number;
  budget?: RetryBudgetOptions;
}

export interface HealthLogger {
  warn(message: string, data?: Record<string, unknown>): void;
  info?(message: string, data?: Record<string, unknown>): void;
}

export interface UpstreamOptions {
  name: string;
  /** Base URLs in priority order (primary first). */
  urls: readonly string[];
  /** `priority` (default): the first available URL; `round-robin`: spread over the available ones. */
  balance?: 'priority' | 'round-robin';
  outlier?: OutlierOptions;
  probe?: ProbeOptions;
  breaker?: BreakerOptions;
  retry?: RetryOptions;
  /** Deadline of a call (all attempts and waits) unless the call gives its own. Default 10 s. */
  deadlineMs?: number;
  /** Cap of one attempt; default: the remaining deadline. */
  attemptTimeoutMs?: number;
  /** Header carrying the remaining deadline (milliseconds) to the upstream; null: none. Default `x-request-deadline-ms`. */
  deadlineHeader?: string | null;
  /** Where breaker state is shared (store.ts; over Redis: `backdev/runtime/health/redis`); default: none (local only). */
  store?: BreakerStateStore;
  /** Default: console.warn for panic mode; false: silent. */
  logger?: HealthLogger | false;
  /** The fetch used for calls and probes; default the global fetch. */
  fetch?: typeof globalThis.fetch;
  now?: () => number;
  random?: () => number;
}

export interface UpstreamFetchInit extends RequestInit {
  /** This call's deadline (ms from now); default the upstream's `deadlineMs`. `signal` aborts it too. */
  deadlineMs?: number;
}

export type EjectionReason = 'consecutive-failures' | 'failure-rate' | 'probe';
export type FailureKind = 'status' | 'timeout' | 'connection';

export interface UpstreamEvents {
  ejected: { upstream: string; url: string; reason: EjectionReason; durationMs?: number; timesEjected: number };
  restored: { upstream: string; url: string; reason: 'timer' | 'probe' };
  breaker: { upstream: string } & BreakerTransition;
  panic: { upstream: string; active: boolean; healthy: number; total: number };
  retry: { upstream: string; attempt: number; url: string; delayMs: number; failure: FailureKind; status?: number; retryAfterMs?: number };
  error: { upstream: string; error: unknown };
}

export interface UrlState {
  url: string;
  available: boolean;
  ejected: boolean;
  ejectedUntil: number;
  timesEjected: number;
  probe: 'healthy' | 'unhealthy' | 'unknown';
  consecutiveFailures: number;
  window: { requests: number; failures: number };
}

export interface UpstreamState {
  name: string;
  panic: boolean;
  breaker: BreakerSnapshot & { trialsInFlight: number };
  urls: UrlState[];
  retryBudget: { requests: number; retries: number };
}

export type UpstreamErrorCode = 'breaker-open' | 'deadline' | 'closed' | 'failed';

export class UpstreamError extends Error {
  constructor(
    readonly upstream: string,
    readonly code: UpstreamErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'UpstreamError';
  }
}

export interface Upstream {
  readonly name: string;
  /** Starts the probes and the shared state; idempotent. */
  start(): Promise<void>;
  /** Stops the probes and timers; later calls fail with `closed`. Idempotent. */
  close(): Promise<void>;
  fetch(path: string, init?: UpstreamFetchInit): Promise<Response>;
  state(): UpstreamState;
  on<E extends keyof UpstreamEvents>(event: E, listener: (event: UpstreamEvents[E]) => void): () => void;
}

interface Endpoint {
  index: number;
  base: string;
  consecutive: number;
  window: SlidingWindow;
  ejected: boolean;
  ejectedUntil: number;
  timesEjected: number;
  restoredAt: number;
  timer: NodeJS.Timeout | undefined;
  probe: 'healthy' | 'unhealthy' | 'unknown';
  probeStreak: number;
  /** Not before this time (a Retry-After it sent). */
  notBefore: number;
}

function resolveOutlier(o: OutlierOptions = {}): Required<OutlierOptions> {
  const base = o.baseEjectionMs ?? 5_000;
  return {
    consecutiveFailures: o.consecutiveFailures ?? 5,
    failurePercent: o.failurePercent ?? 50,
    minimumRequests: o.minimumRequests ?? 20,
    windowMs: o.windowMs ?? 10_000,
    baseEjectionMs: base,
    maxEjectionMs: Math.max(base, o.maxEjectionMs ?? 300_000),
    jitter: o.jitter ?? 0.1,
    maxEjectedPercent: o.maxEjectedPercent ?? 50,
    panicThresholdPercent: o.panicThresholdPercent ?? 50,
  };
}

function joinUrl(base: string, path: string): string {
  if (/^[a-z][a-z0-9+.-]*:/i.test(path)) throw new TypeError(`upstream paths are relative to its base URLs, got ${path}`);
  return `${base.replace(/\/+$/, '')}/${path.replace(/^\/+/, '')}`;
}

function replayable(body: RequestInit['body']): boolean {
  return body == null || typeof body === 'string' || body instanceof URLSearchParams || body instanceof ArrayBuffer || ArrayBuffer.isView(body) || body instanceof Blob;
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal!.reason);
    };
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function isConnectionRefused(error: unknown): boolean {
  const cause = (error as { cause?: { code?: string } } | undefined)?.cause;
  return cause?.code === 'ECONNREFUSED';
}

export function createUpstream(options: UpstreamOptions): Upstream {
  const name = options.name;
  if (!name) throw new TypeError('createUpstream: name is required');
  if (!options.urls.length) throw new TypeError(`upstream ${name}: at least one URL is required`);
  const now = options.now ?? Date.now;
  const random = options.random ?? Math.random;
  const doFetch = options.fetch ?? globalThis.fetch;
  const outlier = resolveOutlier(options.outlier);
  const probe = options.probe
    ? {
        path: options.probe.path,
        expectedStatus: options.probe.expectedStatus ?? 200,
        timeoutMs: options.probe.timeoutMs ?? 1_000,
        intervalMs: options.probe.intervalMs ?? 5_000,
        unhealthyThreshold: Math.max(1, options.probe.unhealthyThreshold ?? 2),
        healthyThreshold: Math.max(1, options.probe.healthyThreshold ?? 2),
        leased: options.probe.leased === true && typeof options.store?.acquireLease === 'function',
      }
    : undefined;
  const retry = {
    maxAttempts: Math.max(1, options.retry?.maxAttempts ?? 3),
    baseMs: options.retry?.baseMs ?? 50,
    maxBackoffMs: options.retry?.maxBackoffMs ?? 2_000,
    retryAfterFloorMs: options.retry?.retryAfterFloorMs ?? 100,
  };
  const deadlineMs = options.deadlineMs ?? 10_000;
  const deadlineHeader = options.deadlineHeader === undefined ? 'x-request-deadline-ms' : options.deadlineHeader;
  const logger: HealthLogger | undefined =
    options.logger === false ? undefined : (options.logger ?? { warn: (m, d) => console.warn(`[backdev/health] ${m}`, d ?? '') });
  const balance = options.balance ?? 'priority';

  const events = createEvents<UpstreamEvents>();
  const emit = events.emit;

  const endpoints: Endpoint[] = options.urls.map((base, index) => ({
    index,
    base,
    consecutive: 0,
    window: new SlidingWindow(outlier.windowMs, now),
    ejected: false,
    ejectedUntil: 0,
    timesEjected: 0,
    restoredAt: -Infinity,
    timer: undefined,
    probe: 'unknown',
    probeStreak: 0,
    notBefore: 0,
  }));
  const budget = new RetryBudget(options.retry?.budget ?? {}, now);
  const breaker = new CircuitBreaker(resolveBreakerOptions(options.breaker), {
    key: `upstream:${name}`,
    now,
    random,
    ...(options.store ? { store: options.store } : {}),
    onTransition: (t) => {
      emit('breaker', { upstream: name, ...t });
      if (t.state === 'open') logger?.info?.(`upstream ${name}: circuit open`, { ...t });
    },
    onStoreError: (error) => emit('error', { upstream: name, error }),
  });

  let panic = false;
  let rr = 0;
  let started: Promise<void> | undefined;
  let closed = false;
  let probeTimer: NodeJS.Timeout | undefined;
  const probing = new Set<Promise<void>>();

  const available = (e: Endpoint) => !e.ejected && e.probe !== 'unhealthy';

  function updatePanic(): void {
    const healthy = endpoints.filter(available).length;
    const active = (healthy / endpoints.length) * 100 < outlier.panicThresholdPercent;
    if (active === panic) return;
    panic = active;
    const event = { upstream: name, active, healthy, total: endpoints.length };
    if (active) logger?.warn(`upstream ${name}: panic mode, ${healthy} of ${endpoints.length} URLs healthy; routing to all`, event);
    else logger?.warn(`upstream ${name}: panic mode over, ${healthy} of ${endpoints.length} URLs healthy`, event);
    emit('panic', event);
  }

  function eject(e: Endpoint, reason: Exclude<EjectionReason, 'probe'>): void {
    const ejectedNow = endpoints.filter((x) => x.ejected).length;
    if (ejectedNow > 0 && ((ejectedNow + 1) / endpoints.length) * 100 > outlier.maxEjectedPercent) return;
    const t = now();
    const decay = Number.isFinite(e.restoredAt) ? Math.floor((t - e.restoredAt) / outlier.windowMs) : 0;
    e.timesEjected = Math.max(0, e.timesEjected - decay) + 1;
    const duration = Math.min(outlier.baseEjectionMs * e.timesEjected, outlier.maxEjectionMs) * (1 + outlier.jitter * random());
    e.ejected = true;
    e.ejectedUntil = t + duration;
    e.consecutive = 0;
    e.window.reset();
    e.timer = setTimeout(() => restoreAfterTimer(e), Math.ceil(duration));
    e.timer.unref?.();
    emit('ejected', { upstream: name, url: e.base, reason, durationMs: duration, timesEjected: e.timesEjected });
    updatePanic();
  }

  function restoreAfterTimer(e: Endpoint): void {
    e.timer = undefined;
    if (!e.ejected) return;
    e.ejected = false;
    e.restoredAt = now();
    // With probes failing it stays out until they pass; the event then comes from the probe.
    if (e.probe !== 'unhealthy') emit('restored', { upstream: name, url: e.base, reason: 'timer' });
    updatePanic();
  }

  function record(e: Endpoint, ok: boolean): void {
    e.window.add(!ok);
    if (ok) {
      e.consecutive = 0;
      return;
    }
    e.consecutive++;
    if (e.ejected || closed) return;
    if (e.consecutive >= outlier.consecutiveFailures) return eject(e, 'consecutive-failures');
    const w = e.window.counts();
    if (w.total >= outlier.minimumRequests && (w.marked / w.total) * 100 >= outlier.failurePercent) eject(e, 'failure-rate');
  }

  async function runProbe(e: Endpoint): Promise<void> {
    if (!probe) return;
    let ok = false;
    try {
      const res = await doFetch(joinUrl(e.base, probe.path), { method: 'GET', signal: AbortSignal.timeout(probe.timeoutMs) });
      ok = res.status === probe.expectedStatus;
      await res.body?.cancel().catch(() => {});
    } catch {
      ok = false;
    }
    if (closed) return;
    if (ok !== e.probeStreak > 0) e.probeStreak = 0;
    e.probeStreak += ok ? 1 : -1;
    if (!ok && e.probe !== 'unhealthy' && -e.probeStreak >= probe.unhealthyThreshold) {
      const wasAvailable = available(e);
      e.probe = 'unhealthy';
      if (wasAvailable) emit('ejected', { upstream: name, url: e.base, reason: 'probe', timesEjected: e.timesEjected });
      updatePanic();
    } else if (ok && e.probe !== 'healthy' && (e.probe === 'unknown' || e.probeStreak >= probe.healthyThreshold)) {
      const wasUnhealthy = e.probe === 'unhealthy';
      e.probe = 'healthy';
      if (wasUnhealthy && !e.ejected) emit('restored', { upstream: name, url: e.base, reason: 'probe' });
      updatePanic();
    }
  }

  const probeHolder = randomUUID();
  const probeLeaseKey = `upstream:${name}:probes`;
  let probeLeaseHeld = false;

  function probeAll(): void {
    const store = options.store;
    if (!probe?.leased || !store?.acquireLease) return probeEvery();
    const p = store
      .acquireLease(probeLeaseKey, probeHolder, probe.intervalMs * 2 + probe.timeoutMs)
      .catch((error: unknown) => {
        emit('error', { upstream: name, error });
        return true;
      })
      .then((granted) => {
        if (closed) return;
        if (!granted && probeLeaseHeld) forgetProbes();
        probeLeaseHeld = granted;
        if (granted) probeEvery();
      })
      .finally(() => probing.delete(p));
    probing.add(p);
  }

  /** Another instance probes now: verdicts this one can no longer renew are dropped (passive detection rules). */
  function forgetProbes(): void {
    for (const e of endpoints) {
      const wasUnhealthy = e.probe === 'unhealthy';
      e.probe = 'unknown';
      e.probeStreak = 0;
      if (wasUnhealthy && !e.ejected) emit('restored', { upstream: name, url: e.base, reason: 'probe' });
    }
    updatePanic();
  }

  function probeEvery(): void {
    for (const e of endpoints) {
      const p = runProbe(e).finally(() => probing.delete(p));
      probing.add(p);
    }
  }

  function select(tried: ReadonlySet<number>): Endpoint {
    const healthy = endpoints.filter(available);
    const pool = panic || healthy.length === 0 ? endpoints : healthy;
    let fresh = pool.filter((e) => !tried.has(e.index));
    if (!fresh.length) fresh = pool;
    const t = now();
    const ready = fresh.filter((e) => e.notBefore <= t);
    if (!ready.length) return fresh.reduce((a, b) => (b.notBefore < a.notBefore ? b : a));
    if (balance === 'round-robin') return ready[rr++ % ready.length]!;
    return ready[0]!;
  }

  async function call(path: string, init: UpstreamFetchInit = {}): Promise<Response> {
    if (closed) throw new UpstreamError(name, 'closed', `upstream ${name} is closed`);
    const { deadlineMs: callDeadline, signal: callerSignal, ...rest } = init;
    const deadlineAt = now() + (callDeadline ?? deadlineMs);
    const method = (rest.method ?? 'GET').toUpperCase();
    const headers = new Headers(rest.headers);
    const canRetry = isRetryable(method, headers) && replayable(rest.body);
    budget.request();
    const tried = new Set<number>();
    let lastError: unknown;
    let next: Endpoint | undefined;

    for (let attempt = 1; ; attempt++) {
      const permit = breaker.acquire();
      if (!permit) {
        throw new UpstreamError(name, 'breaker-open', `upstream ${name}: circuit open`, { cause: lastError });
      }
      const e = next ?? select(tried);
      next = undefined;
      tried.add(e.index);
      const remaining = deadlineAt - now();
      if (remaining <= 0) {
        permit.done(undefined);
        throw new UpstreamError(name, 'deadline', `upstream ${name}: deadline exceeded`, { cause: lastError });
      }
      const timeoutMs = Math.max(1, Math.min(remaining, options.attemptTimeoutMs ?? remaining));
      if (deadlineHeader) headers.set(deadlineHeader, String(Math.floor(timeoutMs)));
      const timeout = AbortSignal.timeout(timeoutMs);
      const signal = callerSignal ? AbortSignal.any([callerSignal, timeout]) : timeout;
      let failure: FailureKind | undefined;
      let res: Response | undefined;
      try {
        res = await doFetch(joinUrl(e.base, path), { ...rest, method, headers, signal });
      } catch (error) {
        if (callerSignal?.aborted) {
          permit.done(undefined);
          throw error;
        }
        failure = timeout.aborted ? 'timeout' : 'connection';
        lastError = error;
      }
      if (res && res.status >= 500) failure = 'status';
      const healthy = failure === undefined;
      record(e, healthy);
      // The breaker is upstream-wide: a failure counts when no other URL is left to go to (the URL's own
      // ejection deals with it otherwise).
      permit.done(healthy ? true : endpoints.some((x) => x !== e && available(x)) ? undefined : false);

      const again = res ? isRetryableStatus(res.status) : true;
      if (res && !again) return res;
      let retryAfterMs: number | undefined;
      if (res) {
        const ra = parseRetryAfter(res.headers.get('retry-after'), now());
        if (ra !== undefined) {
          retryAfterMs = Math.max(retry.retryAfterFloorMs, ra);
          e.notBefore = now() + retryAfterMs;
        }
      }
      const mayRetry = canRetry || (failure === 'connection' && isConnectionRefused(lastError) && replayable(rest.body));
      const giveUp = () => {
        if (res) return res;
        throw new UpstreamError(name, failure === 'timeout' && deadlineAt - now() < 5 ? 'deadline' : 'failed', `upstream ${name}: ${failure} error on ${e.base}`, { cause: lastError });
      };
      if (!mayRetry || attempt >= retry.maxAttempts) return giveUp();
      const candidate = select(tried);
      const wait = Math.max(0, candidate.notBefore - now()) + fullJitter(attempt, retry.baseMs, retry.maxBackoffMs, random);
      if (now() + wait >= deadlineAt) return giveUp();
      if (!budget.tryRetry()) return giveUp();
      if (res) await res.body?.cancel().catch(() => {});
      emit('retry', { upstream: name, attempt: attempt + 1, url: candidate.base, delayMs: wait, failure: failure ?? 'status', ...(res ? { status: res.status } : {}), ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) });
      await sleep(wait, callerSignal ?? undefined);
      next = candidate;
    }
  }

  return {
    name,
    start() {
      if (closed) return Promise.reject(new UpstreamError(name, 'closed', `upstream ${name} is closed`));
      started ??= (async () => {
        await breaker.start();
        if (probe) {
          probeAll();
          probeTimer = setInterval(probeAll, probe.intervalMs);
          probeTimer.unref?.();
        }
      })();
      return started;
    },
    async close() {
      if (closed) return;
      closed = true;
      if (probeTimer) clearInterval(probeTimer);
      for (const e of endpoints) if (e.timer) clearTimeout(e.timer);
      breaker.close();
      await Promise.allSettled([...probing]);
      if (probeLeaseHeld) await options.store?.releaseLease?.(probeLeaseKey, probeHolder).catch(() => {});
    },
    fetch: call,
    state() {
      return {
        name,
        panic,
        breaker: breaker.snapshot(),
        urls: endpoints.map((e) => {
          const w = e.window.counts();
          return {
            url: e.base,
            available: available(e),
            ejected: e.ejected,
            ejectedUntil: e.ejected ? e.ejectedUntil : 0,
            timesEjected: e.timesEjected,
            probe: e.probe,
            consecutiveFailures: e.consecutive,
            window: { requests: w.total, failures: w.marked },
          };
        }),
        retryBudget: budget.counts(),
      };
    },
    on: events.on,
  };
}
