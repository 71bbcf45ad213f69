import { describe, expect, it } from 'vitest';
import type { ColumnIR, DbSchema, TableIR } from '../../generators/core/db/types.js';
import { isSqlName } from '../../generators/core/db/names.js';
import { BackdevError, type Warning } from '../../generators/core/errors.js';
import { designSchema } from '../../generators/design-database/mapping.js';
import { design, obj, ref, spec } from './designs.js';

function tableOf(schema: DbSchema, name: string): TableIR {
  const t = schema.tables.find((x) => x.name === name);
  if (!t) throw new Error(`no table ${name} in ${schema.tables.map((x) => x.name).join(', ')}`);
  return t;
}

function columnOf(table: TableIR, name: string): ColumnIR {
  const c = table.columns.find((x) => x.name === name);
  if (!c) throw new Error(`no column ${name} in ${table.name}: ${table.columns.map((x) => x.name).join(', ')}`);
  return c;
}

/** The column `value` of a one-property model `Thing`, its check values, and the warnings. */
function single(property: unknown, required = false) {
  const { schema, warnings } = design({ Thing: obj({ id: { type: 'string', format: 'uuid' }, value: property }, required ? ['value'] : []) });
  const t = tableOf(schema, 'things');
  const c = columnOf(t, 'value');
  return { column: c, check: t.checks.find((x) => x.column === 'value')?.values, warnings, table: t };
}

const type = (name: string, extra: Record<string, unknown> = {}) => ({ name, ...extra });

