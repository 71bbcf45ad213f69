/**
 * Upstream calls: `tracedFetch` is `fetch` in a client span that injects the W3C `traceparent` (and
 * `tracestate`) header, so the upstream continues the same trace.
 */
import { SpanKind, SpanStatusCode, context, trace, type Tracer } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { failSpan } from './span-error.js';

/** Stateless; shared by the runtime's modules. */
export const w3cPropagator = new W3CTraceContextPropagator();

export interface TracedFetchOptions {
  /** The tracer to use, or a function returning it at each call (default: the global `trace.getTracer('backdev')`). */
  tracer?: Tracer | (() => Tracer) | undefined;
  /** The fetch to wrap (default: the global `fetch`). */
  fetch?: typeof fetch | undefined;
}

/** A fetch that traces each call; `tracedFetch` is this with the defaults. */
export function createTracedFetch(options: TracedFetchOptions = {}): typeof fetch {
  return async (input, init) => {
    const inner = options.fetch ?? globalThis.fetch;
    const request = input instanceof Request ? input : undefined;
    const url = new URL(request ? request.url : String(input));
    const method = (init?.method ?? request?.method ?? 'GET').toUpperCase();
    const tracer = (typeof options.tracer === 'function' ? options.tracer() : options.tracer) ?? trace.getTracer('backdev');
    const span = tracer.startSpan(`${method} ${url.host}`, {
      kind: SpanKind.CLIENT,
      attributes: {
        'http.request.method': method,
        'url.full': `${url.origin}${url.pathname}`,
        'server.address': url.hostname,
        ...(url.port ? { 'server.port': Number(url.port) } : {}),
      },
    });
    const headers = new Headers(init?.headers ?? request?.headers);
    w3cPropagator.inject(trace.setSpan(context.active(), span), headers, {
      set: (carrier: Headers, key, value) => carrier.set(key, value),
    });
    try {
      const response = await inner(input, { ...init, headers });
      span.setAttribute('http.response.status_code', response.status);
      if (response.status >= 400) span.setStatus({ code: SpanStatusCode.ERROR, message: `HTTP ${response.status}` });
      return response;
    } catch (err) {
      failSpan(span, err);
      throw err;
    } finally {
      span.end();
    }
  };
}

export const tracedFetch: typeof fetch = createTracedFetch();
