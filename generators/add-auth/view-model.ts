/**
 * The template context of `add-auth` (templates/add-auth/README.md documents it field by field; a test
 * keeps the two in step). The view says *what* the spec asks for (which scheme, where its credential is,
 * which scopes); the templates decide the code. Strings from the spec (scheme keys, parameter names,
 * scopes, URLs, bearer formats, routes) are raw data here: templates print them only through the escaping
 * helpers (`str`, `key`, `json`, `doc`, `comment`), never as code.
 */
import { BackdevError, type Warning } from '../core/errors.js';
import type { ApiIR, SecurityRequirement, SecuritySchemeIR } from '../core/ir/types.js';

/** Login attempts per minute per client. */
export const LOGIN_ATTEMPTS_PER_MINUTE = 5;

export interface AddAuthView {
  /** Title and version from the spec's `info` (for the "do not edit" header). */
  api: { title: string; version: string };
  /** The configured security schemes, sorted by name. */
  schemes: SchemeView[];
  /** The document's top-level `security` (undefined when absent). */
  defaultSecurity: SecurityRequirement[] | undefined;
  /** Operations with their own `security`, in spec order. */
  routes: RouteSecurityView[];
  /** Scheme names requirements use that are not configured here (sorted): they never pass. */
  unknownSchemes: string[];
  /** Routes limited against password guessing (the accounts' login). */
  rateLimits: RateLimitView[];
  /** What `authConfigFromEnv` must read: a subset of `jwt`, `apiKey`, `basic`, in that order. */
  features: AuthFeature[];
  /** Names `src/auth.ts` imports from `backdev/runtime/auth` (a fixed vocabulary). */
  runtimeImports: RuntimeImport[];
  /** Some scheme verifies JWTs with the configured key (bearer, OAuth2, OpenID Connect). */
  usesJwt: boolean;
  /** The schemes need the database (API keys, HTTP Basic users, accounts). */
  usesDb: boolean;
  /** Some scheme is an API key. */
  apiKeys: boolean;
  /** Some scheme is HTTP Basic. */
  basic: boolean;
  /** Local accounts (`--accounts`): register, login, refresh, logout. */
  accounts: boolean;
}

export type SchemeKind = SecuritySchemeIR['type'];
export type AuthFeature = 'jwt' | 'apiKey' | 'basic';
export type RuntimeImport =
  | 'authConfigFromEnv'
  | 'apiKeyScheme'
  | 'createApiKeyStore'
  | 'bearerScheme'
  | 'createJwtVerifier'
  | 'createBasicVerifier'
  | 'normalizeEmail'
  | 'createAccounts';

export interface SchemeView {
  /** The key in `components.securitySchemes`, as written in the spec. */
  name: string;
  /** `apiKey`, `http-bearer`, `http-basic`, `oauth2` or `openIdConnect`. */
  kind: SchemeKind;
  /**
   * What checks its credential: `apiKey` (the API key store), `basic` (the users table), `accounts` (the
   * local accounts' access tokens) or `jwt` (tokens verified with the configured key).
   */
  verifier: 'apiKey' | 'basic' | 'accounts' | 'jwt';
  /** Where an API key is sent and under which name (header names lower-cased); undefined for other kinds. */
  apiKey: { in: 'header' | 'query' | 'cookie'; name: string } | undefined;
  /** `bearerFormat` of an http bearer scheme, when given. */
  bearerFormat: string | undefined;
  /** The scopes an OAuth2 scheme declares (every flow, sorted); empty for other kinds. */
  scopes: string[];
  /** `openIdConnectUrl` of an OpenID Connect scheme. */
  openIdConnectUrl: string | undefined;
  /** The scheme as data, as `securitySchemes` in auth.gen.ts exports it. */
  definition: Record<string, unknown>;
}

export interface RouteSecurityView {
  /** The Fastify route, `'METHOD url'`. */
  key: string;
  /** The operation's `security` (OR of alternatives, each scheme name → scopes). */
  security: SecurityRequirement[];
}

export interface RateLimitView {
  /** The Fastify route, `'METHOD url'`. */
  key: string;
  /** Attempts per minute per client. */
  max: number;
}

export interface AuthViewOptions {
  /** Only these schemes (default: every declared one). */
  schemes?: readonly string[] | undefined;
  /** The local-accounts endpoints are in the spec (`--accounts`). */
  accounts: boolean;
  /** The scheme whose tokens the local accounts issue (`--accounts`). */
  accountsScheme: string | undefined;
}

function definitionOf(s: SecuritySchemeIR): Record<string, unknown> {
  switch (s.type) {
    case 'apiKey':
      return { type: 'apiKey', in: s.in, name: s.paramName };
    case 'oauth2':
      return { type: 'oauth2', scopes: [...s.scopes] };
    case 'openIdConnect':
      return { type: 'openIdConnect', url: s.url };
    case 'http-bearer':
      return { type: 'http', scheme: 'bearer', ...(s.bearerFormat ? { bearerFormat: s.bearerFormat } : {}) };
    case 'http-basic':
      return { type: 'http', scheme: 'basic' };
  }
}

