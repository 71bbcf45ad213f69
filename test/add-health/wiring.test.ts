/**
 * add-health with the other generators, whichever ran first:
 * - with design-database (or create-api --endpoint), /health/ready checks the database and every --check
 *   passes (the run that writes src/db.ts re-renders the readiness module; add-health's other files stay as
 *   they are);
 * - with add-realtime, upstream state changes are published on the hub's `health.upstreams` topic, and a
 *   client subscribed over WebSocket sees a URL ejected when its probes fail, and restored.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { FastifyInstance } from 'fastify';
import type { Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { memoryOutput } from '../../generators/core/report.js';
import { runAddHealth, runAddRealtime, runCreateApi, runDesignDatabase, runInit } from '../../generators/index.js';
import { createBroadcastClient } from '../../runtime/broadcast/client.js';
import { cleanup, linkBackdev, tempDir, typecheck } from '../helpers.js';
import { startFake, until, type FakeUpstream } from '../runtime/health/fake-upstream.js';

let parent: string;
beforeAll(() => {
  parent = tempDir('add-health-wiring');
});
afterAll(() => cleanup(parent));

async function project(name: string): Promise<string> {
  const dir = path.join(parent, name);
  expect((await runInit({ dir }, memoryOutput())).exitCode).toBe(0);
  linkBackdev(dir);
  return dir;
}

const manifest = (dir: string) => readFileSync(path.join(dir, '.backdev/manifest.json'), 'utf8');
const read = (dir: string, file: string) => readFileSync(path.join(dir, file), 'utf8');

async function checksPass(dir: string): Promise<void> {
  const results = {
    'add-health': (await runAddHealth({ out: dir, check: true }, memoryOutput())).exitCode,
    'design-database': (await runDesignDatabase({ out: dir, check: true }, memoryOutput())).exitCode,
    'create-api': (await runCreateApi({ out: dir, check: true }, memoryOutput())).exitCode,
  };
  expect(results).toEqual({ 'add-health': 0, 'design-database': 0, 'create-api': 0 });
}

describe('/health/ready checks the database whichever of add-health and design-database ran first', () => {
  const saved = { ...process.env };
  afterAll(() => {
    process.env = saved;
  });

  it.each([
    ['add-health, then design-database', ['health', 'database']],
    ['design-database, then add-health', ['database', 'health']],
    ['add-health, then create-api --endpoint', ['health', 'endpoint']],
  ] as const)('%s', async (name, order) => {
    const dir = await project(name.replace(/[^a-z]+/g, '-'));
    for (const step of order) {
      const r =
        step === 'health'
          ? await runAddHealth({ out: dir }, memoryOutput())
          : step === 'database'
            ? await runDesignDatabase({ out: dir, models: ['Pet'] }, memoryOutput())
            : await runCreateApi({ out: dir, endpoint: 'notes', fields: 'title:string' }, memoryOutput());
      expect(r.exitCode).toBe(0);
    }
    expect(read(dir, 'src/generated/health.gen.ts')).toContain("import { db } from '../db.js';");
    // The readiness module stays add-health's alone: no other generator is recorded as writing it.
    expect(JSON.parse(manifest(dir)).files['src/generated/health.gen.ts']).toEqual({ generator: 'add-health', ownership: 'generated', hash: expect.any(String) });
    await checksPass(dir);
    const first = manifest(dir);
    expect((await runDesignDatabase({ out: dir }, memoryOutput())).report.changed).toBe(false);
    expect((await runAddHealth({ out: dir }, memoryOutput())).report.changed).toBe(false);
    expect(manifest(dir)).toBe(first);
    expect(await typecheck(dir)).toBe('');

    Object.assign(process.env, { DATA_DIR: 'memory://', DATABASE_URL: '' });
    const { buildApp } = (await import(pathToFileURL(path.join(dir, 'src/app.ts')).href)) as { buildApp: (o: object) => Promise<FastifyInstance> };
    const app = await buildApp({ logger: false });
    try {
      // The embedded database opens on its first query (seconds of CPU on a loaded machine, more than the
      // readiness check's 2 s deadline, which is there for a database that stops answering): opened first.
      const { db } = (await import(pathToFileURL(path.join(dir, 'src/db.ts')).href)) as { db: Kysely<any> };
      await db.selectNoFrom((eb) => eb.lit(1).as('ok')).execute();
      const ready = await app.inject('/health/ready');
      expect(ready.statusCode, ready.body).toBe(200);
      await db.destroy();
      const down = await app.inject('/health/ready');
      expect(down.statusCode).toBe(503);
      expect(down.json()).toMatchObject({ detail: 'not ready: database' });
    } finally {
      await app.close();
    }
  }, 240_000);

  it('--dry-run of design-database shows the readiness module it changes', async () => {
    const dir = await project('dry-run');
    expect((await runAddHealth({ out: dir }, memoryOutput())).exitCode).toBe(0);
    const out = memoryOutput();
    const r = await runDesignDatabase({ out: dir, models: ['Pet'], dryRun: true }, out);
    expect(r.report.updated).toContain('src/generated/health.gen.ts');
    expect(out.stdout.join('\n')).toContain("+import { db } from '../db.js';");
    expect(read(dir, 'src/generated/health.gen.ts')).not.toContain('../db.js');
  }, 120_000);
});

type Change = { type: string; data: Record<string, unknown> };

describe('upstream state changes on the broadcast hub, whichever of add-health and add-realtime ran first', () => {
  let fake: FakeUpstream;
  const up = { value: true };
  const saved = { ...process.env };

  beforeAll(async () => {
    fake = await startFake((req) => ({ status: req.url === '/ready' && !up.value ? 503 : 200 }));
  });
  afterAll(async () => {
    process.env = saved;
    await fake?.close();
  });

  it.each([
    ['add-health, then add-realtime', ['health', 'realtime']],
    ['add-realtime, then add-health', ['realtime', 'health']],
  ] as const)('%s', async (name, order) => {
    const dir = await project(name.replace(/[^a-z]+/g, '-'));
    for (const step of order) {
      const r =
        step === 'health'
          ? await runAddHealth({ out: dir, upstreams: ['users=http://127.0.0.1:9'], probe: '/ready' }, memoryOutput())
          : await runAddRealtime({ out: dir }, memoryOutput());
      expect(r.exitCode).toBe(0);
    }
    expect((await runAddHealth({ out: dir, check: true }, memoryOutput())).exitCode).toBe(0);
    expect((await runAddRealtime({ out: dir, check: true }, memoryOutput())).exitCode).toBe(0);
    expect(await typecheck(dir)).toBe('');

    up.value = true;
    process.env.UPSTREAM_USERS_URLS = fake.url;
    // Probe often so that the test sees a change quickly (the person's tuning in src/upstreams.ts does the same).
    const file = path.join(dir, 'src/upstreams.ts');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(file, read(dir, 'src/upstreams.ts').replace('return createUpstreams({', 'return createUpstreams({\n    users: { probe: { intervalMs: 50, timeoutMs: 500 } },'));
    const { buildApp } = (await import(pathToFileURL(path.join(dir, 'src/app.ts')).href)) as { buildApp: (o: object) => Promise<FastifyInstance> };
    const app = await buildApp({ logger: false });
    const address = await app.listen({ port: 0, host: '127.0.0.1' });
    const client = createBroadcastClient<{ 'health.upstreams': Change }>({ url: `${address.replace('http', 'ws')}/ws`, WebSocket: WebSocket as never, pingIntervalMs: 0 });
    const seen: Change[] = [];
    try {
      await new Promise<void>((resolve, reject) => {
        client.subscribe('health.upstreams', { onMessage: (e) => seen.push(e), onAck: () => resolve(), onError: (e) => reject(new Error(e.message)) });
      });
      await until(() => (app as unknown as { upstreams: { users: { state(): { urls: { probe: string }[] } } } }).upstreams.users.state().urls[0]!.probe === 'healthy', 10_000, 'a passing probe');
      up.value = false;
      await until(() => seen.some((e) => e.type === 'upstream.ejected'), 10_000, 'upstream.ejected on the hub');
      expect(seen.find((e) => e.type === 'upstream.ejected')!.data).toMatchObject({ upstream: 'users', url: fake.url, reason: 'probe' });
      up.value = true;
      await until(() => seen.some((e) => e.type === 'upstream.restored'), 10_000, 'upstream.restored on the hub');
      expect(seen.find((e) => e.type === 'upstream.restored')!.data).toMatchObject({ upstream: 'users', url: fake.url, reason: 'probe' });
      // In the order they happened.
      expect(seen.findIndex((e) => e.type === 'upstream.ejected')).toBeLessThan(seen.findIndex((e) => e.type === 'upstream.restored'));
    } finally {
      client.close();
      await app.close();
    }
  }, 240_000);
});
