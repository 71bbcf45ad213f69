/**
 * A typed client over an upstream's `fetch()`, typed by the upstream's OpenAPI spec (openapi-typescript's
 * `paths`): every call goes through the upstream's health, failover, retries and deadline.
 *
 *   import type { paths } from './generated/upstreams/users.openapi.gen.js';
 *   const users = createTypedClient<paths>(app.upstreams.users);
 *   const user = await users.get('/users/{id}', { path: { id: '42' }, deadlineMs: 2_000 });
 *   await users.post('/users', { body: { name: 'Ada' }, idempotencyKey: randomUUID() });
 *
 * Path parameters are encoded into the path template, `query` becomes the query string (arrays repeat the
 * key), `body` is sent as JSON. A 2xx answer resolves with its JSON body (undefined when it has none); any
 * other status rejects with an `UpstreamHttpError` holding the status and the body; failures of the upstream
 * itself (breaker open, deadline, connection) reject with its `UpstreamError`.
 */
import type { Upstream, UpstreamFetchInit } from './index.js';

export type HttpMethod = 'get' | 'put' | 'post' | 'delete' | 'options' | 'head' | 'patch' | 'trace';

type IsNever<T> = [T] extends [never] ? true : false;

/** The operation at `paths[P][M]` (openapi-typescript writes `M?: never` for a method a path lacks). */
export type OperationAt<Paths, P extends keyof Paths, M extends HttpMethod> = Paths[P] extends { [K in M]?: infer O } ? Exclude<O, undefined> : never;

/** The paths of `Paths` that have method `M`. */
export type PathsWith<Paths, M extends HttpMethod> = {
  [P in keyof Paths]: IsNever<OperationAt<Paths, P, M>> extends true ? never : P;
}[keyof Paths];

type Parameters_<O> = O extends { parameters: infer P } ? P : never;
type ParamIn<O, In extends string> = Parameters_<O> extends { [K in In]?: infer V } ? Exclude<V, undefined> : never;

/** The JSON media of a content map (`application/json`, `application/problem+json`, `*\/*` …). */
type JsonContent<C> = {
  [K in keyof C]: K extends `${string}json${string}` | '*/*' ? C[K] : never;
}[keyof C];

type RequestBodyOf<O> = O extends { requestBody?: infer B } ? Exclude<B, undefined> : never;
type JsonBodyOf<O> = RequestBodyOf<O> extends { content: infer C } ? JsonContent<C> : never;
type BodyRequired<O> = O extends { requestBody: object } ? true : false;

/** A field of the call's options: absent when the operation has none, optional when nothing in it is required. */
type Field<K extends string, T, Required extends boolean = true> =
  IsNever<T> extends true ? { [F in K]?: never } : Required extends false ? { [F in K]?: T } : {} extends T ? { [F in K]?: T } : { [F in K]: T };

/** What a call takes besides its path: parameters, body, and how to send it. */
export type CallOptions<O> = Field<'path', ParamIn<O, 'path'>> &
  Field<'query', ParamIn<O, 'query'>> &
  Field<'body', JsonBodyOf<O>, BodyRequired<O>> & {
    /** Extra request headers (the operation's header parameters among them). */
    headers?: Record<string, string>;
    /** Sent as `Idempotency-Key`, which lets the upstream client retry a POST or PATCH. */
    idempotencyKey?: string;
    deadlineMs?: number;
    signal?: AbortSignal;
  };

type Responses<O> = O extends { responses: infer R } ? R : never;
type SuccessStatus = 200 | 201 | 202 | 203 | 204 | 205 | 206 | 207 | 208 | 226 | '2XX';
type BodyOf<R> = R extends { content: infer C } ? (IsNever<JsonContent<C>> extends true ? unknown : JsonContent<C>) : undefined;

/** What a call resolves with: the JSON body of its 2xx responses (undefined for one declared without content). */
export type SuccessData<O> = {
  [S in keyof Responses<O>]: S extends SuccessStatus ? BodyOf<Responses<O>[S]> : never;
}[keyof Responses<O>];

/** `[options]`, optional when none of its fields is required. */
type Args<O> = {} extends CallOptions<O> ? [options?: CallOptions<O>] : [options: CallOptions<O>];

type MethodCall<Paths, M extends HttpMethod> = <P extends PathsWith<Paths, M>>(path: P, ...args: Args<OperationAt<Paths, P, M>>) => Promise<SuccessData<OperationAt<Paths, P, M>>>;

/** One entry of a generated operation table: where the operation lives. */
export interface OperationRoute {
  readonly method: HttpMethod;
  readonly path: string;
}

