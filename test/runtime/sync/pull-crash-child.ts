/**
 * The process the crash test kills: one run of the pull job over the fake API's four streams, then exit 0.
 * Env: SYNC_DB (postgres URL), SYNC_API (the fake's URL). Prints `waiting` when another instance holds the job's lock, `ready` once it holds it, and
 * `done <json>` at the end. The tables exist already (the test made them).
 */
import { createDatabase } from '../../../runtime/db/index.js';
import { createPullJob } from '../../../runtime/sync/index.js';
import { pullStreams } from './pull-streams.js';

const db = createDatabase({ url: process.env.SYNC_DB!, poolSize: 2 });
const job = createPullJob({
  name: 'crash',
  db,
  upstreams: [
    {
      name: 'fake',
      baseUrl: process.env.SYNC_API!,
      headers: { 'x-instance': String(process.pid) },
      rate: { perSecond: 400, burst: 40 },
      retry: { maxAttempts: 20, baseMs: 20, maxBackoffMs: 500 },
    },
  ],
  streams: pullStreams(Number(process.env.SYNC_PAGE ?? 100)),
  lock: { pollMs: 50 },
});
job.on('lock-wait', () => process.stdout.write('waiting\n'));
job.on('run-start', () => process.stdout.write('ready\n'));
const result = await job.run({ full: process.env.SYNC_FULL === '1' });
process.stdout.write(`done ${JSON.stringify(result)}\n`);
await job.close();
await db.destroy();
process.exit(result.status === 'succeeded' ? 0 : 1);
