/**
 * Models → tables: designs the database IR (`DbSchema`) from the object schemas the user chose as models.
 *
 * One table per model, one column per property (JSON Schema type → PostgreSQL type), a `$ref` to another
 * model becomes a foreign key column, an array of `$ref`s to a model becomes a join table, and anything
 * without a faithful column type is stored as `jsonb` with a `COLUMN_AS_JSONB` warning. The result is
 * deterministic (same input, same output, byte for byte once serialized) and deeply frozen.
 */
import type {
  CheckIR,
  ColumnIR,
  DbSchema,
  DefaultIR,
  ForeignKeyIR,
  IndexIR,
  SqlType,
  TableIR,
} from '../core/db/types.js';
import { checkName, foreignKeyName, indexName, primaryKeyName, singularize, SqlNameTable, tableName, toSqlName } from '../core/db/names.js';
import type { Warning } from '../core/errors.js';
import { deepFreeze } from '../core/freeze.js';
import { Classifier, isTimestampLike, type Classified, type Flags, type ModelShape } from './mapping/classify.js';
import { isCheckable, isReferenceCapable } from './mapping/column-types.js';
import { stronglyConnected } from './mapping/cycles.js';
import { defaultFor } from './mapping/defaults.js';
import { byName, compareStrings } from './mapping/order.js';

export interface MappingOptions {
  /** The primary key added to a model without an `id` property: `uuid` (gen_random_uuid()) or a bigint identity. */
  primaryKey: 'uuid' | 'identity';
  /** Add `created_at` / `updated_at` (timestamptz, default now()) to models that lack them. */
  timestamps: boolean;
  /**
   * The tables models already have (model → table, from the last design): they keep their names even where
   * today's naming would give another (a table is never renamed behind the user's back).
   */
  existingTables?: ReadonlyMap<string, string> | undefined;
}

interface PrimaryKey {
  /** The spec property that holds it, when the model has one (`id`). */
  property: string | undefined;
  type: SqlType;
  identity: boolean;
}

interface Pending {
  model: string;
  table: string;
  columns: ColumnIR[];
  primaryKey: string[];
  /** Indexes, foreign keys and checks with their wanted (unallocated) names. */
  indexes: { base: string; columns: string[]; unique: boolean }[];
  foreignKeys: { columns: string[]; table: string; refColumns: string[]; onDelete: ForeignKeyIR['onDelete'] }[];
  checks: { column: string; values: readonly (string | number)[] }[];
}

