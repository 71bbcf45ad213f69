/**
 * Round trips on a real database: for each kind of model change OLD → NEW,
 *   (a) a fresh schema migrated with the rendered `diff(undefined, OLD)` then the rendered `diff(OLD, NEW)`
 *   (b) a fresh schema migrated with the rendered `diff(undefined, NEW)`
 * have the same catalog description (tables, columns, defaults, indexes, constraints, names included);
 * then `down` of the second migration brings (a) back to what a fresh `diff(undefined, OLD)` builds, and
 * `down` of the first empties it. The migrations run as rendered source, imported from .tmp/.
 *
 * PGlite in memory by default; the PostgreSQL server of DATABASE_URL when it is set.
 */
import { sql, type Kysely } from 'kysely';
import { describe, expect, it } from 'vitest';
import { diffSchemas, type DiffOptions, type Migration, type StepKind } from '../../generators/core/db/diff.js';
import { renderMigration } from '../../generators/core/db/render-migration.js';
import type { DbSchema, TableIR } from '../../generators/core/db/types.js';
import type { MappingOptions } from '../../generators/design-database/mapping.js';
import { design, obj, ref, type Schemas } from './designs.js';
import { DATABASE_LABEL, describeCatalog, dropSchema, freshSchema, loadMigration, runIn, schemaName, useTestDatabase } from './support.js';

type Design = DbSchema | { schemas: Schemas; options?: Partial<MappingOptions> };

interface Row {
  name: string;
  old: Design;
  next: Design;
  renames?: DiffOptions['renames'];
  /** Step kinds the OLD → NEW migration must contain (so the row tests what it says). */
  expect: StepKind[];
  /** Whether the OLD → NEW migration has destructive steps. */
  destructive: boolean;
}

const str = { type: 'string' };
const uuid = { type: 'string', format: 'uuid' };
const int = { type: 'integer', format: 'int32' };

/** Hand-written IR for names a model would not produce (reserved words as table names). */
function table(name: string, columns: TableIR['columns'], extra: Partial<TableIR> = {}): TableIR {
  return { kind: 'table', name, model: name, columns, primaryKey: ['id'], indexes: [], foreignKeys: [], checks: [], ...extra };
}
const idColumn = { kind: 'column', name: 'id', property: 'id', type: { name: 'uuid' }, nullable: false, default: { kind: 'expression', sql: 'gen_random_uuid()' } } as const;
const reservedOld: DbSchema = {
  kind: 'db-schema',
  dialect: 'postgres',
  tables: [
    table('order', [idColumn, { kind: 'column', name: 'select', property: 'select', type: { name: 'text' }, nullable: false }, { kind: 'column', name: 'from', property: 'from', type: { name: 'integer' }, nullable: true }], {
      checks: [{ kind: 'check', name: 'order_select_check', column: 'select', values: ['table', "it's"] }],
    }),
  ],
};
const reservedNew: DbSchema = {
  kind: 'db-schema',
  dialect: 'postgres',
  tables: [
    table(
      'order',
      [
        idColumn,
        { kind: 'column', name: 'select', property: 'select', type: { name: 'text' }, nullable: false },
        { kind: 'column', name: 'from', property: 'from', type: { name: 'bigint' }, nullable: true, default: { kind: 'literal', value: 1 } },
        { kind: 'column', name: 'user', property: 'user', type: { name: 'uuid' }, nullable: true },
      ],
      {
        checks: [{ kind: 'check', name: 'order_select_check', column: 'select', values: ['table', 'where', "it's"] }],
        indexes: [{ kind: 'index', name: 'order_user_idx', columns: ['user'], unique: false }],
        foreignKeys: [{ kind: 'foreign-key', name: 'order_user_fkey', columns: ['user'], references: { table: 'user', columns: ['id'] }, onDelete: 'set null' }],
      },
    ),
    table('user', [idColumn, { kind: 'column', name: 'group', property: 'group', type: { name: 'text' }, nullable: true }], {
      indexes: [{ kind: 'index', name: 'user_group_key', columns: ['group'], unique: true }],
    }),
  ],
};

