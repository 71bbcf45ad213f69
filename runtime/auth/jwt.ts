/**
 * JWT bearer token verification with jose. The accepted algorithms come from the configuration, never
 * from the token, and must match the kind of key: HMAC (`HS*`) only with a shared secret, asymmetric
 * algorithms only with a public key, a JWKS URL or an OIDC issuer. A configuration mixing them is refused
 * when the verifier is created, which rules out the HS256-signed-with-the-public-key confusion.
 */
import crypto from 'node:crypto';
import { createRemoteJWKSet, errors, jwtVerify, type JWSHeaderParameters, type FlattenedJWSInput, type JWTPayload, type RemoteJWKSet } from 'jose';
import { AuthConfigError, AuthError } from './errors.js';

export type JwtKeyOptions =
  /** A shared secret for HS256/HS384/HS512 (at least as many bytes as the hash: 32/48/64). */
  | { secret: string }
  /** A public key: PEM (SPKI, `-----BEGIN PUBLIC KEY-----`) or a JWK as JSON. */
  | { publicKey: string }
  /** The issuer's JSON Web Key Set URL (https, or http on loopback). */
  | { jwksUrl: string }
  /** An OpenID Connect issuer: its discovery document gives the JWKS URL. */
  | { oidcIssuer: string };

export interface JwtVerifierOptions {
  /** The algorithms accepted, e.g. `['RS256']`. Required and non-empty; `none` is never accepted. */
  algorithms: string[];
  /** The expected `iss` claim. */
  issuer: string;
  /** The expected `aud` claim (one of them, when an array). */
  audience: string | string[];
  /** Leeway for `exp`/`nbf`, in seconds (default 5, at most 300). */
  clockToleranceSeconds?: number;
  key: JwtKeyOptions;
  /** When set, the token's `typ` header must be this (e.g. `at+jwt`, RFC 9068), so ID tokens are not taken for access tokens. */
  typ?: string;
  /** Remote key set tuning (JWKS and OIDC). */
  jwks?: {
    /** After a fetch, an unknown `kid` triggers another fetch only once this long has passed (default 30). */
    cooldownSeconds?: number;
    /** Keys are fetched again when older than this (default 600). */
    cacheMaxAgeSeconds?: number;
    /** Timeout of one JWKS or discovery request in milliseconds (default 5000). */
    timeoutMs?: number;
  };
  /** Accept http:// JWKS and issuer URLs on hosts other than loopback (default false: https only). */
  allowInsecureHttp?: boolean;
  /** Tokens longer than this are refused before parsing (default 8192 characters). */
  maxTokenLength?: number;
}

export interface VerifiedToken {
  /** The `sub` claim. */
  subject: string;
  /** From `scope` (space-separated) or, when absent, `scp` (array or space-separated string). */
  scopes: string[];
  /** Every claim of the (verified) payload. */
  claims: JWTPayload;
}

export interface JwtVerifier {
  /** Verifies a compact JWT; throws `AuthError` (reason only, details in `cause`) when it is not acceptable. */
  verify(token: string): Promise<VerifiedToken>;
  readonly algorithms: readonly string[];
}

const HMAC_ALGORITHMS: Record<string, number> = { HS256: 32, HS384: 48, HS512: 64 };
const ASYMMETRIC_ALGORITHMS = new Set(['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519']);
const EC_CURVES: Record<string, string> = { ES256: 'prime256v1', ES384: 'secp384r1', ES512: 'secp521r1' };
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;
const MAX_DISCOVERY_BYTES = 512 * 1024;

/** Which option a problem is about (the env helper maps these to variable names). */
export type JwtOptionField = 'algorithms' | 'issuer' | 'audience' | 'clockToleranceSeconds' | 'key' | 'typ' | 'jwks' | 'maxTokenLength';

export interface JwtOptionProblem {
  field: JwtOptionField;
  message: string;
}

function isLoopback(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname);
}

/** A problem with a JWKS/issuer URL, or undefined when it is acceptable. */
export function checkKeyUrl(value: unknown, allowInsecureHttp = false): string | undefined {
  if (typeof value !== 'string' || value === '') return 'must be a URL';
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'is not a valid URL';
  }
  if (url.protocol === 'https:') return undefined;
  if (url.protocol === 'http:' && (allowInsecureHttp || isLoopback(url.hostname))) return undefined;
  return url.protocol === 'http:' ? 'must use https (http is accepted on loopback hosts only)' : 'must be an https URL';
}

