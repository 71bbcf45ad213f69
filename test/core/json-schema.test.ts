import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import type { Warning } from '../../generators/core/errors.js';
import { toFastifySchema, type JsonSchema, type SchemaConversion } from '../../generators/core/ir/json-schema.js';

const PREFIX = 'backdev-schemas#/$defs/';

/** A bundled document the refs of the table point into. */
const document = {
  openapi: '3.1.0',
  paths: {
    '/pets': {
      post: { requestBody: { content: { 'application/json': { schema: { type: 'string', maxLength: 5 } } } } },
    },
  },
  components: {
    schemas: {
      Pet: {
        type: 'object',
        required: ['name'],
        properties: { name: { type: 'string', minLength: 1 }, tag: { type: 'string', default: 'none' } },
      },
      NullablePet: { allOf: [{ $ref: '#/components/schemas/Pet' }], nullable: true },
      Status: { type: 'string', enum: ['on', 'off'], default: 'on' },
      'a~b': { type: 'string' },
      'a/b': { type: 'integer' },
      'A B': { type: 'boolean' },
      'Say "hi"': { type: 'number' },
      '<T>{x}|y\\z^`': { type: 'string', minLength: 2 },
      Café: { type: 'string', maxLength: 9 },
      '100%': { type: 'integer', minimum: 100 },
    },
    parameters: {
      limit: { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, default: 20 } },
      loopA: { name: 'a', in: 'query', schema: { $ref: '#/components/parameters/loopB/schema' } },
      loopB: { name: 'b', in: 'query', schema: { $ref: '#/components/parameters/loopA/schema' } },
    },
  },
};

interface Case {
  name: string;
  version?: '3.0' | '3.1';
  given: unknown;
  want: JsonSchema;
  /** Warning codes, in order (default: none). */
  warnings?: string[];
}

function convert(
  given: unknown,
  version: '3.0' | '3.1' = '3.0',
  extra: Partial<SchemaConversion> = {},
): { out: JsonSchema; warnings: Warning[] } {
  const warnings: Warning[] = [];
  const out = toFastifySchema(given, {
    openapiVersion: version,
    refPrefix: PREFIX,
    document,
    subject: 'schema Test',
    warn: (w) => warnings.push(w),
    ...extra,
  });
  return { out, warnings };
}

