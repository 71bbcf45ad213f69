import { afterEach, describe, expect, it } from 'vitest';
import { createUpstream } from '../../../runtime/health/index.js';
import { startFake, until, type FakeUpstream } from './fake-upstream.js';

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()!();
});

describe('replicas', () => {
  it('with 1 of 3 replicas down, at least 99.9% of calls succeed after its ejection', async () => {
    const replicas: FakeUpstream[] = await Promise.all([startFake(), startFake(), startFake()]);
    for (const r of replicas) cleanup.push(() => r.close());
    replicas[1]!.behave(() => ({ reset: true }));
    const up = createUpstream({
      name: 'replicated',
      urls: replicas.map((r) => r.url),
      balance: 'round-robin',
      logger: false,
      outlier: { baseEjectionMs: 60_000 },
      retry: { maxAttempts: 1 },
    });
    cleanup.push(() => up.close());
    let ejected = false;
    up.on('ejected', (e) => {
      expect(e.url).toBe(replicas[1]!.url);
      ejected = true;
    });
    // Warm-up: the dead replica is found out by passive detection (no retries, so failures show).
    for (let i = 0; i < 60 && !ejected; i++) await up.fetch('/x').then((r) => r.body?.cancel(), () => undefined);
    await until(() => ejected, 1_000, 'ejection');

    const calls = 2_000;
    let ok = 0;
    let next = 0;
    await Promise.all(
      Array.from({ length: 20 }, async () => {
        while (next < calls) {
          next++;
          const res = await up.fetch('/x').catch(() => undefined);
          if (res?.status === 200) ok++;
          await res?.body?.cancel();
        }
      }),
    );
    expect(ok / calls).toBeGreaterThanOrEqual(0.999);
    expect(replicas[0]!.calls() + replicas[2]!.calls()).toBeGreaterThanOrEqual(calls);
    expect(up.state().urls.map((u) => u.available)).toEqual([true, false, true]);
  });
});
