/**
 * Migration steps between two database designs: what to run to turn `previous` into `next`, in an order
 * PostgreSQL accepts, each step carrying enough data to be rendered forwards (`up`) and backwards
 * (`invertStep`, for `down`).
 *
 * Renames are never guessed: a table or column that is gone is dropped and a new one is added, unless the
 * caller names the rename in `options.renames`. Index and constraint renames that follow from a table or
 * column rename (same content, new name) are found by content.
 *
 * A step is `destructive` when it can lose data or fail on existing rows: dropping a table or column,
 * a type change that can fail or lose information (narrowing), setting NOT NULL, adding a NOT NULL column
 * without a default to an existing table, removing allowed enum values (or adding a CHECK to an existing
 * column), and adding a unique index, foreign key or primary key that existing rows may violate.
 */
import { BackdevError } from '../errors.js';
import { primaryKeyName } from './names.js';
import type { CheckIR, ColumnIR, DbSchema, DefaultIR, ForeignKeyIR, IndexIR, SqlType, TableIR } from './types.js';
import { deepFreeze } from '../freeze.js';
import { sortKeys } from '../json.js';
import { pairByName, reconcile } from './reconcile.js';
import { castable, narrows, needsUsing, sameType } from './sql-types.js';

export interface DiffOptions {
  renames?: {
    /** old table name → new table name */
    table?: Record<string, string>;
    /** `"table.old"` → new column name; `table` may be the table's old or new name. */
    column?: Record<string, string>;
  };
}

/** A column of a table, by the table's name at the time the step runs. */
interface OnColumn {
  readonly table: string;
  readonly column: string;
}

/** The data of each kind of step (what `up` and `down` need to render it). */
interface StepData {
  'create-table': { readonly table: TableIR };
  'drop-table': { readonly table: TableIR };
  'rename-table': { readonly from: string; readonly to: string };
  /** `rebuilt`: dropped and added back because its type changes with no cast between the two types. */
  'add-column': { readonly table: string; readonly column: ColumnIR; readonly rebuilt?: boolean };
  'drop-column': { readonly table: string; readonly column: ColumnIR; readonly rebuilt?: boolean };
  'rename-column': { readonly table: string; readonly from: string; readonly to: string };
  /** `using`: the conversion needs `USING col::type` (no assignment cast). */
  'alter-column-type': OnColumn & { readonly from: SqlType; readonly to: SqlType; readonly using: boolean };
  'set-not-null': OnColumn;
  'drop-not-null': OnColumn;
  'add-identity': OnColumn;
  'drop-identity': OnColumn;
  /** `previous`: the default it replaces (for `down`), if any. */
  'set-default': OnColumn & { readonly type: SqlType; readonly default: DefaultIR; readonly previous?: DefaultIR };
  'drop-default': OnColumn & { readonly type: SqlType; readonly previous: DefaultIR };
  'create-index': { readonly table: string; readonly index: IndexIR };
  'drop-index': { readonly table: string; readonly index: IndexIR };
  'rename-index': { readonly table: string; readonly from: string; readonly to: string };
  'add-foreign-key': { readonly table: string; readonly foreignKey: ForeignKeyIR };
  'drop-foreign-key': { readonly table: string; readonly foreignKey: ForeignKeyIR };
  'add-check': { readonly table: string; readonly check: CheckIR };
  'drop-check': { readonly table: string; readonly check: CheckIR };
  'replace-check': { readonly table: string; readonly from: CheckIR; readonly to: CheckIR };
  'add-primary-key': { readonly table: string; readonly name: string; readonly columns: readonly string[] };
  'drop-primary-key': { readonly table: string; readonly name: string; readonly columns: readonly string[] };
  'rename-constraint': { readonly table: string; readonly from: string; readonly to: string };
}

export type StepKind = keyof StepData;

export type MigrationStep = { [K in StepKind]: { readonly kind: K; readonly destructive: boolean; readonly description: string } & StepData[K] }[StepKind];

