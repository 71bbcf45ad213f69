/**
 * Slow consumers: 10% of the clients stop reading (their TCP socket paused) while the hub, in a child process,
 * publishes a steady stream of 16 KiB messages. Scaled down from the acceptance's 1,000 clients to 200 (20
 * slow) to keep the test short on a shared 2-core machine; `npm run bench:broadcast` runs the 1,000-client
 * version. The stream is sized (≈ 6.7 MB per client) to overflow the kernel's socket buffers of a paused
 * client, so the hub's own send queue does fill.
 *
 * Bound on the hub's RSS growth during the stream: maxBufferedBytes (64 KiB) × 20 slow clients + 48 MiB for
 * everything else (the topic's history in the in-memory bus, ≈ 6.7 MB here, and garbage not yet collected).
 * Without the cap each paused client would pin the whole stream it missed (≈ 6.7 MB × 20 = 134 MB).
 */
import { describe, expect, it } from 'vitest';
import { rssBoundBytes, runSlowScenario, type SlowScenarioOptions } from '../../../scripts/lib/bench-broadcast/slow.js';

const MiB = 1024 * 1024;

describe('broadcast hub with slow consumers', () => {
  it('bounds memory, marks the slow clients with a backpressure gap and keeps the healthy ones at full speed', async () => {
    const options: SlowScenarioOptions = { clients: 200, slowFraction: 0.1, rate: 60, payloadBytes: 16 * 1024, durationMs: 7000, maxBufferedBytes: 64 * 1024, backpressure: 'drop', rssMarginBytes: 48 * MiB };
    const result = await runSlowScenario(options);
    const bound = rssBoundBytes(options);
    expect(bound).toBe(64 * 1024 * 20 + 48 * MiB);
    const { baseline, withSlow } = result;

    // Memory: under the stated bound.
    expect(withSlow.rssGrowth).toBeLessThan(bound);

    // Every slow client was cut off the topic and, once it read again, told so with a backpressure gap.
    expect(withSlow.slowOutcomes).toEqual({ gapBackpressure: 20, closed1013: 0, other: 0 });
    expect(withSlow.stats.subscriptions).toBe(180);

    // Healthy clients: within 20% of the run without slow clients, every message, no stall.
    expect(baseline.healthyRate).toBeGreaterThan(0);
    expect(result.throughputRatio).toBeGreaterThanOrEqual(0.8);
    expect(withSlow.healthyComplete).toBe(180);
    expect(withSlow.healthyMaxSilenceMs).toBeLessThan(1000);
  }, 90_000);
});
