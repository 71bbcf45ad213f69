/**
 * The trace file's span processor: a line per ended span, written in order by batches (at once when a batch
 * is full, else on the timer), a bounded queue that drops rather than grows, nothing after shutdown.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import { afterEach, expect, it } from 'vitest';
import type { SpanRecord } from '../../../runtime/tracing/constants.js';
import { JsonlFileSpanProcessor } from '../../../runtime/tracing/file-exporter.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function setup(options: ConstructorParameters<typeof JsonlFileSpanProcessor>[1]) {
  const dir = mkdtempSync(path.join(tmpdir(), 'backdev-trace-file-'));
  dirs.push(dir);
  const file = path.join(dir, 'nested', 'traces.jsonl'); // the directory is made on the first write
  const processor = new JsonlFileSpanProcessor(file, options);
  const provider = new BasicTracerProvider({ spanProcessors: [processor] });
  const tracer = provider.getTracer('test');
  const read = () => (existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line) as SpanRecord) : []);
  return { file, processor, provider, tracer, read };
}

it('writes one line per span, in order, and drops what does not fit in the queue', async () => {
  const { processor, provider, tracer, read } = setup({ flushIntervalMs: 60_000, maxQueueSize: 5, maxBatchSize: 2 });
  for (let i = 1; i <= 7; i++) {
    const span = tracer.startSpan(`s${i}`, { kind: SpanKind.CLIENT, attributes: { i, 'db.query.text': 'select "x"\n' } });
    if (i === 3) span.setStatus({ code: SpanStatusCode.ERROR, message: 'broken' });
    span.end();
  }
  // Two full batches went to the disk at once; five spans were waiting or being written when 6 and 7 ended.
  await processor.forceFlush();
  const records = read();
  expect(records.map((r) => r.name)).toEqual(['s1', 's2', 's3', 's4', 's5']);
  expect(records[0]).toMatchObject({ kind: 'client', status: 'unset', error: null, parentSpanId: null, attributes: { i: 1, 'db.query.text': 'select "x"\n' } });
  expect(records[2]).toMatchObject({ status: 'error', error: 'broken' });
  for (const r of records) {
    expect(r.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(r.endMs).toBeGreaterThanOrEqual(r.startMs);
    expect(Math.abs(r.endMs - r.startMs - r.durationMs)).toBeLessThan(0.01);
  }

  // Written: room again.
  tracer.startSpan('s8').end();
  await provider.shutdown();
  expect(read().map((r) => r.name)).toEqual(['s1', 's2', 's3', 's4', 's5', 's8']);
  tracer.startSpan('after-shutdown').end();
  await processor.forceFlush();
  expect(read()).toHaveLength(6);
});

it('writes a batch that is not full when the interval has passed', async () => {
  const { tracer, read, provider } = setup({ flushIntervalMs: 20, maxQueueSize: 100, maxBatchSize: 50 });
  tracer.startSpan('lonely').end();
  expect(read()).toEqual([]);
  const deadline = Date.now() + 5_000;
  while (read().length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
  expect(read().map((r) => r.name)).toEqual(['lonely']);
  await provider.shutdown();
});