const cases: Case[] = [
  // --- OpenAPI 3.0 nullable
  { name: '3.0 nullable string', given: { type: 'string', nullable: true }, want: { type: ['string', 'null'] } },
  {
    name: '3.0 nullable enum gets null in type and enum',
    given: { type: 'string', enum: ['a', 'b'], nullable: true },
    want: { type: ['string', 'null'], enum: ['a', 'b', null] },
  },
  { name: '3.0 nullable enum without type', given: { enum: [1, 2], nullable: true }, want: { enum: [1, 2, null] } },
  {
    name: '3.0 nullable $ref is wrapped (siblings of $ref are ignored)',
    given: { $ref: '#/components/schemas/Pet', nullable: true, description: 'x', minLength: 3 },
    want: { anyOf: [{ $ref: `${PREFIX}Pet` }, { type: 'null' }] },
  },
  {
    name: '3.0 nullable allOf is wrapped, annotations hoisted',
    given: { allOf: [{ $ref: '#/components/schemas/Pet' }], nullable: true, default: null, readOnly: true },
    want: { anyOf: [{ allOf: [{ $ref: `${PREFIX}Pet` }] }, { type: 'null' }], default: null, readOnly: true },
  },
  {
    name: '3.0 nullable oneOf is wrapped',
    given: { oneOf: [{ type: 'string' }, { type: 'integer' }], nullable: true },
    want: { anyOf: [{ oneOf: [{ type: 'string' }, { type: 'integer' }] }, { type: 'null' }] },
  },
  {
    name: '3.0 nullable object with type',
    given: { type: 'object', properties: { a: { type: 'string', nullable: true } }, nullable: true },
    want: { type: ['object', 'null'], properties: { a: { type: ['string', 'null'] } } },
  },
  {
    name: '3.0 nullable without anything that rejects null is left alone',
    given: { properties: { a: { type: 'string' } }, nullable: true },
    want: { properties: { a: { type: 'string' } } },
  },
  { name: '3.0 nullable: false', given: { type: 'integer', nullable: false }, want: { type: 'integer' } },
  {
    name: '3.0 nullable with a non-boolean value',
    given: { type: 'integer', nullable: 'yes' },
    want: { type: 'integer' },
    warnings: ['INVALID_SCHEMA'],
  },
  // --- exclusive bounds
  {
    name: '3.0 exclusiveMinimum: true',
    given: { type: 'number', minimum: 0, exclusiveMinimum: true, maximum: 10 },
    want: { type: 'number', maximum: 10, exclusiveMinimum: 0 },
  },
  {
    name: '3.0 exclusiveMaximum: true and exclusiveMinimum: false',
    given: { type: 'integer', minimum: 1, exclusiveMinimum: false, maximum: 5, exclusiveMaximum: true },
    want: { type: 'integer', minimum: 1, exclusiveMaximum: 5 },
  },
  {
    name: 'exclusiveMinimum: true without minimum',
    given: { type: 'number', exclusiveMinimum: true },
    want: { type: 'number' },
    warnings: ['INVALID_SCHEMA'],
  },
  {
    name: '3.1 numeric exclusive bounds',
    version: '3.1',
    given: { type: 'number', exclusiveMinimum: 0, exclusiveMaximum: 1 },
    want: { type: 'number', exclusiveMinimum: 0, exclusiveMaximum: 1 },
  },
  // --- OpenAPI 3.1
  {
    name: '3.1 type arrays, const, examples dropped',
    version: '3.1',
    given: { type: ['string', 'null'], const: 'x', examples: ['x'] },
    want: { type: ['string', 'null'], const: 'x' },
  },
  {
    name: '3.1 $ref with sibling keywords',
    version: '3.1',
    given: { $ref: '#/components/schemas/Pet', required: ['tag'], description: 'a pet' },
    want: { allOf: [{ $ref: `${PREFIX}Pet` }, { required: ['tag'] }] },
  },
  {
    name: '3.1 $ref with annotations only',
    version: '3.1',
    given: { $ref: '#/components/schemas/Status', description: 'ignored', default: 'off', deprecated: true },
    want: { allOf: [{ $ref: `${PREFIX}Status` }], default: 'off', deprecated: true },
  },
  {
    name: '3.1 $ref with only a description',
    version: '3.1',
    given: { $ref: '#/components/schemas/Pet', description: 'x' },
    want: { $ref: `${PREFIX}Pet` },
  },
  {
    name: '3.1 $defs inside a schema',
    version: '3.1',
    given: { type: 'object', $defs: { x: { type: 'string' } } },
    want: { type: 'object' },
    warnings: ['UNSUPPORTED_SCHEMA'],
  },
  {
    name: '3.1 contentEncoding / contentMediaType dropped',
    version: '3.1',
    given: { type: 'string', contentEncoding: 'base64', contentMediaType: 'image/png' },
    want: { type: 'string' },
  },
  {
    name: '3.1 prefixItems become a draft-07 tuple',
    version: '3.1',
    given: { type: 'array', prefixItems: [{ type: 'string' }, { type: 'integer' }], items: false, minItems: 2 },
    want: { type: 'array', minItems: 2, items: [{ type: 'string' }, { type: 'integer' }], additionalItems: false },
  },
  {
    name: '3.1 boolean subschemas',
    version: '3.1',
    given: { type: 'object', properties: { no: false, yes: true }, additionalProperties: false },
    want: { type: 'object', properties: { no: false, yes: true }, additionalProperties: false },
  },
  {
    name: '3.1 unevaluatedProperties is not supported',
    version: '3.1',
    given: { type: 'object', unevaluatedProperties: false },
    want: { type: 'object' },
    warnings: ['UNSUPPORTED_SCHEMA'],
  },
  // --- $ref rewriting
  { name: 'plain component $ref', given: { $ref: '#/components/schemas/Pet' }, want: { $ref: `${PREFIX}Pet` } },
  { name: '$ref to a name with ~', given: { $ref: '#/components/schemas/a~0b' }, want: { $ref: `${PREFIX}a~0b` } },
  { name: '$ref to a name with /', given: { $ref: '#/components/schemas/a~1b' }, want: { $ref: `${PREFIX}a~1b` } },
  { name: '$ref to a name with a space', given: { $ref: '#/components/schemas/A%20B' }, want: { $ref: `${PREFIX}A%20B` } },
  {
    name: '$ref to a name with a space, not percent-encoded in the input',
    given: { $ref: '#/components/schemas/A B' },
    want: { $ref: `${PREFIX}A%20B` },
  },
  {
    name: '$ref to a name with quotes',
    given: { $ref: '#/components/schemas/Say%20%22hi%22' },
    want: { $ref: `${PREFIX}Say%20%22hi%22` },
  },
  {
    name: '$ref to a name with characters a fragment may not contain',
    given: { $ref: '#/components/schemas/%3CT%3E%7Bx%7D%7Cy%5Cz%5E%60' },
    want: { $ref: `${PREFIX}%3CT%3E%7Bx%7D%7Cy%5Cz%5E%60` },
  },
  { name: '$ref to a non-ASCII name', given: { $ref: '#/components/schemas/Caf%C3%A9' }, want: { $ref: `${PREFIX}Caf%C3%A9` } },
  { name: '$ref to a name with %', given: { $ref: '#/components/schemas/100%25' }, want: { $ref: `${PREFIX}100%25` } },
  {
    name: 'deeper pointer into a component',
    given: { $ref: '#/components/schemas/Pet/properties/name' },
    want: { $ref: `${PREFIX}Pet/properties/name` },
  },
  {
    name: 'deeper pointer the conversion moved is inlined',
    given: { $ref: '#/components/schemas/NullablePet/allOf/0' },
    want: { $ref: `${PREFIX}Pet` },
  },
  {
    name: '$ref into parameters is inlined',
    given: { $ref: '#/components/parameters/limit/schema' },
    want: { type: 'integer', minimum: 1, default: 20 },
  },
  {
    name: '$ref into paths is inlined',
    given: { $ref: '#/paths/~1pets/post/requestBody/content/application~1json/schema' },
    want: { type: 'string', maxLength: 5 },
  },
  {
    name: 'a cycle of inlined refs',
    given: { $ref: '#/components/parameters/loopA/schema' },
    want: {},
    warnings: ['REF_CYCLE'],
  },
  { name: 'unresolvable $ref', given: { $ref: '#/components/schemas/Nope' }, want: {}, warnings: ['UNRESOLVED_REF'] },
  { name: 'external $ref', given: { $ref: 'other.yaml#/Pet' }, want: {}, warnings: ['UNRESOLVED_REF'] },
  {
    name: 'unresolvable $ref inside properties',
    given: { type: 'object', properties: { a: { $ref: '#/components/schemas/Nope' }, b: { type: 'string' } } },
    want: { type: 'object', properties: { a: {}, b: { type: 'string' } } },
    warnings: ['UNRESOLVED_REF'],
  },
  // --- formats, patterns, types
  {
    name: 'formats ajv-formats knows are kept, others dropped',
    given: {
      type: 'object',
      properties: {
        a: { type: 'string', format: 'email' },
        b: { type: 'string', format: 'phone' },
        c: { type: 'integer', format: 'int64' },
        d: { type: 'string', format: 'date-time' },
        e: { type: 'number', format: 'decimal' },
      },
    },
    want: {
      type: 'object',
      properties: {
        a: { type: 'string', format: 'email' },
        b: { type: 'string' },
        c: { type: 'integer', format: 'int64' },
        d: { type: 'string', format: 'date-time' },
        e: { type: 'number' },
      },
    },
  },
  {
    name: 'a pattern that does not compile is dropped',
    given: { type: 'string', pattern: '^(?<x>[a-z]+$', maxLength: 3 },
    want: { type: 'string', maxLength: 3 },
    warnings: ['INVALID_PATTERN'],
  },
  {
    name: 'a pattern that is invalid only with the u flag',
    given: { type: 'string', pattern: '\\_' },
    want: { type: 'string' },
    warnings: ['INVALID_PATTERN'],
  },
  { name: 'a valid pattern is kept', given: { type: 'string', pattern: '^\\p{L}+$' }, want: { type: 'string', pattern: '^\\p{L}+$' } },
  {
    name: 'patternProperties with an invalid key',
    given: { type: 'object', patternProperties: { '^x-': { type: 'string' }, '([': { type: 'integer' } } },
    want: { type: 'object', patternProperties: { '^x-': { type: 'string' } } },
    warnings: ['INVALID_PATTERN'],
  },
  { name: 'type file', given: { type: 'file' }, want: {}, warnings: ['UNSUPPORTED_SCHEMA'] },
  {
    name: 'unknown type names',
    version: '3.1',
    given: { type: ['string', 'date', 'string'] },
    want: { type: ['string'] },
    warnings: ['INVALID_SCHEMA'],
  },
  {
    name: 'required is deduplicated, non-strings dropped',
    given: { type: 'object', required: ['a', 'b', 'a', 3] },
    want: { type: 'object', required: ['a', 'b'] },
    warnings: ['INVALID_SCHEMA'],
  },
  { name: 'required on a non-object is kept', given: { type: 'string', required: ['a'] }, want: { type: 'string', required: ['a'] } },
  { name: 'empty enum', given: { type: 'string', enum: [] }, want: { type: 'string' }, warnings: ['INVALID_SCHEMA'] },
  {
    name: 'additionalProperties: {} is true',
    given: { type: 'object', additionalProperties: {}, properties: { m: { type: 'object', additionalProperties: { description: 'x' } } } },
    want: { type: 'object', additionalProperties: true, properties: { m: { type: 'object', additionalProperties: true } } },
  },
  {
    name: 'annotations are dropped',
    given: {
      type: 'object',
      title: 'T',
      description: 'D',
      example: { a: 1 },
      examples: [{ a: 1 }],
      discriminator: { propertyName: 'kind' },
      xml: { name: 'x' },
      externalDocs: { url: 'https://example.com' },
      'x-internal': true,
      $comment: 'c',
      readOnly: true,
      deprecated: false,
      properties: { kind: { type: 'string', 'x-order': 1 } },
    },
    want: { type: 'object', readOnly: true, deprecated: false, properties: { kind: { type: 'string' } } },
  },
  {
    name: 'property order is preserved, including odd names',
    given: { type: 'object', properties: { z: { type: 'string' }, a: { type: 'string' }, 'x-y': { type: 'integer' } } },
    want: { type: 'object', properties: { z: { type: 'string' }, a: { type: 'string' }, 'x-y': { type: 'integer' } } },
  },
  // --- Ajv strict-mode hazards
  {
    name: 'default below oneOf is dropped (Ajv strict mode rejects it)',
    given: {
      oneOf: [
        { type: 'object', properties: { a: { type: 'string', default: 'x' } } },
        { type: 'array', items: { type: 'string' } },
      ],
    },
    want: {
      oneOf: [{ type: 'object', properties: { a: { type: 'string' } } }, { type: 'array', items: { type: 'string' } }],
    },
  },
  {
    name: 'default of a nullable-wrapped allOf property is dropped, the outer default stays',
    given: {
      type: 'object',
      properties: {
        p: { allOf: [{ type: 'object', properties: { q: { type: 'integer', default: 1 } } }], nullable: true, default: null },
      },
    },
    want: {
      type: 'object',
      properties: {
        p: { anyOf: [{ allOf: [{ type: 'object', properties: { q: { type: 'integer' } } }] }, { type: 'null' }], default: null },
      },
    },
  },
  { name: 'then without if', version: '3.1', given: { then: { type: 'string' } }, want: {}, warnings: ['INVALID_SCHEMA'] },
  { name: 'if without then or else', version: '3.1', given: { if: { type: 'string' } }, want: {}, warnings: ['INVALID_SCHEMA'] },
  {
    name: 'if / then / else',
    version: '3.1',
    given: { if: { type: 'string' }, then: { minLength: 2 }, else: { type: 'integer' } },
    want: { if: { type: 'string' }, then: { minLength: 2 }, else: { type: 'integer' } },
  },
  {
    name: 'properties a patternProperties key matches (Ajv strict mode rejects the overlap)',
    given: {
      type: 'object',
      properties: { 'x-a': { type: 'string', default: 'v' }, b: { type: 'integer' }, 'x-c': {} },
      patternProperties: { '^x-': { type: 'string', minLength: 1 }, '^y': { type: 'boolean' } },
    },
    want: {
      type: 'object',
      properties: {
        'x-a': { allOf: [{ type: 'string' }, { type: 'string', minLength: 1 }], default: 'v' },
        b: { type: 'integer' },
        'x-c': { type: 'string', minLength: 1 },
      },
      patternProperties: {
        '^(?!(?:x-a|x-c)$)[\\s\\S]*?(?:^x-)': { type: 'string', minLength: 1 },
        '^y': { type: 'boolean' },
      },
    },
  },
  // --- garbage
  { name: 'null schema', given: null, want: {}, warnings: ['INVALID_SCHEMA'] },
  { name: 'string schema', given: 'string', want: {}, warnings: ['INVALID_SCHEMA'] },
  { name: 'array schema', given: [{ type: 'string' }], want: {}, warnings: ['INVALID_SCHEMA'] },
  {
    name: 'properties that is not an object',
    given: { type: 'object', properties: ['a'] },
    want: { type: 'object' },
    warnings: ['INVALID_SCHEMA'],
  },
  {
    name: 'a property schema that is not a schema',
    given: { type: 'object', properties: { a: 42 } },
    want: { type: 'object', properties: { a: {} } },
    warnings: ['INVALID_SCHEMA'],
  },
  {
    name: '3.0 items that is an array',
    given: { type: 'array', items: [{ type: 'string' }] },
    want: { type: 'array', items: {} },
    warnings: ['INVALID_SCHEMA'],
  },
  { name: 'type: array without items', given: { type: 'array' }, want: { type: 'array' } },
  {
    name: 'keyword values of the wrong kind',
    given: { type: 'string', minLength: -1, maxLength: 2.5, multipleOf: 0, uniqueItems: 'yes', allOf: [], format: 7 },
    want: { type: 'string' },
    warnings: ['INVALID_SCHEMA', 'INVALID_SCHEMA', 'INVALID_SCHEMA', 'INVALID_SCHEMA', 'INVALID_SCHEMA'],
  },
  {
    name: 'a non-string $ref',
    given: { $ref: 5, type: 'string' },
    want: { type: 'string' },
    warnings: ['INVALID_SCHEMA'],
  },
];

