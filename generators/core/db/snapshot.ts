/**
 * The stored database design (`.backdev/db-snapshot.json`): the `DbSchema` of the last migration, as
 * stable JSON (object keys sorted, 2-space indent, trailing newline) so that it diffs well in version
 * control, and read back with full validation: the next migration is computed from it, so a hand-edited
 * or corrupted snapshot must fail with a clear message rather than produce a wrong migration.
 */
import { BackdevError } from '../errors.js';
import { isObject as isObj, sortKeys, type Obj } from '../json.js';
import { toPointer } from '../spec/pointer.js';
import { isSqlName } from './names.js';
import type { CheckIR, ColumnIR, DbSchema, DefaultIR, ForeignKeyIR, IndexIR, ScalarSqlType, SqlType, TableIR } from './types.js';
import { deepFreeze } from '../freeze.js';

const SQL_TYPES: readonly ScalarSqlType[] = ['uuid', 'text', 'varchar', 'integer', 'bigint', 'double precision', 'numeric', 'boolean', 'date', 'timestamptz', 'jsonb'];
const EXPRESSIONS = ['gen_random_uuid()', 'now()'] as const;
const ON_DELETE = ['cascade', 'set null', 'restrict'] as const;
const MAX_VARCHAR = 10485760;

/**
 * `models`: the fingerprint of each spec schema the design was made from (see drift.ts), so that
 * create-api can tell when a table-backed schema changed without a new design. Not part of `DbSchema`:
 * parseSnapshot leaves it out.
 */
export function serializeSnapshot(schema: DbSchema, models?: Readonly<Record<string, string>>): string {
  const data = models && Object.keys(models).length > 0 ? { ...schema, models } : schema;
  return `${JSON.stringify(sortKeys(data), null, 2)}\n`;
}

const byName = (a: { name: string }, b: { name: string }) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

