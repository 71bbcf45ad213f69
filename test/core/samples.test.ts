import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toFastifySchema, type JsonSchema } from '../../generators/core/ir/json-schema.js';
import { createValidator, invalidSample, validSample } from '../../generators/create-api/samples/index.js';

const PREFIX = 'backdev-schemas#/$defs/';
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });

/** OpenAPI 3.1 components (converted below, as the generator does). */
const components: Record<string, unknown> = {
  Customer: {
    type: 'object',
    required: ['name', 'email'],
    properties: {
      name: { type: 'string', minLength: 2, maxLength: 40 },
      email: { type: 'string', format: 'email' },
      phone: { type: 'string', pattern: '^\\+[0-9]{6,12}$' },
    },
  },
  LineItem: {
    type: 'object',
    required: ['sku', 'quantity'],
    properties: {
      sku: { type: 'string', pattern: '^[A-Z]{3}-\\d{4}$' },
      quantity: { type: 'integer', minimum: 1, maximum: 99 },
      note: { type: 'string', default: '' },
    },
  },
  Order: {
    type: 'object',
    required: ['id', 'customer', 'items'],
    properties: {
      id: { type: 'string', format: 'uuid', readOnly: true },
      customer: ref('Customer'),
      items: { type: 'array', minItems: 1, items: ref('LineItem') },
      status: { type: 'string', enum: ['new', 'paid', 'shipped'], default: 'new' },
    },
  },
  Cat: {
    type: 'object',
    required: ['kind', 'lives'],
    properties: { kind: { const: 'cat' }, lives: { type: 'integer', minimum: 1, maximum: 9 } },
  },
  Dog: {
    type: 'object',
    required: ['kind', 'bark'],
    properties: { kind: { const: 'dog' }, bark: { type: 'string', minLength: 3 } },
  },
  Pet: { oneOf: [ref('Cat'), ref('Dog')], discriminator: { propertyName: 'kind' } },
  Base: { type: 'object', required: ['id'], properties: { id: { type: 'integer', minimum: 1 } } },
  Tree: {
    type: 'object',
    required: ['value'],
    properties: { value: { type: 'integer' }, children: { type: 'array', items: ref('Tree') } },
  },
  Loop: { type: 'object', required: ['next'], properties: { next: ref('Loop') } },
  Color: { type: ['string', 'null'], enum: ['red', 'green', null] },
};

const document = { openapi: '3.1.0', components: { schemas: components } };

function conv(schema: unknown, position: 'root' | 'shared' | 'embedded'): JsonSchema {
  return toFastifySchema(schema, {
    openapiVersion: '3.1',
    refPrefix: PREFIX,
    document,
    subject: 'test',
    warn: (w) => {
      throw new Error(`unexpected warning: ${w.message}`);
    },
    position,
  });
}

const defs: Record<string, JsonSchema> = Object.fromEntries(
  Object.entries(components).map(([name, schema]) => [name, conv(schema, 'shared')]),
);
const validate = createValidator(defs);

interface Case {
  name: string;
  /** OpenAPI 3.1 schema of the request body. */
  given: unknown;
  /** The exact valid sample, when it matters. */
  valid?: unknown;
  /** What the invalid sample must say. */
  invalid?: { reason?: string | RegExp; field?: string; value?: unknown };
}

