/**
 * backdev/runtime/http: the request validation and error classification a generated server uses, on a
 * real Fastify app (bodies as sent, parameters converted from text by their schemas, never non-finite
 * numbers; errors classified by the client-error contract and the SQLSTATE safety net).
 */
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { classifyError, createValidatorCompiler, parseFormBody, problemDetails, validationPointers } from '../../runtime/http/index.js';

const shared = {
  $id: 'shared',
  $defs: {
    Ids: { type: 'array', items: { type: 'integer' } },
    Mode: { type: 'string', enum: ['a', 'b'] },
    Thing: {
      type: 'object',
      required: ['name'],
      properties: { name: { type: 'string' }, size: { type: 'number' }, note: { type: ['string', 'null'] }, flag: { type: 'boolean', default: false } },
      additionalProperties: false,
    },
  },
};

let app: FastifyInstance;
beforeAll(async () => {
  app = Fastify({ logger: false });
  const validatorCompiler = createValidatorCompiler([shared]);
  app.setErrorHandler((error, _request, reply) => {
    const c = classifyError(error, { routeId: 'id' });
    return reply.code(c.status).send(problemDetails(c.status, c.detail, c.errors));
  });
  app.route({
    method: 'POST',
    url: '/things/:routeId',
    validatorCompiler,
    schema: {
      params: { type: 'object', properties: { routeId: { type: 'integer', minimum: 1 } } },
      querystring: {
        type: 'object',
        properties: {
          ids: { $ref: 'shared#/$defs/Ids' },
          ratio: { type: 'number' },
          on: { type: 'boolean' },
          mode: { $ref: 'shared#/$defs/Mode' },
          either: { anyOf: [{ type: 'integer' }, { type: 'boolean' }] },
        },
      },
      headers: { type: 'object', properties: { 'x-ids': { type: 'array', items: { type: 'integer' } }, 'x-limit': { type: 'integer' } } },
      body: { $ref: 'shared#/$defs/Thing' },
    },
    handler: async (request) => ({ params: request.params, query: request.query, ids: request.headers['x-ids'], limit: request.headers['x-limit'], body: request.body }),
  });
  await app.ready();
});
afterAll(() => app.close());

const send = (url: string, payload: unknown = { name: 'n' }, headers: Record<string, string> = {}) =>
  app.inject({ method: 'POST', url, payload: payload as never, headers });

describe('parameters', () => {
  it('converts path, query and header text by each schema, arrays included', async () => {
    const res = await send('/things/7?ids=1&ids=2&ratio=.5&on=true&mode=a&either=3', { name: 'n' }, { 'x-ids': '4, 5', 'x-limit': '9' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ params: { routeId: 7 }, query: { ids: [1, 2], ratio: 0.5, on: true, mode: 'a', either: 3 }, ids: [4, 5], limit: 9 });
  });

  it('a single query value of an array parameter is a one-item array', async () => {
    expect((await send('/things/7?ids=3')).json().query).toEqual({ ids: [3] });
  });

  it.each([
    ['/things/7?ratio=Infinity', '/query/ratio'],
    ['/things/7?ratio=-Infinity', '/query/ratio'],
    ['/things/7?ratio=1e309', '/query/ratio'],
    ['/things/7?ratio=NaN', '/query/ratio'],
    ['/things/7?ratio=0x10', '/query/ratio'],
    ['/things/7?ids=1&ids=1e400', '/query/ids/1'],
    ['/things/7?on=1', '/query/on'],
    ['/things/7?mode=c', '/query/mode'],
    ['/things/1e3', '/params/id'],
    ['/things/0', '/params/id'],
  ])('%s is a 400 pointing at %s', async (url, pointer) => {
    const res = await send(url);
    expect(res.statusCode).toBe(400);
    expect(res.json().errors.map((e: { pointer: string }) => e.pointer)).toEqual([pointer]);
  });

  it('a header that is not an integer is a 400 pointing at it', async () => {
    const res = await send('/things/7', { name: 'n' }, { 'x-limit': 'Infinity' });
    expect(res.statusCode).toBe(400);
    expect(res.json().errors).toEqual([{ pointer: '/headers/x-limit', message: 'must be integer' }]);
  });
});

