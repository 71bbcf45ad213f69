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
import { BackdevError, type Warning } from '../core/errors.js';
import { parsePointer, resolvePointer, toPointer } from '../core/spec/pointer.js';
import { deepFreeze } from '../core/freeze.js';

export interface MappingOptions {
  /** The primary key added to a model without an `id` property: `uuid` (gen_random_uuid()) or a bigint identity. */
  primaryKey: 'uuid' | 'identity';
  /** Add `created_at` / `updated_at` (timestamptz, default now()) to models that lack them. */
  timestamps: boolean;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);

/** PostgreSQL's largest varchar length; a longer maxLength is stored as text. */
const MAX_VARCHAR = 10485760;
const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;

/** Keywords that say what a value is (as opposed to annotations such as description or readOnly). */
const STRUCTURAL = [
  'type',
  'properties',
  'additionalProperties',
  'patternProperties',
  'items',
  'prefixItems',
  'enum',
  'const',
  'format',
  'oneOf',
  'anyOf',
  'allOf',
  'not',
  '$ref',
  'maxLength',
  'minLength',
  'pattern',
  'minimum',
  'maximum',
  'exclusiveMinimum',
  'exclusiveMaximum',
  'multipleOf',
  'minItems',
  'maxItems',
];

/** What a property schema maps to. */
type Classified =
  | {
      kind: 'column';
      type: SqlType;
      /** The schema itself allows null (nullable: true, a "null" type, a null enum value / variant). */
      nullable: boolean;
      /** Enum values for a CHECK constraint (already filtered to the column's type, sorted). */
      values?: readonly (string | number)[];
      /** Why the column is jsonb when that is not a faithful mapping. */
      warn?: string;
      /** The schema allows any value (no type keywords at all). */
      any?: boolean;
      hasDefault: boolean;
      defaultValue?: unknown;
      flags: Flags;
    }
  | { kind: 'reference'; target: string; nullable: boolean; flags: Flags }
  | { kind: 'join'; target: string };

interface Flags {
  unique: boolean;
  index: boolean;
  /** `x-backdev-ref: Model` */
  ref?: string;
}

interface ModelShape {
  name: string;
  properties: Map<string, unknown>;
  required: Set<string>;
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
  const ctx = new Context(doc, modelSet);

  const shapes = new Map<string, ModelShape>();
  for (const name of names) shapes.set(name, ctx.modelShape(name));

  // Table names: models in sorted order claim first, join tables after.
  const tableNames = new SqlNameTable();
  const tables = new Map<string, string>();
  for (const name of names) tables.set(name, tableNames.claim(tableName(name)));

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
    if (!t.array && (t.name === 'uuid' || t.name === 'text' || t.name === 'varchar')) return { property: 'id', type: { name: 'uuid' }, identity: false };
    if (!t.array && (t.name === 'integer' || t.name === 'bigint')) return { property: 'id', type: { name: t.name }, identity: true };
  }
  // No usable `id` property (or one of a type that cannot be a generated key): the configured default.
  return options.primaryKey === 'uuid'
    ? { property: id ? 'id' : undefined, type: { name: 'uuid' }, identity: false }
    : { property: id ? 'id' : undefined, type: { name: 'bigint' }, identity: true };
}

function isTimestampLike(c: Classified): boolean {
  if (c.kind !== 'column' || c.type.array) return false;
  return ['timestamptz', 'date', 'text', 'varchar'].includes(c.type.name) || c.any === true;
}

function isReferenceCapable(type: SqlType): boolean {
  return !type.array && ['uuid', 'text', 'varchar', 'integer', 'bigint'].includes(type.name);
}

function isCheckable(type: SqlType): boolean {
  return !type.array && ['text', 'varchar', 'integer', 'bigint', 'double precision', 'numeric'].includes(type.name);
}

const compareStrings = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
const byName = (a: { name: string }, b: { name: string }) => compareStrings(a.name, b.name);

class Context {
  constructor(
    readonly doc: Record<string, unknown>,
    readonly models: ReadonlySet<string>,
  ) {}