export interface Migration {
  readonly steps: readonly MigrationStep[];
  /** The destructive steps, in order (a subset of `steps`). */
  readonly destructive: readonly MigrationStep[];
  /** A short snake_case summary for the file name: `create_products`, `add_products_sku`, `alter_products`. */
  readonly name: string;
}

type Draft = { [K in StepKind]: { readonly kind: K; readonly destructive: boolean } & StepData[K] }[StepKind];

/**
 * The phase of each kind of step: steps run by phase, and in the order they were found within a phase.
 * A `Record` over every `StepKind`, so a new kind of step does not compile until it is given a phase.
 */
const PHASE: Readonly<Record<StepKind, number>> = {
  'drop-foreign-key': 0,
  'drop-index': 1,
  'drop-check': 2,
  'drop-primary-key': 3,
  'drop-table': 4,
  'drop-column': 5,
  'rename-table': 6,
  'rename-column': 7,
  'rename-index': 8,
  'rename-constraint': 8,
  'create-table': 9,
  'add-column': 10,
  'drop-identity': 11,
  'drop-default': 11,
  'alter-column-type': 11,
  'drop-not-null': 11,
  'set-not-null': 11,
  'set-default': 11,
  'add-identity': 11,
  'replace-check': 12,
  'add-check': 12,
  'add-primary-key': 13,
  'create-index': 14,
  'add-foreign-key': 15,
};

const EMPTY: DbSchema = { kind: 'db-schema', dialect: 'postgres', tables: [] };

