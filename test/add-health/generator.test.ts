/**
 * add-health: the documented template context matches the view model, URLs reach code only through the
 * escaping helpers, the wiring type-checks, a second run changes nothing, a later --upstream is merged with
 * the earlier ones, bad values stop the run before anything is written, and the generated app answers
 * /health/live and /health/ready (public, with the database and a fake upstream up and down).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { FastifyInstance } from 'fastify';
import type { Upstream } from '../../runtime/health/index.js';
import { Project } from 'ts-morph';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { memoryOutput } from '../../generators/core/report.js';
import { BUNDLED_TEMPLATES, listTemplates } from '../../generators/core/render/templates.js';
import { runAddAuth, runAddHealth, runCreateApi, runInit } from '../../generators/index.js';
import { cleanup, linkBackdev, REPO, snapshotTree, SPECS, tempDir, typecheck } from '../helpers.js';

const README = readFileSync(path.join(BUNDLED_TEMPLATES, 'add-health/README.md'), 'utf8');
/** Text that must never reach generated code unescaped. */
const HOSTILE_URL = "http://hostile.invalid/a'b*/${process.exit(3)}`c\\d";

/** The example project (its spec has its own GET /health; no database). */
let dir: string;
const read = (file: string) => readFileSync(path.join(dir, file), 'utf8');

beforeAll(async () => {
  dir = path.join(tempDir('add-health'), 'project');
  await runInit({ dir }, memoryOutput());
  linkBackdev(dir);
}, 120_000);
afterAll(() => cleanup(path.dirname(dir)));

