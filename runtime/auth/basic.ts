/**
 * HTTP Basic authentication (RFC 7617): a strict parser of `Authorization: Basic <base64(user:password)>`
 * and a scheme verifier checking the password against a scrypt hash from your user lookup.
 */
import { AuthError } from './errors.js';
import { DUMMY_PASSWORD_HASH, MAX_PASSWORD_LENGTH, verifyPassword } from './passwords.js';
import { parseAuthorization, type AuthRequest, type BasicSchemeVerifier, type Credentials } from './schemes.js';

export interface BasicCredentials {
  username: string;
  password: string;
}

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
// C0 controls and DEL are not allowed in a user-id or password (RFC 7617 §2).
const CONTROL = /[\x00-\x1F\x7F]/;
const MAX_USERNAME_LENGTH = 256;

/**
 * Decodes the credentials part of a Basic header. Throws `AuthError('invalid_credentials')` when it is not
 * strict base64 of UTF-8 `user:password` (no colon in the user, no control characters, bounded lengths).
 */
export function decodeBasicCredentials(encoded: string): BasicCredentials {
  const fail = () => new AuthError('invalid_credentials');
  if (encoded.length > 4 * Math.ceil((MAX_USERNAME_LENGTH + 1 + MAX_PASSWORD_LENGTH * 4) / 3) || encoded.length % 4 !== 0 || !BASE64.test(encoded)) throw fail();
  const bytes = Buffer.from(encoded, 'base64');
  // Node's decoder skips junk silently: re-encoding must give back exactly what was sent.
  if (bytes.toString('base64') !== encoded) throw fail();
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw fail();
  }
  const colon = text.indexOf(':');
  if (colon < 0) throw fail();
  const username = text.slice(0, colon);
  const password = text.slice(colon + 1);
  if (username === '' || username.length > MAX_USERNAME_LENGTH || password.length > MAX_PASSWORD_LENGTH || CONTROL.test(username) || CONTROL.test(password)) throw fail();
  return { username, password };
}

/**
 * The Basic credentials of a request: undefined when the request has no `Authorization: Basic` header;
 * throws `AuthError('invalid_credentials')` when it has a malformed one.
 */
export function parseBasicAuthorization(request: AuthRequest): BasicCredentials | undefined {
  const auth = parseAuthorization(request);
  if (!auth || auth.scheme !== 'basic') return undefined;
  return decodeBasicCredentials(auth.credentials);
}

/** What your lookup returns for a user name: the stored scrypt hash (from `hashPassword`) and identity. */
export interface BasicUser {
  passwordHash: string;
  subject: string;
  scopes?: string[];
  claims?: Record<string, unknown>;
}

export interface BasicVerifierOptions {
  /** Finds a user by the name sent (normalise it here if your names are case-insensitive). */
  lookup: (username: string) => Promise<BasicUser | undefined>;
}

export interface BasicVerifier extends BasicSchemeVerifier {
  /** Checks a user name and password; undefined when either is wrong (the same time either way). */
  verifyCredentials(username: string, password: string): Promise<Credentials | undefined>;
}

/**
 * An `http` + `basic` scheme verifier. An unknown user costs the same scrypt work as a known one (a dummy
 * hash is checked), so response times do not tell which user names exist.
 */
export function createBasicVerifier(options: BasicVerifierOptions): BasicVerifier {
  if (typeof options?.lookup !== 'function') throw new TypeError('createBasicVerifier: lookup must be a function');
  const { lookup } = options;

  async function verifyCredentials(username: string, password: string): Promise<Credentials | undefined> {
    const user = await lookup(username);
    if (!user) {
      await verifyPassword(password, DUMMY_PASSWORD_HASH);
      return undefined;
    }
    if (!(await verifyPassword(password, user.passwordHash))) return undefined;
    return { subject: user.subject, scopes: [...(user.scopes ?? [])], claims: { ...user.claims, username } };
  }

  return {
    kind: 'http-basic',
    verifyCredentials,
    async authenticate(request) {
      const credentials = parseBasicAuthorization(request);
      if (!credentials) return undefined;
      const found = await verifyCredentials(credentials.username, credentials.password);
      if (!found) throw new AuthError('invalid_credentials');
      return found;
    },
  };
}