describe('bodies', () => {
  it('are taken as sent, with defaults filled in', async () => {
    expect((await send('/things/7', { name: 'n', size: 2, note: null })).json().body).toEqual({ name: 'n', size: 2, note: null, flag: false });
  });

  it.each([
    [{ name: 'n', extra: 1 }, '/body/extra', 'is not allowed here (unknown property)'],
    [{ name: 'n', size: '2' }, '/body/size', 'must be number'],
    [{ name: null }, '/body/name', 'must be string'],
    [{ name: ['n'] }, '/body/name', 'must be string'],
    [{ name: 'n', flag: 'true' }, '/body/flag', 'must be boolean'],
    [{}, '/body/name', 'is required'],
  ])('%j is a 400 at %s', async (payload, pointer, message) => {
    const res = await send('/things/7', payload);
    expect(res.statusCode).toBe(400);
    expect(res.json().errors).toEqual([{ pointer, message }]);
  });
});

describe('required parameters', () => {
  it('a missing required parameter is refused even when its schema has a default', () => {
    const compile = createValidatorCompiler([]);
    const validate = compile({ httpPart: 'querystring', schema: { type: 'object', required: ['page'], properties: { page: { type: 'integer', default: 1 }, size: { type: 'integer', default: 20 } } } });
    const query: Record<string, unknown> = {};
    expect(validate(query)).toBe(false);
    expect(validate.errors?.[0]).toMatchObject({ keyword: 'required', params: { missingProperty: 'page' } });
    const given: Record<string, unknown> = { page: '2' };
    expect(validate(given)).toBe(true);
    // An optional parameter still gets its default.
    expect(given).toEqual({ page: 2, size: 20 });
  });
});

describe('parameter conversion, decided once per schema', () => {
  const compile = createValidatorCompiler([]);

  it('tries each kind the schema accepts (number, then boolean, then null); text that fits none stays text', () => {
    const validate = compile({ httpPart: 'querystring', schema: { type: 'object', properties: { v: { anyOf: [{ type: 'integer' }, { type: 'boolean' }, { type: 'null' }] } } } });
    for (const [text, want] of [['5', 5], ['-3', -3], ['true', true], ['false', false], ['', null]] as const) {
      const query: Record<string, unknown> = { v: text };
      expect(validate(query), text).toBe(true);
      expect(query.v, text).toBe(want);
    }
    for (const text of ['x', '1.5', 'TRUE', '0x10']) {
      const query: Record<string, unknown> = { v: text };
      expect(validate(query), text).toBe(false);
      expect(query.v, text).toBe(text);
    }
  });

  it('strings and arrays of strings are validated as sent; a single value of an array parameter is wrapped', () => {
    const validate = compile({ httpPart: 'querystring', schema: { type: 'object', properties: { s: { type: 'string', maxLength: 3 }, list: { type: 'array', items: { type: 'string' } } } } });
    const query: Record<string, unknown> = { s: '007', list: ['a', '1'] };
    expect(validate(query)).toBe(true);
    expect(query).toEqual({ s: '007', list: ['a', '1'] });
    const single: Record<string, unknown> = { list: '1' };
    expect(validate(single)).toBe(true);
    expect(single).toEqual({ list: ['1'] });
    expect(validate({ s: 'long' })).toBe(false);
    expect(validate.errors?.[0]).toMatchObject({ instancePath: '/s', keyword: 'maxLength' });
  });

  it('path values and header values are comma-separated lists (header items trimmed)', () => {
    const schema = { type: 'object', properties: { ids: { type: 'array', items: { type: 'integer' } }, names: { type: 'array', items: { type: 'string' } } } };
    const params: Record<string, unknown> = { ids: '1,2', names: 'a, b' };
    expect(compile({ httpPart: 'params', schema })(params)).toBe(true);
    expect(params).toEqual({ ids: [1, 2], names: ['a', ' b'] });
    const headers: Record<string, unknown> = { ids: '1, 2', names: 'a, b' };
    expect(compile({ httpPart: 'headers', schema })(headers)).toBe(true);
    expect(headers).toEqual({ ids: [1, 2], names: ['a', 'b'] });
  });

  it('errors are those of the last call: a call that passes clears them', () => {
    for (const properties of [{ n: { type: 'integer' } }, { s: { type: 'string', minLength: 2 } }]) {
      const validate = compile({ httpPart: 'querystring', schema: { type: 'object', properties } });
      const name = Object.keys(properties)[0]!;
      expect(validate({ [name]: name === 'n' ? 'x' : 'y' })).toBe(false);
      expect(validate.errors?.length, name).toBe(1);
      expect(validate({ [name]: name === 'n' ? '4' : 'yy' })).toBe(true);
      expect(validate.errors ?? null, name).toBeNull();
    }
  });
});