function keyFitsAlgorithm(alg: string, key: crypto.KeyObject): boolean {
  const type = key.asymmetricKeyType;
  if (alg.startsWith('RS')) return type === 'rsa';
  if (alg.startsWith('PS')) return type === 'rsa' || type === 'rsa-pss';
  if (alg.startsWith('ES')) return type === 'ec' && key.asymmetricKeyDetails?.namedCurve === EC_CURVES[alg];
  if (alg === 'EdDSA') return type === 'ed25519' || type === 'ed448';
  if (alg === 'Ed25519') return type === 'ed25519';
  return false;
}

function parsePublicKey(text: string, algorithms: readonly string[], problems: JwtOptionProblem[]): crypto.KeyObject | undefined {
  const problem = (message: string) => void problems.push({ field: 'key', message: `publicKey ${message}` });
  const trimmed = text.trim();
  let key: crypto.KeyObject;
  try {
    if (trimmed.startsWith('{')) {
      const jwk = JSON.parse(trimmed) as Record<string, unknown>;
      if (Array.isArray(jwk.keys)) return problem('is a key set (JWKS): serve it and use jwksUrl, or give one key'), undefined;
      if (jwk.kty === 'oct') return problem('is a symmetric (oct) JWK: use secret with an HS* algorithm'), undefined;
      if ('d' in jwk) return problem('is a private JWK: give the public key only'), undefined;
      if (jwk.use !== undefined && jwk.use !== 'sig') return problem(`is a JWK for use "${String(jwk.use)}", not "sig"`), undefined;
      if (typeof jwk.alg === 'string' && !algorithms.includes(jwk.alg)) return problem(`is a JWK for alg ${jwk.alg}, which is not in algorithms`), undefined;
      key = crypto.createPublicKey({ key: jwk as crypto.JsonWebKey, format: 'jwk' });
    } else {
      if (/PRIVATE KEY/.test(trimmed)) return problem('is a private key: give the public key (-----BEGIN PUBLIC KEY-----)'), undefined;
      if (!trimmed.startsWith('-----BEGIN ')) return problem('must be a PEM public key (-----BEGIN PUBLIC KEY-----) or a JWK as JSON'), undefined;
      key = crypto.createPublicKey({ key: trimmed, format: 'pem' });
    }
  } catch {
    return problem('cannot be read as a PEM (SPKI) public key or a JWK'), undefined;
  }
  if (key.type !== 'public') return problem('is not a public key'), undefined;
  const modulus = key.asymmetricKeyDetails?.modulusLength;
  if (modulus !== undefined && modulus < 2048) problem(`is a ${modulus}-bit RSA key; at least 2048 bits are required`);
  const misfits = algorithms.filter((alg) => ASYMMETRIC_ALGORITHMS.has(alg) && !keyFitsAlgorithm(alg, key));
  if (misfits.length) problem(`(${key.asymmetricKeyType ?? 'unknown'} key) cannot verify ${misfits.join(', ')}`);
  return key;
}

/**
 * Every problem with `options` (empty when they are usable), and the parsed public key when one is given.
 * `createJwtVerifier` throws an `AuthConfigError` listing them.
 */