describe('designSchema: JSON Schema → column', () => {
  it.each<[string, unknown, Record<string, unknown>]>([
    ['string', { type: 'string' }, type('text')],
    ['string with maxLength', { type: 'string', maxLength: 50 }, type('varchar', { length: 50 })],
    ['string with the largest varchar', { type: 'string', maxLength: 10485760 }, type('varchar', { length: 10485760 })],
    ['string longer than varchar allows', { type: 'string', maxLength: 10485761 }, type('text')],
    ['x-backdev-type text', { type: 'string', maxLength: 5, 'x-backdev-type': 'text' }, type('text')],
    ['uuid', { type: 'string', format: 'uuid' }, type('uuid')],
    ['date', { type: 'string', format: 'date' }, type('date')],
    ['date-time', { type: 'string', format: 'date-time' }, type('timestamptz')],
    ['email', { type: 'string', format: 'email' }, type('text')],
    ['uri', { type: 'string', format: 'uri' }, type('text')],
    ['other format', { type: 'string', format: 'byte' }, type('text')],
    ['integer', { type: 'integer' }, type('integer')],
    ['int32', { type: 'integer', format: 'int32' }, type('integer')],
    ['int64', { type: 'integer', format: 'int64' }, type('bigint')],
    ['integer beyond int32 by its bounds', { type: 'integer', maximum: 10_000_000_000 }, type('bigint')],
    ['number', { type: 'number' }, type('double precision')],
    ['number double', { type: 'number', format: 'double' }, type('double precision')],
    ['number decimal', { type: 'number', format: 'decimal' }, type('numeric')],
    ['integer | number', { type: ['integer', 'number'] }, type('double precision')],
    ['boolean', { type: 'boolean' }, type('boolean')],
    ['object with properties', { type: 'object', properties: { a: { type: 'string' } } }, type('jsonb')],
    ['free-form object', { type: 'object' }, type('jsonb')],
    ['map (additionalProperties)', { type: 'object', additionalProperties: { type: 'integer' } }, type('jsonb')],
    ['properties without type', { properties: { a: { type: 'string' } } }, type('jsonb')],
    ['array of strings', { type: 'array', items: { type: 'string' } }, type('text', { array: true })],
    ['array of int64', { type: 'array', items: { type: 'integer', format: 'int64' } }, type('bigint', { array: true })],
    ['array of varchar', { type: 'array', items: { type: 'string', maxLength: 10 } }, type('varchar', { length: 10, array: true })],
    ['array of uuids', { type: 'array', items: { type: 'string', format: 'uuid' } }, type('uuid', { array: true })],
    ['array of enum strings', { type: 'array', items: { type: 'string', enum: ['a', 'b'] } }, type('text', { array: true })],
    ['array of objects', { type: 'array', items: { type: 'object', properties: { a: { type: 'string' } } } }, type('jsonb')],
    ['array of arrays', { type: 'array', items: { type: 'array', items: { type: 'integer' } } }, type('jsonb')],
    ['array without items', { type: 'array' }, type('jsonb')],
    ['$ref to an object that is not a model', { $ref: '#/components/schemas/Address' }, type('jsonb')],
    ['$ref to a scalar schema that is not a model', { $ref: '#/components/schemas/Code' }, type('varchar', { length: 8 })],
    ['allOf of objects', { allOf: [{ $ref: '#/components/schemas/Address' }, { type: 'object', properties: { b: { type: 'string' } } }] }, type('jsonb')],
    ['allOf of string constraints', { allOf: [{ type: 'string' }, { maxLength: 5 }] }, type('varchar', { length: 5 })],
    ['oneOf of one type (with a null)', { oneOf: [{ type: 'string', format: 'date' }, { type: 'null' }] }, type('date')],
    ['anyOf of the same type', { anyOf: [{ type: 'string', enum: ['a'] }, { type: 'string', enum: ['b'] }] }, type('text')],
    ['any value (no type)', {}, type('jsonb')],
    ['any value with a description', { description: 'anything' }, type('jsonb')],
    ['true schema', true, type('jsonb')],
    ['readOnly string', { type: 'string', readOnly: true }, type('text')],
  ])('%s', (_label, property, want) => {
    const warnings: Warning[] = [];
    const doc = spec({
      Thing: obj({ id: { type: 'string', format: 'uuid' }, value: property }),
      Address: obj({ street: { type: 'string' } }),
      Code: { type: 'string', maxLength: 8 },
    });
    const schema = designSchema(doc, ['Thing'], { primaryKey: 'uuid', timestamps: false }, warnings);
    expect(columnOf(tableOf(schema, 'things'), 'value').type).toEqual(want);
    expect(warnings).toEqual([]);
  });

  it.each<[string, unknown, string]>([
    ['oneOf of objects', { oneOf: [{ type: 'object', properties: { a: { type: 'string' } } }, { type: 'object', properties: { b: { type: 'integer' } } }] }, '"oneOf" of object schemas'],
    ['anyOf of a string and an integer', { anyOf: [{ type: 'string' }, { type: 'integer' }] }, '"anyOf" of schemas of different types'],
    ['not', { not: { type: 'string' } }, '"not"'],
    ['a type list mixing object and scalar', { type: ['object', 'string'] }, 'mixes types'],
    ['an enum of mixed values', { enum: ['a', 1] }, 'mixes values'],
    ['a $ref that points at nothing', { $ref: '#/components/schemas/Missing' }, 'does not resolve'],
    ['allOf mixing a model and an object', { allOf: [{ $ref: '#/components/schemas/Other' }, { type: 'object', properties: { x: { type: 'string' } } }] }, 'model reference'],
    ['a schema that is not an object', 'string', 'not an object'],
    ['an unknown type', { type: 'file' }, 'not a JSON Schema type'],
  ])('%s → jsonb with a COLUMN_AS_JSONB warning', (_label, property, message) => {
    const warnings: Warning[] = [];
    const doc = spec({ Thing: obj({ id: { type: 'string', format: 'uuid' }, value: property }), Other: obj({ id: { type: 'string' } }) });
    const schema = designSchema(doc, ['Other', 'Thing'], { primaryKey: 'uuid', timestamps: false }, warnings);
    expect(columnOf(tableOf(schema, 'things'), 'value').type).toEqual({ name: 'jsonb' });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ code: 'COLUMN_AS_JSONB', subject: 'schema Thing property value' });
    expect(warnings[0]!.message).toContain(message);
    expect(warnings[0]!.message).toContain('things.value is jsonb');
  });

  it('enums become the base type and a CHECK with sorted, unique values', () => {
    expect(single({ type: 'string', enum: ['b', 'a', 'b'] })).toMatchObject({ column: { type: { name: 'text' } }, check: ['a', 'b'] });
    expect(single({ type: 'string', maxLength: 3, enum: ['x'] })).toMatchObject({ column: { type: { name: 'varchar', length: 3 } }, check: ['x'] });
    expect(single({ type: 'integer', enum: [3, 1, 2] })).toMatchObject({ column: { type: { name: 'integer' } }, check: [1, 2, 3] });
    expect(single({ type: 'number', enum: [1.5, 0.5] })).toMatchObject({ column: { type: { name: 'double precision' } }, check: [0.5, 1.5] });
    expect(single({ enum: ['on', 'off'] })).toMatchObject({ column: { type: { name: 'text' } }, check: ['off', 'on'] });
    expect(single({ enum: [1, 2] })).toMatchObject({ column: { type: { name: 'integer' } }, check: [1, 2] });
    expect(single({ const: 'fixed' })).toMatchObject({ column: { type: { name: 'text' } }, check: ['fixed'] });
    // null in an enum makes the column nullable, not a value
    expect(single({ type: ['string', 'null'], enum: ['a', null] }, true)).toMatchObject({ column: { nullable: true }, check: ['a'] });
    // values that do not fit the column type (or types without a useful check) get no check
    expect(single({ type: 'string', enum: [1, 2] }).check).toBeUndefined();
    expect(single({ type: 'boolean', enum: [true] })).toMatchObject({ column: { type: { name: 'boolean' } }, check: undefined });
    expect(single({ type: 'string', format: 'uuid', enum: ['not-a-uuid'] }).check).toBeUndefined();
    expect(single({ type: 'string', enum: [] }).check).toBeUndefined();
    // a oneOf of enums of one type unions the values
    expect(single({ oneOf: [{ type: 'string', enum: ['b'] }, { type: 'string', enum: ['a'] }] }).check).toEqual(['a', 'b']);
  });

  it('required → NOT NULL; optional, 3.0 nullable and 3.1 null types → nullable', () => {
    expect(single({ type: 'string' }, true).column.nullable).toBe(false);
    expect(single({ type: 'string' }, false).column.nullable).toBe(true);
    expect(single({ type: 'string', nullable: true }, true).column.nullable).toBe(true);
    expect(single({ type: ['string', 'null'] }, true).column.nullable).toBe(true);
    expect(single({ anyOf: [{ type: 'integer' }, { type: 'null' }] }, true).column).toMatchObject({ type: { name: 'integer' }, nullable: true });
    expect(single({ oneOf: [{ type: 'string' }, { enum: [null] }] }, true).column.nullable).toBe(true);
  });

  it('defaults become literals when they fit the column, and are left out when they do not', () => {
    expect(single({ type: 'string', default: "it's" }).column.default).toEqual({ kind: 'literal', value: "it's" });
    expect(single({ type: 'integer', default: 5 }).column.default).toEqual({ kind: 'literal', value: 5 });
    expect(single({ type: 'number', default: 1.5 }).column.default).toEqual({ kind: 'literal', value: 1.5 });
    expect(single({ type: 'boolean', default: false }).column.default).toEqual({ kind: 'literal', value: false });
    expect(single({ type: 'string', format: 'date', default: '2024-02-29' }).column.default).toEqual({ kind: 'literal', value: '2024-02-29' });
    expect(single({ type: 'string', format: 'date-time', default: '2024-02-29T10:00:00Z' }).column.default).toEqual({ kind: 'literal', value: '2024-02-29T10:00:00Z' });
    expect(single({ type: 'array', items: { type: 'string' }, default: ['a'] }).column.default).toEqual({ kind: 'literal', value: ['a'] });
    expect(single({ type: 'object', default: { b: 1, a: [true] } }).column.default).toEqual({ kind: 'literal', value: { a: [true], b: 1 } });
    expect(single({ type: 'string', enum: ['a', 'b'], default: 'b' }).column.default).toEqual({ kind: 'literal', value: 'b' });
    for (const bad of [
      { type: 'integer', default: 'five' },
      { type: 'integer', default: 1.5 },
      { type: 'integer', default: 2 ** 40 },
      { type: 'string', maxLength: 2, default: 'long' },
      { type: 'string', format: 'uuid', default: 'nope' },
      { type: 'string', format: 'date', default: 'yesterday' },
      { type: 'string', enum: ['a'], default: 'z' },
      { type: 'string', default: null },
      { type: 'string', default: 'nul\u0000' },
      { type: 'array', items: { type: 'integer' }, default: ['x'] },
    ]) {
      expect(single(bad).column.default, JSON.stringify(bad)).toBeUndefined();
    }
  });

  it('x-backdev-index and x-backdev-unique make indexes', () => {
    const { table } = single({ type: 'string', 'x-backdev-index': true });
    expect(table.indexes).toEqual([{ kind: 'index', name: 'things_value_idx', columns: ['value'], unique: false }]);
    const unique = single({ type: 'string', 'x-backdev-unique': true, 'x-backdev-index': true }).table;
    expect(unique.indexes).toEqual([{ kind: 'index', name: 'things_value_key', columns: ['value'], unique: true }]);
  });
});

