/**
 * One hub instance of the loss test (loss.test.ts), in its own process so that the test can SIGKILL it and
 * start it again on the same port. Forked with `--import tsx`; argv[2] is a JSON `LossHubConfig`. Sends
 * `{ type: 'ready' }` over IPC once it listens, and exits when the parent goes away.
 */
import Fastify from 'fastify';
import { createBroadcastHub } from '../../../runtime/broadcast/index.js';
import { createPostgresBus } from '../../../runtime/broadcast/postgres-bus.js';
import { createRedisBus } from '../../../runtime/broadcast/redis-bus.js';
import type { Bus, Retention } from '../../../runtime/broadcast/bus.js';

export interface LossHubConfig {
  kind: 'redis' | 'postgres';
  /** Redis URL or PostgreSQL connection string of the throwaway bus server / database. */
  url: string;
  port: number;
  retention: Retention;
}

const config = JSON.parse(process.argv[2]!) as LossHubConfig;
process.on('disconnect', () => process.exit(0));

const bus: Bus =
  config.kind === 'redis'
    ? createRedisBus({ url: config.url, prefix: 'loss:', retention: config.retention, reconnect: { minDelayMs: 50, maxDelayMs: 500 } })
    : createPostgresBus({ db: config.url, tablePrefix: 'loss', retention: config.retention, trimIntervalMs: 1_000, reconnect: { minDelayMs: 50, maxDelayMs: 500 }, heartbeatMs: 1_000, poolSize: 3 });

const app = Fastify({ logger: false });
const hub = createBroadcastHub({ bus, closeBus: true, heartbeatMs: 5_000 });
// LOSS_DEBUG=1: what the hub reports (read errors behind `bus` gaps) goes to the test's output.
if (process.env.LOSS_DEBUG) {
  hub.on('error', ({ error, during }) => console.error(`hub :${config.port} error ${during}: ${error instanceof Error ? error.message : String(error)}`));
  hub.on('gap', ({ topic, reason, subscribers }) => console.error(`hub :${config.port} gap ${reason} on ${topic} (${subscribers})`));
}
await hub.register(app, { path: '/ws' });
await app.listen({ host: '127.0.0.1', port: config.port });
process.send?.({ type: 'ready' });
