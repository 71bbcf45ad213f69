/**
 * Kysely's PostgreSQL introspector with a cheaper `getTables`: the same tables and columns, but whether a
 * column is auto-incrementing is read from pg_depend (the sequence the column owns: serial or identity) instead
 * of calling pg_get_serial_sequence, which resolves and locks the table by name once per column, and comments
 * come from one join with pg_description instead of a col_description() call per column. Kysely's Migrator
 * lists every table twice per migration to find its own two tables: `createMigrator` (helpers.ts) gives it
 * `MigrationTablesIntrospector`, which looks those two up by name.
 */
import { PostgresIntrospector, sql, type DatabaseIntrospector, type DatabaseMetadata, type DatabaseMetadataOptions, type Kysely, type RawBuilder, type SchemaMetadata, type TableMetadata } from 'kysely';

interface ColumnRow {
  schema: string;
  table: string;
  kind: string;
  column: string;
  not_null: boolean;
  has_default: boolean;
  type: string;
  type_schema: string;
  comment: string | null;
  auto_incrementing: boolean;
}

/** Kysely's own migration tables, left out unless asked for. */
const MIGRATION_TABLES = ['kysely_migration', 'kysely_migration_lock'];

export class BackdevPostgresIntrospector extends PostgresIntrospector {
  readonly #db: Kysely<any>;

  constructor(db: Kysely<any>) {
    super(db);
    this.#db = db;
  }

  override async getTables(options: { withInternalKyselyTables?: boolean } = { withInternalKyselyTables: false }): Promise<TableMetadata[]> {
    return readTables(this.#db, options.withInternalKyselyTables ? sql`true` : sql`c.relname not in (${sql.join(MIGRATION_TABLES)})`);
  }
}

/**
 * What a Kysely `Migrator` asks of the database's introspector: whether its own tables exist. Kysely's
 * Migrator lists every table of the database, with its columns, to find its two tables, twice per
 * migration (and once more for its list of migrations); on a schema of several hundred tables that listing
 * cost more than the migrations' own statements. This one answers `getTables` with those tables only
 * (looked up by name), the same rows the full listing would have had for them.
 */
export class MigrationTablesIntrospector implements DatabaseIntrospector {
  readonly #db: Kysely<any>;
  readonly #names: readonly string[];

  constructor(db: Kysely<any>, names: readonly string[]) {
    this.#db = db;
    this.#names = names;
  }

  getSchemas(): Promise<SchemaMetadata[]> {
    return this.#db.introspection.getSchemas();
  }

  /** The migration tables (only with `withInternalKyselyTables`: they are Kysely's own). */
  async getTables(options: { withInternalKyselyTables?: boolean } = {}): Promise<TableMetadata[]> {
    if (!options.withInternalKyselyTables || this.#names.length === 0) return [];
    return readTables(this.#db, sql`c.relname in (${sql.join([...this.#names])})`);
  }

  async getMetadata(options?: DatabaseMetadataOptions): Promise<DatabaseMetadata> {
    return { tables: await this.getTables(options) };
  }
}

/** Tables and views (with their columns) of the schemas the user can use, those `condition` keeps. */
async function readTables(db: Kysely<any>, condition: RawBuilder<unknown>): Promise<TableMetadata[]> {
  const { rows } = await sql<ColumnRow>`
    select ns.nspname as schema, c.relname as table, c.relkind as kind, a.attname as column,
      a.attnotnull as not_null, a.atthasdef as has_default, typ.typname as type, tns.nspname as type_schema,
      dsc.description as comment,
      exists (
        select 1 from pg_catalog.pg_depend d
        join pg_catalog.pg_class s on s.oid = d.objid and s.relkind = 'S'
        where d.classid = 'pg_catalog.pg_class'::regclass and d.refclassid = 'pg_catalog.pg_class'::regclass
          and d.refobjid = c.oid and d.refobjsubid = a.attnum and d.deptype in ('a', 'i')
      ) as auto_incrementing
    from pg_catalog.pg_attribute a
    join pg_catalog.pg_class c on c.oid = a.attrelid
    join pg_catalog.pg_namespace ns on ns.oid = c.relnamespace
    join pg_catalog.pg_type typ on typ.oid = a.atttypid
    join pg_catalog.pg_namespace tns on tns.oid = typ.typnamespace
    -- what col_description() reads, joined once rather than looked up per column
    left join pg_catalog.pg_description dsc on dsc.objoid = c.oid and dsc.classoid = 'pg_catalog.pg_class'::regclass and dsc.objsubid = a.attnum
    where c.relkind in ('r', 'v', 'p')
      and ns.nspname !~ '^pg_' and ns.nspname <> 'information_schema' and ns.nspname <> 'crdb_internal'
      and has_schema_privilege(ns.nspname, 'USAGE')
      and a.attnum >= 0 and not a.attisdropped
      and ${condition}
    order by ns.nspname, c.relname, a.attnum`.execute(db);
  const tables: TableMetadata[] = [];
  const byName = new Map<string, { columns: TableMetadata['columns'][number][] } & TableMetadata>();
  for (const r of rows) {
    const key = `${r.schema}\u0000${r.table}`;
    let table = byName.get(key);
    if (!table) {
      table = { columns: [], isView: r.kind === 'v', name: r.table, schema: r.schema };
      byName.set(key, table);
      tables.push(table);
    }
    table.columns.push(
      Object.freeze({
        comment: r.comment ?? undefined,
        dataType: r.type,
        dataTypeSchema: r.type_schema,
        hasDefaultValue: r.has_default,
        isAutoIncrementing: r.auto_incrementing,
        isNullable: !r.not_null,
        name: r.column,
      }),
    );
  }
  return tables.map((t) => Object.freeze(t));
}
