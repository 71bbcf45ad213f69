/**
 * The trace file's span processor: a line per ended span, written in order by batches (at once when a batch
 * is full, else on the timer), a bounded queue that drops rather than grows, nothing after shutdown.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { afterEach, expect, it } from 'vitest';
import type { SpanRecord } from '../../../runtime/tracing/constants.js';
import { JsonlFileExporter, JsonlFileSpanProcessor, spanToRecord } from '../../../runtime/tracing/file-exporter.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function setup(options: ConstructorParameters<typeof JsonlFileSpanProcessor>[1]) {
  const dir = mkdtempSync(path.join(tmpdir(), 'backdev-trace-file-'));
  dirs.push(dir);
  const file = path.join(dir, 'nested', 'traces.jsonl'); // the directory is made on the first write
  const processor = new JsonlFileSpanProcessor(file, options);
  // The same spans, kept as they are, to compare the file with.
  const memory = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'svc "quoted" ✓' }),
    spanProcessors: [processor, new SimpleSpanProcessor(memory)],
  });
  const tracer = provider.getTracer('test');
  const text = () => (existsSync(file) ? readFileSync(file, 'utf8') : '');
  const read = () => (existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line) as SpanRecord) : []);
  return { file, processor, provider, tracer, read, text, memory };
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


it('writes each span as exactly the JSON of its record, whatever its text holds, and lines of any size in order', async () => {
  const { file, tracer, text, memory, provider } = setup({ flushIntervalMs: 60_000, maxQueueSize: 100, maxBatchSize: 4 });
  const root = tracer.startSpan('route "a"\n\u2028 ✓ 🚀', { kind: SpanKind.SERVER, attributes: { quote: '"\\', emoji: '🚀🚀', n: 1.5, big: 2 ** 60, list: ['a', 'b'], flag: true } });
  const child = tracer.startSpan('select', { kind: SpanKind.CLIENT }, trace.setSpan(ROOT_CONTEXT, root));
  child.recordException(new Error('from the exception event "only"'));
  child.setStatus({ code: SpanStatusCode.ERROR });
  child.end();
  const ok = tracer.startSpan('ok', { kind: SpanKind.PRODUCER });
  ok.setStatus({ code: SpanStatusCode.OK, message: 'ignored unless failed' });
  ok.end();
  // Longer than a batch's buffer, with characters of 3 bytes in UTF-8: written whole, in its place.
  tracer.startSpan('huge', { attributes: { text: '€'.repeat(200_000) } }).end();
  tracer.startSpan('after-huge', { kind: SpanKind.CONSUMER }).end();
  root.setStatus({ code: SpanStatusCode.ERROR, message: 'route failed: ✗' });
  root.end();
  await provider.forceFlush();
  const spans = memory.getFinishedSpans(); // (shutting the provider down empties it)
  await provider.shutdown();
  expect(spans.map((s) => s.name)).toEqual(['select', 'ok', 'huge', 'after-huge', 'route "a"\n\u2028 ✓ 🚀']);
  expect(text()).toBe(spans.map((s) => JSON.stringify(spanToRecord(s)) + '\n').join(''));

  // The exporter writes the same lines.
  const exported = path.join(path.dirname(file), 'exported.jsonl');
  const exporter = new JsonlFileExporter(exported);
  await new Promise<void>((resolve, reject) => exporter.export(spans, (result) => (result.error ? reject(result.error) : resolve())));
  expect(readFileSync(exported, 'utf8')).toBe(text());
});
