import { afterEach, describe, expect, it } from 'vitest';
import { createMemoryBreakerStore, createUpstream, UpstreamError, type UpstreamEvents } from '../../../runtime/health/index.js';
import { sleep, startFake, until, type FakeUpstream } from './fake-upstream.js';

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()!();
});
async function fake(): Promise<FakeUpstream> {
  const f = await startFake();
  cleanup.push(() => f.close());
  return f;
}

describe('circuit breaker', () => {
  it('admits exactly k trial calls out of 1,000 concurrent callers when it goes half-open', async () => {
    const f = await fake();
    f.behave(() => ({ status: 503 }));
    const k = 3;
    const up = createUpstream({
      name: 'trials',
      urls: [f.url],
      logger: false,
      retry: { maxAttempts: 1 },
      breaker: { consecutiveFailures: 3, openMs: 200, jitter: 0, halfOpenTrials: k, closeAfter: 2 },
    });
    cleanup.push(() => up.close());
    const states: string[] = [];
    up.on('breaker', (e) => states.push(e.state));
    for (let i = 0; i < 3; i++) await up.fetch('/x');
    expect(up.state().breaker.state).toBe('open');
    await expect(up.fetch('/x')).rejects.toMatchObject({ code: 'breaker-open' });

    f.behave(() => ({ status: 200, delayMs: 50 }));
    await until(() => up.state().breaker.state === 'half-open', 3_000, 'half-open');
    const before = f.calls();
    const results = await Promise.allSettled(Array.from({ length: 1000 }, () => up.fetch('/x')));
    expect(f.calls() - before).toBe(k);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(k);
    const rejected = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(rejected).toHaveLength(1000 - k);
    expect(rejected.every((r) => r.reason instanceof UpstreamError && r.reason.code === 'breaker-open')).toBe(true);
    expect(states).toEqual(['open', 'half-open', 'closed']);
  });

  it('needs s successful trials to close (one is not enough) and re-opens longer when trials fail', async () => {
    const f = await fake();
    f.behave(() => ({ status: 503 }));
    const up = createUpstream({
      name: 'hysteresis',
      urls: [f.url],
      logger: false,
      retry: { maxAttempts: 1 },
      breaker: { consecutiveFailures: 2, openMs: 100, jitter: 0, halfOpenTrials: 3, closeAfter: 2, minClosedMs: 0 },
    });
    cleanup.push(() => up.close());
    const opens: Array<UpstreamEvents['breaker']> = [];
    up.on('breaker', (e) => e.state === 'open' && opens.push(e));
    await up.fetch('/x');
    await up.fetch('/x');
    expect(opens).toHaveLength(1);
    expect(opens[0]!.openMs).toBe(100);

    // Half-open, upstream still failing: k − s + 1 = 2 failed trials re-open it, for 2 × base.
    await until(() => up.state().breaker.state === 'half-open', 3_000, 'half-open');
    await up.fetch('/x');
    expect(up.state().breaker.state).toBe('half-open');
    await up.fetch('/x');
    expect(up.state().breaker.state).toBe('open');
    expect(opens[1]).toMatchObject({ cause: 'trial-failed', openMs: 200 });

    f.behave(() => ({ status: 200 }));
    await until(() => up.state().breaker.state === 'half-open', 3_000, 'half-open again');
    await up.fetch('/x');
    expect(up.state().breaker.state).toBe('half-open');
    await up.fetch('/x');
    expect(up.state().breaker.state).toBe('closed');
  });

  it('a square-wave upstream (50% failing) causes at most one state change per ejection window', async () => {
    const f = await fake();
    const t0 = Date.now();
    const halfPeriod = 120;
    f.behave(() => (Math.floor((Date.now() - t0) / halfPeriod) % 2 === 0 ? { status: 503 } : { status: 200 }));
    const window = 500;
    const up = createUpstream({
      name: 'square',
      urls: [f.url],
      logger: false,
      retry: { maxAttempts: 1 },
      outlier: { baseEjectionMs: window, jitter: 0.2 },
      breaker: { consecutiveFailures: 3, openMs: window, jitter: 0.2, halfOpenTrials: 2, closeAfter: 2 },
    });
    cleanup.push(() => up.close());
    const changes: number[] = [];
    const ejections: number[] = [];
    up.on('breaker', (e) => (e.state === 'open' || e.state === 'closed') && changes.push(Date.now()));
    up.on('ejected', () => ejections.push(Date.now()));
    let stop = false;
    const loops = Array.from({ length: 8 }, async () => {
      while (!stop) {
        await up.fetch('/x').then((r) => r.body?.cancel(), () => sleep(5));
      }
    });
    await sleep(3_000);
    stop = true;
    await Promise.all(loops);
    expect(changes.length).toBeGreaterThanOrEqual(1);
    for (let i = 1; i < changes.length; i++) expect(changes[i]! - changes[i - 1]!).toBeGreaterThanOrEqual(window - 5);
    for (let i = 1; i < ejections.length; i++) expect(ejections[i]! - ejections[i - 1]!).toBeGreaterThanOrEqual(window - 5);
  });

  it('shares an open breaker through the state store', async () => {
    const f = await fake();
    f.behave(() => ({ status: 503 }));
    const store = createMemoryBreakerStore();
    const options = { name: 'shared', urls: [f.url], logger: false as const, store, retry: { maxAttempts: 1 }, breaker: { consecutiveFailures: 2, openMs: 5_000 } };
    const a = createUpstream(options);
    const b = createUpstream(options);
    cleanup.push(() => a.close(), () => b.close());
    await Promise.all([a.start(), b.start()]);
    await a.fetch('/x');
    await a.fetch('/x');
    expect(a.state().breaker.state).toBe('open');
    expect(b.state().breaker.state).toBe('open');
    const before = f.calls();
    await expect(b.fetch('/x')).rejects.toMatchObject({ code: 'breaker-open' });
    expect(f.calls()).toBe(before);
  });
});
