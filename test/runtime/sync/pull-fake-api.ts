/**
 * A fake external API for the pull tests, the chaos script and the benchmark: four lists, each paginated in
 * another style, over data that changes while it is read.
 *
 *   /v1/customers  Stripe: limit + starting_after, has_more; newest id first; hard deletes
 *   /products      page + per_page with a `Link: <…>; rel="next"` header; ascending id; hard deletes
 *   /orders        updated_since + an opaque cursor in a `next` link of the body; (updated_at, id) order; tombstones
 *   /tickets       updated_since + after_id keyset, inclusive (the boundary record comes again); tombstones;
 *                  values shared by more records than a page
 *
 * Faults (seeded): a share of requests get 429 with `Retry-After` as seconds (0 included) or as an HTTP date
 * (past dates included), another share 500. Every request and every pause handed out is recorded with the
 * caller's `x-instance` header, for the check that nobody came back before a pause expired.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeRecord {
  id: string;
  name: string;
  amount: number;
  updated_at: string;
  deleted?: boolean;
}

export type ResourceName = 'customers' | 'products' | 'orders' | 'tickets';
export const RESOURCES: readonly ResourceName[] = ['customers', 'products', 'orders', 'tickets'];

export interface FakeApiOptions {
  /** Records per resource at the start. */
  counts: Record<ResourceName, number>;
  seed: number;
  /** Share of requests answered 429 / 500 (default 0). */
  rate429?: number;
  rate500?: number;
  /** Records of /tickets created with one shared updated_at (default 250). */
  tieGroup?: number;
  /** Reject page sizes above this (default 1000). */
  maxPage?: number;
}

export interface Arrival {
  instance: string;
  at: number;
  path: string;
}

export interface IssuedPause {
  instance: string;
  issuedAt: number;
  /** The advertised end: no request of anyone should arrive before it. */
  notBefore: number;
  form: 'seconds' | 'date';
}

export interface FakeApi {
  url: string;
  arrivals: Arrival[];
  pauses: IssuedPause[];
  counts: { requests: number; r429: number; r500: number; pages: number };
  /** Live (not deleted) records of a resource, by id. */
  live(resource: ResourceName): Map<string, FakeRecord>;
  /** One step of changes: updates (a tie group on /tickets now and then), inserts and deletes. */
  mutate(): void;
  /** Deletes one live record (a tombstone on /orders and /tickets); returns its id. */
  deleteOne(resource: ResourceName): string;
  setFaults(rate429: number, rate500: number): void;
  close(): Promise<void>;
}