const LONG_MODEL = 'ExtraordinarilyLongModelNameThatKeepsGoingWellBeyondTheLimitsOfPostgres';
const LONG_PROP = 'anEquallyLongPropertyNameThatWouldOverflowTheSixtyThreeByteIdentifierLimit';

const ROWS: Row[] = [
  {
    name: 'add column',
    old: { schemas: { Product: obj({ id: uuid, name: str }, ['name']) } },
    next: { schemas: { Product: obj({ id: uuid, name: str, sku: { type: 'string', maxLength: 32 } }, ['name']) } },
    expect: ['add-column'],
    destructive: false,
  },
  {
    name: 'drop column',
    old: { schemas: { Product: obj({ id: uuid, name: str, sku: { type: 'string', maxLength: 32 } }, ['name', 'sku']) } },
    next: { schemas: { Product: obj({ id: uuid, name: str }, ['name']) } },
    expect: ['drop-column'],
    destructive: true,
  },
  {
    name: 'alter type (widen)',
    old: { schemas: { Product: obj({ id: uuid, qty: int, title: { type: 'string', maxLength: 50 }, day: { type: 'string', format: 'date' } }) } },
    next: { schemas: { Product: obj({ id: uuid, qty: { type: 'integer', format: 'int64' }, title: { type: 'string', maxLength: 200 }, day: { type: 'string', format: 'date-time' } }) } },
    expect: ['alter-column-type'],
    destructive: false,
  },
  {
    name: 'alter type (narrow)',
    old: { schemas: { Product: obj({ id: uuid, notes: str, count: { type: 'integer', format: 'int64' }, ratio: { type: 'number' }, ref: str }) } },
    next: { schemas: { Product: obj({ id: uuid, notes: { type: 'string', maxLength: 20 }, count: int, ratio: int, ref: uuid }) } },
    expect: ['alter-column-type'],
    destructive: true,
  },
  {
    name: 'set not null',
    old: { schemas: { Product: obj({ id: uuid, name: str, price: { type: 'number' } }) } },
    next: { schemas: { Product: obj({ id: uuid, name: str, price: { type: 'number' } }, ['name', 'price']) } },
    expect: ['set-not-null'],
    destructive: true,
  },
  {
    name: 'drop not null',
    old: { schemas: { Product: obj({ id: uuid, name: str, price: { type: 'number' } }, ['name', 'price']) } },
    next: { schemas: { Product: obj({ id: uuid, name: str, price: { type: 'number', nullable: true } }, ['price']) } },
    expect: ['drop-not-null'],
    destructive: false,
  },
  {
    name: 'add default',
    old: { schemas: { Product: obj({ id: uuid, stock: int, label: str, active: { type: 'boolean' }, day: { type: 'string', format: 'date' } }) } },
    next: {
      schemas: {
        Product: obj({
          id: uuid,
          stock: { ...int, default: 0 },
          label: { type: 'string', default: "it's new" },
          active: { type: 'boolean', default: true },
          day: { type: 'string', format: 'date', default: '2024-01-31' },
        }),
      },
    },
    expect: ['set-default'],
    destructive: false,
  },
  {
    name: 'change default',
    old: {
      schemas: {
        Product: obj({
          id: uuid,
          stock: { ...int, default: 0 },
          tags: { type: 'array', items: str, default: [] },
          meta: { type: 'object', default: {} },
          ratio: { type: 'number', format: 'decimal', default: 1.5 },
        }),
      },
    },
    next: {
      schemas: {
        Product: obj({
          id: uuid,
          stock: { ...int, default: -5 },
          tags: { type: 'array', items: str, default: ['a', "b'c"] },
          meta: { type: 'object', default: { a: 1, "q'uote": ['x'] } },
          ratio: { type: 'number', format: 'decimal', default: 2.25 },
        }),
      },
    },
    expect: ['set-default'],
    destructive: false,
  },
  {
    name: 'drop default',
    old: { schemas: { Product: obj({ id: uuid, stock: { ...int, default: 3 }, label: { type: 'string', default: 'x' } }) } },
    next: { schemas: { Product: obj({ id: uuid, stock: int, label: str }) } },
    expect: ['drop-default'],
    destructive: false,
  },
  {
    name: 'add index',
    old: { schemas: { Product: obj({ id: uuid, sku: str }) } },
    next: { schemas: { Product: obj({ id: uuid, sku: { ...str, 'x-backdev-index': true } }) } },
    expect: ['create-index'],
    destructive: false,
  },
  {
    name: 'drop index',
    old: { schemas: { Product: obj({ id: uuid, sku: { ...str, 'x-backdev-index': true } }) } },
    next: { schemas: { Product: obj({ id: uuid, sku: str }) } },
    expect: ['drop-index'],
    destructive: false,
  },
  {
    name: 'add unique',
    old: { schemas: { User: obj({ id: uuid, email: { type: 'string', format: 'email' } }, ['email']) } },
    next: { schemas: { User: obj({ id: uuid, email: { type: 'string', format: 'email', 'x-backdev-unique': true } }, ['email']) } },
    expect: ['create-index'],
    destructive: true,
  },
  {
    name: 'drop unique',
    old: { schemas: { User: obj({ id: uuid, email: { type: 'string', format: 'email', 'x-backdev-unique': true } }, ['email']) } },
    next: { schemas: { User: obj({ id: uuid, email: { type: 'string', format: 'email' } }, ['email']) } },
    expect: ['drop-index'],
    destructive: false,
  },
  {
    name: 'add foreign key',
    old: { schemas: { Product: obj({ id: uuid }), Order: obj({ id: uuid, productId: uuid }) } },
    next: { schemas: { Product: obj({ id: uuid }), Order: obj({ id: uuid, productId: { ...uuid, 'x-backdev-ref': 'Product' } }) } },
    expect: ['add-foreign-key', 'create-index'],
    destructive: true,
  },
  {
    name: 'drop foreign key',
    old: { schemas: { Product: obj({ id: uuid }), Order: obj({ id: uuid, product: ref('Product'), note: str }, ['product']) } },
    next: { schemas: { Product: obj({ id: uuid }), Order: obj({ id: uuid, note: str }) } },
    expect: ['drop-foreign-key', 'drop-index', 'drop-column'],
    destructive: true,
  },
  {
    name: 'new table',
    old: { schemas: { Product: obj({ id: uuid, name: str }) } },
    next: {
      schemas: {
        Product: obj({ id: uuid, name: str, category: ref('Category') }),
        Category: obj({ id: { type: 'integer' }, name: { ...str, 'x-backdev-unique': true }, kind: { type: 'string', enum: ['a', 'b'] } }, ['name']),
      },
    },
    expect: ['create-table', 'add-column', 'add-foreign-key'],
    destructive: false,
  },
  {
    name: 'dropped table',
    old: {
      schemas: {
        Product: obj({ id: uuid, name: str, category: ref('Category') }),
        Category: obj({ id: { type: 'integer' }, name: { ...str, 'x-backdev-unique': true }, kind: { type: 'string', enum: ['a', 'b'] } }, ['name']),
      },
    },
    next: { schemas: { Product: obj({ id: uuid, name: str }) } },
    expect: ['drop-table', 'drop-foreign-key', 'drop-column'],
    destructive: true,
  },
  {
    name: 'enum values added',
    old: { schemas: { Order: obj({ id: uuid, status: { type: 'string', enum: ['new', 'paid'] }, size: { type: 'integer', enum: [1, 2] } }, ['status']) } },
    next: { schemas: { Order: obj({ id: uuid, status: { type: 'string', enum: ['new', 'paid', 'shipped'] }, size: { type: 'integer', enum: [1, 2, 3] } }, ['status']) } },
    expect: ['replace-check'],
    destructive: false,
  },
  {
    name: 'enum values removed',
    old: { schemas: { Order: obj({ id: uuid, status: { type: 'string', enum: ['new', 'paid', 'shipped'] } }, ['status']) } },
    next: { schemas: { Order: obj({ id: uuid, status: { type: 'string', enum: ['new', 'paid'] } }, ['status']) } },
    expect: ['replace-check'],
    destructive: true,
  },
  {
    name: 'rename column (with a hint)',
    old: { schemas: { Product: obj({ id: uuid, title: { type: 'string', enum: ['a', 'b'], 'x-backdev-index': true }, other: str }, ['title']) } },
    next: { schemas: { Product: obj({ id: uuid, name: { type: 'string', enum: ['a', 'b'], 'x-backdev-index': true }, other: str }, ['name']) } },
    renames: { column: { 'products.title': 'name' } },
    expect: ['rename-column', 'rename-index', 'rename-constraint'],
    destructive: false,
  },
  {
    name: 'rename table (with a hint)',
    old: {
      schemas: {
        Product: obj({ id: uuid, sku: { ...str, 'x-backdev-unique': true }, kind: { type: 'string', enum: ['x', 'y'] } }),
        Order: obj({ id: uuid, product: ref('Product') }, ['product']),
      },
    },
    next: {
      schemas: {
        Item: obj({ id: uuid, sku: { ...str, 'x-backdev-unique': true }, kind: { type: 'string', enum: ['x', 'y'] } }),
        Order: obj({ id: uuid, product: ref('Item') }, ['product']),
      },
    },
    renames: { table: { products: 'items' } },
    expect: ['rename-table', 'rename-index', 'rename-constraint'],
    destructive: false,
  },
  {
    name: 'join table added',
    old: { schemas: { Post: obj({ id: uuid, title: str }), Tag: obj({ id: { type: 'integer' }, label: str }) } },
    next: { schemas: { Post: obj({ id: uuid, title: str, tags: { type: 'array', items: ref('Tag') } }), Tag: obj({ id: { type: 'integer' }, label: str }) } },
    expect: ['create-table', 'add-foreign-key', 'create-index'],
    destructive: false,
  },
  {
    name: 'type change under a check and a default',
    old: { schemas: { Order: obj({ id: uuid, status: { type: 'string', enum: ['a', 'b'], default: 'a' } }, ['status']) } },
    next: { schemas: { Order: obj({ id: uuid, status: { type: 'string', maxLength: 10, enum: ['a', 'b', 'c'], default: 'b' } }, ['status']) } },
    expect: ['drop-check', 'drop-default', 'alter-column-type', 'set-default', 'add-check'],
    destructive: true,
  },
  {
    name: 'type change with no cast (column rebuilt)',
    old: { schemas: { Product: obj({ id: uuid, code: uuid, labels: str, flag: { type: 'boolean' } }, ['code']) } },
    next: { schemas: { Product: obj({ id: uuid, code: int, labels: { type: 'array', items: str }, flag: { type: 'string', format: 'date' } }, ['code']) } },
    expect: ['drop-column', 'add-column'],
    destructive: true,
  },
  {
    name: 'primary key strategy uuid → identity (keys and foreign keys rebuilt)',
    old: { schemas: { Product: obj({ name: str }), Order: obj({ product: ref('Product'), qty: int }, ['product']) }, options: { primaryKey: 'uuid' } },
    next: { schemas: { Product: obj({ name: str }), Order: obj({ product: ref('Product'), qty: int }, ['product']) }, options: { primaryKey: 'identity' } },
    expect: ['drop-primary-key', 'add-primary-key', 'drop-foreign-key', 'add-foreign-key'],
    destructive: true,
  },
  {
    name: 'reserved words as table and column names',
    old: reservedOld,
    next: reservedNew,
    expect: ['create-table', 'add-column', 'alter-column-type', 'replace-check', 'add-foreign-key', 'create-index'],
    destructive: false,
  },
  {
    name: 'identity key widened, with a foreign key to it',
    old: { schemas: { Tag: obj({ id: { type: 'integer' }, label: str }), Post: obj({ id: uuid, tag: ref('Tag') }, ['tag']) } },
    next: { schemas: { Tag: obj({ id: { type: 'integer', format: 'int64' }, label: str }), Post: obj({ id: uuid, tag: ref('Tag') }, ['tag']) } },
    expect: ['drop-foreign-key', 'alter-column-type', 'add-foreign-key'],
    destructive: false,
  },
  {
    name: 'reserved words from a spec',
    old: { schemas: { User: obj({ id: uuid, select: str }) } },
    next: {
      schemas: {
        User: obj({ id: uuid, select: { ...str, 'x-backdev-unique': true }, order: { type: 'string', enum: ['asc', 'desc'], default: 'asc' } }),
        Group: obj({ id: uuid, user: ref('User'), from: { type: 'string', format: 'date' }, table: { type: 'array', items: ref('User') } }, ['user']),
      },
    },
    expect: ['create-table', 'add-column', 'add-check', 'create-index', 'add-foreign-key'],
    destructive: true,
  },
  {
    name: 'cyclic references added',
    old: { schemas: { A: obj({ id: uuid, name: str }), B: obj({ id: uuid, name: str }) } },
    next: { schemas: { A: obj({ id: uuid, name: str, b: ref('B'), parent: ref('A') }, ['b', 'parent']), B: obj({ id: uuid, name: str, a: ref('A') }, ['a']) } },
    expect: ['add-column', 'add-foreign-key'],
    destructive: false,
  },
  {
    name: 'long names',
    old: { schemas: { [LONG_MODEL]: obj({ id: uuid }) } },
    next: { schemas: { [LONG_MODEL]: obj({ id: uuid, [LONG_PROP]: { ...str, 'x-backdev-index': true, enum: ['x'] }, [`${LONG_PROP}2`]: { ...str, 'x-backdev-unique': true } }) } },
    expect: ['add-column', 'create-index', 'add-check'],
    destructive: false,
  },
  {
    name: 'timestamps added',
    old: { schemas: { Product: obj({ id: uuid, name: str }) }, options: { timestamps: false } },
    next: { schemas: { Product: obj({ id: uuid, name: str }) }, options: { timestamps: true } },
    expect: ['add-column'],
    destructive: false,
  },
];

