import { createConfig, lintFromString } from '@redocly/openapi-core';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { BackdevError } from '../../generators/core/errors.js';
import { addEndpoint, type EndpointEdit } from '../../generators/create-api/endpoint.js';
import { pluralize, resourceNames, singularize } from '../../generators/core/resource/names.js';
import { parseFields } from '../../generators/core/resource/fields.js';

/** The pattern of string and text fields: no U+0000 (the spec holds the regex escape, not the character). */
const NO_NUL = '^[^\\u0000]*$';

type Json = { [key: string]: any };

const FIELDS = parseFields(
  'name:string:unique price:number stock:integer? category:enum(a|b) owner:ref(User):index active:boolean:default=true',
);

/** Every line of `before` appears in `after`, in the same order. */
function expectLinesKept(before: string, after: string): void {
  const out = after.split('\n');
  let at = 0;
  for (const line of before.split('\n')) {
    const found = out.indexOf(line, at);
    expect(found, `line ${JSON.stringify(line)} is missing or out of order`).toBeGreaterThanOrEqual(0);
    at = found + 1;
  }
}

function thrown(fn: () => unknown): BackdevError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(BackdevError);
    return e as BackdevError;
  }
  throw new Error('expected an error');
}

async function lintProblems(text: string): Promise<string[]> {
  const config = await createConfig({
    rules: {
      struct: 'error',
      'no-unresolved-refs': 'error',
      'path-parameters-defined': 'error',
      'operation-operationId-unique': 'error',
      'operation-parameters-unique': 'error',
      'operation-2xx-response': 'error',
      'operation-4xx-response': 'error',
      'no-identical-paths': 'error',
      'no-ambiguous-paths': 'error',
      'operation-summary': 'error',
      'tag-description': 'error',
      'operation-tag-defined': 'error',
    },
  });
  const problems = await lintFromString({ source: text, absoluteRef: '/spec/openapi.yaml', config });
  // The hand-written fixture parts (`/pets`) are not ours to judge.
  return problems
    .map((p) => `${p.ruleId}: ${p.message} at ${p.location[0]?.pointer}`)
    .filter((p) => !p.includes('~1pets'));
}

const ODD_YAML = `# Pet store - hand-written, keep my comments!
info:   # info first, openapi second: odd order on purpose
    version: "1.0.0"
    title: 'Pet store'
    description: >
        A folded description that spans
        two lines.
openapi: '3.0.3'
tags:
    - name: pets
      description: "Everything about pets"   # quoted
components:
    # schemas live here
    schemas:
        Pet:
            type: object
            required: [ id, name ]
            properties:
                id: {type: string, format: uuid}
                name:
                    type: "string"   # quoted on purpose
paths:
    '/pets':
        get:
            operationId: listPets
            summary: List pets
            tags: [pets]
            responses:
                "200":
                    description: 'ok'
                    content:
                        application/json:
                            schema:
                                type: array
                                items: {$ref: '#/components/schemas/Pet'}

    # more paths later
x-trailer: ~   # the end
`;

