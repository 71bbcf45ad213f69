/**
 * Validation that means what the spec says, and one error format, on a generated project (`init` + an
 * `--endpoint` resource, on in-memory PGlite): bodies are validated as sent (no coercion, no silent
 * removal), parameters are converted from text by their schemas and never to a non-finite number, and
 * every error — validation, unknown route, 404, 409, 501 stub, thrown client errors, Fastify's own 4xx,
 * database errors that escape, 500s — is a problem (or, where the spec declares its own error body, that
 * body), whose content type and body validate against the spec's response for that status.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backdevInProcess, cleanup, linkBackdev, tempDir } from '../helpers.js';

const FIELDS = 'name:string:unique price:number stock:integer? category:enum(a|b)';
const dir = tempDir('validation');
afterAll(() => cleanup(dir));

type Json = { [key: string]: any };
let app: FastifyInstance;
let logs: string[] = [];
let spec: Json;
let buildApp: (options: Record<string, unknown>) => Promise<FastifyInstance>;
const apps: FastifyInstance[] = [];

beforeAll(async () => {
  const init = await backdevInProcess(['init', dir]);
  expect(init.code, init.stderr).toBe(0);
  const add = await backdevInProcess(['create-api', '--endpoint', 'products', '--fields', FIELDS], dir);
  expect(add.code, add.stderr).toBe(0);
  linkBackdev(dir);
  process.env.DATA_DIR = 'memory://';
  // The embedded database in memory, even where DATABASE_URL is set (CI): never the shared server's.
  process.env.DATABASE_URL = '';
  const url = (file: string) => pathToFileURL(path.join(dir, file)).href;
  const { db } = (await import(url('src/db.ts'))) as { db: unknown };
  const { migrateToLatest } = await import('../../runtime/db/index.js');
  await migrateToLatest(db as never, path.join(dir, 'db/migrations'));
  buildApp = ((await import(url('src/app.ts'))) as { buildApp: typeof buildApp }).buildApp;
  spec = JSON.parse(readFileSync(path.join(dir, 'src/generated/openapi.gen.json'), 'utf8')) as Json;
  app = await make();
});
afterAll(async () => {
  for (const a of apps) await a.close();
});

async function make(options: Record<string, unknown> = {}): Promise<FastifyInstance> {
  const stream = new Writable({
    write(chunk, _enc, done) {
      logs.push(String(chunk));
      done();
    },
  });
  const a = await buildApp({ logger: { level: 'info', stream }, docs: false, auth: false, ...options });
  apps.push(a);
  return a;
}

// ---------------------------------------------------------------------------------------------------------
// The spec's declared response for a status, and a validator for it.

const addFormats = addFormatsModule.default;
let ajv: Ajv | undefined;

function deref(node: Json): Json {
  let n = node;
  while (n && typeof n.$ref === 'string') {
    n = n.$ref
      .slice(2)
      .split('/')
      .reduce((o: Json, k: string) => o[k.replace(/~1/g, '/').replace(/~0/g, '~')], spec);
  }
  return n;
}

/** Fails unless `res` is what the spec declares for its status on `method path` (exact, `4XX`, `default`). */
function expectDeclared(res: LightMyRequestResponse, method: string, specPath: string): Json {
  const op = spec.paths[specPath][method.toLowerCase()] as Json;
  const status = String(res.statusCode);
  const responses = op.responses as Json;
  const declared = responses[status] ?? responses[`${status[0]}XX`] ?? responses.default;
  expect(declared, `${method} ${specPath} does not declare ${status}`).toBeDefined();
  const response = deref(declared);
  const mediaType = String(res.headers['content-type']).split(';')[0]!.trim();
  expect(Object.keys(response.content ?? {}), `${method} ${specPath} ${status}: ${res.body}`).toContain(mediaType);
  if (!ajv) {
    ajv = new Ajv({ strict: false, allErrors: true });
    addFormats(ajv);
    ajv.addSchema({ $id: 'spec', components: spec.components });
  }
  const schema = JSON.parse(JSON.stringify(response.content[mediaType].schema).replace(/"#\/components\//g, '"spec#/components/'));
  const validate = ajv.compile(schema);
  const body = res.json() as Json;
  expect(validate(body), `${method} ${specPath} ${status} ${res.body}: ${ajv.errorsText(validate.errors)}`).toBe(true);
  return body;
}

const post = (payload: unknown) => app.inject({ method: 'POST', url: '/products', payload: payload as never });
const count = async () => (await app.inject({ method: 'GET', url: '/products?limit=100' })).json().items.length as number;
const pointers = (body: Json) => (body.errors ?? []).map((e: Json) => e.pointer);

describe('request bodies are validated as sent', () => {
  it('an unknown property is a 400 naming it, not silently dropped', async () => {
    const before = await count();
    const res = await post({ name: 'lamp', price: 1, category: 'a', color: 'red' });
    expect(res.statusCode).toBe(400);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    const body = expectDeclared(res, 'POST', '/products');
    expect(pointers(body)).toEqual(['/body/color']);
    expect(await count()).toBe(before);
  });

  it.each([
    ['null for a required number', { name: 'a', price: null, category: 'a' }, '/body/price'],
    ['a numeric string for a number', { name: 'b', price: '12.5', category: 'a' }, '/body/price'],
    ['an array for a string', { name: ['x'], price: 1, category: 'a' }, '/body/name'],
    ['a number for a string', { name: 5, price: 1, category: 'a' }, '/body/name'],
    ['a string for an integer', { name: 'c', price: 1, stock: '3', category: 'a' }, '/body/stock'],
    ['a missing required property', { price: 1, category: 'a' }, '/body/name'],
  ])('%s is a 400', async (_title, payload, pointer) => {
    const before = await count();
    const res = await post(payload);
    expect(res.statusCode).toBe(400);
    expect(pointers(expectDeclared(res, 'POST', '/products'))).toEqual([pointer]);
    expect(await count()).toBe(before);
  });

  it('a number too large for a double (1e309) is a 400', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/products',
      headers: { 'content-type': 'application/json' },
      payload: '{"name":"huge","price":1e309,"category":"a"}',
    });
    expect(res.statusCode).toBe(400);
    expect(pointers(expectDeclared(res, 'POST', '/products'))).toEqual(['/body/price']);
  });

  it('PATCH with only an unknown property is a 400 and changes nothing', async () => {
    const created = await post({ name: 'patchme', price: 2, category: 'b' });
    expect(created.statusCode).toBe(201);
    const { id, updatedAt } = created.json() as Json;
    const res = await app.inject({ method: 'PATCH', url: `/products/${id}`, payload: { zzz: 1 } });
    expect(res.statusCode).toBe(400);
    expect(pointers(expectDeclared(res, 'PATCH', '/products/{id}'))).toEqual(['/body/zzz']);
    const after = await app.inject({ method: 'GET', url: `/products/${id}` });
    expect(after.json().updatedAt).toBe(updatedAt);
  });

  it('a valid body still gets its defaults and is stored as sent', async () => {
    const res = await post({ name: 'valid', price: 12.5, category: 'a' });
    expect(res.statusCode).toBe(201);
    expect(res.json()).toMatchObject({ name: 'valid', price: 12.5, category: 'a' });
  });
});

