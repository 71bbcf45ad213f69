/** `startServer`'s tracing (backdev/runtime/server): the TRACING switch, the instance handed to buildApp, the flush on close. */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, describe, expect, it } from 'vitest';
import { listen, serverSettings } from '../../runtime/server/index.js';
import type { SpanRecord } from '../../runtime/tracing/index.js';

const dir = mkdtempSync(path.join(tmpdir(), 'backdev-server-tracing-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const spansOf = (file: string): SpanRecord[] =>
  readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as SpanRecord);

describe('TRACING', () => {
  it('is on unless switched off (or in production without a collector), and a value that is neither is a configuration problem', () => {
    expect(serverSettings({}).tracing).toBe(true);
    expect(serverSettings({ TRACING: 'OFF' }).tracing).toBe(false);
    expect(serverSettings({ TRACING: '0' }).tracing).toBe(false);
    expect(serverSettings({ TRACING: 'on' }).problems).toEqual([]);
    expect(serverSettings({ TRACING: 'sometimes' }).problems).toEqual(['TRACING must be on or off (it is "sometimes")']);
    // Production: on only with a collector, or when asked for.
    expect(serverSettings({ NODE_ENV: 'production' }).tracing).toBe(false);
    expect(serverSettings({ NODE_ENV: 'production', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }).tracing).toBe(true);
    expect(serverSettings({ NODE_ENV: 'production', TRACING: 'on' }).tracing).toBe(true);
  });

  it('takes BACKDEV_TRACE_CONTEXT as promise or async-local-storage, and names anything else as a problem', () => {
    expect(serverSettings({ BACKDEV_TRACE_CONTEXT: 'promise' }).problems).toEqual([]);
    expect(serverSettings({ BACKDEV_TRACE_CONTEXT: 'async-local-storage' }).problems).toEqual([]);
    expect(serverSettings({ BACKDEV_TRACE_CONTEXT: 'als' }).problems).toEqual(['BACKDEV_TRACE_CONTEXT must be promise or async-local-storage (it is "als")']);
  });
});

describe('listen({ tracing })', () => {
  const start = async (file: string, env: NodeJS.ProcessEnv, registerInApp: boolean) => {
    let handed: unknown;
    const app = await listen({
      env: { PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent', BACKDEV_TRACE_FILE: file, ...env },
      envFile: false,
      argv: [],
      tracing: { serviceName: 'server-test' },
      buildApp: async (options) => {
        handed = options.tracing;
        const a: FastifyInstance = Fastify({ logger: false });
        if (registerInApp) options.tracing?.register(a);
        a.get('/things/:id', { config: { backdev: { operationId: 'getThing' } } }, async () => ({ ok: true }));
        a.get('/fail', { config: { backdev: { operationId: 'failing' } } }, async () => {
          throw new Error('it broke');
        });
        return a;
      },
    });
    return { app, handed };
  };

  it('hands buildApp the instance, names spans by operationId, fails 5xx with the error, and writes the queue on close', async () => {
    const file = path.join(dir, 'a.jsonl');
    const { app, handed } = await start(file, {}, true);
    expect(handed).toBeDefined();
    expect((await app.inject('/things/1')).statusCode).toBe(200);
    expect((await app.inject('/fail')).statusCode).toBe(500);
    await app.close();
    const spans = spansOf(file);
    expect(spans.map((s) => s.name).sort()).toEqual(['failing', 'getThing']);
    const ok = spans.find((s) => s.name === 'getThing')!;
    expect(ok).toMatchObject({ kind: 'server', status: 'unset', service: 'server-test' });
    expect(ok.attributes).toMatchObject({ operationId: 'getThing', 'http.route': '/things/:id', 'http.response.status_code': 200 });
    expect(spans.find((s) => s.name === 'failing')).toMatchObject({ status: 'error', error: 'it broke' });
  });

  it('registers the spans itself when the app did not', async () => {
    const file = path.join(dir, 'b.jsonl');
    const { app } = await start(file, {}, false);
    await app.inject('/things/2');
    await app.close();
    expect(spansOf(file).map((s) => s.name)).toEqual(['getThing']);
  });

  it('TRACING=off: nothing handed, nothing written', async () => {
    const file = path.join(dir, 'c.jsonl');
    const { app, handed } = await start(file, { TRACING: 'off' }, true);
    expect(handed).toBeUndefined();
    await app.inject('/things/3');
    await app.close();
    expect(existsSync(file)).toBe(false);
  });
});
