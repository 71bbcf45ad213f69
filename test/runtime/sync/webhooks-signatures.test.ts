/**
 * Signature schemes of inbound webhooks, checked against signatures computed here with node:crypto (and
 * GitHub's published example), not with the module's own helpers.
 */
import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { githubScheme, githubSignatureHeader, stripeScheme, stripeSignatureHeader } from '../../../runtime/sync/index.js';

const hex = (secret: string, data: string | Buffer) => createHmac('sha256', secret).update(data).digest('hex');
const NOW = 1_767_000_000_000;
const T = NOW / 1000;
const body = Buffer.from('{"id":"evt_1","type":"customer.updated","data":{"object":{"id":"cus_1","name":"Zoë"}}}');

function stripeVerify(header: string | undefined, secrets: string[], opts: { body?: Buffer; now?: number; tolerance?: number } = {}) {
  const scheme = stripeScheme(opts.tolerance !== undefined ? { tolerance: opts.tolerance } : {});
  return scheme.verify({ body: opts.body ?? body, headers: header === undefined ? {} : { 'stripe-signature': header }, secrets, now: opts.now ?? NOW });
}

describe('Stripe-Signature', () => {
  const v1 = (secret: string, t = T, b: Buffer | string = body) => hex(secret, Buffer.concat([Buffer.from(`${t}.`), Buffer.from(b)]));

  it('accepts a v1 HMAC of "<t>.<raw body>" with the secret', () => {
    expect(stripeVerify(`t=${T},v1=${v1('whsec_a')}`, ['whsec_a'])).toEqual({ ok: true, secret: 0 });
    // Other schemes' entries (v0) and spaces around items are ignored.
    expect(stripeVerify(` t=${T}, v0=${'0'.repeat(64)}, v1=${v1('whsec_a')}`, ['whsec_a'])).toEqual({ ok: true, secret: 0 });
  });

  it('refuses a wrong secret, a tampered body and a signature moved to another timestamp (401)', () => {
    const good = `t=${T},v1=${v1('whsec_a')}`;
    expect(stripeVerify(good, ['whsec_b'])).toMatchObject({ ok: false, status: 401, reason: 'signature-mismatch' });
    const tampered = Buffer.from(body.toString().replace('Zoë', 'Zoe'));
    expect(stripeVerify(good, ['whsec_a'], { body: tampered })).toMatchObject({ ok: false, status: 401, reason: 'signature-mismatch' });
    // One byte more at the end (a trailing newline) is another body.
    expect(stripeVerify(good, ['whsec_a'], { body: Buffer.concat([body, Buffer.from('\n')]) })).toMatchObject({ ok: false, reason: 'signature-mismatch' });
    expect(stripeVerify(`t=${T - 1},v1=${v1('whsec_a')}`, ['whsec_a'])).toMatchObject({ ok: false, reason: 'signature-mismatch' });
  });

  it('refuses a timestamp outside the tolerance, either way, and says by how much', () => {
    const at = (t: number) => `t=${t},v1=${v1('whsec_a', t)}`;
    expect(stripeVerify(at(T - 300), ['whsec_a'])).toEqual({ ok: true, secret: 0 });
    const stale = stripeVerify(at(T - 301), ['whsec_a']);
    expect(stale).toMatchObject({ ok: false, status: 401, reason: 'stale-timestamp' });
    expect(stale.ok ? '' : stale.detail).toMatch(/301 s old; at most 300 s/);
    expect(stripeVerify(at(T + 301), ['whsec_a'])).toMatchObject({ ok: false, reason: 'stale-timestamp' });
    expect(stripeVerify(at(T - 3600), ['whsec_a'], { tolerance: 7200 })).toEqual({ ok: true, secret: 0 });
    // A stale timestamp with a wrong signature is reported as the signature.
    expect(stripeVerify(`t=${T - 9999},v1=${'a'.repeat(64)}`, ['whsec_a'])).toMatchObject({ reason: 'signature-mismatch' });
  });

  it('rotation: any of several v1 may match, and any of several secrets', () => {
    const both = `t=${T},v1=${v1('whsec_old')},v1=${v1('whsec_new')}`;
    expect(stripeVerify(both, ['whsec_new'])).toEqual({ ok: true, secret: 0 });
    expect(stripeVerify(both, ['whsec_old'])).toEqual({ ok: true, secret: 0 });
    expect(stripeVerify(`t=${T},v1=${v1('whsec_old')}`, ['whsec_new', 'whsec_old'])).toEqual({ ok: true, secret: 1 });
    expect(stripeVerify(`t=${T},v1=${v1('whsec_gone')}`, ['whsec_new', 'whsec_old'])).toMatchObject({ ok: false, status: 401 });
  });

  it('a missing or unreadable header is a 400 naming what is wrong', () => {
    expect(stripeVerify(undefined, ['s'])).toMatchObject({ ok: false, status: 400, reason: 'missing-signature', detail: 'the Stripe-Signature header is missing' });
    expect(stripeVerify(`v1=${v1('s')}`, ['s'])).toMatchObject({ status: 400, reason: 'malformed-signature', detail: expect.stringMatching(/no t= timestamp/) });
    expect(stripeVerify(`t=${T}`, ['s'])).toMatchObject({ status: 400, detail: expect.stringMatching(/no v1= signature/) });
    expect(stripeVerify(`t=${T},v1=abc`, ['s'])).toMatchObject({ status: 400, detail: expect.stringMatching(/no v1= signature/) });
    expect(stripeVerify(`t=soon,v1=${v1('s')}`, ['s'])).toMatchObject({ status: 400, detail: expect.stringMatching(/not a number/) });
    expect(stripeVerify(`t=${T},t=${T},v1=${v1('s')}`, ['s'])).toMatchObject({ status: 400, detail: expect.stringMatching(/more than one t=/) });
  });

  it('the header helper for senders matches what is verified', () => {
    expect(stripeSignatureHeader('whsec_a', body, T)).toBe(`t=${T},v1=${v1('whsec_a')}`);
  });
});

