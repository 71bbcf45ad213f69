/**
 * backdev/runtime/tracing: OpenTelemetry traces for a generated server, with no collector needed. Spans go
 * to a JSON Lines file (`.data/traces.jsonl`, one span per line, read by `backdev trace …`), or over
 * OTLP/HTTP when `OTEL_EXPORTER_OTLP_ENDPOINT` (or `otlpEndpoint`) is set.
 *
 *   const tracing = createTracing({ serviceName: 'pets-api' });
 *   await tracing.start();
 *   tracing.register(app);                                            // a span per request
 *   const db = new Kysely<DB>({ dialect: tracing.dialect(createDialect()) }); // a span per statement
 *   await tracing.fetch('http://upstream/items');                     // client span + traceparent
 *   await traceOperation('reindex', async () => { … });              // user code
 *   await tracing.close();                                            // flushes what is queued
 *
 * State: the instance keeps its own provider and exporter. `start()` registers the OpenTelemetry API's
 * process-wide globals — the tracer provider, a context manager (promise-context.ts) and the W3C trace context
 * propagator — each only when none is registered yet, and `close()` unregisters those it registered. The
 * API keeps them globally by design (that is how code using `@opentelemetry/api` directly finds them), so one
 * started instance per process is the intended use; a second one still records its own spans through its
 * own tracer, but `traceOperation` and the global API keep pointing at the first.
 */
import { ProxyTracerProvider, context, propagation, trace, type Attributes, type Span, type Tracer } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor, ParentBasedSampler, TraceIdRatioBasedSampler, AlwaysOnSampler, type SpanExporter, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { Dialect } from 'kysely';
import type { FastifyInstance } from 'fastify';
import { DEFAULT_TRACE_FILE, TRACER_NAME, TRACING_CONTEXT_MODES, type TracingContextMode } from './constants.js';
import { registerFastifyTracing } from './fastify.js';
import { createTracedFetch, w3cPropagator } from './fetch.js';
import { JsonlFileSpanProcessor } from './file-exporter.js';
import { traceDialect, type TraceDialectOptions } from './kysely.js';
import { hasAsyncContextFrame, PromiseContextManager } from './promise-context.js';
import { failSpan } from './span-error.js';

export { DEFAULT_TRACE_FILE, TRACING_CONTEXT_MODES, type SpanRecord, type TracingContextMode } from './constants.js';
export { JsonlFileExporter, JsonlFileSpanProcessor, spanToRecord, type JsonlFileSpanProcessorOptions } from './file-exporter.js';
export { createTracedFetch, tracedFetch, type TracedFetchOptions } from './fetch.js';
export { statementKind, statementTable, traceDialect, type TraceDialectOptions } from './kysely.js';
export { hasAsyncContextFrame, PromiseContextManager } from './promise-context.js';

export interface TracingOptions {
  /** `service.name` of every span (default: OTEL_SERVICE_NAME, else `backdev-service`). */
  serviceName?: string | undefined;
  /**
   * The JSONL file (default `.data/traces.jsonl`, or BACKDEV_TRACE_FILE). `false`: no file. When OTLP is on,
   * the file is written only when given here explicitly.
   */
  file?: string | false | undefined;
  /** OTLP/HTTP base URL (`/v1/traces` is appended); default OTEL_EXPORTER_OTLP_ENDPOINT; `null`: never OTLP. */
  otlpEndpoint?: string | null | undefined;
  /** Share of new traces recorded, 0..1 (default 1). A continued trace follows its caller's decision. */
  sampleRatio?: number | undefined;
  /** How often queued spans are written, ms (default 1000). */
  flushIntervalMs?: number | undefined;
  /** Spans queued at most; more are dropped rather than growing memory (default 2048). */
  maxQueueSize?: number | undefined;
  /** Extra span exporters (tests, a second backend). */
  exporters?: SpanExporter[] | undefined;
  /**
   * How the active span is carried (TracingContextMode). Default BACKDEV_TRACE_CONTEXT, else
   * `async-local-storage` where Node carries it without async hooks (Node 24 and later) and `promise`
   * elsewhere.
   */
  contextManager?: TracingContextMode | undefined;
  /** The environment read for defaults (default process.env). */
  env?: Record<string, string | undefined> | undefined;
}

export interface Tracing {
  readonly serviceName: string;
  /** The file spans are written to, absolute; undefined when there is none. */
  readonly file: string | undefined;
  /** The OTLP traces URL; undefined when OTLP is off. */
  readonly otlpUrl: string | undefined;
  /** How the active span is carried (`contextManager`). */
  readonly contextManager: TracingContextMode;
  /** This instance's tracer (a no-op one before `start()` and after `close()`). */
  readonly tracer: Tracer;
  start(): Promise<void>;
  /** Writes out what is queued now. */
  flush(): Promise<void>;
  /** Flushes, stops the exporters and unregisters the globals this instance registered. */
  close(): Promise<void>;
  /**
   * A server span per request on this Fastify app (the root instance, before `app.ready()`); once per app,
   * later calls for the same app do nothing. Register first thing, so the app's own onRequest hooks (auth)
   * run inside the span.
   */
  register(app: FastifyInstance): void;
  /** `dialect` with a span per statement (kysely.ts). */
  dialect(dialect: Dialect, options?: Omit<TraceDialectOptions, 'tracer'>): Dialect;
  /** fetch in a client span, injecting `traceparent`. */
  fetch: typeof fetch;
  /** Runs `fn` in an internal span of this instance (see `traceOperation`). */
  traceOperation<T>(name: string, fn: (span: Span) => T | Promise<T>, attributes?: Attributes): Promise<T>;
}

const NOOP_TRACER = new ProxyTracerProvider().getTracer('backdev');

