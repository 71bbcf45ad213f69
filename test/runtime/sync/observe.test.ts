/**
 * What a pull job lets others see. Its spans: one `sync run <job>` per run and under it one `sync page
 * <stream>` per page, with the rows the page wrote and whether it was the last; the page's database
 * statements are its children. A stream that fails fails the run's span; nothing is recorded while no
 * tracing instance runs. Its changes, published (publishSyncChanges) on a broadcast hub after each commit:
 * a client subscribed to `sync.<job>` sees each page and the end of the run, in order.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SpanStatusCode } from '@opentelemetry/api';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import type { Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase } from '../../../runtime/db/index.js';
import { createBroadcastHub, createMemoryBus } from '../../../runtime/broadcast/index.js';
import { createPullJob, cursorParam, defineStream, publishSyncChanges, type SyncChange } from '../../../runtime/sync/index.js';
import { SYNC_ATTRIBUTE as A } from '../../../runtime/tracing/constants.js';
import { createTracing, type Tracing } from '../../../runtime/tracing/index.js';

/**
 * 25 records in pages of 10 (`?cursor=<n>`, `next_cursor` in the body); /broken answers 400. Each answer
 * closes its connection: a kept-alive socket left idle between tests (seconds on a loaded machine) could be
 * closed by the server just as the next test's first request reuses it, failing that page (one attempt).
 */
