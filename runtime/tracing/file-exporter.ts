/**
 * The trace file: one JSON object per span and line (constants.ts: SpanRecord).
 *
 * - `JsonlFileSpanProcessor` (what `createTracing` uses): each ended span becomes its line at once, and the
 *   lines wait in a bounded queue to be written in batches by asynchronous appends, one at a time and in
 *   order, so a request never waits on the disk. Serializing as each span ends costs every request the
 *   same few microseconds, where serializing a batch at the end of the request that filled it made that one
 *   request a millisecond slower, and kept every queued span's objects alive (and moved by the garbage
 *   collector) until then. It does what the SDK's BatchSpanProcessor and an exporter would, with less
 *   bookkeeping per span and batch (no export timer, no promise per batch).
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

/** The span's line of the trace file, newline included. */
const lineOf = (span: ReadableSpan) => JSON.stringify(spanToRecord(span)) + '\n';

/** Appends text to a file, one append at a time and in order, creating its directory first. */
class Appender {
  readonly file: string;
  #queue: Promise<void> = Promise.resolve();
  #dirReady: Promise<unknown> | undefined;

  constructor(file: string) {
    this.file = path.resolve(file);
  }

  /** Resolves once `text` is on disk; rejects when it could not be written. */
  append(text: string): Promise<void> {
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
  /** Lines of ended spans, waiting to be written. */
  #lines: string[] = [];
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
    if (this.#lines.length + this.#writing >= this.#maxQueue) {
      this.#dropped++;
      return;
    }
    this.#lines.push(lineOf(span));
    if (this.#lines.length >= this.#maxBatch) this.#write();
    else if (this.#timer === undefined) {
      this.#timer = setTimeout(() => this.#write(), this.#interval);
      this.#timer.unref();
    }
  }

  /** Hands the waiting lines to the appender, a batch at a time. */
  #write(): Promise<void> {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    const written: Promise<void>[] = [];
    while (this.#lines.length > 0) {
      const batch = this.#lines.length <= this.#maxBatch ? this.#lines : this.#lines.slice(0, this.#maxBatch);
      this.#lines = batch === this.#lines ? [] : this.#lines.slice(this.#maxBatch);
      this.#writing += batch.length;
      written.push(
        this.#appender.append(batch.join('')).then(
          () => {
            this.#writing -= batch.length;
          },
          (error: unknown) => {
            this.#writing -= batch.length;
            diag.error(`trace file ${this.file}: ${batch.length} spans not written`, error);
          },
        ),
      );
    }
    if (this.#dropped > 0) {
      diag.warn(`trace file ${this.file}: ${this.#dropped} spans dropped, more were waiting than maxQueueSize`);
      this.#dropped = 0;
    }
    return Promise.all(written).then(() => undefined);
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
  #stopped = false;

  constructor(file: string) {
    this.#appender = new Appender(file);
  }

  get file(): string {
    return this.#appender.file;
  }

  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    if (this.#stopped) return done({ code: ExportResultCode.FAILED, error: new Error('the trace file exporter is shut down') });
    const text = spans.map(lineOf).join('');
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
