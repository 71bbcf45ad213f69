import { afterEach, describe, expect, it, vi } from 'vitest';
import { createUpstream, type Upstream, type UpstreamEvents } from '../../../runtime/health/index.js';
import { startFake, until, type FakeUpstream } from './fake-upstream.js';

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()!();
});

async function fakes(count: number): Promise<FakeUpstream[]> {
  const list = await Promise.all(Array.from({ length: count }, () => startFake()));
  for (const f of list) cleanup.push(() => f.close());
  return list;
}
function track(up: Upstream): Array<{ type: string; at: number; event: unknown }> {
  const seen: Array<{ type: string; at: number; event: unknown }> = [];
  for (const type of ['ejected', 'restored', 'breaker', 'panic'] as const) up.on(type, (event: UpstreamEvents[typeof type]) => seen.push({ type, at: Date.now(), event }));
  cleanup.push(() => up.close());
  return seen;
}

describe('failover between a primary and a secondary', () => {
  it('moves traffic to the secondary after at most 5 failed requests, and back once the primary recovers', async () => {
    const [primary, secondary] = await fakes(2);
    primary!.behave(() => ({ status: 503 }));
    // The test decides when the ejection's 400 ms are over: its timer is held until the 30 requests are done,
    // which on a loaded machine can take longer than 400 ms (the primary would come back, fail 5 more times).
    const ejectionMs = 400;
    const held: Array<() => void> = [];
    const realSetTimeout = globalThis.setTimeout;
    const timers = vi.spyOn(globalThis, 'setTimeout').mockImplementation(((fn: () => void, ms?: number, ...args: unknown[]) => {
      if (ms === ejectionMs) {
        held.push(fn);
        return { unref: () => undefined, ref: () => undefined, hasRef: () => false, refresh: () => undefined } as unknown as NodeJS.Timeout;
      }
      return realSetTimeout(fn, ms, ...args);
    }) as typeof setTimeout);
    cleanup.push(async () => timers.mockRestore());
    const up = createUpstream({ name: 'users', urls: [primary!.url, secondary!.url], logger: false, outlier: { baseEjectionMs: ejectionMs, jitter: 0 } });
    const seen = track(up);

    const statuses: number[] = [];
    for (let i = 0; i < 30; i++) statuses.push((await up.fetch('/users/1')).status);
    timers.mockRestore();
    expect(primary!.calls()).toBeLessThanOrEqual(5);
    expect(statuses.slice(-20).every((s) => s === 200)).toBe(true);
    expect(seen.find((s) => s.type === 'ejected')?.event).toMatchObject({ url: primary!.url, reason: 'consecutive-failures', durationMs: ejectionMs });
    expect(up.state().urls[0]).toMatchObject({ ejected: true, available: false });
    expect(held).toHaveLength(1); // the one ejection's timer

    primary!.behave(() => ({ status: 200, body: 'primary' }));
    for (const fire of held.splice(0)) fire(); // the 400 ms are over
    await until(() => seen.some((s) => s.type === 'restored'), 3_000, 'restored');
    const res = await up.fetch('/users/1');
    expect(await res.text()).toBe('primary');
    expect(up.state().urls[0]).toMatchObject({ ejected: false, available: true });
  });

  it('takes a failing primary out within two probe intervals without traffic, and back when probes pass', async () => {
    const [primary, secondary] = await fakes(2);
    const interval = 200;
    const up = createUpstream({
      name: 'probed',
      urls: [primary!.url, secondary!.url],
      logger: false,
      probe: { path: '/health', intervalMs: interval, timeoutMs: 100, unhealthyThreshold: 2, healthyThreshold: 2 },
    });
    const seen = track(up);
    await up.start();
    await up.start(); // idempotent
    await until(() => up.state().urls.every((u) => u.probe === 'healthy'), 3_000, 'first probes');

    const failedAt = Date.now();
    primary!.behave(() => ({ status: 500 }));
    await until(() => seen.some((s) => s.type === 'ejected'), 3_000, 'ejection');
    const ejected = seen.find((s) => s.type === 'ejected')!;
    expect(ejected.event).toMatchObject({ url: primary!.url, reason: 'probe' });
    // Out on the second failing probe at the latest: within two probe intervals (plus slack for a busy machine).
    const failingProbes = primary!.arrivals.filter((a) => a.path === '/health' && a.at >= failedAt && a.at <= ejected.at);
    expect(failingProbes.length).toBeLessThanOrEqual(2);
    expect(ejected.at - failedAt).toBeLessThanOrEqual(2 * interval + 500);
    const before = primary!.calls();
    const res = await up.fetch('/x');
    expect(res.status).toBe(200);
    expect(primary!.calls()).toBe(before);

    primary!.behave(() => ({ status: 200, body: 'primary' }));
    await until(() => seen.some((s) => s.type === 'restored'), 3_000, 'restore');
    expect(seen.find((s) => s.type === 'restored')!.event).toMatchObject({ url: primary!.url, reason: 'probe' });
    expect(await (await up.fetch('/x')).text()).toBe('primary');
    await up.close();
    await up.close(); // idempotent
    await expect(up.fetch('/x')).rejects.toMatchObject({ code: 'closed' });
  });

  it('enters an explicit panic mode when too many URLs are out, and routes to all of them', async () => {
    const [a, b] = await fakes(2);
    const warnings: string[] = [];
    const up = createUpstream({
      name: 'panicky',
      urls: [a!.url, b!.url],
      logger: { warn: (m) => warnings.push(m) },
      probe: { path: '/health', intervalMs: 100, timeoutMs: 100, unhealthyThreshold: 1, healthyThreshold: 1 },
    });
    const seen = track(up);
    a!.behave((req) => (req.url === '/health' ? { status: 500 } : { status: 200 }));
    b!.behave((req) => (req.url === '/health' ? { status: 500 } : { status: 200 }));
    await up.start();
    await until(() => seen.some((s) => s.type === 'panic'), 3_000, 'panic');
    expect(seen.find((s) => s.type === 'panic')!.event).toMatchObject({ active: true, healthy: 0, total: 2 });
    expect(warnings.some((w) => w.includes('panic'))).toBe(true);
    expect(up.state().panic).toBe(true);
    expect((await up.fetch('/x')).status).toBe(200);
  });
});
