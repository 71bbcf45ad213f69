/**
 * No 5xx from a client's input on generated CRUD code: a project with two `--endpoint` resources (reviews
 * refer to products) gets the inputs a fuzzer found answering 500 — a cursor whose key is not a uuid, a
 * cursor date out of PostgreSQL's range, a NUL byte in text, a reference to a row that does not exist, a
 * 2.7 kB value in a unique text column, a year-0000 date — and must answer each with a 4xx problem that
 * says nothing of the database. The generated repositories are also called directly with the same values,
 * past the HTTP validation, and must throw DataErrors naming the property. On PGlite and on a throwaway
 * database of the PostgreSQL server (DATABASE_URL, else the local one; a server that is down fails).
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { FastifyInstance, InjectOptions } from 'fastify';
import type { Kysely } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { migrateToLatest } from '../../runtime/db/index.js';
import { backdevInProcess, cleanup, linkBackdev, tempDir } from '../helpers.js';

const dir = tempDir('crud-faults');
const base = process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test';
const pgName = `backdev_faults_${process.pid}_${Date.now()}`;
let admin: pg.Client;

beforeAll(async () => {
  const init = await backdevInProcess(['init', dir]);
  expect(init.code, init.stderr).toBe(0);
  linkBackdev(dir);
  for (const [endpoint, fields] of [
    ['products', 'name:string:unique price:number stock:integer? category:enum(a|b) released:date?'],
    ['reviews', 'product:ref(Product) rating:integer body:text?'],
  ]) {
    const add = await backdevInProcess(['create-api', '--endpoint', endpoint!, '--fields', fields!], dir);
    expect(add.code, add.stderr).toBe(0);
  }
  // A field added to the existing resource: a second migration adds its column.
  const evolve = await backdevInProcess(['create-api', '--endpoint', 'products', '--fields', 'color:enum(red|blue)?'], dir);
  expect(evolve.code, evolve.stderr).toBe(0);
  expect(evolve.stdout).toContain('db/migrations/0003_add_products_color.ts');
  admin = new pg.Client({ connectionString: base });
  await admin.connect();
  await admin.query(`create database ${pgName}`);
});
afterAll(async () => {
  // The project's pool has ended its clients; give their sockets a moment to close, so that `with (force)`
  // does not terminate one still closing (an error then reaches no listener on a loaded machine).
  await new Promise((r) => setTimeout(r, 500));
  await admin?.query(`drop database if exists ${pgName} with (force)`);
  await admin?.end();
  cleanup(dir);
});

const MISSING = '00000000-0000-4000-8000-00000000dead';
/** Database text that must never reach a client. */
const LEAKS = ['violates', 'Key (', 'duplicate key', 'invalid input syntax', 'out of range:', 'byte sequence', 'index row', '_fkey', '_key', 'relation ', 'table "', MISSING, 'not-a-uuid'];
const cursorOf = (values: unknown[]) => Buffer.from(JSON.stringify(values)).toString('base64url');

interface Project {
  app: FastifyInstance;
  db: Kysely<any>;
  products: Record<string, (...args: any[]) => Promise<unknown>>;
  reviews: Record<string, (...args: any[]) => Promise<unknown>>;
}

/** The project's app, database and repositories, loaded afresh for one database. */
async function load(env: { DATABASE_URL: string; DATA_DIR: string }): Promise<Project> {
  Object.assign(process.env, env);
  vi.resetModules();
  const url = (p: string) => pathToFileURL(path.join(dir, p)).href;
  const { db } = (await import(url('src/db.ts'))) as { db: Kysely<any> };
  await migrateToLatest(db, path.join(dir, 'db/migrations'));
  const { buildApp } = (await import(url('src/app.ts'))) as { buildApp: (o: object) => Promise<FastifyInstance> };
  const { productRepository } = (await import(url('db/repositories/product.ts'))) as Record<string, (db: Kysely<any>) => Project['products']>;
  const { reviewRepository } = (await import(url('db/repositories/review.ts'))) as Record<string, (db: Kysely<any>) => Project['reviews']>;
  const app = await buildApp({ logger: false, auth: false, docs: false });
  return { app, db, products: productRepository!(db), reviews: reviewRepository!(db) };
}

const databases: [string, () => { DATABASE_URL: string; DATA_DIR: string }][] = [
  ['PGlite', () => ({ DATABASE_URL: '', DATA_DIR: 'memory://' })],
  [
    'PostgreSQL',
    () => {
      const url = new URL(base);
      url.pathname = `/${pgName}`;
      return { DATABASE_URL: url.href, DATA_DIR: 'memory://' };
    },
  ],
];

