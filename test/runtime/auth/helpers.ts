/** Shared helpers of the runtime/auth tests: a database per file, real servers on loopback, keys and tokens. */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { exportJWK, generateKeyPair, SignJWT, type JWK, type JWTPayload, type CryptoKey } from 'jose';
import { sql, type Kysely } from 'kysely';
import { expect } from 'vitest';
import { createDatabase } from '../../../runtime/db/index.js';
import { classifyError, PROBLEM_CONTENT_TYPE, problemDetails } from '../../../runtime/http/index.js';

export const DATABASE_URL = process.env.DATABASE_URL;
export const DB_LABEL = DATABASE_URL ? 'PostgreSQL' : 'PGlite';

/**
 * One database for a test file: the server named by DATABASE_URL (a connection failure fails the tests),
 * else an in-memory PGlite. The tables named are dropped first, so a rerun starts clean.
 */
export async function openDatabase(tables: string[]): Promise<Kysely<any>> {
  const db = createDatabase<any>(DATABASE_URL ? { url: DATABASE_URL } : { url: null, dataDir: 'memory://' });
  await sql`select 1`.execute(db);
  await dropTables(db, tables);
  return db;
}

export async function dropTables(db: Kysely<any>, tables: string[]): Promise<void> {
  for (const table of tables) await sql`drop table if exists ${sql.table(table)} cascade`.execute(db);
}

/** Starts `app` on 127.0.0.1 on a free port; returns its base URL. */
export async function listen(app: FastifyInstance): Promise<string> {
  await app.listen({ host: '127.0.0.1', port: 0 });
  return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
}

export interface SigningKey {
  kid: string;
  alg: string;
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  publicJwk: JWK;
}

export async function signingKey(alg: 'RS256' | 'ES256' | 'RS512', kid: string): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  return { kid, alg, privateKey, publicKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
}

export interface TokenSpec {
  key: SigningKey | { secret: Uint8Array | string; alg?: string };
  claims?: JWTPayload;
  header?: Record<string, unknown>;
  /** Seconds from now; null: no exp claim. Default 300. */
  expiresIn?: number | null;
  issuer?: string;
  audience?: string | string[];
  subject?: string | null;
}

/** Signs a JWT; `issuer`/`audience`/`subject` are required by the tests' verifiers, so they default to those. */
export async function sign(spec: TokenSpec, defaults: { issuer: string; audience: string }): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const builder = new SignJWT({ ...spec.claims });
  const isSecret = 'secret' in spec.key;
  const alg = isSecret ? ((spec.key as { alg?: string }).alg ?? 'HS256') : (spec.key as SigningKey).alg;
  builder.setProtectedHeader({ alg, ...(isSecret ? {} : { kid: (spec.key as SigningKey).kid }), ...spec.header } as { alg: string });
  builder.setIssuer(spec.issuer ?? defaults.issuer).setAudience(spec.audience ?? defaults.audience).setIssuedAt(now);
  if (spec.subject !== null) builder.setSubject(spec.subject ?? 'user-1');
  if (spec.expiresIn !== null) builder.setExpirationTime(now + (spec.expiresIn ?? 300));
  const key = isSecret ? (spec.key as { secret: Uint8Array | string }).secret : (spec.key as SigningKey).privateKey;
  return builder.sign(typeof key === 'string' ? new TextEncoder().encode(key) : key);
}

export const b64url = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

/** A token with `alg: none` and no signature. */
export function unsignedToken(payload: JWTPayload): string {
  return `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url(payload)}.`;
}

/** The token with its payload replaced (header and signature kept). */
export function tamper(token: string, change: (payload: Record<string, unknown>) => Record<string, unknown>): string {
  const [header, payload, signature] = token.split('.') as [string, string, string];
  return `${header}.${b64url(change(JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>))}.${signature}`;
}

/** An OpenID provider on loopback: a discovery document and a JWKS whose keys the test swaps, with request counts. */
export interface KeyServer {
  issuer: string;
  jwksUrl: string;
  counts: { discovery: number; jwks: number };
  setKeys(keys: JWK[]): void;
  /** Make discovery name another issuer (an impostor document). */
  setAdvertisedIssuer(issuer: string): void;
  close(): Promise<void>;
}

export async function startKeyServer(initial: JWK[]): Promise<KeyServer> {
  let keys = initial;
  let advertised: string | undefined;
  const counts = { discovery: 0, jwks: 0 };
  const server = http.createServer((req, res) => {
    if (req.url === '/.well-known/openid-configuration') {
      counts.discovery++;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ issuer: advertised ?? base, jwks_uri: `${base}/jwks.json`, id_token_signing_alg_values_supported: ['RS256'] }));
    } else if (req.url === '/jwks.json') {
      counts.jwks++;
      res.writeHead(200, { 'content-type': 'application/jwk-set+json' });
      res.end(JSON.stringify({ keys }));
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    issuer: base,
    jwksUrl: `${base}/jwks.json`,
    counts,
    setKeys: (next) => void (keys = next),
    setAdvertisedIssuer: (issuer) => void (advertised = issuer),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/**
 * The error handling of a generated server, reduced to what auth refusals need: every thrown error
 * classified by backdev/runtime/http, its headers sent, the body an RFC 9457 problem.
 */
export function installProblemHandler(app: FastifyInstance): void {
  app.setErrorHandler((error, request, reply) => {
    const c = classifyError(error);
    if (c.headers) reply.headers(c.headers);
    return reply
      .code(c.status)
      .type(PROBLEM_CONTENT_TYPE)
      .send(problemDetails(c.status, c.detail, c.errors, `urn:request:${request.id}`));
  });
}

const PROBLEM_KEYS = new Set(['type', 'title', 'status', 'detail', 'instance', 'errors']);
const TITLES: Record<number, string> = { 401: 'Unauthorized', 403: 'Forbidden', 429: 'Too Many Requests', 503: 'Service Unavailable' };

/** Asserts an RFC 9457 problem answer with `status`; returns its body. */
export async function expectProblem(res: Response, status: number): Promise<Record<string, unknown>> {
  expect(res.status).toBe(status);
  expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  const body = JSON.parse(await res.clone().text()) as Record<string, unknown>;
  expect(Object.keys(body).filter((k) => !PROBLEM_KEYS.has(k))).toEqual([]);
  expect(body).toMatchObject({ type: 'about:blank', title: TITLES[status] ?? expect.any(String), status, detail: expect.any(String) });
  expect(body.instance).toMatch(/^urn:request:/);
  return body;
}
