/**
 * One server span per request on a Fastify app. The span continues an incoming W3C `traceparent`, is named
 * after the route's operationId (route `config.operationId`, `config.backdev.operationId` or
 * `schema.operationId`), else `METHOD /route/:template`, and is the active span while the hooks and the
 * handler run, so database and upstream spans land under it.
 */
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, context, trace, type Context, type Span, type Tracer } from '@opentelemetry/api';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { w3cPropagator } from './fetch.js';

interface RequestTrace {
  span: Span;
  context: Context;
  ended: boolean;
  errored: boolean;
}

const headerGetter = {
  keys: (carrier: FastifyRequest['headers']) => Object.keys(carrier),
  get: (carrier: FastifyRequest['headers'], key: string) => carrier[key],
};

function operationIdOf(request: FastifyRequest): string | undefined {
  const options = request.routeOptions as unknown as { config?: Record<string, unknown>; schema?: Record<string, unknown> } | undefined;
  const config = options?.config;
  const id = config?.operationId ?? (config?.backdev as Record<string, unknown> | undefined)?.operationId ?? options?.schema?.operationId;
  return typeof id === 'string' && id !== '' ? id : undefined;
}

/** Adds the hooks to `app` itself, not inside an encapsulated plugin, so they cover every route of the app; call it before `app.ready()`. */
export function registerFastifyTracing(app: FastifyInstance, tracer: () => Tracer): void {
  const traces = new WeakMap<FastifyRequest, RequestTrace>();
  const finish = (t: RequestTrace) => {
    if (t.ended) return;
    t.ended = true;
    t.span.end();
  };

  app.addHook('onRequest', (request, _reply, done) => {
    const parent = w3cPropagator.extract(ROOT_CONTEXT, request.headers, headerGetter);
    const route = request.routeOptions?.url;
    const operationId = operationIdOf(request);
    const attributes: Record<string, string> = { 'http.request.method': request.method };
    if (route) attributes['http.route'] = route;
    if (operationId) attributes['operationId'] = operationId;
    const span = tracer().startSpan(operationId ?? `${request.method} ${route ?? '(no route)'}`, { kind: SpanKind.SERVER, attributes }, parent);
    const t: RequestTrace = { span, context: trace.setSpan(parent, span), ended: false, errored: false };
    traces.set(request, t);
    context.with(t.context, done);
  });

  // The body arrives in the socket's async context: enter the request's again right before the handler.
  app.addHook('preHandler', (request, _reply, done) => {
    const t = traces.get(request);
    if (t) context.with(t.context, done);
    else done();
  });

  app.addHook('onError', (request, _reply, error, done) => {
    const t = traces.get(request);
    if (t) {
      t.span.recordException(error);
      // A client's mistake (an error carrying a 4xx status) is recorded but does not fail the server span.
      const status = (error as { statusCode?: unknown }).statusCode;
      if (typeof status !== 'number' || status >= 500) {
        t.errored = true;
        t.span.setStatus({ code: SpanStatusCode.ERROR, message: error.message });
      }
    }
    done();
  });

  app.addHook('onResponse', (request, reply, done) => {
    const t = traces.get(request);
    if (t) {
      t.span.setAttribute('http.response.status_code', reply.statusCode);
      // A 5xx is the server's failure even when no error reached onError (a handler that sent it itself).
      if (reply.statusCode >= 500 && !t.errored) t.span.setStatus({ code: SpanStatusCode.ERROR, message: `HTTP ${reply.statusCode}` });
      finish(t);
    }
    done();
  });

  app.addHook('onRequestAbort', (request, done) => {
    const t = traces.get(request);
    if (t) {
      t.span.setStatus({ code: SpanStatusCode.ERROR, message: 'request aborted by the client' });
      finish(t);
    }
    done();
  });
}
