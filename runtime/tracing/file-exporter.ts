/**
 * The trace file: one JSON object per span and line (constants.ts: SpanRecord).
 *
 * - `JsonlFileSpanProcessor` (what `createTracing` uses): each ended span becomes its line at once, encoded
 *   into the buffer of the batch being filled, and batches wait in a bounded queue to be written by
 *   asynchronous appends, one at a time and in order, so a request never waits on the disk. Serializing
 *   as each span ends costs every request the same few microseconds, where serializing a batch at the end
 *   of the request that filled it made that one request a millisecond slower, and kept every queued span's
 *   objects alive (and moved by the garbage collector) until then. It does what the SDK's
 *   BatchSpanProcessor and an exporter would, with less bookkeeping per span and batch (no export timer,
 *   no promise per batch).
 * - `JsonlFileExporter`: the same file as a `SpanExporter`, behind any span processor.
 */
import { mkdir, appendFile } from 'node:fs/promises';
import path from 'node:path';
import { SpanKind, SpanStatusCode, TraceFlags, diag } from '@opentelemetry/api';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { SpanRecord } from './constants.js';

const KINDS: Record<SpanKind, SpanRecord['kind']> = {
  [SpanKind.INTERNAL]: 'internal',
  [SpanKind.SERVER]: 'server',
  [SpanKind.CLIENT]: 'client',
  [SpanKind.PRODUCER]: 'producer',
  [SpanKind.CONSUMER]: 'consumer',
};

const STATUSES: Record<SpanStatusCode, SpanRecord['status']> = {
  [SpanStatusCode.UNSET]: 'unset',
  [SpanStatusCode.OK]: 'ok',
  [SpanStatusCode.ERROR]: 'error',
};

/** An hrtime ([seconds, nanoseconds]) in milliseconds, to three decimals: microseconds, the precision of the clock behind the spans. */
const ms = (time: readonly [number, number]) => Math.round(time[0] * 1e6 + time[1] / 1e3) / 1000;

function errorOf(span: ReadableSpan): string {
  if (span.status.message) return span.status.message;
  const exception = span.events.find((e) => e.name === 'exception')?.attributes?.['exception.message'];
  return typeof exception === 'string' && exception !== '' ? exception : 'error';
}

/** The span's line of the trace file (its attributes are the span's own object, not a copy: an ended span does not change). */
export function spanToRecord(span: ReadableSpan): SpanRecord {
  const context = span.spanContext();
  const status = STATUSES[span.status.code] ?? 'unset';
  const service = span.resource.attributes['service.name'];
  return {
    traceId: context.traceId,
    spanId: context.spanId,
    parentSpanId: span.parentSpanContext?.spanId ?? null,
    name: span.name,
    kind: KINDS[span.kind] ?? 'internal',
    startMs: ms(span.startTime),
    endMs: ms(span.endTime),
    durationMs: ms(span.duration),
    status,
    error: status === 'error' ? errorOf(span) : null,
    service: typeof service === 'string' ? service : null,
    attributes: span.attributes,
  };
}

/** Bytes a batch's buffer starts with: 512 spans of typical size (about 420 bytes) fit. */
const BATCH_BYTES = 256 * 1024;

const json = JSON.stringify;
/** A number as JSON.stringify writes it. */
const number = (n: number) => (Number.isFinite(n) ? String(n) : 'null');

/**
 * The span's line of the trace file, newline included: exactly `JSON.stringify(spanToRecord(span)) + '\n'`
 * (file-processor.test.ts holds it to that), written out field by field, which costs less than building
 * the record and serializing it (two spans made, ended and written: 3.3 µs instead of 4.6). The service name's JSON is kept per resource (a
 * provider has one).
 */
class SpanLines {
  #resource: ReadableSpan['resource'] | undefined;
  #service = 'null';

  line(span: ReadableSpan): string {
    if (span.resource !== this.#resource) {
      const service = span.resource.attributes['service.name'];
      this.#service = typeof service === 'string' ? json(service) : 'null';
      this.#resource = span.resource;
    }
    const context = span.spanContext();
    const parent = span.parentSpanContext?.spanId;
    const status = STATUSES[span.status.code] ?? 'unset';
    return (
      `{"traceId":${json(context.traceId)},"spanId":${json(context.spanId)},"parentSpanId":${parent === undefined ? 'null' : json(parent)}` +
      `,"name":${json(span.name)},"kind":"${KINDS[span.kind] ?? 'internal'}"` +
      `,"startMs":${number(ms(span.startTime))},"endMs":${number(ms(span.endTime))},"durationMs":${number(ms(span.duration))}` +
      `,"status":"${status}","error":${status === 'error' ? json(errorOf(span)) : 'null'},"service":${this.#service},"attributes":${json(span.attributes)}}\n`
    );
  }
}

/** Appends text to a file, one append at a time and in order, creating its directory first. */
class Appender {
  readonly file: string;
  #queue: Promise<void> = Promise.resolve();
  #dirReady: Promise<unknown> | undefined;

  constructor(file: string) {
    this.file = path.resolve(file);
  }

