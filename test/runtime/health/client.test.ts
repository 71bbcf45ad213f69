/**
 * The typed client's request building (path parameters encoded, query arrays repeated, JSON body, an
 * idempotency key), its answers (2xx body, non-2xx UpstreamHttpError, HEAD without a body), and
 * publishHealthChanges: state changes of a real upstream published in order, a failed publish reported
 * while the next still goes out, nothing after stop().
 */
import { afterEach, describe, expect, it } from 'vitest';
import { callUpstream, createUpstream, fillPath, publishHealthChanges, queryString, UpstreamHttpError, type HealthChange, type Upstream } from '../../../runtime/health/index.js';
import { startFake, until, type FakeUpstream } from './fake-upstream.js';

const fakes: FakeUpstream[] = [];
const upstreams: Upstream[] = [];
afterEach(async () => {
  await Promise.all(upstreams.splice(0).map((u) => u.close()));
  await Promise.all(fakes.splice(0).map((f) => f.close()));
});

describe('request building', () => {
  it.each<[string, Record<string, unknown>, string]>([
    ['/users/{id}', { id: 'a b/c?d' }, '/users/a%20b%2Fc%3Fd'],
    ['/a/{x}/b/{y}', { x: 1, y: false }, '/a/1/b/false'],
    ['/plain', {}, '/plain'],
  ])('fillPath(%j, %j) = %j', (template, values, want) => {
    expect(fillPath(template, values)).toBe(want);
  });

  it('a missing path parameter is a TypeError naming it', () => {
    expect(() => fillPath('/users/{id}', {})).toThrow(/path parameter "id" of \/users\/\{id\} is missing/);
  });

  it.each<[Record<string, unknown>, string]>([
    [{}, ''],
    [{ limit: 2, skip: undefined }, '?limit=2'],
    [{ tag: ['a', 'b&c'], q: 'x y' }, '?tag=a&tag=b%26c&q=x+y'],
    [{ filter: { a: 1 } }, '?filter=%7B%22a%22%3A1%7D'],
  ])('queryString(%j) = %j', (query, want) => {
    expect(queryString(query)).toBe(want);
  });
});

describe('callUpstream', () => {
  async function setup(reply: Parameters<typeof startFake>[0]) {
    const fake = await startFake(reply);
    fakes.push(fake);
    const upstream = createUpstream({ name: 'users', urls: [fake.url], logger: false });
    upstreams.push(upstream);
    return { fake, upstream };
  }

  it('sends the path, query, JSON body and idempotency key; resolves with the JSON answer', async () => {
    const { fake, upstream } = await setup(() => ({ status: 201, headers: { 'content-type': 'application/json' }, body: '{"id":"u1"}' }));
    const data = await callUpstream(upstream, 'post', '/users/{id}', { path: { id: 'x y' }, query: { n: [1, 2] }, body: { name: 'Ada' }, idempotencyKey: 'k1' });
    expect(data).toEqual({ id: 'u1' });
    const arrival = fake.arrivals[0]!;
    expect(arrival).toMatchObject({ method: 'POST', path: '/users/x%20y?n=1&n=2' });
    expect(arrival.headers).toMatchObject({ 'content-type': 'application/json', 'idempotency-key': 'k1', accept: 'application/json' });
  });

  it('a non-2xx answer rejects with UpstreamHttpError: status, parsed body, where', async () => {
    const { upstream } = await setup(() => ({ status: 404, headers: { 'content-type': 'application/problem+json' }, body: '{"title":"Not Found"}' }));
    const err = await callUpstream(upstream, 'get', '/users/{id}', { path: { id: '1' } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UpstreamHttpError);
    expect(err).toMatchObject({ upstream: 'users', method: 'GET', path: '/users/1', status: 404, body: { title: 'Not Found' } });
  });

  it('a text answer is its text; an empty one and a HEAD are undefined', async () => {
    const { upstream } = await setup((req) => (req.url === '/empty' ? { status: 204, body: '' } : { status: 200, body: 'plain' }));
    expect(await callUpstream(upstream, 'get', '/text')).toBe('plain');
    expect(await callUpstream(upstream, 'get', '/empty')).toBeUndefined();
    expect(await callUpstream(upstream, 'head', '/text')).toBeUndefined();
  });
});

describe('publishHealthChanges', () => {
  it('publishes ejected and restored in order, reports a failed publish and goes on, stops on stop()', async () => {
    let up = true;
    const fake = await startFake((req) => ({ status: req.url === '/ready' && !up ? 503 : 200 }));
    fakes.push(fake);
    const upstream = createUpstream({ name: 'users', urls: [fake.url], logger: false, probe: { path: '/ready', intervalMs: 30, unhealthyThreshold: 1, healthyThreshold: 1 } });
    upstreams.push(upstream);
    const published: Array<{ topic: string; change: HealthChange }> = [];
    const failed: string[] = [];
    let calls = 0;
    const stop = publishHealthChanges(
      upstream,
      async (topic, change) => {
        // The first publish fails (a hub not started yet, say).
        if (calls++ === 0) throw new Error('not started');
        await new Promise((r) => setTimeout(r, 5));
        published.push({ topic, change });
      },
      { topic: 'health.test', onError: (_, change) => failed.push(change.type) },
    );
    await upstream.start();
    await until(() => upstream.state().urls[0]!.probe === 'healthy', 5_000, 'a passing probe');
    for (const state of [false, true, false, true]) {
      up = state;
      await until(() => upstream.state().urls[0]!.probe === (state ? 'healthy' : 'unhealthy'), 5_000, `probe ${state}`);
    }
    await until(() => calls >= 4, 5_000, 'four changes');
    await new Promise((r) => setTimeout(r, 50));
    expect(failed).toEqual(['upstream.ejected']);
    const types = published.filter((p) => p.change.type !== 'upstream.panic').map((p) => p.change.type);
    expect(types).toEqual(['upstream.restored', 'upstream.ejected', 'upstream.restored']);
    expect(published.every((p) => p.topic === 'health.test' && p.change.data.upstream === 'users')).toBe(true);
    stop();
    const before = calls;
    up = false;
    await until(() => upstream.state().urls[0]!.probe === 'unhealthy', 5_000, 'probe down');
    await new Promise((r) => setTimeout(r, 50));
    expect(calls).toBe(before);
  }, 30_000);
});
