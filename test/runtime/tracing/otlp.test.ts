/** With an OTLP endpoint (option or OTEL_EXPORTER_OTLP_ENDPOINT) spans go to <endpoint>/v1/traces and no file is written. */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { DEFAULT_TRACE_FILE, createTracing } from '../../../runtime/tracing/index.js';

const dir = mkdtempSync(path.join(tmpdir(), 'backdev-otlp-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('exports over OTLP/HTTP when the endpoint variable is set, and writes no file', async () => {
  const posts: { url: string; type: string | undefined; body: string }[] = [];
  const collector = createServer((req, res) => {
    let body = '';
    req.setEncoding('latin1');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      posts.push({ url: req.url ?? '', type: req.headers['content-type'], body });
      res.end('{}');
    });
  });
  await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve));
  const endpoint = `http://127.0.0.1:${(collector.address() as AddressInfo).port}/`;
  try {
    const cwd = process.cwd();
    process.chdir(dir); // the default file would land here
    try {
      const tracing = createTracing({ serviceName: 'otlp-test', env: { OTEL_EXPORTER_OTLP_ENDPOINT: endpoint } });
      expect(tracing.otlpUrl).toBe(`${endpoint}v1/traces`);
      expect(tracing.file).toBeUndefined();
      await tracing.start();
      await tracing.traceOperation('exported-operation', () => 42);
      await tracing.close();
    } finally {
      process.chdir(cwd);
    }
    expect(posts).toHaveLength(1);
    expect(posts[0]!.url).toBe('/v1/traces');
    expect(posts[0]!.type).toBe('application/json');
    expect(posts[0]!.body).toContain('exported-operation');
    expect(posts[0]!.body).toContain('otlp-test');
    expect(existsSync(path.join(dir, DEFAULT_TRACE_FILE))).toBe(false);
  } finally {
    await new Promise((resolve) => collector.close(resolve));
  }
});

it('writes the default file when no endpoint is set', () => {
  const tracing = createTracing({ env: {} });
  expect(tracing.otlpUrl).toBeUndefined();
  expect(tracing.file).toBe(path.resolve(DEFAULT_TRACE_FILE));
  expect(createTracing({ env: { BACKDEV_TRACE_FILE: 'x/t.jsonl' } }).file).toBe(path.resolve('x/t.jsonl'));
  expect(() => createTracing({ sampleRatio: 1.5 })).toThrow(/sampleRatio/);
});