describe('X-Hub-Signature-256', () => {
  const verify = (header: string | string[] | undefined, secrets: string[], b: Buffer = body) =>
    githubScheme().verify({ body: b, headers: header === undefined ? {} : { 'x-hub-signature-256': header }, secrets, now: NOW });

  it("matches GitHub's published example", () => {
    const sig = 'sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17';
    expect(verify(sig, ["It's a Secret to Everybody"], Buffer.from('Hello, World!'))).toEqual({ ok: true, secret: 0 });
    expect(githubSignatureHeader("It's a Secret to Everybody", 'Hello, World!')).toBe(sig);
  });

  it('accepts the HMAC of the raw body; refuses a wrong secret or a tampered body (401)', () => {
    const sig = `sha256=${hex('gh-secret', body)}`;
    expect(verify(sig, ['gh-secret'])).toEqual({ ok: true, secret: 0 });
    expect(verify(sig.toUpperCase().replace('SHA256=', 'sha256='), ['gh-secret'])).toEqual({ ok: true, secret: 0 });
    expect(verify(sig, ['other'])).toMatchObject({ ok: false, status: 401, reason: 'signature-mismatch' });
    expect(verify(sig, ['gh-secret'], Buffer.from(body.toString().replace('evt_1', 'evt_2')))).toMatchObject({ ok: false, status: 401 });
  });

  it('rotation: either of two secrets', () => {
    expect(verify(`sha256=${hex('new', body)}`, ['old', 'new'])).toEqual({ ok: true, secret: 1 });
    expect(verify(`sha256=${hex('old', body)}`, ['old', 'new'])).toEqual({ ok: true, secret: 0 });
  });

  it('a missing or unreadable header is a 400 naming it', () => {
    expect(verify(undefined, ['s'])).toMatchObject({ status: 400, reason: 'missing-signature', detail: 'the X-Hub-Signature-256 header is missing' });
    expect(verify(`sha1=${hex('s', body).slice(0, 40)}`, ['s'])).toMatchObject({ status: 400, reason: 'malformed-signature' });
    expect(verify(`sha256=${hex('s', body).slice(1)}`, ['s'])).toMatchObject({ status: 400, reason: 'malformed-signature' });
    expect(verify([`sha256=${hex('s', body)}`, `sha256=${hex('s', body)}`], ['s'])).toMatchObject({ status: 400, detail: expect.stringMatching(/more than once/) });
  });
});