describe.each(databases)('client faults on a generated CRUD project, on %s', (_name, env) => {
  let p: Project;
  let productId: string;
  let reviewId: string;
  const saved = { DATABASE_URL: process.env.DATABASE_URL, DATA_DIR: process.env.DATA_DIR };

  beforeAll(async () => {
    p = await load(env());
    const product = await p.app.inject({ method: 'POST', url: '/products', payload: { name: 'lamp', price: 12.5, category: 'a' } });
    expect(product.statusCode, product.body).toBe(201);
    productId = product.json().id;
    const review = await p.app.inject({ method: 'POST', url: '/reviews', payload: { product: productId, rating: 5 } });
    expect(review.statusCode, review.body).toBe(201);
    reviewId = review.json().id;
  });
  afterAll(async () => {
    await p?.app.close();
    await p?.db.destroy();
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });

  /** Sends the request; expects `status` as a problem that leaks nothing, with an error at `pointer` if given. */
  async function expectProblem(request: InjectOptions, status: number, pointer?: string) {
    const res = await p.app.inject(request);
    expect(res.statusCode, res.body).toBe(status);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    const body = res.json() as { status: number; title: string; errors?: { pointer: string }[] };
    expect(body).toMatchObject({ status, title: expect.any(String) });
    for (const leak of LEAKS) expect(res.body, `leaks ${leak}`).not.toContain(leak);
    if (pointer) expect(body.errors?.map((e) => e.pointer)).toContain(pointer);
    return body;
  }

  it('a cursor whose key is not a uuid is a 400 at /query/cursor', async () => {
    const cursor = cursorOf(['2024-01-01T00:00:00.000Z', 'not-a-uuid']);
    await expectProblem({ method: 'GET', url: `/reviews?cursor=${cursor}` }, 400, '/query/cursor');
    await expectProblem({ method: 'GET', url: '/products?cursor=%21%21' }, 400, '/query/cursor');
  });

  it('a cursor date out of PostgreSQL range is a 400 at /query/cursor', async () => {
    for (const time of ['+275760-09-13T00:00:00.000Z', '0000-01-01T00:00:00.000Z', '-000001-01-01T00:00:00.000Z']) {
      await expectProblem({ method: 'GET', url: `/products?cursor=${cursorOf([time, productId])}` }, 400, '/query/cursor');
    }
    // A cursor the API handed out still works.
    await p.app.inject({ method: 'POST', url: '/products', payload: { name: 'chair', price: 1, category: 'b' } });
    const first = (await p.app.inject({ method: 'GET', url: '/products?limit=1' })).json() as { nextCursor: string };
    const next = await p.app.inject({ method: 'GET', url: `/products?limit=1&cursor=${first.nextCursor}` });
    expect(next.statusCode, next.body).toBe(200);
  });

  it('a malformed cursor is a 400 at /query/cursor, not the first page', async () => {
    const b64 = (text: string) => Buffer.from(text).toString('base64url');
    for (const cursor of ['abc', b64('not json'), b64('{"createdAt":"2024-01-01T00:00:00.000Z","id":"x"}'), b64('[]'), b64(`["${productId}"]`), 'a+b/c==']) {
      await expectProblem({ method: 'GET', url: `/products?cursor=${encodeURIComponent(cursor)}` }, 400, '/query/cursor');
    }
  });

  it('PATCH with null clears an optional field (stored as NULL), and the resource then leaves it out as the spec says', async () => {
    const created = await p.app.inject({ method: 'POST', url: '/products', payload: { name: 'vase', price: 3, category: 'a', stock: 4, released: '2024-01-31', color: 'red' } });
    expect(created.statusCode, created.body).toBe(201);
    const id = created.json().id as string;
    const cleared = await p.app.inject({ method: 'PATCH', url: `/products/${id}`, payload: { stock: null, released: null, color: null } });
    expect(cleared.statusCode, cleared.body).toBe(200);
    for (const res of [cleared, await p.app.inject({ method: 'GET', url: `/products/${id}` })]) {
      const body = res.json() as Record<string, unknown>;
      expect(body).toMatchObject({ id, name: 'vase', price: 3, category: 'a' });
      for (const k of ['stock', 'released', 'color']) expect(body, k).not.toHaveProperty(k);
    }
    const row = await p.db.selectFrom('products').select(['stock', 'released', 'color']).where('id', '=', id).executeTakeFirstOrThrow();
    expect(row).toEqual({ stock: null, released: null, color: null });
    // A required field cannot be cleared.
    await expectProblem({ method: 'PATCH', url: `/products/${id}`, payload: { name: null } }, 400, '/body/name');
    await expectProblem({ method: 'PATCH', url: `/products/${id}`, payload: { color: 'green' } }, 400, '/body/color');
    const review = await p.app.inject({ method: 'PATCH', url: `/reviews/${reviewId}`, payload: { body: null } });
    expect(review.statusCode, review.body).toBe(200);
    expect(review.json()).not.toHaveProperty('body');
  });

  it('a NUL byte in any text field is a 400 naming the field', async () => {
    await expectProblem({ method: 'POST', url: '/products', payload: { name: 'a\u0000b', price: 1, category: 'a' } }, 400, '/body/name');
    await expectProblem({ method: 'POST', url: '/reviews', payload: { product: productId, rating: 1, body: 'x\u0000' } }, 400, '/body/body');
    await expectProblem({ method: 'PATCH', url: `/reviews/${reviewId}`, payload: { body: '\u0000' } }, 400, '/body/body');
  });

  it('a reference to a row that does not exist is a 422 naming the reference', async () => {
    await expectProblem({ method: 'POST', url: '/reviews', payload: { product: MISSING, rating: 1 } }, 422, '/body/product');
    await expectProblem({ method: 'PATCH', url: `/reviews/${reviewId}`, payload: { product: MISSING } }, 422, '/body/product');
  });

  it('a 2.7 kB value in a unique text column is a 400 naming the field', async () => {
    const big = Array.from({ length: 2700 }, (_, i) => String.fromCodePoint(0x4e00 + ((i * 7919) % 20000))).join('');
    await expectProblem({ method: 'POST', url: '/products', payload: { name: big, price: 1, category: 'a' } }, 400, '/body/name');
    // The longest name allowed fits the index, whatever its characters.
    const longest = String.fromCodePoint(0x10ffff).repeat(512);
    const ok = await p.app.inject({ method: 'POST', url: '/products', payload: { name: longest, price: 1, category: 'a' } });
    expect(ok.statusCode, ok.body).toBe(201);
  });

  it('a 0000-01-01 date is a 400 naming the field', async () => {
    await expectProblem({ method: 'POST', url: '/products', payload: { name: 'old', price: 1, category: 'a', released: '0000-01-01' } }, 400, '/body/released');
    await expectProblem({ method: 'PATCH', url: `/products/${productId}`, payload: { released: '0000-01-01' } }, 400, '/body/released');
  });

  it('the repositories themselves turn the same values into DataErrors naming the property (no spec in front)', async () => {
    const rejects = async (run: Promise<unknown>, statusCode: number, pointer?: string) => {
      const err = (await run.then(
        () => undefined,
        (e: unknown) => e,
      )) as { name?: string; statusCode?: number; message?: string; errors?: { pointer: string }[] } | undefined;
      expect(err?.name, String(err)).toBe('DataError');
      expect(err?.statusCode).toBe(statusCode);
      for (const leak of LEAKS) expect(JSON.stringify({ m: err?.message, e: err?.errors })).not.toContain(leak);
      if (pointer) expect(err?.errors?.map((e) => e.pointer)).toEqual([pointer]);
    };
    await rejects(p.products.create!({ name: 'a\u0000', price: 1, category: 'a' }), 400, '/body/name');
    await rejects(p.products.create!({ name: 'lamp', price: 1, category: 'a' }), 409, '/body/name');
    await rejects(p.products.create!({ name: Array.from({ length: 2700 }, (_, i) => String.fromCodePoint(0x4e00 + ((i * 7919) % 20000))).join(''), price: 1, category: 'a' }), 400);
    await rejects(p.products.create!({ name: 'year0', price: 1, category: 'a', released: '0000-01-01' }), 400);
    await rejects(p.products.create!({ name: 'cat', price: 1, category: 'zzz' }), 400, '/body/category');
    await rejects(p.reviews.create!({ product: MISSING, rating: 1 }), 422, '/body/product');
    await rejects(p.reviews.update!(reviewId, { product: MISSING }), 422, '/body/product');
    await rejects(p.products.get!('not-a-uuid'), 400);
    await rejects(p.products.list!({ cursor: cursorOf(['2024-01-01T00:00:00.000Z', 'not-a-uuid']) }), 400, '/query/cursor');
  });
});