export function diffSchemas(previous: DbSchema | undefined, next: DbSchema, options: DiffOptions = {}): Migration {
  const prev = previous ?? EMPTY;
  const prevTables = new Map(prev.tables.map((t) => [t.name, t]));
  const nextTables = new Map(next.tables.map((t) => [t.name, t]));
  const renames = resolveRenames(prevTables, nextTables, options);

  // A previous table or column that is not renamed but whose name another one is renamed to is dropped:
  // it maps to a name no next table or column has.
  const tableTargets = new Set(renames.tables.values());
  /** Next name of a previous table (itself when not renamed). */
  const tableTo = (name: string) => renames.tables.get(name) ?? (tableTargets.has(name) ? `\u0000${name}` : name);
  /** Next name of a previous column. */
  const columnTo = (table: string, column: string) => {
    const map = renames.columns.get(table);
    const to = map?.get(column);
    if (to !== undefined) return to;
    return map !== undefined && [...map.values()].includes(column) ? `\u0000${column}` : column;
  };

  // Pair tables.
  const tablePairs = pairByName(prev.tables, next.tables, (t) => tableTo(t.name));
  const pairs = tablePairs.pairs;
  const created = tablePairs.added;
  const dropped = tablePairs.dropped;
  const paired = new Set(pairs.map((x) => x.p.name));
  const createdNames = new Set(created.map((t) => t.name));

  const steps: Draft[] = [];
  const push = (s: Draft) => steps.push(s);

  // Column analysis per pair: which columns are rebuilt (dropped and added back: no cast exists) or
  // retyped (ALTER TYPE); constraints on them are dropped first and added back afterwards.
  interface PairInfo {
    p: TableIR;
    n: TableIR;
    /** next column name → previous column */
    matched: Map<string, ColumnIR>;
    rebuilt: Set<string>;
    retyped: Set<string>;
    pkChanged: boolean;
  }
  const infos = new Map<string, PairInfo>();
  for (const { p, n } of pairs) {
    const matched = new Map(pairByName(p.columns, n.columns, (c) => columnTo(p.name, c.name)).pairs.map((x) => [x.n.name, x.p]));
    const rebuilt = new Set<string>();
    const retyped = new Set<string>();
    for (const c of n.columns) {
      const old = matched.get(c.name);
      if (!old || sameType(old.type, c.type)) continue;
      (castable(old.type, c.type) ? retyped : rebuilt).add(c.name);
    }
    const pkMapped = p.primaryKey.map((c) => columnTo(p.name, c));
    const pkChanged = !sameList(pkMapped, n.primaryKey) || n.primaryKey.some((c) => rebuilt.has(c));
    infos.set(n.name, { p, n, matched, rebuilt, retyped, pkChanged });
  }
  /** A column (by next table and next column name) whose type changes one way or the other. */
  const typeChanges = (table: string, column: string) => {
    const info = infos.get(table);
    return info !== undefined && (info.rebuilt.has(column) || info.retyped.has(column));
  };
  /** Did this column exist before (same column, not added or rebuilt)? */
  const existed = (table: string, column: string) => {
    const info = infos.get(table);
    return info !== undefined && info.matched.has(column) && !info.rebuilt.has(column);
  };

  // ---- Indexes: names are unique in the whole schema.
  interface PrevIndex {
    table: string;
    /** The table's next name, undefined when it is dropped. */
    nextTable: string | undefined;
    index: IndexIR;
    /** Columns under their next names. */
    columns: string[];
  }
  const prevIndexes = new Map<string, PrevIndex>();
  for (const t of prev.tables) {
    const nextTable = paired.has(t.name) ? tableTo(t.name) : undefined;
    for (const ix of t.indexes) prevIndexes.set(ix.name, { table: t.name, nextTable, index: ix, columns: ix.columns.map((c) => columnTo(t.name, c)) });
  }
  const indexTouchesRebuilt = (table: string, columns: readonly string[]) => columns.some((c) => infos.get(table)?.rebuilt.has(c) ?? false);
  const nextIndexes = next.tables.flatMap((n) => n.indexes.map((index) => ({ table: n.name, index })));
  type NextIndex = (typeof nextIndexes)[number];
  const sameIndex = (pi: PrevIndex, ni: NextIndex) => pi.nextTable === ni.table && sameList(pi.columns, ni.index.columns) && pi.index.unique === ni.index.unique;
  reconcile([...prevIndexes.values()], nextIndexes, {
    prevName: (pi) => pi.index.name,
    nextName: (ni) => ni.index.name,
    keeps: sameIndex,
    same: sameIndex,
    rebuilds: (ni) => indexTouchesRebuilt(ni.table, ni.index.columns),
    rename: (pi, ni) => push({ kind: 'rename-index', destructive: false, table: ni.table, from: pi.index.name, to: ni.index.name }),
    add: ({ table, index }, hadEquivalent) => {
      const destructive = index.unique && !createdNames.has(table) && !hadEquivalent && index.columns.some((c) => existed(table, c));
      push({ kind: 'create-index', destructive, table, index });
    },
    drop: (pi) => push({ kind: 'drop-index', destructive: false, table: pi.table, index: pi.index }),
  });

  // ---- Primary keys.
  for (const info of infos.values()) {
    const { p, n } = info;
    const from = primaryKeyName(p.name);
    const to = primaryKeyName(n.name);
    if (info.pkChanged) {
      if (p.primaryKey.length > 0) push({ kind: 'drop-primary-key', destructive: false, table: p.name, name: from, columns: p.primaryKey });
      if (n.primaryKey.length > 0) push({ kind: 'add-primary-key', destructive: n.primaryKey.some((c) => existed(n.name, c)), table: n.name, name: to, columns: n.primaryKey });
    } else if (from !== to && n.primaryKey.length > 0) {
      push({ kind: 'rename-constraint', destructive: false, table: n.name, from, to });
    }
  }

  // ---- Foreign keys (names unique per table).
  const fkNeedsRebuild = (table: string, fk: ForeignKeyIR) =>
    fk.columns.some((c) => typeChanges(table, c)) ||
    fk.references.columns.some((c) => typeChanges(fk.references.table, c)) ||
    (infos.get(fk.references.table)?.pkChanged ?? false);
  const droppedNames = new Set(dropped.map((t) => t.name));
  const mapFk = (table: string, fk: ForeignKeyIR) => {
    const ref = fk.references.table;
    const refTable = droppedNames.has(ref) ? `\u0000${ref}` : tableTo(ref);
    return {
      columns: fk.columns.map((c) => columnTo(table, c)),
      refTable,
      refColumns: fk.references.columns.map((c) => columnTo(fk.references.table, c)),
      onDelete: fk.onDelete,
    };
  };
  const sameFk = (a: ReturnType<typeof mapFk>, b: ForeignKeyIR) =>
    sameList(a.columns, b.columns) && a.refTable === b.references.table && sameList(a.refColumns, b.references.columns) && a.onDelete === b.onDelete;
  for (const t of dropped) for (const fk of t.foreignKeys) push({ kind: 'drop-foreign-key', destructive: false, table: t.name, foreignKey: fk });
  for (const info of infos.values()) {
    const { p, n } = info;
    const sameAs = (o: ForeignKeyIR, fk: ForeignKeyIR) => sameFk(mapFk(p.name, o), fk);
    reconcile(p.foreignKeys, n.foreignKeys, {
      prevName: (fk) => fk.name,
      nextName: (fk) => fk.name,
      keeps: sameAs,
      same: sameAs,
      rebuilds: (fk) => fkNeedsRebuild(n.name, fk),
      rename: (o, fk) => push({ kind: 'rename-constraint', destructive: false, table: n.name, from: o.name, to: fk.name }),
      add: (fk, hadEquivalent) =>
        push({ kind: 'add-foreign-key', destructive: !hadEquivalent && fk.columns.some((c) => existed(n.name, c)), table: n.name, foreignKey: fk }),
      drop: (fk) => push({ kind: 'drop-foreign-key', destructive: false, table: p.name, foreignKey: fk }),
    });
  }

  // ---- Checks (names unique per table).
  for (const info of infos.values()) {
    const { p, n } = info;
    const prevValuesOf = (column: string) => p.checks.find((c) => columnTo(p.name, c.column) === column)?.values;
    reconcile(p.checks, n.checks, {
      prevName: (ck) => ck.name,
      nextName: (ck) => ck.name,
      // A check on the same column keeps its name; its values are replaced in place when they change.
      keeps: (old, ck) => columnTo(p.name, old.column) === ck.column,
      same: (o, ck) => columnTo(p.name, o.column) === ck.column && sameList(o.values, ck.values),
      rebuilds: (ck) => typeChanges(n.name, ck.column),
      keep: (old, ck) => {
        if (!sameList(old.values, ck.values)) push({ kind: 'replace-check', destructive: removesValues(old.values, ck.values), table: n.name, from: old, to: ck });
      },
      rename: (o, ck) => push({ kind: 'rename-constraint', destructive: false, table: n.name, from: o.name, to: ck.name }),
      add: (ck) => {
        const before = existed(n.name, ck.column) ? prevValuesOf(ck.column) : undefined;
        const destructive = existed(n.name, ck.column) && (before === undefined || removesValues(before, ck.values));
        push({ kind: 'add-check', destructive, table: n.name, check: ck });
      },
      drop: (ck) => push({ kind: 'drop-check', destructive: false, table: p.name, check: ck }),
    });
  }

  // ---- Tables.
  for (const t of dropped) push({ kind: 'drop-table', destructive: true, table: t });
  for (const [from, to] of renames.tables) push({ kind: 'rename-table', destructive: false, from, to });
  for (const t of created) {
    push({ kind: 'create-table', destructive: false, table: t });
    for (const fk of t.foreignKeys) push({ kind: 'add-foreign-key', destructive: false, table: t.name, foreignKey: fk });
  }
  // Indexes of new tables were pushed with the others above.

  // ---- Columns.
  for (const info of infos.values()) {
    const { p, n, matched } = info;
    const matchedPrev = new Set([...matched.values()].map((c) => c.name));
    for (const c of p.columns) if (!matchedPrev.has(c.name)) push({ kind: 'drop-column', destructive: true, table: p.name, column: c });
    for (const c of n.columns) {
      const old = matched.get(c.name);
      if (!old || info.rebuilt.has(c.name)) {
        const rebuilt = old ? { rebuilt: true } : {};
        if (old) push({ kind: 'drop-column', destructive: true, table: p.name, column: old, ...rebuilt });
        push({ kind: 'add-column', destructive: !c.nullable && c.default === undefined && !c.identity, table: n.name, column: c, ...rebuilt });
        continue;
      }
      if (old.name !== c.name) push({ kind: 'rename-column', destructive: false, table: n.name, from: old.name, to: c.name });
      const at = { table: n.name, column: c.name };
      const retyped = info.retyped.has(c.name);
      if (old.identity && !c.identity) push({ kind: 'drop-identity', destructive: false, ...at });
      if (retyped) {
        if (old.default) push({ kind: 'drop-default', destructive: false, ...at, type: old.type, previous: old.default });
        push({ kind: 'alter-column-type', destructive: narrows(old.type, c.type), ...at, from: old.type, to: c.type, using: needsUsing(old.type, c.type) });
      } else if (old.default && !c.default) {
        push({ kind: 'drop-default', destructive: false, ...at, type: old.type, previous: old.default });
      }
      if (old.nullable && !c.nullable) push({ kind: 'set-not-null', destructive: true, ...at });
      if (!old.nullable && c.nullable) push({ kind: 'drop-not-null', destructive: false, ...at });
      if (c.default && (retyped || !sameDefault(old.default, c.default))) {
        const previous = retyped ? undefined : old.default;
        push({ kind: 'set-default', destructive: false, ...at, type: c.type, default: c.default, ...(previous ? { previous } : {}) });
      }
      if (c.identity && !old.identity) push({ kind: 'add-identity', destructive: false, ...at });
    }
  }

  // Stable order: by phase, then in the order found (tables in name order, columns in table order).
  // (Array.prototype.sort is stable.)
  const ordered: MigrationStep[] = [...steps].sort((a, b) => PHASE[a.kind] - PHASE[b.kind]).map(finish);
  return deepFreeze({ steps: ordered, destructive: ordered.filter((s) => s.destructive), name: migrationName(ordered) });
}

