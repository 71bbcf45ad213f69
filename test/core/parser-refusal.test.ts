/**
 * Bodies Fastify's JSON parser refuses before validation (prototype poisoning): `jsonParserRefusal` agrees
 * with the parser itself, and the generated test of an operation whose valid body needs such a key does not
 * expect the handler to be reached.
 */
import path from 'node:path';
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { DEFAULT_OUTPUT } from '../../generators/core/config.js';
import { buildApi } from '../../generators/core/ir/build.js';
import { jsonParserRefusal } from '../../generators/create-api/samples/index.js';
import { loadSpec } from '../../generators/core/spec/load.js';
import { buildView } from '../../generators/create-api/view-model.js';
import { SPECS } from '../helpers.js';

describe('jsonParserRefusal', () => {
  const cases: [string, string | undefined][] = [
    ['{"__proto__":"x"}', 'the key "__proto__" at /'],
    ['{"a":[1,{"__proto__":{}}]}', 'the key "__proto__" at /a/1'],
    ['[{"__proto__":null}]', 'the key "__proto__" at /0'],
    ['{"constructor":{"prototype":{}}}', 'the key "constructor" holding a "prototype" at /'],
    ['{"x/y":{"constructor":{"prototype":1}}}', 'the key "constructor" holding a "prototype" at /x~1y'],
    ['{"constructor":"x","prototype":{},"proto":1}', undefined],
    ['{"constructor":{"name":"x"}}', undefined],
    ['{"a":"__proto__"}', undefined],
    ['"__proto__"', undefined],
  ];

  it.each(cases)('%s → %s, as Fastify answers it', async (text, reason) => {
    // JSON.parse makes `__proto__` an own key, as a body sample holds it.
    expect(jsonParserRefusal(JSON.parse(text))).toBe(reason);
    const app = Fastify();
    app.post('/', async () => ({ ok: true }));
    const res = await app.inject({ method: 'POST', url: '/', headers: { 'content-type': 'application/json' }, payload: text });
    expect(res.statusCode).toBe(reason === undefined ? 200 : 400);
    await app.close();
  });
});

describe('the generated test of an operation whose valid body the parser refuses', () => {
  it('sends no "valid" request and says why; its 400 case is one the parser lets through', async () => {
    const api = buildApi(await loadSpec(path.join(SPECS, 'hostile.yaml')));
    const op = buildView(api, DEFAULT_OUTPUT).operations.find((o) => o.operationId === 'constructor')!;
    expect(op.test!.valid).toBeUndefined();
    expect(op.test!.note).toContain('no valid request is sent: a valid body has the key "__proto__" at /');
    expect(op.test!.note).toContain("Fastify's JSON parser refuses with 400 before validation");
    const invalid = op.test!.invalid;
    expect(invalid).toBeDefined();
    expect(jsonParserRefusal(typeof invalid!.request.payload === 'string' ? JSON.parse(invalid!.request.payload) : invalid!.request.payload)).toBeUndefined();
  });

  it('an operation whose body the parser accepts keeps its valid request', async () => {
    const api = buildApi(await loadSpec(path.join(SPECS, 'hostile.yaml')));
    const ops = buildView(api, DEFAULT_OUTPUT).operations;
    for (const op of ops.filter((o) => o.operationId !== 'constructor' && o.test?.valid)) {
      expect(jsonParserRefusal(op.test!.valid!.request.payload)).toBeUndefined();
    }
    expect(ops.find((o) => o.operationId === '1st')!.test!.valid).toBeDefined();
  });
});
