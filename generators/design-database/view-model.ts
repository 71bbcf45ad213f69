/**
 * The template context of `design-database` (templates/design-database/README.md documents it): the
 * Kysely `Database` types of every table, and per model the entity shape and column mapping its
 * repository needs. TypeScript type expressions here are built from a fixed vocabulary; enum values,
 * the only spec text in them, go through `stringLiteral`.
 */
import type { ColumnIR, DbSchema, TableIR } from '../core/db/types.js';
import { createHash } from 'node:crypto';
import { camelCase, kebabCase, NameTable, toFileStem, toIdentifier } from '../core/ir/names.js';
import { stringLiteral } from '../core/render/escape.js';

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
  /** Type expression for the `Database` interface (`Generated<string>`, `ColumnType<Date, Date | string, Date | string>`). */
  dbType: string;
}

export interface EntityField {
  column: string;
  property: string;
  /** TypeScript type of the property in the entity (API shape): Date columns become ISO strings. */
  tsType: string;
  /** The property is left out when the column is NULL (optional in the API), else it is `null`. */
  optional: boolean;
  nullable: boolean;
  /** How a row value becomes the property: as is, a Date to an ISO string. */
  read: 'plain' | 'iso';
  /** Whether it is written from create/update input (not the key, not created_at/updated_at). */
  writable: boolean;
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
}

const TS_BASE: Record<ColumnIR['type']['name'], string> = {
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

function enumUnion(table: TableIR, column: ColumnIR): string | undefined {
  const check = table.checks.find((c) => c.column === column.name);
  if (!check || column.type.array) return undefined;
  return check.values.map((v) => (typeof v === 'number' ? String(v) : stringLiteral(v))).join(' | ');
}

function selectType(table: TableIR, column: ColumnIR): string {
  const base = enumUnion(table, column) ?? TS_BASE[column.type.name];
  const withArray = column.type.array ? `${base.includes('|') ? `(${base})` : base}[]` : base;
  return column.nullable ? `${withArray} | null` : withArray;
}

function dbType(table: TableIR, column: ColumnIR): string {
  const select = selectType(table, column);
  const generated = column.default !== undefined || column.identity === true;
  const written =
    column.type.name === 'timestamptz' && !column.type.array
      ? select.replace('Date', 'Date | string')
      : column.type.name === 'jsonb'
        ? column.nullable
          ? 'string | null'
          : 'string'
        : select;
  if (written === select) return generated ? `Generated<${select}>` : select;
  return `ColumnType<${select}, ${written}${generated ? ' | undefined' : ''}, ${written}>`;
}

const TIMESTAMP_COLUMNS = new Set(['created_at', 'updated_at']);

/** Names of a model's repository: its file stem (`db/repositories/<stem>.ts`), entity type and factory. */
export function repositoryNames(model: string): { fileStem: string; entity: string; factory: string } {
  const entity = toIdentifier(model, 'pascal', 'Entity');
  // A long name is cut with a hash of the whole, so that two models never share a file.
  let fileStem = kebabCase(model) || 'model';
  if (fileStem.length > 80) fileStem = `${fileStem.slice(0, 70).replace(/-+$/, '')}-${createHash('sha256').update(model).digest('hex').slice(0, 8)}`;
  return { fileStem: toFileStem(fileStem, 'model'), entity, factory: `${camelCase(entity) || 'entity'}Repository` };
}

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
      const select = selectType(t, c).replace(/\bDate\b/, 'string');
      const isKey = t.primaryKey.includes(c.name);
      // A property the spec does not require is left out when NULL; a required one keeps the null.
      const optional = c.nullable && !(required?.has(c.property) ?? false);
      return {
        column: c.name,
        property: c.property,
        tsType: optional ? select.replace(/ \| null$/, '') : select,
        optional,
        nullable: c.nullable,
        read: c.type.name === 'timestamptz' && !c.type.array ? 'iso' : 'plain',
        writable: !isKey && !TIMESTAMP_COLUMNS.has(c.name),
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
    });
  });
  return { tables, models };
}