  /** Resolves once `text` is on disk; rejects when it could not be written. */
  append(text: string | Uint8Array): Promise<void> {
    const written = this.#queue.then(async () => {
      this.#dirReady ??= mkdir(path.dirname(this.file), { recursive: true });
      try {
        await this.#dirReady;
      } catch (error) {
        this.#dirReady = undefined; // retried with the next batch
        throw error;
      }
      await appendFile(this.file, text);
    });
    this.#queue = written.catch(() => undefined);
    return written;
  }

  /** Resolves once everything handed over so far is written (or has failed). */
  settled(): Promise<void> {
    return this.#queue;
  }
}

export interface JsonlFileSpanProcessorOptions {
  /** How often waiting spans are written, ms (default 1000). */
  flushIntervalMs?: number | undefined;
  /** Spans waiting to be written at most (those of a batch being written count); beyond, new spans are dropped (default 2048). */
  maxQueueSize?: number | undefined;
  /** Spans per append at most; a full batch is written at once (default 512). */
  maxBatchSize?: number | undefined;
}

export class JsonlFileSpanProcessor implements SpanProcessor {
  readonly #appender: Appender;
  readonly #interval: number;
  readonly #maxQueue: number;
  readonly #maxBatch: number;
  readonly #lines = new SpanLines();
  /**
   * The batch being filled: ended spans' lines, already encoded (UTF-8) one after the other, so that a
   * batch is written as it is, without joining its lines and encoding the whole again.
   */
  #batch: Buffer | undefined;
  /** Buffers of written batches, to fill again: a fresh 256 KiB buffer per batch cost more than the batch's appends. */
  #spare: Buffer[] = [];
  #used = 0;
  #count = 0;
  /** Spans handed to the appender and not written yet. */
  #writing = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #dropped = 0;
  #stopped = false;

  constructor(file: string, options: JsonlFileSpanProcessorOptions = {}) {
    this.#appender = new Appender(file);
    this.#interval = options.flushIntervalMs ?? 1000;
    this.#maxQueue = options.maxQueueSize ?? 2048;
    this.#maxBatch = Math.min(options.maxBatchSize ?? 512, this.#maxQueue);
  }

  get file(): string {
    return this.#appender.file;
  }

  onStart(): void {}

  onEnd(span: ReadableSpan): void {
    if (this.#stopped || (span.spanContext().traceFlags & TraceFlags.SAMPLED) === 0) return;
    if (this.#count + this.#writing >= this.#maxQueue) {
      this.#dropped++;
      return;
    }
    const line = this.#lines.line(span);
    // A UTF-16 code unit is at most 3 bytes of UTF-8: a batch without that much room left is written first.
    const room = line.length * 3;
    if (this.#batch && this.#batch.length - this.#used < room) this.#write();
    this.#batch ??= (room <= BATCH_BYTES && this.#spare.pop()) || Buffer.allocUnsafe(Math.max(BATCH_BYTES, room));
    this.#used += this.#batch.write(line, this.#used);
    this.#count++;
    if (this.#count >= this.#maxBatch) this.#write();
    else if (this.#timer === undefined) {
      this.#timer = setTimeout(() => this.#write(), this.#interval);
      this.#timer.unref();
    }
  }

  /** Hands the batch being filled to the appender. */
  #write(): Promise<void> {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#dropped > 0) {
      diag.warn(`trace file ${this.file}: ${this.#dropped} spans dropped, more were waiting than maxQueueSize`);
      this.#dropped = 0;
    }
    if (this.#count === 0) return Promise.resolve();
    const batch = this.#batch!;
    const bytes = batch.subarray(0, this.#used);
    const count = this.#count;
    this.#batch = undefined;
    this.#used = this.#count = 0;
    this.#writing += count;
    const done = () => {
      this.#writing -= count;
      if (batch.length === BATCH_BYTES && this.#spare.length < 2) this.#spare.push(batch);
    };
    return this.#appender.append(bytes).then(done, (error: unknown) => {
      done();
      diag.error(`trace file ${this.file}: ${count} spans not written`, error);
    });
  }

  /** Resolves once every span ended so far is on disk. */
  async forceFlush(): Promise<void> {
    await this.#write();
    await this.#appender.settled();
  }

  async shutdown(): Promise<void> {
    if (this.#stopped) return this.#appender.settled();
    await this.forceFlush();
    this.#stopped = true;
  }
}

export class JsonlFileExporter implements SpanExporter {
  readonly #appender: Appender;
  readonly #lines = new SpanLines();
  #stopped = false;

  constructor(file: string) {
    this.#appender = new Appender(file);
  }

  get file(): string {
    return this.#appender.file;
  }

  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    if (this.#stopped) return done({ code: ExportResultCode.FAILED, error: new Error('the trace file exporter is shut down') });
    const text = spans.map((span) => this.#lines.line(span)).join('');
    this.#appender.append(text).then(
      () => done({ code: ExportResultCode.SUCCESS }),
      (error: Error) => done({ code: ExportResultCode.FAILED, error }),
    );
  }

  /** Resolves once every batch handed over so far is on disk. */
  forceFlush(): Promise<void> {
    return this.#appender.settled();
  }

  async shutdown(): Promise<void> {
    this.#stopped = true;
    await this.#appender.settled();
  }
}
