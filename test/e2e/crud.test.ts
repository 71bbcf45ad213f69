/**
 * `backdev init shop && backdev create-api --endpoint products --fields …` → migrate → serve → CRUD over
 * real HTTP: on the embedded PGlite database, and on the PostgreSQL server (a fresh database on the server
 * DATABASE_URL points at; in CI it must be reachable).
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backdevInProcess, cleanup, installProject, runCommand, type Server, startServer, stopServer } from '../helpers.js';

const FIELDS = 'name:string:unique price:number stock:integer? category:enum(a|b)';
const parent = mkdtempSync(path.join(os.tmpdir(), 'backdev-crud-'));
const dir = path.join(parent, 'shop');
afterAll(() => cleanup(parent));

beforeAll(async () => {
  const init = await backdevInProcess(['init', dir]);
  expect(init.code, init.stderr).toBe(0);
  await installProject(dir);
  const add = await backdevInProcess(['create-api', '--endpoint', 'products', '--fields', FIELDS], dir);
  expect(add.code, add.stderr).toBe(0);
  expect(add.stdout).toContain('db/migrations/0001_create_products.ts');
});

it('the project type-checks and its own tests pass on PGlite, with no server', async () => {
  const tsc = await runCommand(process.execPath, [path.join(dir, 'node_modules/typescript/bin/tsc'), '--noEmit'], { cwd: dir });
  expect(tsc.stdout + tsc.stderr).toBe('');
  // DATABASE_URL points nowhere: the generated tests must not need a server.
  const tests = await runCommand('npm', ['test'], { cwd: dir, env: { NO_COLOR: '1', FORCE_COLOR: '0', DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none' } });
  expect(tests.code, tests.stdout + tests.stderr).toBe(0);
  expect(tests.stdout).toMatch(/products\.db\.test\.ts \(\d+ tests?\)/);
}, 300_000);

async function crudOverHttp(server: Server): Promise<void> {
  const call = async (method: string, url: string, body?: unknown) => {
    const res = await fetch(server.url + url, {
      method,
      ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : undefined };
  };
  const created = await call('POST', '/products', { name: 'lamp', price: 12.5, category: 'a' });
  expect(created.status).toBe(201);
  expect(created.body).toMatchObject({ name: 'lamp', price: 12.5, category: 'a' });
  expect(created.body).not.toHaveProperty('stock');
  const id = created.body!.id as string;
  expect((await call('POST', '/products', { name: 'lamp', price: 1, category: 'b' })).status).toBe(409);
  expect((await call('POST', '/products', { name: 'bad', price: 1, category: 'c' })).status).toBe(400);
  for (const name of ['chair', 'desk', 'shelf', 'rug']) {
    expect((await call('POST', '/products', { name, price: 3, stock: 7, category: 'b' })).status).toBe(201);
  }
  // Five products, two per page: three pages.
  const names: string[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const page = await call('GET', `/products?limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    expect(page.status).toBe(200);
    names.push(...(page.body!.items as { name: string }[]).map((p) => p.name));
    cursor = page.body!.nextCursor as string | null;
    pages++;
  } while (cursor);
  expect(pages).toBe(3);
  expect(names.sort()).toEqual(['chair', 'desk', 'lamp', 'rug', 'shelf']);
  expect(await call('GET', `/products/${id}`)).toMatchObject({ status: 200, body: { id, name: 'lamp' } });
  expect(await call('PATCH', `/products/${id}`, { price: 15, stock: 2 })).toMatchObject({ status: 200, body: { price: 15, stock: 2, name: 'lamp' } });
  expect((await call('PATCH', `/products/${id}`, { name: 'chair' })).status).toBe(409);
  expect((await call('DELETE', `/products/${id}`)).status).toBe(204);
  expect((await call('GET', `/products/${id}`)).status).toBe(404);
  expect((await call('DELETE', `/products/${id}`)).status).toBe(404);
}

describe('CRUD over real HTTP', () => {
  it('on the embedded PGlite database', async () => {
    const migrate = await runCommand(process.execPath, ['node_modules/backdev/bin/backdev.js', 'migrate', 'up'], { cwd: dir, env: { DATABASE_URL: '' } });
    expect(migrate.code, migrate.stdout + migrate.stderr).toBe(0);
    expect(migrate.stdout).toContain('applied  0001_create_products');
    const server = await startServer(dir, { DATABASE_URL: '' });
    try {
      await crudOverHttp(server);
    } finally {
      await stopServer(server);
    }
  }, 120_000);

  it('on PostgreSQL (DATABASE_URL)', async () => {
    const base = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
    const name = `backdev_crud_${process.pid}_${Date.now()}`;
    const admin = new pg.Client({ connectionString: base });
    await admin.connect(); // a server that is down fails here, in CI and locally alike
    await admin.query(`create database ${name}`);
    const url = new URL(base);
    url.pathname = `/${name}`;
    try {
      const migrate = await runCommand(process.execPath, ['node_modules/backdev/bin/backdev.js', 'migrate', 'up'], { cwd: dir, env: { DATABASE_URL: url.href } });
      expect(migrate.code, migrate.stdout + migrate.stderr).toBe(0);
      const server = await startServer(dir, { DATABASE_URL: url.href });
      try {
        await crudOverHttp(server);
      } finally {
        await stopServer(server);
      }
    } finally {
      await admin.query(`drop database if exists ${name} with (force)`);
      await admin.end();
    }
  }, 120_000);
});