/** Parses and validates a snapshot; `file` is named in errors. The result is deeply frozen. */
export function parseSnapshot(text: string, file: string): DbSchema {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new BackdevError('CONFIG_INVALID', `the database snapshot is not valid JSON (${(err as Error).message}); restore it from version control`, {
      location: { file },
      cause: err,
    });
  }
  const path: (string | number)[] = [];
  const fail = (message: string): never => {
    throw new BackdevError('CONFIG_INVALID', `the database snapshot is invalid: ${message}; restore it from version control`, {
      location: { file, pointer: toPointer(path) },
    });
  };
  const at = <T>(segment: string | number, read: () => T): T => {
    path.push(segment);
    const value = read();
    path.pop();
    return value;
  };
  const object = (v: unknown, what: string): Obj => (isObj(v) ? v : fail(`${what} must be an object`));
  const array = (v: unknown, what: string): unknown[] => (Array.isArray(v) ? v : fail(`${what} must be a list`));
  const name = (v: unknown, what: string): string =>
    typeof v === 'string' && isSqlName(v) ? v : fail(`${what} must be a SQL name of [a-z0-9_] (at most 63 characters), not ${JSON.stringify(v)}`);
  const nameList = (v: unknown, what: string, allowed: ReadonlySet<string>, allowEmpty = false): string[] => {
    const list = array(v, what).map((c, i) => at(i, () => name(c, `a column of ${what}`)));
    if (list.length === 0 && !allowEmpty) fail(`${what} must name at least one column`);
    if (new Set(list).size !== list.length) fail(`${what} names a column twice`);
    list.forEach((c, i) => at(i, () => (allowed.has(c) ? c : fail(`${what} names ${c}, which is not a column of the table`))));
    return list;
  };

  const root = object(raw, 'the snapshot');
  if (root.kind !== 'db-schema') at('kind', () => fail('"kind" must be "db-schema"'));
  if (root.dialect !== 'postgres') at('dialect', () => fail('"dialect" must be "postgres"'));
  const tablesRaw = at('tables', () => array(root.tables, '"tables"'));

  const tables: TableIR[] = tablesRaw.map((t, ti) =>
    at('tables', () =>
      at(ti, () => {
        const o = object(t, 'a table');
        if (o.kind !== 'table') at('kind', () => fail('a table\'s "kind" must be "table"'));
        const tableName = at('name', () => name(o.name, 'a table name'));
        const model = at('model', () => (typeof o.model === 'string' ? o.model : fail('"model" must be a string')));
        const columns = at('columns', () => array(o.columns, '"columns"').map((c, ci) => at(ci, () => parseColumn(c))));
        if (columns.length === 0) at('columns', () => fail(`table ${tableName} has no columns`));
        const columnNames = new Set(columns.map((c) => c.name));
        if (columnNames.size !== columns.length) at('columns', () => fail(`table ${tableName} has two columns of the same name`));
        const primaryKey = at('primaryKey', () => nameList(o.primaryKey, '"primaryKey"', columnNames, true));
        const indexes = at('indexes', () =>
          array(o.indexes, '"indexes"').map((x, i) =>
            at(i, (): IndexIR => {
              const ix = object(x, 'an index');
              if (ix.kind !== 'index') at('kind', () => fail('an index\'s "kind" must be "index"'));
              if (typeof ix.unique !== 'boolean') at('unique', () => fail('"unique" must be true or false'));
              return {
                kind: 'index',
                name: at('name', () => name(ix.name, 'an index name')),
                columns: at('columns', () => nameList(ix.columns, 'the index', columnNames)),
                unique: ix.unique as boolean,
              };
            }),
          ),
        );
        const foreignKeys = at('foreignKeys', () =>
          array(o.foreignKeys, '"foreignKeys"').map((x, i) =>
            at(i, (): ForeignKeyIR => {
              const fk = object(x, 'a foreign key');
              if (fk.kind !== 'foreign-key') at('kind', () => fail('a foreign key\'s "kind" must be "foreign-key"'));
              const refs = at('references', () => object(fk.references, '"references"'));
              const onDelete = at('onDelete', () =>
                (ON_DELETE as readonly unknown[]).includes(fk.onDelete) ? (fk.onDelete as ForeignKeyIR['onDelete']) : fail(`"onDelete" must be one of ${ON_DELETE.join(', ')}`),
              );
              const cols = at('columns', () => nameList(fk.columns, 'the foreign key', columnNames));
              const refTable = at('references', () => at('table', () => name(refs.table, 'the referenced table')));
              const refColumns = at('references', () =>
                at('columns', () => array(refs.columns, 'the referenced columns').map((c, ci) => at(ci, () => name(c, 'a referenced column')))),
              );
              if (refColumns.length !== cols.length) at('references', () => fail('a foreign key must reference as many columns as it has'));
              return { kind: 'foreign-key', name: at('name', () => name(fk.name, 'a foreign key name')), columns: cols, references: { table: refTable, columns: refColumns }, onDelete };
            }),
          ),
        );
        const checks = at('checks', () =>
          array(o.checks, '"checks"').map((x, i) =>
            at(i, (): CheckIR => {
              const ck = object(x, 'a check');
              if (ck.kind !== 'check') at('kind', () => fail('a check\'s "kind" must be "check"'));
              const column = at('column', () => name(ck.column, 'the checked column'));
              const checked = columns.find((c) => c.name === column);
              if (!checked) return at('column', () => fail(`the check names ${column}, which is not a column of the table`));
              const strings = !checked.type.array && (checked.type.name === 'text' || checked.type.name === 'varchar');
              const numbers = !checked.type.array && ['integer', 'bigint', 'double precision', 'numeric'].includes(checked.type.name);
              if (!strings && !numbers) at('column', () => fail(`a check can only be on a text or number column, not on ${checked.type.name}`));
              const values = at('values', () => array(ck.values, '"values"'));
              if (values.length === 0) at('values', () => fail('a check must allow at least one value'));
              values.forEach((v, vi) =>
                at('values', () =>
                  at(vi, () => {
                    const ok = strings ? typeof v === 'string' && !v.includes('\u0000') : typeof v === 'number' && Number.isFinite(v);
                    if (!ok) fail(`a check value on a ${checked.type.name} column must be a ${strings ? 'string' : 'number'}`);
                  }),
                ),
              );
              return { kind: 'check', name: at('name', () => name(ck.name, 'a check name')), column, values: values as (string | number)[] };
            }),
          ),
        );
        return {
          kind: 'table',
          name: tableName,
          model,
          columns,
          primaryKey,
          indexes: [...indexes].sort(byName),
          foreignKeys: [...foreignKeys].sort(byName),
          checks: [...checks].sort(byName),
        };
      }),
    ),
  );

  // Whole-schema rules: unique table names, foreign keys to existing columns.
  const byTable = new Map<string, TableIR>();
  tables.forEach((t, i) => {
    if (byTable.has(t.name)) at('tables', () => at(i, () => at('name', () => fail(`two tables are named ${t.name}`))));
    byTable.set(t.name, t);
  });
  tables.forEach((t, i) =>
    t.foreignKeys.forEach((fk) => {
      const target = byTable.get(fk.references.table);
      if (!target) at('tables', () => at(i, () => fail(`foreign key ${fk.name} references the unknown table ${fk.references.table}`)));
      for (const c of fk.references.columns) {
        if (!target!.columns.some((x) => x.name === c)) at('tables', () => at(i, () => fail(`foreign key ${fk.name} references ${fk.references.table}.${c}, which does not exist`)));
      }
    }),
  );
  return deepFreeze({ kind: 'db-schema', dialect: 'postgres', tables: [...tables].sort(byName) });

  function parseColumn(c: unknown): ColumnIR {
    const o = object(c, 'a column');
    if (o.kind !== 'column') at('kind', () => fail('a column\'s "kind" must be "column"'));
    const columnName = at('name', () => name(o.name, 'a column name'));
    const property = at('property', () => (typeof o.property === 'string' ? o.property : fail('"property" must be a string')));
    const type = at('type', () => parseType(o.type));
    if (typeof o.nullable !== 'boolean') at('nullable', () => fail('"nullable" must be true or false'));
    if (o.identity !== undefined && typeof o.identity !== 'boolean') at('identity', () => fail('"identity" must be true or false'));
    const dflt = o.default === undefined ? undefined : at('default', () => parseDefault(o.default, type));
    return {
      kind: 'column',
      name: columnName,
      property,
      type,
      nullable: o.nullable as boolean,
      ...(dflt ? { default: dflt } : {}),
      ...(o.identity === true ? { identity: true } : {}),
    };
  }

  function parseType(t: unknown): SqlType {
    const o = object(t, 'a column type');
    if (!(SQL_TYPES as readonly unknown[]).includes(o.name)) at('name', () => fail(`the type name must be one of ${SQL_TYPES.join(', ')}`));
    const typeName = o.name as ScalarSqlType;
    if (o.length !== undefined) {
      const ok = typeName === 'varchar' && typeof o.length === 'number' && Number.isInteger(o.length) && o.length >= 1 && o.length <= MAX_VARCHAR;
      if (!ok) at('length', () => fail(`"length" must be a whole number from 1 to ${MAX_VARCHAR}, on varchar only`));
    }
    if (o.array !== undefined && typeof o.array !== 'boolean') at('array', () => fail('"array" must be true or false'));
    return { name: typeName, ...(o.length !== undefined ? { length: o.length as number } : {}), ...(o.array === true ? { array: true } : {}) };
  }

  function parseDefault(d: unknown, type: SqlType): DefaultIR {
    const o = object(d, 'a default');
    if (o.kind === 'expression') {
      if (!(EXPRESSIONS as readonly unknown[]).includes(o.sql)) at('sql', () => fail(`a default expression must be one of ${EXPRESSIONS.join(', ')}`));
      return { kind: 'expression', sql: o.sql as (typeof EXPRESSIONS)[number] };
    }
    if (o.kind === 'literal') {
      if (!('value' in o) || !isJson(o.value)) at('value', () => fail('a literal default must be a JSON value'));
      if (!literalFits(o.value, type)) at('value', () => fail(`the literal default does not fit the column type ${type.name}${type.array ? '[]' : ''}`));
      return { kind: 'literal', value: o.value as Extract<DefaultIR, { kind: 'literal' }>['value'] };
    }
    return at('kind', () => fail('a default\'s "kind" must be "literal" or "expression"'));
  }
}

/** Whether a literal default can be written for a column of this type (see render-migration.ts). */
function literalFits(value: unknown, type: SqlType): boolean {
  if (value === null) return true;
  if (type.name === 'jsonb' && !type.array) return true;
  const scalar = (v: unknown) => {
    switch (type.name) {
      case 'integer':
      case 'bigint':
      case 'double precision':
      case 'numeric':
        return typeof v === 'number';
      case 'boolean':
        return typeof v === 'boolean';
      default:
        return typeof v === 'string';
    }
  };
  return type.array ? Array.isArray(value) && value.every(scalar) : scalar(value);
}

function isJson(v: unknown, depth = 0): boolean {
  if (depth > 64) return false;
  if (v === null || typeof v === 'boolean') return true;
  if (typeof v === 'number') return Number.isFinite(v);
  if (typeof v === 'string') return !v.includes('\u0000');
  if (Array.isArray(v)) return v.every((x) => isJson(x, depth + 1));
  if (isObj(v)) return Object.entries(v).every(([k, x]) => !k.includes('\u0000') && isJson(x, depth + 1));
  return false;
}