function schemeView(s: SecuritySchemeIR, accountsScheme: string | undefined): SchemeView {
  const verifier = s.type === 'apiKey' ? 'apiKey' : s.type === 'http-basic' ? 'basic' : s.name === accountsScheme ? 'accounts' : 'jwt';
  return {
    name: s.name,
    kind: s.type,
    verifier,
    apiKey: s.type === 'apiKey' ? { in: s.in, name: s.paramName } : undefined,
    bearerFormat: s.type === 'http-bearer' ? s.bearerFormat : undefined,
    scopes: s.type === 'oauth2' ? [...s.scopes] : [],
    openIdConnectUrl: s.type === 'openIdConnect' ? s.url : undefined,
    definition: definitionOf(s),
  };
}

export function buildAuthView(api: ApiIR, options: AuthViewOptions): { view: AddAuthView; warnings: Warning[] } {
  const warnings: Warning[] = [];
  const declared = api.securitySchemes;
  if (declared.length === 0) {
    throw new BackdevError(
      'OPTION_INVALID',
      'the spec declares no components.securitySchemes: add one, and a `security` requirement using it (or run add-auth --accounts for local accounts). For example:',
      {
        details: [
          'components:',
          '  securitySchemes:',
          '    bearerAuth:',
          '      type: http',
          '      scheme: bearer',
          '      bearerFormat: JWT',
          'security:            # every operation; an operation can override it (security: [] makes it public)',
          '  - bearerAuth: []',
        ],
      },
    );
  }
  for (const name of options.schemes ?? []) {
    if (!declared.some((s) => s.name === name)) {
      throw new BackdevError('OPTION_INVALID', `--scheme ${name}: not a security scheme of the spec (declared: ${declared.map((s) => s.name).join(', ')})`);
    }
  }
  const chosen = options.schemes?.length ? declared.filter((s) => options.schemes!.includes(s.name)) : declared;
  const schemes = chosen.map((s) => schemeView(s, options.accountsScheme));
  const chosenNames = new Set(chosen.map((s) => s.name));
  const routes: RouteSecurityView[] = [];
  const unknown = new Set<string>();
  const noteUnknown = (list: readonly SecurityRequirement[] | undefined) => {
    for (const r of list ?? []) for (const name of Object.keys(r)) if (!chosenNames.has(name)) unknown.add(name);
  };
  noteUnknown(api.defaultSecurity);
  for (const op of api.operations) {
    if (op.security === undefined) continue;
    routes.push({ key: `${op.method.toUpperCase()} ${op.url}`, security: [...op.security] });
    noteUnknown(op.security);
  }
  if (unknown.size > 0) {
    warnings.push({
      code: 'SECURITY_SCHEME_SKIPPED',
      subject: 'add-auth',
      message: `requirements name ${[...unknown].sort().map((n) => JSON.stringify(n)).join(', ')}, which ${unknown.size === 1 ? 'is' : 'are'} not configured here: alternatives needing ${unknown.size === 1 ? 'it' : 'them'} never pass`,
    });
  }
  const usesJwt = schemes.some((s) => s.verifier === 'jwt');
  const apiKeys = schemes.some((s) => s.verifier === 'apiKey');
  const basic = schemes.some((s) => s.verifier === 'basic');
  const accounts = options.accounts;
  const features: AuthFeature[] = [...(usesJwt || accounts ? ['jwt' as const] : []), ...(apiKeys ? ['apiKey' as const] : []), ...(basic ? ['basic' as const] : [])];
  const runtimeImports: RuntimeImport[] = [
    'authConfigFromEnv',
    ...(apiKeys ? (['apiKeyScheme', 'createApiKeyStore'] as const) : []),
    ...(usesJwt || accounts ? (['bearerScheme'] as const) : []),
    ...(usesJwt ? (['createJwtVerifier'] as const) : []),
    ...(basic ? (['createBasicVerifier', 'normalizeEmail'] as const) : []),
    ...(accounts ? (['createAccounts'] as const) : []),
  ];
  const login = api.operations.find((o) => o.operationId === 'loginAccount');
  const view: AddAuthView = {
    api: { title: api.title, version: api.version },
    schemes,
    defaultSecurity: api.defaultSecurity === undefined ? undefined : [...api.defaultSecurity],
    routes,
    unknownSchemes: [...unknown].sort(),
    rateLimits: accounts && login ? [{ key: `POST ${login.url}`, max: LOGIN_ATTEMPTS_PER_MINUTE }] : [],
    features,
    runtimeImports,
    usesJwt,
    usesDb: apiKeys || basic || accounts,
    apiKeys,
    basic,
    accounts,
  };
  return { view, warnings };
}