const cases: Case[] = [
  { name: 'format email', given: { type: 'string', format: 'email' }, valid: 'user@example.com' },
  { name: 'format uuid', given: { type: 'string', format: 'uuid' }, valid: '3fa85f64-5717-4562-b3fc-2c963f66afa6' },
  { name: 'format date', given: { type: 'string', format: 'date' }, valid: '2024-01-15' },
  { name: 'format date-time', given: { type: 'string', format: 'date-time' }, valid: '2024-01-15T10:00:00Z' },
  { name: 'format time', given: { type: 'string', format: 'time' } },
  { name: 'format uri', given: { type: 'string', format: 'uri' }, valid: 'https://example.com' },
  { name: 'format hostname', given: { type: 'string', format: 'hostname' } },
  { name: 'format ipv4', given: { type: 'string', format: 'ipv4' } },
  { name: 'format ipv6', given: { type: 'string', format: 'ipv6' } },
  { name: 'format byte', given: { type: 'string', format: 'byte' } },
  { name: 'format duration', given: { type: 'string', format: 'duration' } },
  { name: 'format int32 on an integer', given: { type: 'integer', format: 'int32' } },
  { name: 'string length bounds', given: { type: 'string', minLength: 10, maxLength: 12 } },
  { name: 'short maxLength', given: { type: 'string', maxLength: 3 } },
  {
    name: 'pattern',
    given: { type: 'string', pattern: '^[A-Z]{3}-\\d{4}$' },
    valid: 'AAA-1111',
    invalid: { reason: /pattern/ },
  },
  { name: 'pattern with alternatives and minLength', given: { type: 'string', pattern: '^(foo|bar)+[a-z]*$', minLength: 8 } },
  { name: 'integer pinned by bounds', given: { type: 'integer', minimum: 5, maximum: 5 }, valid: 5 },
  {
    name: 'number with exclusive bounds',
    given: { type: 'number', exclusiveMinimum: 0, exclusiveMaximum: 1 },
    invalid: { value: 'not-a-number', reason: 'expected number, got a string' },
  },
  { name: 'integer multipleOf', given: { type: 'integer', minimum: 10, multipleOf: 7 }, valid: 14 },
  { name: 'decimal multipleOf', given: { type: 'number', multipleOf: 0.01, minimum: 0.015 } },
  { name: 'boolean', given: { type: 'boolean' }, valid: true, invalid: { value: 'not-a-boolean' } },
  {
    name: 'nested objects through $ref (only required properties)',
    given: ref('Order'),
    invalid: { reason: 'missing required property "id"', field: 'id' },
  },
  {
    name: 'inline nested object',
    given: {
      type: 'object',
      required: ['address'],
      properties: {
        address: {
          type: 'object',
          required: ['city'],
          properties: { city: { type: 'string' }, zip: { type: 'string' } },
        },
        nickname: { type: 'string' },
      },
    },
    valid: { address: { city: 'string' } },
    invalid: { reason: 'missing required property "address"', field: 'address' },
  },
  {
    name: 'array with minItems and unique items',
    given: { type: 'array', minItems: 3, uniqueItems: true, items: { type: 'string', enum: ['a', 'b', 'c', 'd'] } },
    valid: ['a', 'b', 'c'],
    invalid: { value: {}, reason: 'expected array, got an object' },
  },
  { name: 'unique integers', given: { type: 'array', minItems: 4, uniqueItems: true, items: { type: 'integer', minimum: 0 } } },
  { name: 'tuple (prefixItems)', given: { type: 'array', prefixItems: [{ type: 'string' }, { type: 'integer' }], items: false } },
  {
    name: 'oneOf discriminated by const',
    given: ref('Pet'),
    valid: { kind: 'cat', lives: 1 },
    invalid: { reason: 'missing required property "kind"', field: 'kind' },
  },
  {
    name: 'inline oneOf where the first branch cannot be satisfied',
    given: { oneOf: [{ type: 'string', pattern: '^(?=a)b$' }, { type: 'integer', minimum: 3 }] },
    valid: 3,
  },
  {
    name: 'allOf',
    given: { allOf: [ref('Base'), { type: 'object', required: ['name'], properties: { name: { type: 'string' } } }] },
    valid: { id: 1, name: 'string' },
    invalid: { reason: 'missing required property "id"', field: 'id' },
  },
  {
    name: 'string enum',
    given: { type: 'string', enum: ['red', 'green'] },
    valid: 'red',
    invalid: { reason: 'not one of the allowed values' },
  },
  { name: 'integer enum', given: { type: 'integer', enum: [3, 5] }, valid: 3 },
  { name: 'nullable enum (first non-null value)', given: ref('Color'), valid: 'red' },
  { name: 'nullable string', given: { type: ['string', 'null'], minLength: 2 } },
  { name: 'nullable $ref (OpenAPI 3.0 style)', given: { anyOf: [ref('Customer'), { type: 'null' }] } },
  {
    name: 'recursive Tree with optional children',
    given: ref('Tree'),
    valid: { value: 1 },
    invalid: { reason: 'missing required property "value"', field: 'value' },
  },
  {
    name: 'a default is a valid sample',
    given: { type: 'object', required: ['n'], properties: { n: { type: 'integer', minimum: 1, default: 20 } } },
    valid: { n: 20 },
    invalid: { value: 'not-an-object' },
  },
  { name: 'const', given: { const: 'fixed' }, valid: 'fixed' },
  {
    name: 'minProperties adds optional properties',
    given: { type: 'object', minProperties: 2, properties: { a: { type: 'string' }, b: { type: 'integer' } } },
    valid: { a: 'string', b: 1 },
  },
];