// ---------------------------------------------------------------------------------------------------
// Renames

interface Renames {
  /** old table → new table */
  tables: Map<string, string>;
  /** old table → (old column → new column) */
  columns: Map<string, Map<string, string>>;
}

function resolveRenames(prev: Map<string, TableIR>, next: Map<string, TableIR>, options: DiffOptions): Renames {
  const fail = (message: string) => {
    throw new BackdevError('OPTION_INVALID', message);
  };
  const tables = new Map<string, string>();
  for (const [from, to] of Object.entries(options.renames?.table ?? {}).sort(([a], [b]) => compare(a, b))) {
    if (typeof to !== 'string' || from === to) continue;
    if (!prev.has(from)) fail(`cannot rename table ${from} to ${to}: the previous design has no table ${from}`);
    if (!next.has(to)) fail(`cannot rename table ${from} to ${to}: the new design has no table ${to}`);
    if ([...tables.values()].includes(to)) fail(`cannot rename two tables to ${to}`);
    tables.set(from, to);
  }
  for (const [from, to] of tables) {
    if (tables.has(to)) fail(`cannot rename table ${from} to ${to}: ${to} is itself renamed (chained or swapped renames are not supported)`);
  }
  const columns = new Map<string, Map<string, string>>();
  for (const [key, to] of Object.entries(options.renames?.column ?? {}).sort(([a], [b]) => compare(a, b))) {
    const dot = key.indexOf('.');
    if (typeof to !== 'string' || dot <= 0) fail(`column rename "${key}" must be written "table.column"`);
    const table = key.slice(0, dot);
    const from = key.slice(dot + 1);
    // The table may be named by its old or its new name.
    const oldTable = prev.has(table) && (tables.has(table) || next.has(table)) ? table : [...tables].find(([, t]) => t === table)?.[0];
    if (oldTable === undefined) fail(`cannot rename column ${key}: there is no table ${table} in both designs`);
    const newTable = tables.get(oldTable!) ?? oldTable!;
    const p = prev.get(oldTable!)!;
    const n = next.get(newTable);
    if (!n) fail(`cannot rename column ${key}: the new design has no table ${newTable}`);
    if (from === to) continue;
    if (!p.columns.some((c) => c.name === from)) fail(`cannot rename column ${key}: table ${oldTable} has no column ${from}`);
    if (!n!.columns.some((c) => c.name === to)) fail(`cannot rename column ${key} to ${to}: table ${newTable} has no column ${to} in the new design`);
    const map = columns.get(oldTable!) ?? new Map<string, string>();
    if ([...map.values()].includes(to)) fail(`cannot rename two columns of ${oldTable} to ${to}`);
    map.set(from, to);
    columns.set(oldTable!, map);
  }
  for (const [table, map] of columns) {
    for (const [from, to] of map) {
      if (map.has(to)) fail(`cannot rename column ${table}.${from} to ${to}: ${to} is itself renamed (chained or swapped renames are not supported)`);
    }
  }
  return { tables, columns };
}

