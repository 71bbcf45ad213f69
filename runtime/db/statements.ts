/**
 * `runStatements`: the statements of a migration sent as one batch, so that a migration of hundreds of
 * tables costs a few round trips instead of one per statement, with failures still reported per statement.
 *
 * The batch runs inside the caller's transaction (a migration's), behind a savepoint. When it fails, the
 * savepoint is rolled back and the statements run again one at a time: the one that fails is thrown as a
 * `StatementError` that gives its position and SQL, with the database's error as `cause` (and its SQLSTATE
 * as `code`). Statements with parameters (schema statements have none) always run one at a time.
 */
import { CompiledQuery, type Compilable, type Kysely, type RawBuilder } from 'kysely';
import { sqlState } from './errors.js';

/** A statement of a batch: a schema builder chain (`db.schema.createTable(…)…`) or a `sql` template. */
export type Statement = Compilable<unknown> | RawBuilder<unknown>;

/**
 * Set on the compiled query of a batch (its `sql` holds every statement, `;`-separated); its value is the
 * compiled statements. A driver that runs one statement per query (PGlite's `query`) checks it to run the text
 * with its multi-statement call instead; PostgreSQL (node-postgres) runs a query without parameters through
 * the simple protocol, which takes several statements as they are. A driver that refuses the batch costs a
 * retry: the statements then run one at a time.
 */
export const STATEMENT_BATCH: unique symbol = Symbol.for('backdev.db.statement-batch') as never;

/** A batch's compiled query: the joined text, and the statements it was made of. */
export type BatchQuery = CompiledQuery & { readonly [STATEMENT_BATCH]: readonly CompiledQuery[] };

export function isBatchQuery(query: CompiledQuery): query is BatchQuery {
  return Array.isArray((query as Partial<BatchQuery>)[STATEMENT_BATCH]);
}

/** How much of a failed statement's SQL its error message quotes. */
const QUOTED_SQL = 300;

/** One statement of a batch failed: which one (1-based `position` of `count`) and its SQL. */
export class StatementError extends Error {
  override readonly name = 'StatementError';
  /** The SQLSTATE of the database's error, when it has one. */
  readonly code: string | undefined;

  constructor(
    readonly position: number,
    readonly count: number,
    readonly statement: string,
    cause: unknown,
  ) {
    const message = cause instanceof Error ? cause.message : String(cause);
    const quoted = statement.length > QUOTED_SQL ? `${statement.slice(0, QUOTED_SQL)}…` : statement;
    super(`${message} (statement ${position} of ${count}: ${quoted})`, { cause });
    this.code = sqlState(cause);
  }
}

const SAVEPOINT = 'backdev_statements';

/**
 * Runs `statements` in order, as one batch: in the transaction `db` is (a migration's), or in a transaction of
 * its own. Throws a `StatementError` naming the statement that failed; none of them is applied then.
 */
export async function runStatements(db: Kysely<any>, statements: readonly Statement[]): Promise<void> {
  if (statements.length === 0) return;
  if (!db.isTransaction) return db.transaction().execute((trx) => runStatements(trx, statements));
  const compiled = statements.map((s) => ('isRawBuilder' in s ? s.compile(db) : s.compile()));
  if (compiled.length === 1 || compiled.some((c) => c.parameters.length > 0)) return oneByOne(db, compiled);
  await db.executeQuery(CompiledQuery.raw(`savepoint ${SAVEPOINT}`));
  const text = [...compiled.map((c) => c.sql), `release savepoint ${SAVEPOINT}`].join(';\n');
  const batch: BatchQuery = { ...CompiledQuery.raw(text), [STATEMENT_BATCH]: compiled };
  try {
    await db.executeQuery(batch);
  } catch {
    // Which statement failed: run them again one at a time from the savepoint. When none fails (a driver
    // that refuses several statements in one query), they are applied and the batch is done.
    await db.executeQuery(CompiledQuery.raw(`rollback to savepoint ${SAVEPOINT}`));
    await oneByOne(db, compiled);
    await db.executeQuery(CompiledQuery.raw(`release savepoint ${SAVEPOINT}`));
  }
}

async function oneByOne(db: Kysely<any>, compiled: readonly CompiledQuery[]): Promise<void> {
  for (const [i, query] of compiled.entries()) {
    try {
      await db.executeQuery(query);
    } catch (err) {
      throw new StatementError(i + 1, compiled.length, query.sql, err);
    }
  }
}
