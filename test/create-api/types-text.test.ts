/**
 * create-api's types: openapi-typescript's transform run part by part (paths a few hundred at a time, the
 * `operations` interface collected as it grows) must print exactly what openapi-typescript prints when it
 * transforms the whole document at once.
 */
import { describe, expect, it } from 'vitest';
import { astToString, transformSchema, scanDiscriminators, resolveRef, type GlobalContext, type OpenAPI3 } from 'openapi-typescript';
import { typesText } from '../../generators/core/render/openapi-types-transform.js';

/** openapi-typescript's own output for `schema`, the whole document transformed in one call. */
function wholeTypes(schema: OpenAPI3): string {
  const ctx = {
    additionalProperties: false,
    alphabetize: false,
    arrayLength: false,
    defaultNonNullable: true,
    discriminators: scanDiscriminators(schema, { silent: true }),
    emptyObjectsUnknown: false,
    enum: false,
    enumValues: false,
    conditionalEnums: false,
    dedupeEnums: false,
    excludeDeprecated: false,
    exportType: false,
    immutable: false,
    rootTypes: false,
    rootTypesNoSchemaPrefix: false,
    rootTypesKeepCasing: false,
    injectFooter: [],
    pathParamsAsTypes: false,
    postTransform: undefined,
    propertiesRequiredByDefault: false,
    redoc: undefined,
    silent: true,
    inject: undefined,
    transform: undefined,
    transformProperty: undefined,
    makePathsEnum: false,
    generatePathParams: false,
    readWriteMarkers: false,
    resolve: ($ref: string) => resolveRef(schema, $ref, { silent: true }),
  } as unknown as GlobalContext;
  return astToString(transformSchema(schema, ctx));
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
    expect(text).toBe(wholeTypes(doc));
    expect(text).toContain('export interface operations {');
    expect(text.match(/^ {4}getItem\d+: \{$/gm)).toHaveLength(count);
  });

  it('keeps webhook operations after those of the paths', async () => {
    const doc = documentWith(300, {
      webhooks: { itemChanged: { post: { operationId: 'itemChanged', requestBody: { content: { 'application/json': { schema: { $ref: '#/components/schemas/Item' } } } }, responses: { 200: { description: 'ok' } } } } },
    });
    const text = await typesText(JSON.stringify(doc));
    expect(text).toBe(wholeTypes(doc));
    // In `operations` (the last interface), after the paths' operations.
    expect(text.lastIndexOf('    itemChanged: {')).toBeGreaterThan(text.lastIndexOf('    getItem299: {'));
  });

  it.each([
    ['no operation ids', { openapi: '3.0.3', info: { title: 't', version: '1' }, paths: { '/a': { get: { responses: ok({ type: 'string' }) } } } }],
    ['one operation', { openapi: '3.0.3', info: { title: 't', version: '1' }, paths: { '/a': { get: { operationId: 'a', responses: ok({ type: 'string' }) } } } }],
    ['no paths', { openapi: '3.0.3', info: { title: 't', version: '1' }, paths: {}, components: { schemas: { A: { type: 'string' } } } }],
  ])('handles a document with %s', async (_, doc) => {
    expect(await typesText(JSON.stringify(doc))).toBe(wholeTypes(doc as unknown as OpenAPI3));
  });
});
