/**
 * `backdev migrate up|down|status|to <name>`: runs the project's Kysely migrations (db/migrations/*.ts)
 * with Kysely's Migrator against `--database-url` / DATABASE_URL, or the project's embedded PGlite
 * database (.data/pglite) when neither is set. On PostgreSQL a run is one transaction, so a migration
 * that fails leaves the database as it was.
 */
import path from 'node:path';
import { Migrator, NO_MIGRATIONS, type MigrationResultSet } from 'kysely';
import { createDatabase, describeDatabase, FolderMigrationProvider } from '../../runtime/db/index.js';
import { findConfig, loadConfig } from '../core/config.js';
import { BackdevError } from '../core/errors.js';
import type { Output } from '../core/report.js';

export type MigrateAction = 'up' | 'down' | 'status' | 'to';

export interface MigrateOptions {
  action: MigrateAction;
  /** For `to`: a migration name (`0002_add_products_sku`), or `zero` for before the first. */
  target?: string | undefined;
  databaseUrl?: string | undefined;
  cwd?: string | undefined;
}

function projectRoot(cwd: string): { root: string; migrations: string; dataDir: string } {
  const file = findConfig(cwd);
  const { dir, config } = loadConfig(file);
  const root = dir ?? cwd;
  return { root, migrations: path.join(root, config.output.db, 'migrations'), dataDir: path.join(root, '.data', 'pglite') };
}

function report(results: MigrationResultSet, output: Output, verb: string): void {
  for (const r of results.results ?? []) {
    output.out(`  ${r.status === 'Success' ? verb : r.status === 'Error' ? 'failed' : 'skipped'}  ${r.migrationName}`);
  }
  if (results.error) {
    const err = results.error as Error;
    throw new BackdevError('MIGRATION_FAILED', `migration failed: ${err.message}; the database is as it was before this run`, { cause: err });
  }
  if ((results.results ?? []).length === 0) output.out('  nothing to do');
}

export async function runMigrate(options: MigrateOptions, output: Output): Promise<void> {
  const cwd = path.resolve(options.cwd ?? process.cwd());
  const { migrations, dataDir } = projectRoot(cwd);
  const url = options.databaseUrl ?? process.env.DATABASE_URL;
  if (options.action !== 'status' && Object.keys(await new FolderMigrationProvider(migrations).getMigrations()).length === 0) {
    // Nothing to run: do not start a database (PGlite takes seconds) just to find that out.
    output.out(`migrate: no migrations in ${path.relative(cwd, migrations) || '.'}`);
    return;
  }
  const db = createDatabase({ url, dataDir });
  const migrator = new Migrator({ db, provider: new FolderMigrationProvider(migrations) });
  output.out(`migrate: ${path.relative(cwd, migrations) || '.'} on ${describeDatabase({ url, dataDir: path.relative(cwd, dataDir) })}`);
  try {
    switch (options.action) {
      case 'status': {
        const all = await migrator.getMigrations();
        for (const m of all) output.out(`  ${m.executedAt ? 'applied' : 'pending'}  ${m.name}${m.executedAt ? `  (${m.executedAt.toISOString()})` : ''}`);
        const applied = all.filter((m) => m.executedAt).length;
        output.out(`${applied} applied, ${all.length - applied} pending`);
        return;
      }
      case 'up':
        return report(await migrator.migrateToLatest(), output, 'applied');
      case 'down':
        return report(await migrator.migrateDown(), output, 'reverted');
      case 'to': {
        if (!options.target) throw new BackdevError('OPTION_INVALID', 'migrate to needs a migration name (or "zero")');
        if (options.target === 'zero') return report(await migrator.migrateTo(NO_MIGRATIONS), output, 'reverted');
        const names = (await migrator.getMigrations()).map((m) => m.name);
        if (!names.includes(options.target)) {
          throw new BackdevError('OPTION_INVALID', `no migration named "${options.target}" (known: ${names.join(', ') || 'none'}, zero)`);
        }
        return report(await migrator.migrateTo(options.target), output, 'migrated');
      }
    }
  } finally {
    await db.destroy();
  }
}
