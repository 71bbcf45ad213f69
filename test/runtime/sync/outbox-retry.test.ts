/** The outbox's retry policy as given/want tables: backoff, Retry-After (both forms, 0 and past as a floor), verdicts, failures. */
import { describe, expect, it } from 'vitest';
import { UpstreamError } from '../../../runtime/health/index.js';
import {
  classifyDeliveryStatus,
  outboxRetryDelay,
  readDeliveryFailure,
  resolveOutboxBackoff,
  retryAfterOf,
} from '../../../runtime/sync/outbox/retry.js';

const backoff = resolveOutboxBackoff({ baseMs: 100, maxMs: 1_000, retryAfterFloorMs: 500 });
const fixed = (r: number) => () => r;

describe('outbox backoff', () => {
  it.each([
    // attempt, random, want (full jitter: random × min(max, base × 2^(attempt-1)))
    { attempt: 1, random: 0, want: 0 },
    { attempt: 1, random: 0.5, want: 50 },
    { attempt: 1, random: 0.999, want: 99.9 },
    { attempt: 2, random: 0.5, want: 100 },
    { attempt: 3, random: 0.999, want: 399.6 },
    { attempt: 4, random: 1, want: 800 },
    { attempt: 5, random: 1, want: 1_000 },
    { attempt: 30, random: 0.5, want: 500 },
  ])('attempt $attempt, random $random: waits $want ms', ({ attempt, random, want }) => {
    expect(outboxRetryDelay(attempt, undefined, backoff, fixed(random))).toBeCloseTo(want, 6);
  });

  it('stays within [0, cap] for any random value', () => {
    let seed = 7;
    const rnd = () => ((seed = (seed * 16807) % 2147483647) - 1) / 2147483646;
    for (let attempt = 1; attempt <= 12; attempt++) {
      for (let i = 0; i < 50; i++) {
        const d = outboxRetryDelay(attempt, undefined, backoff, rnd);
        expect(d).toBeGreaterThanOrEqual(0);
        expect(d).toBeLessThanOrEqual(Math.min(1_000, 100 * 2 ** (attempt - 1)));
      }
    }
  });

  it.each([
    // retryAfterMs, random, want: at least max(floor, Retry-After), plus at most min(base, a tenth of it)
    { retryAfterMs: 0, random: 0, want: 500 },
    { retryAfterMs: 0, random: 1, want: 550 },
    { retryAfterMs: 200, random: 0, want: 500 },
    { retryAfterMs: 3_000, random: 0, want: 3_000 },
    { retryAfterMs: 3_000, random: 1, want: 3_100 },
    { retryAfterMs: 120_000, random: 0.5, want: 120_050 },
  ])('Retry-After $retryAfterMs ms, random $random: waits $want ms', ({ retryAfterMs, random, want }) => {
    expect(outboxRetryDelay(1, retryAfterMs, backoff, fixed(random))).toBeCloseTo(want, 6);
  });

  it('a Retry-After longer than the backoff cap is honoured in full', () => {
    expect(outboxRetryDelay(1, 3_600_000, backoff, fixed(0))).toBe(3_600_000);
  });

  it('reads Retry-After as seconds and as an HTTP-date; 0 and past dates become 0 (then the floor)', () => {
    const now = Date.parse('2026-03-01T12:00:00Z');
    const res = (value: string | undefined) => new Response(null, { status: 429, headers: value === undefined ? {} : { 'retry-after': value } });
    expect(retryAfterOf(res('7'), now)).toBe(7_000);
    expect(retryAfterOf(res('0'), now)).toBe(0);
    expect(retryAfterOf(res('Sun, 01 Mar 2026 12:00:09 GMT'), now)).toBe(9_000);
    expect(retryAfterOf(res('Sun, 01 Mar 2026 11:00:00 GMT'), now)).toBe(0);
    expect(retryAfterOf(res('later'), now)).toBeUndefined();
    expect(retryAfterOf(res(undefined), now)).toBeUndefined();
    expect(outboxRetryDelay(1, retryAfterOf(res('Sun, 01 Mar 2026 11:00:00 GMT'), now), backoff, fixed(0))).toBe(500);
  });

  it('rejects negative or non-numeric settings', () => {
    expect(() => resolveOutboxBackoff({ baseMs: -1 })).toThrow(RangeError);
    expect(() => resolveOutboxBackoff({ retryAfterFloorMs: Number.NaN })).toThrow(RangeError);
    expect(resolveOutboxBackoff({ baseMs: 10, maxMs: 1 }).maxMs).toBe(10);
  });
});

describe('outbox verdicts', () => {
  it.each([
    [200, 'delivered'],
    [201, 'delivered'],
    [204, 'delivered'],
    [408, 'retry'],
    [409, 'retry'],
    [425, 'retry'],
    [429, 'retry'],
    [500, 'retry'],
    [502, 'retry'],
    [503, 'retry'],
    [504, 'retry'],
    [301, 'dead'],
    [400, 'dead'],
    [401, 'dead'],
    [404, 'dead'],
    [422, 'dead'],
    [501, 'dead'],
    [505, 'dead'],
  ] as const)('HTTP %i: %s', (status, want) => {
    expect(classifyDeliveryStatus(status)).toBe(want);
  });

  const withCause = (message: string, code: string) => new TypeError(message, { cause: Object.assign(new Error(code), { code }) });
  it.each([
    { what: 'connection refused', err: withCause('fetch failed', 'ECONNREFUSED'), inDoubt: false },
    { what: 'unknown host', err: withCause('fetch failed', 'ENOTFOUND'), inDoubt: false },
    { what: 'reset', err: withCause('fetch failed', 'ECONNRESET'), inDoubt: true },
    { what: 'socket closed before the response', err: withCause('fetch failed', 'UND_ERR_SOCKET'), inDoubt: true },
    { what: 'timeout', err: Object.assign(new Error('The operation was aborted due to timeout'), { name: 'TimeoutError' }), inDoubt: true },
    { what: 'anything else', err: new Error('boom'), inDoubt: true },
    { what: 'open circuit', err: new UpstreamError('pay', 'breaker-open', 'circuit open'), inDoubt: false },
    { what: 'closed upstream', err: new UpstreamError('pay', 'closed', 'closed'), inDoubt: false },
    { what: 'upstream gave up', err: new UpstreamError('pay', 'failed', 'failed', { cause: withCause('fetch failed', 'ECONNREFUSED') }), inDoubt: true },
    { what: 'upstream deadline', err: new UpstreamError('pay', 'deadline', 'deadline'), inDoubt: true },
  ])('$what: in doubt $inDoubt', ({ err, inDoubt }) => {
    const read = readDeliveryFailure(err);
    expect(read.inDoubt).toBe(inDoubt);
    expect(read.error.length).toBeGreaterThan(0);
  });

  it('names the cause chain in the error text', () => {
    expect(readDeliveryFailure(withCause('fetch failed', 'UND_ERR_SOCKET')).error).toBe('TypeError: fetch failed <- UND_ERR_SOCKET: UND_ERR_SOCKET');
  });
});