export function checkJwtVerifierOptions(options: JwtVerifierOptions): { problems: JwtOptionProblem[]; publicKey?: crypto.KeyObject } {
  const problems: JwtOptionProblem[] = [];
  const add = (field: JwtOptionField, message: string) => void problems.push({ field, message });
  const algorithms: unknown = options.algorithms;
  let algs: string[] = [];
  if (!Array.isArray(algorithms) || algorithms.length === 0) add('algorithms', 'algorithms must list at least one algorithm (e.g. ["RS256"]); it is never taken from the token');
  else {
    algs = algorithms.filter((a): a is string => typeof a === 'string');
    const unknown = algorithms.filter((a) => typeof a !== 'string' || !(a in HMAC_ALGORITHMS || ASYMMETRIC_ALGORITHMS.has(a)));
    if (unknown.length) add('algorithms', `algorithms has unsupported values ${unknown.map((a) => JSON.stringify(a)).join(', ')} (supported: ${[...Object.keys(HMAC_ALGORITHMS), ...ASYMMETRIC_ALGORITHMS].join(', ')}; never "none")`);
  }
  if (typeof options.issuer !== 'string' || options.issuer.trim() === '') add('issuer', 'issuer must be the expected `iss` claim (a non-empty string)');
  const audiences = Array.isArray(options.audience) ? options.audience : [options.audience];
  if (audiences.length === 0 || audiences.some((a) => typeof a !== 'string' || a.trim() === '')) add('audience', 'audience must be a non-empty string or a non-empty list of them');
  const tolerance = options.clockToleranceSeconds;
  if (tolerance !== undefined && (typeof tolerance !== 'number' || !Number.isFinite(tolerance) || tolerance < 0 || tolerance > 300))
    add('clockToleranceSeconds', 'clockToleranceSeconds must be a number of seconds from 0 to 300');
  if (options.typ !== undefined && (typeof options.typ !== 'string' || options.typ === '')) add('typ', 'typ must be a non-empty string');
  if (options.maxTokenLength !== undefined && (!Number.isInteger(options.maxTokenLength) || options.maxTokenLength < 256))
    add('maxTokenLength', 'maxTokenLength must be an integer of at least 256');
  const jwks = options.jwks ?? {};
  for (const [name, value] of Object.entries(jwks)) {
    if (value !== undefined && (typeof value !== 'number' || !Number.isFinite(value) || value < 0)) add('jwks', `jwks.${name} must be a non-negative number`);
  }
  if (jwks.timeoutMs !== undefined && !Number.isInteger(jwks.timeoutMs)) add('jwks', 'jwks.timeoutMs must be an integer');

  const key = options.key as Partial<Record<'secret' | 'publicKey' | 'jwksUrl' | 'oidcIssuer', unknown>> | undefined;
  const kinds = key && typeof key === 'object' ? (['secret', 'publicKey', 'jwksUrl', 'oidcIssuer'] as const).filter((k) => key[k] !== undefined) : [];
  if (kinds.length !== 1) {
    add('key', 'key must have exactly one of secret, publicKey, jwksUrl or oidcIssuer');
    return { problems };
  }
  const kind = kinds[0]!;
  const hmac = algs.filter((a) => a in HMAC_ALGORITHMS);
  const asymmetric = algs.filter((a) => ASYMMETRIC_ALGORITHMS.has(a));
  if (kind === 'secret') {
    if (asymmetric.length) add('algorithms', `a shared secret only verifies HS256/HS384/HS512; ${asymmetric.join(', ')} need a public key, jwksUrl or oidcIssuer`);
    const secret = key!.secret;
    if (typeof secret !== 'string' || secret === '') add('key', 'secret must be a non-empty string');
    else {
      const need = Math.max(32, ...hmac.map((a) => HMAC_ALGORITHMS[a]!));
      if (/^\s*(-----BEGIN |\{)/.test(secret)) add('key', 'secret looks like a PEM or JWK key: use publicKey with an asymmetric algorithm instead');
      else if (Buffer.byteLength(secret, 'utf8') < need) add('key', `secret must be at least ${need} bytes for ${hmac.length ? hmac.join(', ') : 'HMAC'} (generate one with: openssl rand -base64 48)`);
    }
    return { problems };
  }
  if (hmac.length) add('algorithms', `${hmac.join(', ')} (HMAC) need a shared secret; a ${kind} only verifies asymmetric algorithms (RS*, PS*, ES*, EdDSA)`);
  if (kind === 'publicKey') {
    if (typeof key!.publicKey !== 'string' || key!.publicKey.trim() === '') {
      add('key', 'publicKey must be a PEM public key or a JWK as JSON');
      return { problems };
    }
    const publicKey = parsePublicKey(key!.publicKey, algs, problems);
    return publicKey ? { problems, publicKey } : { problems };
  }
  const urlProblem = checkKeyUrl(key![kind], options.allowInsecureHttp);
  if (urlProblem) add('key', `${kind} ${urlProblem}`);
  return { problems };
}

function scopesOf(payload: JWTPayload): string[] {
  const raw = payload.scope !== undefined ? payload.scope : payload.scp;
  if (raw === undefined || raw === null) return [];
  const items = typeof raw === 'string' ? [raw] : Array.isArray(raw) && raw.every((s) => typeof s === 'string') ? (raw as string[]) : undefined;
  if (!items) throw new AuthError('invalid_token');
  return [...new Set(items.flatMap((s) => s.split(' ')).filter((s) => s !== ''))];
}

/** Maps anything jose (or the key lookup) throws to an `AuthError`; details stay in `cause`. */
function toAuthError(err: unknown): AuthError {
  if (err instanceof AuthError) return err;
  if (err instanceof errors.JWTExpired) return new AuthError('expired', { cause: err });
  if (err instanceof errors.JWTClaimValidationFailed && err.claim === 'nbf') return new AuthError('not_yet_valid', { cause: err });
  return new AuthError('invalid_token', { cause: err });
}

/** Wraps a remote key set: a missing key is `unknown_key`, a failed fetch `unavailable`. */
function remoteKeyResolver(getSet: () => Promise<RemoteJWKSet>) {
  return async (header: JWSHeaderParameters, token: FlattenedJWSInput) => {
    const set = await getSet();
    try {
      return await set(header, token);
    } catch (err) {
      if (err instanceof errors.JWKSNoMatchingKey) throw new AuthError('unknown_key', { cause: err });
      if (err instanceof errors.JWKSMultipleMatchingKeys) throw new AuthError('invalid_token', { cause: err });
      // A fetch that failed, timed out, or returned something that is not a key set.
      throw new AuthError('unavailable', { cause: err });
    }
  };
}

async function fetchDiscovery(issuer: string, timeoutMs: number, allowInsecureHttp: boolean): Promise<string> {
  const url = `${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
  const response = await fetch(url, { redirect: 'error', signal: AbortSignal.timeout(timeoutMs), headers: { accept: 'application/json' } });
  if (response.status !== 200) throw new Error(`OIDC discovery ${url} answered ${response.status}`);
  const text = await response.text();
  if (text.length > MAX_DISCOVERY_BYTES) throw new Error(`OIDC discovery ${url} is larger than ${MAX_DISCOVERY_BYTES} bytes`);
  const doc = JSON.parse(text) as { issuer?: unknown; jwks_uri?: unknown };
  // OpenID Connect Discovery 1.0 §4.3: the issuer in the document must be identical to the one configured.
  if (doc.issuer !== issuer) throw new Error(`OIDC discovery ${url} names issuer ${JSON.stringify(doc.issuer)}, not ${JSON.stringify(issuer)}`);
  const problem = checkKeyUrl(doc.jwks_uri, allowInsecureHttp);
  if (problem) throw new Error(`OIDC discovery ${url}: jwks_uri ${problem}`);
  return doc.jwks_uri as string;
}

/** A verifier for one issuer. Throws `AuthConfigError` listing every problem with `options`. */
export function createJwtVerifier(options: JwtVerifierOptions): JwtVerifier {
  const { problems, publicKey } = checkJwtVerifierOptions(options);
  if (problems.length) throw new AuthConfigError(problems.map((p) => p.message));
  const algorithms = Object.freeze([...options.algorithms]);
  const maxTokenLength = options.maxTokenLength ?? 8192;
  const timeoutMs = options.jwks?.timeoutMs ?? 5000;
  const cooldownMs = (options.jwks?.cooldownSeconds ?? 30) * 1000;
  const remoteOptions = { cooldownDuration: cooldownMs, cacheMaxAge: (options.jwks?.cacheMaxAgeSeconds ?? 600) * 1000, timeoutDuration: timeoutMs };
  const allowInsecureHttp = options.allowInsecureHttp ?? false;
  const key = options.key;

  let resolveKey: Parameters<typeof jwtVerify>[1];
  if ('secret' in key) resolveKey = new TextEncoder().encode(key.secret);
  else if ('publicKey' in key) resolveKey = publicKey!;
  else if ('jwksUrl' in key) {
    const set = createRemoteJWKSet(new URL(key.jwksUrl), remoteOptions);
    resolveKey = remoteKeyResolver(async () => set);
  } else {
    // Discovery runs once, on the first token; a failure is retried no sooner than the JWKS cooldown.
    const issuer = key.oidcIssuer;
    let discovered: Promise<RemoteJWKSet> | undefined;
    let failedAt = -Infinity;
    const getSet = (): Promise<RemoteJWKSet> => {
      if (!discovered) {
        if (Date.now() - failedAt < cooldownMs) return Promise.reject(new AuthError('unavailable'));
        discovered = fetchDiscovery(issuer, timeoutMs, allowInsecureHttp).then(
          (jwksUri) => createRemoteJWKSet(new URL(jwksUri), remoteOptions),
          (err: unknown) => {
            discovered = undefined;
            failedAt = Date.now();
            throw new AuthError('unavailable', { cause: err });
          },
        );
      }
      return discovered;
    };
    resolveKey = remoteKeyResolver(getSet);
  }

  const verifyOptions = {
    algorithms: [...algorithms],
    issuer: options.issuer,
    audience: options.audience,
    clockTolerance: options.clockToleranceSeconds ?? 5,
    requiredClaims: ['iss', 'aud', 'exp', 'sub'],
    ...(options.typ !== undefined ? { typ: options.typ } : {}),
  };

  return {
    algorithms,
    async verify(token: string): Promise<VerifiedToken> {
      if (typeof token !== 'string' || token.length > maxTokenLength || !COMPACT_JWS.test(token)) throw new AuthError('invalid_token');
      let payload: JWTPayload;
      try {
        ({ payload } = await jwtVerify(token, resolveKey as Parameters<typeof jwtVerify>[1], verifyOptions));
      } catch (err) {
        throw toAuthError(err);
      }
      if (typeof payload.sub !== 'string' || payload.sub === '') throw new AuthError('invalid_token');
      return { subject: payload.sub, scopes: scopesOf(payload), claims: payload };
    },
  };
}
