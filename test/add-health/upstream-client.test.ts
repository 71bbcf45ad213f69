/**
 * add-health --upstream-spec: an upstream's OpenAPI spec becomes openapi-typescript types and a typed client
 * over its failover client. The client type-checks against the spec (wrong calls do not compile), its calls
 * reach a fake upstream through the upstream's fetch (failover included), a non-2xx answer is an
 * UpstreamHttpError, the spec is recorded and reloaded by later runs and --check, a bad spec stops the run
 * with a located error and writes nothing, and a hostile spec reaches the code only escaped.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { memoryOutput } from '../../generators/core/report.js';
import { runAddHealth, runCreateApi, runInit } from '../../generators/index.js';
import { cleanup, linkBackdev, snapshotTree, SPECS, tempDir, typecheck } from '../helpers.js';
import { startFake, type FakeUpstream } from '../runtime/health/fake-upstream.js';

const USERS_SPEC = `openapi: 3.0.3
info: { title: Users, version: 2.1.0 }
paths:
  /users:
    get:
      operationId: listUsers
      summary: Users, a page at a time
      parameters:
        - { name: limit, in: query, schema: { type: integer } }
        - { name: tag, in: query, schema: { type: array, items: { type: string } } }
      responses:
        '200':
          description: ok
          content: { application/json: { schema: { type: array, items: { $ref: '#/components/schemas/User' } } } }
    post:
      operationId: createUser
      requestBody:
        required: true
        content: { application/json: { schema: { $ref: '#/components/schemas/NewUser' } } }
      responses:
        '201':
          description: created
          content: { application/json: { schema: { $ref: '#/components/schemas/User' } } }
  /users/{id}:
    get:
      operationId: getUser
      parameters:
        - { name: id, in: path, required: true, schema: { type: string } }
      responses:
        '200':
          description: ok
          content: { application/json: { schema: { $ref: '#/components/schemas/User' } } }
        '404':
          description: not found
          content: { application/problem+json: { schema: { type: object, properties: { title: { type: string } } } } }
    delete:
      operationId: deleteUser
      parameters:
        - { name: id, in: path, required: true, schema: { type: string } }
      responses:
        '204': { description: gone }
components:
  schemas:
    NewUser:
      type: object
      required: [name]
      properties: { name: { type: string }, age: { type: integer } }
    User:
      allOf:
        - $ref: '#/components/schemas/NewUser'
        - type: object
          required: [id]
          properties: { id: { type: string } }
`;

/** Calls that must compile, and calls that must not (each `@ts-expect-error` fails the type-check if it compiles). */
const USAGE = `import type { FastifyInstance } from 'fastify';
import { createClient, type components } from './generated/upstreams/users.gen.js';

export async function usage(app: FastifyInstance): Promise<string> {
  const api = createClient(app.upstreams.users);
  const user: components['schemas']['User'] = await api.get('/users/{id}', { path: { id: '1' } });
  const list = await api.get('/users', { query: { limit: 2, tag: ['a', 'b'] } });
  const first: string | undefined = list[0]?.id;
  const created = await api.op.createUser({ body: { name: 'Ada' }, idempotencyKey: 'k1' });
  const gone: undefined = await app.upstreamApis.users.op.deleteUser({ path: { id: created.id } });
  // @ts-expect-error the path parameter is required
  await api.get('/users/{id}');
  // @ts-expect-error no such path
  await api.get('/nobody');
  // @ts-expect-error the body is required
  await api.post('/users', {});
  // @ts-expect-error name is a string
  await api.op.createUser({ body: { name: 42 } });
  // @ts-expect-error the operation takes no body
  await api.op.getUser({ path: { id: '1' }, body: {} });
  // @ts-expect-error no PUT on /users
  await api.put('/users', {});
  // @ts-expect-error a User has no email
  void user.email;
  return [user.name, first, gone].join();
}
`;

let parent: string;
let dir: string;
const read = (file: string) => readFileSync(path.join(dir, file), 'utf8');

beforeAll(async () => {
  parent = tempDir('add-health-client');
  dir = path.join(parent, 'project');
  await runInit({ dir }, memoryOutput());
  linkBackdev(dir);
  writeFileSync(path.join(parent, 'users.yaml'), USERS_SPEC);
}, 120_000);
afterAll(() => cleanup(parent));

