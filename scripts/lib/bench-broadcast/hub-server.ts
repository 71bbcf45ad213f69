/**
 * A broadcast hub in its own process (forked with `--import tsx`, driven over IPC), so that its RSS can be
 * measured apart from the clients: the slow-consumer scenario of `npm run bench:broadcast` and its test.
 *
 *   parent → { cmd: 'start', maxBufferedBytes, backpressure }   reply { cmd: 'ready', url }
 *   parent → { cmd: 'publish', topic, rate, payloadBytes, durationMs }
 *            publishes `rate` messages/s for `durationMs`, sampling RSS; reply { cmd: 'published', ... }
 *   parent → { cmd: 'stats' }                                      reply { cmd: 'stats', rss, stats }
 *   parent → { cmd: 'stop' }                                       closes and exits
 */
import Fastify from 'fastify';
import { createBroadcastHub, type BackpressurePolicy, type BroadcastStats } from '../../../runtime/broadcast/index.js';

export type ToHubServer =
  | { cmd: 'start'; maxBufferedBytes: number; backpressure: BackpressurePolicy }
  | { cmd: 'publish'; topic: string; rate: number; payloadBytes: number; durationMs: number }
  | { cmd: 'stats' }
  | { cmd: 'stop' };

export type FromHubServer =
  | { cmd: 'ready'; url: string }
  | { cmd: 'published'; count: number; rssBefore: number; rssMax: number; stats: BroadcastStats }
  | { cmd: 'stats'; rss: number; stats: BroadcastStats };

const app = Fastify({ logger: false });
let hub: ReturnType<typeof createBroadcastHub> | undefined;

function send(message: FromHubServer): void {
  process.send?.(message);
}

async function publishSteadily(topic: string, rate: number, payloadBytes: number, durationMs: number): Promise<void> {
  const pad = 'x'.repeat(payloadBytes);
  const rssBefore = process.memoryUsage.rss();
  let rssMax = rssBefore;
  let count = 0;
  const start = Date.now();
  const tickMs = 10;
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      const elapsed = Date.now() - start;
      rssMax = Math.max(rssMax, process.memoryUsage.rss());
      if (elapsed >= durationMs) {
        clearInterval(timer);
        resolve();
        return;
      }
      // Catch up to the rate whatever the timer's jitter.
      const due = Math.floor((elapsed / 1000) * rate);
      for (; count < due; count++) void hub!.publish(topic, { t: performance.timeOrigin + performance.now(), seq: count, pad });
    }, tickMs);
  });
  rssMax = Math.max(rssMax, process.memoryUsage.rss());
  send({ cmd: 'published', count, rssBefore, rssMax, stats: hub!.stats() });
}

process.on('message', (message: ToHubServer) => {
  void (async () => {
    switch (message.cmd) {
      case 'start': {
        hub = createBroadcastHub({ maxBufferedBytes: message.maxBufferedBytes, backpressure: message.backpressure, heartbeatMs: 0 });
        await hub.register(app, { path: '/ws' });
        await app.listen({ host: '127.0.0.1', port: 0 });
        const address = app.server.address();
        if (!address || typeof address === 'string') throw new Error('no address');
        return send({ cmd: 'ready', url: `ws://127.0.0.1:${address.port}/ws` });
      }
      case 'publish':
        return publishSteadily(message.topic, message.rate, message.payloadBytes, message.durationMs);
      case 'stats':
        return send({ cmd: 'stats', rss: process.memoryUsage.rss(), stats: hub!.stats() });
      case 'stop':
        await app.close();
        process.exit(0);
    }
  })();
});
process.on('disconnect', () => process.exit(0));