describe('resourceNames', () => {
  const cases: { given: string; schema: string; tag: string; ids: string[] }[] = [
    { given: 'products', schema: 'Product', tag: 'products', ids: ['listProducts', 'createProduct'] },
    { given: 'product', schema: 'Product', tag: 'products', ids: ['listProducts', 'createProduct'] },
    { given: 'blog-posts', schema: 'BlogPost', tag: 'blog-posts', ids: ['listBlogPosts', 'createBlogPost'] },
    { given: 'BlogPost', schema: 'BlogPost', tag: 'blog-posts', ids: ['listBlogPosts', 'createBlogPost'] },
    { given: 'blog_posts', schema: 'BlogPost', tag: 'blog-posts', ids: ['listBlogPosts', 'createBlogPost'] },
    { given: 'blogPosts', schema: 'BlogPost', tag: 'blog-posts', ids: ['listBlogPosts', 'createBlogPost'] },
    { given: '/categories', schema: 'Category', tag: 'categories', ids: ['listCategories', 'createCategory'] },
    { given: 'category', schema: 'Category', tag: 'categories', ids: ['listCategories', 'createCategory'] },
    { given: 'address', schema: 'Address', tag: 'addresses', ids: ['listAddresses', 'createAddress'] },
    { given: 'statuses', schema: 'Status', tag: 'statuses', ids: ['listStatuses', 'createStatus'] },
    { given: 'box', schema: 'Box', tag: 'boxes', ids: ['listBoxes', 'createBox'] },
    {
      given: 'OrderBatches',
      schema: 'OrderBatch',
      tag: 'order-batches',
      ids: ['listOrderBatches', 'createOrderBatch'],
    },
    { given: 'wish', schema: 'Wish', tag: 'wishes', ids: ['listWishes', 'createWish'] },
    { given: 'APIKeys', schema: 'ApiKey', tag: 'api-keys', ids: ['listApiKeys', 'createApiKey'] },
    { given: 'person', schema: 'Person', tag: 'people', ids: ['listPeople', 'createPerson'] },
    { given: 'news', schema: 'News', tag: 'news', ids: ['listNews', 'createNews'] },
  ];
  it.each(cases)('$given', ({ given, schema, tag, ids }) => {
    const n = resourceNames(given);
    expect(n.schemaName).toBe(schema);
    expect(n.tag).toBe(tag);
    expect(n.collectionPath).toBe(`/${tag}`);
    expect(n.itemPath).toBe(`/${tag}/{id}`);
    expect([n.operationIds.list, n.operationIds.create]).toEqual(ids);
    expect([n.operationIds.get, n.operationIds.update, n.operationIds.delete]).toEqual([
      `get${schema}`,
      `update${schema}`,
      `delete${schema}`,
    ]);
  });

  it.each(['', '---', '2fa-codes', 'users/posts', 'prod$'])('rejects %j', (given) => {
    expect(thrown(() => resourceNames(given)).code).toBe('OPTION_INVALID');
  });

  const words: [singular: string, plural: string][] = [
    ['product', 'products'],
    ['category', 'categories'],
    ['key', 'keys'],
    ['status', 'statuses'],
    ['bus', 'buses'],
    ['address', 'addresses'],
    ['box', 'boxes'],
    ['match', 'matches'],
    ['dish', 'dishes'],
    ['alias', 'aliases'],
    ['analysis', 'analyses'],
    ['house', 'houses'],
    ['response', 'responses'],
    ['movie', 'movies'],
    ['quiz', 'quizzes'],
    ['menu', 'menus'],
    ['child', 'children'],
    ['data', 'data'],
  ];
  it.each(words)('%s <-> %s', (singular, plural) => {
    expect(pluralize(singular)).toBe(plural);
    expect(singularize(plural)).toBe(singular);
    expect(singularize(singular)).toBe(singular);
  });
});