describe('bodies: own properties only', () => {
  const compile = createValidatorCompiler([]);
  const validate = compile({ httpPart: 'body', schema: { type: 'object', required: ['constructor'], properties: { constructor: { type: 'string' }, toString: { type: 'string' } } } });

  it('a required key inherited from Object.prototype is still missing', () => {
    expect(validate({})).toBe(false);
    expect(validate.errors?.[0]).toMatchObject({ keyword: 'required', params: { missingProperty: 'constructor' } });
  });

  it('an optional key named like an Object.prototype method is not checked when absent', () => {
    expect(validate({ constructor: 'c' })).toBe(true);
    expect(validate({ constructor: 'c', toString: 1 })).toBe(false);
  });
});

describe('each call validates its own data (one context object shared by all calls)', () => {
  // `$data` reads the value it compares with from the root of the data validated: the root must be this
  // call's data, not an earlier call's, and error paths start at the root.
  const compile = createValidatorCompiler([], { bodyAjv: { $data: true }, parameterAjv: { $data: true } });
  const schema = { type: 'object', properties: { min: { type: 'integer' }, n: { type: 'integer', minimum: { $data: '/min' } } } };

  it('bodies', () => {
    const validate = compile({ httpPart: 'body', schema });
    expect(validate({ min: 5, n: 3 })).toBe(false);
    expect(validate.errors?.[0]).toMatchObject({ keyword: 'minimum', instancePath: '/n' });
    expect(validate({ min: 1, n: 3 })).toBe(true);
    expect(validate({ min: 4, n: 3 })).toBe(false);
  });

  it('parameters converted from text', () => {
    const validate = compile({ httpPart: 'querystring', schema });
    expect(validate({ min: '5', n: '3' })).toBe(false);
    expect(validate.errors?.[0]).toMatchObject({ keyword: 'minimum', instancePath: '/n' });
    expect(validate({ min: '1', n: '3' })).toBe(true);
    expect(validate({ min: '4', n: '3' })).toBe(false);
  });
});

describe('classifyError', () => {
  it.each([
    [{ statusCode: 404, message: 'no such thing' }, { status: 404, detail: 'no such thing', level: 'info' }],
    [{ status: 429, message: 'slow down' }, { status: 429, detail: 'slow down', level: 'info' }],
    [Object.assign(new Error('bad ref'), { statusCode: 422, errors: [{ pointer: '/body/x', message: 'missing' }] }), { status: 422, detail: 'bad ref', errors: [{ pointer: '/body/x', message: 'missing' }] }],
    [Object.assign(new Error('secret'), { code: '22021' }), { status: 400, level: 'warn' }],
    [Object.assign(new Error('secret'), { code: '23505' }), { status: 409, level: 'warn' }],
    [Object.assign(new Error('secret'), { code: '54000' }), { status: 400, level: 'warn' }],
    [Object.assign(new Error('secret'), { code: '42P01' }), { status: 500, detail: 'internal error', level: 'error' }],
    [Object.assign(new Error('secret'), { code: 'EPIPE' }), { status: 500, detail: 'internal error' }],
    [Object.assign(new Error('secret'), { statusCode: 503 }), { status: 503, detail: 'internal error' }],
    [new Error('secret'), { status: 500, detail: 'internal error' }],
    ['a string', { status: 500, detail: 'internal error' }],
  ])('%j → %j', (error, want) => {
    const got = classifyError(error);
    expect(got).toMatchObject(want);
    expect(JSON.stringify(got)).not.toContain('secret');
  });
});

describe('validationPointers', () => {
  it('escapes property names and maps route parameter names back to the spec', () => {
    expect(
      validationPointers(
        [
          { keyword: 'required', instancePath: '', params: { missingProperty: 'a/b~c' }, message: "must have required property 'a/b~c'" },
          { keyword: 'type', instancePath: '/p_1', params: {}, message: 'must be integer' },
        ],
        'params',
        { p_1: 'p.1' },
      ),
    ).toEqual([
      { pointer: '/params/a~1b~0c', message: 'is required' },
      { pointer: '/params/p.1', message: 'must be integer' },
    ]);
  });
});