export function designSchema(doc: Record<string, unknown>, models: string[], options: MappingOptions, warnings: Warning[]): DbSchema {
  const names = [...new Set(models.filter((m) => typeof m === 'string'))].sort(compareStrings);
  const modelSet = new Set(names);
  const ctx = new Classifier(doc, modelSet);

  const shapes = new Map<string, ModelShape>();
  for (const name of names) shapes.set(name, ctx.modelShape(name));

  // Table names: models that have a table keep it; the others claim theirs in sorted order; join tables after.
  const tableNames = new SqlNameTable();
  const tables = new Map<string, string>();
  for (const name of names) {
    const existing = options.existingTables?.get(name);
    if (existing !== undefined) tables.set(name, tableNames.claim(existing));
  }
  for (const name of names) if (!tables.has(name)) tables.set(name, tableNames.claim(tableName(name)));

  // Classify every property once.
  const classified = new Map<string, [string, Classified][]>();
  for (const name of names) {
    const shape = shapes.get(name)!;
    classified.set(
      name,
      [...shape.properties].map(([prop, schema]) => [prop, ctx.classify(schema, new Set())] as [string, Classified]),
    );
  }

  const primaryKeys = new Map<string, PrimaryKey>();
  for (const name of names) primaryKeys.set(name, primaryKeyOf(classified.get(name)!, options));

  // Foreign key edges that are part of a reference cycle are made nullable (a row could not be inserted).
  const edges = new Map<string, Set<string>>();
  for (const name of names) {
    const out = new Set<string>();
    for (const [prop, c] of classified.get(name)!) {
      if (prop === 'id') continue;
      const target = c.kind === 'reference' ? c.target : c.kind === 'column' && c.flags.ref !== undefined && modelSet.has(c.flags.ref) ? c.flags.ref : undefined;
      if (target !== undefined) out.add(target);
    }
    edges.set(name, out);
  }
  const component = stronglyConnected(names, edges);
  // An edge is in a cycle when both ends are in one strongly connected component (or it is a self reference).
  const cyclic = (from: string, to: string) => from === to || component.get(from) === component.get(to);

  const pending: Pending[] = [];
  const joins: { owner: string; prop: string; target: string }[] = [];

  for (const name of names) {
    const table = tables.get(name)!;
    const shape = shapes.get(name)!;
    const pk = primaryKeys.get(name)!;
    const columnNames = new SqlNameTable();
    const p: Pending = { model: name, table, columns: [], primaryKey: [], indexes: [], foreignKeys: [], checks: [] };
    const props = classified.get(name)!;

    const pkColumn = columnNames.claim('id');
    p.columns.push(
      column(pkColumn, pk.property ?? 'id', pk.type, false, pk.type.name === 'uuid' ? { kind: 'expression', sql: 'gen_random_uuid()' } : undefined, pk.identity),
    );
    p.primaryKey.push(pkColumn);

    // Timestamps: the first of createdAt / created_at (updatedAt / updated_at) that is a string.
    const stamps: ColumnIR[] = [];
    const stampProps = new Set<string>();
    for (const [camel, snake] of [
      ['createdAt', 'created_at'],
      ['updatedAt', 'updated_at'],
    ] as const) {
      const found = props.find(([prop, c]) => (prop === camel || prop === snake) && isTimestampLike(c));
      if (found === undefined && !options.timestamps) continue;
      const property = found?.[0] ?? camel;
      if (found) stampProps.add(found[0]);
      stamps.push(column(columnNames.claim(snake), property, { name: 'timestamptz' }, false, { kind: 'expression', sql: 'now()' }));
    }

    for (const [prop, c] of props) {
      if (prop === 'id' && pk.property === 'id') continue;
      if (stampProps.has(prop)) continue;
      const required = shape.required.has(prop);
      if (c.kind === 'join') {
        joins.push({ owner: name, prop, target: c.target });
        continue;
      }
      if (c.kind === 'reference') {
        const base = toSqlName(prop, 'ref');
        const col = columnNames.claim(/(^|_)id$/.test(base) ? base : toSqlName(`${prop}_id`, 'ref_id'));
        const nullable = !required || c.nullable || cyclic(name, c.target);
        addForeignKey(p, col, prop, c.target, nullable, c.flags);
        continue;
      }
      const col = columnNames.claim(toSqlName(prop, 'column'));
      if (c.warn !== undefined) {
        warnings.push({ code: 'COLUMN_AS_JSONB', subject: `schema ${name} property ${prop}`, message: `${c.warn}; the column ${table}.${col} is jsonb` });
      }
      const ref = c.flags.ref;
      if (ref !== undefined && modelSet.has(ref) && isReferenceCapable(c.type)) {
        const nullable = !required || c.nullable || cyclic(name, ref);
        addForeignKey(p, col, prop, ref, nullable, c.flags);
        continue;
      }
      const nullable = !required || c.nullable;
      const values = c.values !== undefined && c.values.length > 0 && isCheckable(c.type) ? c.values : undefined;
      const dflt = c.hasDefault ? defaultFor(c.defaultValue, c.type, values) : undefined;
      p.columns.push(column(col, prop, c.type, nullable, dflt));
      if (values) p.checks.push({ column: col, values });
      if (c.flags.unique) p.indexes.push({ base: indexName(table, [col], true), columns: [col], unique: true });
      else if (c.flags.index) p.indexes.push({ base: indexName(table, [col], false), columns: [col], unique: false });
    }
    p.columns.push(...stamps);
    pending.push(p);
  }

  function addForeignKey(p: Pending, col: string, prop: string, target: string, nullable: boolean, flags: Flags): void {
    const targetPk = primaryKeys.get(target)!;
    p.columns.push(column(col, prop, { name: targetPk.type.name }, nullable));
    p.foreignKeys.push({ columns: [col], table: tables.get(target)!, refColumns: ['id'], onDelete: nullable ? 'set null' : 'cascade' });
    p.indexes.push({ base: indexName(p.table, [col], flags.unique), columns: [col], unique: flags.unique });
  }

  for (const { owner, prop, target } of joins) {
    const ownerTable = tables.get(owner)!;
    const table = tableNames.claim(`${ownerTable}_${toSqlName(prop, 'items')}`);
    const columnNames = new SqlNameTable();
    const ownerCol = columnNames.claim(toSqlName(`${owner}_id`, 'owner_id'));
    let targetWanted = toSqlName(`${target}_id`, 'target_id');
    if (columnNames.has(targetWanted)) targetWanted = toSqlName(`${singularize(toSqlName(prop, 'item'))}_id`, 'target_id');
    const targetCol = columnNames.claim(targetWanted);
    const ownerPk = primaryKeys.get(owner)!;
    const targetPk = primaryKeys.get(target)!;
    pending.push({
      model: `${owner}.${prop}`,
      table,
      columns: [column(ownerCol, ownerPk.property ?? 'id', { name: ownerPk.type.name }, false), column(targetCol, prop, { name: targetPk.type.name }, false)],
      primaryKey: [ownerCol, targetCol],
      indexes: [{ base: indexName(table, [targetCol], false), columns: [targetCol], unique: false }],
      foreignKeys: [
        { columns: [ownerCol], table: ownerTable, refColumns: ['id'], onDelete: 'cascade' },
        { columns: [targetCol], table: tables.get(target)!, refColumns: ['id'], onDelete: 'cascade' },
      ],
      checks: [],
    });
  }

  // Index and constraint names are unique in the whole schema (indexes share the namespace of tables).
  pending.sort((a, b) => compareStrings(a.table, b.table));
  const objectNames = new SqlNameTable(pending.map((p) => p.table));
  for (const p of pending) objectNames.claim(primaryKeyName(p.table));
  const result: TableIR[] = pending.map((p) => {
    const seen = new Set<string>([JSON.stringify({ columns: p.primaryKey, unique: true })]);
    const indexes: IndexIR[] = [];
    for (const ix of p.indexes) {
      const key = JSON.stringify({ columns: ix.columns, unique: ix.unique });
      if (seen.has(key)) continue;
      seen.add(key);
      indexes.push({ kind: 'index', name: objectNames.claim(ix.base), columns: ix.columns, unique: ix.unique });
    }
    const foreignKeys: ForeignKeyIR[] = p.foreignKeys.map((fk) => ({
      kind: 'foreign-key',
      name: objectNames.claim(foreignKeyName(p.table, fk.columns)),
      columns: fk.columns,
      references: { table: fk.table, columns: fk.refColumns },
      onDelete: fk.onDelete,
    }));
    const checks: CheckIR[] = p.checks.map((c) => ({ kind: 'check', name: objectNames.claim(checkName(p.table, c.column)), column: c.column, values: c.values }));
    return {
      kind: 'table',
      name: p.table,
      model: p.model,
      columns: p.columns,
      primaryKey: p.primaryKey,
      indexes: indexes.sort(byName),
      foreignKeys: foreignKeys.sort(byName),
      checks: checks.sort(byName),
    };
  });

  return deepFreeze({ kind: 'db-schema', dialect: 'postgres', tables: result });
}

