/** What openapi-typescript is given: real-spec constructs it mistypes, rewritten; everything else kept. */
import { describe, expect, it } from 'vitest';
import { prepareForTypes } from '../../generators/core/render/openapi-types.js';

const doc = (schemas: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  openapi: '3.0.3',
  info: { title: 't', version: '1' },
  paths: {},
  components: { schemas, ...extra },
});
const schemasOf = (d: Record<string, unknown>) => (d.components as { schemas: Record<string, Record<string, unknown>> }).schemas;

describe('prepareForTypes', () => {
  it('hoists a deep schema ref into components once, instead of inlining it', () => {
    const out = prepareForTypes(doc({ A: { type: 'object', properties: { b: { type: 'string' } } }, C: { $ref: '#/components/schemas/A/properties/b' } }));
    const schemas = schemasOf(out);
    expect(schemas.C).toEqual({ $ref: '#/components/schemas/properties_b' });
    expect(schemas.properties_b).toEqual({ type: 'string' });
  });

  it('does not grow with chained deep refs', () => {
    const schemas: Record<string, unknown> = { S0: { type: 'object', properties: { p: { type: 'string' } } } };
    for (let i = 1; i < 30; i++) schemas[`S${i}`] = { type: 'object', properties: { p: { $ref: `#/components/schemas/S${i - 1}/properties/p` }, q: { $ref: `#/components/schemas/S${i - 1}` } } };
    const input = doc(schemas);
    expect(JSON.stringify(prepareForTypes(input)).length).toBeLessThan(JSON.stringify(input).length * 2);
  });

  it('keeps components.examples (schemas may refer to them) and drops media examples', () => {
    const input = {
      ...doc({ A: { type: 'string', example: { $ref: '#/components/examples/e' } } }, { examples: { e: { value: 'x' } } }),
      paths: { '/a': { get: { responses: { 200: { description: 'ok', content: { 'application/json': { schema: { type: 'string' }, examples: { n: { $ref: 'https://example.com/x.json' } } } } } } } } },
    };
    const out = prepareForTypes(input) as typeof input & { components: { examples?: unknown } };
    expect(out.components.examples).toEqual({ e: { value: 'x' } });
    expect(out.paths['/a'].get.responses[200].content['application/json']).toEqual({ schema: { type: 'string' } });
  });

  it.each([
    ['a string in a schema position', { oneOf: ['string', { type: 'integer' }] }, { oneOf: [{}, { type: 'integer' }] }],
    ['an array as a schema', [1, 2], {}],
    ['a scalar enum on an object type', { type: 'object', enum: ['A', 'B'], properties: {} }, { type: 'object', properties: {} }],
    ['nullable next to oneOf', { nullable: true, oneOf: [{ type: 'string' }] }, { oneOf: [{ type: 'string' }, { enum: [null] }] }],
    ['type null next to oneOf', { type: 'null', oneOf: [{ type: 'string' }] }, { oneOf: [{ type: 'string' }, { enum: [null] }] }],
    ['a discriminator', { oneOf: [{ type: 'object' }], discriminator: { propertyName: 'kind' } }, { oneOf: [{ type: 'object' }] }],
    ['required without properties in an allOf branch', { allOf: [{ $ref: '#/components/schemas/B' }, { required: ['x'] }] }, { allOf: [{ $ref: '#/components/schemas/B' }, {}] }],
  ])('rewrites %s', (_name, schema, want) => {
    const out = schemasOf(prepareForTypes(doc({ A: schema, B: { type: 'object', properties: { x: { type: 'string' } } } })));
    expect(out.A).toEqual(want);
  });

  it('breaks a cycle through alternatives only, not through properties', () => {
    const out = schemasOf(
      prepareForTypes(
        doc({
          V: { oneOf: [{ type: 'string' }, { type: 'array', items: { $ref: '#/components/schemas/V' } }] },
          Tree: { type: 'object', properties: { children: { type: 'array', items: { $ref: '#/components/schemas/Tree' } } } },
        }),
      ),
    );
    expect(out.V).toEqual({ oneOf: [{ type: 'string' }, { type: 'array', items: {} }] });
    expect(out.Tree).toEqual({ type: 'object', properties: { children: { type: 'array', items: { $ref: '#/components/schemas/Tree' } } } });
  });

  it('leaves the input alone', () => {
    const input = doc({ A: { type: 'object', discriminator: { propertyName: 'k' } } });
    const before = JSON.stringify(input);
    prepareForTypes(input);
    expect(JSON.stringify(input)).toBe(before);
  });
});