describe('validSample / invalidSample', () => {
  it.each(cases)('$name', ({ given, valid, invalid }) => {
    const schema = conv(given, 'root');
    const v = validSample(schema, defs, PREFIX);
    expect(v).toMatchObject({ ok: true });
    if (!v.ok) return;
    expect(validate(schema, v.value)).toBe(true);
    if (valid !== undefined) expect(v.value).toEqual(valid);

    const bad = invalidSample(schema, defs, PREFIX);
    expect(bad).toMatchObject({ ok: true });
    if (!bad.ok) return;
    expect(validate(schema, bad.value)).toBe(false);
    expect(bad.reason).toEqual(expect.any(String));
    if (invalid?.reason !== undefined) expect(bad.reason).toMatch(invalid.reason);
    if (invalid?.field !== undefined) expect(bad.field).toBe(invalid.field);
    if (invalid?.value !== undefined) expect(bad.value).toEqual(invalid.value);
  });

  it('uses a root default (a parameter schema, converted as embedded)', () => {
    expect(validSample(conv({ type: 'integer', minimum: 1, default: 20 }, 'embedded'), defs, PREFIX)).toEqual({ ok: true, value: 20 });
  });

  it('gives up on a required recursive property, with the reason', () => {
    const s = validSample(conv(ref('Loop'), 'root'), defs, PREFIX);
    expect(s.ok).toBe(false);
    if (!s.ok) expect(s.reason).toMatch(/Loop.*requires a value of itself/);
  });

  it('gives up on a pattern it cannot satisfy', () => {
    const s = validSample({ type: 'string', pattern: '^(?=x)y$' }, defs, PREFIX);
    expect(s).toEqual({ ok: false, reason: expect.stringContaining('pattern') });
  });

  it('gives up on contradictory bounds', () => {
    expect(validSample({ type: 'integer', minimum: 3, maximum: 2 }, defs, PREFIX)).toMatchObject({ ok: false });
    expect(validSample({ type: 'string', minLength: 3, maxLength: 2 }, defs, PREFIX)).toMatchObject({ ok: false });
    expect(validSample(false, defs, PREFIX)).toMatchObject({ ok: false });
  });

  it('reports refs it cannot follow', () => {
    expect(validSample({ $ref: `${PREFIX}Nope` }, defs, PREFIX)).toMatchObject({ ok: false });
  });

  it('has no invalid sample for a schema that accepts everything', () => {
    expect(invalidSample({}, defs, PREFIX)).toMatchObject({ ok: false });
    expect(invalidSample(true, defs, PREFIX)).toMatchObject({ ok: false });
  });

  it('does not propose a missing property that has a default (Ajv fills it in)', () => {
    const schema = conv(
      { type: 'object', required: ['a', 'b'], properties: { a: { type: 'string', default: 'x' }, b: { type: 'string' } } },
      'root',
    );
    expect(invalidSample(schema, defs, PREFIX)).toMatchObject({ ok: true, field: 'b', value: { a: 'x' } });
  });

  it('reports a schema that does not compile instead of throwing', () => {
    expect(validSample({ type: 'string', format: 'no-such-format' }, defs, PREFIX)).toEqual({
      ok: false,
      reason: expect.stringContaining('does not compile'),
    });
  });
});

describe('createValidator', () => {
  it('is cached per defs object', () => {
    expect(createValidator(defs)).toEqual(expect.any(Function));
    const other = createValidator({ X: { type: 'string' } });
    expect(other({ $ref: `${PREFIX}X` }, 'a')).toBe(true);
    expect(other({ $ref: `${PREFIX}X` }, {})).toBe(false);
  });

  it('coerces like fastify and does not modify the value it checks', () => {
    const value = { n: '5', extra: 1 };
    const schema = { type: 'object', properties: { n: { type: 'integer' } }, additionalProperties: false };
    expect(validate(schema, value)).toBe(true);
    expect(value).toEqual({ n: '5', extra: 1 });
  });

  it('accepts schemas with a root default (parameter schemas)', () => {
    expect(validate({ type: 'integer', default: 3 }, 4)).toBe(true);
  });
});

// ---------------------------------------------------------------------------------------------------------
// End to end: the samples behave the same against a fastify 5 route with the body schema.

describe('samples against fastify', () => {
  const app = Fastify({ ajv: { customOptions: { logger: false } } });
  const routes = cases.map((c, i) => ({ ...c, url: `/case/${i}`, schema: conv(c.given, 'root') }));

  beforeAll(async () => {
    app.addSchema({ $id: 'backdev-schemas', $defs: defs });
    for (const r of routes) app.post(r.url, { schema: { body: r.schema } }, async () => ({ ok: true }));
    await app.ready();
  });
  afterAll(async () => {
    await app.close();
  });

  const post = (url: string, value: unknown) =>
    app.inject({ method: 'POST', url, headers: { 'content-type': 'application/json' }, payload: JSON.stringify(value) });

  it.each(routes)('$name', async ({ url, schema }) => {
    const v = validSample(schema, defs, PREFIX);
    const bad = invalidSample(schema, defs, PREFIX);
    if (!v.ok || !bad.ok) throw new Error('no samples');
    const accepted = await post(url, v.value);
    expect(accepted.statusCode, accepted.body).not.toBe(400);
    const rejected = await post(url, bad.value);
    expect(rejected.statusCode, rejected.body).toBe(400);
    if (bad.field !== undefined) expect(JSON.parse(rejected.body).message).toContain(bad.field);
  });
});