function column(name: string, property: string, type: SqlType, nullable: boolean, dflt?: DefaultIR, identity?: boolean): ColumnIR {
  return {
    kind: 'column',
    name,
    property,
    type,
    nullable,
    ...(dflt !== undefined ? { default: dflt } : {}),
    ...(identity ? { identity: true } : {}),
  };
}

function primaryKeyOf(props: [string, Classified][], options: MappingOptions): PrimaryKey {
  const id = props.find(([prop]) => prop === 'id')?.[1];
  if (id?.kind === 'column' && id.warn === undefined) {
    const t = id.type;
    // An external key (`x-backdev-key: external`, add-sync's tables): stored as the source gives it.
    if (id.flags.external && !t.array && ['uuid', 'text', 'varchar', 'integer', 'bigint'].includes(t.name)) return { property: 'id', type: t, identity: false };
    if (!t.array && (t.name === 'uuid' || t.name === 'text' || t.name === 'varchar')) return { property: 'id', type: { name: 'uuid' }, identity: false };
    if (!t.array && (t.name === 'integer' || t.name === 'bigint')) return { property: 'id', type: { name: t.name }, identity: true };
  }
  // No usable `id` property (or one of a type that cannot be a generated key): the configured default.
  return options.primaryKey === 'uuid'
    ? { property: id ? 'id' : undefined, type: { name: 'uuid' }, identity: false }
    : { property: id ? 'id' : undefined, type: { name: 'bigint' }, identity: true };
}
