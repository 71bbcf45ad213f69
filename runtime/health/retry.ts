/** Retry policy pieces: which requests may be retried, `Retry-After`, full-jitter backoff, the retry budget. */
import { SlidingWindow } from './window.js';

const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);

/** Idempotent methods, or any request carrying an `Idempotency-Key` header. */
export function isRetryable(method: string, headers: Headers): boolean {
  return IDEMPOTENT.has(method.toUpperCase()) || headers.has('idempotency-key');
}

/** Statuses worth another attempt: 429 and 5xx other than 501/505. */
export function isRetryableStatus(status: number): boolean {
  return status === 429 || (status >= 500 && status !== 501 && status !== 505);
}

/**
 * `Retry-After` in milliseconds from now: delay-seconds or an HTTP-date. Undefined when absent or unreadable.
 * A `0`, or a date in the past, gives 0 (the caller applies its floor).
 */
export function parseRetryAfter(value: string | null, now: number): number | undefined {
  if (value === null) return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const date = Date.parse(v);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}

/** Full jitter: a uniform wait between 0 and min(cap, base × 2^retry). */
export function fullJitter(retry: number, baseMs: number, capMs: number, random: () => number): number {
  return random() * Math.min(capMs, baseMs * 2 ** Math.max(0, retry - 1));
}

export interface RetryBudgetOptions {
  /** Retries allowed as a share of requests over the window. Default 0.2 (at most 1.2 attempts per request). */
  ratio?: number;
  /** Default 10 s. */
  windowMs?: number;
  /**
   * Retries allowed in a window whatever the volume, so that a quiet service can still fail over. Default 0:
   * the ratio holds at every volume (a first lone request cannot be retried until 1/ratio requests were seen).
   */
  minRetries?: number;
}

/** Counts requests and retries over a sliding window; a retry is allowed while retries stay within the ratio. */
export class RetryBudget {
  private readonly window: SlidingWindow;
  readonly ratio: number;
  readonly minRetries: number;

  constructor(options: RetryBudgetOptions, now: () => number) {
    this.ratio = options.ratio ?? 0.2;
    this.minRetries = options.minRetries ?? 0;
    this.window = new SlidingWindow(options.windowMs ?? 10_000, now);
  }

  request(): void {
    this.window.add(false);
  }

  /** Takes one retry from the budget when there is one left. */
  tryRetry(): boolean {
    const { total, marked } = this.window.counts();
    const requests = total - marked;
    if (marked + 1 > Math.max(this.minRetries, this.ratio * requests)) return false;
    this.window.add(true);
    return true;
  }

  counts(): { requests: number; retries: number } {
    const { total, marked } = this.window.counts();
    return { requests: total - marked, retries: marked };
  }
}