type OperationOf<Paths, R> = R extends { method: infer M extends HttpMethod; path: infer P extends keyof Paths } ? OperationAt<Paths, P, M> : never;

/** One function per operation of the table, typed by `Paths`. */
export type OperationCalls<Paths, Table extends Record<string, OperationRoute>> = {
  readonly [K in keyof Table]: (...args: Args<OperationOf<Paths, Table[K]>>) => Promise<SuccessData<OperationOf<Paths, Table[K]>>>;
};

export type TypedClient<Paths> = { readonly [M in HttpMethod]: MethodCall<Paths, M> } & {
  /** The upstream the calls go through. */
  readonly upstream: Upstream;
};

/** A non-2xx answer of the upstream to a typed call. */
export class UpstreamHttpError extends Error {
  constructor(
    readonly upstream: string,
    readonly method: string,
    readonly path: string,
    readonly status: number,
    /** The body: parsed JSON when it is JSON, else its text. */
    readonly body: unknown,
    readonly headers: Headers,
  ) {
    super(`upstream ${upstream}: ${method} ${path} answered ${status}`);
    this.name = 'UpstreamHttpError';
  }
}

interface LooseOptions {
  path?: Record<string, unknown>;
  query?: Record<string, unknown>;
  body?: unknown;
  headers?: Record<string, string>;
  idempotencyKey?: string;
  deadlineMs?: number;
  signal?: AbortSignal;
}

/** `template` with each `{name}` replaced by its encoded value; a missing value is a TypeError. */
export function fillPath(template: string, values: Record<string, unknown> = {}): string {
  return template.replace(/\{([^}]+)\}/g, (_, name: string) => {
    const value = values[name];
    if (value === undefined || value === null) throw new TypeError(`path parameter "${name}" of ${template} is missing`);
    return encodeURIComponent(String(value));
  });
}

/** The query string (with its `?`), or '' when there is nothing to send; arrays repeat the key. */
export function queryString(query: Record<string, unknown> = {}): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    for (const item of Array.isArray(value) ? value : [value]) {
      if (item === undefined || item === null) continue;
      params.append(key, typeof item === 'object' ? JSON.stringify(item) : String(item));
    }
  }
  const text = params.toString();
  return text === '' ? '' : `?${text}`;
}

async function readBody(res: Response): Promise<unknown> {
  const text = await res.text();
  if (text === '') return undefined;
  if (/\bjson\b|\+json/i.test(res.headers.get('content-type') ?? '')) {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      return text;
    }
  }
  return text;
}

/** Sends one call through the upstream: 2xx → its body; otherwise an `UpstreamHttpError`. */
export async function callUpstream(upstream: Upstream, method: HttpMethod, template: string, options: LooseOptions = {}): Promise<unknown> {
  const target = fillPath(template, options.path) + queryString(options.query);
  const headers: Record<string, string> = { accept: 'application/json', ...options.headers };
  const init: UpstreamFetchInit = { method: method.toUpperCase(), headers };
  if (options.body !== undefined) {
    headers['content-type'] ??= 'application/json';
    init.body = JSON.stringify(options.body);
  }
  if (options.idempotencyKey !== undefined) headers['idempotency-key'] = options.idempotencyKey;
  if (options.deadlineMs !== undefined) init.deadlineMs = options.deadlineMs;
  if (options.signal !== undefined) init.signal = options.signal;
  const res = await upstream.fetch(target, init);
  let body: unknown;
  if (method === 'head') await res.body?.cancel();
  else body = await readBody(res);
  if (res.status < 200 || res.status > 299) throw new UpstreamHttpError(upstream.name, method.toUpperCase(), target, res.status, body, res.headers);
  return body;
}

const METHODS: readonly HttpMethod[] = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

/** A client with one function per HTTP method, typed by `Paths` (openapi-typescript's `paths`). */
export function createTypedClient<Paths>(upstream: Upstream): TypedClient<Paths> {
  const client: Record<string, unknown> = { upstream };
  for (const method of METHODS) {
    client[method] = (path: string, options?: LooseOptions) => callUpstream(upstream, method, path, options);
  }
  return client as TypedClient<Paths>;
}

/** One function per operation of `table` (operation name → method and path), typed by `Paths`. */
export function createOperationCalls<Paths, Table extends Record<string, OperationRoute>>(upstream: Upstream, table: Table): OperationCalls<Paths, Table> {
  const calls: Record<string, unknown> = {};
  for (const [name, route] of Object.entries(table)) {
    Object.defineProperty(calls, name, {
      enumerable: true,
      value: (options?: LooseOptions) => callUpstream(upstream, route.method, route.path, options),
    });
  }
  return calls as OperationCalls<Paths, Table>;
}
