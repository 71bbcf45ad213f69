/**
 * Database spans for Kysely: `traceDialect(dialect)` wraps any Kysely dialect so that every statement runs
 * in a client span (`select pets`, `insert orders`, …) under the active span — the route's, when the query
 * runs inside a request that `tracing.register(app)` traces. The span carries the statement kind, the first
 * table when the query builder names one (read from the query tree, no SQL parsing), the SQL text (without
 * its parameters) and, when the statement fails, the database error.
 *
 * Wrapping the driver's connections (rather than a Kysely plugin) is what lets a failing statement end its
 * span with the error: plugins see a result, never an error.
 */
import { SpanKind, context, trace, type Tracer } from '@opentelemetry/api';
import type { CompiledQuery, DatabaseConnection, Dialect, Driver, QueryResult } from 'kysely';
import { failSpan } from './span-error.js';

export interface TraceDialectOptions {
  /** The tracer to use, or a function returning it at each call (default: the global `trace.getTracer('backdev')`). */
  tracer?: Tracer | (() => Tracer) | undefined;
  /** Value of `db.system.name` (default `postgresql`). */
  system?: string | undefined;
  /** Record statements that run outside any trace (migrations, start-up) as root spans (default false). */
  rootSpans?: boolean | undefined;
  /** Record the SQL text (parameters are never recorded); default true. */
  statement?: boolean | undefined;
}

const INSTRUMENTED = Symbol('backdev.tracing.instrumented');
const STATEMENT_LIMIT = 2000;

const KINDS: Record<string, string> = {
  SelectQueryNode: 'select',
  InsertQueryNode: 'insert',
  UpdateQueryNode: 'update',
  DeleteQueryNode: 'delete',
  MergeQueryNode: 'merge',
};

type Node = { kind?: string; [key: string]: unknown } | undefined;

/** The statement kind: from the query tree, else the first word of the SQL (`begin`, `create`, …). */
export function statementKind(query: CompiledQuery): string {
  const kind = KINDS[(query.query as Node)?.kind ?? ''];
  if (kind) return kind;
  return /^\s*([A-Za-z]+)/.exec(query.sql)?.[1]?.toLowerCase() ?? 'query';
}

/** The first table the query names, when its tree says so cheaply; undefined for raw SQL. */
export function statementTable(query: CompiledQuery): string | undefined {
  const node = query.query as Node;
  if (!node) return undefined;
  const from = node.from as Node;
  const target = (node.into ?? node.table ?? (from?.froms as Node[] | undefined)?.[0]) as Node;
  return tableName(target);
}

function tableName(node: Node): string | undefined {
  if (!node) return undefined;
  if (node.kind === 'AliasNode') return tableName(node.node as Node);
  if (node.kind !== 'TableNode') return undefined;
  const table = node.table as Node;
  const name = (table?.identifier as Node)?.name;
  const schema = (table?.schema as Node)?.name;
  return typeof name === 'string' ? (typeof schema === 'string' ? `${schema}.${name}` : name) : undefined;
}

export function traceDialect(dialect: Dialect, options: TraceDialectOptions = {}): Dialect {
  const tracerOf = () => (typeof options.tracer === 'function' ? options.tracer() : options.tracer) ?? trace.getTracer('backdev');
  const instrument = (connection: DatabaseConnection) => {
    const marked = connection as DatabaseConnection & { [INSTRUMENTED]?: true };
    if (marked[INSTRUMENTED]) return;
    marked[INSTRUMENTED] = true;
    const execute = connection.executeQuery.bind(connection);
    connection.executeQuery = <R>(query: CompiledQuery): Promise<QueryResult<R>> => {
      const active = context.active();
      if (!options.rootSpans && !trace.getSpan(active)) return execute<R>(query);
      const kind = statementKind(query);
      const table = statementTable(query);
      const attributes: Record<string, string> = { 'db.system.name': options.system ?? 'postgresql', 'db.operation.name': kind };
      if (table) attributes['db.collection.name'] = table;
      if (options.statement !== false) attributes['db.query.text'] = query.sql.length > STATEMENT_LIMIT ? `${query.sql.slice(0, STATEMENT_LIMIT)}…` : query.sql;
      const span = tracerOf().startSpan(table ? `${kind} ${table}` : kind, { kind: SpanKind.CLIENT, attributes }, active);
      return execute<R>(query).then(
        (result) => {
          span.end();
          return result;
        },
        (err: unknown) => {
          failSpan(span, err);
          span.end();
          throw err;
        },
      );
    };
  };
  return {
    createAdapter: () => dialect.createAdapter(),
    createIntrospector: (db) => dialect.createIntrospector(db),
    createQueryCompiler: () => dialect.createQueryCompiler(),
    createDriver: () => {
      const driver = dialect.createDriver();
      // Every method but acquireConnection goes to the driver itself (its methods may use private fields).
      // A plain object rather than a Proxy: Kysely reads acquireConnection and releaseConnection for every
      // statement, and a Proxy's trap costs more than a property read. No async function here: each
      // promise costs more while a context manager follows them.
      const instrumented = (connection: DatabaseConnection) => {
        instrument(connection);
        return connection;
      };
      const traced: Driver = {
        init: () => driver.init().then(forwardSavepoints),
        acquireConnection: () => driver.acquireConnection().then(instrumented),
        beginTransaction: (connection, settings) => driver.beginTransaction(connection, settings),
        commitTransaction: (connection) => driver.commitTransaction(connection),
        rollbackTransaction: (connection) => driver.rollbackTransaction(connection),
        releaseConnection: (connection) => driver.releaseConnection(connection),
        destroy: () => driver.destroy(),
      };
      // Savepoints only where the driver has them (Kysely checks for the method when one is asked for);
      // looked for again once the driver is initialised, for a driver that gains them then.
      function forwardSavepoints(): void {
        if (driver.savepoint) traced.savepoint = (connection, name, compile) => driver.savepoint!(connection, name, compile);
        if (driver.rollbackToSavepoint) traced.rollbackToSavepoint = (connection, name, compile) => driver.rollbackToSavepoint!(connection, name, compile);
        if (driver.releaseSavepoint) traced.releaseSavepoint = (connection, name, compile) => driver.releaseSavepoint!(connection, name, compile);
      }
      forwardSavepoints();
      return traced;
    },
  };
}