describe('addEndpoint on YAML', () => {
  const edit = addEndpoint(ODD_YAML, 'openapi.yaml', 'products', FIELDS);
  const spec = parse(edit.text) as Json;

  it('reports the names and a change', () => {
    expect(edit).toMatchObject({
      changed: true,
      schemaName: 'Product',
      tag: 'products',
      operationIds: ['listProducts', 'createProduct', 'getProduct', 'updateProduct', 'deleteProduct'],
    });
  });

  it('keeps every original line, in order (comments, odd key order, quoting, folding, blank lines)', () => {
    expectLinesKept(ODD_YAML, edit.text);
    // Only insertions: the untouched stretches are byte-identical.
    const chunks = [
      ODD_YAML.slice(0, ODD_YAML.indexOf('components:')),
      ODD_YAML.slice(ODD_YAML.indexOf('components:'), ODD_YAML.indexOf('paths:')),
    ];
    chunks.push(ODD_YAML.slice(ODD_YAML.indexOf('paths:'), ODD_YAML.indexOf('\n    # more paths later')));
    chunks.push(ODD_YAML.slice(ODD_YAML.indexOf('\n    # more paths later')));
    for (const chunk of chunks) expect(edit.text).toContain(chunk.slice(0, -1));
  });

  it('appends new nodes at the end of their parent mapping, in the file indentation', () => {
    const lines = edit.text.split('\n');
    const index = (line: string) => lines.indexOf(line);
    expect(index('        Product:')).toBeGreaterThan(index('        Pet:'));
    expect(index('        Product:')).toBeLessThan(index('paths:'));
    expect(index('        Problem:')).toBeGreaterThan(index('        ProductPage:'));
    expect(index('    responses:')).toBeGreaterThan(index('        Problem:'));
    expect(index('        BadRequest:')).toBeGreaterThan(index('    responses:'));
    expect(index('    /products:')).toBeGreaterThan(index("    '/pets':"));
    expect(index('    /products/{id}:')).toBeGreaterThan(index('    /products:'));
    expect(index('    /products/{id}:')).toBeLessThan(index('x-trailer: ~   # the end'));
    expect(lines).toContain('            x-backdev-table: true');
    // New $refs follow the file's quoting of $refs.
    expect(edit.text).toContain("$ref: '#/components/schemas/ProductPage'");
  });

  it('adds the schemas', () => {
    const s = spec.components.schemas;
    expect(Object.keys(s)).toEqual(['Pet', 'Product', 'ProductCreate', 'ProductUpdate', 'ProductPage', 'Problem']);
    expect(s.Product).toEqual({
      type: 'object',
      'x-backdev-table': true,
      required: ['id', 'name', 'price', 'category', 'owner', 'active', 'createdAt', 'updatedAt'],
      properties: {
        id: { type: 'string', format: 'uuid', readOnly: true },
        name: { type: 'string', pattern: NO_NUL, maxLength: 512, 'x-backdev-unique': true },
        price: { type: 'number' },
        stock: { type: 'integer', format: 'int32' },
        category: { type: 'string', enum: ['a', 'b'] },
        owner: { type: 'string', format: 'uuid', 'x-backdev-ref': 'User', 'x-backdev-index': true },
        active: { type: 'boolean', default: true },
        createdAt: { type: 'string', format: 'date-time', readOnly: true },
        updatedAt: { type: 'string', format: 'date-time', readOnly: true },
      },
      additionalProperties: false,
    });
    expect(s.ProductCreate.required).toEqual(['name', 'price', 'category', 'owner']);
    expect(Object.keys(s.ProductCreate.properties)).toEqual(['name', 'price', 'stock', 'category', 'owner', 'active']);
    expect(s.ProductCreate.properties.active).toEqual({ type: 'boolean', default: true });
    expect(s.ProductCreate.additionalProperties).toBe(false);
    expect(s.ProductUpdate.required).toBeUndefined();
    expect(s.ProductUpdate.minProperties).toBe(1);
    expect(s.ProductUpdate.additionalProperties).toBe(false);
    expect(s.ProductUpdate.properties.active).toEqual({ type: 'boolean' });
    expect(s.ProductPage.required).toEqual(['items', 'nextCursor']);
    expect(s.ProductPage.properties.items).toEqual({ type: 'array', items: { $ref: '#/components/schemas/Product' } });
    expect(s.ProductPage.properties.nextCursor).toMatchObject({ type: 'string', nullable: true });
    expect(s.Problem.required).toEqual(['type', 'title', 'status']);
    expect(Object.keys(s.Problem.properties)).toEqual(['type', 'title', 'status', 'detail', 'instance', 'errors']);
    expect(s.Problem.properties.errors.items.required).toEqual(['pointer', 'message']);
    expect(Object.keys(spec.components.responses)).toEqual(['BadRequest', 'NotFound', 'Conflict', 'UnprocessableContent']);
    for (const response of Object.values<Json>(spec.components.responses)) {
      expect(response.content).toEqual({ 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } });
    }
  });

  it('adds the paths', () => {
    const list = spec.paths['/products'];
    const item = spec.paths['/products/{id}'];
    expect(Object.keys(spec.paths)).toEqual(['/pets', '/products', '/products/{id}']);
    expect(Object.keys(list)).toEqual(['get', 'post']);
    expect(Object.keys(item)).toEqual(['parameters', 'get', 'patch', 'delete']);
    expect(list.get.operationId).toBe('listProducts');
    expect(list.get.parameters).toEqual([
      expect.objectContaining({
        name: 'limit',
        in: 'query',
        schema: { type: 'integer', minimum: 1, maximum: 100, default: 20 },
      }),
      expect.objectContaining({ name: 'cursor', in: 'query', schema: { type: 'string' } }),
    ]);
    expect(Object.keys(list.get.responses)).toEqual(['200', '400']);
    expect(list.get.responses['200'].content['application/json'].schema).toEqual({
      $ref: '#/components/schemas/ProductPage',
    });
    expect(list.post.requestBody).toEqual({
      required: true,
      content: { 'application/json': { schema: { $ref: '#/components/schemas/ProductCreate' } } },
    });
    expect(Object.keys(list.post.responses)).toEqual(['201', '400', '409', '422']);
    expect(item.parameters).toEqual([
      expect.objectContaining({ name: 'id', in: 'path', required: true, schema: { type: 'string', format: 'uuid' } }),
    ]);
    expect(Object.keys(item.get.responses)).toEqual(['200', '400', '404']);
    expect(Object.keys(item.patch.responses)).toEqual(['200', '400', '404', '409', '422']);
    expect(item.patch.requestBody.content['application/json'].schema).toEqual({
      $ref: '#/components/schemas/ProductUpdate',
    });
    expect(item.delete.responses['204']).toEqual({ description: expect.any(String) });
    expect(Object.keys(item.delete.responses)).toEqual(['204', '400', '404', '409']);
    const operations = [list.get, list.post, item.get, item.patch, item.delete];
    expect(operations.map((o: Json) => o.operationId)).toEqual(edit.operationIds);
    for (const op of operations) {
      expect(op.tags).toEqual(['products']);
      expect(op.summary).toEqual(expect.any(String));
      for (const [code, response] of Object.entries<Json>(op.responses)) {
        if (/^[45]/.test(code)) {
          const name = { '400': 'BadRequest', '404': 'NotFound', '409': 'Conflict', '422': 'UnprocessableContent' }[code];
          expect(response).toEqual({ $ref: `#/components/responses/${name}` });
        }
      }
    }
  });

  it('adds the tag to an existing tags list', () => {
    expect(spec.tags.map((t: Json) => t.name)).toEqual(['pets', 'products']);
  });

  it('is a valid OpenAPI document', async () => {
    expect(await lintProblems(edit.text)).toEqual([]);
  });

  it('is idempotent and deterministic', () => {
    expect(addEndpoint(ODD_YAML, 'openapi.yaml', 'products', FIELDS)).toEqual(edit);
    const again = addEndpoint(edit.text, 'openapi.yaml', 'product', FIELDS);
    expect(again.changed).toBe(false);
    expect(again.text).toBe(edit.text);
  });

  it('adds a second resource next to the first', () => {
    const second = addEndpoint(edit.text, 'openapi.yaml', 'BlogPost', parseFields('title:string body:text'));
    expectLinesKept(edit.text, second.text);
    const s = parse(second.text) as Json;
    expect(Object.keys(s.paths)).toEqual(['/pets', '/products', '/products/{id}', '/blog-posts', '/blog-posts/{id}']);
    expect(Object.keys(s.components.schemas).slice(-4)).toEqual([
      'BlogPost',
      'BlogPostCreate',
      'BlogPostUpdate',
      'BlogPostPage',
    ]);
    expect(s.components.schemas.BlogPost.properties.body).toEqual({ type: 'string', 'x-backdev-type': 'text', pattern: NO_NUL });
    expect(second.text.match(/^ {8}Problem:$/gm)).toHaveLength(1);
    expect(second.text.match(/^ {8}BadRequest:$/gm)).toHaveLength(1);
  });
});