  modelShape(name: string): ModelShape {
    const pointer = toPointer(['components', 'schemas', name]);
    const components = isObj(this.doc.components) ? this.doc.components : undefined;
    const schemas = components && isObj(components.schemas) ? components.schemas : undefined;
    if (!schemas || !Object.prototype.hasOwnProperty.call(schemas, name)) {
      throw new BackdevError('SPEC_INVALID', `model ${name} is not a schema in components.schemas (#${pointer})`);
    }
    const shape = this.objectShape(schemas[name], new Set());
    if (!shape || !shape.evidence) {
      throw new BackdevError(
        'SPEC_INVALID',
        `schema ${name} (#${pointer}) is not an object schema, so it cannot be a table; give it "type: object" and properties, or do not use it as a model`,
      );
    }
    return { name, properties: shape.properties, required: shape.required };
  }

  /** The merged properties of an object schema (following $ref and allOf); undefined when it is not one. */
  private objectShape(node: unknown, seen: Set<string>): { properties: Map<string, unknown>; required: Set<string>; evidence: boolean } | undefined {
    if (!isObj(node)) return undefined;
    const out = { properties: new Map<string, unknown>(), required: new Set<string>(), evidence: false };
    if (typeof node.$ref === 'string') {
      if (seen.has(node.$ref)) return out;
      const target = resolvePointer(this.doc, node.$ref);
      return target === undefined ? undefined : this.objectShape(target, new Set([...seen, node.$ref]));
    }
    const types = typeList(node.type);
    if (types === undefined) return undefined;
    const nonNull = types.filter((t) => t !== 'null');
    if (nonNull.length > 0 && !(nonNull.length === 1 && nonNull[0] === 'object')) return undefined;
    if (nonNull.length === 1) out.evidence = true;
    const hasProps = isObj(node.properties) || node.additionalProperties !== undefined || isObj(node.patternProperties);
    if (!hasProps && nonNull.length === 0 && (node.oneOf !== undefined || node.anyOf !== undefined || node.enum !== undefined || node.items !== undefined)) {
      return undefined;
    }
    if (hasProps) out.evidence = true;
    if (Array.isArray(node.allOf)) {
      for (const member of node.allOf) {
        const m = this.objectShape(member, seen);
        if (!m) return undefined;
        for (const [k, v] of m.properties) out.properties.set(k, v);
        for (const r of m.required) out.required.add(r);
        out.evidence ||= m.evidence;
      }
    }
    if (isObj(node.properties)) for (const [k, v] of Object.entries(node.properties)) out.properties.set(k, v);
    if (Array.isArray(node.required)) for (const r of node.required) if (typeof r === 'string') out.required.add(r);
    return out;
  }

  /** The model a `$ref` (or a chain of them) names, if any. */
  modelOfRef(node: unknown): string | undefined {
    let current = node;
    for (let i = 0; i < 32 && isObj(current) && typeof current.$ref === 'string'; i++) {
      const ref = current.$ref;
      if (ref.startsWith('#')) {
        const segs = parsePointer(ref);
        if (segs.length === 3 && segs[0] === 'components' && segs[1] === 'schemas' && this.models.has(segs[2]!)) return segs[2];
      }
      current = resolvePointer(this.doc, ref);
    }
    return undefined;
  }

