/**
 * Signature schemes of inbound webhooks. Each checks an HMAC-SHA256 over the RAW body bytes as received
 * (a body parsed and serialised again is not the body that was signed), against every secret given (so a
 * secret can be rotated: accept the old and the new one until the sender uses only the new one), comparing
 * digests in constant time.
 *
 * - `stripeScheme()`: `Stripe-Signature: t=<unix seconds>,v1=<hex>[,v1=<hex>…]`, each `v1` an HMAC-SHA256 of
 *   `<t>.<raw body>` with the endpoint's signing secret; several `v1` may be present (one per active
 *   secret) and any may match. `t` must lie within `tolerance` seconds of now (default 300), so a captured
 *   delivery cannot be replayed later. The event id is the body's `id`.
 * - `githubScheme()`: `X-Hub-Signature-256: sha256=<hex>`, an HMAC-SHA256 of the raw body with the webhook's
 *   secret. There is no timestamp to check; the event id is the `X-GitHub-Delivery` header, which stays the
 *   same when a delivery is redelivered.
 *
 * A scheme of your own implements `WebhookScheme` (a header to check and where the event id is).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

/** Request headers as Node (and Fastify) give them: lower-case names. A `Headers` object works too. */
export type WebhookHeaders = Record<string, string | string[] | undefined> | Headers;

export type VerifyFailureReason = 'missing-signature' | 'malformed-signature' | 'signature-mismatch' | 'stale-timestamp';

export type VerifyResult =
  | { ok: true; /** Which of the secrets matched (0: the first). */ secret: number }
  | {
      ok: false;
      /** 400 for a missing or unreadable header, 401 when the signature does not hold. */
      status: 400 | 401;
      reason: VerifyFailureReason;
      /** What is wrong, safe to send back (names the header; never a secret or an expected digest). */
      detail: string;
    };

export interface VerifyInput {
  body: Uint8Array;
  headers: WebhookHeaders;
  secrets: readonly string[];
  /** Now, in milliseconds since the epoch. */
  now: number;
}

/** Where a verified delivery's id and type are. `payload` is the parsed body. */
export type EventIdentity = { id: string; type?: string | undefined } | { error: string };

export interface WebhookScheme {
  /** Names the scheme in logs and is the default de-duplication `source`. */
  readonly name: string;
  /** The header carrying the signature, as it is written in problems and challenges. */
  readonly header: string;
  verify(input: VerifyInput): VerifyResult;
  identify(input: { headers: WebhookHeaders; payload: unknown }): EventIdentity;
}

/** A header's single value (case-insensitive name); an array when it was sent more than once. */
export function headerValue(headers: WebhookHeaders, name: string): string | string[] | undefined {
  if (typeof (headers as Headers).get === 'function' && typeof (headers as Headers).has === 'function') {
    return (headers as Headers).get(name) ?? undefined;
  }
  const record = headers as Record<string, string | string[] | undefined>;
  const lower = name.toLowerCase();
  if (Object.prototype.hasOwnProperty.call(record, lower)) return record[lower];
  for (const key of Object.keys(record)) if (key.toLowerCase() === lower) return record[key];
  return undefined;
}

const HEX_SHA256 = /^[0-9a-fA-F]{64}$/;

function hmac(secret: string, ...parts: (string | Uint8Array)[]): Buffer {
  const h = createHmac('sha256', secret);
  for (const p of parts) h.update(p);
  return h.digest();
}

/**
 * True when one of `candidates` (hex digests) equals the HMAC of `parts` under one of `secrets`; returns the
 * index of the secret that matched, or -1. Every pair is compared, each in constant time.
 */
function matchingSecret(secrets: readonly string[], candidates: readonly string[], parts: (string | Uint8Array)[]): number {
  const given = candidates.filter((c) => HEX_SHA256.test(c)).map((c) => Buffer.from(c, 'hex'));
  let found = -1;
  secrets.forEach((secret, i) => {
    const expected = hmac(secret, ...parts);
    for (const g of given) if (timingSafeEqual(expected, g) && found < 0) found = i;
  });
  return found;
}

const missing = (header: string): VerifyResult => ({ ok: false, status: 400, reason: 'missing-signature', detail: `the ${header} header is missing` });
const malformed = (header: string, why: string): VerifyResult => ({ ok: false, status: 400, reason: 'malformed-signature', detail: `the ${header} header ${why}` });

