/**
 * The conformance checker itself, against a hand-written Fastify server for a small spec: a server that
 * keeps the spec passes with no failure; one that breaks it (undeclared status, body not matching, wrong
 * content type, a 500, invalid input accepted) is caught for each break.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkResponse } from '../../scripts/lib/conformance/check.js';
import { judgeable, sampleHandlers } from '../../scripts/lib/conformance/handlers.js';
import { IdPool, RequestPlanner } from '../../scripts/lib/conformance/requests.js';
import { createRng } from '../../scripts/lib/conformance/rng.js';
import { failureTable, runConformance } from '../../scripts/lib/conformance/runner.js';
import { specModel } from '../../scripts/lib/conformance/spec.js';

const problem = { $ref: '#/components/schemas/Problem' };
const SPEC = {
  openapi: '3.0.3',
  info: { title: 'items', version: '1' },
  paths: {
    '/items': {
      get: {
        operationId: 'listItems',
        parameters: [
          { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 10 } },
          { name: 'tag', in: 'query', schema: { type: 'string', enum: ['a', 'b'] } },
        ],
        responses: {
          '200': { description: 'ok', content: { 'application/json': { schema: { type: 'array', items: { $ref: '#/components/schemas/Item' } } } } },
          '400': { description: 'bad', content: { 'application/problem+json': { schema: problem } } },
        },
      },
      post: {
        operationId: 'createItem',
        requestBody: { required: true, content: { 'application/json': { schema: { $ref: '#/components/schemas/NewItem' } } } },
        responses: {
          '201': { description: 'created', content: { 'application/json': { schema: { $ref: '#/components/schemas/Item' } } } },
          '4XX': { description: 'bad', content: { 'application/problem+json': { schema: problem } } },
        },
      },
    },
    '/items/{id}': {
      parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'integer', minimum: 1 } }],
      get: {
        operationId: 'getItem',
        responses: {
          '200': { description: 'ok', content: { 'application/json': { schema: { $ref: '#/components/schemas/Item' } } } },
          default: { description: 'error', content: { 'application/problem+json': { schema: problem } } },
        },
      },
    },
    '/health': {
      get: {
        operationId: 'health',
        responses: {
          '200': {
            description: 'ok',
            content: { 'text/plain': { schema: { type: 'string', maxLength: 2 } }, 'application/xml': { schema: { type: 'object' } } },
          },
        },
      },
    },
  },
  components: {
    schemas: {
      NewItem: {
        type: 'object',
        additionalProperties: false,
        required: ['name'],
        properties: {
          name: { type: 'string', minLength: 1, maxLength: 5 },
          note: { type: 'string', nullable: true },
          size: { type: 'number', minimum: 0 },
        },
      },
      // (allOf with NewItem would forbid `id`: additionalProperties applies per schema.)
      Item: {
        type: 'object',
        additionalProperties: false,
        required: ['id', 'name'],
        properties: {
          id: { type: 'integer', readOnly: true },
          name: { type: 'string' },
          note: { type: 'string', nullable: true },
          size: { type: 'number' },
        },
      },
      Problem: {
        type: 'object',
        required: ['type', 'title', 'status'],
        properties: { type: { type: 'string' }, title: { type: 'string' }, status: { type: 'integer' }, detail: { type: 'string' } },
      },
    },
  },
} as const;

type Break = 'none' | 'undeclared-status' | 'body' | 'content-type' | '500' | 'accepts-invalid';

/** A server for SPEC that validates by hand (no Ajv) and breaks the spec in one way, for some ids. */
async function itemsServer(brk: Break): Promise<{ app: FastifyInstance; url: string }> {
  const app = Fastify({ logger: false });
  const items = new Map<number, { id: number; name: string; note?: string | null; size?: number }>();
  let nextId = 1;
  const fail = (reply: import('fastify').FastifyReply, status: number, detail: string) =>
    reply
      .code(status)
      .type('application/problem+json')
      .send(JSON.stringify({ type: 'about:blank', title: 'Bad Request', status, detail }));
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => done(null, body));
  app.setNotFoundHandler((_req, reply) => fail(reply, 404, 'no route'));
  const intParam = (raw: unknown, min: number, max = Infinity): number | undefined => {
    if (typeof raw !== 'string' || !/^-?\d+$/.test(raw)) return undefined;
    const n = Number(raw);
    return n >= min && n <= max ? n : undefined;
  };
  const validNew = (raw: unknown): { name: string; note?: string | null; size?: number } | undefined => {
    if (typeof raw !== 'string') return undefined;
    let body: unknown;
    try {
      body = JSON.parse(raw);
    } catch {
      return undefined;
    }
    if (typeof body !== 'object' || body === null || Array.isArray(body)) return undefined;
    const b = body as Record<string, unknown>;
    if (Object.keys(b).some((k) => !['name', 'note', 'size'].includes(k))) return undefined;
    if (typeof b['name'] !== 'string' || [...b['name']].length < 1 || [...b['name']].length > 5) return undefined;
    if ('note' in b && b['note'] !== null && typeof b['note'] !== 'string') return undefined;
    if ('size' in b && (typeof b['size'] !== 'number' || b['size'] < 0)) return undefined;
    return b as { name: string };
  };
  app.get('/items', (request, reply) => {
    const q = request.query as Record<string, unknown>;
    if ('limit' in q && intParam(q['limit'], 1, 10) === undefined) return fail(reply, 400, 'bad limit');
    if ('tag' in q && !['a', 'b'].includes(q['tag'] as string)) return fail(reply, 400, 'bad tag');
    // GET /items declares 200 and 400 only (no default).
    if (brk === 'undeclared-status' && q['tag'] === 'b') return fail(reply, 404, 'no items tagged b');
    return reply.code(200).send([...items.values()].slice(0, 10));
  });
  app.post('/items', (request, reply) => {
    if (!String(request.headers['content-type'] ?? '').startsWith('application/json')) return fail(reply, 415, 'json only');
    const body = validNew(request.body);
    if (!body) {
      if (brk === 'accepts-invalid') return reply.code(201).send({ id: 0, name: 'x' });
      return fail(reply, 400, 'bad body');
    }
    const item = { ...body, id: nextId++ };
    items.set(item.id, item);
    return reply.code(201).send(item);
  });
  app.get('/health', (_request, reply) => reply.code(200).type('text/plain; charset=utf-8').send('ok'));
  app.get('/items/:id', (request, reply) => {
    const id = intParam((request.params as { id: string }).id, 1);
    if (id === undefined) return fail(reply, 400, 'bad id');
    const item = items.get(id);
    if (!item) return fail(reply, 404, 'no such item');
    if (id % 2 === 0) {
      if (brk === 'body') return reply.code(200).send({ ...item, name: 42 });
      if (brk === 'content-type') return reply.code(200).type('text/html').send('<p>item</p>');
      if (brk === '500')
        return reply
          .code(500)
          .type('application/problem+json')
          .send(JSON.stringify({ type: 'about:blank', title: 'Internal', status: 500 }));
    }
    return reply.code(200).send(item);
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  return { app, url: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}` };
}

const model = () => specModel(structuredClone(SPEC) as unknown as Record<string, unknown>);

describe('the response check', () => {
  const m = model();
  const getItem = m.operations.find((o) => o.key === 'GET /items/{id}')!;
  const createItem = m.operations.find((o) => o.key === 'POST /items')!;
  const listItems = m.operations.find((o) => o.key === 'GET /items')!;
  const health = m.operations.find((o) => o.key === 'GET /health')!;
  const json = 'application/json; charset=utf-8';
  const problemType = 'application/problem+json';
  const problemBody = JSON.stringify({ type: 'about:blank', title: 'Bad', status: 400 });
  it.each([
    ['a matching 200', getItem, 'valid', 200, json, '{"id":1,"name":"ab"}', undefined],
    ['a nullable field as null (3.0 nullable)', getItem, 'valid', 200, json, '{"id":1,"name":"ab","note":null}', undefined],
    ['a 500', getItem, 'valid', 500, problemType, '{}', '5xx'],
    ['an undeclared status', listItems, 'valid', 404, problemType, problemBody, 'undeclared status'],
    ['a body that breaks the schema', getItem, 'valid', 200, json, '{"id":"1","name":"ab"}', 'body'],
    ['an extra property where additionalProperties is false', getItem, 'valid', 200, json, '{"id":1,"name":"ab","x":1}', 'body'],
    ['a content type not declared', getItem, 'valid', 200, 'text/html', '<p>', 'content type'],
    ['problem+json where only json is declared', getItem, 'valid', 200, problemType, '{"id":1,"name":"ab"}', 'content type'],
    ['json where problem+json is declared', createItem, 'invalid', 400, json, problemBody, 'content type'],
    ['an empty body where content is declared', getItem, 'valid', 200, json, '', 'body'],
    ['a 4xx caught by 4XX', createItem, 'invalid', 422, problemType, problemBody.replace('400', '422'), undefined],
    ['a 4xx caught by default', getItem, 'invalid', 404, problemType, problemBody.replace('400', '404'), undefined],
    ['an invalid request answered 201', createItem, 'invalid', 201, json, '{"id":1,"name":"ab"}', 'invalid accepted'],
    ['non-JSON where JSON is declared', getItem, 'valid', 200, json, '{"id":', 'body'],
    ['plain text within its string schema', health, 'valid', 200, 'text/plain; charset=utf-8', 'ok', undefined],
    ['plain text that breaks its string schema', health, 'valid', 200, 'text/plain; charset=utf-8', 'too long', 'body'],
    ['XML (declared; its schema describes a value the check does not decode)', health, 'valid', 200, 'application/xml', '<a/>', undefined],
  ] as const)('%s', (_name, op, kind, status, contentType, body, category) => {
    const verdict = checkResponse(m.schemas, op, kind, op.method.toUpperCase(), { status, contentType, body });
    expect(verdict.category).toBe(category);
    expect(verdict.ok).toBe(category === undefined);
  });
});

describe('an operation whose spec declares no status to refuse invalid input with', () => {
  const m = model();
  const getItem = m.operations.find((o) => o.key === 'GET /items/{id}')!;
  const ok200 = getItem.responses.filter((r) => r.status === '200');
  const only404 = { ...getItem, responses: [...ok200, { status: '404', contents: [] }] };
  const only422 = { ...getItem, responses: [...ok200, { status: '422', contents: [] }] };
  const problem400 = JSON.stringify({ type: 'about:blank', title: 'Bad Request', status: 400 });
  it.each([
    ['declares only 404: a 400 problem is the answer it leaves open', only404, 400, 'application/problem+json', problem400, undefined],
    ['declares only 404: a 400 that is not a problem is still wrong', only404, 400, 'application/json', '{"x":1}', 'body'],
    ['declares only 404: a 409 is still undeclared', only404, 409, 'application/problem+json', problem400.replace('400', '409'), 'undeclared status'],
    ['declares 422: a 400 is undeclared (the server should refuse with 422)', only422, 400, 'application/problem+json', problem400, 'undeclared status'],
  ] as const)('%s', (_name, op, status, contentType, body, category) => {
    const verdict = checkResponse(m.schemas, op, 'invalid', 'GET', { status, contentType, body });
    expect(verdict.category).toBe(category);
    expect(verdict.ok).toBe(category === undefined);
  });
});

describe('requests derived from the spec', () => {
  it('valid ones validate, invalid ones break exactly what they say, in every location', () => {
    const m = model();
    const planner = new RequestPlanner(m.schemas, new IdPool());
    const create = m.operations.find((o) => o.key === 'POST /items')!;
    const seen = new Set<string>();
    for (let i = 0; i < 300; i++) {
      const valid = planner.plan(create, i % 2 ? 'valid' : 'edge', createRng(i))!;
      expect(m.schemas.check(create.body!.contents[0]!.schema, JSON.parse(valid.body!))).toBeUndefined();
      const invalid = planner.plan(create, 'invalid', createRng(1000 + i))!;
      seen.add(invalid.what.replace(/".*?"|\d+|\{.*\}|\[.*\]/g, '…').slice(0, 40));
      let parsed: unknown;
      try {
        parsed = invalid.body === undefined ? undefined : JSON.parse(invalid.body);
      } catch {
        continue; // malformed JSON
      }
      if (invalid.headers['content-type'] === 'application/json' && parsed !== undefined) {
        expect(m.schemas.check(create.body!.contents[0]!.schema, parsed), invalid.what).toBeDefined();
      }
    }
    const all = [...seen].join('\n');
    expect(all).toMatch(/removed required/);
    expect(all).toMatch(/added/);
    expect(all).toMatch(/malformed JSON/);
    expect(all).toMatch(/wrong content type/);
    expect(all).toMatch(/missing required request body/);
    const list = m.operations.find((o) => o.key === 'GET /items')!;
    const urls = Array.from({ length: 200 }, (_, i) => planner.plan(list, 'invalid', createRng(i))!.url).join('\n');
    expect(urls).toMatch(/limit=(1e309|-Infinity|Infinity|NaN|-1e309)/);
    expect(urls).toMatch(/limit=11\b/);
    expect(urls).toMatch(/tag=zz-not-in-enum/);
  });
});

describe('the sample handlers', () => {
  it('answer an operation that only redirects with its declared 3xx, never an undeclared 204', async () => {
    const doc = {
      openapi: '3.0.3',
      info: { title: 'r', version: '1' },
      paths: {
        '/go': { get: { operationId: 'go', responses: { '302': { description: 'elsewhere' } } } },
        '/gone': { get: { operationId: 'gone', responses: { '3XX': { description: 'elsewhere' }, '404': { description: 'no' } } } },
      },
    };
    const handlers = sampleHandlers(doc, { go: () => undefined, gone: () => undefined }, { seed: 1 });
    const ctx = (url: string) => ({ request: { method: 'GET', routeOptions: { url } } });
    expect(await handlers.go!(ctx('/go'))).toEqual({ status: 302 });
    expect(await handlers.gone!(ctx('/gone'))).toEqual({ status: 303 });
  });
});

describe('an error response whose schema no body satisfies', () => {
  it('is judged on its status and content type only, and the operation is reported as judged in part', () => {
    const alt = { type: 'object', properties: { error: { type: 'string' } } };
    const doc = {
      openapi: '3.0.3',
      info: { title: 'o', version: '1' },
      paths: {
        '/code': {
          post: {
            operationId: 'code',
            responses: {
              '200': { description: 'ok' },
              '400': { description: 'bad', content: { 'application/json': { schema: { oneOf: [alt, alt] } } } },
            },
          },
        },
      },
    };
    const m = specModel(doc);
    const { operations, excluded, partly } = judgeable(m);
    expect(excluded).toEqual([]);
    expect(partly).toEqual([{ op: 'POST /code', reason: expect.stringMatching(/no body satisfies the schema of its 400 response/) }]);
    const op = operations[0]!;
    expect(checkResponse(m.schemas, op, 'invalid', 'POST', { status: 400, contentType: 'application/json', body: 'null' })).toEqual({
      ok: true,
      undeclarable: true,
    });
    expect(checkResponse(m.schemas, op, 'invalid', 'POST', { status: 400, contentType: 'text/html', body: 'x' }).category).toBe('content type');
    // Judged as written without the mark: the body fails.
    expect(checkResponse(m.schemas, m.operations[0]!, 'invalid', 'POST', { status: 400, contentType: 'application/json', body: 'null' }).ok).toBe(false);
  });
});

describe('a run against a hand-written server', () => {
  const servers: FastifyInstance[] = [];
  afterAll(async () => {
    for (const s of servers) await s.close();
  });
  const runAgainst = async (brk: Break) => {
    const { app, url } = await itemsServer(brk);
    servers.push(app);
    return runConformance({ target: brk, baseUrl: url, model: model(), requests: 400, seed: 7, concurrency: 4 });
  };

  let clean: Awaited<ReturnType<typeof runAgainst>>;
  beforeAll(async () => {
    clean = await runAgainst('none');
  });

  it('finds nothing wrong with a server that keeps the spec', () => {
    expect(clean.requests).toBe(400);
    expect(failureTable(clean.failures)).toBe('(no failures)');
    expect(clean.byKind.invalid).toBeGreaterThan(50);
    expect(clean.byKind.edge).toBeGreaterThan(30);
    // Ids from POST are reused: most GET /items/{id} find their item.
    expect(clean.byStatus['200']).toBeGreaterThan(100);
  });

  it.each([
    ['undeclared-status', 'undeclared status'],
    ['body', 'body'],
    ['content-type', 'content type'],
    ['500', '5xx'],
    ['accepts-invalid', 'invalid accepted'],
  ] as const)('catches a server that breaks it: %s', async (brk, category) => {
    const result = await runAgainst(brk);
    expect(result.byCategory[category] ?? 0, failureTable(result.failures)).toBeGreaterThan(0);
    expect(Object.keys(result.byCategory)).toEqual([category]);
    if (category === '5xx') expect(result.fiveXX).toBe(result.byCategory['5xx']);
    else expect(result.violations).toBe(result.byCategory[category]);
  });
});
