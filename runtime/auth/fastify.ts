/**
 * Fastify wiring: `onRequest` hooks (so nothing of the body is read before authentication) that enforce
 * a route's security requirements, set `request.auth`, and answer 401/403/503 as JSON `{ error, message }`
 * with `WWW-Authenticate` challenges. `createAuthHook` makes one for a route; `installAuth` covers a whole
 * app from a table of every operation's security.
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
  // Reasons and jose's messages only: never tokens, keys or claims.
  const detail = failure.causes.map((e) => ({ reason: e.reason, detail: e.cause instanceof Error ? e.cause.message : undefined }));
  if (failure.status === 503) request.log.warn({ auth: detail }, 'authentication keys could not be fetched');
  else request.log.debug({ auth: detail, status: failure.status }, 'request refused by auth');
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
 * Enforces each route's security with one `onRequest` hook on `app` (call it on the root instance). The
 * hook applies to every route of the instance and its children, whichever was registered first; requests
 * that match no route are left to the 404 handler. Every key of `routes` must name a registered route by
 * the time the app is ready, so a typo cannot leave an operation on the default requirements unnoticed.
 */
export function installAuth(app: FastifyInstance, options: InstallAuthOptions): void {
  const { schemes, defaultSecurity, routes } = options;
  const problems: string[] = [];
  const collect = (check: () => void) => {
    try {
      check();
    } catch (err) {
      if (err instanceof AuthConfigError) problems.push(...err.problems);
      else throw err;
    }
  };
  for (const [key, security] of Object.entries(routes)) {
    if (!/^[A-Z]+ \//.test(key)) problems.push(`routes key "${key}" must read "METHOD /url"`);
    collect(() => checkRequirements(security, schemes, `routes["${key}"]`));
  }
  collect(() => checkRequirements(defaultSecurity, schemes, 'defaultSecurity'));
  if (problems.length) throw new AuthConfigError(problems);
  if (!app.hasRequestDecorator('auth')) app.decorateRequest('auth', undefined);

  const byRoute = new Map<string, onRequestAsyncHookHandler>();
  for (const [key, security] of Object.entries(routes)) byRoute.set(key, createAuthHook(schemes, security, defaultSecurity, options));
  const byDefault = createAuthHook(schemes, undefined, defaultSecurity, options);

  app.addHook('onRequest', function authHook(request, reply) {
    const url = request.routeOptions.url;
    if (url === undefined) return Promise.resolve(); // no route matched: 404
    const hook = byRoute.get(`${request.method} ${url}`) ?? (request.method === 'HEAD' ? byRoute.get(`GET ${url}`) : undefined) ?? byDefault;
    return hook.call(this, request, reply);
  });
  app.addHook('onReady', async () => {
    const missing = Object.keys(routes).filter((key) => {
      const space = key.indexOf(' ');
      return !app.hasRoute({ method: key.slice(0, space) as 'GET', url: key.slice(space + 1) });
    });
    if (missing.length) throw new AuthConfigError(missing.map((k) => `routes["${k}"] matches no registered route`));
  });
}
