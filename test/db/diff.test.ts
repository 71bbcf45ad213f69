import { describe, expect, it } from 'vitest';
import { diffSchemas, invertStep, type DiffOptions, type MigrationStep } from '../../generators/core/db/diff.js';
import type { DbSchema } from '../../generators/core/db/types.js';
import { BackdevError } from '../../generators/core/errors.js';
import { design, obj, ref, type Schemas } from './designs.js';

const uuid = { type: 'string', format: 'uuid' };
const str = { type: 'string' };
const d = (schemas: Schemas, options: Parameters<typeof design>[1] = {}): DbSchema => design(schemas, options).schema;
const P = (props: Record<string, unknown>, required: string[] = []) => d({ Product: obj({ id: uuid, ...props }, required) });
/** `kind` with a `!` when destructive. */
const kinds = (steps: readonly MigrationStep[]) => steps.map((s) => `${s.kind}${s.destructive ? '!' : ''}`);

describe('diffSchemas', () => {
  it.each<[string, DbSchema | undefined, DbSchema, string[], string, DiffOptions?]>([
    ['no change', P({ a: str }), P({ a: str }), [], 'no_changes'],
    ['new schema', undefined, P({ a: str }), ['create-table'], 'create_products'],
    ['new table with an index and a foreign key', P({}), d({ Product: obj({ id: uuid, tag: ref('Tag') }), Tag: obj({ id: uuid }) }), ['create-table', 'add-column', 'create-index', 'add-foreign-key'], 'alter_products_and_tags'],
    ['dropped table', d({ Product: obj({ id: uuid }), Tag: obj({ id: uuid, label: { ...str, 'x-backdev-index': true } }) }), P({}), ['drop-index', 'drop-table!'], 'drop_tags'],
    ['add nullable column', P({}), P({ a: str }), ['add-column'], 'add_products_a'],
    ['add NOT NULL column without default', P({}), P({ a: str }, ['a']), ['add-column!'], 'add_products_a'],
    ['add NOT NULL column with default', P({}), P({ a: { ...str, default: 'x' } }, ['a']), ['add-column'], 'add_products_a'],
    ['drop column', P({ a: str, b: str }), P({ a: str }), ['drop-column!'], 'drop_products_b'],
    ['widen varchar', P({ a: { ...str, maxLength: 50 } }), P({ a: { ...str, maxLength: 100 } }), ['alter-column-type'], 'alter_products'],
    ['varchar to text', P({ a: { ...str, maxLength: 50 } }), P({ a: str }), ['alter-column-type'], 'alter_products'],
    ['integer to bigint', P({ a: { type: 'integer' } }), P({ a: { type: 'integer', format: 'int64' } }), ['alter-column-type'], 'alter_products'],
    ['date to timestamptz', P({ a: { ...str, format: 'date' } }), P({ a: { ...str, format: 'date-time' } }), ['alter-column-type'], 'alter_products'],
    ['text to varchar (narrow)', P({ a: str }), P({ a: { ...str, maxLength: 5 } }), ['alter-column-type!'], 'alter_products'],
    ['shorter varchar (narrow)', P({ a: { ...str, maxLength: 100 } }), P({ a: { ...str, maxLength: 50 } }), ['alter-column-type!'], 'alter_products'],
    ['bigint to integer (narrow)', P({ a: { type: 'integer', format: 'int64' } }), P({ a: { type: 'integer' } }), ['alter-column-type!'], 'alter_products'],
    ['double to numeric (can fail)', P({ a: { type: 'number' } }), P({ a: { type: 'number', format: 'decimal' } }), ['alter-column-type!'], 'alter_products'],
    ['text to uuid (can fail)', P({ a: str }), P({ a: uuid }), ['alter-column-type!'], 'alter_products'],
    ['uuid to integer (no cast: rebuilt)', P({ a: uuid }), P({ a: { type: 'integer' } }), ['drop-column!', 'add-column'], 'alter_products'],
    ['scalar to array (no cast: rebuilt)', P({ a: { type: 'integer' } }), P({ a: { type: 'array', items: { type: 'integer' } } }), ['drop-column!', 'add-column'], 'alter_products'],
    ['set NOT NULL', P({ a: str }), P({ a: str }, ['a']), ['set-not-null!'], 'alter_products'],
    ['drop NOT NULL', P({ a: str }, ['a']), P({ a: str }), ['drop-not-null'], 'alter_products'],
    ['set default', P({ a: str }), P({ a: { ...str, default: 'x' } }), ['set-default'], 'alter_products'],
    ['change default', P({ a: { ...str, default: 'x' } }), P({ a: { ...str, default: 'y' } }), ['set-default'], 'alter_products'],
    ['drop default', P({ a: { ...str, default: 'x' } }), P({ a: str }), ['drop-default'], 'alter_products'],
    ['type change under a default', P({ a: { type: 'integer', default: 1 } }), P({ a: { type: 'integer', format: 'int64', default: 1 } }), ['drop-default', 'alter-column-type', 'set-default'], 'alter_products'],
    ['add index', P({ a: str }), P({ a: { ...str, 'x-backdev-index': true } }), ['create-index'], 'alter_products'],
    ['drop index', P({ a: { ...str, 'x-backdev-index': true } }), P({ a: str }), ['drop-index'], 'alter_products'],
    ['add unique index (existing rows may clash)', P({ a: str }), P({ a: { ...str, 'x-backdev-unique': true } }), ['create-index!'], 'alter_products'],
    ['drop unique index', P({ a: { ...str, 'x-backdev-unique': true } }), P({ a: str }), ['drop-index'], 'alter_products'],
    ['index to unique', P({ a: { ...str, 'x-backdev-index': true } }), P({ a: { ...str, 'x-backdev-unique': true } }), ['drop-index', 'create-index!'], 'alter_products'],
    [
      'add foreign key on an existing column',
      d({ Tag: obj({ id: uuid }), Product: obj({ id: uuid, tagId: uuid }) }),
      d({ Tag: obj({ id: uuid }), Product: obj({ id: uuid, tagId: { ...uuid, 'x-backdev-ref': 'Tag' } }) }),
      ['create-index', 'add-foreign-key!'],
      'alter_products',
    ],
    [
      'add a reference (new column, so nothing to violate)',
      d({ Tag: obj({ id: uuid }), Product: obj({ id: uuid }) }),
      d({ Tag: obj({ id: uuid }), Product: obj({ id: uuid, tag: ref('Tag') }) }),
      ['add-column', 'create-index', 'add-foreign-key'],
      'add_products_tag_id',
    ],
    [
      'drop a reference',
      d({ Tag: obj({ id: uuid }), Product: obj({ id: uuid, tag: ref('Tag') }) }),
      d({ Tag: obj({ id: uuid }), Product: obj({ id: uuid }) }),
      ['drop-foreign-key', 'drop-index', 'drop-column!'],
      'drop_products_tag_id',
    ],
    [
      'foreign key on delete changes',
      d({ Tag: obj({ id: uuid }), Product: obj({ id: uuid, tag: ref('Tag') }) }),
      d({ Tag: obj({ id: uuid }), Product: obj({ id: uuid, tag: ref('Tag') }, ['tag']) }),
      ['drop-foreign-key', 'set-not-null!', 'add-foreign-key!'],
      'alter_products',
    ],
    ['enum values added', P({ s: { enum: ['a'] } }), P({ s: { enum: ['a', 'b'] } }), ['replace-check'], 'alter_products'],
    ['enum values removed', P({ s: { enum: ['a', 'b'] } }), P({ s: { enum: ['a'] } }), ['replace-check!'], 'alter_products'],
    ['enum on an existing column', P({ s: str }), P({ s: { enum: ['a'] } }), ['add-check!'], 'alter_products'],
    ['enum dropped', P({ s: { enum: ['a'] } }), P({ s: str }), ['drop-check'], 'alter_products'],
    ['enum on a new column', P({}), P({ s: { enum: ['a'] } }), ['add-column', 'add-check'], 'add_products_s'],
    ['enum column retyped', P({ s: { enum: ['a'] } }), P({ s: { maxLength: 3, enum: ['a'] } }), ['drop-check', 'alter-column-type!', 'add-check'], 'alter_products'],
    ['rename without a hint is drop + add', P({ a: str }), P({ b: str }), ['drop-column!', 'add-column'], 'alter_products'],
    ['rename column with a hint', P({ a: str }), P({ b: str }), ['rename-column'], 'rename_products_a_to_b', { renames: { column: { 'products.a': 'b' } } }],
    [
      'rename column with its index and check',
      P({ a: { enum: ['x'], 'x-backdev-index': true } }),
      P({ b: { enum: ['x'], 'x-backdev-index': true } }),
      ['rename-column', 'rename-index', 'rename-constraint'],
      'rename_products_a_to_b',
      { renames: { column: { 'products.a': 'b' } } },
    ],
    ['rename and retype a column', P({ a: { type: 'integer' } }), P({ b: { type: 'integer', format: 'int64' } }), ['rename-column', 'alter-column-type'], 'alter_products', { renames: { column: { 'products.a': 'b' } } }],
    ['rename onto a dropped column', P({ a: str, b: { type: 'integer' } }), P({ b: str }), ['drop-column!', 'rename-column'], 'alter_products', { renames: { column: { 'products.a': 'b' } } }],
    ['rename table with a hint', d({ Product: obj({ id: uuid }) }), d({ Item: obj({ id: uuid }) }), ['rename-table', 'rename-constraint'], 'rename_products_to_items', { renames: { table: { products: 'items' } } }],
    ['rename table without a hint', d({ Product: obj({ id: uuid }) }), d({ Item: obj({ id: uuid }) }), ['drop-table!', 'create-table'], 'alter_items_and_products'],
    [
      'rename table and a column of it (named by its new name)',
      d({ Product: obj({ id: uuid, a: str }) }),
      d({ Item: obj({ id: uuid, b: str }) }),
      ['rename-table', 'rename-column', 'rename-constraint'],
      'alter_items',
      { renames: { table: { products: 'items' }, column: { 'items.a': 'b' } } },
    ],
    [
      'join table added',
      d({ Post: obj({ id: uuid }), Tag: obj({ id: uuid }) }),
      d({ Post: obj({ id: uuid, tags: { type: 'array', items: ref('Tag') } }), Tag: obj({ id: uuid }) }),
      ['create-table', 'create-index', 'add-foreign-key', 'add-foreign-key'],
      'create_posts_tags',
    ],
    ['identity added', P({ n: { type: 'integer' } }, ['n']), d({ Product: obj({ id: { type: 'integer' } }) }), ['drop-primary-key', 'drop-column!', 'drop-column!', 'add-column', 'add-primary-key'], 'alter_products'],
  ])('%s', (_label, previous, next, want, name, options) => {
    const m = diffSchemas(previous, next, options);
    const got = kinds(m.steps);
    expect(got).toEqual(want);
    expect(m.name).toBe(name);
    expect(m.destructive).toEqual(m.steps.filter((s) => s.destructive));
  });

  it('orders drops of foreign keys and indexes before drops of columns and tables, and creates tables before foreign keys to them', () => {
    const before = d({
      A: obj({ id: uuid, b: ref('B'), label: { ...str, 'x-backdev-index': true } }),
      B: obj({ id: uuid, a: ref('A') }),
    });
    const after = d({
      A: obj({ id: uuid, c: ref('C') }),
      C: obj({ id: uuid, d: ref('D'), a: ref('A') }),
      D: obj({ id: uuid, c: ref('C') }),
    });
    for (const m of [diffSchemas(before, after), diffSchemas(after, before), diffSchemas(undefined, after)]) {
      const at = (pred: (s: MigrationStep) => boolean) => m.steps.findIndex(pred);
      m.steps.forEach((s, i) => {
        if (s.kind === 'drop-foreign-key' || s.kind === 'drop-index') {
          expect(at((x) => x.kind === 'drop-column' || x.kind === 'drop-table'), 'a drop of a column or table comes after').toSatisfy((j: number) => j === -1 || j > i);
        }
        if (s.kind === 'add-foreign-key') {
          const created = at((x) => x.kind === 'create-table' && x.table.name === s.foreignKey.references.table);
          expect(created).toBeLessThan(i);
          const own = at((x) => (x.kind === 'create-table' && x.table.name === s.table) || (x.kind === 'add-column' && x.table === s.table));
          expect(own).toBeLessThan(i);
        }
      });
    }
  });

  it('inverts every step exactly', () => {
    const pairs: [DbSchema | undefined, DbSchema, DiffOptions?][] = [
      [undefined, d({ A: obj({ id: uuid, b: ref('B'), s: { enum: ['x'], default: 'x' } }), B: obj({ id: { type: 'integer' }, tags: { type: 'array', items: ref('A') } }) })],
      [P({ a: { type: 'integer', default: 1 }, s: { enum: ['a', 'b'] }, n: str }), P({ a: { type: 'integer', format: 'int64', default: 2 }, s: { enum: ['a'] }, m: str }, ['a']), { renames: { column: { 'products.n': 'm' } } }],
      [d({ A: obj({ name: str }) }, { primaryKey: 'uuid' }), d({ A: obj({ name: str }) }, { primaryKey: 'identity' })],
    ];
    for (const [previous, next, options] of pairs) {
      for (const step of diffSchemas(previous, next, options).steps) {
        const inverse = invertStep(step);
        expect(inverse.kind === step.kind && step.kind !== 'alter-column-type' && step.kind !== 'replace-check' && !step.kind.startsWith('rename') && step.kind !== 'set-default').toBe(false);
        // The same step back (its destructive flag is recomputed without the designs, so it may differ).
        expect({ ...invertStep(inverse), destructive: null }).toEqual({ ...step, destructive: null });
      }
    }
  });

  it('is deterministic and frozen', () => {
    const a = P({ a: str, s: { enum: ['a'] } });
    const b = P({ b: { ...str, 'x-backdev-unique': true }, s: { enum: ['a', 'b'] } }, ['b']);
    const m = diffSchemas(a, b);
    expect(JSON.stringify(diffSchemas(a, b))).toBe(JSON.stringify(m));
    expect(Object.isFrozen(m)).toBe(true);
    expect(Object.isFrozen(m.steps)).toBe(true);
    expect(Object.isFrozen(m.steps[0])).toBe(true);
  });

  it('rejects rename hints that do not fit the designs', () => {
    const a = P({ a: str });
    const b = P({ b: str });
    const cases: DiffOptions['renames'][] = [
      { column: { 'products.zzz': 'b' } },
      { column: { 'products.a': 'zzz' } },
      { column: { 'nope.a': 'b' } },
      { column: { a: 'b' } },
      { table: { nope: 'products' } },
      { table: { products: 'nope' } },
    ];
    for (const renames of cases) {
      let error: unknown;
      try {
        diffSchemas(a, b, { renames });
      } catch (err) {
        error = err;
      }
      expect(error, JSON.stringify(renames)).toBeInstanceOf(BackdevError);
      expect((error as BackdevError).code).toBe('OPTION_INVALID');
    }
    // a swap is not supported (it would need a temporary name)
    const ab = P({ a: str, b: { type: 'integer' } });
    const ba = P({ a: { type: 'integer' }, b: str });
    expect(() => diffSchemas(ab, ba, { renames: { column: { 'products.a': 'b', 'products.b': 'a' } } })).toThrow(/swapped/);
  });

  it('never guesses a rename', () => {
    const m = diffSchemas(d({ Product: obj({ id: uuid, title: str }) }), d({ Item: obj({ id: uuid, name: str }) }));
    expect(m.steps.some((s) => s.kind.startsWith('rename'))).toBe(false);
  });
});
