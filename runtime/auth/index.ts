/**
 * `backdev/runtime/auth`: what generated `add-auth` code calls. JWT bearer verification (secret, public
 * key, JWKS, OIDC), hashed API keys, scrypt passwords, HTTP Basic, OpenAPI security enforcement as a Fastify
 * hook, and local accounts with rotating refresh tokens. Every piece is a factory taking explicit options;
 * nothing is kept at module level.
 */
export { AccountError, AuthConfigError, AuthError, AuthRefusal, type AccountErrorCode, type AuthErrorReason } from './errors.js';
export { constantTimeEqual } from './timing.js';
export { createJwtVerifier, checkJwtVerifierOptions, type JwtKeyOptions, type JwtVerifier, type JwtVerifierOptions, type VerifiedToken } from './jwt.js';
export { API_KEYS_MIGRATION, apiKeysMigration, createApiKeyStore, type ApiKeyStore, type ApiKeyStoreOptions, type IssueApiKeyInput } from './api-keys.js';
export { DUMMY_PASSWORD_HASH, SCRYPT_PARAMS, hashPassword, isPasswordHash, needsRehash, verifyPassword } from './passwords.js';
export {
  createBasicVerifier,
  decodeBasicCredentials,
  parseBasicAuthorization,
  type BasicCredentials,
  type BasicUser,
  type BasicVerifier,
  type BasicVerifierOptions,
} from './basic.js';
export {
  apiKeyScheme,
  bearerScheme,
  extractApiKey,
  extractBearerToken,
  parseAuthorization,
  parseCookies,
  type ApiKeyIdentity,
  type ApiKeySchemeVerifier,
  type AuthRequest,
  type BasicSchemeVerifier,
  type BearerSchemeVerifier,
  type Credentials,
  type SchemeKind,
  type SchemeVerifier,
  type TokenVerifier,
} from './schemes.js';
export { AuthFailure, authorize, checkRequirements, resolveSecurity, type AuthContext, type AuthFailureError, type AuthorizeOptions, type Requirement } from './enforce.js';
export { authRefusal, createAuthHook, installAuth, type AuthHookOptions, type InstallAuthOptions } from './fastify.js';
export {
  REFRESH_TOKENS_MIGRATION,
  USERS_MIGRATION,
  createAccounts,
  normalizeEmail,
  refreshTokensMigration,
  usersMigration,
  type AccountTables,
  type Accounts,
  type AccountsOptions,
  type TokenPair,
} from './accounts.js';
export { authConfigFromEnv, type AuthEnvConfig, type AuthFeature } from './env.js';