describe('--upstream-spec', () => {
  it('writes the types and the typed client; calls type-check against the spec', async () => {
    // The spec path is relative to the working folder (here the project's parent).
    const result = await runAddHealth({ out: dir, cwd: parent, upstreams: ['users=http://127.0.0.1:9'], upstreamSpecs: ['users=users.yaml'] }, memoryOutput());
    expect(result.exitCode).toBe(0);
    expect(JSON.parse(read('src/generated/upstreams.gen.json')).upstreams).toEqual([{ name: 'users', urls: ['http://127.0.0.1:9'], required: true, spec: '../users.yaml' }]);
    expect(read('src/generated/upstreams/users.openapi.gen.ts')).toMatch(/^\/\/ Generated by backdev add-health from the OpenAPI spec of upstream 'users', "Users"\n\/\/ 2\.1\.0 \(\.\.\/users\.yaml\)/);
    expect(read('src/generated/upstreams/users.openapi.gen.ts')).toContain('export interface paths');
    const client = read('src/generated/upstreams/users.gen.ts');
    expect(client).toContain("getUser: { method: 'get', path: '/users/{id}' },");
    expect(client).toContain("createUser: { method: 'post', path: '/users' },");
    expect(read('src/generated/upstreams.gen.ts')).toContain("users: upstreamApi0.createClient(upstreams['users']),");
    writeFileSync(path.join(dir, 'src/usage.ts'), USAGE);
    expect(await typecheck(dir)).toBe('');
  }, 120_000);

  it('a later run reloads the recorded spec: nothing changes, --check passes, and so does create-api --check', async () => {
    const before = snapshotTree(dir);
    const again = await runAddHealth({ out: dir }, memoryOutput());
    expect(again.report.changed).toBe(false);
    expect(snapshotTree(dir)).toEqual(before);
    expect((await runAddHealth({ out: dir, check: true }, memoryOutput())).exitCode).toBe(0);
    expect((await runCreateApi({ out: dir, check: true }, memoryOutput())).exitCode).toBe(0);
  }, 60_000);

  it('a changed upstream spec regenerates the client; --check sees it first', async () => {
    const changed = USERS_SPEC.replace('operationId: deleteUser', 'operationId: removeUser');
    writeFileSync(path.join(parent, 'users.yaml'), changed);
    try {
      const check = await runAddHealth({ out: dir, check: true }, memoryOutput());
      expect(check.exitCode).toBe(1);
      expect(check.report.updated).toContain('src/generated/upstreams/users.gen.ts');
    } finally {
      writeFileSync(path.join(parent, 'users.yaml'), USERS_SPEC);
    }
    expect((await runAddHealth({ out: dir, check: true }, memoryOutput())).exitCode).toBe(0);
  }, 60_000);

  it.each<[string, string[], string, string]>([
    ['a syntax error', ['users=' + path.join(SPECS, 'bad/syntax.yaml')], 'SPEC_SYNTAX', 'syntax.yaml'],
    ['a dangling $ref', ['users=' + path.join(SPECS, 'bad/dangling-ref.yaml')], 'dangling-ref.yaml', 'dangling-ref.yaml'],
    ['not OpenAPI', ['users=' + path.join(SPECS, 'bad/not-openapi.yaml')], 'SPEC_NOT_OPENAPI', 'not-openapi.yaml'],
    ['a missing file', ['users=' + path.join(SPECS, 'nowhere.yaml')], 'SPEC_UNREADABLE', 'nowhere.yaml'],
    ['an unknown upstream', ['nobody=' + path.join(SPECS, 'petstore.yaml')], 'OPTION_INVALID', '--upstream-spec "nobody": no such upstream'],
    ['no name', ['=x.yaml'], 'OPTION_INVALID', 'the name must start with a letter'],
    ['no =', ['users'], 'OPTION_INVALID', 'expected name=path-or-url'],
    ['not http', ['users=ftp://specs.example/u.yaml'], 'OPTION_INVALID', 'only a file path or an http(s) URL'],
  ])('%s: an error naming it (located for a spec), nothing written', async (_, upstreamSpecs, code, where) => {
    const before = snapshotTree(dir);
    const err = (await runAddHealth({ out: dir, upstreamSpecs }, memoryOutput()).then(
      () => undefined,
      (e: unknown) => e,
    )) as { name?: string; code?: string; message: string; location?: { file?: string; line?: number } } | undefined;
    expect(err?.name).toBe('BackdevError');
    expect(`${err!.code} ${err!.message} ${err!.location?.file ?? ''}`).toContain(code);
    expect(`${err!.message} ${err!.location?.file ?? ''}`).toContain(where);
    if (code === 'SPEC_SYNTAX') expect(err!.location?.line).toBeGreaterThan(0);
    expect(snapshotTree(dir)).toEqual(before);
  });

  it('a hostile spec: the client type-checks, imports without running anything, and holds the paths exactly', async () => {
    const result = await runAddHealth({ out: dir, upstreams: ['evil=http://127.0.0.1:9'], optional: ['evil'], upstreamSpecs: [`evil=${path.join(SPECS, 'hostile.yaml')}`] }, memoryOutput());
    expect(result.exitCode).toBe(0);
    expect(await typecheck(dir)).toBe('');
    const g = globalThis as { __backdevPwned?: unknown };
    delete g.__backdevPwned;
    const mod = (await import(pathToFileURL(path.join(dir, 'src/generated/upstreams/evil.gen.ts')).href)) as { routes: Record<string, { method: string; path: string }> };
    await import(pathToFileURL(path.join(dir, 'src/generated/upstreams/evil.openapi.gen.ts')).href);
    expect(g.__backdevPwned).toBeUndefined();
    const paths = Object.values(mod.routes).map((o) => `${o.method} ${o.path}`).sort();
    expect(paths).toContain("get /items/{id}/`${globalThis.__backdevPwned = 'path'}`");
    expect(paths).toContain('post /constructor');
    // The header's comment lines hold the hostile title on one line each.
    const header = read('src/generated/upstreams/evil.gen.ts').split('\n').slice(0, 3);
    expect(header.every((l) => l.startsWith('// '))).toBe(true);
  }, 120_000);
});

