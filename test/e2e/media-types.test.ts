/**
 * JSON media types other than `application/json` (`application/merge-patch+json`, `text/json`): a generated
 * server parses and validates them as JSON, and sends a JSON response of such a type JSON-encoded, even when
 * its value is a string. Fastify alone parses only `application/json` and answers 415 to the others.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backdev, cleanup, linkBackdev, tempDir } from '../helpers.js';

const dir = tempDir('media-types');
let app: FastifyInstance;

const body = {
  required: true,
  content: Object.fromEntries(
    ['application/merge-patch+json', 'text/json'].map((type) => [
      type,
      { schema: { type: 'object', required: ['name'], additionalProperties: false, properties: { name: { type: 'string', minLength: 1 } } } },
    ]),
  ),
};
const spec = {
  openapi: '3.1.0',
  info: { title: 'Media types', version: '1.0.0' },
  paths: {
    '/notes': {
      post: {
        operationId: 'renameNote',
        requestBody: body,
        responses: { '200': { description: 'the new name', content: { 'text/json': { schema: { type: 'string' } } } } },
      },
    },
  },
};

beforeAll(async () => {
  writeFileSync(path.join(dir, 'spec.json'), JSON.stringify(spec));
  const init = await backdev(['init', path.join(dir, 'app'), '--spec', path.join(dir, 'spec.json')]);
  expect(init.code, init.stderr).toBe(0);
  linkBackdev(path.join(dir, 'app'));
  const { buildApp } = (await import(pathToFileURL(path.join(dir, 'app/src/app.ts')).href)) as {
    buildApp: (options: Record<string, unknown>) => Promise<FastifyInstance>;
  };
  app = await buildApp({
    logger: false,
    docs: false,
    handlers: { renameNote: async ({ body }: { body: { name: string } }) => ({ status: 200, body: body.name, contentType: 'text/json' }) },
  });
}, 120_000);
afterAll(async () => {
  await app?.close();
  cleanup(dir);
});

describe('JSON media types besides application/json', () => {
  it.each(['application/merge-patch+json', 'text/json', 'text/json; charset=utf-8'])('a %s body is parsed and validated as JSON', async (type) => {
    const ok = await app.inject({ method: 'POST', url: '/notes', headers: { 'content-type': type }, payload: '{"name":"groceries"}' });
    expect(ok.statusCode, ok.body).toBe(200);
    expect(ok.headers['content-type']).toMatch(/^text\/json/);
    expect(JSON.parse(ok.body)).toBe('groceries');

    const bad = await app.inject({ method: 'POST', url: '/notes', headers: { 'content-type': type }, payload: '{"name":"x","extra":1}' });
    expect(bad.statusCode, bad.body).toBe(400);
    expect(bad.headers['content-type']).toMatch(/^application\/problem\+json/);

    const broken = await app.inject({ method: 'POST', url: '/notes', headers: { 'content-type': type }, payload: '{"name":' });
    expect(broken.statusCode, broken.body).toBe(400);
    expect(broken.headers['content-type']).toMatch(/^application\/problem\+json/);
  });

  it('a JSON-like type the operation does not declare is refused as a problem', async () => {
    for (const type of ['application/json-seq', 'application/json']) {
      const res = await app.inject({ method: 'POST', url: '/notes', headers: { 'content-type': type }, payload: '{"name":"x"}' });
      expect(res.statusCode, `${type}: ${res.body}`).toBeGreaterThanOrEqual(400);
      expect(res.statusCode).toBeLessThan(500);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    }
  });
});