describe('form bodies (application/x-www-form-urlencoded)', () => {
  let form: FastifyInstance;
  beforeAll(async () => {
    form = Fastify({ logger: false });
    form.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, done) => done(null, parseFormBody(String(body))));
    form.setErrorHandler((error, _request, reply) => {
      const c = classifyError(error);
      return reply.code(c.status).send(problemDetails(c.status, c.detail, c.errors));
    });
    form.route({
      method: 'POST',
      url: '/form',
      validatorCompiler: createValidatorCompiler([shared]),
      schema: {
        body: {
          content: {
            'application/x-www-form-urlencoded': {
              schema: {
                type: 'object',
                required: ['n'],
                properties: { n: { type: 'integer' }, on: { type: 'boolean' }, ratio: { type: 'number' }, tags: { type: 'array', items: { type: 'integer' } }, name: { type: 'string' } },
                additionalProperties: false,
              },
            },
          },
        },
      },
      handler: async (request) => ({ body: request.body }),
    });
    await form.ready();
  });
  afterAll(() => form.close());
  const post = (payload: string) => form.inject({ method: 'POST', url: '/form', payload, headers: { 'content-type': 'application/x-www-form-urlencoded' } });

  it('converts the text fields by the body schema, as parameters are, repeated names to arrays', async () => {
    const res = await post('n=3&on=true&ratio=0.5&tags=1&tags=2&name=007');
    expect(res.statusCode).toBe(200);
    expect(res.json().body).toEqual({ n: 3, on: true, ratio: 0.5, tags: [1, 2], name: '007' });
    expect((await post('n=3&tags=4')).json().body).toEqual({ n: 3, tags: [4] });
  });

  it('validates strictly after conversion: text that is no number, a missing field, an unknown one', async () => {
    for (const [payload, pointer] of [
      ['n=abc', '/body/n'],
      ['n=Infinity', '/body/n'],
      ['on=true', '/body/n'],
      ['n=1&extra=x', '/body/extra'],
      ['n=1&tags=x', '/body/tags/0'],
    ] as const) {
      const res = await post(payload);
      expect(res.statusCode, payload).toBe(400);
      expect(res.json().errors[0].pointer, payload).toBe(pointer);
    }
  });

  it('parseFormBody keeps a field named __proto__ as a field', () => {
    const fields = parseFormBody('__proto__=x&a=1&a=2&b=');
    expect(Object.getPrototypeOf(fields)).toBe(Object.prototype);
    expect(Object.keys(fields)).toEqual(['__proto__', 'a', 'b']);
    expect(fields.a).toEqual(['1', '2']);
    expect(fields.b).toBe('');
  });
});

describe('classifyError: the status of an invalid request', () => {
  const validation = Object.assign(new Error('bad'), { statusCode: 400, validation: [{ instancePath: '/n', message: 'must be integer' }], validationContext: 'body' });
  it('is the one the operation declares (422 where it declares 422 and not 400)', () => {
    expect(classifyError(validation, undefined, 422)).toMatchObject({ status: 422, errors: [{ pointer: '/body/n', message: 'must be integer' }] });
    expect(classifyError(validation)).toMatchObject({ status: 400 });
  });
  it("covers Fastify's 400s for bodies it cannot parse, not a handler's own 400", () => {
    const unparsable = Object.assign(new Error("Body is not valid JSON but content-type is set to 'application/json'"), { statusCode: 400, code: 'FST_ERR_CTP_INVALID_JSON_BODY' });
    expect(classifyError(unparsable, undefined, 422)).toMatchObject({ status: 422, level: 'info' });
    expect(classifyError(Object.assign(new Error('bad cursor'), { statusCode: 400 }), undefined, 422)).toMatchObject({ status: 400, detail: 'bad cursor' });
  });
});

describe('an absent body', () => {
  it('passes body validation whatever the schema (a required body is checked before, by the operation)', () => {
    const compile = createValidatorCompiler([shared]);
    const validate = compile({ schema: { type: 'array', items: { type: 'integer' } }, httpPart: 'body' });
    expect(validate(undefined)).toBe(true);
    expect(validate(['x'])).toBe(false);
    expect(validate([1])).toBe(true);
  });
});
