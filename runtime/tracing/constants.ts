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