  classify(node: unknown, seen: Set<string>): Classified {
    if (node === true || (isObj(node) && Object.keys(node).every((k) => !STRUCTURAL.includes(k) && !k.startsWith('x-backdev')) && !('nullable' in node) && !('default' in node))) {
      return anyColumn(isObj(node) ? node : {});
    }
    if (!isObj(node)) return jsonb('the schema is not an object', true);
    const flags = readFlags(node);
    const ownNullable = node.nullable === true || (Array.isArray(node.type) && node.type.includes('null'));

    const model = this.modelOfRef(node);
    if (model !== undefined) return { kind: 'reference', target: model, nullable: ownNullable, flags };

    if (typeof node.$ref === 'string') {
      if (seen.has(node.$ref)) return outer(jsonb(`the reference ${node.$ref} is cyclic`, true), node);
      const target = resolvePointer(this.doc, node.$ref);
      if (target === undefined) return outer(jsonb(`the reference ${node.$ref} does not resolve`, true), node);
      return outer(this.classify(target, new Set([...seen, node.$ref])), node);
    }

    if (node.not !== undefined) return outer(jsonb('"not" has no column type', true), node);

    if (Array.isArray(node.allOf) && node.allOf.length > 0) {
      const members = node.allOf as unknown[];
      const rest = without(node, 'allOf');
      const modelMembers = members.filter((m) => this.modelOfRef(m) !== undefined);
      if (modelMembers.length > 0) {
        const others = members.filter((m) => this.modelOfRef(m) === undefined);
        if (modelMembers.length === 1 && others.every((m) => isObj(m) && !hasStructure(m)) && !hasStructure(rest)) {
          return { kind: 'reference', target: this.modelOfRef(modelMembers[0])!, nullable: ownNullable, flags };
        }
        return outer(jsonb('"allOf" combines a model reference with other schemas', true), node);
      }
      const merged = this.mergeAllOf(rest, members, seen);
      if (merged === undefined) return outer(jsonb('"allOf" combines schemas that cannot be merged', true), node);
      return this.classify(merged, seen);
    }

    const union = Array.isArray(node.oneOf) ? node.oneOf : Array.isArray(node.anyOf) ? node.anyOf : undefined;
    if (union !== undefined) {
      if (Array.isArray(node.oneOf) && Array.isArray(node.anyOf)) return outer(jsonb('both "oneOf" and "anyOf"', true), node);
      const keyword = Array.isArray(node.oneOf) ? 'oneOf' : 'anyOf';
      const rest = without(without(node, 'oneOf'), 'anyOf');
      const variants = (union as unknown[]).filter((v) => !this.isNullSchema(v));
      const nullable = ownNullable || variants.length < union.length;
      if (variants.length === 0) return outer({ ...anyColumn(rest), nullable: true }, rest);
      if (variants.length === 1) {
        const only = variants[0];
        const one = this.modelOfRef(only) !== undefined ? this.classify(only, seen) : this.classify(isObj(only) ? { ...rest, ...only } : only, seen);
        return withNullable(outer(one, rest), nullable);
      }
      const results = variants.map((v) => this.classify(isObj(v) ? { ...rest, ...v } : v, seen));
      const first = results[0]!;
      const same =
        first.kind === 'column' &&
        first.warn === undefined &&
        first.flags.ref === undefined &&
        results.every((r) => r.kind === 'column' && r.warn === undefined && r.flags.ref === undefined && sameType(r.type, first.type));
      if (!same || first.type.name === 'jsonb') {
        const objects = results.every((r) => r.kind !== 'column' || r.type.name === 'jsonb');
        return withNullable(outer(jsonb(`"${keyword}" of ${objects ? 'object schemas' : 'schemas of different types'} has no single column type`, true), rest), nullable);
      }
      const allValues = results.every((r) => r.kind === 'column' && r.values !== undefined);
      const values = allValues ? sortValues(results.flatMap((r) => (r.kind === 'column' ? (r.values ?? []) : []))) : undefined;
      const col: Classified = { kind: 'column', type: first.type, nullable, hasDefault: false, flags, ...(values ? { values } : {}) };
      return outer(col, rest);
    }

    const types = typeList(node.type);
    if (types === undefined) return outer(jsonb('"type" is not a string or a list of strings', true), node);
    const nonNull = [...new Set(types.filter((t) => t !== 'null'))];
    let type: string | undefined;
    if (nonNull.length > 1) {
      if (nonNull.every((t) => t === 'integer' || t === 'number')) type = 'number';
      else return outer(jsonb(`the type list ${JSON.stringify(nonNull)} mixes types`, true), node);
    } else {
      type = nonNull[0] ?? inferType(node);
    }
    if (types.length > 0 && nonNull.length === 0) type = undefined;

    const enumValues = Array.isArray(node.enum) ? (node.enum as unknown[]) : 'const' in node ? [node.const] : undefined;
    const nullInEnum = enumValues?.some((v) => v === null) ?? false;
    const nullable = ownNullable || nullInEnum;
    if (type === 'mixed') return outer(jsonb('the enum mixes values of different types', true), node);

    const base = { nullable, flags, hasDefault: 'default' in node, defaultValue: node.default } as const;
    let sqlType: SqlType;
    switch (type) {
      case undefined:
        return outer({ ...anyColumn(node), nullable }, node);
      case 'object':
        sqlType = { name: 'jsonb' };
        break;
      case 'array': {
        const items = node.items;
        if (this.modelOfRef(items) !== undefined) return { kind: 'join', target: this.modelOfRef(items)! };
        const inner = Array.isArray(items) || items === undefined ? undefined : this.classify(items, seen);
        if (inner?.kind === 'reference') return { kind: 'join', target: inner.target };
        if (inner?.kind === 'column' && inner.warn === undefined && !inner.type.array && inner.type.name !== 'jsonb') {
          sqlType = { ...inner.type, array: true };
        } else {
          sqlType = { name: 'jsonb' };
        }
        break;
      }
      case 'string':
        sqlType = stringType(node);
        break;
      case 'integer':
        sqlType = integerType(node);
        break;
      case 'number':
        sqlType = { name: node.format === 'decimal' ? 'numeric' : 'double precision' };
        break;
      case 'boolean':
        sqlType = { name: 'boolean' };
        break;
      default:
        return outer(jsonb(`the type "${type}" is not a JSON Schema type`, true), node);
    }
    const values = enumValues === undefined ? undefined : checkValues(enumValues.filter((v) => v !== null), sqlType);
    return { kind: 'column', type: sqlType, ...base, ...(values ? { values } : {}) };
  }

