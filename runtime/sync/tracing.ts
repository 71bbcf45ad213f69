/**
 * A pull job's spans, made through the OpenTelemetry API alone (like the broadcast hub's): they go to
 * whatever tracer provider is registered globally, a started `backdev/runtime/tracing` instance. The API is
 * loaded when the job starts; without it, or with no provider registered, each call runs its function and
 * records nothing.
 *
 * - `sync run <job>`: one per run, from taking the lock to the ledger's last update; its status is an error
 *   when a stream failed.
 * - `sync page <stream>`: one per page, under the run's span, from waiting for the page to its commit (the
 *   upstream call of a page fetched ahead may have started under the previous page); the database
 *   statements of its transaction are its children; rows written, rows deleted, whether it was the last.
 */
import type * as Api from '@opentelemetry/api';
import { SYNC_ATTRIBUTE as A, SYNC_SPAN, TRACER_NAME } from '../tracing/constants.js';

export interface PageOutcome {
  rows: number;
  deleted: number;
  last: boolean;
}

export interface SyncTracer {
  /** Runs `run` in a `sync run <job>` span; `failed` tells from its result whether a stream failed. */
  run<T>(job: string, mode: string, run: () => Promise<T>, failed: (result: T) => string | undefined): Promise<T>;
  /** Runs one page in a `sync page <stream>` span, active while it runs; `run` reports what the page did. */
  page<T>(attributes: { job: string; stream: string; page: number }, run: (done: (outcome: PageOutcome) => void) => Promise<T>): Promise<T>;
}

/** Records nothing: a job's tracer until it has started, and for good without `@opentelemetry/api`. */
export const NOOP_SYNC_TRACER: SyncTracer = {
  run: (_job, _mode, run) => run(),
  page: (_attributes, run) => run(() => {}),
};

/** The job's tracer: on the OpenTelemetry API when it is installed, else the no-op one. */
export async function loadSyncTracer(): Promise<SyncTracer> {
  try {
    return createSyncTracer(await import('@opentelemetry/api'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException | undefined)?.code === 'ERR_MODULE_NOT_FOUND') return NOOP_SYNC_TRACER;
    throw err;
  }
}

export function createSyncTracer(api: typeof Api): SyncTracer {
  const { context, trace, SpanStatusCode } = api;
  const fail = (span: Api.Span, err: unknown) => {
    const error = err instanceof Error ? err : new Error(String(err));
    span.recordException(error);
    span.setStatus({ code: SpanStatusCode.ERROR, message: error.message });
  };
  /** `run` inside `span`, made active; the span ends when it settles. */
  const within = <T>(span: Api.Span, run: () => Promise<T>, settle: (result: T) => void): Promise<T> =>
    context.with(trace.setSpan(context.active(), span), run).then(
      (result) => {
        settle(result);
        span.end();
        return result;
      },
      (err: unknown) => {
        fail(span, err);
        span.end();
        throw err;
      },
    );

  return {
    run(job, mode, run, failed) {
      const span = trace.getTracer(TRACER_NAME).startSpan(`${SYNC_SPAN.run} ${job}`, {
        attributes: { [A.job]: job, [A.mode]: mode },
      });
      if (!span.isRecording()) {
        span.end();
        return run();
      }
      return within(span, run, (result) => {
        const error = failed(result);
        if (error !== undefined) span.setStatus({ code: SpanStatusCode.ERROR, message: error });
      });
    },

    page(attributes, run) {
      const span = trace.getTracer(TRACER_NAME).startSpan(`${SYNC_SPAN.page} ${attributes.stream}`, {
        attributes: {
          [A.job]: attributes.job,
          [A.stream]: attributes.stream,
          [A.page]: attributes.page,
        },
      });
      if (!span.isRecording()) {
        span.end();
        return run(() => {});
      }
      return within(
        span,
        () =>
          run((outcome) => {
            span.setAttribute(A.rows, outcome.rows);
            span.setAttribute(A.deleted, outcome.deleted);
            span.setAttribute(A.last, outcome.last);
          }),
        () => {},
      );
    },
  };
}