// ---------------------------------------------------------------------------------------------------
// Inverse

/** The step that undoes `step` (used, in reverse order, for `down`). */
export function invertStep(step: MigrationStep): MigrationStep {
  return finish(invertDraft(step));
}

function invertDraft(s: MigrationStep): Draft {
  switch (s.kind) {
    case 'create-table':
      return { kind: 'drop-table', destructive: true, table: s.table };
    case 'drop-table':
      return { kind: 'create-table', destructive: false, table: s.table };
    case 'rename-table':
      return { kind: 'rename-table', destructive: false, from: s.to, to: s.from };
    case 'add-column':
      return { kind: 'drop-column', destructive: true, table: s.table, column: s.column, ...(s.rebuilt ? { rebuilt: true } : {}) };
    case 'drop-column':
      return {
        kind: 'add-column',
        destructive: !s.column.nullable && s.column.default === undefined && !s.column.identity,
        table: s.table,
        column: s.column,
        ...(s.rebuilt ? { rebuilt: true } : {}),
      };
    case 'rename-column':
      return { kind: 'rename-column', destructive: false, table: s.table, from: s.to, to: s.from };
    case 'alter-column-type':
      return { kind: 'alter-column-type', destructive: narrows(s.to, s.from), table: s.table, column: s.column, from: s.to, to: s.from, using: needsUsing(s.to, s.from) };
    case 'set-not-null':
      return { kind: 'drop-not-null', destructive: false, table: s.table, column: s.column };
    case 'drop-not-null':
      return { kind: 'set-not-null', destructive: true, table: s.table, column: s.column };
    case 'add-identity':
      return { kind: 'drop-identity', destructive: false, table: s.table, column: s.column };
    case 'drop-identity':
      return { kind: 'add-identity', destructive: false, table: s.table, column: s.column };
    case 'set-default':
      return s.previous
        ? { kind: 'set-default', destructive: false, table: s.table, column: s.column, type: s.type, default: s.previous, previous: s.default }
        : { kind: 'drop-default', destructive: false, table: s.table, column: s.column, type: s.type, previous: s.default };
    case 'drop-default':
      return { kind: 'set-default', destructive: false, table: s.table, column: s.column, type: s.type, default: s.previous };
    case 'create-index':
      return { kind: 'drop-index', destructive: false, table: s.table, index: s.index };
    case 'drop-index':
      return { kind: 'create-index', destructive: s.index.unique, table: s.table, index: s.index };
    case 'rename-index':
      return { kind: 'rename-index', destructive: false, table: s.table, from: s.to, to: s.from };
    case 'add-foreign-key':
      return { kind: 'drop-foreign-key', destructive: false, table: s.table, foreignKey: s.foreignKey };
    case 'drop-foreign-key':
      return { kind: 'add-foreign-key', destructive: true, table: s.table, foreignKey: s.foreignKey };
    case 'add-check':
      return { kind: 'drop-check', destructive: false, table: s.table, check: s.check };
    case 'drop-check':
      return { kind: 'add-check', destructive: true, table: s.table, check: s.check };
    case 'replace-check':
      return { kind: 'replace-check', destructive: removesValues(s.to.values, s.from.values), table: s.table, from: s.to, to: s.from };
    case 'add-primary-key':
      return { kind: 'drop-primary-key', destructive: false, table: s.table, name: s.name, columns: s.columns };
    case 'drop-primary-key':
      return { kind: 'add-primary-key', destructive: true, table: s.table, name: s.name, columns: s.columns };
    case 'rename-constraint':
      return { kind: 'rename-constraint', destructive: false, table: s.table, from: s.to, to: s.from };
  }
}

