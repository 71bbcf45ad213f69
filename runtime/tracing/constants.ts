/**
 * Values shared by `backdev/runtime/tracing` and the `backdev trace` commands. Kept free of OpenTelemetry
 * imports so that the command line can read them without loading the SDK.
 */

/** Where the runtime writes spans when no file is given, and where `backdev trace …` reads them. */
export const DEFAULT_TRACE_FILE = '.data/traces.jsonl';

/** One span, one line of the trace file (JSON Lines). */
export interface SpanRecord {
  /** 32 lowercase hex digits. */
  traceId: string;
  /** 16 lowercase hex digits. */
  spanId: string;
  /** The parent's span id; null for a trace's root span (or when the parent lives in another process and was not recorded). */
  parentSpanId: string | null;
  name: string;
  kind: 'internal' | 'server' | 'client' | 'producer' | 'consumer';
  /** Start and end, milliseconds since the Unix epoch (fractional); the duration is measured on the monotonic clock. */
  startMs: number;
  endMs: number;
  durationMs: number;
  status: 'unset' | 'ok' | 'error';
  /** The error message when status is `error` (the status message, else the recorded exception's). */
  error: string | null;
  service: string | null;
  attributes: Record<string, unknown>;
}

/**
 * How the active span is carried from a request's hooks into its handler, statements and upstream calls
 * (`createTracing({ contextManager })`, BACKDEV_TRACE_CONTEXT):
 * - `promise`: along promises and `await` (V8's promise hooks, promise-context.ts); a timer's or an event
 *   emitter's callback starts from the root context. A few calls per promise.
 * - `async-local-storage`: Node's `AsyncLocalStorage`, which carries it into callbacks as well; on Node 20
 *   and 22 it turns on async hooks for every promise, timer and socket operation, which costs each `await`
 *   more (docs/tracing.md, Overhead).
 */
export const TRACING_CONTEXT_MODES = ['promise', 'async-local-storage'] as const;
export type TracingContextMode = (typeof TRACING_CONTEXT_MODES)[number];

/** The tracer name every span of the runtime is recorded under (`trace.getTracer(TRACER_NAME)`). */
export const TRACER_NAME = 'backdev';

/**
 * The broadcast hub's spans (runtime/broadcast/tracing.ts): `publish <topic>` (producer, under the active
 * span) and `subscribe <topic>` (server, one per subscribe frame, its own trace unless one is active).
 */
export const BROADCAST_SPAN = { publish: 'publish', subscribe: 'subscribe' } as const;

/** Attribute keys of the broadcast hub's spans; the `messaging.*` ones follow OpenTelemetry's conventions. */
export const BROADCAST_ATTRIBUTE = {
  /** Always `backdev.broadcast`. */
  system: 'messaging.system',
  /** `publish` or `subscribe`. */
  operation: 'messaging.operation.name',
  /** The topic. */
  topic: 'messaging.destination.name',
  /** Publish: the stored message's epoch and offset. Subscribe: the position acknowledged (the `ack` frame). */
  epoch: 'broadcast.epoch',
  offset: 'broadcast.offset',
  /** Subscribe: the position the client resumes from, when it gave one. */
  resumeEpoch: 'broadcast.resume.epoch',
  resumeOffset: 'broadcast.resume.offset',
  /** Subscribe with a position: messages of the history sent before the ack (0 when a gap came instead). */
  replayed: 'broadcast.replayed',
  /** Subscribe: the reason of the gap sent instead of (part of) the history (`window`, `epoch`, `bus`); `none` for a resume without one. */
  gap: 'broadcast.gap',
  /** Subscribe: `ack`, `forbidden`, `too_many_subscriptions`, `unavailable`, `cancelled` (unsubscribed or disconnected first) or `error`. */
  outcome: 'broadcast.outcome',
} as const;

/** The value of `messaging.system` on the broadcast hub's spans. */
export const BROADCAST_SYSTEM = 'backdev.broadcast';

/** Span names of a pull job (runtime/sync/tracing.ts): `sync run <job>`, and under it `sync page <stream>`. */
export const SYNC_SPAN = { run: 'sync run', page: 'sync page' } as const;

/** Attributes of the pull job's spans. */
export const SYNC_ATTRIBUTE = {
  job: 'sync.job',
  mode: 'sync.mode',
  runId: 'sync.run_id',
  status: 'sync.status',
  stream: 'sync.stream',
  page: 'sync.page',
  rows: 'sync.rows',
  deleted: 'sync.deleted',
  last: 'sync.last',
} as const;
