/**
 * Spec paths → Fastify route URLs. find-my-way ends a parameter's name only at `/`, `-`, `.` or `(`: a
 * parameter followed by other static text of its segment must still be a parameter of that name, and the
 * route must match the URLs the spec describes. Each case registers the route built from the IR, with the
 * route's params schema and the runtime's validator, and sends requests with `inject`.
 */
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { DEFAULT_OUTPUT } from '../../generators/core/config.js';
import { buildApi } from '../../generators/core/ir/build.js';
import { loadSpec } from '../../generators/core/spec/load.js';
import { buildView } from '../../generators/create-api/view-model.js';
import { createValidatorCompiler } from '../../runtime/http/index.js';

type Json = Record<string, unknown>;

async function apiOf(paths: Json) {
  const doc = { openapi: '3.0.3', info: { title: 't', version: '1' }, paths };
  return buildApi(await loadSpec('/virtual/spec.json', { rootText: JSON.stringify(doc) }));
}

const stringParam = (name: string) => ({ name, in: 'path', required: true, schema: { type: 'string' } });
const op = (...params: string[]) => ({ get: { operationId: 'it', parameters: params.map(stringParam), responses: { '200': { description: 'ok' } } } });

/** The app with the one route of `path`; answers the params under their spec names. */
async function appFor(path: string, declared: string[]) {
  const api = await apiOf({ [path]: op(...declared) });
  const view = buildView(api, DEFAULT_OUTPUT, new Set());
  const route = view.operations[0]!;
  const app = Fastify();
  app.route({
    method: 'GET',
    url: route.url,
    schema: { params: route.schema.params },
    validatorCompiler: createValidatorCompiler([{ $id: api.schemaId, $defs: {} }]),
    handler: async (request) => {
      const params: Record<string, unknown> = {};
      for (const [name, value] of Object.entries(request.params as Json)) params[route.paramRenames?.[name] ?? name] = value;
      return params;
    },
  });
  await app.ready();
  return { app, url: route.url, warnings: api.warnings };
}

describe('a parameter followed by static text of its segment', () => {
  it.each([
    // [spec path, declared parameters, request URL, params the handler gets]
    ['/items/{id}/`${x}`', ['id', 'x'], '/items/a%27b/%60$hello%60', { id: "a'b", x: 'hello' }],
    ['/items/{id}/`${x}`', ['id', 'x'], "/items/a'b/`$hello`", { id: "a'b", x: 'hello' }],
    ['/files/{name}~backup', ['name'], '/files/notes~backup', { name: 'notes' }],
    ['/files/{name}~backup', ['name'], '/files/a~b~backup', { name: 'a~b' }],
    ['/a/{x}(y)', ['x'], '/a/q(y)', { x: 'q' }],
    ['/b/{x}:c', ['x'], '/b/zz:c', { x: 'zz' }],
    ['/c/{x}.json', ['x'], '/c/f.json', { x: 'f' }],
    // Line and paragraph separators are ordinary characters of a value (a regex `.` would refuse them).
    ['/c/{x}.json', ['x'], '/c/a%E2%80%A8b%E2%80%A9.json', { x: 'a\u2028b\u2029' }],
    ['/c/{x}-{y}', ['x', 'y'], '/c/%E2%80%A8-%0A', { x: '\u2028', y: '\n' }],
    // An encoded slash is part of the value.
    ['/c/{x}.json', ['x'], '/c/%3C%2Fscript%3E.json', { x: '</script>' }],
    ['/files/{name}~backup', ['name'], '/files/a%2Fb~backup', { name: 'a/b' }],
    ['/d/{owner-name}@{host}', ['owner-name', 'host'], '/d/ann@example.com', { 'owner-name': 'ann', host: 'example.com' }],
    // After a parameter, a `*` is static text of its segment, not a wildcard.
    ['/x/{a}*', ['a'], '/x/1*', { a: '1' }],
  ])('%s matches %s', async (path, declared, url, params) => {
    const { app, warnings } = await appFor(path, declared);
    const res = await app.inject({ method: 'GET', url: url });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toEqual(params);
    expect(warnings.map((w) => w.code)).toEqual([]);
    await app.close();
  });

  it('does not match what the static text rules out', async () => {
    const { app } = await appFor('/files/{name}~backup', ['name']);
    for (const url of ['/files/notes', '/files/~backup', '/files/a/b~backup', '/files/notes~backupx']) {
      expect((await app.inject({ method: 'GET', url })).statusCode, url).toBe(404);
    }
    await app.close();
  });

  it('an undeclared template is a required string parameter, with a warning that quotes it and the path', async () => {
    const path = "/items/{id}/`${globalThis.__backdevPwned = 'path'}`";
    const { app, warnings } = await appFor(path, ['id']);
    expect(warnings).toEqual([
      {
        code: 'PATH_PARAMETER_UNDECLARED',
        subject: 'operation "it"',
        message: `the path ${JSON.stringify(path)} has the template "{globalThis.__backdevPwned = 'path'}" but declares no path parameter "globalThis.__backdevPwned = 'path'"; it is treated as a required string parameter`,
      },
    ]);
    const res = await app.inject({ method: 'GET', url: '/items/a/`$anything`' });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toEqual({ id: 'a', "globalThis.__backdevPwned = 'path'": 'anything' });
    await app.close();
  });

  it('two parameters with nothing between them: a warning says the split is arbitrary', async () => {
    const { app, warnings } = await appFor('/e/{a}{b}', ['a', 'b']);
    expect(warnings.map((w) => w.code)).toEqual(['PATH_PARAMETER_BOUNDARY']);
    expect(warnings[0]!.message).toContain('"a" is followed directly by parameter "b"');
    expect((await app.inject({ method: 'GET', url: '/e/abc' })).json()).toEqual({ a: 'a', b: 'bc' });
    await app.close();
  });

  it('a "*" where the router reads a wildcard: the operation is left out with a warning', async () => {
    for (const path of ['/files/*', '/a*b/{id}', '/v1/*{id}']) {
      const api = await apiOf({ [path]: op(...(path.includes('{id}') ? ['id'] : [])), '/ok': op() });
      expect(api.operations.map((o) => o.path)).toEqual(['/ok']);
      expect(api.warnings).toEqual([expect.objectContaining({ code: 'PATH_WILDCARD', message: expect.stringContaining(JSON.stringify(path)) })]);
    }
  });
});
