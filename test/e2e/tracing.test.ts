/**
 * Tracing in a generated server: a project made by `init` with a table-backed resource traces its requests
 * out of the box. A request shows up in .data/traces.jsonl as a span tree (the statement under the route's
 * span, named after the operationId), an upstream call made with `tracedFetch` from the user's handler
 * carries the trace on in `traceparent`, `backdev trace show` prints that tree, and TRACING=off records
 * nothing.
 */
import { existsSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { memoryOutput } from '../../generators/core/report.js';
import { runInit } from '../../generators/index.js';
import type { SpanRecord } from '../../runtime/tracing/index.js';
import { hasAsyncContextFrame } from '../../runtime/tracing/promise-context.js';
import { backdev, backdevInProcess, cleanup, linkBackdev, REPO, startServer, stopServer, tempDir, type Server } from '../helpers.js';

const EMBEDDED = { DATABASE_URL: '' };

let dir: string;
const traceFile = () => path.join(dir, '.data/traces.jsonl');
const readSpans = (): SpanRecord[] =>
  existsSync(traceFile())
    ? readFileSync(traceFile(), 'utf8')
        .trim()
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as SpanRecord)
    : [];

const CALLER_TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const CALLER_SPAN = '00f067aa0ba902b7';

beforeAll(async () => {
  dir = tempDir('tracing');
  await runInit({ dir, force: true }, memoryOutput());
  linkBackdev(dir);
  // The server runs through tsx from the project, as `npm run dev` does; everything else resolves from the
  // checkout (the project sits under it), so @opentelemetry/api exists once.
  symlinkSync(path.join(REPO, 'node_modules/tsx'), path.join(dir, 'node_modules/tsx'), 'dir');
  const r = await backdevInProcess(['create-api', '--endpoint', 'products', '--fields', 'name:string:unique'], dir);
  expect(r.code, r.stderr).toBe(0);
  // The embedded database, also where DATABASE_URL is set (CI): never the shared server's tables.
  const m = await backdevInProcess(['migrate', 'up'], dir, EMBEDDED);
  expect(m.code, m.stderr + m.stdout).toBe(0);
  // The user's handler calls an upstream service through tracedFetch.
  const handlers = path.join(dir, 'src/handlers/products.ts');
  const before = readFileSync(handlers, 'utf8');
  const after = before
    .replace("import { db } from '../db.js';", "import { tracedFetch } from 'backdev/runtime/tracing';\nimport { db } from '../db.js';")
    .replace(
      "  if (!found) return problem(404, 'no product with this id');\n  return { status: 200, body: found };",
      "  if (!found) return problem(404, 'no product with this id');\n  if (process.env.UPSTREAM_URL) await (await tracedFetch(process.env.UPSTREAM_URL)).text();\n  return { status: 200, body: found };",
    );
  expect(after.match(/tracedFetch/g)).toHaveLength(2);
  writeFileSync(handlers, after);

  upstream = createServer((req, res) => {
    received.push(req.headers.traceparent as string | undefined);
    res.end('ok');
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
});
afterAll(async () => {
  await new Promise((r) => upstream?.close(r));
  cleanup(dir);
});

let upstream: HttpServer;
const received: (string | undefined)[] = [];

describe('a generated server traces its requests', () => {
  let created: SpanRecord;
  let spans: SpanRecord[];

  it('the database statement is a child of the route span, which carries the operationId and status', async () => {
    expect(readFileSync(path.join(dir, 'src/generated/routes.gen.ts'), 'utf8')).toContain("operationId: 'createProduct'");
    const upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/stock`;
    const server: Server = await startServer(dir, { ...EMBEDDED, UPSTREAM_URL: upstreamUrl });
    try {
      const post = await fetch(`${server.url}/products`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', traceparent: `00-${CALLER_TRACE}-${CALLER_SPAN}-01` },
        body: JSON.stringify({ name: 'Rex' }),
      });
      expect(post.status, await post.clone().text()).toBe(201);
      const { id } = (await post.json()) as { id: unknown };
      // The same name again: a unique violation answered 409, the client's mistake.
      const dup = await fetch(`${server.url}/products`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'Rex' }) });
      expect(dup.status).toBe(409);
      expect((await fetch(`${server.url}/products/${String(id)}`)).status).toBe(200);
    } finally {
      await stopServer(server); // SIGTERM closes the app, and the tracing writes out its queue
    }
    expect(server.output()).toContain('tracing requests');
    // …and says how the context is carried (this Node's default).
    expect(server.output()).toContain(`"context":"${hasAsyncContextFrame() ? 'async-local-storage' : 'promise'}"`);
    spans = readSpans();

    const routes = spans.filter((s) => s.kind === 'server' && s.name === 'createProduct');
    expect(routes).toHaveLength(2);
    created = routes.find((s) => s.traceId === CALLER_TRACE)!;
    expect(created, JSON.stringify(routes)).toBeDefined();
    // It continues the caller's trace.
    expect(created.parentSpanId).toBe(CALLER_SPAN);
    expect(created.attributes).toMatchObject({ operationId: 'createProduct', 'http.request.method': 'POST', 'http.route': '/products', 'http.response.status_code': 201 });
    expect(created.status).toBe('unset');
    expect(created.service).toBe((JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name: string }).name);

    const inserts = spans.filter((s) => s.traceId === CALLER_TRACE && s.kind === 'client' && s.name === 'insert products');
    expect(inserts).toHaveLength(1);
    const insert = inserts[0]!;
    expect(insert.parentSpanId).toBe(created.spanId);
    expect(insert.attributes).toMatchObject({ 'db.operation.name': 'insert', 'db.collection.name': 'products' });
    expect(insert.startMs).toBeGreaterThanOrEqual(created.startMs);
    expect(insert.endMs).toBeLessThanOrEqual(created.endMs + 1);

    // The 409: the failing statement fails its own span; the request span records the client's mistake only.
    const conflict = routes.find((s) => s !== created)!;
    expect(conflict.attributes['http.response.status_code']).toBe(409);
    expect(conflict.status).toBe('unset');
    const failed = spans.find((s) => s.traceId === conflict.traceId && s.name === 'insert products')!;
    expect(failed.parentSpanId).toBe(conflict.spanId);
    expect(failed.status).toBe('error');
    expect(failed.error).toMatch(/unique|duplicate/i);

    const get = spans.find((s) => s.kind === 'server' && s.name === 'getProduct')!;
    expect(get.attributes).toMatchObject({ operationId: 'getProduct', 'http.route': '/products/:id', 'http.response.status_code': 200 });
    expect(spans.some((s) => s.traceId === get.traceId && s.parentSpanId === get.spanId && s.name === 'select products')).toBe(true);

    // The upstream call: a client span under the route span, and the upstream got the trace in traceparent.
    const call = spans.find((s) => s.traceId === get.traceId && s.kind === 'client' && s.name.startsWith('GET 127.0.0.1:'))!;
    expect(call, JSON.stringify(spans.filter((s) => s.traceId === get.traceId))).toBeDefined();
    expect(call.parentSpanId).toBe(get.spanId);
    expect(call.attributes).toMatchObject({ 'http.request.method': 'GET', 'http.response.status_code': 200 });
    expect(received).toEqual([`00-${get.traceId}-${call.spanId}-01`]);
  });

  it('`backdev trace show <traceId>` prints that tree', async () => {
    expect(created).toBeDefined();
    const r = await backdev(['trace', 'show', CALLER_TRACE.slice(0, 12)], dir);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.split('\n');
    const root = lines.findIndex((l) => l.startsWith('createProduct  server'));
    expect(root, r.stdout).toBeGreaterThanOrEqual(0);
    expect(lines[root - 1]).toContain(`continues span ${CALLER_SPAN}`);
    expect(lines.slice(root + 1).some((l) => /^└─ insert products {2}client/.test(l)), r.stdout).toBe(true);
  });

  it('TRACING=off: the same server records nothing', async () => {
    const before = readSpans().length;
    const server = await startServer(dir, { ...EMBEDDED, TRACING: 'off' });
    try {
      expect((await fetch(`${server.url}/products`)).status).toBe(200);
    } finally {
      await stopServer(server);
    }
    expect(server.output()).not.toContain('tracing requests');
    expect(readSpans()).toHaveLength(before);
  });
});