describe('template context', () => {
  it('templates/add-health/README.md names every field of the view model and every template', () => {
    const project = new Project({ skipAddingFilesFromTsConfig: true });
    const file = project.addSourceFileAtPath(path.join(REPO, 'generators/add-health/view-model.ts'));
    const missing: string[] = [];
    for (const name of ['AddHealthView', 'UpstreamView']) {
      for (const prop of file.getInterfaceOrThrow(name).getProperties()) if (!README.includes(`\`${prop.getName()}\``)) missing.push(`${name}.${prop.getName()}`);
    }
    expect(missing).toEqual([]);
    for (const t of listTemplates('add-health').filter((f) => f.endsWith('.hbs'))) expect(README).toContain(`\`${t}\``);
  });

  it('prints view fields only through the escaping helpers', () => {
    const bare: string[] = [];
    for (const t of listTemplates('add-health').filter((f) => f.endsWith('.hbs'))) {
      const text = readFileSync(path.join(BUNDLED_TEMPLATES, 'add-health', t), 'utf8');
      for (const m of text.matchAll(/\{\{\{?\s*([^#/>!{}\s][^{}\s]*)\s*\}?\}\}/g)) if (m[1] !== 'else') bare.push(`${t}: ${m[0]}`);
    }
    expect(bare).toEqual([]);
  });
});

describe('add-health', () => {
  it('writes the upstream settings, the health routes, the clients and the wiring', async () => {
    const result = await runAddHealth({ out: dir, upstreams: ['users=http://127.0.0.1:9/a,http://127.0.0.1:9/b'], probe: '/ready' }, memoryOutput());
    expect(result.exitCode).toBe(0);
    const gen = read('src/generated/upstreams.gen.ts');
    expect(gen).toMatch(/users: \{\s*urls: \['http:\/\/127\.0\.0\.1:9\/a', 'http:\/\/127\.0\.0\.1:9\/b'\],\s*env: 'UPSTREAM_USERS_URLS',\s*probe: '\/ready',\s*required: true/);
    expect(JSON.parse(read('src/generated/upstreams.gen.json'))).toEqual({
      upstreams: [{ name: 'users', urls: ['http://127.0.0.1:9/a', 'http://127.0.0.1:9/b'], probe: '/ready', required: true }],
    });
    const health = read('src/generated/health.gen.ts');
    expect(health).toContain("app.get('/health/live'");
    expect(health).toContain("app.get('/health/ready'");
    expect(health).not.toContain('../db.js');
    expect(read('src/upstreams.ts')).toContain('export function createUpstreamClients(): Upstreams');
    const app = read('src/app.ts');
    expect(app).toContain('await registerHealth(app, createUpstreamClients());');
    expect(app.indexOf('await registerHealth(')).toBeLessThan(app.indexOf('await registerRoutes('));
    expect(app).toContain("import { registerHealth } from './generated/health.gen.js';");
    expect(read('.env.example')).toMatch(/# Upstream users \(default: http:\/\/127\.0\.0\.1:9\/a,http:\/\/127\.0\.0\.1:9\/b\):\nUPSTREAM_USERS_URLS=\n/);
    expect(await typecheck(dir)).toBe('');
  }, 120_000);

  it('a second run changes nothing and --check passes', async () => {
    const before = snapshotTree(dir);
    const again = await runAddHealth({ out: dir }, memoryOutput());
    expect(again.report.changed).toBe(false);
    expect(snapshotTree(dir)).toEqual(before);
    expect((await runAddHealth({ out: dir, check: true }, memoryOutput())).exitCode).toBe(0);
    // The other generators' gates still pass with the wiring in src/app.ts.
    expect((await runCreateApi({ out: dir, check: true }, memoryOutput())).exitCode).toBe(0);
    // The same --upstream again is no change either.
    const same = await runAddHealth({ out: dir, upstreams: ['users=http://127.0.0.1:9/a,http://127.0.0.1:9/b'], probe: '/ready' }, memoryOutput());
    expect(same.report.changed).toBe(false);
  });

  it('another --upstream is added to the earlier ones; src/upstreams.ts stays as you left it', async () => {
    const mine = read('src/upstreams.ts').replace('return createUpstreams({', 'return createUpstreams({\n    // tuned by hand');
    writeFileSync(path.join(dir, 'src/upstreams.ts'), mine);
    expect((await runAddHealth({ out: dir, upstreams: ['billing=https://billing.example/v1'], optional: ['billing'] }, memoryOutput())).exitCode).toBe(0);
    const settings = JSON.parse(read('src/generated/upstreams.gen.json')) as { upstreams: Array<Record<string, unknown>> };
    expect(settings.upstreams).toEqual([
      { name: 'billing', urls: ['https://billing.example/v1'], required: false },
      { name: 'users', urls: ['http://127.0.0.1:9/a', 'http://127.0.0.1:9/b'], probe: '/ready', required: true },
    ]);
    const gen = read('src/generated/upstreams.gen.ts');
    expect(gen).toContain("env: 'UPSTREAM_BILLING_URLS'");
    expect(gen).toContain("env: 'UPSTREAM_USERS_URLS'");
    expect(read('src/upstreams.ts')).toBe(mine);
    const env = read('.env.example');
    expect(env.match(/^UPSTREAM_USERS_URLS=$/gm)).toHaveLength(1);
    expect(env).toMatch(/not waited for by \/health\/ready:\nUPSTREAM_BILLING_URLS=\n/);
    expect(read('src/app.ts').match(/registerHealth\(/g)).toHaveLength(1);
    expect((await runAddHealth({ out: dir, check: true }, memoryOutput())).exitCode).toBe(0);
  }, 60_000);

  it.each<[string, { upstreams?: string[]; probe?: string; optional?: string[] }, string]>([
    ['no =', { upstreams: ['users'] }, '--upstream "users": expected name=url'],
    ['a bad URL', { upstreams: ['users=not a url'] }, 'holds white space'],
    ['not http', { upstreams: ['users=ftp://files.example'] }, 'only http and https'],
    ['an empty URL', { upstreams: ['users=http://a.example,'] }, 'an empty URL'],
    ['a duplicate name', { upstreams: ['users=http://a.example', 'users=http://b.example'], probe: '/x' }, '--upstream #2 "users=http://b.example": upstream "users" is given twice'],
    ['a hostile name', { upstreams: ["x'}*/=http://a.example"] }, 'the name must start with a letter'],
    ['names sharing a variable', { upstreams: ['a-b=http://a.example', 'a_b=http://b.example'] }, 'would share the variable UPSTREAM_A_B_URLS'],
    ['a bad probe', { upstreams: ['users=http://a.example'], probe: 'ready' }, '--probe "ready": expected a path'],
    ['an unknown --optional', { optional: ['nobody'] }, '--optional "nobody": no such upstream'],
  ])('%s: a located error, nothing written', async (_, options, message) => {
    const before = snapshotTree(dir);
    const err = await runAddHealth({ out: dir, ...options }, memoryOutput()).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ name: 'BackdevError' });
    expect((err as Error).message + ((err as { details?: string[] }).details ?? []).join('\n')).toContain(message);
    expect(snapshotTree(dir)).toEqual(before);
  });

  it('a hostile URL and probe path are escaped: the module holds exactly the text given', async () => {
    expect((await runAddHealth({ out: dir, upstreams: [`evil=${HOSTILE_URL}`], probe: "/p'*/${x}", optional: ['evil'] }, memoryOutput())).exitCode).toBe(0);
    expect(await typecheck(dir)).toBe('');
    const mod = (await import(pathToFileURL(path.join(dir, 'src/generated/upstreams.gen.ts')).href)) as {
      upstreamSettings: Record<string, { urls: string[]; probe: string }>;
    };
    expect(mod.upstreamSettings.evil).toMatchObject({ urls: [HOSTILE_URL], probe: "/p'*/${x}" });
    // .env.example holds it in a comment only.
    expect(read('.env.example')).toMatch(/^# Upstream evil \(default: .*\), not waited for/m);
  }, 120_000);
});

/**
 * A fake upstream whose /ready answers 200 while `up`. `calls` counts requests made through an upstream
 * client's fetch (they carry the deadline header; probes do not).
 */
function fakeUpstream(): Promise<{ url: string; server: Server; state: { up: boolean; calls: number } }> {
  const state = { up: true, calls: 0 };
  const server = createServer((req, res) => {
    if (req.headers['x-request-deadline-ms'] !== undefined) state.calls++;
    res.statusCode = req.url === '/ready' && state.up ? 200 : 503;
    res.end();
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server, state })));
}

async function until(what: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await what())) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('the generated app', () => {
  let upstream: Awaited<ReturnType<typeof fakeUpstream>>;
  let app: FastifyInstance;
  const saved = { ...process.env };

  beforeAll(async () => {
    upstream = await fakeUpstream();
    // The person's own tuning: probe often, so that the test sees a change quickly.
    writeFileSync(
      path.join(dir, 'src/upstreams.ts'),
      read('src/upstreams.ts').replace('return createUpstreams({', 'return createUpstreams({\n    users: { probe: { intervalMs: 100, timeoutMs: 500 } },'),
    );
    process.env.UPSTREAM_USERS_URLS = `${upstream.url}, ${upstream.url}/`;
    const { buildApp } = (await import(pathToFileURL(path.join(dir, 'src/app.ts')).href)) as { buildApp: (o: object) => Promise<FastifyInstance> };
    app = await buildApp({ logger: false });
    await app.ready();
  }, 120_000);
  afterAll(async () => {
    process.env = saved;
    await app?.close();
    upstream?.server.close();
  });

  it('/health/ready is 200 while the required upstream is up; the spec\'s own /health still answers', async () => {
    await until(async () => (await app.inject('/health/ready')).statusCode === 200);
    const ready = await app.inject('/health/ready');
    expect(ready.json()).toEqual({ status: 'ready' });
    expect(ready.headers['cache-control']).toBe('no-store');
    expect((await app.inject('/health')).statusCode).not.toBe(404);
    const upstreams = (app as unknown as { upstreams: Record<string, Upstream> }).upstreams;
    expect(upstreams.users!.state().urls.map((u) => u.url)).toEqual([upstream.url, `${upstream.url}/`]);
  }, 30_000);

  it('/health/ready is 503 naming the upstream once it is down; /health/live stays 200 and calls nothing', async () => {
    upstream.state.up = false;
    await until(async () => (await app.inject('/health/ready')).statusCode === 503);
    const ready = await app.inject('/health/ready');
    expect(ready.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(ready.json()).toMatchObject({ status: 503, detail: 'not ready: upstream:users', checks: [{ check: 'upstream:users' }] });
    // The optional upstreams (billing, evil) are unreachable and not named.
    expect(ready.body).not.toMatch(/billing|evil/);
    const live = await app.inject('/health/live');
    expect(live.statusCode).toBe(200);
    expect(live.json()).toEqual({ status: 'live' });
    // Only the probes reached the upstream: neither route called it.
    expect(upstream.state.calls).toBe(0);
    upstream.state.up = true;
    await until(async () => (await app.inject('/health/ready')).statusCode === 200);
  }, 30_000);
});

describe('with a database and add-auth', () => {
  let secured: string;
  let app: FastifyInstance;
  const saved = { ...process.env };

  beforeAll(async () => {
    secured = path.join(tempDir('add-health-auth'), 'project');
    await runInit({ dir: secured, spec: path.join(SPECS, 'auth.yaml') }, memoryOutput());
    linkBackdev(secured);
    await runAddAuth({ out: secured }, memoryOutput());
    expect((await runAddHealth({ out: secured }, memoryOutput())).exitCode).toBe(0);
    expect((await runAddAuth({ out: secured, check: true }, memoryOutput())).exitCode).toBe(0);
    expect((await runCreateApi({ out: secured, check: true }, memoryOutput())).exitCode).toBe(0);
    Object.assign(process.env, {
      DATA_DIR: 'memory://',
      DATABASE_URL: '',
      AUTH_JWT_SECRET: 'x'.repeat(40),
      AUTH_JWT_ISSUER: 'https://issuer.example',
      AUTH_JWT_AUDIENCE: 'api',
      AUTH_JWT_ALGORITHMS: 'HS256',
    });
  }, 180_000);
  afterAll(async () => {
    process.env = saved;
    await app?.close();
    cleanup(path.dirname(secured));
  });

  it('readiness pings the database; both routes answer without credentials; the project type-checks', async () => {
    const health = readFileSync(path.join(secured, 'src/generated/health.gen.ts'), 'utf8');
    expect(health).toContain("import { db } from '../db.js';");
    expect(await typecheck(secured)).toBe('');
    const { buildApp } = (await import(pathToFileURL(path.join(secured, 'src/app.ts')).href)) as { buildApp: (o: object) => Promise<FastifyInstance> };
    app = await buildApp({ logger: false });
    expect((await app.inject('/health/live')).statusCode).toBe(200);
    // The first query opens the embedded database, which can take longer than the check's 2 s on a loaded
    // machine: a probe asks again, as an orchestrator's would.
    let ready = await app.inject('/health/ready');
    for (let i = 0; i < 30 && ready.statusCode !== 200; i++) {
      await new Promise((r) => setTimeout(r, 500));
      ready = await app.inject('/health/ready');
    }
    expect(ready.statusCode, ready.body).toBe(200);
    // An operation of the spec still asks for credentials.
    expect((await app.inject('/notes')).statusCode).toBe(401);
  }, 120_000);

  it('/health/ready is 503 once shutdown has started', async () => {
    const { buildApp } = (await import(pathToFileURL(path.join(secured, 'src/app.ts')).href)) as { buildApp: (o: object) => Promise<FastifyInstance> };
    const server = await buildApp({ logger: false });
    let during: { status: number; body: string } | undefined;
    // Registered after registerHealth's: runs once shutdown has begun, while the server still accepts requests.
    server.addHook('preClose', async () => {
      const res = await fetch(`${address}/health/ready`);
      during = { status: res.status, body: await res.text() };
    });
    const address = await server.listen({ port: 0, host: '127.0.0.1' });
    expect((await fetch(`${address}/health/ready`)).status).toBe(200);
    await server.close();
    expect(during?.status, during?.body).toBe(503);
  }, 60_000);

  it('/health/ready is 503 naming the database when it does not answer; /health/live stays 200', async () => {
    const { db } = (await import(pathToFileURL(path.join(secured, 'src/db.ts')).href)) as { db: { destroy(): Promise<void> } };
    await db.destroy();
    const ready = await app.inject('/health/ready');
    expect(ready.statusCode).toBe(503);
    expect(ready.json()).toMatchObject({ detail: 'not ready: database', checks: [{ check: 'database', detail: 'the database did not answer a query' }] });
    expect((await app.inject('/health/live')).statusCode).toBe(200);
  }, 60_000);
});