describe('the typed client in the generated app', () => {
  let primary: FakeUpstream;
  let secondary: Server;
  let app: FastifyInstance;
  const saved = { ...process.env };

  beforeAll(async () => {
    const users = new Map<string, { id: string; name: string }>([['a b', { id: 'a b', name: 'Ada' }]]);
    const json = (status: number, data: unknown, type = 'application/json') => ({ status, type, body: JSON.stringify(data) });
    const answer = (req: IncomingMessage, body: string) => {
      const url = new URL(req.url ?? '/', 'http://x');
      if (req.method === 'GET' && url.pathname === '/users') return json(200, { limit: url.searchParams.get('limit'), tag: url.searchParams.getAll('tag') });
      if (req.method === 'POST' && url.pathname === '/users') {
        const user = { id: `u${users.size}`, ...(JSON.parse(body) as { name: string }) };
        users.set(user.id, user);
        return json(201, user);
      }
      const m = /^\/users\/([^/]+)$/.exec(url.pathname);
      const user = m ? users.get(decodeURIComponent(m[1]!)) : undefined;
      if (req.method === 'GET' && user) return json(200, user);
      return json(404, { title: 'Not Found' }, 'application/problem+json');
    };
    // The primary resets every connection; the secondary answers like the spec says.
    primary = await startFake(() => ({ reset: true }));
    secondary = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        const reply = answer(req, body);
        res.writeHead(reply.status, { 'content-type': reply.type });
        res.end(reply.body);
      });
    });
    await new Promise<void>((r) => secondary.listen(0, '127.0.0.1', r));
    const secondaryUrl = `http://127.0.0.1:${(secondary.address() as AddressInfo).port}`;
    // The person's tuning: a retry allowed whatever the volume (the test makes a handful of calls).
    writeFileSync(
      path.join(dir, 'src/upstreams.ts'),
      read('src/upstreams.ts').replace('return createUpstreams({', 'return createUpstreams({\n    users: { retry: { budget: { minRetries: 100 } } },'),
    );
    process.env.UPSTREAM_USERS_URLS = `${primary.url},${secondaryUrl}`;
    const { buildApp } = (await import(pathToFileURL(path.join(dir, 'src/app.ts')).href)) as { buildApp: (o: object) => Promise<FastifyInstance> };
    app = await buildApp({ logger: false });
    await app.ready();
  }, 120_000);
  afterAll(async () => {
    process.env = saved;
    await app?.close();
    await primary?.close();
    secondary?.closeAllConnections();
    await new Promise((r) => secondary?.close(r));
  });

  it('calls reach the upstream through its failover client: path, query, JSON body, typed answers', async () => {
    const api = (app as unknown as { upstreamApis: { users: Record<string, (...a: unknown[]) => Promise<unknown>> & { op: Record<string, (o?: unknown) => Promise<unknown>> } } }).upstreamApis.users;
    // The primary resets every connection: each call fails over to the secondary.
    expect(await api.get!('/users/{id}', { path: { id: 'a b' } })).toEqual({ id: 'a b', name: 'Ada' });
    expect(primary.arrivals.length).toBeGreaterThan(0);
    expect(primary.arrivals[0]!.path).toBe('/users/a%20b');
    expect(await api.get!('/users', { query: { limit: 2, tag: ['x', 'y'] } })).toEqual({ limit: '2', tag: ['x', 'y'] });
    // A POST is retried on another URL only with an idempotency key (a reset connection may have reached the server).
    const created = (await api.op.createUser!({ body: { name: 'Bo' }, idempotencyKey: 'k-1' })) as { id: string; name: string };
    expect(created).toEqual({ id: 'u1', name: 'Bo' });
    expect(await api.op.getUser!({ path: { id: created.id } })).toEqual(created);
  }, 30_000);

  it('a non-2xx answer rejects with UpstreamHttpError holding the status and the parsed body', async () => {
    const api = (app as unknown as { upstreamApis: { users: { op: Record<string, (o?: unknown) => Promise<unknown>> } } }).upstreamApis.users;
    const err = (await api.op.getUser!({ path: { id: 'nobody' } }).then(
      () => undefined,
      (e: unknown) => e,
    )) as { name: string; status: number; body: unknown; upstream: string };
    expect(err).toMatchObject({ name: 'UpstreamHttpError', status: 404, body: { title: 'Not Found' }, upstream: 'users' });
  }, 30_000);
});