let api: Server;
let baseUrl: string;
beforeAll(async () => {
  api = createServer((req, res) => {
    res.shouldKeepAlive = false;
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/broken') return void res.writeHead(400, { 'content-type': 'application/json' }).end('{"error":"no"}');
    const from = Number(url.searchParams.get('cursor') ?? 0);
    const data = Array.from({ length: Math.max(0, Math.min(10, 25 - from)) }, (_, i) => ({ id: `r${from + i}`, n: from + i }));
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ data, next_cursor: from + 10 < 25 ? String(from + 10) : null }));
  });
  await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(api.address() as AddressInfo).port}`;
});
afterAll(() => new Promise((resolve) => api.close(resolve)));

const stream = (name: string, url: string) =>
  defineStream<{ id: string; n: number }, { id: string; n: number }>({ name, url, pagination: cursorParam(), table: 'traced_rows', key: ['id'], map: (r) => ({ id: r.id, n: r.n }) });

async function withJob(tracing: Tracing | undefined, streams: ReturnType<typeof stream>[], check: (db: Kysely<any>) => Promise<void>, observe?: (job: ReturnType<typeof createPullJob>) => void) {
  const db = createDatabase<any>({ url: null, dataDir: 'memory://', tracing: tracing !== undefined });
  await db.schema.createTable('traced_rows').addColumn('id', 'text', (c) => c.primaryKey()).addColumn('n', 'integer').execute();
  const job = createPullJob({ name: 'traced', db, singleProcess: true, createTables: true, upstreams: [{ name: 'fake', baseUrl, retry: { maxAttempts: 1 } }], streams });
  observe?.(job);
  try {
    await job.start();
    await job.run();
    await check(db);
  } finally {
    await job.close();
    await db.destroy();
  }
}

describe('pull job spans', () => {
  it('a run span with a page span per page under it; the statements of a page under the page', async () => {
    const exporter = new InMemorySpanExporter();
    const tracing = createTracing({ file: false, otlpEndpoint: null, exporters: [exporter], flushIntervalMs: 10 });
    await tracing.start();
    try {
      await withJob(tracing, [stream('rows', '/rows')], async (db) => {
        expect((await db.selectFrom('traced_rows').select('id').execute()).length).toBe(25);
      });
      await tracing.flush();
      const spans = [...exporter.getFinishedSpans()];
      const runs = spans.filter((s) => s.name === 'sync run traced');
      expect(runs).toHaveLength(1);
      const run = runs[0]!;
      expect(run.attributes).toMatchObject({ [A.job]: 'traced', [A.mode]: 'incremental' });
      expect(run.status.code).not.toBe(SpanStatusCode.ERROR);
      const pages = spans.filter((s) => s.name === 'sync page rows').sort((a, b) => Number(a.attributes[A.page]) - Number(b.attributes[A.page]));
      expect(pages.map((p) => [p.attributes[A.page], p.attributes[A.rows], p.attributes[A.last]])).toEqual([
        [1, 10, false],
        [2, 10, false],
        [3, 5, true],
      ]);
      for (const p of pages) {
        expect(p.parentSpanContext?.spanId).toBe(run.spanContext().spanId);
        expect(p.spanContext().traceId).toBe(run.spanContext().traceId);
      }
      const underPages = new Set(pages.map((p) => p.spanContext().spanId));
      const statements = spans.filter((s: ReadableSpan) => s.parentSpanContext && underPages.has(s.parentSpanContext.spanId));
      // Each page's transaction (the rows, the checkpoint, the ledger) is under that page.
      for (const p of pages) {
        const mine = statements.filter((s) => s.parentSpanContext?.spanId === p.spanContext().spanId).map((s) => s.name);
        expect(mine).toEqual(expect.arrayContaining(['begin', 'insert', 'insert backdev_sync_state', 'commit']));
      }
    } finally {
      await tracing.close();
    }
  });

  it('a stream that fails fails the run span; with no tracing running nothing is recorded and the job works', async () => {
    const exporter = new InMemorySpanExporter();
    const tracing = createTracing({ file: false, otlpEndpoint: null, exporters: [exporter], flushIntervalMs: 10 });
    await tracing.start();
    try {
      await withJob(tracing, [stream('broken', '/broken')], async () => {});
      await tracing.flush();
      const run = exporter.getFinishedSpans().find((s) => s.name === 'sync run traced')!;
      expect(run.status.code).toBe(SpanStatusCode.ERROR);
      expect(run.status.message).toMatch(/^broken: /);
      const page = exporter.getFinishedSpans().find((s) => s.name === 'sync page broken')!;
      expect(page.status.code).toBe(SpanStatusCode.ERROR);
    } finally {
      await tracing.close();
    }
    exporter.reset();
    await withJob(undefined, [stream('rows', '/rows')], async (db) => {
      expect((await db.selectFrom('traced_rows').select('id').execute()).length).toBe(25);
    });
    expect(exporter.getFinishedSpans()).toEqual([]);
  });
});

describe('pull job changes on the broadcast hub', () => {
  it('each stored page and the end of the run, in order, on sync.<job>; a failed publish does not stop the next', async () => {
    const hub = createBroadcastHub({ bus: createMemoryBus() });
    await hub.start();
    const published: SyncChange[] = [];
    const failures: string[] = [];
    const offsets: number[] = [];
    let calls = 0;
    // Settles once the run's end, the last change sent (they go one at a time, in order), went through or failed.
    let drained!: () => void;
    const allSent = new Promise<void>((resolve) => (drained = resolve));
    const settled = (change: SyncChange) => {
      if (change.type === 'sync.run') drained();
    };
    try {
      await withJob(
        undefined,
        [stream('rows', '/rows')],
        async () => {
          // Wait for the queue of publishes to drain (an event, not a time budget: the test's timeout bounds it).
          await allSent;
        },
        (job) =>
          publishSyncChanges(
            job,
            async (topic, change) => {
              expect(topic).toBe('sync.traced');
              if (++calls === 2) throw new Error('bus away');
              offsets.push((await hub.publish(topic, change)).offset);
              published.push(change);
              settled(change);
            },
            {
              onError: (_e, change) => {
                failures.push(change.type);
                settled(change);
              },
            },
          ),
      );
      expect(failures).toEqual(['sync.page']);
      expect(published.map((c) => (c.type === 'sync.page' ? [c.type, c.data.page, c.data.rows, c.data.last] : [c.type, c.data.status, c.data.rows]))).toEqual([
        ['sync.page', 1, 10, false],
        ['sync.page', 3, 5, true],
        ['sync.run', 'succeeded', 25],
      ]);
      // Stored on the hub's topic one after the other.
      expect(offsets.map((o) => o - offsets[0]!)).toEqual([0, 1, 2]);
    } finally {
      await hub.close();
    }
  });
});
