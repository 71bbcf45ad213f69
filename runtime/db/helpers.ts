/** Small helpers generated repositories and handlers share: cursors, constraint violations, migrations. */
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Migrator, type Kysely, type Migration, type MigrationProvider, type MigrationResultSet } from 'kysely';

/** An opaque page cursor: base64url of a JSON array of the sort key values of the last row. */
export function encodeCursor(values: readonly unknown[]): string {
  return Buffer.from(JSON.stringify(values), 'utf8').toString('base64url');
}

/** Decodes a cursor made by `encodeCursor`; undefined when it is not one (a client sent garbage). */
export function decodeCursor(cursor: string | undefined): unknown[] | undefined {
  if (!cursor) return undefined;
  try {
    const values = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    return Array.isArray(values) ? values : undefined;
  } catch {
    return undefined;
  }
}

function pgCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
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
  const c = (err as { constraint?: unknown } | null)?.constraint;
  return typeof c === 'string' ? c : undefined;
}

/** Reads `<dir>/NNNN_*.ts` as Kysely migrations, in file name order. */
export class FolderMigrationProvider implements MigrationProvider {
  constructor(private readonly dir: string) {}

  async getMigrations(): Promise<Record<string, Migration>> {
    const out: Record<string, Migration> = {};
    if (!existsSync(this.dir)) return out;
    for (const file of readdirSync(this.dir).sort()) {
      if (!/^\d{4}_[\w-]+\.(ts|js|mjs)$/.test(file)) continue;
      const mod = (await import(pathToFileURL(path.join(this.dir, file)).href)) as Partial<Migration>;
      if (typeof mod.up !== 'function') throw new Error(`migration ${path.join(this.dir, file)} does not export an up() function`);
      out[file.replace(/\.(ts|js|mjs)$/, '')] = mod as Migration;
    }
    return out;
  }
}

/**
 * Runs migrations one transaction each (Kysely's Migrator would run a whole batch in one, and a large
 * batch can exceed PostgreSQL's lock table): `up` applies every pending one, `down` reverts applied ones
 * while `more(name)` says to go on (all of them by default). Stops at the first failure, which is in
 * `error`; everything before it stays applied.
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
  const result = await migrateStepwise(new Migrator({ db, provider: new FolderMigrationProvider(dir) }), 'up');
  if (result.error) throw result.error;
  return result;
}
