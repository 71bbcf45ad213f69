/**
 * Scheme verifiers: each knows where its credentials travel (as the OpenAPI security scheme says) and
 * returns `undefined` when they are absent, credentials when they are valid, or throws `AuthError`. A
 * credential anywhere else (a bearer token in the query string, an API key in a header when the scheme says
 * cookie) is not looked at, so it counts as absent.
 */
import { AuthError, type AuthErrorReason } from './errors.js';

/** What a scheme needs from a request: Fastify's request (and Node's IncomingMessage) fit. */
export interface AuthRequest {
  headers: Record<string, string | string[] | undefined>;
  /** The request target: path and query string. */
  url: string;
}

/** The identity a scheme established. */
export interface Credentials {
  subject: string;
  scopes: string[];
  claims: Record<string, unknown>;
}

interface SchemeBase {
  /** Credentials, `undefined` when the request carries none for this scheme; throws `AuthError` when they are refused. */
  authenticate(request: AuthRequest): Promise<Credentials | undefined>;
}
export interface BearerSchemeVerifier extends SchemeBase {
  readonly kind: 'http-bearer' | 'oauth2' | 'openIdConnect';
}
export interface BasicSchemeVerifier extends SchemeBase {
  readonly kind: 'http-basic';
}
export interface ApiKeySchemeVerifier extends SchemeBase {
  readonly kind: 'apiKey';
  readonly in: 'header' | 'query' | 'cookie';
  readonly name: string;
}
export type SchemeVerifier = BearerSchemeVerifier | BasicSchemeVerifier | ApiKeySchemeVerifier;
export type SchemeKind = SchemeVerifier['kind'];

/** Longest Authorization / API key value looked at (larger ones are refused). */
const MAX_CREDENTIAL_LENGTH = 8192;
const TOKEN68 = /^[A-Za-z0-9\-._~+/]+=*$/;
const HEADER_TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

function singleHeader(request: AuthRequest, name: string): string | string[] | undefined {
  return request.headers[name.toLowerCase()];
}

/**
 * The `Authorization` header split into its scheme (lower case) and credentials, or undefined when there
 * is none. Throws `AuthError(invalidReason)` when the header is present but unusable (repeated, over-long).
 */
export function parseAuthorization(request: AuthRequest, invalidReason: AuthErrorReason = 'invalid_credentials'): { scheme: string; credentials: string } | undefined {
  const value = singleHeader(request, 'authorization');
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.length > MAX_CREDENTIAL_LENGTH) throw new AuthError(invalidReason);
  const match = /^([!#$%&'*+\-.^_`|~0-9A-Za-z]+)(?: +(.*))?$/.exec(value.trim());
  if (!match) return undefined;
  return { scheme: match[1]!.toLowerCase(), credentials: (match[2] ?? '').trim() };
}

/** `Authorization: Bearer <token>` only (RFC 6750 §2.1): never the query string or the body. */
export function extractBearerToken(request: AuthRequest): string | undefined {
  const auth = parseAuthorization(request, 'invalid_token');
  if (!auth || auth.scheme !== 'bearer') return undefined;
  if (!TOKEN68.test(auth.credentials)) throw new AuthError('invalid_token');
  return auth.credentials;
}

/**
 * Cookies of a `Cookie` header (RFC 6265 §5.4 syntax), each name with every value sent for it in order
 * (a browser sends the same name twice when cookies with different paths or domains match).
 */
export function parseCookies(header: string | string[] | undefined): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const text = Array.isArray(header) ? header.join('; ') : header;
  if (!text) return out;
  for (const part of text.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const name = part.slice(0, eq).trim();
    if (!HEADER_TOKEN.test(name)) continue;
    let value = part.slice(eq + 1).trim();
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
    try {
      value = decodeURIComponent(value);
    } catch {
      // Not percent-encoded text: keep it as sent.
    }
    const list = out.get(name);
    if (list) list.push(value);
    else out.set(name, [value]);
  }
  return out;
}

function queryValues(url: string, name: string): string[] {
  const q = url.indexOf('?');
  if (q < 0) return [];
  const hash = url.indexOf('#', q);
  return new URLSearchParams(url.slice(q + 1, hash < 0 ? undefined : hash)).getAll(name);
}

/**
 * The API key of a request from exactly the place the scheme names; undefined when absent. Sent more than
 * once with different values (header repeated, query parameter repeated, cookie tossed) it is refused.
 */
export function extractApiKey(request: AuthRequest, where: 'header' | 'query' | 'cookie', name: string): string | undefined {
  let values: string[];
  if (where === 'header') {
    const v = singleHeader(request, name);
    values = v === undefined ? [] : Array.isArray(v) ? v : [v];
  } else if (where === 'query') values = queryValues(request.url, name);
  else values = parseCookies(request.headers.cookie).get(name) ?? [];
  const distinct = [...new Set(values.map((v) => v.trim()))].filter((v) => v !== '');
  if (distinct.length === 0) return undefined;
  if (distinct.length > 1 || distinct[0]!.length > MAX_CREDENTIAL_LENGTH) throw new AuthError('invalid_credentials');
  return distinct[0];
}

/** Something that verifies bearer tokens: a `JwtVerifier`, or your own. */
export interface TokenVerifier {
  verify(token: string): Promise<{ subject: string; scopes: string[]; claims: Record<string, unknown> }>;
}

/**
 * A bearer-token scheme (`http` + `bearer`, `oauth2`, `openIdConnect`): the token is read from the
 * `Authorization` header only.
 */
export function bearerScheme(verifier: TokenVerifier, options: { kind?: BearerSchemeVerifier['kind'] } = {}): BearerSchemeVerifier {
  return {
    kind: options.kind ?? 'http-bearer',
    async authenticate(request) {
      const token = extractBearerToken(request);
      if (token === undefined) return undefined;
      const { subject, scopes, claims } = await verifier.verify(token);
      return { subject, scopes, claims };
    },
  };
}

/** What an API key store's `verify` yields (see `createApiKeyStore`). */
export interface ApiKeyIdentity {
  id: string;
  name: string;
  tenant: string | null;
  scopes: string[];
}

/**
 * An `apiKey` scheme: the key is read from the header, query parameter or cookie `name` only. The subject
 * is the key id; `claims` carries `keyId`, `name` and `tenant` (check the tenant in the handler).
 */
export function apiKeyScheme(
  store: { verify(key: string): Promise<ApiKeyIdentity | undefined> },
  options: { in: 'header' | 'query' | 'cookie'; name: string },
): ApiKeySchemeVerifier {
  if (!['header', 'query', 'cookie'].includes(options.in)) throw new TypeError(`apiKeyScheme: in must be header, query or cookie, not ${String(options.in)}`);
  if (typeof options.name !== 'string' || !HEADER_TOKEN.test(options.name)) throw new TypeError(`apiKeyScheme: name ${JSON.stringify(options.name)} is not a valid ${options.in} name`);
  const where = options.in;
  const name = where === 'header' ? options.name.toLowerCase() : options.name;
  return {
    kind: 'apiKey',
    in: where,
    name: options.name,
    async authenticate(request) {
      const key = extractApiKey(request, where, name);
      if (key === undefined) return undefined;
      const found = await store.verify(key);
      if (!found) throw new AuthError('invalid_credentials');
      return { subject: found.id, scopes: [...found.scopes], claims: { keyId: found.id, name: found.name, tenant: found.tenant } };
    },
  };
}