describe('addEndpoint: field types', () => {
  const cases: { fields: string; want: Json }[] = [
    { fields: 'f:string', want: { type: 'string', pattern: NO_NUL } },
    { fields: 'f:text', want: { type: 'string', 'x-backdev-type': 'text', pattern: NO_NUL } },
    { fields: 'f:integer', want: { type: 'integer', format: 'int32' } },
    { fields: 'f:bigint', want: { type: 'integer', format: 'int64' } },
    { fields: 'f:number', want: { type: 'number' } },
    { fields: 'f:boolean', want: { type: 'boolean' } },
    { fields: 'f:date', want: { type: 'string', format: 'date', pattern: '^(?!0000-)' } },
    { fields: 'f:datetime', want: { type: 'string', format: 'date-time', pattern: '^(?!0000-|0001-01-01[Tt][^+]*\\+|9999-12-31[Tt][^-]*-)' } },
    { fields: 'f:uuid', want: { type: 'string', format: 'uuid' } },
    { fields: 'f:email', want: { type: 'string', format: 'email' } },
    { fields: 'f:enum(true|1|-x|null|1.5)', want: { type: 'string', enum: ['true', '1', '-x', 'null', '1.5'] } },
    { fields: 'f:ref(BlogPost)', want: { type: 'string', format: 'uuid', 'x-backdev-ref': 'BlogPost' } },
    { fields: 'f:string:unique:index', want: { type: 'string', pattern: NO_NUL, maxLength: 512, 'x-backdev-unique': true, 'x-backdev-index': true } },
    { fields: 'f:text:index', want: { type: 'string', 'x-backdev-type': 'text', pattern: NO_NUL, maxLength: 512, 'x-backdev-index': true } },
    { fields: 'f:email:unique', want: { type: 'string', format: 'email', maxLength: 512, 'x-backdev-unique': true } },
    { fields: 'f:integer:default=3', want: { type: 'integer', format: 'int32', default: 3 } },
    { fields: 'f:string:default="a: b # c"', want: { type: 'string', pattern: NO_NUL, default: 'a: b # c' } },
    { fields: 'f:string:default=007', want: { type: 'string', pattern: NO_NUL, default: '007' } },
  ];
  it.each(cases)('$fields', ({ fields, want }) => {
    const text = addEndpoint('openapi: 3.0.3\n', 'openapi.yaml', 'items', parseFields(fields)).text;
    const s = (parse(text) as Json).components.schemas;
    expect(s.Item.properties.f).toEqual(want);
    expect(s.ItemCreate.properties.f).toEqual(want);
    const { default: _omitted, ...noDefault } = want;
    expect(s.ItemUpdate.properties.f).toEqual(noDefault);
  });

  it('requires non-optional fields in <Name>, and only those without a default in <Name>Create', () => {
    const text = addEndpoint(
      'openapi: 3.0.3\n',
      'openapi.yaml',
      'items',
      parseFields('a:string b:string? c:integer:default=1'),
    ).text;
    const s = (parse(text) as Json).components.schemas;
    expect(s.Item.required).toEqual(['id', 'a', 'c', 'createdAt', 'updatedAt']);
    expect(s.ItemCreate.required).toEqual(['a']);
    const optionalOnly = addEndpoint('openapi: 3.0.3\n', 'openapi.yaml', 'items', parseFields('b:string?')).text;
    expect((parse(optionalOnly) as Json).components.schemas.ItemCreate.required).toBeUndefined();
  });

  it('needs at least one field', () => {
    expect(thrown(() => addEndpoint('openapi: 3.0.3\n', 'openapi.yaml', 'items', [])).code).toBe('FIELDS_SYNTAX');
  });
});

