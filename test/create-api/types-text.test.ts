/**
 * create-api's types: openapi-typescript's transform run part by part (paths a few hundred at a time, the
 * `operations` interface collected as it grows) must print exactly what openapi-typescript prints when it
 * transforms the whole document at once.
 */
import { describe, expect, it } from 'vitest';
import openapiTS, * as ots from 'openapi-typescript';
import type { OpenAPI3 } from 'openapi-typescript';
import { typesContext, typesText } from '../../generators/core/render/openapi-types-transform.js';

/** openapi-typescript's own output for `schema`: its public entry point, the whole document in one call. */
async function wholeTypes(schema: OpenAPI3): Promise<string> {
  return ots.astToString(await openapiTS(structuredClone(schema), { silent: true }));
}

/**
 * openapi-typescript's transform of the whole document in one call, with create-api's options: the same as
 * its entry point but for documents without `components`, where the entry point's bundling step adds an
 * empty one first.
 */
function oneShot(schema: OpenAPI3): string {
  return ots.astToString(ots.transformSchema(schema, typesContext(ots, schema)));
}

const ok = (schema: unknown) => ({ 200: { description: 'ok', content: { 'application/json': { schema } } } });

/** A document with `count` paths: operations with and without ids, path parameters, refs, a WithRequired helper. */
function documentWith(count: number, extra: Record<string, unknown> = {}): OpenAPI3 {
  const paths: Record<string, unknown> = {};
  for (let i = 0; i < count; i++) {
    paths[`/items${i}/{id}`] = {
      description: `path ${i}`,
      parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
      get: {
        operationId: `getItem${i}`,
        summary: `Item ${i} */ with a comment end`,
        parameters: [{ $ref: '#/components/parameters/Limit' }],
        responses: ok({ $ref: '#/components/schemas/Item' }),
      },
      ...(i % 3 === 0 ? { post: { requestBody: { content: { 'application/json': { schema: { allOf: [{ $ref: '#/components/schemas/Item' }], required: ['name'] } } } }, responses: ok({ type: 'string' }) } } : {}),
      ...(i % 5 === 0 ? { delete: { operationId: `deleteItem${i}`, deprecated: true, responses: { 204: { description: 'gone' } } } } : {}),
    };
  }
  return {
    openapi: '3.1.0',
    info: { title: 't', version: '1' },
    paths,
    components: {
      schemas: { Item: { type: 'object', properties: { name: { type: 'string' }, tags: { type: 'array', items: { type: 'string' } } } } },
      parameters: { Limit: { name: 'limit', in: 'query', schema: { type: 'integer' } } },
    },
    ...extra,
  } as unknown as OpenAPI3;
}

describe('typesText', () => {
  it.each([
    ['one part', 3],
    ['exactly one part', 256],
    ['several parts', 700],
  ])('prints what openapi-typescript prints for the whole document (%s)', async (_, count) => {
    const doc = documentWith(count);
    const text = await typesText(JSON.stringify(doc));
    expect(text).toBe(await wholeTypes(doc));
    expect(text).toContain('export interface operations {');
    expect(text.match(/^ {4}getItem\d+: \{$/gm)).toHaveLength(count);
  });

  it('keeps webhook operations after those of the paths', async () => {
    const doc = documentWith(300, {
      webhooks: { itemChanged: { post: { operationId: 'itemChanged', requestBody: { content: { 'application/json': { schema: { $ref: '#/components/schemas/Item' } } } }, responses: { 200: { description: 'ok' } } } } },
    });
    const text = await typesText(JSON.stringify(doc));
    expect(text).toBe(await wholeTypes(doc));
    // In `operations` (the last interface), after the paths' operations.
    expect(text.lastIndexOf('    itemChanged: {')).toBeGreaterThan(text.lastIndexOf('    getItem299: {'));
  });

  it.each([
    ['no operation ids', { openapi: '3.0.3', info: { title: 't', version: '1' }, paths: { '/a': { get: { responses: ok({ type: 'string' }) } } } }],
    ['one operation', { openapi: '3.0.3', info: { title: 't', version: '1' }, paths: { '/a': { get: { operationId: 'a', responses: ok({ type: 'string' }) } } } }],
    ['no paths', { openapi: '3.0.3', info: { title: 't', version: '1' }, paths: {}, components: { schemas: { A: { type: 'string' } } } }],
  ])('handles a document with %s', async (_, doc) => {
    expect(await typesText(JSON.stringify(doc))).toBe(oneShot(doc as unknown as OpenAPI3));
  });
});
