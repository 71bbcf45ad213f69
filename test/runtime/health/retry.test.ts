import { afterEach, describe, expect, it } from 'vitest';
import { createUpstream, parseRetryAfter, type UpstreamOptions } from '../../../runtime/health/index.js';
import { startFake, type FakeUpstream } from './fake-upstream.js';

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()!();
});
async function fake(): Promise<FakeUpstream> {
  const f = await startFake();
  cleanup.push(() => f.close());
  return f;
}
function upstream(f: FakeUpstream, extra: Partial<UpstreamOptions> = {}) {
  const up = createUpstream({
    name: 'retrying',
    urls: [f.url],
    logger: false,
    retry: { maxAttempts: 3, baseMs: 5, budget: { minRetries: 10 } },
    breaker: { consecutiveFailures: 1000, failurePercent: 101 },
    ...extra,
  });
  cleanup.push(() => up.close());
  return up;
}
const gaps = (f: FakeUpstream) => f.arrivals.slice(1).map((a, i) => a.at - f.arrivals[i]!.at);

describe('retries', () => {
  it('parses Retry-After in seconds and as an HTTP-date', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(parseRetryAfter('3', now)).toBe(3000);
    expect(parseRetryAfter('0', now)).toBe(0);
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:05 GMT', now)).toBe(5000);
    expect(parseRetryAfter('Wed, 31 Dec 2025 23:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(null, now)).toBeUndefined();
  });

  it('waits at least Retry-After given in seconds', async () => {
    const f = await fake();
    f.behave((_req, n) => (n === 0 ? { status: 503, headers: { 'retry-after': '1' } } : { status: 200 }));
    const res = await upstream(f).fetch('/x', { deadlineMs: 5_000 });
    expect(res.status).toBe(200);
    expect(f.arrivals).toHaveLength(2);
    expect(gaps(f)[0]).toBeGreaterThanOrEqual(1000);
  });

  it('waits at least until a Retry-After HTTP-date', async () => {
    const f = await fake();
    let target = 0;
    f.behave((_req, n) => {
      if (n > 0) return { status: 200 };
      const date = new Date(Date.now() + 2000).toUTCString(); // second precision: 1–2 s ahead
      target = Date.parse(date);
      return { status: 429, headers: { 'retry-after': date } };
    });
    const res = await upstream(f).fetch('/x', { deadlineMs: 5_000 });
    expect(res.status).toBe(200);
    expect(f.arrivals[1]!.at).toBeGreaterThanOrEqual(target);
  });

  it('treats Retry-After 0 and a past date as a floor, not an instant loop', async () => {
    const f = await fake();
    const past = new Date(Date.now() - 60_000).toUTCString();
    f.behave((_req, n) => ({ status: 503, headers: { 'retry-after': n === 0 ? '0' : past } }));
    const res = await upstream(f, { retry: { maxAttempts: 3, baseMs: 1, retryAfterFloorMs: 150, budget: { minRetries: 10 } } }).fetch('/x');
    expect(res.status).toBe(503);
    expect(f.arrivals).toHaveLength(3);
    for (const gap of gaps(f)) expect(gap).toBeGreaterThanOrEqual(150);
  });

  it('does not retry when Retry-After goes past the deadline, and answers within it', async () => {
    const f = await fake();
    f.behave(() => ({ status: 503, headers: { 'retry-after': '30' } }));
    const started = Date.now();
    const res = await upstream(f).fetch('/x', { deadlineMs: 1_000 });
    expect(res.status).toBe(503);
    expect(f.arrivals).toHaveLength(1);
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it('fails over at once to another URL instead of waiting for the one that sent Retry-After', async () => {
    const f = await fake();
    const g = await fake();
    f.behave(() => ({ status: 503, headers: { 'retry-after': '30' } }));
    const up = upstream(f, { urls: [f.url, g.url] });
    const started = Date.now();
    expect((await up.fetch('/x')).status).toBe(200);
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(f.arrivals).toHaveLength(1);
    expect(g.arrivals).toHaveLength(1);
    // Later calls keep away from it while its Retry-After runs.
    expect((await up.fetch('/x')).status).toBe(200);
    expect(f.arrivals).toHaveLength(1);
  });

  it('retries only idempotent requests or ones with an Idempotency-Key', async () => {
    const f = await fake();
    f.behave(() => ({ status: 503 }));
    const up = upstream(f);
    expect((await up.fetch('/orders', { method: 'POST', body: '{}' })).status).toBe(503);
    expect(f.arrivals).toHaveLength(1);
    await up.fetch('/orders', { method: 'POST', body: '{}', headers: { 'idempotency-key': 'k1' } });
    expect(f.arrivals).toHaveLength(4);
    await up.fetch('/orders/1', { method: 'PUT', body: '{}' });
    expect(f.arrivals).toHaveLength(7);
  });

  it('keeps retry amplification at or under 1.2× when every call fails', async () => {
    const f = await fake();
    f.behave(() => ({ status: 503 }));
    const up = upstream(f, { retry: { maxAttempts: 3, baseMs: 1, maxBackoffMs: 2, budget: { ratio: 0.2 } } });
    const calls = 500;
    let next = 0;
    await Promise.all(
      Array.from({ length: 10 }, async () => {
        while (next < calls) {
          next++;
          await (await up.fetch('/x')).body?.cancel();
        }
      }),
    );
    expect(f.arrivals.length).toBeGreaterThan(calls); // the budget was used
    expect(f.arrivals.length / calls).toBeLessThanOrEqual(1.2);
    expect(up.state().retryBudget).toMatchObject({ requests: calls });
  });

  it('propagates the remaining deadline and gives up at the deadline', async () => {
    const f = await fake();
    f.behave(() => ({ status: 200, delayMs: 2_000 }));
    const started = Date.now();
    await expect(upstream(f).fetch('/slow', { deadlineMs: 300 })).rejects.toMatchObject({ code: 'deadline' });
    expect(Date.now() - started).toBeLessThan(1_500);
    const header = Number(f.arrivals[0]!.headers['x-request-deadline-ms']);
    expect(header).toBeGreaterThan(0);
    expect(header).toBeLessThanOrEqual(300);
  });

  it('aborts with the caller signal', async () => {
    const f = await fake();
    f.behave(() => ({ status: 200, delayMs: 2_000 }));
    const controller = new AbortController();
    const p = upstream(f).fetch('/slow', { signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    await expect(p).rejects.toBeDefined();
    expect(f.arrivals).toHaveLength(1);
  });
});
