/**
 * The broadcast hub's spans, made through the OpenTelemetry API alone: they go to whatever tracer provider is
 * registered globally (a started `backdev/runtime/tracing` instance), like `traceOperation`'s. The API is an
 * optional dependency, loaded when the hub starts; without it, or with no provider registered, each call
 * here runs its function and records nothing.
 *
 * - `publish <topic>`: a producer span under the active span (a request's, a `traceOperation`'s), with the
 *   topic and the stored message's epoch and offset; a failed publish fails it. A publish outside any span
 *   gets none, like a database statement outside a trace.
 * - `subscribe <topic>`: one span per subscribe frame, from the frame to its `ack` (or refusal): the
 *   position the client resumes from, the messages replayed, the gap sent instead if any, the outcome. It
 *   starts a trace of its own unless a span is active.
 *
 * Messages delivered to subscribers get no span: one per subscriber and message would cost more than the
 * delivery itself.
 */
import type * as Api from '@opentelemetry/api';
import { BROADCAST_ATTRIBUTE as A, BROADCAST_SPAN, BROADCAST_SYSTEM, TRACER_NAME } from '../tracing/constants.js';

/** How a subscribe ended (the span's `broadcast.outcome`). */
export type SubscribeOutcome = 'ack' | 'forbidden' | 'too_many_subscriptions' | 'unavailable' | 'cancelled' | 'error';

/** What a subscribe reports to its span; each call is a no-op when nothing records. */
export interface SubscribeTrace {
  /** Messages of the history sent so far (called as they go; the last count is recorded). */
  replayed(count: number): void;
  /** A gap was sent (the first reason is kept). */
  gap(reason: string): void;
  /** Ended without an ack; `unavailable` (the topic could not be read) fails the span with `error`. */
  refused(outcome: 'forbidden' | 'too_many_subscriptions' | 'unavailable', error?: unknown): void;
  /** The ack went out with this position. */
  acked(epoch: string, offset: number): void;
}

export interface HubTracer {
  /** Runs `run` (the bus's publish) in a `publish <topic>` span when a span is active. */
  publish<T extends { readonly epoch: string; readonly offset: number }>(topic: string, run: () => Promise<T>): Promise<T>;
  /** Runs `run` (the hub's subscribe) in a `subscribe <topic>` span, active while it runs. */
  subscribe(topic: string, from: { epoch?: string | undefined; offset?: number | undefined }, run: (trace: SubscribeTrace) => Promise<void>): Promise<void>;
}

const NOOP_SUBSCRIBE: SubscribeTrace = { replayed() {}, gap() {}, refused() {}, acked() {} };

/** Records nothing: the hub's tracer until it has started, and for good without `@opentelemetry/api`. */
export const NOOP_HUB_TRACER: HubTracer = {
  publish: (_topic, run) => run(),
  subscribe: (_topic, _from, run) => run(NOOP_SUBSCRIBE),
};

/** The hub's tracer: on the OpenTelemetry API when it is installed, else the no-op one. */
export async function loadHubTracer(): Promise<HubTracer> {
  let api: typeof Api;
  try {
    api = await import('@opentelemetry/api');
  } catch (err) {
    if ((err as NodeJS.ErrnoException | undefined)?.code === 'ERR_MODULE_NOT_FOUND') return NOOP_HUB_TRACER;
    throw err;
  }
  return createHubTracer(api);
}

export function createHubTracer(api: typeof Api): HubTracer {
  const { context, trace, SpanKind, SpanStatusCode } = api;
  const fail = (span: Api.Span, err: unknown) => {
    const error = err instanceof Error ? err : new Error(String(err));
    span.recordException(error);
    span.setStatus({ code: SpanStatusCode.ERROR, message: error.message });
  };

  return {
    publish(topic, run) {
      const active = context.active();
      if (!trace.getSpan(active)) return run();
      const span = trace.getTracer(TRACER_NAME).startSpan(
        `${BROADCAST_SPAN.publish} ${topic}`,
        { kind: SpanKind.PRODUCER, attributes: { [A.system]: BROADCAST_SYSTEM, [A.operation]: BROADCAST_SPAN.publish, [A.topic]: topic } },
        active,
      );
      // Active while the bus stores the message: a bus on a traced database records its statements under it.
      return context.with(trace.setSpan(active, span), run).then(
        (message) => {
          span.setAttribute(A.epoch, message.epoch);
          span.setAttribute(A.offset, message.offset);
          span.end();
          return message;
        },
        (err: unknown) => {
          fail(span, err);
          span.end();
          throw err;
        },
      );
    },

    subscribe(topic, from, run) {
      const active = context.active();
      const resumes = from.epoch !== undefined && from.offset !== undefined;
      const attributes: Api.Attributes = { [A.system]: BROADCAST_SYSTEM, [A.operation]: BROADCAST_SPAN.subscribe, [A.topic]: topic };
      if (resumes) {
        attributes[A.resumeEpoch] = from.epoch;
        attributes[A.resumeOffset] = from.offset;
      }
      const span = trace.getTracer(TRACER_NAME).startSpan(`${BROADCAST_SPAN.subscribe} ${topic}`, { kind: SpanKind.SERVER, attributes }, active);
      if (!span.isRecording()) {
        span.end();
        return run(NOOP_SUBSCRIBE);
      }
      let outcome: SubscribeOutcome | undefined;
      let gap: string | undefined;
      let replayed = 0;
      const record: SubscribeTrace = {
        replayed: (count) => {
          replayed = count;
        },
        gap: (reason) => {
          gap ??= reason;
        },
        refused: (why, error) => {
          outcome = why;
          if (error !== undefined) fail(span, error);
        },
        acked: (epoch, offset) => {
          outcome = 'ack';
          span.setAttribute(A.epoch, epoch);
          span.setAttribute(A.offset, offset);
        },
      };
      const finish = () => {
        if (resumes) span.setAttribute(A.replayed, replayed);
        if (gap !== undefined) span.setAttribute(A.gap, gap);
        else if (resumes && outcome === 'ack') span.setAttribute(A.gap, 'none');
        span.setAttribute(A.outcome, outcome ?? 'cancelled');
        span.end();
      };
      return context.with(trace.setSpan(active, span), () => run(record)).then(finish, (err: unknown) => {
        outcome = 'error';
        fail(span, err);
        finish();
        throw err;
      });
    },
  };
}