describe('designSchema: tables', () => {
  it('designs a table with its key, columns in spec order and timestamps last', () => {
    const { schema } = design(
      {
        BlogPost: obj(
          {
            title: { type: 'string', maxLength: 200 },
            createdAt: { type: 'string', format: 'date-time', readOnly: true },
            body: { type: 'string' },
            id: { type: 'string', format: 'uuid', readOnly: true },
          },
          ['title', 'id', 'createdAt'],
        ),
      },
      { timestamps: true },
    );
    expect(schema).toEqual({
      kind: 'db-schema',
      dialect: 'postgres',
      tables: [
        {
          kind: 'table',
          name: 'blog_posts',
          model: 'BlogPost',
          columns: [
            { kind: 'column', name: 'id', property: 'id', type: { name: 'uuid' }, nullable: false, default: { kind: 'expression', sql: 'gen_random_uuid()' } },
            { kind: 'column', name: 'title', property: 'title', type: { name: 'varchar', length: 200 }, nullable: false },
            { kind: 'column', name: 'body', property: 'body', type: { name: 'text' }, nullable: true },
            { kind: 'column', name: 'created_at', property: 'createdAt', type: { name: 'timestamptz' }, nullable: false, default: { kind: 'expression', sql: 'now()' } },
            { kind: 'column', name: 'updated_at', property: 'updatedAt', type: { name: 'timestamptz' }, nullable: false, default: { kind: 'expression', sql: 'now()' } },
          ],
          primaryKey: ['id'],
          indexes: [],
          foreignKeys: [],
          checks: [],
        },
      ],
    });
  });

  it('chooses the primary key from the id property or the option', () => {
    const pk = (schemas: Record<string, unknown>, primaryKey: 'uuid' | 'identity') => tableOf(design(schemas, { primaryKey }).schema, 'things').columns[0];
    expect(pk({ Thing: obj({ id: { type: 'string' } }) }, 'identity')).toEqual({ kind: 'column', name: 'id', property: 'id', type: { name: 'uuid' }, nullable: false, default: { kind: 'expression', sql: 'gen_random_uuid()' } });
    expect(pk({ Thing: obj({ id: { type: 'integer' } }) }, 'uuid')).toEqual({ kind: 'column', name: 'id', property: 'id', type: { name: 'integer' }, nullable: false, identity: true });
    expect(pk({ Thing: obj({ id: { type: 'integer', format: 'int64' } }) }, 'uuid')).toMatchObject({ type: { name: 'bigint' }, identity: true });
    expect(pk({ Thing: obj({ name: { type: 'string' } }) }, 'uuid')).toMatchObject({ name: 'id', type: { name: 'uuid' }, default: { sql: 'gen_random_uuid()' } });
    expect(pk({ Thing: obj({ name: { type: 'string' } }) }, 'identity')).toEqual({ kind: 'column', name: 'id', property: 'id', type: { name: 'bigint' }, nullable: false, identity: true });
  });

  it('maps created_at / updated_at spellings and adds them only when asked', () => {
    const withSnake = tableOf(design({ Thing: obj({ updated_at: { type: 'string', format: 'date-time' }, name: { type: 'string' } }) }).schema, 'things');
    expect(withSnake.columns.map((c) => c.name)).toEqual(['id', 'name', 'updated_at']);
    expect(columnOf(withSnake, 'updated_at')).toMatchObject({ property: 'updated_at', nullable: false, default: { kind: 'expression', sql: 'now()' } });
    const none = tableOf(design({ Thing: obj({ name: { type: 'string' } }) }, { timestamps: false }).schema, 'things');
    expect(none.columns.map((c) => c.name)).toEqual(['id', 'name']);
    // an integer createdAt is not a timestamp: it stays an ordinary column
    const epoch = tableOf(design({ Thing: obj({ createdAt: { type: 'integer' } }) }).schema, 'things');
    expect(columnOf(epoch, 'created_at').type).toEqual({ name: 'integer' });
  });

  it('turns a $ref to a model into a foreign key column with an index', () => {
    const { schema } = design({
      User: obj({ id: { type: 'string', format: 'uuid' } }),
      Post: obj({ id: { type: 'string', format: 'uuid' }, author: ref('User'), editor: ref('User'), reviewer: { allOf: [ref('User')], nullable: true } }, ['author', 'reviewer']),
    });
    const posts = tableOf(schema, 'posts');
    expect(posts.columns.slice(1)).toEqual([
      { kind: 'column', name: 'author_id', property: 'author', type: { name: 'uuid' }, nullable: false },
      { kind: 'column', name: 'editor_id', property: 'editor', type: { name: 'uuid' }, nullable: true },
      { kind: 'column', name: 'reviewer_id', property: 'reviewer', type: { name: 'uuid' }, nullable: true },
    ]);
    expect(posts.foreignKeys).toEqual([
      { kind: 'foreign-key', name: 'posts_author_id_fkey', columns: ['author_id'], references: { table: 'users', columns: ['id'] }, onDelete: 'cascade' },
      { kind: 'foreign-key', name: 'posts_editor_id_fkey', columns: ['editor_id'], references: { table: 'users', columns: ['id'] }, onDelete: 'set null' },
      { kind: 'foreign-key', name: 'posts_reviewer_id_fkey', columns: ['reviewer_id'], references: { table: 'users', columns: ['id'] }, onDelete: 'set null' },
    ]);
    expect(posts.indexes.map((i) => [i.name, i.columns, i.unique])).toEqual([
      ['posts_author_id_idx', ['author_id'], false],
      ['posts_editor_id_idx', ['editor_id'], false],
      ['posts_reviewer_id_idx', ['reviewer_id'], false],
    ]);
  });

  it('3.1 anyOf [$ref, null] is a nullable foreign key; the key type follows the referenced table', () => {
    const { schema } = design(
      {
        Tag: obj({ id: { type: 'integer', format: 'int64' } }),
        Note: obj({ tag: { anyOf: [ref('Tag'), { type: 'null' }] } }, ['tag']),
        Group: obj({ name: { type: 'string' } }),
        Member: obj({ group: ref('Group') }, ['group']),
      },
      { primaryKey: 'identity' },
    );
    expect(columnOf(tableOf(schema, 'notes'), 'tag_id')).toEqual({ kind: 'column', name: 'tag_id', property: 'tag', type: { name: 'bigint' }, nullable: true });
    expect(columnOf(tableOf(schema, 'members'), 'group_id')).toMatchObject({ type: { name: 'bigint' }, nullable: false });
  });

  it('x-backdev-ref makes the column itself a foreign key', () => {
    const { schema, warnings } = design({
      User: obj({ id: { type: 'string', format: 'uuid' } }),
      Project: obj(
        {
          id: { type: 'string', format: 'uuid' },
          ownerId: { type: 'string', format: 'uuid', 'x-backdev-ref': 'User' },
          owner: { type: 'string', format: 'uuid', 'x-backdev-ref': 'User', 'x-backdev-unique': true },
          ghost: { type: 'string', format: 'uuid', 'x-backdev-ref': 'Ghost' },
        },
        ['ownerId'],
      ),
    });
    const projects = tableOf(schema, 'projects');
    expect(projects.columns.map((c) => [c.name, c.type.name, c.nullable])).toEqual([
      ['id', 'uuid', false],
      ['owner_id', 'uuid', false],
      ['owner', 'uuid', true],
      ['ghost', 'uuid', true],
    ]);
    expect(projects.foreignKeys.map((f) => [f.name, f.columns, f.references.table, f.onDelete])).toEqual([
      ['projects_owner_fkey', ['owner'], 'users', 'set null'],
      ['projects_owner_id_fkey', ['owner_id'], 'users', 'cascade'],
    ]);
    // unique on a foreign key: one unique index instead of a plain one
    expect(projects.indexes.map((i) => [i.name, i.unique])).toEqual([
      ['projects_owner_id_idx', false],
      ['projects_owner_key', true],
    ]);
    expect(warnings).toEqual([]);
  });

  it('turns an array of $refs to a model into a join table', () => {
    const { schema } = design({
      Post: obj({ id: { type: 'string', format: 'uuid' }, tags: { type: 'array', items: ref('Tag') } }),
      Tag: obj({ id: { type: 'integer' }, label: { type: 'string' } }),
      User: obj({ id: { type: 'string', format: 'uuid' }, friends: { type: 'array', items: ref('User') } }),
    });
    expect(schema.tables.map((t) => t.name)).toEqual(['posts', 'posts_tags', 'tags', 'users', 'users_friends']);
    expect(tableOf(schema, 'posts').columns.map((c) => c.name)).toEqual(['id']);
    expect(tableOf(schema, 'posts_tags')).toEqual({
      kind: 'table',
      name: 'posts_tags',
      model: 'Post.tags',
      columns: [
        { kind: 'column', name: 'post_id', property: 'id', type: { name: 'uuid' }, nullable: false },
        { kind: 'column', name: 'tag_id', property: 'tags', type: { name: 'integer' }, nullable: false },
      ],
      primaryKey: ['post_id', 'tag_id'],
      indexes: [{ kind: 'index', name: 'posts_tags_tag_id_idx', columns: ['tag_id'], unique: false }],
      foreignKeys: [
        { kind: 'foreign-key', name: 'posts_tags_post_id_fkey', columns: ['post_id'], references: { table: 'posts', columns: ['id'] }, onDelete: 'cascade' },
        { kind: 'foreign-key', name: 'posts_tags_tag_id_fkey', columns: ['tag_id'], references: { table: 'tags', columns: ['id'] }, onDelete: 'cascade' },
      ],
      checks: [],
    });
    expect(tableOf(schema, 'users_friends').columns.map((c) => c.name)).toEqual(['user_id', 'friend_id']);
  });

  it('makes foreign keys in reference cycles nullable with on delete set null', () => {
    const { schema } = design({
      A: obj({ id: { type: 'string', format: 'uuid' }, b: ref('B'), parent: ref('A'), c: ref('C') }, ['b', 'parent', 'c']),
      B: obj({ id: { type: 'string', format: 'uuid' }, a: ref('A') }, ['a']),
      C: obj({ id: { type: 'string', format: 'uuid' } }),
    });
    const fks = (t: string) => tableOf(schema, t).foreignKeys.map((f) => [f.columns[0], f.onDelete, columnOf(tableOf(schema, t), f.columns[0]!).nullable]);
    expect(fks('a')).toEqual([
      ['b_id', 'set null', true],
      ['c_id', 'cascade', false],
      ['parent_id', 'set null', true],
    ]);
    expect(fks('b')).toEqual([['a_id', 'set null', true]]);
  });

  it('merges allOf members of a model', () => {
    const { schema } = design({
      Base: obj({ id: { type: 'string', format: 'uuid' }, name: { type: 'string' } }, ['name']),
      Dog: { allOf: [ref('Base'), obj({ barks: { type: 'boolean' } }, ['barks'])] },
    }, { models: ['Dog'] });
    expect(tableOf(schema, 'dogs').columns.map((c) => [c.name, c.nullable])).toEqual([
      ['id', false],
      ['name', false],
      ['barks', false],
    ]);
  });

  it('keeps reserved words as names (they are always quoted)', () => {
    const { schema } = design({
      Select: obj({ order: { type: 'string' }, user: { type: 'integer' }, from: { type: 'boolean' }, group: { type: 'string', 'x-backdev-unique': true } }),
    });
    const t = tableOf(schema, 'selects');
    expect(t.columns.map((c) => c.name)).toEqual(['id', 'order', 'user', 'from', 'group']);
    expect(t.indexes[0]!.name).toBe('selects_group_key');
  });

  it('shortens long names and keeps every name unique', () => {
    const model = 'ExtraordinarilyLongModelNameThatKeepsGoingWellBeyondTheLimitsOfPostgres';
    const prop = 'anEquallyLongPropertyNameThatWouldOverflowTheSixtyThreeByteIdentifierLimit';
    const { schema } = design({
      [model]: obj({ [prop]: { type: 'string', 'x-backdev-index': true, enum: ['a'] }, [`${prop}Two`]: { type: 'string', 'x-backdev-unique': true }, other: ref(model) }),
    });
    const names = schema.tables.flatMap((t) => [t.name, ...t.columns.map((c) => c.name), ...t.indexes.map((i) => i.name), ...t.foreignKeys.map((f) => f.name), ...t.checks.map((c) => c.name)]);
    for (const n of names) {
      expect(isSqlName(n), n).toBe(true);
      expect(Buffer.byteLength(n)).toBeLessThanOrEqual(63);
    }
    const t = schema.tables[0]!;
    expect(new Set(t.columns.map((c) => c.name)).size).toBe(t.columns.length);
    const objects = schema.tables.flatMap((x) => [...x.indexes.map((i) => i.name), ...x.foreignKeys.map((f) => f.name), ...x.checks.map((c) => c.name)]);
    expect(new Set(objects).size).toBe(objects.length);
    expect(t.name).toMatch(/^extraordinarily_long_model_name_that_keeps_going_well_[0-9a-f]{8}$/);
  });

  it('resolves name collisions deterministically', () => {
    const { schema } = design({
      BlogPost: obj({ fooBar: { type: 'string' }, foo_bar: { type: 'integer' }, ID: { type: 'string' } }),
      blog_post: obj({ x: { type: 'string' } }),
      A: obj({ bC: { type: 'string', 'x-backdev-index': true } }),
      a_b: obj({ c: { type: 'string', 'x-backdev-index': true } }),
    });
    expect(schema.tables.map((t) => `${t.model}:${t.name}`)).toEqual(['A:a', 'a_b:a_b', 'BlogPost:blog_posts', 'blog_post:blog_posts_2']);
    expect(tableOf(schema, 'blog_posts').columns.map((c) => c.name)).toEqual(['id', 'foo_bar', 'foo_bar_2', 'id_2']);
    expect([tableOf(schema, 'a').indexes[0]!.name, tableOf(schema, 'a_b').indexes[0]!.name]).toEqual(['a_b_c_idx', 'a_b_c_idx_2']);
  });

  it('is deterministic and frozen', () => {
    const schemas = {
      Post: obj({ title: { type: 'string' }, author: ref('User'), tags: { type: 'array', items: ref('Tag') }, status: { enum: ['b', 'a'] } }),
      User: obj({ email: { type: 'string', 'x-backdev-unique': true } }),
      Tag: obj({ label: { type: 'string' } }),
    };
    const a = design(schemas, { models: ['Post', 'User', 'Tag'] }).schema;
    const b = design(schemas, { models: ['Tag', 'User', 'Post', 'Tag'] }).schema;
    expect(JSON.stringify(b)).toBe(JSON.stringify(a));
    expect(a.tables.map((t) => t.name)).toEqual([...a.tables.map((t) => t.name)].sort());
    const frozen = (v: unknown): boolean => v === null || typeof v !== 'object' || (Object.isFrozen(v) && Object.values(v).every(frozen));
    expect(frozen(a)).toBe(true);
  });

  it('rejects a model that is not an object schema, naming it', () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ Thing: { type: 'string' } }, 'Thing'],
      [{ Thing: { type: 'array', items: { type: 'string' } } }, 'Thing'],
      [{ Thing: { oneOf: [obj({ a: { type: 'string' } }), obj({ b: { type: 'string' } })] } }, 'Thing'],
      [{ Thing: { type: ['object', 'string'], properties: {} } }, 'Thing'],
      [{ Thing: {} }, 'Thing'],
      [{ Thing: 'nope' }, 'Thing'],
      [{ Other: obj({}) }, 'Thing'],
    ];
    for (const [schemas, name] of cases) {
      let error: unknown;
      try {
        designSchema(spec(schemas), ['Thing'], { primaryKey: 'uuid', timestamps: false }, []);
      } catch (err) {
        error = err;
      }
      expect(error, JSON.stringify(schemas)).toBeInstanceOf(BackdevError);
      expect((error as BackdevError).code).toBe('SPEC_INVALID');
      expect((error as BackdevError).message).toContain(name);
    }
    expect(() => designSchema({}, ['Thing'], { primaryKey: 'uuid', timestamps: false }, [])).toThrow(/Thing/);
  });

  it('never crashes on odd input', () => {
    const odd: unknown[] = [
      null,
      42,
      [],
      { type: 42 },
      { enum: 'x' },
      { type: 'array', items: 5 },
      { type: 'array', items: [{ type: 'string' }] },
      { allOf: 5 },
      { allOf: [] },
      { allOf: [5] },
      { oneOf: [] },
      { anyOf: [{ type: 'null' }] },
      { $ref: 5 },
      { $ref: 'http://example.com/x.json' },
      { $ref: '#/components/schemas/Loop' },
      { $ref: '#/components/schemas/Node' },
      { type: 'object', properties: 5 },
      { type: 'string', default: {} },
      { type: 'string', maxLength: -1 },
      { type: 'string', maxLength: 'ten' },
      { type: 'string', 'x-backdev-ref': 42 },
      { type: 'integer', 'x-backdev-ref': 'Thing' },
      { type: 'null' },
      { const: null },
      { enum: [{ a: 1 }] },
      { type: ['null'] },
      { allOf: [{ type: 'string' }, { type: 'integer' }] },
      { allOf: [{ $ref: '#/components/schemas/Loop' }] },
      { oneOf: [{ $ref: '#/components/schemas/Thing' }, { $ref: '#/components/schemas/Thing' }] },
      { type: 'array', items: { $ref: '#/components/schemas/Missing' } },
    ];
    const properties = Object.fromEntries(odd.map((p, i) => [`p${i}`, p]));
    const doc = spec({
      Thing: { type: 'object', required: 'p1', properties },
      Weird: { type: 'object', properties: [1, 2], required: [5, 'x'] },
      Loop: { $ref: '#/components/schemas/Loop' },
      Node: obj({ children: { type: 'array', items: { $ref: '#/components/schemas/Node' } } }),
    });
    const warnings: Warning[] = [];
    const schema = designSchema(doc, ['Thing', 'Weird'], { primaryKey: 'uuid', timestamps: true }, warnings);
    const thing = tableOf(schema, 'things');
    expect(thing.columns.length).toBeGreaterThan(odd.length);
    for (const c of thing.columns) expect(isSqlName(c.name)).toBe(true);
    expect(warnings.every((w) => w.code === 'COLUMN_AS_JSONB')).toBe(true);
  });
});
