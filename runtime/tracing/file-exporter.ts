/**
 * A span exporter writing one JSON object per span and line (constants.ts: SpanRecord) to a file. It sits
 * behind the SDK's BatchSpanProcessor, so a request never waits on the disk: spans are queued and written
 * in batches by asynchronous appends, one at a time and in order.
 */
import { mkdir, appendFile } from 'node:fs/promises';
import path from 'node:path';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { ExportResultCode, hrTimeToMilliseconds, type ExportResult } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
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

/** Three decimals: microseconds, the precision of the clock behind the spans. */
const round = (ms: number) => Math.round(ms * 1000) / 1000;

export function spanToRecord(span: ReadableSpan): SpanRecord {
  const context = span.spanContext();
  const status = STATUSES[span.status.code] ?? 'unset';
  const exception = span.events.find((e) => e.name === 'exception')?.attributes?.['exception.message'];
  const error = status === 'error' ? (span.status.message || (typeof exception === 'string' ? exception : null) || 'error') : null;
  const service = span.resource.attributes['service.name'];
  return {
    traceId: context.traceId,
    spanId: context.spanId,
    parentSpanId: span.parentSpanContext?.spanId ?? null,
    name: span.name,
    kind: KINDS[span.kind] ?? 'internal',
    startMs: round(hrTimeToMilliseconds(span.startTime)),
    endMs: round(hrTimeToMilliseconds(span.endTime)),
    durationMs: round(hrTimeToMilliseconds(span.duration)),
    status,
    error,
    service: typeof service === 'string' ? service : null,
    attributes: { ...span.attributes },
  };
}

export class JsonlFileExporter implements SpanExporter {
  readonly file: string;
  #queue: Promise<void> = Promise.resolve();
  #dirReady: Promise<unknown> | undefined;
  #stopped = false;

  constructor(file: string) {
    this.file = path.resolve(file);
  }

  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    if (this.#stopped) return done({ code: ExportResultCode.FAILED, error: new Error('the trace file exporter is shut down') });
    const text = spans.map((s) => JSON.stringify(spanToRecord(s)) + '\n').join('');
    this.#dirReady ??= mkdir(path.dirname(this.file), { recursive: true });
    this.#queue = this.#queue
      .then(() => this.#dirReady)
      .then(() => appendFile(this.file, text))
      .then(
        () => done({ code: ExportResultCode.SUCCESS }),
        (error: Error) => {
          // A failed mkdir is retried with the next batch.
          this.#dirReady = undefined;
          done({ code: ExportResultCode.FAILED, error });
        },
      );
  }

  /** Resolves once every batch handed over so far is on disk. */
  forceFlush(): Promise<void> {
    return this.#queue;
  }

  async shutdown(): Promise<void> {
    this.#stopped = true;
    await this.#queue;
  }
}