describe('addEndpoint: spec shapes', () => {
  it('uses the type-array form for nextCursor in a 3.1 spec', async () => {
    const text = addEndpoint(
      "openapi: 3.1.0\ninfo:\n  title: x\n  version: '1'\ntags: []\n",
      'openapi.yaml',
      'products',
      FIELDS,
    ).text;
    const cursor = (parse(text) as Json).components.schemas.ProductPage.properties.nextCursor;
    expect(cursor.type).toEqual(['string', 'null']);
    expect(cursor.nullable).toBeUndefined();
    expect(await lintProblems(text)).toEqual([]);
  });

  it('creates missing paths, components and schemas at the end of the document', () => {
    const src = "openapi: 3.0.3\ninfo:\n  title: x\n  version: '1'\n";
    const text = addEndpoint(src, 'openapi.yaml', 'products', FIELDS).text;
    expect(text.startsWith(src)).toBe(true);
    expect(Object.keys(parse(text) as Json)).toEqual(['openapi', 'info', 'paths', 'components']);
    const withComponents = addEndpoint(
      `${src}components:\n  securitySchemes: {}\n`,
      'openapi.yaml',
      'products',
      FIELDS,
    ).text;
    expect(Object.keys((parse(withComponents) as Json).components)).toEqual(['securitySchemes', 'schemas', 'responses']);
  });

  it.each([
    ['paths:', 'paths:'],
    ['paths: ~', 'paths:'],
    ['paths: {}', 'paths:'],
    ['paths:   # none yet', 'paths: # none yet'],
  ])('fills an empty "%s"', (line, kept) => {
    const src = `openapi: 3.0.3\n${line}\ncomponents:\n  schemas: {}\n# end\n`;
    const text = addEndpoint(src, 'openapi.yaml', 'products', FIELDS).text;
    expect(text.split('\n')).toContain(kept);
    expect(text.split('\n')).toContain('# end');
    const s = parse(text) as Json;
    expect(Object.keys(s.paths)).toEqual(['/products', '/products/{id}']);
    expect(Object.keys(s.components.schemas)).toContain('Product');
  });

  it('does not add a tags list when the spec has none, and never twice', () => {
    expect(
      (parse(addEndpoint('openapi: 3.0.3\n', 'openapi.yaml', 'products', FIELDS).text) as Json).tags,
    ).toBeUndefined();
    const src = 'openapi: 3.0.3\ntags:\n  - name: products\n    description: Mine\n';
    expect((parse(addEndpoint(src, 'openapi.yaml', 'products', FIELDS).text) as Json).tags).toEqual([
      { name: 'products', description: 'Mine' },
    ]);
    const flow = addEndpoint('openapi: 3.0.3\ntags: [{name: pets}]  # t\n', 'openapi.yaml', 'products', FIELDS).text;
    expect(flow.split('\n')[1]).toBe(
      'tags: [{name: pets}, {name: products, description: Operations on products}]  # t',
    );
  });

  it('keeps an existing Error schema untouched', () => {
    const src = 'openapi: 3.0.3\ncomponents:\n  schemas:\n    Error: {type: object}   # mine\n';
    const text = addEndpoint(src, 'openapi.yaml', 'products', FIELDS).text;
    expect(text.startsWith(src)).toBe(true);
    expect((parse(text) as Json).components.schemas.Error).toEqual({ type: 'object' });
  });

  it('keeps a different Problem schema and responses of the same names, and uses other names', () => {
    const src = 'openapi: 3.0.3\ncomponents:\n  schemas:\n    Problem: {type: string}\n  responses:\n    NotFound: {description: mine}\n';
    const text = addEndpoint(src, 'openapi.yaml', 'products', FIELDS).text;
    expectLinesKept(src, text);
    const s = parse(text) as Json;
    expect(s.components.schemas.Problem).toEqual({ type: 'string' });
    expect(s.components.schemas.ProblemDetails.required).toEqual(['type', 'title', 'status']);
    expect(s.components.responses.NotFound).toEqual({ description: 'mine' });
    expect(s.components.responses.BackdevNotFound.content['application/problem+json'].schema).toEqual({ $ref: '#/components/schemas/ProblemDetails' });
    expect(s.paths['/products/{id}'].get.responses['404']).toEqual({ $ref: '#/components/responses/BackdevNotFound' });
    expect(s.paths['/products/{id}'].get.responses['400']).toEqual({ $ref: '#/components/responses/BadRequest' });
  });

  it('keeps CRLF line endings and a missing final newline', () => {
    const src = 'openapi: 3.0.3\r\npaths:\r\n  /a:\r\n    get: {}';
    const text = addEndpoint(src, 'openapi.yaml', 'products', FIELDS).text;
    expect(text.startsWith(src)).toBe(true);
    expect(text.replace(/\r\n/g, '')).not.toContain('\n');
    expect(Object.keys((parse(text) as Json).paths)).toEqual(['/a', '/products', '/products/{id}']);
  });

  it('keeps a 2-space file with unindented sequences in that style', () => {
    const src = 'openapi: 3.0.3\ntags:\n- name: pets\npaths:\n  /pets: {}\n';
    const text = addEndpoint(src, 'openapi.yaml', 'products', FIELDS).text;
    expectLinesKept(src, text);
    expect(text).toContain('\n- name: products\n');
    expect(text).toContain('\n      parameters:\n      - name: limit\n');
  });

  it('still produces the right document for a flow-style paths mapping', () => {
    const src = 'openapi: 3.0.3 # v\npaths: {/pets: {get: {responses: {}}}}\n';
    const s = parse(addEndpoint(src, 'openapi.yaml', 'products', FIELDS).text) as Json;
    expect(Object.keys(s.paths)).toEqual(['/pets', '/products', '/products/{id}']);
    expect(s.paths['/pets']).toEqual({ get: { responses: {} } });
  });
});