function toSchema(d: Design): DbSchema {
  if ('kind' in d) return d;
  const { schema, warnings } = design(d.schemas, d.options ?? {});
  expect(warnings).toEqual([]);
  return schema;
}

const database = useTestDatabase();

describe(`migration round trips on ${DATABASE_LABEL}`, () => {
  it('has at least 15 rows', () => {
    expect(ROWS.length).toBeGreaterThanOrEqual(15);
  });

  ROWS.forEach((row, i) => {
    it(`${i + 1}. ${row.name}`, async () => {
      const db = await database();
      const oldSchema = toSchema(row.old);
      const newSchema = toSchema(row.next);
      const first = diffSchemas(undefined, oldSchema);
      const second = diffSchemas(oldSchema, newSchema, row.renames ? { renames: row.renames } : {});
      const direct = diffSchemas(undefined, newSchema);
      const kinds = second.steps.map((s) => s.kind);
      for (const kind of row.expect) expect(kinds, `${row.name}: ${kinds.join(', ')}`).toContain(kind);
      expect(second.destructive.length > 0, second.steps.map((s) => `${s.kind}${s.destructive ? '!' : ''}`).join(', ')).toBe(row.destructive);

      const [m1, m2, m3] = await Promise.all([first, second, direct].map((m) => loadMigration(renderMigration(m))));
      const [a, b, c] = ['a', 'b', 'c'].map((x) => schemaName(`rt_${i + 1}_${x}`)) as [string, string, string];
      try {
        // (a) OLD, then OLD → NEW
        await freshSchema(db, a);
        await runIn(db, a, m1!, 'up');
        await runIn(db, a, m2!, 'up');
        // (b) NEW directly
        await freshSchema(db, b);
        await runIn(db, b, m3!, 'up');
        const migrated = await describeCatalog(db, a);
        expect(migrated.tables.length).toBeGreaterThan(0);
        expect(migrated).toEqual(await describeCatalog(db, b));

        // down of OLD → NEW in (a) gives what a fresh OLD schema has
        await freshSchema(db, c);
        await runIn(db, c, m1!, 'up');
        await runIn(db, a, m2!, 'down');
        expect(await describeCatalog(db, a)).toEqual(await describeCatalog(db, c));

        // and down of the first migration leaves nothing
        await runIn(db, a, m1!, 'down');
        expect(await describeCatalog(db, a)).toEqual({ tables: [], columns: [], indexes: [], constraints: [] });
      } finally {
        for (const s of [a, b, c]) await dropSchema(db, s);
      }
    });
  });
});