export function createTracing(options: TracingOptions = {}): Tracing {
  const env = options.env ?? process.env;
  const serviceName = options.serviceName ?? env.OTEL_SERVICE_NAME ?? 'backdev-service';
  const endpoint = options.otlpEndpoint === null ? undefined : (options.otlpEndpoint ?? env.OTEL_EXPORTER_OTLP_ENDPOINT) || undefined;
  const otlpUrl = endpoint ? `${endpoint.replace(/\/+$/, '')}/v1/traces` : undefined;
  const fileOption = options.file ?? (otlpUrl ? false : (env.BACKDEV_TRACE_FILE || DEFAULT_TRACE_FILE));
  const buffer = { flushIntervalMs: options.flushIntervalMs ?? 1000, maxQueueSize: options.maxQueueSize ?? 2048 };
  const fileProcessor = fileOption === false ? undefined : new JsonlFileSpanProcessor(fileOption, { ...buffer, maxBatchSize: 512 });
  const contextMode = options.contextManager ?? ((env.BACKDEV_TRACE_CONTEXT || undefined) as TracingContextMode | undefined) ?? (hasAsyncContextFrame() ? 'async-local-storage' : 'promise');
  if (!TRACING_CONTEXT_MODES.includes(contextMode)) {
    throw new RangeError(`${options.contextManager ? 'contextManager' : 'BACKDEV_TRACE_CONTEXT'} must be ${TRACING_CONTEXT_MODES.join(' or ')} (got "${contextMode}")`);
  }
  const ratio = options.sampleRatio ?? 1;
  if (!(ratio >= 0 && ratio <= 1)) throw new RangeError(`sampleRatio must be between 0 and 1 (got ${ratio})`);

  let provider: BasicTracerProvider | undefined;
  let tracer: Tracer = NOOP_TRACER;
  let starting: Promise<void> | undefined;
  let closing: Promise<void> | undefined;
  const registered = { tracer: false, context: false, propagator: false };
  const apps = new WeakSet<FastifyInstance>();

  const start = async () => {
    const exporters: SpanExporter[] = [...(options.exporters ?? [])];
    if (otlpUrl) {
      // Loaded only when used: most projects write the file.
      const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-http');
      exporters.push(new OTLPTraceExporter({ url: otlpUrl }));
    }
    provider = new BasicTracerProvider({
      resource: resourceFromAttributes({ 'service.name': serviceName }),
      sampler: new ParentBasedSampler({ root: ratio >= 1 ? new AlwaysOnSampler() : new TraceIdRatioBasedSampler(ratio) }),
      spanProcessors: [
        // The file has a processor of its own (file-exporter.ts), cheaper per span than a batch exporter's.
        ...(fileProcessor ? [fileProcessor] : []),
        ...exporters.map(
          (e): SpanProcessor =>
            new BatchSpanProcessor(e, { scheduledDelayMillis: buffer.flushIntervalMs, maxQueueSize: buffer.maxQueueSize, maxExportBatchSize: Math.min(512, buffer.maxQueueSize) }),
        ),
      ],
    });
    tracer = provider.getTracer(TRACER_NAME);
    const contextManager = (contextMode === 'promise' ? new PromiseContextManager() : new AsyncLocalStorageContextManager()).enable();
    registered.context = context.setGlobalContextManager(contextManager);
    // Another context manager is in place (the application's own SDK): spans use that one.
    if (!registered.context) contextManager.disable();
    registered.tracer = trace.setGlobalTracerProvider(provider);
    registered.propagator = propagation.setGlobalPropagator(w3cPropagator);
  };

  const close = async () => {
    if (starting) await starting.catch(() => undefined);
    const p = provider;
    tracer = NOOP_TRACER;
    if (registered.tracer) trace.disable();
    if (registered.context) context.disable();
    if (registered.propagator) propagation.disable();
    registered.tracer = registered.context = registered.propagator = false;
    await p?.shutdown();
  };

  const self: Tracing = {
    serviceName,
    file: fileProcessor?.file,
    otlpUrl,
    contextManager: contextMode,
    get tracer() {
      return tracer;
    },
    start() {
      if (closing) return Promise.reject(new Error('this tracing instance is closed; create a new one'));
      starting ??= start();
      return starting;
    },
    async flush() {
      await provider?.forceFlush();
    },
    close() {
      closing ??= close();
      return closing;
    },
    register(app) {
      if (apps.has(app)) return;
      apps.add(app);
      registerFastifyTracing(app, () => tracer);
    },
    dialect(dialect, dialectOptions = {}) {
      return traceDialect(dialect, { ...dialectOptions, tracer: () => tracer });
    },
    fetch: createTracedFetch({ tracer: () => tracer }),
    traceOperation(name, fn, attributes) {
      return runInSpan(tracer, name, fn, attributes);
    },
  };
  return self;
}

/**
 * Runs `fn` inside an internal span named `name` (active for everything `fn` awaits), ending it when `fn`
 * settles; a throw or rejection is recorded on the span and rethrown. Uses the globally registered tracer
 * (the started `createTracing` instance); without one it just runs `fn`.
 */
export function traceOperation<T>(name: string, fn: (span: Span) => T | Promise<T>, attributes?: Attributes): Promise<T> {
  return runInSpan(trace.getTracer(TRACER_NAME), name, fn, attributes);
}

function runInSpan<T>(tracer: Tracer, name: string, fn: (span: Span) => T | Promise<T>, attributes?: Attributes): Promise<T> {
  return tracer.startActiveSpan(name, attributes ? { attributes } : {}, async (span) => {
    try {
      return await fn(span);
    } catch (err) {
      failSpan(span, err);
      throw err;
    } finally {
      span.end();
    }
  });
}
