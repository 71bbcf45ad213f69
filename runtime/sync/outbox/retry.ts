/**
 * How the outbox dispatcher reads an attempt: which responses mean delivered, retry or give up; which
 * errors leave the outcome unknown (the request may have taken effect); how long to wait before the next
 * attempt (full-jitter backoff, or the receiver's `Retry-After`, never less than a floor).
 */
import { fullJitter, parseRetryAfter } from '../../health/retry.js';

export type DeliveryVerdict = 'delivered' | 'retry' | 'dead';

export interface OutboxBackoffOptions {
  /** The n-th retry waits a uniform time in [0, min(maxMs, baseMs × 2^(n-1))]. Default 1 s. */
  baseMs?: number | undefined;
  /** Default 5 min. */
  maxMs?: number | undefined;
  /** Smallest wait for a `Retry-After` of 0 or a date in the past. Default 1 s. */
  retryAfterFloorMs?: number | undefined;
}

export type ResolvedOutboxBackoff = Required<{ [K in keyof OutboxBackoffOptions]: number }>;

export function resolveOutboxBackoff(options: OutboxBackoffOptions = {}): ResolvedOutboxBackoff {
  const baseMs = options.baseMs ?? 1_000;
  const resolved = {
    baseMs,
    maxMs: Math.max(baseMs, options.maxMs ?? 300_000),
    retryAfterFloorMs: options.retryAfterFloorMs ?? 1_000,
  };
  for (const [k, v] of Object.entries(resolved)) {
    if (!Number.isFinite(v) || v < 0) throw new RangeError(`outbox backoff ${k} must be a number >= 0, got ${v}`);
  }
  return resolved;
}

/**
 * The wait (ms) after failed attempt number `attempt` (1 for the first). With a `Retry-After` (ms, as
 * `parseRetryAfter` reads it) the wait is at least that and at least the floor, plus a spread of up to a
 * tenth of it (at most `baseMs`) so that entries refused together do not all return at the same instant;
 * without, full jitter.
 */
export function outboxRetryDelay(attempt: number, retryAfterMs: number | undefined, backoff: ResolvedOutboxBackoff, random: () => number): number {
  if (retryAfterMs !== undefined) {
    const wait = Math.max(backoff.retryAfterFloorMs, retryAfterMs);
    return wait + random() * Math.min(backoff.baseMs, wait / 10);
  }
  return fullJitter(attempt, backoff.baseMs, backoff.maxMs, random);
}

/** `Retry-After` of a response in ms from `now` (delay-seconds or HTTP-date; 0 for 0 or a past date), or undefined. */
export function retryAfterOf(response: Response, now: number): number | undefined {
  return parseRetryAfter(response.headers.get('retry-after'), now);
}

/**
 * The default reading of a response: 2xx delivered; 408, 409 (the receiver is still working on a request
 * with the same key), 425, 429 and 5xx other than 501 and 505 are worth another attempt; anything else
 * (400, 404, 422, …) will not get better by repeating it and is a dead letter at once.
 */
export function classifyDeliveryStatus(status: number): DeliveryVerdict {
  if (status >= 200 && status < 300) return 'delivered';
  if (status === 408 || status === 409 || status === 425 || status === 429) return 'retry';
  if (status >= 500 && status !== 501 && status !== 505) return 'retry';
  return 'dead';
}

/** Connection errors that happen before a request leaves: it cannot have reached the receiver. */
const NOT_SENT = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ENETUNREACH', 'EHOSTUNREACH', 'ERR_INVALID_URL']);

function causes(err: unknown): unknown[] {
  const out: unknown[] = [];
  let e: unknown = err;
  while (e !== undefined && e !== null && out.length < 6 && !out.includes(e)) {
    out.push(e);
    e = (e as { cause?: unknown }).cause;
  }
  return out;
}

function describe(e: unknown): string {
  if (!(e instanceof Error) && (typeof e !== 'object' || e === null)) return String(e);
  const { name, message, code } = e as { name?: string; message?: string; code?: unknown };
  const head = typeof code === 'string' && code !== '' ? `${code}: ` : '';
  return `${head}${name && name !== 'Error' ? `${name}: ` : ''}${message ?? ''}`.trim();
}

/**
 * What a thrown attempt means: `inDoubt` unless the request certainly never reached the receiver (the
 * connection was refused, the host does not resolve, the upstream's circuit is open). A timeout, a reset,
 * a response dropped half-way: the receiver may have acted on it.
 */
export function readDeliveryFailure(err: unknown): { inDoubt: boolean; error: string } {
  const chain = causes(err);
  const error = chain.map(describe).filter(Boolean).join(' <- ').slice(0, 1_000) || 'unknown error';
  const first = chain[0] as { name?: unknown; code?: unknown } | undefined;
  if (first?.name === 'UpstreamError') {
    // The health module gave up: open circuit or closed upstream mean nothing was sent; anything else
    // may follow attempts whose outcome is unknown.
    return { inDoubt: !(first.code === 'breaker-open' || first.code === 'closed'), error };
  }
  const codes = chain.map((c) => (c as { code?: unknown } | null)?.code).filter((c): c is string => typeof c === 'string');
  return { inDoubt: !codes.some((c) => NOT_SENT.has(c)), error };
}