describe(`migrations with data on ${DATABASE_LABEL}`, () => {
  const product = (props: Schemas[string]) => toSchema({ schemas: { Product: props as Record<string, unknown> } });

  let db: Kysely<any>;
  async function withSchema(label: string, run: (schema: string) => Promise<void>): Promise<void> {
    db = await database();
    const schema = schemaName(label);
    await freshSchema(db, schema);
    try {
      await run(schema);
    } finally {
      await dropSchema(db, schema);
    }
  }

  it('the catalog comparison notices a missing step', async () => {
    const oldSchema = product(obj({ id: uuid, stock: int }));
    const newSchema = product(obj({ id: uuid, stock: { ...int, default: 3 }, sku: { ...str, 'x-backdev-unique': true } }));
    const second = diffSchemas(oldSchema, newSchema);
    const partial: Migration = { ...second, steps: second.steps.slice(0, -1) };
    await withSchema('rt_control_a', async (a) => {
      await withSchema('rt_control_b', async (b) => {
        await runIn(db, a, await loadMigration(renderMigration(diffSchemas(undefined, oldSchema))), 'up');
        await runIn(db, a, await loadMigration(renderMigration(partial)), 'up');
        await runIn(db, b, await loadMigration(renderMigration(diffSchemas(undefined, newSchema))), 'up');
        expect(await describeCatalog(db, a)).not.toEqual(await describeCatalog(db, b));
      });
    });
  });

  it('keeps the data through a rename, a widening and a new default, and back', async () => {
    const oldSchema = product(obj({ id: uuid, title: { type: 'string', maxLength: 10 }, qty: int }, ['title']));
    const newSchema = product(obj({ id: uuid, name: { type: 'string', maxLength: 100 }, qty: { type: 'integer', format: 'int64', default: 0 } }, ['name']));
    const first = await loadMigration(renderMigration(diffSchemas(undefined, oldSchema)));
    const second = await loadMigration(renderMigration(diffSchemas(oldSchema, newSchema, { renames: { column: { 'products.title': 'name' } } })));
    await withSchema('rt_data', async (schema) => {
      const products = sql`${sql.id(schema)}.products`;
      await runIn(db, schema, first, 'up');
      await sql`insert into ${products} (title, qty) values ('kept', 7)`.execute(db);
      await runIn(db, schema, second, 'up');
      await sql`insert into ${products} (name) values (${'a name longer than ten'})`.execute(db);
      const after = (await sql<{ name: string; qty: number }>`select name, qty from ${products} order by qty desc`.execute(db)).rows;
      expect(after).toEqual([
        { name: 'kept', qty: 7 },
        { name: 'a name longer than ten', qty: 0 },
      ]);
      // Going back narrows varchar(100) to varchar(10): the long row makes it fail, and nothing changes.
      await expect(runIn(db, schema, second, 'down')).rejects.toThrow(/too long/);
      expect((await sql<{ n: number }>`select count(*)::int as n from ${products} where name is not null`.execute(db)).rows[0]!.n).toBe(2);
      await sql`delete from ${products} where qty = 0`.execute(db);
      await runIn(db, schema, second, 'down');
      expect((await sql<{ title: string; qty: number }>`select title, qty from ${products}`.execute(db)).rows).toEqual([{ title: 'kept', qty: 7 }]);
    });
  });

  it('refuses to set NOT NULL over nulls, leaving the table as it was', async () => {
    const oldSchema = product(obj({ id: uuid, name: str }));
    const newSchema = product(obj({ id: uuid, name: str }, ['name']));
    await withSchema('rt_not_null', async (schema) => {
      await runIn(db, schema, await loadMigration(renderMigration(diffSchemas(undefined, oldSchema))), 'up');
      const before = await describeCatalog(db, schema);
      await sql`insert into ${sql.id(schema)}.products (name) values (null)`.execute(db);
      await expect(runIn(db, schema, await loadMigration(renderMigration(diffSchemas(oldSchema, newSchema))), 'up')).rejects.toThrow(/null/);
      expect(await describeCatalog(db, schema)).toEqual(before);
    });
  });
});
