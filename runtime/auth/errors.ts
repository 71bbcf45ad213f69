/**
 * Typed errors of backdev/runtime/auth. Messages are fixed per reason: nothing from the token, the key or
 * the database reaches them, so an error can be shown to a client as is. The underlying error (a jose
 * error, a fetch failure) is kept as `cause` for server logs only.
 */

/**
 * Why credentials were refused:
 * - `invalid_token`: malformed, bad signature, algorithm not allowed, wrong issuer/audience/type, missing claim
 * - `expired`: `exp` is in the past (beyond the clock tolerance)
 * - `not_yet_valid`: `nbf` is in the future (beyond the clock tolerance)
 * - `unknown_key`: the token names a key (`kid`) the issuer's key set does not have
 * - `invalid_credentials`: a wrong or unknown API key, user name or password
 * - `unavailable`: the keys could not be fetched (JWKS or OIDC discovery down): not the client's fault
 */
export type AuthErrorReason = 'invalid_token' | 'expired' | 'not_yet_valid' | 'unknown_key' | 'invalid_credentials' | 'unavailable';

const REASON_MESSAGES: Record<AuthErrorReason, string> = {
  invalid_token: 'The access token is invalid',
  expired: 'The access token expired',
  not_yet_valid: 'The access token is not valid yet',
  unknown_key: 'The access token is signed with an unknown key',
  invalid_credentials: 'The credentials are invalid',
  unavailable: 'The credentials cannot be checked right now',
};

/** Credentials were presented and refused. `message` is safe to send to the client. */
export class AuthError extends Error {
  override readonly name = 'AuthError';
  constructor(
    readonly reason: AuthErrorReason,
    options?: { cause?: unknown },
  ) {
    super(REASON_MESSAGES[reason], options);
  }
}

/**
 * A request the auth hook refuses, thrown so that the app's one error handler answers it (a generated
 * server: an RFC 9457 problem, or the body the operation's spec declares for the status). It follows the
 * usual HTTP error conventions: `statusCode`, `headers` to send (`WWW-Authenticate` challenges,
 * `Cache-Control: no-store`), and `expose` (the message is one of the fixed texts, safe to show, also for
 * the 503 of keys that could not be fetched). `code` is the machine-readable reason.
 */
export class AuthRefusal extends Error {
  override readonly name = 'AuthRefusal';
  readonly expose = true;
  constructor(
    readonly statusCode: 401 | 403 | 503,
    readonly code: 'unauthorized' | 'insufficient_scope' | 'unavailable',
    message: string,
    readonly headers: Readonly<Record<string, string | string[]>>,
  ) {
    super(message);
  }
}

/** The auth configuration is wrong (found at startup). `problems` lists every problem found, one a line. */
export class AuthConfigError extends Error {
  override readonly name = 'AuthConfigError';
  readonly problems: readonly string[];
  constructor(problems: string | readonly string[]) {
    const list = typeof problems === 'string' ? [problems] : [...problems];
    super(list.length === 1 ? `auth configuration: ${list[0]}` : `auth configuration is invalid:\n${list.map((p) => `  - ${p}`).join('\n')}`);
    this.problems = list;
  }
}

/**
 * A local-accounts operation failed:
 * - `invalid_email`, `weak_password`: register input refused
 * - `email_taken`: register with an email that already has an account
 * - `invalid_credentials`: login with an unknown email or a wrong password (the same code for both)
 * - `invalid_refresh_token`: unknown, malformed, expired or revoked refresh token
 * - `refresh_token_reused`: an already used refresh token was presented; its whole family is now revoked
 */
export type AccountErrorCode = 'invalid_email' | 'weak_password' | 'email_taken' | 'invalid_credentials' | 'invalid_refresh_token' | 'refresh_token_reused';

const ACCOUNT_MESSAGES: Record<AccountErrorCode, string> = {
  invalid_email: 'The email address is not valid',
  weak_password: 'The password does not meet the requirements',
  email_taken: 'An account with this email already exists',
  invalid_credentials: 'The email or password is wrong',
  invalid_refresh_token: 'The refresh token is invalid',
  refresh_token_reused: 'The refresh token was already used; the session is revoked',
};

export class AccountError extends Error {
  override readonly name = 'AccountError';
  constructor(
    readonly code: AccountErrorCode,
    options?: { cause?: unknown; message?: string },
  ) {
    super(options?.message ?? ACCOUNT_MESSAGES[code], options);
  }
}
