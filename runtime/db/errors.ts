/**
 * Database errors a client can cause, as client errors: `DataError` carries an HTTP status, a message that
 * is safe to show (it never holds database text: no table, constraint or value) and JSON pointers into the
 * request. `toDataError` classifies an error PostgreSQL or PGlite raised (by its SQLSTATE) using what a
 * repository knows about its table: which property each column and constraint stands for.
 */

/** One problem with one part of a request: `pointer` is a JSON pointer with the location first (`/body/price`). */
export interface DataErrorDetail {
  pointer: string;
  message: string;
}

/**
 * An error the client caused: `statusCode` (400–499), a message safe to show and the parts of the request at
 * fault. An HTTP error handler turns it into a problem response; the database error, if any, is `cause`
 * (for the log only).
 */
export class DataError extends Error {
  override readonly name = 'DataError';
  readonly statusCode: number;
  readonly errors: DataErrorDetail[];

  constructor(statusCode: number, message: string, errors: DataErrorDetail[] = [], options?: { cause?: unknown }) {
    super(message, options);
    if (!Number.isInteger(statusCode) || statusCode < 400 || statusCode > 499) throw new RangeError(`DataError status must be 400-499, not ${statusCode}`);
    this.statusCode = statusCode;
    this.errors = errors;
  }
}

/** What a repository knows about its table, to name the request's properties in a `DataError`. */
export interface ErrorMapping {
  /** Column name → API property name. */
  columns: Readonly<Record<string, string>>;
  /** Constraint or index name → the API properties it covers. */
  constraints?: Readonly<Record<string, readonly string[]>> | undefined;
  /** Where the properties are in the request (default `/body`). */
  location?: string | undefined;
}

/** The statement that failed: a write names the row's own fields; a delete is refused for others' references. */
export type DataOperation = 'select' | 'insert' | 'update' | 'delete';

/** The SQLSTATE of a PostgreSQL / PGlite error (`23505`…), or undefined. */
export function sqlState(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

/**
 * Why a database server could not be used at all, from the error of a connection attempt: the network
 * (refused, unknown host, timed out, reset), the login (authentication failed) or a database that does not
 * exist. Undefined for any other error (a failing statement, say). Node may report a refused connection to a
 * host with several addresses as an AggregateError of one error per address: the first one decides.
 */
export function unreachableReason(err: unknown): string | undefined {
  const first = err instanceof AggregateError && err.errors.length > 0 ? err.errors[0] : undefined;
  const code = (err as { code?: unknown } | null)?.code ?? (first as { code?: unknown } | undefined)?.code;
  if (typeof code !== 'string') return undefined;
  switch (code) {
    case 'ECONNREFUSED':
      return 'the connection was refused (is the server running, on that host and port?)';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'the host name could not be resolved';
    case 'ETIMEDOUT':
      return 'the connection timed out';
    case 'ECONNRESET':
    case 'EPIPE':
      return 'the server closed the connection';
    case '28000':
    case '28P01':
      return 'the server refused the login (user or password)';
    case '3D000':
      return 'the database does not exist on that server';
  }
  return code.startsWith('08') ? 'the connection failed' : undefined;
}

/** A JSON pointer token (RFC 6901 escaping). */
function token(property: string): string {
  return property.replace(/~/g, '~0').replace(/\//g, '~1');
}

/** The properties the error is about: by its constraint, else by its column, else none. */
function propertiesOf(err: unknown, mapping: ErrorMapping): string[] {
  const e = err as { constraint?: unknown; column?: unknown; detail?: unknown } | null;
  const constraint = typeof e?.constraint === 'string' ? e.constraint : undefined;
  if (constraint !== undefined && mapping.constraints && Object.hasOwn(mapping.constraints, constraint)) return [...mapping.constraints[constraint]!];
  const column = typeof e?.column === 'string' ? e.column : undefined;
  if (column !== undefined && Object.hasOwn(mapping.columns, column)) return [mapping.columns[column]!];
  // "Key (a, b)=(…)": only the column names are read, and only known ones are kept.
  const key = typeof e?.detail === 'string' ? /^Key \(([^)]*)\)=/.exec(e.detail) : null;
  if (key) {
    const names = key[1]!.split(',').map((c) => c.trim().replace(/^"(.*)"$/, '$1'));
    if (names.every((c) => Object.hasOwn(mapping.columns, c))) return names.map((c) => mapping.columns[c]!);
  }
  return [];
}

function pointers(location: string, properties: string[], message: string): DataErrorDetail[] {
  return properties.map((p) => ({ pointer: `${location}/${token(p)}`, message }));
}

/**
 * The `DataError` for a database error a client can cause, or undefined for anything else (a bug or an
 * outage: let it become a 500). Unique violation → 409; foreign key violation → 422 on insert/update (the
 * referenced row does not exist) and 409 on delete, as is a RESTRICT violation (other rows still refer to this one); other integrity
 * violations (not null, check) → 400; data exceptions (class 22: malformed or out-of-range values, NUL
 * bytes, too long) and program limits (class 54: a value too large for an index) → 400. `input`, when given,
 * helps name the property at fault for errors PostgreSQL does not tie to a column (a NUL byte).
 */
export function toDataError(err: unknown, operation: DataOperation, mapping: ErrorMapping, input?: object): DataError | undefined {
  const code = sqlState(err);
  if (code === undefined || err instanceof DataError) return undefined;
  const location = mapping.location ?? '/body';
  const cause = { cause: err };
  const props = propertiesOf(err, mapping);
  switch (code) {
    case '23505':
      return new DataError(409, 'a record with the same unique value already exists', pointers(location, props, 'must be unique; another record has this value'), cause);
    case '23P01':
      return new DataError(409, 'the record conflicts with an existing one', pointers(location, props, 'conflicts with an existing record'), cause);
    case '23001': // a RESTRICT foreign key (PostgreSQL 16 and later say so with this code)
      return new DataError(409, 'other records still refer to this one', [], cause);
    case '23503':
      if (operation === 'delete') return new DataError(409, 'other records still refer to this one', [], cause);
      return new DataError(422, 'a referenced record does not exist', pointers(location, props, 'no record has this id'), cause);
    case '23502':
      return new DataError(400, 'a required value is missing', pointers(location, props, 'must not be null'), cause);
    case '23514':
      return new DataError(400, 'a value is not allowed', pointers(location, props, 'is not one of the allowed values'), cause);
  }
  if (code.startsWith('22')) {
    const at = props.length > 0 ? props : code === '22021' ? propertiesWith(input, (v) => typeof v === 'string' && v.includes('\u0000')) : [];
    const what = code === '22021' ? 'must not contain a NUL character' : code === '22001' ? 'is too long' : 'is malformed or out of range';
    return new DataError(400, code === '22021' ? 'a text value contains a NUL character' : 'a value is malformed or out of range', pointers(location, at, what), cause);
  }
  if (code.startsWith('54')) {
    return new DataError(400, 'a value is too large to store', pointers(location, props, 'is too large to store or index'), cause);
  }
  return undefined;
}

function propertiesWith(input: object | undefined, test: (value: unknown) => boolean): string[] {
  if (!input) return [];
  return Object.entries(input).filter(([, v]) => test(v)).map(([k]) => k);
}

/** Runs a query and rethrows what `toDataError` classifies as a `DataError`; anything else as it was. */
export async function mapDataErrors<T>(run: () => Promise<T>, operation: DataOperation, mapping: ErrorMapping, input?: object): Promise<T> {
  try {
    return await run();
  } catch (err) {
    throw toDataError(err, operation, mapping, input) ?? err;
  }
}