  private isNullSchema(v: unknown): boolean {
    if (!isObj(v)) return false;
    if (v.type === 'null') return true;
    if (Array.isArray(v.type) && v.type.length > 0 && v.type.every((t) => t === 'null')) return true;
    if (Array.isArray(v.enum) && v.enum.length > 0 && v.enum.every((x) => x === null)) return true;
    return 'const' in v && v.const === null && Object.keys(v).every((k) => k === 'const' || !STRUCTURAL.includes(k));
  }

  /** A shallow merge of allOf members (after $refs); undefined when two members disagree on a keyword. */
  private mergeAllOf(rest: Obj, members: unknown[], seen: Set<string>): Obj | undefined {
    const merged: Obj = {};
    const properties: Obj = {};
    const required: string[] = [];
    const parts: Obj[] = [];
    for (const m of members) {
      let node = m;
      const visited = new Set(seen);
      for (let i = 0; i < 32 && isObj(node) && typeof node.$ref === 'string'; i++) {
        if (visited.has(node.$ref)) return undefined;
        visited.add(node.$ref);
        node = resolvePointer(this.doc, node.$ref);
      }
      if (node === true) continue;
      if (!isObj(node)) return undefined;
      if (Array.isArray(node.allOf)) {
        const inner = this.mergeAllOf(without(node, 'allOf'), node.allOf as unknown[], visited);
        if (inner === undefined) return undefined;
        node = inner;
      }
      parts.push(node as Obj);
    }
    parts.push(rest);
    for (const part of parts) {
      for (const [k, v] of Object.entries(part)) {
        if (k === 'properties' && isObj(v)) Object.assign(properties, v);
        else if (k === 'required' && Array.isArray(v)) required.push(...v.filter((r): r is string => typeof r === 'string'));
        else if (k in merged && STRUCTURAL.includes(k) && JSON.stringify(merged[k]) !== JSON.stringify(v)) {
          // Two members constrain the same keyword differently: only a length limit has a simple intersection.
          const before = merged[k];
          if (k === 'maxLength' && typeof v === 'number' && typeof before === 'number') merged[k] = Math.min(before, v);
          else return undefined;
        } else merged[k] = v;
      }
    }
    if (Object.keys(properties).length > 0) merged.properties = properties;
    if (required.length > 0) merged.required = required;
    return merged;
  }
}

type ColumnClass = Extract<Classified, { kind: 'column' }>;

function anyColumn(node: Obj): ColumnClass {
  return { kind: 'column', type: { name: 'jsonb' }, nullable: false, hasDefault: 'default' in node, defaultValue: node.default, flags: readFlags(node), any: true };
}

function jsonb(reason: string, warn: boolean): ColumnClass {
  return { kind: 'column', type: { name: 'jsonb' }, nullable: false, hasDefault: false, flags: { unique: false, index: false }, ...(warn ? { warn: reason } : {}) };
}

/** Adds what the outer schema says (nullable, default, flags) to a classification of an inner one. */
function outer(inner: Classified, node: Obj): Classified {
  if (inner.kind === 'join') return inner;
  const flags = mergeFlags(inner.flags, readFlags(node));
  const nullable = inner.nullable || node.nullable === true || (Array.isArray(node.type) && node.type.includes('null'));
  if (inner.kind === 'reference') return { ...inner, nullable, flags };
  const withDefault = 'default' in node ? { hasDefault: true, defaultValue: node.default } : {};
  return { ...inner, nullable, flags, ...withDefault };
}

