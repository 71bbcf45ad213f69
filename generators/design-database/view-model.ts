/**
 * The template context of `design-database` (templates/design-database/README.md documents it): the
 * Kysely `Database` types of every table, and per model the entity shape and column mapping its
 * repository needs. TypeScript types here are structures (core/render/ts-type.ts) built from a fixed
 * vocabulary and the enum values; templates print them once with `{{type …}}`, never edit their text.
 */
import type { ColumnIR, DbSchema, TableIR } from '../core/db/types.js';
import { NameTable, toIdentifier } from '../core/ir/names.js';
import { repositoryNames } from '../core/resource/names.js';
import { tsArray, tsGeneric, tsKeyword, tsLiteral, tsMapKeyword, tsNonNull, tsNullable, tsUnion, type TsKeyword, type TsType } from '../core/render/ts-type.js';

export interface DesignDatabaseView {
  /** Every table, sorted by name (for schema.gen.ts). */
  tables: TableView[];
  /** Tables designed from a model (not join tables): one repository each. */
  models: ModelView[];
}

export interface TableView {
  /** SQL table name. */
  name: string;
  /** Identifier of its interface in schema.gen.ts (`ProductsTable`). */
  typeName: string;
  model: string;
  columns: ColumnView[];
}

export interface ColumnView {
  /** SQL column name. */
  name: string;
  /** The JSON property it stores. */
  property: string;
  /**
   * Its type in the `Database` interface (`Generated<string>`, `ColumnType<Date, Date | string, Date | string>`),
   * as data: print it with `{{type dbType}}`.
   */
  dbType: TsType;
}

export interface EntityField {
  column: string;
  property: string;
  /** TypeScript type of the property in the entity (API shape: timestamps as ISO strings), as data: `{{type tsType}}`. */
  tsType: TsType;
  /** The property is left out when the column is NULL (optional in the API), else it is `null`. */
  optional: boolean;
  nullable: boolean;
  /** How a row value becomes the property: as is, a Date to an ISO string. */
  read: 'plain' | 'iso';
  /** Whether it is written from create/update input (not the key, not created_at/updated_at). */
  writable: boolean;
  /** The key, when create() is given it (an external key: no default, not generated). */
  givenKey: boolean;
  /** Whether an insert may leave it out (nullable or defaulted). */
  insertOptional: boolean;
  /** jsonb: written as JSON text. */
  json: boolean;
  /** Indexed or unique: `list({ where })` can filter on it. */
  filterable: boolean;
}

export interface ModelView {
  model: string;
  table: string;
  /** schema.gen.ts interface of the table. */
  tableType: string;
  /** Entity type name (`Product`). */
  entity: string;
  /** Factory name (`productRepository`), in the user's file. */
  factory: string;
  /** Factory of the generated part (`createProductRepository`). */
  baseFactory: string;
  /** `db/repositories/<fileStem>.ts` */
  fileStem: string;
  fields: EntityField[];
  key: EntityField;
  /** Keyset pagination order: `created_at, id` when there is a created_at column, else the key. */
  sort: EntityField[];
  /** The column set to now() on update, if any. */
  updatedAt: string | undefined;
  /** The kind of each `sort` value in a page cursor (`readCursor` in backdev/runtime/db checks them). */
  cursorKinds: CursorKind[];
  /** Column and constraint → API property, for the `DataError`s the repository throws (`ErrorMapping`). */
  errorMapping: { columns: Record<string, string>; constraints: Record<string, string[]> };
}

/** backdev/runtime/db's `CursorKind`. */
export type CursorKind = 'uuid' | 'integer' | 'bigint' | 'number' | 'numeric' | 'text' | 'boolean' | 'date' | 'timestamp';

const CURSOR_KIND: Record<ColumnIR['type']['name'], CursorKind> = {
  uuid: 'uuid',
  text: 'text',
  varchar: 'text',
  integer: 'integer',
  bigint: 'bigint',
  'double precision': 'number',
  numeric: 'numeric',
  boolean: 'boolean',
  date: 'date',
  timestamptz: 'timestamp',
  jsonb: 'text',
};

/** Which API properties each column, index, foreign key and check of the table stands for. */
function errorMapping(t: TableIR): ModelView['errorMapping'] {
  const property = new Map(t.columns.map((c) => [c.name, c.property]));
  const props = (columns: readonly string[]) => columns.map((c) => property.get(c) ?? c);
  const constraints: Record<string, string[]> = {};
  for (const x of t.indexes) constraints[x.name] = props(x.columns);
  for (const fk of t.foreignKeys) constraints[fk.name] = props(fk.columns);
  for (const ck of t.checks) constraints[ck.name] = props([ck.column]);
  return { columns: Object.fromEntries(property), constraints };
}

