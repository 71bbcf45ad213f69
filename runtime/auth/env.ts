/**
 * Auth configuration from environment variables, checked at startup: every missing or invalid variable is
 * named in one `AuthConfigError`, and values (secrets, keys) are never echoed.
 *
 * | variable | meaning |
 * |---|---|
 * | `AUTH_JWT_SECRET` | HS* shared secret (≥ 32 bytes) — or one of the next three |
 * | `AUTH_JWT_PUBLIC_KEY` | PEM (SPKI) or JWK JSON public key (`\n` escapes accepted) |
 * | `AUTH_JWKS_URL` | the issuer's JWKS URL |
 * | `AUTH_OIDC_ISSUER` | an OpenID Connect issuer (discovery) |
 * | `AUTH_JWT_ISSUER` | expected `iss` (defaults to `AUTH_OIDC_ISSUER`) |
 * | `AUTH_JWT_AUDIENCE` | expected `aud`, comma-separated for several |
 * | `AUTH_JWT_ALGORITHMS` | comma-separated, e.g. `RS256` (defaults to `HS256` with a secret only) |
 * | `AUTH_JWT_CLOCK_TOLERANCE` | seconds of leeway for exp/nbf (default 5) |
 * | `AUTH_ALLOW_INSECURE_HTTP` | `true` to accept http:// JWKS/issuer URLs off loopback |
 * | `AUTH_REALM` | realm of the challenges (default `api`) |
 */
import { AuthConfigError } from './errors.js';
import { checkJwtVerifierOptions, type JwtKeyOptions, type JwtOptionField, type JwtVerifierOptions } from './jwt.js';

export type AuthFeature = 'jwt' | 'basic' | 'apiKey' | 'oidc';

export interface AuthEnvConfig {
  /** Options for `createJwtVerifier`, when `jwt` or `oidc` was required. */
  jwt?: JwtVerifierOptions;
  realm: string;
  features: AuthFeature[];
}

const KEY_VARS = { secret: 'AUTH_JWT_SECRET', publicKey: 'AUTH_JWT_PUBLIC_KEY', jwksUrl: 'AUTH_JWKS_URL', oidcIssuer: 'AUTH_OIDC_ISSUER' } as const;
const FEATURES: readonly AuthFeature[] = ['jwt', 'basic', 'apiKey', 'oidc'];

const list = (value: string) =>
  value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');

/**
 * Reads the variables the `required` features need. `jwt`: one key source (`AUTH_JWT_SECRET`,
 * `AUTH_JWT_PUBLIC_KEY`, `AUTH_JWKS_URL` or `AUTH_OIDC_ISSUER`), the issuer and the audience; `oidc`:
 * `AUTH_OIDC_ISSUER` as the key source; `basic` and `apiKey` need no variables (their data is in the database).
 */