function withNullable(c: Classified, nullable: boolean): Classified {
  return c.kind === 'join' || !nullable ? c : { ...c, nullable: true };
}

function readFlags(node: Obj): Flags {
  return {
    unique: node['x-backdev-unique'] === true,
    index: node['x-backdev-index'] === true,
    ...(typeof node['x-backdev-ref'] === 'string' && node['x-backdev-ref'] !== '' ? { ref: node['x-backdev-ref'] } : {}),
  };
}

function mergeFlags(a: Flags, b: Flags): Flags {
  const ref = b.ref ?? a.ref;
  return { unique: a.unique || b.unique, index: a.index || b.index, ...(ref !== undefined ? { ref } : {}) };
}

function hasStructure(node: Obj): boolean {
  return Object.keys(node).some((k) => STRUCTURAL.includes(k));
}

function without(node: Obj, key: string): Obj {
  const copy: Obj = { ...node };
  delete copy[key];
  return copy;
}

/** `type` as a list; `[]` when absent; undefined when malformed. */
function typeList(type: unknown): string[] | undefined {
  if (type === undefined) return [];
  if (typeof type === 'string') return [type];
  if (Array.isArray(type) && type.every((t) => typeof t === 'string')) return type as string[];
  return undefined;
}

/** The type of a schema without `type`, from its other keywords; `mixed` for an enum of several kinds. */
function inferType(node: Obj): string | undefined {
  if (isObj(node.properties) || node.additionalProperties !== undefined || isObj(node.patternProperties)) return 'object';
  if (node.items !== undefined || node.prefixItems !== undefined) return 'array';
  const values = Array.isArray(node.enum) ? (node.enum as unknown[]) : 'const' in node ? [node.const] : undefined;
  if (values !== undefined) {
    const present = values.filter((v) => v !== null);
    if (present.length === 0) return undefined;
    if (present.every((v) => typeof v === 'string')) return 'string';
    if (present.every((v) => typeof v === 'number' && Number.isInteger(v))) return 'integer';
    if (present.every((v) => typeof v === 'number')) return 'number';
    if (present.every((v) => typeof v === 'boolean')) return 'boolean';
    return 'mixed';
  }
  if (typeof node.format === 'string' && ['uuid', 'date', 'date-time', 'email', 'uri'].includes(node.format)) return 'string';
  if (node.maxLength !== undefined || node.minLength !== undefined || node.pattern !== undefined) return 'string';
  if (node.minimum !== undefined || node.maximum !== undefined || node.exclusiveMinimum !== undefined || node.exclusiveMaximum !== undefined || node.multipleOf !== undefined) {
    return 'number';
  }
  if (node.minItems !== undefined || node.maxItems !== undefined) return 'array';
  return undefined;
}

function stringType(node: Obj): SqlType {
  if (node['x-backdev-type'] === 'text') return { name: 'text' };
  switch (node.format) {
    case 'uuid':
      return { name: 'uuid' };
    case 'date':
      return { name: 'date' };
    case 'date-time':
      return { name: 'timestamptz' };
  }
  const max = node.maxLength;
  if (typeof max === 'number' && Number.isInteger(max) && max >= 1 && max <= MAX_VARCHAR) return { name: 'varchar', length: max };
  return { name: 'text' };
}

function integerType(node: Obj): SqlType {
  if (node.format === 'int64') return { name: 'bigint' };
  if (node.format === 'int32') return { name: 'integer' };
  const outside = (v: unknown) => typeof v === 'number' && (v < INT32_MIN || v > INT32_MAX);
  if (outside(node.minimum) || outside(node.maximum) || outside(node.exclusiveMinimum) || outside(node.exclusiveMaximum)) return { name: 'bigint' };
  return { name: 'integer' };
}

function sameType(a: SqlType, b: SqlType): boolean {
  return a.name === b.name && (a.length ?? 0) === (b.length ?? 0) && (a.array ?? false) === (b.array ?? false);
}

