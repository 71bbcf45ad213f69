/**
 * One server span per request on a Fastify app. The span continues an incoming W3C `traceparent`, is named
 * after the route's operationId (route `config.operationId`, `config.backdev.operationId` or
 * `schema.operationId`), else `METHOD /route/:template`, and is the active span while the hooks and the
 * handler run, so database and upstream spans land under it.
 */
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, context, trace, type Context, type Span, type SpanOptions, type Tracer } from '@opentelemetry/api';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { w3cPropagator } from './fetch.js';

interface RequestTrace {
  span: Span;
  context: Context;
  ended: boolean;
  /** The error the request failed with, when one reached Fastify. */
  error?: Error | undefined;
}

const headerGetter = {
  keys: (carrier: FastifyRequest['headers']) => Object.keys(carrier),
  get: (carrier: FastifyRequest['headers'], key: string) => carrier[key],
};

type RouteOptions = { url?: string; config?: Record<string, unknown>; schema?: Record<string, unknown> } | undefined;

function operationIdOf(options: RouteOptions): string | undefined {
  const config = options?.config;
  const id = config?.operationId ?? (config?.backdev as Record<string, unknown> | undefined)?.operationId ?? options?.schema?.operationId;
  return typeof id === 'string' && id !== '' ? id : undefined;
}

/** A route's span name and options, the same for each of its requests. */
interface RouteSpan {
  method: string;
  name: string;
  options: SpanOptions;
}

function routeSpan(request: FastifyRequest): RouteSpan {
  // Fastify builds routeOptions anew at each read: read it once.
  const options = request.routeOptions as unknown as RouteOptions;
  const route = options?.url;
  const operationId = operationIdOf(options);
  const attributes: Record<string, string> = { 'http.request.method': request.method };
  if (route) attributes['http.route'] = route;
  if (operationId) attributes['operationId'] = operationId;
  return { method: request.method, name: operationId ?? `${request.method} ${route ?? '(no route)'}`, options: { kind: SpanKind.SERVER, attributes } };
}

/** Adds the hooks to `app` itself, not inside an encapsulated plugin, so they cover every route of the app; call it before `app.ready()`. */
export function registerFastifyTracing(app: FastifyInstance, tracer: () => Tracer): void {
  // Where a request keeps its trace: a property Fastify declares on every request of the app (a symbol of
  // this registration's own), not a WeakMap to look up in at each hook.
  const TRACE = Symbol('backdev.trace');
  type TracedRequest = FastifyRequest & { [TRACE]: RequestTrace | null };
  app.decorateRequest(TRACE, null);
  const traceOf = (request: FastifyRequest) => (request as TracedRequest)[TRACE];
  // By the route's config object (one per route): the name and attributes are worked out once per route,
  // not per request. The tracer copies the attributes it is given.
  const routes = new WeakMap<object, RouteSpan>();
  const spanOf = (request: FastifyRequest): RouteSpan => {
    const config = request.routeOptions.config as object | undefined;
    const known = config && routes.get(config);
    if (known && known.method === request.method) return known;
    const made = routeSpan(request);
    if (config) routes.set(config, made);
    return made;
  };
  const finish = (t: RequestTrace) => {
    if (t.ended) return;
    t.ended = true;
    t.span.end();
  };

  app.addHook('onRequest', (request, _reply, done) => {
    const parent = request.headers.traceparent === undefined ? ROOT_CONTEXT : w3cPropagator.extract(ROOT_CONTEXT, request.headers, headerGetter);
    const { name, options } = spanOf(request);
    const span = tracer().startSpan(name, options, parent);
    const t: RequestTrace = { span, context: trace.setSpan(parent, span), ended: false };
    (request as TracedRequest)[TRACE] = t;
    context.with(t.context, done);
  });

  // The body arrives in the socket's async context: enter the request's again right before the handler
  // (a request without a body is still inside the context onRequest entered).
  app.addHook('preHandler', (request, _reply, done) => {
    const t = traceOf(request);
    if (t && context.active() !== t.context) context.with(t.context, done);
    else done();
  });

  // Fastify runs onError before the app's error handler: the error is kept, and the status of the response
  // decides. A 5xx fails the span with the error's message; a 4xx (a validation failure, a 404 thrown on
  // purpose, a unique violation answered 409) is recorded as an event but is the client's mistake, not a
  // failure of the server.
  app.addHook('onError', (request, _reply, error, done) => {
    const t = traceOf(request);
    if (t) {
      t.span.recordException(error);
      t.error = error;
    }
    done();
  });

  app.addHook('onResponse', (request, reply, done) => {
    const t = traceOf(request);
    if (t) {
      t.span.setAttribute('http.response.status_code', reply.statusCode);
      if (reply.statusCode >= 500) t.span.setStatus({ code: SpanStatusCode.ERROR, message: t.error?.message || `HTTP ${reply.statusCode}` });
      finish(t);
    }
    done();
  });

  app.addHook('onRequestAbort', (request, done) => {
    const t = traceOf(request);
    if (t) {
      t.span.setStatus({ code: SpanStatusCode.ERROR, message: 'request aborted by the client' });
      finish(t);
    }
    done();
  });
}
