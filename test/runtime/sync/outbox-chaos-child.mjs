// One dispatcher process for outbox-chaos.test.ts: delivers the outbox of OUTBOX_DB_URL to the fake receiver at
// OUTBOX_RECEIVER until it is killed (the test sends SIGKILL at random points) or sent SIGTERM (then it closes
// gracefully). Prints `ready` once it polls. With OUTBOX_RECONCILE=1 entries in doubt are looked up at the
// receiver first; otherwise they are sent again with the same key. Plain JavaScript on dist/ (compiled by the
// tests' global setup): a process starts in a third of the time it takes through tsx, so more kills fit.
import { createDatabase } from '../../../dist/runtime/db/index.js';
import { createOutbox, createOutboxDispatcher } from '../../../dist/runtime/sync/outbox/index.js';

const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is required`);
  return v;
};
const receiver = env('OUTBOX_RECEIVER');
const life = env('OUTBOX_LIFE');
let seed = Number(process.env.OUTBOX_SEED ?? 1) >>> 0;
const random = () => {
  seed = (seed + 0x6d2b79f5) >>> 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};

const db = createDatabase({ url: env('OUTBOX_DB_URL'), poolSize: 3 });
const outbox = createOutbox({ db });
const reconcile = async (entry, { signal }) => {
  const res = await fetch(`${receiver}/effects/${encodeURIComponent(entry.idempotencyKey)}`, { signal });
  await res.body?.cancel();
  return res.status === 200 ? 'delivered' : res.status === 404 ? 'absent' : 'unknown';
};
const dispatcher = createOutboxDispatcher({
  outbox,
  request: (entry) => ({ url: `${receiver}/effects`, headers: { 'x-life': life }, body: { eventId: entry.id, payload: entry.payload } }),
  reconcile: process.env.OUTBOX_RECONCILE === '1' ? reconcile : undefined,
  maxAttempts: 50,
  backoff: { baseMs: 20, maxMs: 200, retryAfterFloorMs: 20 },
  callTimeoutMs: 400,
  leaseMs: 1_000,
  concurrency: 8,
  pollIntervalMs: 25,
  random,
});
dispatcher.on('error', ({ error }) => process.stderr.write(`dispatcher error: ${String(error)}\n`));

process.once('SIGTERM', () => {
  void dispatcher
    .close()
    .then(() => db.destroy())
    .then(() => process.exit(0));
});
await dispatcher.start();
process.stdout.write('ready\n');