// ---------------------------------------------------------------------------------------------------
// Descriptions and names

function finish(d: Draft): MigrationStep {
  return { ...d, description: describe(d) } as MigrationStep;
}

function typeText(t: SqlType): string {
  return `${t.name}${t.name === 'varchar' && t.length !== undefined ? `(${t.length})` : ''}${t.array ? '[]' : ''}`;
}

function columnText(c: ColumnIR): string {
  return [typeText(c.type), c.identity ? 'identity' : '', c.nullable ? '' : 'not null', c.default ? 'with a default' : ''].filter(Boolean).join(' ');
}

function describe(s: Draft): string {
  switch (s.kind) {
    case 'create-table':
      return `create table ${s.table.name} (${s.table.columns.length} columns)`;
    case 'drop-table':
      return `drop table ${s.table.name}`;
    case 'rename-table':
      return `rename table ${s.from} to ${s.to}`;
    case 'add-column':
      return `add ${s.rebuilt ? 'back ' : ''}column ${s.table}.${s.column.name} ${columnText(s.column)}`;
    case 'drop-column':
      return `drop column ${s.table}.${s.column.name}${s.rebuilt ? ` (${typeText(s.column.type)}: no cast to its new type, so it is added back empty)` : ''}`;
    case 'rename-column':
      return `rename column ${s.table}.${s.from} to ${s.to}`;
    case 'alter-column-type':
      return `change the type of ${s.table}.${s.column} from ${typeText(s.from)} to ${typeText(s.to)}`;
    case 'set-not-null':
      return `make ${s.table}.${s.column} not null`;
    case 'drop-not-null':
      return `make ${s.table}.${s.column} nullable`;
    case 'add-identity':
      return `make ${s.table}.${s.column} an identity column`;
    case 'drop-identity':
      return `make ${s.table}.${s.column} no longer an identity column`;
    case 'set-default':
      return `${s.previous ? 'change' : 'set'} the default of ${s.table}.${s.column}`;
    case 'drop-default':
      return `drop the default of ${s.table}.${s.column}`;
    case 'create-index':
      return `create ${s.index.unique ? 'unique ' : ''}index ${s.index.name} on ${s.table} (${s.index.columns.join(', ')})`;
    case 'drop-index':
      return `drop ${s.index.unique ? 'unique ' : ''}index ${s.index.name}`;
    case 'rename-index':
      return `rename index ${s.from} to ${s.to}`;
    case 'add-foreign-key':
      return `add foreign key ${s.foreignKey.name}: ${s.table} (${s.foreignKey.columns.join(', ')}) references ${s.foreignKey.references.table} (${s.foreignKey.references.columns.join(', ')}) on delete ${s.foreignKey.onDelete}`;
    case 'drop-foreign-key':
      return `drop foreign key ${s.foreignKey.name} on ${s.table}`;
    case 'add-check':
      return `add check ${s.check.name}: ${s.table}.${s.check.column} is one of ${s.check.values.length} values`;
    case 'drop-check':
      return `drop check ${s.check.name} on ${s.table}`;
    case 'replace-check': {
      const added = s.to.values.filter((v) => !s.from.values.includes(v)).length;
      const removed = s.from.values.filter((v) => !s.to.values.includes(v)).length;
      return `change the allowed values of ${s.table}.${s.to.column} (${added} added, ${removed} removed)`;
    }
    case 'add-primary-key':
      return `add primary key ${s.name} on ${s.table} (${s.columns.join(', ')})`;
    case 'drop-primary-key':
      return `drop primary key ${s.name} on ${s.table}`;
    case 'rename-constraint':
      return `rename constraint ${s.from} on ${s.table} to ${s.to}`;
  }
}