describe('parameters are converted from text by their schema', () => {
  it.each(['-Infinity', 'Infinity', '1e309', 'NaN', '0x10', '', '2.5', '0', '101'])('limit=%s is a 400', async (limit) => {
    const res = await app.inject({ method: 'GET', url: `/products?limit=${encodeURIComponent(limit)}` });
    expect(res.statusCode).toBe(400);
    expect(pointers(expectDeclared(res, 'GET', '/products'))).toEqual(['/query/limit']);
  });

  it('limit=2 is the number 2', async () => {
    const res = await app.inject({ method: 'GET', url: '/products?limit=2' });
    expect(res.statusCode).toBe(200);
    expect(res.json().items.length).toBeLessThanOrEqual(2);
  });

  it('a malformed id is a 400 that GET and DELETE declare', async () => {
    for (const method of ['GET', 'DELETE', 'PATCH']) {
      const res = await app.inject({ method: method as 'GET', url: '/products/not-a-uuid', ...(method === 'PATCH' ? { payload: { price: 1 } } : {}) });
      expect(res.statusCode).toBe(400);
      expect(pointers(expectDeclared(res, method, '/products/{id}'))).toEqual(['/params/id']);
    }
  });
});

describe('one error format', () => {
  it('an unknown id is a 404 problem on GET, PATCH and DELETE', async () => {
    const id = '00000000-0000-4000-8000-000000000000';
    for (const method of ['GET', 'DELETE', 'PATCH']) {
      const res = await app.inject({ method: method as 'GET', url: `/products/${id}`, ...(method === 'PATCH' ? { payload: { price: 1 } } : {}) });
      expect(res.statusCode).toBe(404);
      const body = expectDeclared(res, method, '/products/{id}');
      expect(body).toMatchObject({ type: 'about:blank', title: 'Not Found', status: 404, detail: 'no product with this id' });
      expect(body.instance).toMatch(/^urn:request:/);
    }
  });

  it('a duplicate unique field is a 409 problem', async () => {
    expect((await post({ name: 'dup', price: 1, category: 'a' })).statusCode).toBe(201);
    const res = await post({ name: 'dup', price: 2, category: 'b' });
    expect(res.statusCode).toBe(409);
    const body = expectDeclared(res, 'POST', '/products');
    expect(JSON.stringify(body)).not.toMatch(/products_name|duplicate key|constraint/i);
  });

  it('an unknown route is a 404 problem', async () => {
    const res = await app.inject({ method: 'GET', url: '/nowhere?x=1' });
    expect(res.statusCode).toBe(404);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.json()).toMatchObject({ type: 'about:blank', title: 'Not Found', status: 404, detail: 'no operation matches GET /nowhere' });
  });

  it("Fastify's own client errors (bad JSON, unsupported media type, too large) are problems", async () => {
    const bad = await app.inject({ method: 'POST', url: '/products', headers: { 'content-type': 'application/json' }, payload: '{bad' });
    expect(bad.statusCode).toBe(400);
    expectDeclared(bad, 'POST', '/products');
    const xml = await app.inject({ method: 'POST', url: '/products', headers: { 'content-type': 'application/xml' }, payload: '<a/>' });
    expect(xml.statusCode).toBe(415);
    expect(xml.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(xml.json()).toMatchObject({ status: 415, title: 'Unsupported Media Type' });
    const big = await app.inject({ method: 'POST', url: '/products', payload: { name: 'x'.repeat(1_100_000), price: 1, category: 'a' } });
    expect(big.statusCode).toBe(413);
    expect(big.json()).toMatchObject({ status: 413, title: 'Payload Too Large' });
  });

  it('a 500 says only "internal error" with the request id, and the log has the error', async () => {
    logs = [];
    const failing = await make({ handlers: { listProducts: () => Promise.reject(new Error('secret: relation "products" has col x')) } });
    const res = await failing.inject({ method: 'GET', url: '/products' });
    expect(res.statusCode).toBe(500);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    const body = res.json() as Json;
    expect(body).toEqual({ type: 'about:blank', title: 'Internal Server Error', status: 500, detail: 'internal error', instance: expect.stringMatching(/^urn:request:/) });
    const line = logs.map((l) => JSON.parse(l) as Json).find((l) => l.level === 50);
    expect(line?.err?.message).toContain('secret');
    expect(body.instance).toBe(`urn:request:${line!.reqId}`);
  });

  it.each([
    ['22001', 400],
    ['22P02', 400],
    ['23503', 409],
    ['23505', 409],
    ['54000', 400],
  ])('a database error with SQLSTATE %s that escapes is a %i with a generic detail', async (code, status) => {
    const dbError = Object.assign(new Error('value "secret" violates constraint "products_name_key" on table products'), { code });
    const failing = await make({ handlers: { createProduct: () => Promise.reject(dbError) } });
    const res = await failing.inject({ method: 'POST', url: '/products', payload: { name: 'a', price: 1, category: 'a' } });
    expect(res.statusCode).toBe(status);
    const body = expectDeclared(res, 'POST', '/products');
    expect(JSON.stringify(body)).not.toMatch(/secret|products_name_key|on table/);
  });

  it('a thrown error with a 4xx statusCode is a problem with its message and errors', async () => {
    const clientError = Object.assign(new Error('no product with this id'), {
      statusCode: 422,
      errors: [{ pointer: '/body/owner', message: 'does not exist' }],
    });
    const failing = await make({ handlers: { createProduct: () => Promise.reject(clientError) } });
    const res = await failing.inject({ method: 'POST', url: '/products', payload: { name: 'a', price: 1, category: 'a' } });
    expect(res.statusCode).toBe(422);
    expect(expectDeclared(res, 'POST', '/products')).toMatchObject({ status: 422, detail: 'no product with this id', errors: [{ pointer: '/body/owner', message: 'does not exist' }] });
  });
});

