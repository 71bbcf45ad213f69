/**
 * Declared error bodies: which error responses a problem does not fit, and the mapper create-api derives
 * for each such schema (given/want tables over small specs).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_OUTPUT } from '../../generators/core/config.js';
import type { Warning } from '../../generators/core/errors.js';
import { buildApi } from '../../generators/core/ir/build.js';
import { loadSpec } from '../../generators/core/spec/load.js';
import { memoryOutput } from '../../generators/core/report.js';
import { runCreateApi } from '../../generators/index.js';
import { buildView } from '../../generators/create-api/view-model.js';
import { cleanup, linkBackdev, PROJECT_TSCONFIG, tempDir, typecheck } from '../helpers.js';

const dir = tempDir('error-responses');
afterAll(() => cleanup(dir));
let n = 0;

type Json = Record<string, unknown>;

async function viewOf(responses: Json, schemas: Json = {}, warnings: Warning[] = []) {
  const file = path.join(dir, `spec-${n++}.json`);
  const doc = {
    openapi: '3.0.3',
    info: { title: 't', version: '1' },
    paths: { '/things': { get: { operationId: 'listThings', responses: { '200': { description: 'ok' }, ...responses } } } },
    components: { schemas },
  };
  writeFileSync(file, JSON.stringify(doc));
  return buildView(buildApi(await loadSpec(file)), DEFAULT_OUTPUT, new Set(), warnings);
}

const json = (schema: Json, mediaType = 'application/json') => ({ description: 'e', content: { [mediaType]: { schema } } });
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });

describe('declared error responses', () => {
  it("the pet store's Error {code, message}: status and detail, for every operation and unknown routes", async () => {
    const view = await viewOf(
      { '400': json(ref('Error')), default: json(ref('Error')) },
      { Error: { type: 'object', required: ['code', 'message'], properties: { code: { type: 'integer', format: 'int32' }, message: { type: 'string' } } } },
    );
    expect(view.errorMappers).toEqual([
      {
        name: 'errorBody',
        schemaName: 'Error',
        usedBy: ['GET /things 400', 'GET /things default'],
        fields: [
          { name: 'code', source: 'status' },
          { name: 'message', source: 'detail' },
        ],
        whole: undefined,
      },
    ]);
    expect(view.operations[0]!.errorResponses).toEqual([
      { status: '400', contentType: 'application/json', mapper: 'errorBody', empty: false },
      { status: 'default', contentType: 'application/json', mapper: 'errorBody', empty: false },
    ]);
    expect(view.fallbackErrors).toEqual([{ status: 'default', contentType: 'application/json', mapper: 'errorBody', empty: false }]);
    expect(view.errorMappersUseComponents).toBe(true);
  });

  it('{error, message}: the title and the detail', async () => {
    const view = await viewOf(
      { '401': json(ref('AuthError')) },
      { AuthError: { type: 'object', required: ['error', 'message'], properties: { error: { type: 'string' }, message: { type: 'string' } } } },
    );
    expect(view.errorMappers[0]!.fields).toEqual([
      { name: 'error', source: 'title' },
      { name: 'message', source: 'detail' },
    ]);
  });

  it.each([
    ['a problem+json response', { '400': json(ref('Problem'), 'application/problem+json') }, 'application/problem+json', false],
    ['a JSON schema a problem fits', { '404': json({ type: 'object', properties: { title: { type: 'string' }, status: { type: 'integer' } } }) }, 'application/json', false],
    // Declared with no content: the status is sent with an empty body.
    ['no content', { '404': { description: 'none' } }, 'application/problem+json', true],
    ['only a text body', { '404': { description: 'e', content: { 'text/plain': { schema: { type: 'string' } } } } }, 'application/problem+json', false],
  ])('%s needs no mapper', async (_title, responses, contentType, empty) => {
    const view = await viewOf(responses, {
      Problem: { type: 'object', required: ['type', 'title', 'status'], properties: { type: { type: 'string' }, title: { type: 'string' }, status: { type: 'integer' } } },
    });
    expect(view.errorMappers).toEqual([]);
    expect(view.operations[0]!.errorResponses).toEqual([{ status: expect.any(String), contentType, mapper: undefined, empty }]);
    expect(view.fallbackErrors).toEqual([]);
  });

  it('an inline schema: a string code gets the status as text, other required properties a valid sample', async () => {
    const view = await viewOf({
      '4XX': json({
        type: 'object',
        required: ['code', 'when', 'kind'],
        properties: { code: { type: 'string' }, when: { type: 'string', format: 'date-time' }, kind: { type: 'integer', enum: [7] }, hint: { type: 'string' } },
        additionalProperties: false,
      }),
    });
    const [mapper] = view.errorMappers;
    expect(mapper).toMatchObject({ name: 'listThings4XxError', schemaName: undefined, usedBy: ['GET /things 4XX'] });
    expect(mapper!.fields).toEqual([
      { name: 'code', source: 'statusText' },
      { name: 'when', source: 'sample', sample: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) },
      { name: 'kind', source: 'sample', sample: 7 },
    ]);
    expect(view.errorMappersUseComponents).toBe(false);
  });

  it('a schema no body satisfies (oneOf alternatives accepting the same objects) is a warning, not a silent null', async () => {
    const alt = (d: string) => ({ type: 'object', description: d, properties: { error: { type: 'string' }, error_description: { type: 'string' } } });
    const warnings: Warning[] = [];
    const view = await viewOf({ '400': json({ oneOf: [ref('One'), ref('Two')] }) }, { One: alt('one'), Two: alt('two') }, warnings);
    expect(view.errorMappers).toHaveLength(1);
    expect(warnings).toEqual([
      {
        code: 'ERROR_BODY_UNSATISFIABLE',
        subject: 'operation listThings',
        message: expect.stringMatching(/^no value satisfies the schema of response 400 .*listThings400Error in src\/errors\.ts returns null/),
      },
    ]);
    const fine: Warning[] = [];
    await viewOf({ '400': json({ oneOf: [ref('One'), { type: 'string' }] }) }, { One: alt('one') }, fine);
    expect(fine).toEqual([]);
  });

  it('a string schema is the detail; a code the statuses do not fit is a sample', async () => {
    const view = await viewOf({
      '400': json({ type: 'string' }),
      '500': json({ type: 'object', required: ['code'], properties: { code: { type: 'integer', maximum: 99 } } }),
    });
    expect(view.errorMappers.map((m) => [m.name, m.fields, m.whole])).toEqual([
      ['listThings400Error', undefined, { source: 'detail' }],
      ['listThings500Error', [{ name: 'code', source: 'sample', sample: expect.any(Number) }], undefined],
    ]);
    expect(view.fallbackErrors).toEqual([]);
  });
});

describe('hostile error schemas', () => {
  it('names and property names from the spec reach src/errors.ts only as data, and it type-checks', async () => {
    const out = path.join(dir, 'hostile');
    const file = path.join(dir, 'hostile.json');
    const evil = "Err*/`${globalThis.__backdevPwned = 'name'}`'\"\u2028";
    const prop = "`${globalThis.__backdevPwned = 'prop'}`*/";
    writeFileSync(
      file,
      JSON.stringify({
        openapi: '3.0.3',
        info: { title: 't', version: '1' },
        paths: {
          // No `*` in the path: the router reads it as a wildcard and the operation is left out (PATH_WILDCARD).
          "/x/`'\"/${globalThis.__backdevPwned = 'path'}": {
            get: {
              operationId: 'getX',
              responses: {
                '200': { description: 'ok' },
                default: { description: 'e', content: { 'application/json': { schema: { $ref: `#/components/schemas/${encodeURIComponent(evil.replace(/~/g, '~0').replace(/\//g, '~1'))}` } } } },
                '418': {
                  description: 'e',
                  content: { 'application/json': { schema: { type: 'object', required: [prop, 'message'], properties: { [prop]: { type: 'string', enum: ["'*/"] }, message: { type: 'string' } } } } },
                },
              },
            },
          },
        },
        components: { schemas: { [evil]: { type: 'object', required: ['status', prop], properties: { status: { type: 'integer' }, [prop]: { type: 'string', default: '`${x}`' } } } } },
      }),
    );
    await runCreateApi({ spec: file, out }, memoryOutput());
    writeFileSync(path.join(out, 'tsconfig.json'), PROJECT_TSCONFIG);
    linkBackdev(out);
    expect(await typecheck(out)).toBe('');
    const errors = readFileSync(path.join(out, 'src/errors.ts'), 'utf8');
    expect(errors, errors).toContain('problem.status');
    const mod = (await import(pathToFileURL(path.join(out, 'src/errors.ts')).href)) as Record<string, (p: unknown) => unknown>;
    const problem = { type: 'about:blank', title: "I'm a Teapot", status: 418, detail: 'd' };
    const bodies = Object.values(mod).map((f) => f(problem));
    expect(bodies).toContainEqual({ [prop]: "'*/", message: 'd' });
    expect(bodies).toContainEqual({ status: 418, [prop]: '`${x}`' });
    expect((globalThis as { __backdevPwned?: unknown }).__backdevPwned).toBeUndefined();
  });
});
