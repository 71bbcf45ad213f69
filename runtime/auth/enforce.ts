/**
 * OpenAPI security requirements, enforced. An operation's `security` is a list of alternatives (OR); each
 * alternative maps scheme names to the scopes it needs, and all of its schemes must pass (AND). `[]` makes
 * the operation public, `undefined` means the document's global `security`, and an empty alternative `{}`
 * makes authentication optional.
 */
import { AuthConfigError, AuthError } from './errors.js';
import type { AuthRequest, Credentials, SchemeVerifier } from './schemes.js';

/** One alternative: scheme name → scopes required of it. */
export type Requirement = Record<string, string[]>;

/** Who the request is, from the first alternative that passed. */
export interface AuthContext {
  /** The first scheme of the passing alternative. */
  scheme: string;
  /** Every scheme of the passing alternative, in order. */
  schemes: string[];
  /** The subject of the first scheme. */
  subject: string;
  /** Union of the scopes of every scheme of the alternative. */
  scopes: string[];
  /** The claims of the first scheme (for an API key: keyId, name, tenant). */
  claims: Record<string, unknown>;
  /** What each scheme of the alternative established. */
  credentials: Record<string, Credentials>;
}

export type AuthFailureError = 'unauthorized' | 'insufficient_scope' | 'unavailable';

/** The request is refused. `message` and `challenges` are safe to send; `causes` are for logs. */
export class AuthFailure {
  constructor(
    readonly status: 401 | 403 | 503,
    readonly error: AuthFailureError,
    readonly message: string,
    /** `WWW-Authenticate` values, one challenge each. */
    readonly challenges: string[],
    /** The errors of the schemes that refused credentials. */
    readonly causes: AuthError[] = [],
  ) {}
}

export interface AuthorizeOptions {
  /** The document's global `security`, used when the operation's is undefined. */
  defaultSecurity?: Requirement[] | undefined;
  /** The realm named in challenges (default `api`). */
  realm?: string;
}

type Outcome = { state: 'ok'; credentials: Credentials } | { state: 'missing' } | { state: 'invalid'; error: AuthError };

/** The requirements that apply: the operation's own, else the global default, else none (public). */
export function resolveSecurity(operation: Requirement[] | undefined, defaultSecurity: Requirement[] | undefined): Requirement[] {
  return operation ?? defaultSecurity ?? [];
}

/** Throws an `AuthConfigError` naming every scheme the requirements use that `schemes` lacks, and malformed entries. */
export function checkRequirements(requirements: Requirement[] | undefined, schemes: Record<string, SchemeVerifier>, where = 'security'): void {
  if (requirements === undefined) return;
  const problems: string[] = [];
  if (!Array.isArray(requirements)) problems.push(`${where} must be a list of requirement objects`);
  else
    requirements.forEach((alternative, i) => {
      if (!alternative || typeof alternative !== 'object' || Array.isArray(alternative)) return void problems.push(`${where}[${i}] must be an object`);
      for (const [name, scopes] of Object.entries(alternative)) {
        if (!Object.hasOwn(schemes, name)) problems.push(`${where}[${i}] uses the security scheme "${name}", which has no verifier`);
        if (!Array.isArray(scopes) || !scopes.every((s) => typeof s === 'string')) problems.push(`${where}[${i}].${name} must be a list of scopes`);
      }
    });
  if (problems.length) throw new AuthConfigError(problems);
}

const quote = (value: string) => `"${value.replace(/[\\"]/g, (c) => `\\${c}`)}"`;

function challengeFor(scheme: SchemeVerifier, realm: string, outcome: Outcome | undefined): { key: string; value: string } {
  const r = `realm=${quote(realm)}`;
  switch (scheme.kind) {
    case 'http-basic':
      return { key: 'basic', value: `Basic ${r}, charset="UTF-8"` };
    case 'apiKey':
      // No registered challenge exists for API keys; this one tells the client where the key goes.
      return { key: `apikey:${scheme.in}:${scheme.name}`, value: `ApiKey ${r}, in=${quote(scheme.in)}, name=${quote(scheme.name)}` };
    default: {
      const invalid = outcome?.state === 'invalid' && outcome.error.reason !== 'unavailable';
      const error = invalid ? `, error="invalid_token", error_description=${quote(outcome.error.message)}` : '';
      return { key: 'bearer', value: `Bearer ${r}${error}` };
    }
  }
}