describe('toFastifySchema', () => {
  it.each(cases)('$name', ({ given, version, want, warnings }) => {
    const result = convert(given, version);
    expect(result.out).toEqual(want);
    expect(result.warnings.map((w) => w.code)).toEqual(warnings ?? []);
    for (const w of result.warnings) expect(w.subject).toBe('schema Test');
  });

  it('names the subject, the place and the pattern in a pattern warning', () => {
    const { warnings } = convert({ type: 'object', properties: { code: { type: 'string', pattern: '[a-' } } });
    expect(warnings).toEqual([
      {
        code: 'INVALID_PATTERN',
        subject: 'schema Test',
        message: expect.stringMatching(/^at #\/properties\/code\/pattern: pattern "\[a-" is not a valid regular expression/),
      },
    ]);
  });

  it('reads a default written as text for a boolean or a number as that value, and drops one that is not', () => {
    // Ajv would insert the text and refuse it: a request leaving the parameter out would get a 400.
    expect(convert({ type: 'boolean', default: 'false' }).out).toEqual({ type: 'boolean', default: false });
    expect(convert({ type: 'integer', default: '20' }).out).toEqual({ type: 'integer', default: 20 });
    expect(convert({ type: 'number', default: '-2.5' }).out).toEqual({ type: 'number', default: -2.5 });
    const dropped = convert({ type: 'object', properties: { n: { type: 'integer', default: '2.5' }, b: { type: 'boolean', default: 'yes' } } });
    expect(dropped.out).toEqual({ type: 'object', properties: { n: { type: 'integer' }, b: { type: 'boolean' } } });
    expect(dropped.warnings.map((w) => w.message)).toEqual([
      expect.stringMatching(/^at #\/properties\/n\/default: default "2\.5" is not an integer; ignored/),
      expect.stringMatching(/^at #\/properties\/b\/default: default "yes" is not a boolean; ignored/),
    ]);
    // A string default of a string schema is left alone.
    expect(convert({ type: 'string', default: 'false' }).out).toEqual({ type: 'string', default: 'false' });
  });

  it('names the place of garbage inside a schema', () => {
    const { warnings } = convert({ type: 'object', properties: { 'a/b': { items: 'x', type: 'array' } } });
    expect(warnings.map((w) => w.message)).toEqual([expect.stringMatching(/^at #\/properties\/a~1b\/items: expected a schema object/)]);
  });

  it('keeps a property called __proto__ as an own property', () => {
    const given = JSON.parse('{"type":"object","properties":{"__proto__":{"type":"string"}},"required":["__proto__"]}');
    const { out } = convert(given);
    const properties = (out as { properties: object }).properties;
    expect(Object.keys(properties)).toEqual(['__proto__']);
    expect(Object.getPrototypeOf(properties)).toBe(Object.prototype);
    expect(JSON.stringify(out)).toBe(JSON.stringify(given));
  });

  it('is deterministic and does not modify its input', () => {
    const given = deepFreeze(structuredClone({ ...document.components.schemas.Pet, nullable: true, example: { name: 'x' } }));
    const a = convert(given);
    const b = convert(given);
    expect(a).toEqual(b);
    expect(JSON.parse(JSON.stringify(a.out))).toEqual(a.out);
  });

  describe('position', () => {
    const withDefaults = { type: 'object', default: {}, properties: { a: { type: 'string', default: 'x' } } };
    it('embedded (default) keeps a root default', () => {
      expect(convert({ type: 'integer', default: 20 }).out).toEqual({ type: 'integer', default: 20 });
    });
    it('root drops a root default', () => {
      expect(convert(withDefaults, '3.0', { position: 'root' }).out).toEqual({
        type: 'object',
        properties: { a: { type: 'string', default: 'x' } },
      });
    });
    it('shared marks a schema with property defaults and no $ref so that Ajv does not inline it', () => {
      expect(convert(withDefaults, '3.0', { position: 'shared' }).out).toEqual({
        type: 'object',
        properties: { a: { type: 'string', default: 'x' } },
        $defs: { 'backdev-no-inline': { $ref: '#' } },
      });
      expect(convert({ type: 'object', properties: { a: { type: 'string' } } }, '3.0', { position: 'shared' }).out).toEqual({
        type: 'object',
        properties: { a: { type: 'string' } },
      });
    });
  });

  describe('refEncoding: inline', () => {
    it('inlines components whose pointer needs escaping and keeps the others as $ref', () => {
      const { out, warnings } = convert(
        {
          type: 'object',
          properties: {
            a: { $ref: '#/components/schemas/A%20B' },
            b: { $ref: '#/components/schemas/a~1b' },
            c: { $ref: '#/components/schemas/Pet' },
          },
        },
        '3.0',
        { refEncoding: 'inline' },
      );
      expect(out).toEqual({
        type: 'object',
        properties: { a: { type: 'boolean' }, b: { type: 'integer' }, c: { $ref: `${PREFIX}Pet` } },
      });
      expect(warnings).toEqual([]);
    });
  });
});

// ---------------------------------------------------------------------------------------------------------
// Every converted schema of the table compiles with a real fastify 5 (Ajv for the body, fast-json-stringify for
// the 200 response), next to the converted components.

function defsFor(version: '3.0' | '3.1', refEncoding: 'escape' | 'inline'): Record<string, JsonSchema> {
  const defs: Record<string, JsonSchema> = {};
  for (const [name, schema] of Object.entries(document.components.schemas)) {
    defs[name] = convert(schema, version, { position: 'shared', refEncoding }).out;
  }
  return defs;
}

async function compileWithFastify(defs: Record<string, JsonSchema>, body: JsonSchema, response: JsonSchema): Promise<void> {
  // logger: false only silences Ajv's strict-mode *log* findings (union types, tuples); options are fastify's.
  const app = Fastify({ ajv: { customOptions: { logger: false } } });
  try {
    app.addSchema({ $id: 'backdev-schemas', $defs: defs });
    app.post('/body', { schema: { body } }, async () => ({}));
    app.get('/response', { schema: { response: { 200: response } } }, async () => null);
    await app.ready();
  } finally {
    await app.close();
  }
}

describe('converted schemas compile with fastify 5', () => {
  it.each(cases)('$name', async ({ given, version = '3.0' }) => {
    // Request bodies: escaped refs (Ajv resolves them), root default dropped.
    const body = convert(given, version, { position: 'root' }).out;
    // Responses: fast-json-stringify cannot resolve escaped pointers, so those components are inlined.
    const response = convert(given, version, { refEncoding: 'inline' }).out;
    await expect(compileWithFastify(defsFor(version, 'inline'), body, response)).resolves.toBeUndefined();
    // The same with the escaped-ref components (as Ajv sees them): the body alone.
    await expect(compileWithFastify(defsFor(version, 'escape'), body, true)).resolves.toBeUndefined();
  });

  it('a shared component with property defaults can be referenced below anyOf (nullable $ref)', async () => {
    const body = convert({ $ref: '#/components/schemas/Pet', nullable: true }, '3.0', { position: 'root' }).out;
    await expect(compileWithFastify(defsFor('3.0', 'escape'), body, body)).resolves.toBeUndefined();
  });

  it('fails without position: "shared" — the reason the option exists', async () => {
    const defs: Record<string, JsonSchema> = {};
    for (const [name, schema] of Object.entries(document.components.schemas)) defs[name] = convert(schema, '3.0').out;
    const body = convert({ $ref: '#/components/schemas/Pet', nullable: true }, '3.0').out;
    await expect(compileWithFastify(defs, body, true)).rejects.toThrow(/default is ignored/);
  });

  it('validates requests through escaped refs', async () => {
    const defs = defsFor('3.0', 'escape');
    const body = convert(
      {
        type: 'object',
        required: ['a', 'b', 'c'],
        properties: {
          a: { $ref: '#/components/schemas/A%20B' },
          b: { $ref: '#/components/schemas/%3CT%3E%7Bx%7D%7Cy%5Cz%5E%60' },
          c: { $ref: '#/components/schemas/a~1b' },
        },
      },
      '3.0',
      { position: 'root' },
    ).out;
    const app = Fastify({ ajv: { customOptions: { logger: false } } });
    app.addSchema({ $id: 'backdev-schemas', $defs: defs });
    app.post('/x', { schema: { body } }, async () => ({ ok: true }));
    await app.ready();
    try {
      const good = await app.inject({ method: 'POST', url: '/x', payload: { a: true, b: 'xy', c: 3 } });
      expect(good.statusCode).toBe(200);
      const bad = await app.inject({ method: 'POST', url: '/x', payload: { a: true, b: 'x', c: 3 } });
      expect(bad.statusCode).toBe(400);
    } finally {
      await app.close();
    }
  });
});

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