/** Enum values usable in `CHECK (col IN (…))` for this type, sorted and unique; undefined when not. */
function checkValues(values: unknown[], type: SqlType): readonly (string | number)[] | undefined {
  if (values.length === 0 || !isCheckable(type)) return undefined;
  if (type.name === 'text' || type.name === 'varchar') {
    if (!values.every((v): v is string => typeof v === 'string' && !v.includes('\u0000'))) return undefined;
  } else if (!values.every((v) => typeof v === 'number' && Number.isFinite(v))) {
    return undefined;
  }
  return sortValues(values as (string | number)[]);
}

function sortValues(values: (string | number)[]): (string | number)[] {
  return [...new Set(values)].sort((a, b) => (typeof a === 'number' && typeof b === 'number' ? a - b : compareStrings(String(a), String(b))));
}

type LiteralValue = Extract<DefaultIR, { kind: 'literal' }>['value'];

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DATE_RE = /^\d{4}-\d{2}-\d{2}$/;
const DATE_TIME_RE = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

/** A `DEFAULT` for a spec default that fits the column (else none: a bad default must not break a migration). */
function defaultFor(value: unknown, type: SqlType, values: readonly (string | number)[] | undefined): DefaultIR | undefined {
  if (value === undefined || value === null) return undefined;
  if (values !== undefined && !values.includes(value as string | number)) return undefined;
  if (type.name === 'jsonb' && !type.array) {
    const json = toJson(value);
    return json === undefined || json === null ? undefined : { kind: 'literal', value: json as LiteralValue };
  }
  if (type.array) {
    if (!Array.isArray(value) || !value.every((v) => fitsScalar(v, { name: type.name, ...(type.length !== undefined ? { length: type.length } : {}) }))) return undefined;
    return { kind: 'literal', value: [...value] };
  }
  return fitsScalar(value, type) ? { kind: 'literal', value: value as string | number | boolean } : undefined;
}

function fitsScalar(v: unknown, type: SqlType): boolean {
  switch (type.name) {
    case 'text':
      return typeof v === 'string' && !v.includes('\u0000');
    case 'varchar':
      return typeof v === 'string' && !v.includes('\u0000') && [...v].length <= (type.length ?? MAX_VARCHAR);
    case 'uuid':
      return typeof v === 'string' && UUID_RE.test(v);
    case 'date':
      return typeof v === 'string' && DATE_RE.test(v) && !Number.isNaN(Date.parse(v));
    case 'timestamptz':
      return typeof v === 'string' && DATE_TIME_RE.test(v) && !Number.isNaN(Date.parse(v));
    case 'integer':
      return typeof v === 'number' && Number.isInteger(v) && v >= INT32_MIN && v <= INT32_MAX;
    case 'bigint':
      return typeof v === 'number' && Number.isSafeInteger(v);
    case 'double precision':
    case 'numeric':
      return typeof v === 'number' && Number.isFinite(v);
    case 'boolean':
      return typeof v === 'boolean';
    default:
      return false;
  }
}

/** A plain JSON copy (objects, arrays, strings without NUL, finite numbers, booleans, null); undefined otherwise. */
function toJson(value: unknown, depth = 0): unknown {
  if (depth > 64) return undefined;
  if (value === null || typeof value === 'boolean') return value;
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value === 'string') return value.includes('\u0000') ? undefined : value;
  if (Array.isArray(value)) {
    const out = value.map((v) => toJson(v, depth + 1));
    return out.some((v) => v === undefined) ? undefined : out;
  }
  if (isObj(value)) {
    const out: Obj = {};
    for (const k of Object.keys(value).sort(compareStrings)) {
      if (k.includes('\u0000')) return undefined;
      const v = toJson(value[k], depth + 1);
      if (v === undefined) return undefined;
      out[k] = v;
    }
    return out;
  }
  return undefined;
}

/** Tarjan's algorithm over the sorted model names: model → strongly connected component id. */
function stronglyConnected(nodes: string[], edges: Map<string, Set<string>>): Map<string, number> {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const component = new Map<string, number>();
  let counter = 0;
  let components = 0;
  const visit = (v: string) => {
    index.set(v, counter);
    low.set(v, counter);
    counter++;
    stack.push(v);
    onStack.add(v);
    for (const w of [...(edges.get(v) ?? [])].sort(compareStrings)) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) === index.get(v)) {
      for (;;) {
        const w = stack.pop()!;
        onStack.delete(w);
        component.set(w, components);
        if (w === v) break;
      }
      components++;
    }
  };
  for (const n of nodes) if (!index.has(n)) visit(n);
  return component;
}