export interface StripeSchemeOptions {
  /** Seconds a signature's `t` may differ from now (either way); default 300. `Infinity`: not checked. */
  tolerance?: number;
}

export function stripeScheme(options: StripeSchemeOptions = {}): WebhookScheme {
  const tolerance = options.tolerance ?? 300;
  if (!(tolerance >= 0)) throw new TypeError(`stripeScheme: tolerance must be a number of seconds ≥ 0, got ${String(options.tolerance)}`);
  const header = 'Stripe-Signature';
  return {
    name: 'stripe',
    header,
    verify({ body, headers, secrets, now }) {
      const value = headerValue(headers, header);
      if (value === undefined || value === '') return missing(header);
      if (Array.isArray(value)) return malformed(header, 'is sent more than once');
      let t: string | undefined;
      const v1: string[] = [];
      for (const item of value.split(',')) {
        const eq = item.indexOf('=');
        if (eq < 0) continue;
        const key = item.slice(0, eq).trim();
        const val = item.slice(eq + 1).trim();
        if (key === 't') {
          if (t !== undefined) return malformed(header, 'has more than one t= timestamp');
          t = val;
        } else if (key === 'v1') v1.push(val);
      }
      if (t === undefined) return malformed(header, 'has no t= timestamp');
      if (!/^\d{1,15}$/.test(t)) return malformed(header, 'has a t= timestamp that is not a number of seconds');
      if (!v1.some((s) => HEX_SHA256.test(s))) return malformed(header, 'has no v1= signature (64 hex digits)');
      const secret = matchingSecret(secrets, v1, [t, '.', body]);
      if (secret < 0) return { ok: false, status: 401, reason: 'signature-mismatch', detail: `no v1 signature of the ${header} header matches the body with the endpoint's secret` };
      const age = Math.round(now / 1000 - Number(t));
      if (Math.abs(age) > tolerance) {
        const when = age > 0 ? `${age} s old` : `${-age} s in the future`;
        return { ok: false, status: 401, reason: 'stale-timestamp', detail: `the ${header} timestamp is ${when}; at most ${tolerance} s is accepted` };
      }
      return { ok: true, secret };
    },
    identify({ payload }) {
      const id = (payload as { id?: unknown } | null)?.id;
      if (typeof id !== 'string' || id === '') return { error: 'the event has no id (a string "id" in the body)' };
      const type = (payload as { type?: unknown }).type;
      return { id, type: typeof type === 'string' ? type : undefined };
    },
  };
}

export function githubScheme(): WebhookScheme {
  const header = 'X-Hub-Signature-256';
  return {
    name: 'github',
    header,
    verify({ body, headers, secrets }) {
      const value = headerValue(headers, header);
      if (value === undefined || value === '') return missing(header);
      if (Array.isArray(value)) return malformed(header, 'is sent more than once');
      const m = /^sha256=([0-9a-fA-F]{64})$/.exec(value.trim());
      if (!m) return malformed(header, 'is not sha256=<64 hex digits>');
      const secret = matchingSecret(secrets, [m[1]!], [body]);
      if (secret < 0) return { ok: false, status: 401, reason: 'signature-mismatch', detail: `the ${header} signature does not match the body with the webhook's secret` };
      return { ok: true, secret };
    },
    identify({ headers }) {
      const id = headerValue(headers, 'X-GitHub-Delivery');
      if (typeof id !== 'string' || id === '') return { error: 'the X-GitHub-Delivery header (the delivery id) is missing' };
      const type = headerValue(headers, 'X-GitHub-Event');
      return { id, type: typeof type === 'string' ? type : undefined };
    },
  };
}

/**
 * Signature header values, for tests and for senders of your own: `stripeSignatureHeader(secret, body,
 * unixSeconds)` gives `t=…,v1=…`; `githubSignatureHeader(secret, body)` gives `sha256=…`.
 */
export function stripeSignatureHeader(secret: string, body: string | Uint8Array, timestamp: number): string {
  return `t=${timestamp},v1=${hmac(secret, String(timestamp), '.', body).toString('hex')}`;
}

export function githubSignatureHeader(secret: string, body: string | Uint8Array): string {
  return `sha256=${hmac(secret, body).toString('hex')}`;
}
