/**
 * Fastify wiring: `onRequest` hooks (so nothing of the body is read before authentication) that enforce
 * a route's security requirements and set `request.auth`. A refusal (401/403/503) is thrown as an
 * `AuthRefusal` carrying its status and headers (`WWW-Authenticate` challenges, `Cache-Control: no-store`),
 * so the app's one error handler answers it like every other error: in a generated server, an RFC 9457
 * problem, or the body the operation's spec declares for that status. `createAuthHook` makes one hook for a
 * route; `installAuth` covers a whole app from a table of every operation's security.
 */
import type { FastifyInstance, FastifyRequest, onRequestAsyncHookHandler } from 'fastify';
import { AuthConfigError, AuthRefusal } from './errors.js';
import { AuthFailure, authorize, checkRequirements, type AuthContext, type Requirement } from './enforce.js';
import type { SchemeVerifier } from './schemes.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Who made the request; undefined on public routes (and anonymous requests where auth is optional). */
    auth?: AuthContext;
  }
  interface FastifyContextConfig {
    /**
     * `true`: `installAuth` lets every request of this route through, whatever the document's `security`
     * says (a generated app marks its /docs routes so; `routes` entries are enforced regardless).
     */
    public?: boolean;
  }
}

export interface AuthHookOptions {
  /** The realm named in challenges (default `api`). */
  realm?: string;
}

/**
 * The error to throw for an `AuthFailure` (logged here: the reasons and jose's messages, never tokens,
 * keys or claims). Its message is the failure's fixed text; its headers carry the challenges.
 */
export function authRefusal(request: FastifyRequest, failure: AuthFailure): AuthRefusal {
  const detail = failure.causes.map((e) => ({ reason: e.reason, detail: e.cause instanceof Error ? e.cause.message : undefined }));
  if (failure.status === 503) request.log.warn({ auth: detail }, 'authentication keys could not be fetched');
  else request.log.debug({ auth: detail, status: failure.status }, 'request refused by auth');
  const headers: Record<string, string | string[]> = { 'cache-control': 'no-store' };
  if (failure.challenges.length) headers['www-authenticate'] = failure.challenges.length === 1 ? failure.challenges[0]! : [...failure.challenges];
  return new AuthRefusal(failure.status, failure.error, failure.message, headers);
}

/**
 * A hook enforcing `requirements` (an operation's `security`; undefined: `defaultSecurity`). Use it as the
 * route's `onRequest`; it throws an `AuthRefusal` for the error handler when the request is refused.
 * Unknown scheme names are a startup error.
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
  return async function authHook(request) {
    const result = await authorize(request, requirements, schemes, authorizeOptions);
    if (result instanceof AuthFailure) throw authRefusal(request, result);
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
 * hook applies to every route of the instance and its children, whichever was registered first, except
 * routes registered with `config: { public: true }` and not listed in `routes`; requests that match no
 * route are left to the 404 handler. Every key of `routes` must name a registered route by
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
    const own = byRoute.get(`${request.method} ${url}`) ?? (request.method === 'HEAD' ? byRoute.get(`GET ${url}`) : undefined);
    if (!own && request.routeOptions.config?.public === true) return Promise.resolve(); // e.g. the docs
    const hook = own ?? byDefault;
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