describe("a spec's own error schema (the pet store's Error {code, message})", () => {
  it('src/errors.ts was scaffolded to fit it', () => {
    const text = readFileSync(path.join(dir, 'src/errors.ts'), 'utf8');
    expect(text).toContain("export function errorBody(problem: ProblemDetails): components['schemas']['Error']");
    expect(text).toContain('code: problem.status');
    expect(text).toContain('message: problem.detail ?? problem.title');
  });

  it('a validation 400 answers the declared Error, not a Fastify error', async () => {
    const res = await app.inject({ method: 'POST', url: '/pets', payload: { name: 5 } });
    expect(res.statusCode).toBe(400);
    const body = expectDeclared(res, 'POST', '/pets');
    expect(body).toEqual({ code: 400, message: expect.stringContaining('/body/name') });
  });

  it('a query that does not validate answers the declared default', async () => {
    const res = await app.inject({ method: 'GET', url: '/pets?limit=abc' });
    expect(res.statusCode).toBe(400);
    expect(expectDeclared(res, 'GET', '/pets')).toEqual({ code: 400, message: expect.stringContaining('/query/limit') });
  });

  it('a stub answers 501 in the declared default shape', async () => {
    const res = await app.inject({ method: 'GET', url: '/pets' });
    expect(res.statusCode).toBe(501);
    expect(expectDeclared(res, 'GET', '/pets')).toMatchObject({ code: 501 });
  });

  it('src/errors.ts is yours: regenerating keeps an edit', async () => {
    const file = path.join(dir, 'src/errors.ts');
    const text = readFileSync(file, 'utf8');
    expect(text).toContain('message: problem.detail ?? problem.title');
    writeFileSync(file, text.replace('message: problem.detail ?? problem.title', "message: 'edited: ' + (problem.detail ?? problem.title)"));
    const again = await backdevInProcess(['create-api'], dir);
    expect(again.code, again.stderr).toBe(0);
    expect(readFileSync(file, 'utf8')).toContain("message: 'edited: '");
  });
});

