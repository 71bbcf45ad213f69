/**
 * Fastify wiring: an `onRequest` hook per route that enforces the route's security requirements (before the
 * body is read), sets `request.auth`, and answers 401/403/503 as JSON `{ error, message }` with
 * `WWW-Authenticate` challenges.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest, onRequestAsyncHookHandler } from 'fastify';
import { AuthConfigError } from './errors.js';
import { AuthFailure, authorize, checkRequirements, type AuthContext, type Requirement } from './enforce.js';
import type { SchemeVerifier } from './schemes.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Who made the request; undefined on public routes (and anonymous requests where auth is optional). */
    auth?: AuthContext;
  }
}

export interface AuthHookOptions {
  /** The realm named in challenges (default `api`). */
  realm?: string;
}

/** Sends an `AuthFailure` as the response. */
export function sendAuthFailure(request: FastifyRequest, reply: FastifyReply, failure: AuthFailure): FastifyReply {
  if (failure.status === 503) request.log.warn({ causes: failure.causes.map((e) => e.cause ?? e) }, 'authentication keys could not be fetched');
  reply.code(failure.status).header('cache-control', 'no-store');
  if (failure.challenges.length) reply.header('www-authenticate', failure.challenges.length === 1 ? failure.challenges[0] : failure.challenges);
  return reply.send({ error: failure.error, message: failure.message });
}

/**
 * A hook enforcing `requirements` (an operation's `security`; undefined: `defaultSecurity`). Use it as the
 * route's `onRequest`. Unknown scheme names are a startup error.
 */
export function createAuthHook(
  schemes: Record<string, SchemeVerifier>,
  requirements: Requirement[] | undefined,
  defaultSecurity?: Requirement[],
  options: AuthHookOptions = {},
): onRequestAsyncHookHandler {
  checkRequirements(requirements, schemes);
  checkRequirements(defaultSecurity, schemes, 'defaultSecurity');
  const authorizeOptions = { defaultSecurity, ...(options.realm !== undefined ? { realm: options.realm } : {}) };
  return async function authHook(request, reply) {
    const result = await authorize(request, requirements, schemes, authorizeOptions);
    if (result instanceof AuthFailure) return sendAuthFailure(request, reply, result);
    request.auth = result;
  };
}

export interface InstallAuthOptions extends AuthHookOptions {
  schemes: Record<string, SchemeVerifier>;
  /** The document's global `security`. */
  defaultSecurity?: Requirement[];
  /**
   * Each operation's `security` by `'METHOD url'` as Fastify spells it (`'GET /pets/:id'`); a route that is
   * not listed (or listed as undefined) gets `defaultSecurity`. A HEAD route follows its GET.
   */
  routes: Record<string, Requirement[] | undefined>;
}

/**
 * Adds the auth hook to every route registered on `app` (or its children) after this call. Every key of
 * `routes` must match a registered route by the time the app is ready, so a typo cannot leave an operation
 * on the default requirements unnoticed.
 */
export function installAuth(app: FastifyInstance, options: InstallAuthOptions): void {
  const { schemes, defaultSecurity, routes } = options;
  const problems: string[] = [];
  for (const [key, security] of Object.entries(routes)) {
    if (!/^[A-Z]+ \//.test(key)) problems.push(`routes key "${key}" must read "METHOD /url"`);
    try {
      checkRequirements(security, schemes, `routes["${key}"]`);
    } catch (err) {
      if (err instanceof AuthConfigError) problems.push(...err.problems);
      else throw err;
    }
  }
  try {
    checkRequirements(defaultSecurity, schemes, 'defaultSecurity');
  } catch (err) {
    if (err instanceof AuthConfigError) problems.push(...err.problems);
    else throw err;
  }
  if (problems.length) throw new AuthConfigError(problems);
  if (!app.hasRequestDecorator('auth')) app.decorateRequest('auth', undefined);

  const unmatched = new Set(Object.keys(routes));
  const hooks = new Map<string, onRequestAsyncHookHandler>();
  const hookFor = (key: string | undefined) => {
    const id = key ?? '';
    let hook = hooks.get(id);
    if (!hook) hooks.set(id, (hook = createAuthHook(schemes, key === undefined ? undefined : routes[key], defaultSecurity, options)));
    return hook;
  };
  const keyFor = (method: string, url: string): string | undefined => {
    if (Object.hasOwn(routes, `${method} ${url}`)) return `${method} ${url}`;
    if (method === 'HEAD' && Object.hasOwn(routes, `GET ${url}`)) return `GET ${url}`;
    return undefined;
  };
  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    const keys = methods.map((m) => keyFor(m, route.url));
    for (const key of keys) if (key !== undefined) unmatched.delete(key);
    const distinct = new Set(keys.map((k) => JSON.stringify(k === undefined ? 'default' : (routes[k] ?? 'default'))));
    if (distinct.size > 1) throw new AuthConfigError(`route ${methods.join('|')} ${route.url} has different security per method; register the methods separately`);
    const existing = route.onRequest === undefined ? [] : Array.isArray(route.onRequest) ? route.onRequest : [route.onRequest];
    route.onRequest = [hookFor(keys[0]), ...existing] as typeof route.onRequest;
  });
  app.addHook('onReady', async () => {
    if (unmatched.size) throw new AuthConfigError([...unmatched].map((k) => `routes["${k}"] matches no registered route`));
  });
}