describe('addEndpoint on JSON', () => {
  const SRC =
    '{\n    "openapi": "3.0.3",\n    "info": {"title": "x", "version": "1.0"},\n    "paths": {\n' +
    '        "/a": {"get": {"responses": {"404": {"description": "nope"}, "200": {"description": "ok", "x-n": 1.50}}}}\n' +
    '    },\n    "tags": [],\n    "x-z": null\n}\n';

  it('keeps indentation, key order (even numeric keys) and the final newline', () => {
    const edit = addEndpoint(SRC, 'openapi.json', 'products', FIELDS);
    expect(edit.changed).toBe(true);
    expect(edit.text.endsWith('}\n')).toBe(true);
    expect(edit.text).toContain('\n    "openapi": "3.0.3",\n    "info": {\n        "title": "x",');
    expect(edit.text.indexOf('"404"')).toBeLessThan(edit.text.indexOf('"200"'));
    expect(edit.text).toContain('"x-n": 1.50');
    const s = JSON.parse(edit.text) as Json;
    expect(Object.keys(s)).toEqual(['openapi', 'info', 'paths', 'tags', 'x-z', 'components']);
    expect(Object.keys(s.paths)).toEqual(['/a', '/products', '/products/{id}']);
    expect(s.tags).toEqual([{ name: 'products', description: 'Operations on products' }]);
    expect(s.components.schemas.Product['x-backdev-table']).toBe(true);
    expect(s.components.schemas.ProductPage.properties.nextCursor.nullable).toBe(true);
  });

  it('detects JSON by content, keeps tabs and no final newline', () => {
    const src = '{\n\t"openapi": "3.1.0",\n\t"paths": {}\n}';
    const edit = addEndpoint(src, 'spec', 'products', FIELDS);
    expect(edit.text.startsWith('{\n\t"openapi": "3.1.0",\n\t"paths": {\n\t\t"/products": {')).toBe(true);
    expect(edit.text.endsWith('}')).toBe(true);
    expect((JSON.parse(edit.text) as Json).components.schemas.ProductPage.properties.nextCursor.type).toEqual([
      'string',
      'null',
    ]);
  });

  it('defaults to 2-space indentation for one-line JSON', () => {
    const edit = addEndpoint('{"openapi":"3.0.3"}', 'openapi.json', 'products', FIELDS);
    expect(edit.text.startsWith('{\n  "openapi": "3.0.3",\n  "paths": {\n    "/products": {')).toBe(true);
  });

  it('is idempotent', () => {
    const first = addEndpoint(SRC, 'openapi.json', 'products', FIELDS);
    const again = addEndpoint(first.text, 'openapi.json', 'products', FIELDS);
    expect(again).toEqual({ ...first, changed: false, existing: true });
  });

  it('reports JSON syntax errors with their line and column', () => {
    const e = thrown(() =>
      addEndpoint('{\n  "openapi": "3.0.3",\n  "paths": {,}\n}\n', 'openapi.json', 'products', FIELDS),
    );
    expect(e.code).toBe('SPEC_SYNTAX');
    expect(e.location).toEqual({ file: 'openapi.json', line: 3, column: 13 });
  });
});