// ---------------------------------------------------------------------------------------------------------
// A project made from a spec with the shapes real specs have (found by `npm run conformance`).

describe('what real specs declare', () => {
  const specDir = tempDir('validation-spec');
  afterAll(() => cleanup(specDir));
  const problemContent = { 'application/problem+json': { schema: { type: 'object' } } };
  const SPEC = {
    openapi: '3.0.3',
    info: { title: 'shapes', version: '1' },
    paths: {
      '/notes': {
        post: {
          operationId: 'createNote',
          requestBody: { required: true, content: { 'application/json': { schema: { type: 'object', properties: { text: { type: 'string' } } } } } },
          responses: {
            // Required names the properties do not list, and a free-form object: all sent.
            '201': {
              description: 'created',
              content: { 'application/json': { schema: { type: 'object', required: ['id', 'extra'], properties: { id: { type: 'integer' }, meta: { type: 'object' } } } } },
            },
            // 422 and no 400: an invalid request is a 422.
            '422': { description: 'invalid', content: problemContent },
          },
        },
      },
      '/notes/{id}': {
        get: {
          operationId: 'getNote',
          parameters: [
            { name: 'id', in: 'path', required: true, schema: { type: 'string', minLength: 2, maxLength: 5000 } },
            // OpenAPI 3: a header parameter named Authorization (Accept, Content-Type) is ignored.
            { name: 'Authorization', in: 'header', required: true, schema: { type: 'string', pattern: '^Bearer ' } },
          ],
          // 400 declared with no content: sent with an empty body.
          responses: { '200': { description: 'ok', content: { 'application/json': { schema: { type: 'object' } } } }, '400': { description: 'bad id' } },
        },
      },
      '/forms': {
        post: {
          operationId: 'submitForm',
          requestBody: {
            required: true,
            content: {
              'application/x-www-form-urlencoded': {
                schema: { type: 'object', required: ['n'], properties: { n: { type: 'integer' }, on: { type: 'boolean' } }, additionalProperties: false },
              },
            },
          },
          responses: { '200': { description: 'ok', content: { 'application/json': { schema: { type: 'object', additionalProperties: true } } } }, '400': { description: 'bad', content: problemContent } },
        },
      },
      '/tags': {
        post: {
          operationId: 'setTags',
          requestBody: { content: { 'application/json': { schema: { type: 'array', items: { type: 'string' } } } } },
          responses: { '204': { description: 'set' }, '400': { description: 'bad', content: problemContent } },
        },
      },
      '/word': {
        get: { operationId: 'getWord', responses: { '200': { description: 'ok', content: { 'application/json': { schema: { type: 'string' } } } } } },
      },
      '/broken': {
        get: {
          operationId: 'getBroken',
          // fast-json-stringify cannot merge these types: the response is left unserialized, the server starts.
          responses: { '200': { description: 'ok', content: { 'application/json': { schema: { allOf: [{ type: 'object' }, { type: 'string' }] } } } } },
        },
      },
    },
  };
  let shapes: FastifyInstance;
  let warnings = '';
  beforeAll(async () => {
    const file = path.join(specDir, 'shapes.json');
    writeFileSync(file, JSON.stringify(SPEC));
    const out = path.join(specDir, 'p');
    const init = await backdevInProcess(['init', out, '--spec', file]);
    expect(init.code, init.stderr).toBe(0);
    warnings = init.stderr;
    linkBackdev(out);
    const build = ((await import(pathToFileURL(path.join(out, 'src/app.ts')).href)) as { buildApp: typeof buildApp }).buildApp;
    shapes = await build({
      logger: false,
      docs: false,
      auth: false,
      handlers: {
        createNote: () => ({ status: 201, body: { id: 1, extra: { kept: true }, meta: { any: ['thing'] }, hidden: 'filtered' } }),
        getNote: ({ params }: { params: { id: string } }) => ({ status: 200, body: { length: params.id.length } }),
        submitForm: ({ body }: { body: unknown }) => ({ status: 200, body }),
        getBroken: () => ({ status: 200, body: { a: 1 } }),
        setTags: ({ body }: { body: unknown }) => ({ status: body === undefined || Array.isArray(body) ? 204 : 500 }),
        getWord: () => ({ status: 200, body: 'hi', contentType: 'application/json' }),
      },
    });
    apps.push(shapes);
  });

  it('a required body that is missing is refused, pointing at /body', async () => {
    const res = await shapes.inject({ method: 'POST', url: '/notes' });
    expect(res.statusCode).toBe(422);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.json().errors).toEqual([{ pointer: '/body', message: 'is required' }]);
    const form = await shapes.inject({ method: 'POST', url: '/forms' });
    expect(form.statusCode).toBe(400);
    expect(form.json().errors).toEqual([{ pointer: '/body', message: 'is required' }]);
  });

  it('a body of a media type the operation does not declare (text/plain, JSON: Fastify parses both) is invalid', async () => {
    const res = await shapes.inject({ method: 'POST', url: '/notes', payload: '{"text":"x"}', headers: { 'content-type': 'text/plain' } });
    expect(res.statusCode).toBe(422);
    expect(res.json().errors).toEqual([{ pointer: '/body', message: 'has the media type text/plain, which the operation does not accept' }]);
    const json = await shapes.inject({ method: 'POST', url: '/forms', payload: { n: 1 } });
    expect(json.statusCode).toBe(400);
    expect(json.json().errors[0].pointer).toBe('/body');
  });

  it('an optional body that is not sent is not validated against its schema', async () => {
    expect((await shapes.inject({ method: 'POST', url: '/tags' })).statusCode).toBe(204);
    expect((await shapes.inject({ method: 'POST', url: '/tags', payload: ['a'] })).statusCode).toBe(204);
    expect((await shapes.inject({ method: 'POST', url: '/tags', payload: [1] })).statusCode).toBe(400);
    // A body of JSON null is sent, and validated as sent.
    expect((await shapes.inject({ method: 'POST', url: '/tags', payload: 'null', headers: { 'content-type': 'application/json' } })).statusCode).toBe(400);
  });

  it('an operation that declares 422 and not 400 refuses invalid requests with 422', async () => {
    const invalid = await shapes.inject({ method: 'POST', url: '/notes', payload: { text: 5 } });
    expect(invalid.statusCode).toBe(422);
    expect(invalid.json()).toMatchObject({ status: 422, errors: [{ pointer: '/body/text' }] });
    const malformed = await shapes.inject({ method: 'POST', url: '/notes', payload: '{"text":', headers: { 'content-type': 'application/json' } });
    expect(malformed.statusCode).toBe(422);
  });

  it('a header parameter named Authorization is ignored, as OpenAPI says', async () => {
    expect((await shapes.inject({ method: 'GET', url: '/notes/ab' })).statusCode).toBe(200);
    expect((await shapes.inject({ method: 'GET', url: '/notes/ab', headers: { authorization: 'Basic x' } })).statusCode).toBe(200);
  });

  it('a status declared with no content is sent with an empty body', async () => {
    const res = await shapes.inject({ method: 'GET', url: '/notes/a' });
    expect(res.statusCode).toBe(400);
    expect(res.body).toBe('');
    expect(res.headers['content-type']).toBeUndefined();
  });

  it('form fields are converted by the body schema and validated strictly', async () => {
    const form = (payload: string) => shapes.inject({ method: 'POST', url: '/forms', payload, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    const ok = await form('n=7&on=false');
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toEqual({ n: 7, on: false });
    for (const bad of ['n=seven', 'n=7&other=1', 'on=true']) expect((await form(bad)).statusCode, bad).toBe(400);
  });

  it('responses keep required properties the schema does not list, and free-form objects whole', async () => {
    const res = await shapes.inject({ method: 'POST', url: '/notes', payload: { text: 'x' } });
    expect(res.statusCode).toBe(201);
    // `hidden` is neither listed nor required: filtered out, as Fastify does.
    expect(res.json()).toEqual({ id: 1, extra: { kept: true }, meta: { any: ['thing'] } });
  });

  it('a JSON response whose value is a string is sent as JSON', async () => {
    const res = await shapes.inject({ method: 'GET', url: '/word' });
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.body).toBe('"hi"');
  });

  it('a response fast-json-stringify cannot build is sent with JSON.stringify, with a warning naming it', async () => {
    expect(warnings).toContain('BACKDEV_RESPONSE_NOT_SERIALIZABLE');
    expect(warnings).toMatch(/operation getBroken: response 200 application\/json/);
    const res = await shapes.inject({ method: 'GET', url: '/broken' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ a: 1 });
  });

  it("Fastify's errors before routing are problems: a malformed URL, a path parameter over the limit", async () => {
    const bad = await shapes.inject({ method: 'GET', url: '/notes/%E0%A4%A' });
    expect(bad.statusCode).toBe(400);
    expect(bad.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(bad.json()).toMatchObject({ status: 400, detail: 'the URL is malformed (invalid percent-encoding)' });
    // A long parameter reaches validation and the handler...
    const long = await shapes.inject({ method: 'GET', url: `/notes/${'a'.repeat(3000)}` });
    expect(long.statusCode).toBe(200);
    expect(long.json()).toEqual({ length: 3000 });
    // ...one past the router's limit is a 414 problem that does not echo the path.
    const tooLong = await shapes.inject({ method: 'GET', url: `/notes/${'a'.repeat(9000)}` });
    expect(tooLong.statusCode).toBe(414);
    expect(tooLong.json()).toMatchObject({ type: 'about:blank', title: 'URI Too Long', status: 414, detail: 'a path parameter is too long' });
    expect(tooLong.body.length).toBeLessThan(300);
  });
});
