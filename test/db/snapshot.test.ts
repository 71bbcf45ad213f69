import { describe, expect, it } from 'vitest';
import { parseSnapshot, serializeSnapshot } from '../../generators/core/db/snapshot.js';
import { BackdevError } from '../../generators/core/errors.js';
import { design, obj, ref } from './designs.js';

const schema = design({
  Post: obj(
    {
      id: { type: 'string', format: 'uuid' },
      title: { type: 'string', maxLength: 100, default: 'untitled' },
      status: { enum: ['draft', 'live'] },
      author: ref('User'),
      tags: { type: 'array', items: ref('Tag') },
      meta: { type: 'object', default: { b: 1, a: 2 } },
    },
    ['title'],
  ),
  User: obj({ id: { type: 'integer' }, email: { type: 'string', 'x-backdev-unique': true } }),
  Tag: obj({ label: { type: 'string' } }),
}, { timestamps: true }).schema;

describe('snapshots', () => {
  it('serializes to stable JSON with sorted keys and a trailing newline, and reads it back', () => {
    const text = serializeSnapshot(schema);
    expect(text.endsWith('}\n')).toBe(true);
    expect(text.startsWith('{\n  "dialect": "postgres",\n  "kind": "db-schema",\n  "tables": [')).toBe(true);
    const parsed = parseSnapshot(text, 'snap.json');
    expect(parsed).toEqual(schema);
    expect(serializeSnapshot(parsed)).toBe(text);
    expect(Object.isFrozen(parsed.tables[0]!.columns[0])).toBe(true);
    // key order in the input does not matter
    expect(serializeSnapshot(JSON.parse(JSON.stringify(schema)) as typeof schema)).toBe(text);
  });

  it.each<[string, string, string | undefined]>([
    ['not JSON', '{', undefined],
    ['not an object', '[]', ''],
    ['wrong kind', '{"kind":"x","dialect":"postgres","tables":[]}', '/kind'],
    ['wrong dialect', '{"kind":"db-schema","dialect":"mysql","tables":[]}', '/dialect'],
    ['tables not a list', '{"kind":"db-schema","dialect":"postgres","tables":{}}', '/tables'],
  ])('rejects %s', (_label, text, pointer) => {
    let error: unknown;
    try {
      parseSnapshot(text, 'snap.json');
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(BackdevError);
    expect((error as BackdevError).code).toBe('CONFIG_INVALID');
    expect((error as BackdevError).location?.file).toBe('snap.json');
    if (pointer !== undefined) expect((error as BackdevError).location?.pointer).toBe(pointer);
  });

  it('rejects tampered tables with a pointer to the problem', () => {
    const mutations: [string, (s: any) => void, string][] = [
      ['a name with a dot', (s) => (s.tables[0].name = 'a.b'), '/tables/0/name'],
      ['an upper-case column name', (s) => (s.tables[0].columns[1].name = 'Title'), '/tables/0/columns/1/name'],
      ['an unknown type', (s) => (s.tables[0].columns[1].type.name = 'money'), '/tables/0/columns/1/type/name'],
      ['a length on text', (s) => (s.tables[0].columns[1].type = { name: 'text', length: 5 }), '/tables/0/columns/1/type/length'],
      ['a raw SQL default', (s) => (s.tables[0].columns[1].default = { kind: 'expression', sql: 'pg_sleep(10)' }), '/tables/0/columns/1/default/sql'],
      ['nullable not boolean', (s) => (s.tables[0].columns[1].nullable = 'yes'), '/tables/0/columns/1/nullable'],
      ['duplicate columns', (s) => (s.tables[0].columns[2].name = s.tables[0].columns[1].name), '/tables/0/columns'],
      ['a primary key on a missing column', (s) => (s.tables[0].primaryKey = ['nope']), '/tables/0/primaryKey/0'],
      ['an index on a missing column', (s) => (s.tables[0].indexes[0].columns = ['nope']), '/tables/0/indexes/0/columns/0'],
      ['a check without values', (s) => (s.tables[0].checks[0].values = []), '/tables/0/checks/0/values'],
      ['a check with an object value', (s) => (s.tables[0].checks[0].values = [{}]), '/tables/0/checks/0/values/0'],
      ['a check value of the wrong type', (s) => (s.tables[0].checks[0].values = [1]), '/tables/0/checks/0/values/0'],
      ['a default of the wrong type', (s) => (s.tables[0].columns[1].default = { kind: 'literal', value: { a: 1 } }), '/tables/0/columns/1/default/value'],
      ['an unknown on delete', (s) => (s.tables[0].foreignKeys[0].onDelete = 'explode'), '/tables/0/foreignKeys/0/onDelete'],
      ['a foreign key to a missing table', (s) => (s.tables[0].foreignKeys[0].references.table = 'nope'), '/tables/0'],
      ['two tables of one name', (s) => (s.tables[1].name = s.tables[0].name), '/tables/1/name'],
      ['no columns', (s) => (s.tables[2].columns = []), '/tables/2/columns'],
    ];
    const postsIndex = schema.tables.findIndex((t) => t.name === 'posts');
    for (const [label, mutate, pointer] of mutations) {
      const copy = JSON.parse(serializeSnapshot(schema));
      // put posts first so the pointers above are about it
      copy.tables.unshift(...copy.tables.splice(postsIndex, 1));
      mutate(copy);
      let error: unknown;
      try {
        parseSnapshot(JSON.stringify(copy), '.backdev/db-snapshot.json');
      } catch (err) {
        error = err;
      }
      expect(error, label).toBeInstanceOf(BackdevError);
      expect((error as BackdevError).code, label).toBe('CONFIG_INVALID');
      expect((error as BackdevError).location?.pointer, label).toBe(pointer);
    }
  });
});