describe('addEndpoint: conflicts and bad specs', () => {
  const edited = (src: string): EndpointEdit => addEndpoint(src, 'openapi.yaml', 'products', FIELDS);

  it('refuses a different existing schema', () => {
    const e = thrown(() => edited('openapi: 3.0.3\ncomponents:\n  schemas:\n    Product:\n      type: object\n'));
    expect(e.code).toBe('ENDPOINT_EXISTS');
    expect(e.message).toBe(
      'schema "Product" already exists in openapi.yaml (#/components/schemas/Product); remove it or choose another endpoint name',
    );
    expect(e.details.join('\n')).toContain('#/components/schemas/Product/');
  });

  it('refuses a different companion schema or path', () => {
    const other = thrown(() => edited('openapi: 3.0.3\ncomponents:\n  schemas:\n    ProductPage: {type: object}\n'));
    expect(other.code).toBe('ENDPOINT_EXISTS');
    expect(other.message).toContain('schema "ProductPage"');
    const path = thrown(() => edited('openapi: 3.0.3\npaths:\n  /products/{id}:\n    get: {}\n'));
    expect(path.code).toBe('ENDPOINT_EXISTS');
    expect(path.message).toContain('path "/products/{id}" already exists in openapi.yaml (#/paths/~1products~1{id})');
  });

  it('refuses the same route under another parameter name', () => {
    const e = thrown(() => edited('openapi: 3.0.3\npaths:\n  /products/{productId}:\n    get: {}\n'));
    expect(e.code).toBe('ENDPOINT_EXISTS');
    expect(e.message).toContain('"/products/{productId}"');
  });

  it('refuses an operationId used elsewhere', () => {
    const e = thrown(() => edited('openapi: 3.0.3\npaths:\n  /items:\n    get:\n      operationId: getProduct\n'));
    expect(e.code).toBe('ENDPOINT_EXISTS');
    expect(e.message).toContain('operationId "getProduct" is already used by GET /items');
  });

  it('refuses after a hand edit of the generated resource', () => {
    const first = edited('openapi: 3.0.3\n').text;
    const changed = first.replace('summary: List products', 'summary: All products');
    const e = thrown(() => edited(changed));
    expect(e.code).toBe('ENDPOINT_EXISTS');
    expect(e.message).toContain('path "/products"');
    expect(e.details.join('\n')).toContain('#/paths/~1products/get/summary');
  });

  it.each([
    ['swagger: "2.0"\ninfo: {}\n', 'Swagger 2.0'],
    ['openapi: 2.0\n', '"openapi" is 2'],
    ['info: {title: x}\n', 'no "openapi" field'],
    ['- a\n', 'mapping'],
    ['', 'mapping'],
  ])('refuses a non-OpenAPI-3 document: %j', (src, says) => {
    const e = thrown(() => edited(src));
    expect(e.code).toBe('SPEC_NOT_OPENAPI');
    expect(e.message).toContain(says);
  });

  it('reports YAML syntax errors with their line and column', () => {
    const e = thrown(() => edited('openapi: 3.0.3\npaths:\n  /a: [\n'));
    expect(e.code).toBe('SPEC_SYNTAX');
    expect(e.location?.file).toBe('openapi.yaml');
    expect(e.location?.line).toBeGreaterThanOrEqual(3);
    expect(e.location?.column).toEqual(expect.any(Number));
    const dup = thrown(() => edited('openapi: 3.0.3\nopenapi: 3.0.3\n'));
    expect(dup.code).toBe('SPEC_SYNTAX');
    expect(dup.location).toMatchObject({ line: 2, column: 1 });
  });

  it('refuses a paths value that is not a mapping', () => {
    expect(thrown(() => edited('openapi: 3.0.3\npaths: [a]\n')).code).toBe('SPEC_INVALID');
  });
});