function stepTable(s: MigrationStep): string {
  switch (s.kind) {
    case 'create-table':
    case 'drop-table':
      return s.table.name;
    case 'rename-table':
      return s.to;
    default:
      return s.table;
  }
}

/** A short snake_case summary of a migration, at most 60 characters. */
function migrationName(steps: readonly MigrationStep[]): string {
  if (steps.length === 0) return 'no_changes';
  const only = (...kinds: StepKind[]) => steps.every((s) => kinds.includes(s.kind));
  const list = (names: string[], fallback: string) => {
    const unique = [...new Set(names)].sort(compare);
    const joined = unique.join('_and_');
    return unique.length <= 3 && joined.length <= 50 ? joined : fallback;
  };
  const tables = [...new Set(steps.map(stepTable))];
  const of = (kind: StepKind) => steps.filter((s) => s.kind === kind);
  let name: string;
  if (only('create-table', 'create-index', 'add-foreign-key') && of('create-table').length > 0) {
    name = `create_${list(of('create-table').map(stepTable), 'tables')}`;
  } else if (only('drop-table', 'drop-index', 'drop-foreign-key') && of('drop-table').length > 0) {
    name = `drop_${list(of('drop-table').map(stepTable), 'tables')}`;
  } else if (tables.length === 1 && only('add-column', 'create-index', 'add-foreign-key', 'add-check') && of('add-column').length > 0) {
    name = `add_${tables[0]}_${list(of('add-column').map((s) => (s.kind === 'add-column' ? s.column.name : '')), 'columns')}`;
  } else if (tables.length === 1 && only('drop-column', 'drop-index', 'drop-foreign-key', 'drop-check') && of('drop-column').length > 0) {
    name = `drop_${tables[0]}_${list(of('drop-column').map((s) => (s.kind === 'drop-column' ? s.column.name : '')), 'columns')}`;
  } else if (only('rename-table', 'rename-index', 'rename-constraint') && of('rename-table').length === 1) {
    const s = of('rename-table')[0]!;
    name = s.kind === 'rename-table' ? `rename_${s.from}_to_${s.to}` : 'rename_table';
  } else if (tables.length === 1 && only('rename-column', 'rename-index', 'rename-constraint') && of('rename-column').length === 1) {
    const s = of('rename-column')[0]!;
    name = s.kind === 'rename-column' ? `rename_${s.table}_${s.from}_to_${s.to}` : 'rename_column';
  } else {
    name = `alter_${list(tables, 'schema')}`;
  }
  name = name.replace(/[^a-z0-9_]+/g, '_');
  if (name.length > 60) name = name.slice(0, 60).replace(/_+$/, '');
  return name;
}

// ---------------------------------------------------------------------------------------------------
// Helpers

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function sameList<T>(a: readonly T[], b: readonly T[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

function removesValues(before: readonly (string | number)[], after: readonly (string | number)[]): boolean {
  return before.some((v) => !after.includes(v));
}

function sameDefault(a: DefaultIR | undefined, b: DefaultIR | undefined): boolean {
  return stableJson(a) === stableJson(b);
}

/**
 * JSON with object keys sorted (for comparing values). `sortKeys` leaves out undefined members, which
 * `JSON.stringify` would leave out anyway, and sorts by UTF-16 code unit, as `compare` does.
 */
export function stableJson(value: unknown): string {
  return JSON.stringify(sortKeys(value)) ?? 'undefined';
}

