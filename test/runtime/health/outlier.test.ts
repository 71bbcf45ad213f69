import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createUpstream, type Upstream, type UpstreamEvents } from '../../../runtime/health/index.js';
import { startFake, type FakeUpstream } from './fake-upstream.js';

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()!();
});
async function fakes(count: number): Promise<FakeUpstream[]> {
  const list = await Promise.all(Array.from({ length: count }, () => startFake()));
  for (const f of list) cleanup.push(() => f.close());
  return list;
}
function ejections(up: Upstream): Array<UpstreamEvents['ejected']> {
  const list: Array<UpstreamEvents['ejected']> = [];
  up.on('ejected', (e) => list.push(e));
  cleanup.push(() => up.close());
  return list;
}
/** A URL nobody listens on. */
async function deadUrl(): Promise<string> {
  const server = http.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((r) => server.close(() => r()));
  return `http://127.0.0.1:${port}`;
}

describe('outlier detection', () => {
  it('ejects on the failure percentage over the window once the minimum volume is reached', async () => {
    const [a, b] = await fakes(2);
    a!.behave((_req, n) => (n % 2 === 0 ? { status: 500 } : { status: 200 })); // never 2 failures in a row
    const up = createUpstream({
      name: 'rate',
      urls: [a!.url, b!.url],
      logger: false,
      retry: { maxAttempts: 1 },
      outlier: { consecutiveFailures: 3, failurePercent: 50, minimumRequests: 10 },
    });
    const seen = ejections(up);
    for (let i = 0; i < 9; i++) await up.fetch('/x');
    expect(seen).toHaveLength(0); // under the minimum volume
    await up.fetch('/x');
    await up.fetch('/x');
    expect(seen).toMatchObject([{ url: a!.url, reason: 'failure-rate' }]);
  });

  it('never ejects more than maxEjectedPercent of the URLs passively', async () => {
    const [a, b, c] = await fakes(3);
    a!.behave(() => ({ status: 503 }));
    b!.behave(() => ({ status: 503 }));
    const up = createUpstream({ name: 'cap', urls: [a!.url, b!.url, c!.url], logger: false, retry: { maxAttempts: 1 }, outlier: { maxEjectedPercent: 50 } });
    const seen = ejections(up);
    for (let i = 0; i < 30; i++) await up.fetch('/x');
    expect(seen).toHaveLength(1);
    expect(up.state().urls.filter((u) => u.ejected)).toHaveLength(1);
  });

  it('backs off: the n-th ejection in a row lasts n × base, capped', async () => {
    const [a, b] = await fakes(2);
    a!.behave(() => ({ status: 503 }));
    const up = createUpstream({
      name: 'backoff',
      urls: [a!.url, b!.url],
      logger: false,
      retry: { maxAttempts: 1 },
      outlier: { consecutiveFailures: 1, baseEjectionMs: 50, maxEjectionMs: 120, jitter: 0 },
    });
    const seen = ejections(up);
    while (seen.length < 3) {
      await up.fetch('/x');
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(seen.map((e) => [e.timesEjected, e.durationMs])).toEqual([
      [1, 50],
      [2, 100],
      [3, 120],
    ]);
  });

  it('fails over on an attempt timeout and on a refused connection (the latter for any method)', async () => {
    const [slow, live] = await fakes(2);
    slow!.behave(() => ({ status: 200, delayMs: 3_000 }));
    const up = createUpstream({ name: 'timeouts', urls: [slow!.url, live!.url], logger: false, attemptTimeoutMs: 200, retry: { budget: { minRetries: 5 } } });
    cleanup.push(() => up.close());
    const res = await up.fetch('/x');
    expect(res.status).toBe(200);
    expect(live!.arrivals).toHaveLength(1);
    expect(up.state().urls[0]!.consecutiveFailures).toBe(1);

    const down = createUpstream({ name: 'refused', urls: [await deadUrl(), live!.url], logger: false, retry: { budget: { minRetries: 5 } } });
    cleanup.push(() => down.close());
    expect((await down.fetch('/orders', { method: 'POST', body: '{}' })).status).toBe(200);
    expect(live!.arrivals.filter((a) => a.method === 'POST')).toHaveLength(1);
  });
});
