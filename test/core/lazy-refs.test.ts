import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import type { JsonSchema } from '../../generators/core/ir/json-schema.js';
import { lazyRefs } from '../../generators/create-api/samples/lazy-refs.js';

const addFormats = addFormatsModule.default;
const ID = 'backdev-schemas';
const ref = (name: string) => ({ $ref: `${ID}#/$defs/${name}` });

/** Component schemas that refer to one another: a cycle, inlined leaves, refs under anyOf, defaults. */
const defs: Record<string, JsonSchema> = {
  Tag: { type: 'string', maxLength: 5 },
  Money: { type: 'object', required: ['amount'], properties: { amount: { type: 'integer', minimum: 0 }, currency: { type: 'string', default: 'eur' } } },
  Node: {
    type: 'object',
    required: ['name'],
    additionalProperties: false,
    properties: { name: ref('Tag'), children: { type: 'array', items: ref('Node') }, price: ref('Money'), owner: ref('Account') },
  },
  Account: {
    type: 'object',
    required: ['id'],
    properties: { id: { type: 'integer' }, root: ref('Node'), limit: ref('Money'), tags: { type: 'array', items: ref('Tag') }, expand: { anyOf: [ref('Node'), { type: 'string', maxLength: 3 }] } },
  },
  Broken: { type: 'object', properties: { when: { type: 'string', format: 'no-such-format' } } },
  UsesBroken: { type: 'object', properties: { b: ref('Broken'), n: ref('Node') } },
  // Strict mode rejects a property that a pattern also matches.
  Overlap: { type: 'object', properties: { ab: { type: 'string' } }, patternProperties: { '^a': { type: 'string' } } },
  UsesOverlap: { type: 'object', properties: { o: ref('Overlap'), n: ref('Node') } },
};

const options = (strict: boolean) =>
  strict
    ? { coerceTypes: 'array' as const, useDefaults: true, removeAdditional: true, ownProperties: true, addUsedSchema: false, allErrors: false, logger: false as const, code: { optimize: false } }
    : { strict: false, logger: false as const, allErrors: false, addUsedSchema: false, code: { optimize: false } };

function validators(strict: boolean, lazy: boolean) {
  const ajv = new Ajv(options(strict));
  addFormats(ajv);
  ajv.addSchema({ $id: ID, $defs: defs });
  const prepare = lazy ? lazyRefs(ajv, defs, ID).prepare : (s: JsonSchema) => s;
  return { ajv, check: (schema: JsonSchema, value: unknown) => run(() => ajv.compile(prepare(schema)), value) };
}

function run(compile: () => ValidateFunction, value: unknown) {
  let fn: ValidateFunction;
  try {
    fn = compile();
  } catch (error) {
    return { compileError: (error as Error).message };
  }
  const data = structuredClone(value);
  const valid = fn(data);
  const first = fn.errors?.[0];
  return { valid, data, first: first && { instancePath: first.instancePath, message: first.message, keyword: first.keyword, params: first.params } };
}

const schemas: JsonSchema[] = [
  ref('Account'),
  ref('Node'),
  { type: 'array', items: ref('Account') },
  { anyOf: [ref('Account'), ref('Money')] },
  { type: 'object', properties: { a: ref('Account'), m: ref('Money') }, required: ['a'] },
  ref('UsesBroken'),
  ref('UsesOverlap'),
  { anyOf: [ref('Node'), ref('Money')] },
  { oneOf: [ref('Node'), { type: 'integer' }] },
];
const values: unknown[] = [
  { id: 1 },
  { id: '7' },
  { id: 1, root: { name: 'x' } },
  { id: 1, root: { name: 'toolongname' } },
  { id: 1, root: { name: 'x', extra: true, children: [{ name: 'y', owner: { id: 'z' } }] } },
  { id: 1, limit: {} },
  { id: 1, limit: { amount: 3 } },
  { id: 1, expand: 'abc' },
  { id: 1, expand: 'abcd' },
  { id: 1, expand: { name: 'n', price: { amount: -1 } } },
  { name: 'x', children: [{ name: 'y', children: [{ name: 'z', price: { amount: 1 } }] }] },
  { name: 'x', children: [{ name: 'y', children: [{ nom: 'z' }] }] },
  [{ id: 2 }, { id: 'no' }],
  { a: { id: 1 }, m: { amount: 1 } },
  { a: { id: 1 }, m: { amount: 'x' } },
  3,
  null,
  'text',
];

describe('lazyRefs', () => {
  for (const strict of [true, false]) {
    it(`answers as Ajv's own compilation does (${strict ? 'fastify-like' : 'non-strict'} options)`, () => {
      const eager = validators(strict, false);
      const lazy = validators(strict, true);
      let compared = 0;
      for (const schema of schemas) {
        for (const value of values) {
          expect(lazy.check(schema, value), `${JSON.stringify(schema)} on ${JSON.stringify(value)}`).toEqual(eager.check(schema, value));
          compared++;
        }
      }
      expect(compared).toBe(schemas.length * values.length);
    });
  }

  it('compiles a referenced schema only when a value reaches it', () => {
    const { ajv, check } = validators(true, true);
    const compiled: string[] = [];
    const original = ajv.getSchema.bind(ajv);
    ajv.getSchema = ((key: string) => {
      if (key.startsWith(`${ID}-lazy#`)) compiled.push(key.slice(key.lastIndexOf('/') + 1));
      return original(key);
    }) as typeof ajv.getSchema;
    expect(check(ref('Account'), { id: 1 })).toMatchObject({ valid: true });
    expect(compiled).toEqual(['Account']);
    expect(check(ref('Account'), { id: 1, root: { name: 'x' } })).toMatchObject({ valid: true });
    expect(compiled).toEqual(['Account', 'Node']);
  });

  it('leaves a schema that reaches one that does not compile to Ajv (the error stays a compile error)', () => {
    const { check } = validators(true, true);
    expect(check(ref('UsesBroken'), {})).toEqual({ compileError: expect.stringContaining('no-such-format') });
    expect(check(ref('Account'), { id: 1 })).toMatchObject({ valid: true });
  });
});