/**
 * Decides a request against `requirements` (undefined: `options.defaultSecurity`). Returns the context of
 * the first alternative that passes, `undefined` when no authentication is required (public operation, or
 * an empty alternative and no refused credentials), or an `AuthFailure`: 403 when some alternative had
 * valid credentials but lacked scopes, else 401 (503 when keys could not be fetched). Each scheme is
 * evaluated at most once, lazily. Errors other than `AuthError` (a database down) propagate.
 */
export async function authorize(
  request: AuthRequest,
  requirements: Requirement[] | undefined,
  schemes: Record<string, SchemeVerifier>,
  options: AuthorizeOptions = {},
): Promise<AuthContext | AuthFailure | undefined> {
  const alternatives = resolveSecurity(requirements, options.defaultSecurity);
  if (alternatives.length === 0) return undefined;
  checkRequirements(alternatives, schemes);
  const realm = options.realm ?? 'api';

  const outcomes = new Map<string, Promise<Outcome>>();
  const evaluate = (name: string): Promise<Outcome> => {
    let outcome = outcomes.get(name);
    if (!outcome) {
      outcome = schemes[name]!.authenticate(request).then(
        (credentials): Outcome => (credentials ? { state: 'ok', credentials } : { state: 'missing' }),
        (err: unknown): Outcome => {
          if (err instanceof AuthError) return { state: 'invalid', error: err };
          throw err;
        },
      );
      outcomes.set(name, outcome);
    }
    return outcome;
  };

  let optional = false;
  let lacking: { scheme: string; scopes: string[] }[] | undefined;
  for (const alternative of alternatives) {
    const names = Object.keys(alternative);
    if (names.length === 0) {
      optional = true;
      continue;
    }
    const credentials: Record<string, Credentials> = {};
    let complete = true;
    for (const name of names) {
      const outcome = await evaluate(name);
      if (outcome.state !== 'ok') {
        complete = false;
        break;
      }
      credentials[name] = outcome.credentials;
    }
    if (!complete) continue;
    const missingScopes = names
      .map((name) => ({ scheme: name, scopes: alternative[name]!.filter((s) => !credentials[name]!.scopes.includes(s)), required: alternative[name]! }))
      .filter((m) => m.scopes.length > 0);
    if (missingScopes.length === 0) {
      const first = credentials[names[0]!]!;
      return {
        scheme: names[0]!,
        schemes: names,
        subject: first.subject,
        scopes: [...new Set(names.flatMap((n) => credentials[n]!.scopes))],
        claims: first.claims,
        credentials,
      };
    }
    lacking ??= missingScopes.map((m) => ({ scheme: m.scheme, scopes: m.required }));
  }

  const settled = new Map<string, Outcome>();
  for (const [name, outcome] of outcomes) settled.set(name, await outcome);
  const refused = [...settled.values()].flatMap((o) => (o.state === 'invalid' ? [o.error] : []));

  if (lacking) {
    const challenges: string[] = [];
    for (const { scheme, scopes } of lacking) {
      if (['http-bearer', 'oauth2', 'openIdConnect'].includes(schemes[scheme]!.kind))
        challenges.push(`Bearer realm=${quote(realm)}, error="insufficient_scope", scope=${quote(scopes.join(' '))}`);
    }
    const needed = [...new Set(lacking.flatMap((l) => l.scopes))].join(' ');
    return new AuthFailure(403, 'insufficient_scope', `The credentials lack a required scope (${needed})`, [...new Set(challenges)], refused);
  }
  if (optional && refused.length === 0) return undefined;

  const challenges = new Map<string, string>();
  for (const name of new Set(alternatives.flatMap((a) => Object.keys(a)))) {
    const { key, value } = challengeFor(schemes[name]!, realm, settled.get(name));
    const existing = challenges.get(key);
    if (!existing || (value.includes('error=') && !existing.includes('error='))) challenges.set(key, value);
  }
  const unavailable = refused.find((e) => e.reason === 'unavailable');
  if (unavailable) return new AuthFailure(503, 'unavailable', unavailable.message, [], refused);
  const message = refused[0]?.message ?? 'Authentication is required';
  return new AuthFailure(401, 'unauthorized', message, [...challenges.values()], refused);
}