const TS_BASE: Record<ColumnIR['type']['name'], TsKeyword> = {
  uuid: 'string',
  text: 'string',
  varchar: 'string',
  integer: 'number',
  bigint: 'number',
  'double precision': 'number',
  numeric: 'string',
  boolean: 'boolean',
  date: 'string',
  timestamptz: 'Date',
  jsonb: 'unknown',
};

/** The column's enum values (its CHECK constraint) as a union of literals, if it has one. */
function enumUnion(table: TableIR, column: ColumnIR): TsType | undefined {
  const check = table.checks.find((c) => c.column === column.name);
  if (!check || column.type.array) return undefined;
  return tsUnion(...check.values.map((v) => tsLiteral(v)));
}

/** What a select returns for the column (`Date` for timestamps, `| null` where NULL is allowed). */
function selectType(table: TableIR, column: ColumnIR): TsType {
  const base = enumUnion(table, column) ?? tsKeyword(TS_BASE[column.type.name]);
  const withArray = column.type.array ? tsArray(base) : base;
  return column.nullable ? tsNullable(withArray) : withArray;
}

function dbType(table: TableIR, column: ColumnIR): TsType {
  const select = selectType(table, column);
  const generated = column.default !== undefined || column.identity === true;
  // What inserts and updates take, when it differs from what a select returns.
  let written: TsType | undefined;
  if (column.type.name === 'timestamptz' && !column.type.array) written = tsMapKeyword(select, 'Date', tsUnion(tsKeyword('Date'), tsKeyword('string')));
  else if (column.type.name === 'jsonb') written = column.nullable ? tsNullable(tsKeyword('string')) : tsKeyword('string');
  if (written === undefined) return generated ? tsGeneric('Generated', [select]) : select;
  return tsGeneric('ColumnType', [select, generated ? tsUnion(written, tsKeyword('undefined')) : written, written]);
}

const TIMESTAMP_COLUMNS = new Set(['created_at', 'updated_at']);


export function buildDatabaseView(schema: DbSchema, requiredProperties: (model: string) => ReadonlySet<string> | undefined): DesignDatabaseView {
  const types = new NameTable({ reserved: ['Database', 'Generated', 'ColumnType'] });
  const tables: TableView[] = schema.tables.map((t) => ({
    name: t.name,
    typeName: types.claim(toIdentifier(`${t.name} table`, 'pascal', 'Table')),
    model: t.model,
    columns: t.columns.map((c) => ({ name: c.name, property: c.property, dbType: dbType(t, c) })),
  }));
  const models: ModelView[] = [];
  schema.tables.forEach((t, i) => {
    if (t.primaryKey.length !== 1 || t.model.includes('.')) return; // join tables have no repository
    const required = requiredProperties(t.model);
    const indexed = new Set(t.indexes.filter((x) => x.columns.length === 1).map((x) => x.columns[0]!));
    const fields: EntityField[] = t.columns.map((c) => {
      // The API shape: timestamps are ISO strings.
      const select = tsMapKeyword(selectType(t, c), 'Date', tsKeyword('string'));
      const isKey = t.primaryKey.includes(c.name);
      // A property the spec does not require is left out when NULL; a required one keeps the null.
      const optional = c.nullable && !(required?.has(c.property) ?? false);
      return {
        column: c.name,
        property: c.property,
        tsType: optional ? tsNonNull(select) : select,
        optional,
        nullable: c.nullable,
        read: c.type.name === 'timestamptz' && !c.type.array ? 'iso' : 'plain',
        writable: !isKey && !TIMESTAMP_COLUMNS.has(c.name),
        givenKey: isKey && c.default === undefined && c.identity !== true,
        insertOptional: c.nullable || c.default !== undefined || c.identity === true,
        json: c.type.name === 'jsonb',
        filterable: !isKey && indexed.has(c.name),
      };
    });
    const key = fields.find((f) => f.column === t.primaryKey[0])!;
    const createdAt = fields.find((f) => f.column === 'created_at');
    const names = repositoryNames(t.model);
    models.push({
      model: t.model,
      table: t.name,
      tableType: tables[i]!.typeName,
      entity: names.entity,
      factory: names.factory,
      baseFactory: `create${names.entity}Repository`,
      fileStem: names.fileStem,
      fields,
      key,
      sort: createdAt ? [createdAt, key] : [key],
      updatedAt: fields.some((f) => f.column === 'updated_at') ? 'updated_at' : undefined,
      cursorKinds: (createdAt ? [createdAt, key] : [key]).map((f) => CURSOR_KIND[t.columns.find((c) => c.name === f.column)!.type.name]),
      errorMapping: errorMapping(t),
    });
  });
  return { tables, models };
}