/** mulberry32: a small seeded generator. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const EPOCH = Date.parse('2026-01-01T00:00:00.000Z');

function encode(values: unknown): string {
  return Buffer.from(JSON.stringify(values)).toString('base64url');
}
function decode(text: string): unknown {
  return JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
}

function byId(a: FakeRecord, b: FakeRecord): number {
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}
function byIdDesc(a: FakeRecord, b: FakeRecord): number {
  return -byId(a, b);
}

/** (updated_at, id) order. */
function byUpdated(a: FakeRecord, b: FakeRecord): number {
  return a.updated_at < b.updated_at ? -1 : a.updated_at > b.updated_at ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

export async function startFakeApi(options: FakeApiOptions): Promise<FakeApi> {
  const rnd = seeded(options.seed);
  const tieGroup = options.tieGroup ?? 250;
  const maxPage = options.maxPage ?? 1000;
  let rate429 = options.rate429 ?? 0;
  let rate500 = options.rate500 ?? 0;
  let tick = 0;
  // One second per change: an overlap of a few milliseconds re-reads only the latest change.
  const stamp = () => new Date(EPOCH + tick * 1000).toISOString();
  const store = new Map<ResourceName, Map<string, FakeRecord>>();
  const nextId = new Map<ResourceName, number>();
  const prefix: Record<ResourceName, string> = { customers: 'cus_', products: 'prod_', orders: 'ord_', tickets: 'tkt_' };
  const newId = (r: ResourceName) => {
    const n = (nextId.get(r) ?? 0) + 1;
    nextId.set(r, n);
    return `${prefix[r]}${String(n).padStart(7, '0')}`;
  };
  const make = (r: ResourceName): FakeRecord => ({ id: newId(r), name: `n${Math.floor(rnd() * 1e9).toString(36)}`, amount: Math.floor(rnd() * 100_000), updated_at: stamp() });

  for (const r of RESOURCES) {
    const m = new Map<string, FakeRecord>();
    store.set(r, m);
    for (let i = 0; i < options.counts[r]; i++) {
      // Ties: /tickets and /orders share one updated_at per group; the others move on every 10 records.
      if (r === 'tickets' || r === 'orders' ? i % tieGroup === 0 : i % 10 === 0) tick++;
      const rec = make(r);
      m.set(rec.id, rec);
    }
  }

  const arrivals: Arrival[] = [];
  const pauses: IssuedPause[] = [];
  const counts = { requests: 0, r429: 0, r500: 0, pages: 0 };
  const live = (r: ResourceName) => new Map([...store.get(r)!].filter(([, v]) => !v.deleted));
  // Sorted lists are kept until the next change: the benchmark reads large lists page by page.
  let version = 0;
  const cache = new Map<string, { version: number; list: FakeRecord[] }>();
  const sorted = (r: ResourceName, cmp: (a: FakeRecord, b: FakeRecord) => number, withDeleted: boolean) => {
    const key = `${r}:${cmp.name}:${withDeleted}`;
    const hit = cache.get(key);
    if (hit?.version === version) return hit.list;
    const list = [...store.get(r)!.values()].filter((v) => withDeleted || !v.deleted).sort(cmp);
    cache.set(key, { version, list });
    return list;
  };

  function mutate(): void {
    version++;
    tick++;
    for (const r of RESOURCES) {
      const m = store.get(r)!;
      const ids = [...m.keys()];
      const pick = () => m.get(ids[Math.floor(rnd() * ids.length)]!)!;
      const updates = r === 'tickets' && rnd() < 0.15 ? tieGroup - 50 : 1 + Math.floor(rnd() * 4);
      for (let i = 0; i < updates; i++) {
        const rec = pick();
        if (rec.deleted) continue;
        rec.amount = Math.floor(rnd() * 100_000);
        rec.name = `u${Math.floor(rnd() * 1e9).toString(36)}`;
        rec.updated_at = stamp();
      }
      if (rnd() < 0.6) {
        const rec = make(r);
        m.set(rec.id, rec);
      }
      if (rnd() < 0.5) {
        const rec = pick();
        if (r === 'orders' || r === 'tickets') {
          if (!rec.deleted) {
            rec.deleted = true;
            rec.updated_at = stamp();
          }
        } else {
          m.delete(rec.id);
        }
      }
    }
  }

  function fault(instance: string, res: http.ServerResponse, now: number): boolean {
    const x = rnd();
    if (x < rate429) {
      counts.r429++;
      const kind = rnd();
      let header: string;
      let notBefore: number;
      let form: IssuedPause['form'];
      if (kind < 0.5) {
        const s = rnd() < 0.3 ? 0 : 1 + Math.floor(rnd() * 2);
        header = String(s);
        notBefore = now + s * 1000;
        form = 'seconds';
      } else {
        // A date, whole seconds: sometimes already past.
        const target = rnd() < 0.25 ? now - 2000 : now + 300 + rnd() * 1500;
        notBefore = Math.ceil(target / 1000) * 1000;
        header = new Date(notBefore).toUTCString();
        form = 'date';
      }
      pauses.push({ instance, issuedAt: now, notBefore, form });
      res.writeHead(429, { 'content-type': 'application/json', 'retry-after': header });
      res.end('{"error":"rate limited"}');
      return true;
    }
    if (x < rate429 + rate500) {
      counts.r500++;
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end('{"error":"internal"}');
      return true;
    }
    return false;
  }

  const limitOf = (v: string | null, fallback: number) => Math.min(maxPage, Math.max(1, Number(v ?? fallback) || fallback));

  const server = http.createServer((req, res) => {
    const now = Date.now();
    const instance = String(req.headers['x-instance'] ?? '');
    counts.requests++;
    arrivals.push({ instance, at: now, path: req.url ?? '' });
    req.resume();
    if (fault(instance, res, now)) return;
    const url = new URL(req.url ?? '/', 'http://fake');
    const origin = `http://${req.headers.host}`;
    const send = (body: unknown, headers: Record<string, string> = {}) => {
      counts.pages++;
      res.writeHead(200, { 'content-type': 'application/json', ...headers });
      res.end(JSON.stringify(body));
    };
    const q = url.searchParams;
    switch (url.pathname) {
      case '/v1/customers': {
        const limit = limitOf(q.get('limit'), 10);
        const after = q.get('starting_after');
        const all = sorted('customers', byIdDesc, false);
        const from = after ? all.findIndex((r) => r.id < after) : 0;
        const rest = from < 0 ? [] : all.slice(from);
        return send({ object: 'list', url: '/v1/customers', has_more: rest.length > limit, data: rest.slice(0, limit) });
      }
      case '/products': {
        const per = limitOf(q.get('per_page'), 30);
        const page = Math.max(1, Number(q.get('page') ?? 1) || 1);
        const all = sorted('products', byId, false);
        const data = all.slice((page - 1) * per, page * per);
        const headers: Record<string, string> = {};
        if (page * per < all.length) headers.link = `<${origin}/products?page=${page + 1}&per_page=${per}>; rel="next", <${origin}/products?page=1&per_page=${per}>; rel="first"`;
        return send(data, headers);
      }
      case '/orders': {
        const limit = limitOf(q.get('limit'), 100);
        const cursor = q.get('cursor');
        let since = q.get('updated_since');
        let after: [string, string] | undefined;
        if (cursor) {
          const c = decode(cursor) as { s: string | null; a: [string, string] };
          since = c.s;
          after = c.a;
        }
        const all = sorted('orders', byUpdated, true).filter((r) => (since ? r.updated_at >= since : true) && (!after || r.updated_at > after[0] || (r.updated_at === after[0] && r.id > after[1])));
        const data = all.slice(0, limit);
        const last = data.at(-1);
        const next = all.length > limit && last ? `${origin}/orders?limit=${limit}&cursor=${encode({ s: since, a: [last.updated_at, last.id] })}` : null;
        return send({ data, next });
      }
      case '/tickets': {
        const limit = limitOf(q.get('limit'), 100);
        const since = q.get('updated_since');
        const afterId = q.get('after_id');
        const all = sorted('tickets', byUpdated, true).filter((r) => !since || r.updated_at > since || (r.updated_at === since && (!afterId || r.id >= afterId)));
        return send({ data: all.slice(0, limit) });
      }
      default:
        res.writeHead(404, { 'content-type': 'application/json' });
        res.end('{"error":"not found"}');
    }
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    arrivals,
    pauses,
    counts,
    live,
    mutate,
    deleteOne(r) {
      version++;
      tick++;
      const rec = [...store.get(r)!.values()].find((v) => !v.deleted)!;
      if (r === 'orders' || r === 'tickets') {
        rec.deleted = true;
        rec.updated_at = stamp();
      } else store.get(r)!.delete(rec.id);
      return rec.id;
    },
    setFaults(a, b) {
      rate429 = a;
      rate500 = b;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Requests that came before a pause expired: by the instance it was handed to, and by others (unless `lost`). */
export function earlyRequests(api: Pick<FakeApi, 'arrivals' | 'pauses'>, lost: ReadonlySet<IssuedPause> = new Set()): { own: number; others: number; examples: string[] } {
  let own = 0;
  let others = 0;
  const examples: string[] = [];
  const pauses = [...api.pauses].sort((a, b) => a.issuedAt - b.issuedAt);
  for (const r of api.arrivals) {
    for (const p of pauses) {
      if (p.issuedAt >= r.at) break;
      if (r.at >= p.notBefore) continue;
      if (p.instance === r.instance) own++;
      else if (!lost.has(p)) others++;
      else continue;
      if (examples.length < 5) examples.push(`${r.instance} at ${r.at} < ${p.notBefore} (${p.form}, issued ${p.issuedAt} to ${p.instance})`);
      break;
    }
  }
  return { own, others, examples };
}
