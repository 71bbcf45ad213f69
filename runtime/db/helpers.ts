/** Small helpers generated repositories and handlers share: cursors, constraint violations, migrations. */
import { randomUUID } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { DataError, sqlState } from './errors.js';
import { Migrator, type Kysely, type Migration, type MigrationProvider, type MigrationResultSet, type MigratorProps } from 'kysely';
import { MigrationTablesIntrospector } from './introspector.js';

/** An opaque page cursor: base64url of a JSON array of the sort key values of the last row. */
export function encodeCursor(values: readonly unknown[]): string {
  return Buffer.from(JSON.stringify(values), 'utf8').toString('base64url');
}

/** Decodes a cursor made by `encodeCursor`; undefined when it is not one. Checks the shape only: prefer `readCursor`. */
export function decodeCursor(cursor: string | undefined): unknown[] | undefined {
  if (!cursor) return undefined;
  try {
    const values = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    return Array.isArray(values) ? values : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The type of one sort key value in a cursor, after the column it is compared with: a value of the wrong
 * type would reach the database as a parameter and fail there (a uuid column compared with 'abc').
 */
export type CursorKind = 'uuid' | 'integer' | 'bigint' | 'number' | 'numeric' | 'text' | 'boolean' | 'date' | 'timestamp';

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** What `Date#toJSON` writes for years 0001–9999: inside PostgreSQL's range and JavaScript's on both ends. */
const TIMESTAMP_RE = /^(?!0000)\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const DATE_RE = /^(?!0000)\d{4}-\d{2}-\d{2}$/;
const NUMERIC_RE = /^-?\d+(\.\d+)?$/;
const INT32 = 2 ** 31;
/** Longer than any cursor this API hands out for a key that fits an index. */
const MAX_CURSOR_LENGTH = 16_384;

function fitsKind(value: unknown, kind: CursorKind): boolean {
  switch (kind) {
    case 'uuid':
      return typeof value === 'string' && UUID_RE.test(value);
    case 'integer':
      return typeof value === 'number' && Number.isInteger(value) && value >= -INT32 && value < INT32;
    case 'bigint':
      return typeof value === 'number' && Number.isSafeInteger(value);
    case 'number':
      return typeof value === 'number' && Number.isFinite(value);
    case 'numeric':
      return typeof value === 'string' && NUMERIC_RE.test(value);
    case 'text':
      return typeof value === 'string' && !value.includes('\u0000');
    case 'boolean':
      return typeof value === 'boolean';
    case 'date':
      return typeof value === 'string' && DATE_RE.test(value) && new Date(`${value}T00:00:00Z`).toISOString().startsWith(value);
    case 'timestamp':
      return typeof value === 'string' && TIMESTAMP_RE.test(value) && new Date(value).toISOString() === value;
  }
}

/**
 * Reads a cursor made by `encodeCursor` from the sort key values of a row whose columns have these kinds:
 * undefined when there is none (first page); a `DataError` 400 pointing at `pointer` when it is not one this
 * API could have handed out (not base64url JSON, wrong length, a value of the wrong type or out of the
 * database's range). Cursors are checked rather than signed: they hold nothing secret (only values of a
 * row the client has already seen), so a check needs no key to share and rotate, and it is what keeps a
 * hand-made cursor from reaching the database as a malformed parameter.
 */
export function readCursor(cursor: string | undefined, kinds: readonly CursorKind[], pointer = '/query/cursor'): unknown[] | undefined {
  if (cursor === undefined || cursor === '') return undefined;
  const bad = (): never => {
    throw new DataError(400, 'the cursor is not valid', [{ pointer, message: 'is not a cursor this API returned; pass a nextCursor unchanged' }]);
  };
  if (cursor.length > MAX_CURSOR_LENGTH || !/^[A-Za-z0-9_-]+$/.test(cursor)) bad();
  const values = decodeCursor(cursor);
  if (!values || values.length !== kinds.length) return bad();
  kinds.forEach((kind, i) => {
    if (!fitsKind(values[i], kind)) bad();
  });
  return values;
}

/** The SQLSTATE of a database error, or of the one a `DataError` was made from. */
function pgCode(err: unknown): string | undefined {
  return sqlState(err instanceof DataError ? err.cause : err);
}

/** A unique constraint was violated (PostgreSQL 23505), on PostgreSQL and PGlite alike. */
export function isUniqueViolation(err: unknown): boolean {
  return pgCode(err) === '23505';
}

/** A foreign key constraint was violated (PostgreSQL 23503). */
export function isForeignKeyViolation(err: unknown): boolean {
  return pgCode(err) === '23503';
}

/** The constraint a violation names, for messages. */
export function violatedConstraint(err: unknown): string | undefined {
  const c = ((err instanceof DataError ? err.cause : err) as { constraint?: unknown } | null)?.constraint;
  return typeof c === 'string' ? c : undefined;
}

/** Loads one migration module from its absolute path. */
export type MigrationLoader = (file: string) => Promise<unknown>;

/** How `.ts` migrations load: `native` tries the process's own import first (tsx, vitest), `tsx` always uses tsx. */
export type TypeScriptImports = 'native' | 'tsx';

/** A migration file that could not be imported: `file` is its path, `cause` the import's error. */
export class MigrationLoadError extends Error {
  constructor(
    readonly file: string,
    cause: unknown,
  ) {
    // The first line: a CommonJS "Cannot find module" goes on with its require stack.
    const message = (cause instanceof Error ? cause.message : String(cause)).split('\n')[0]!;
    const missing = /Cannot find (?:package|module) '([^']+)'/.exec(message);
    const code = (cause as NodeJS.ErrnoException | undefined)?.code;
    super(
      missing && (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') && !missing[1]!.startsWith('.')
        ? `migration ${file} imports "${missing[1]}", which is not installed where it looks (run npm install in the project)`
        : `migration ${file} could not be loaded: ${message}`,
      { cause },
    );
    this.name = 'MigrationLoadError';
  }
}

/** Whether node reads `file` as an ES module: the nearest package.json says `"type": "module"`. */
function inModulePackage(file: string): boolean {
  for (let dir = path.dirname(file); ; dir = path.dirname(dir)) {
    const manifest = path.join(dir, 'package.json');
    if (existsSync(manifest)) {
      try {
        return (JSON.parse(readFileSync(manifest, 'utf8')) as { type?: unknown }).type === 'module';
      } catch {
        return false;
      }
    }
    if (path.dirname(dir) === dir) return false;
  }
}

/**
 * Imports the migrations of one folder. A `.ts` one that this process cannot load itself (plain node: the
 * project's tests run this compiled code outside their TypeScript transform; the installed CLI) is loaded
 * through one tsx registration made for the batch and removed after it.
 *
 * In an ES module package (every project init makes) the registration is not scoped to a namespace: a
 * namespace would load a second copy of everything the migrations import (kysely and backdev/runtime/db,
 * some 270 modules, about half a CPU-second of `backdev migrate status`), where now those imports get the
 * modules this process already has. Each migration's URL names its batch, so a later batch reads the files
 * again. Elsewhere tsx would read the files as CommonJS, so they load in a namespace of their own, as ES
 * modules.
 */
async function importAll(files: string[], mode: TypeScriptImports): Promise<unknown[]> {
  let tsx: Promise<{ load: (url: string) => Promise<unknown>; unregister: () => Promise<void> }> | undefined;
  const viaTsx = async (url: string, file: string) => {
    tsx ??= import('tsx/esm/api').then(({ register }) => {
      if (inModulePackage(file)) {
        const batch = randomUUID();
        return { load: (u: string) => import(`${u}?backdev-migrations=${batch}`), unregister: register() };
      }
      const scoped = register({ namespace: `backdev-migrations-${process.pid}-${Date.now()}` });
      return { load: (u: string) => scoped.import(u, import.meta.url), unregister: scoped.unregister };
    });
    return (await tsx).load(url);
  };
  try {
    const out: unknown[] = [];
    const importOne = async (file: string) => {
      const url = pathToFileURL(file).href;
      if (!file.endsWith('.ts')) return import(url);
      if (mode === 'tsx') return viaTsx(url, file);
      try {
        return await import(url);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ERR_UNKNOWN_FILE_EXTENSION') throw err;
        return viaTsx(url, file);
      }
    };
    for (const file of files) {
      try {
        out.push(await importOne(file));
      } catch (err) {
        throw new MigrationLoadError(file, err);
      }
    }
    return out;
  } finally {
    if (tsx) await (await tsx).unregister();
  }
}

/**
 * Reads `<dir>/NNNN_*.ts` (or the compiled `.js`) as Kysely migrations, in file name order. `load`
 * replaces how each file is imported; `typescript` says how `.ts` files load when it is not given.
 */
export class FolderMigrationProvider implements MigrationProvider {
  constructor(
    private readonly dir: string,
    private readonly load?: MigrationLoader,
    private readonly typescript: TypeScriptImports = 'native',
  ) {}

  /** Loaded once per provider: the migrator asks for the list before every step. */
  private loaded: Promise<Record<string, Migration>> | undefined;

  getMigrations(): Promise<Record<string, Migration>> {
    this.loaded ??= this.loadAll();
    // A failed load is not kept: the next call reads the folder again.
    this.loaded.catch(() => (this.loaded = undefined));
    return this.loaded;
  }

  private async loadAll(): Promise<Record<string, Migration>> {
    const out: Record<string, Migration> = {};
    if (!existsSync(this.dir)) return out;
    const files = readdirSync(this.dir)
      .sort()
      .filter((f) => /^\d{4}_[\w-]+\.(ts|js|mjs)$/.test(f))
      .map((f) => path.join(this.dir, f));
    const load = this.load;
    const modules = load ? await Promise.all(files.map((f) => load(f))) : await importAll(files, this.typescript);
    files.forEach((file, i) => {
      const mod = modules[i] as Partial<Migration>;
      if (typeof mod.up !== 'function') throw new Error(`migration ${file} does not export an up() function`);
      out[path.basename(file).replace(/\.(ts|js|mjs)$/, '')] = mod as Migration;
    });
    return out;
  }
}

/**
 * Kysely's `Migrator` for `db` and `provider` (its lock, its order checks, its tables), except that where
 * it checks whether its own tables exist it looks them up by name (`MigrationTablesIntrospector`) instead of
 * listing every table of the database with its columns, twice per migration. On Stripe's 856 tables that
 * listing took longer than the migrations' statements. `db.introspection` is unchanged for everything else.
 */
export function createMigrator(options: MigratorProps): Migrator {
  const { db } = options;
  const names = [options.migrationTableName ?? 'kysely_migration', options.migrationLockTableName ?? 'kysely_migration_lock'];
  const introspection = new MigrationTablesIntrospector(db, names);
  // The Migrator keeps `db` to itself and reads `db.introspection` when it checks its tables: it gets a view
  // of `db` that differs there only. Methods run on `db` itself (Kysely keeps its state in private fields).
  const view = new Proxy(db, {
    get(target, key) {
      if (key === 'introspection') return introspection;
      const value: unknown = Reflect.get(target, key, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return new Migrator({ ...options, db: view });
}

/**
 * Runs migrations one transaction each (Kysely's Migrator would run a whole batch in one, and a large
 * batch can exceed PostgreSQL's lock table): `up` applies every pending one, `down` reverts applied ones
 * while `more(name)` says to go on (all of them by default). Stops at the first failure, which is in
 * `error`; everything before it stays applied. Give it a migrator from `createMigrator`: each step of
 * Kysely's own Migrator lists every table of the database.
 */
export async function migrateStepwise(
  migrator: Migrator,
  direction: 'up' | 'down',
  more: (appliedName: string) => boolean = () => true,
): Promise<MigrationResultSet> {
  const results: NonNullable<MigrationResultSet['results']> = [];
  for (;;) {
    if (direction === 'down') {
      const applied = (await migrator.getMigrations()).filter((m) => m.executedAt);
      const last = applied.at(-1);
      if (!last || !more(last.name)) return { results };
    }
    const step = direction === 'up' ? await migrator.migrateUp() : await migrator.migrateDown();
    results.push(...(step.results ?? []));
    if (step.error) return { error: step.error, results };
    if ((step.results ?? []).length === 0) return { results };
  }
}

/** Applies every pending migration in `dir`, one transaction each; throws when one fails. */
export async function migrateToLatest(db: Kysely<any>, dir: string): Promise<MigrationResultSet> {
  const result = await migrateStepwise(createMigrator({ db, provider: new FolderMigrationProvider(dir) }), 'up');
  if (result.error) throw result.error;
  return result;
}