export function authConfigFromEnv(env: Record<string, string | undefined>, required: AuthFeature[]): AuthEnvConfig {
  const problems: string[] = [];
  const get = (name: string) => {
    const v = env[name];
    return v === undefined || v.trim() === '' ? undefined : v.trim();
  };
  const unknown = required.filter((f) => !FEATURES.includes(f));
  if (unknown.length) problems.push(`unknown auth features ${unknown.map((f) => JSON.stringify(f)).join(', ')} (known: ${FEATURES.join(', ')})`);
  const realm = get('AUTH_REALM') ?? 'api';
  if (/["\\\x00-\x1F\x7F]/.test(realm)) problems.push('AUTH_REALM must not contain quotes, backslashes or control characters');
  const features = [...new Set(required.filter((f) => FEATURES.includes(f)))];
  const config: AuthEnvConfig = { realm, features };

  if (features.includes('jwt') || features.includes('oidc')) {
    const present = (Object.keys(KEY_VARS) as (keyof typeof KEY_VARS)[]).filter((k) => get(KEY_VARS[k]) !== undefined);
    const reported = new Set<JwtOptionField>();
    let keyKind: keyof typeof KEY_VARS | undefined;
    if (features.includes('oidc')) {
      const others = present.filter((k) => k !== 'oidcIssuer');
      if (!present.includes('oidcIssuer')) problems.push('AUTH_OIDC_ISSUER is not set: the OpenID Connect issuer URL (its /.well-known/openid-configuration is read)');
      else keyKind = 'oidcIssuer';
      if (others.length) problems.push(`${others.map((k) => KEY_VARS[k]).join(', ')} cannot be set together with AUTH_OIDC_ISSUER: the keys come from the issuer's discovery document`);
    } else if (present.length === 0) {
      problems.push('no JWT key is configured: set one of AUTH_JWT_SECRET (HS256), AUTH_JWT_PUBLIC_KEY, AUTH_JWKS_URL or AUTH_OIDC_ISSUER');
    } else if (present.length > 1) {
      problems.push(`${present.map((k) => KEY_VARS[k]).join(' and ')} are all set: set exactly one JWT key source`);
    } else keyKind = present[0];
    if (!keyKind) reported.add('key');

    const issuer = get('AUTH_JWT_ISSUER') ?? (keyKind === 'oidcIssuer' ? get('AUTH_OIDC_ISSUER') : undefined);
    if (issuer === undefined) {
      problems.push('AUTH_JWT_ISSUER is not set: the expected `iss` claim of tokens (e.g. https://auth.example.com/)');
      reported.add('issuer');
    }
    const audienceText = get('AUTH_JWT_AUDIENCE');
    const audiences = audienceText === undefined ? [] : list(audienceText);
    if (audiences.length === 0) {
      problems.push('AUTH_JWT_AUDIENCE is not set: the expected `aud` claim of tokens (comma-separated for several)');
      reported.add('audience');
    }
    const algorithmsText = get('AUTH_JWT_ALGORITHMS');
    let algorithms = algorithmsText === undefined ? [] : list(algorithmsText);
    if (algorithms.length === 0) {
      if (keyKind === 'secret') algorithms = ['HS256'];
      else {
        problems.push(
          `AUTH_JWT_ALGORITHMS is not set: the accepted signature algorithms, comma-separated (e.g. RS256 or ES256)${keyKind === undefined ? '; not needed with AUTH_JWT_SECRET (HS256)' : ''}`,
        );
        reported.add('algorithms');
      }
    }
    let tolerance: number | undefined;
    const toleranceText = get('AUTH_JWT_CLOCK_TOLERANCE');
    if (toleranceText !== undefined) {
      tolerance = /^\d{1,3}$/.test(toleranceText) ? Number(toleranceText) : NaN;
      if (!(tolerance <= 300)) {
        problems.push('AUTH_JWT_CLOCK_TOLERANCE must be a whole number of seconds from 0 to 300');
        reported.add('clockToleranceSeconds');
      }
    }
    const insecureText = get('AUTH_ALLOW_INSECURE_HTTP');
    if (insecureText !== undefined && !['true', 'false'].includes(insecureText)) problems.push('AUTH_ALLOW_INSECURE_HTTP must be true or false');

    if (keyKind) {
      let value = get(KEY_VARS[keyKind])!;
      // A PEM in a one-line variable usually arrives with literal \n sequences.
      if (keyKind === 'publicKey' && !value.includes('\n')) value = value.replace(/\\n/g, '\n');
      if (keyKind === 'secret') value = env[KEY_VARS.secret]!; // not trimmed: whitespace may be part of a secret
      const options: JwtVerifierOptions = {
        algorithms,
        issuer: issuer ?? '',
        audience: audiences.length === 1 ? audiences[0]! : audiences,
        key: { [keyKind]: value } as JwtKeyOptions,
        ...(tolerance !== undefined && !Number.isNaN(tolerance) ? { clockToleranceSeconds: tolerance } : {}),
        ...(insecureText === 'true' ? { allowInsecureHttp: true } : {}),
      };
      const varOf: Record<JwtOptionField, string> = {
        algorithms: 'AUTH_JWT_ALGORITHMS',
        issuer: 'AUTH_JWT_ISSUER',
        audience: 'AUTH_JWT_AUDIENCE',
        clockToleranceSeconds: 'AUTH_JWT_CLOCK_TOLERANCE',
        key: KEY_VARS[keyKind],
        typ: 'typ',
        jwks: 'jwks',
        maxTokenLength: 'maxTokenLength',
      };
      for (const problem of checkJwtVerifierOptions(options).problems) {
        if (!reported.has(problem.field)) problems.push(`${varOf[problem.field]}: ${problem.message}`);
      }
      config.jwt = options;
    }
  }
  if (problems.length) throw new AuthConfigError(problems);
  return config;
}
