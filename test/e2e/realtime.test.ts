/**
 * A generated project with two resources and add-realtime, served over real HTTP and WebSocket: a client
 * (backdev/runtime/broadcast/client) subscribed to `notes` sees created, updated and deleted in order, with
 * the committed rows; a request that fails publishes nothing. On the embedded PGlite database and on
 * PostgreSQL (a throwaway database on the server DATABASE_URL points at).
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { createBroadcastClient, type BroadcastClient } from '../../runtime/broadcast/client.js';
import { backdev, backdevInProcess, cleanup, installProject, runCommand, type Server, startServer, stopServer } from '../helpers.js';

const parent = mkdtempSync(path.join(os.tmpdir(), 'backdev-realtime-'));
const dir = path.join(parent, 'live');
afterAll(() => cleanup(parent));

beforeAll(async () => {
  for (const args of [
    ['init', dir, '--empty'],
    ['create-api', '--out', dir, '--endpoint', 'notes', '--fields', 'title:string:unique body:text?'],
    ['create-api', '--out', dir, '--endpoint', 'tags', '--fields', 'label:string'],
    ['add-realtime', '--out', dir],
  ]) {
    // add-realtime through the real binary (its one spawned run in the suite), the others in this process.
    const r = args[0] === 'add-realtime' ? await backdev(args) : await backdevInProcess(args);
    expect(r.code, r.stdout + r.stderr).toBe(0);
  }
  await installProject(dir);
}, 600_000);

it('the project type-checks with the real-time wiring', async () => {
  const tsc = await runCommand(process.execPath, [path.join(dir, 'node_modules/typescript/bin/tsc'), '--noEmit'], { cwd: dir });
  expect(tsc.stdout + tsc.stderr).toBe('');
}, 120_000);

type Event = { type: string; data: Record<string, unknown> };

async function eventsInOrder(server: Server): Promise<void> {
  const client: BroadcastClient<{ notes: Event }> = createBroadcastClient({ url: `${server.url.replace('http', 'ws')}/ws`, WebSocket: WebSocket as never, pingIntervalMs: 0 });
  const seen: Event[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      client.subscribe('notes', { onMessage: (e) => seen.push(e), onAck: () => resolve(), onError: (e) => reject(new Error(e.message)) });
    });
    const call = async (method: string, url: string, body?: unknown) => {
      const res = await fetch(server.url + url, { method, ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }) });
      const text = await res.text();
      return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : undefined };
    };
    const created = await call('POST', '/notes', { title: 'first' });
    expect(created.status).toBe(201);
    const id = created.body!.id as string;
    // Refused (a duplicate title; an invalid body): nothing committed, nothing published.
    expect((await call('POST', '/notes', { title: 'first' })).status).toBe(409);
    expect((await call('POST', '/notes', { title: 42 })).status).toBe(400);
    expect((await call('PATCH', `/notes/${id}`, { body: 'more' })).status).toBe(200);
    expect((await call('DELETE', `/notes/${id}`)).status).toBe(204);
    // Another resource publishes on its own topic, not this one.
    expect((await call('POST', '/tags', { label: 'x' })).status).toBe(201);
    const until = Date.now() + 10_000;
    while (seen.length < 3 && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, 300));
    expect(seen.map((e) => e.type)).toEqual(['notes.created', 'notes.updated', 'notes.deleted']);
    expect(seen[0]!.data).toMatchObject({ id, title: 'first' });
    expect(seen[1]!.data).toMatchObject({ id, title: 'first', body: 'more' });
    expect(seen[2]!.data).toEqual({ id });
    const asyncapi = await call('GET', '/docs/asyncapi.json');
    expect(asyncapi.status).toBe(200);
    expect(asyncapi.body).toMatchObject({ asyncapi: '3.0.0', channels: { notes: { address: 'notes' }, tags: { address: 'tags' } } });
  } finally {
    client.close();
  }
}

describe('events over WebSocket after each committed change', () => {
  it('on the embedded PGlite database', async () => {
    const server = await startServer(dir, { DATABASE_URL: '' }, ['--migrate']);
    try {
      await eventsInOrder(server);
    } finally {
      await stopServer(server);
    }
  }, 120_000);

  it('on PostgreSQL (DATABASE_URL)', async () => {
    const base = process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test';
    const name = `backdev_realtime_${process.pid}_${Date.now()}`;
    const admin = new pg.Client({ connectionString: base });
    await admin.connect();
    await admin.query(`create database ${name}`);
    const url = Object.assign(new URL(base), { pathname: `/${name}` }).href;
    try {
      const server = await startServer(dir, { DATABASE_URL: url }, ['--migrate']);
      try {
        await eventsInOrder(server);
      } finally {
        await stopServer(server);
      }
    } finally {
      await admin.query(`drop database if exists ${name} with (force)`);
      await admin.end();
    }
  }, 120_000);
});
