import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BackdevError, type ErrorCode } from '../../generators/core/errors.js';
import { loadSpec } from '../../generators/core/spec/load.js';
import { SPECS } from '../helpers.js';

const spec = (name: string) => path.join(SPECS, name);

async function loadError(file: string, text?: string): Promise<BackdevError> {
  try {
    await loadSpec(file, text === undefined ? {} : { rootText: text });
  } catch (err) {
    if (err instanceof BackdevError) return err;
    throw err;
  }
  throw new Error(`${file} loaded without error`);
}

describe('loadSpec: bad input gets a located error', () => {
  const cases: { name: string; file: string; text?: string; code: ErrorCode; line?: number; column?: number; pointer?: string; message: RegExp }[] = [
    { name: 'YAML syntax error', file: spec('bad/syntax.yaml'), code: 'SPEC_SYNTAX', line: 12, column: 9, message: /invalid YAML/ },
    { name: 'JSON syntax error', file: spec('bad/syntax.json'), code: 'SPEC_SYNTAX', line: 5, column: 67, message: /invalid JSON/ },
    {
      name: 'dangling local $ref',
      file: spec('bad/dangling-ref.yaml'),
      code: 'SPEC_REF_UNRESOLVED',
      line: 15,
      column: 17,
      pointer: '/paths/~1pets/get/responses/200/content/application~1json/schema/$ref',
      message: /#\/components\/schemas\/Missing/,
    },
    { name: 'not OpenAPI at all', file: spec('bad/not-openapi.yaml'), code: 'SPEC_NOT_OPENAPI', line: 1, column: 1, message: /not an OpenAPI document/ },
    { name: 'missing file', file: spec('bad/does-not-exist.yaml'), code: 'SPEC_UNREADABLE', message: /no such file/ },
    {
      name: 'unsupported version',
      file: '/virtual/v4.yaml',
      text: 'openapi: 4.0.0\ninfo: {title: x, version: "1"}\npaths: {}\n',
      code: 'SPEC_UNSUPPORTED_VERSION',
      line: 1,
      column: 1,
      pointer: '/openapi',
      message: /4\.0\.0/,
    },
    {
      name: 'a list at the top',
      file: '/virtual/list.yaml',
      text: '- openapi: 3.0.0\n',
      code: 'SPEC_NOT_OPENAPI',
      message: /expected a mapping/,
    },
    {
      name: 'path item not an object',
      file: '/virtual/p.yaml',
      text: 'openapi: 3.0.0\ninfo: {title: x, version: "1"}\npaths:\n  /a: 5\n',
      code: 'SPEC_INVALID',
      line: 4,
      column: 3,
      pointer: '/paths/~1a',
      message: /path item "\/a" must be an object/,
    },
    {
      name: 'parameter without "in"',
      file: '/virtual/p.yaml',
      text: 'openapi: 3.0.0\ninfo: {title: x, version: "1"}\npaths:\n  /a:\n    get:\n      parameters:\n        - name: q\n      responses: {}\n',
      code: 'SPEC_INVALID',
      line: 7,
      column: 11,
      pointer: '/paths/~1a/get/parameters/0',
      message: /needs "in"/,
    },
  ];
  it.each(cases)('$name', async (c) => {
    const err = await loadError(c.file, c.text);
    expect(err.code).toBe(c.code);
    expect(err.message).toMatch(c.message);
    expect(err.location?.file).toBe(path.resolve(c.file));
    if (c.line !== undefined) expect(err.location?.line).toBe(c.line);
    if (c.column !== undefined) expect(err.location?.column).toBe(c.column);
    if (c.pointer !== undefined) expect(err.location?.pointer).toBe(c.pointer);
    // The one-line form a user sees names file, line and column.
    if (c.line !== undefined) expect(err.format()).toContain(`${path.resolve(c.file)}:${c.line}:${c.column}`);
  });

  it('locates a dangling $ref into another file at the referring spot', async () => {
    const text = (await import('node:fs')).readFileSync(spec('multi/openapi.yaml'), 'utf8').replace("'./schemas.yaml#/TreeNode'", "'./schemas.yaml#/Nope'");
    const err = await loadError(spec('multi/openapi.yaml'), text);
    expect(err.code).toBe('SPEC_REF_UNRESOLVED');
    expect(err.message).toContain('./schemas.yaml#/Nope');
    expect(err.location).toMatchObject({ file: spec('multi/openapi.yaml'), line: 63, column: 15 });
  });
});

describe('loadSpec: accepted input', () => {
  it('bundles a multi-file 3.1 spec into one document with local refs only', async () => {
    const loaded = await loadSpec(spec('multi/openapi.yaml'));
    expect(loaded.version).toBe('3.1');
    expect(loaded.pointersMatchRoot).toBe(false);
    const refs = JSON.stringify(loaded.document).match(/"\$ref":"[^"]*"/g) ?? [];
    expect(refs.length).toBeGreaterThan(0);
    for (const ref of refs) expect(ref).toMatch(/"\$ref":"#\/components\/schemas\//);
    expect(Object.keys((loaded.document.components as { schemas: object }).schemas)).toEqual(
      expect.arrayContaining(['Animal', 'Cat', 'Dog', 'TreeNode', 'Problem']),
    );
  });

  it('converts Swagger 2.0 with a notice', async () => {
    const loaded = await loadSpec(spec('swagger2.json'));
    expect(loaded.sourceVersion).toBe('2.0');
    expect(loaded.version).toBe('3.0');
    expect(loaded.warnings.map((w) => w.code)).toContain('SWAGGER2_CONVERTED');
    expect(Object.keys(loaded.document.paths as object)).toEqual(['/users/{id}', '/users']);
  });

  it('reads JSON and YAML alike', async () => {
    const yaml = await loadSpec('/virtual/a.yaml', { rootText: 'openapi: 3.0.3\ninfo: {title: t, version: "1"}\npaths: {}\n' });
    const json = await loadSpec('/virtual/a.json', { rootText: '{"openapi":"3.0.3","info":{"title":"t","version":"1"},"paths":{}}' });
    expect(yaml.document).toEqual(json.document);
  });
});
