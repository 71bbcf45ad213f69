/**
 * `backdev migrate up|down|status|to <name>`: runs the project's Kysely migrations (db/migrations/*.ts)
 * with Kysely's Migrator against `--database-url` / DATABASE_URL, or the project's embedded PGlite
 * database (.data/pglite) when neither is set. Each migration runs in its own transaction: one that
 * fails is rolled back, and the ones before it stay applied.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { MigrationResultSet } from 'kysely';
import { createDatabase, createMigrator, describeDatabase, FolderMigrationProvider, MigrationLoadError, migrateStepwise } from '../../runtime/db/index.js';
import { CONFIG_FILE, findConfig, loadConfig } from '../../generators/core/config.js';
import { BackdevError } from '../../generators/core/errors.js';
import { databaseFailure } from '../database-errors.js';
import type { Output } from '../../generators/core/report.js';

export type MigrateAction = 'up' | 'down' | 'status' | 'to';

export interface MigrateOptions {
  action: MigrateAction;
  /** For `to`: a migration name (`0002_add_products_sku`), or `zero` for before the first. */
  target?: string | undefined;
  databaseUrl?: string | undefined;
  cwd?: string | undefined;
}

/**
 * A project's migrations are TypeScript, and backdev itself runs on plain node once installed: `.ts` files
 * load through one tsx registration, for these imports only (the rest of the process is untouched).
 */
const migrationsIn = (folder: string) => new FolderMigrationProvider(folder, undefined, 'tsx');

/** The migration files, imported before any database opens; one that cannot load is a located error. */
async function loadMigrations(provider: FolderMigrationProvider, cwd: string): Promise<Record<string, unknown>> {
  try {
    return await provider.getMigrations();
  } catch (err) {
    if (!(err instanceof MigrationLoadError)) throw err;
    throw new BackdevError('MIGRATION_NOT_LOADED', err.message.replace(err.file, path.relative(cwd, err.file)), { cause: err });
  }
}

function projectRoot(cwd: string): { root: string; migrations: string; dataDir: string } {
  const file = findConfig(cwd);
  const { dir, config } = loadConfig(file);
  const root = dir ?? cwd;
  const migrations = path.join(root, config.output.db, 'migrations');
  if (!file && !existsSync(migrations)) {
    // Not in a project: say so, rather than "nothing to do" (and never start a database here).
    throw new BackdevError(
      'PROJECT_NOT_FOUND',
      `no backdev project here: no ${CONFIG_FILE} in ${cwd} or any folder above it, and no ${path.join(config.output.db, 'migrations')} folder in ${cwd}`,
      { details: ['run `backdev migrate` inside a project made by `backdev init` (migrations come from `backdev design-database`)'] },
    );
  }
  return { root, migrations, dataDir: path.join(root, '.data', 'pglite') };
}

function report(results: MigrationResultSet, output: Output, verb: string, url: string | undefined): void {
  for (const r of results.results ?? []) {
    output.out(`  ${r.status === 'Success' ? verb : r.status === 'Error' ? 'failed' : 'skipped'}  ${r.migrationName}`);
  }
  const failure = results.error === undefined ? undefined : databaseFailure(results.error, url);
  if (failure) throw failure;
  if (results.error) {
    const err = results.error as Error;
    throw new BackdevError('MIGRATION_FAILED', `migration failed: ${err.message}; it was rolled back (the migrations listed before it stay applied)`, { cause: err });
  }
  if ((results.results ?? []).length === 0) output.out('  nothing to do');
}

export async function runMigrate(options: MigrateOptions, output: Output): Promise<void> {
  const cwd = path.resolve(options.cwd ?? process.cwd());
  const { migrations, dataDir } = projectRoot(cwd);
  const url = options.databaseUrl ?? process.env.DATABASE_URL;
  // Arguments are checked against the migration files before a database is opened (or created).
  if (options.action === 'to' && !options.target) throw new BackdevError('OPTION_INVALID', 'migrate to needs a migration name (or "zero")');
  const provider = migrationsIn(migrations);
  const names = Object.keys(await loadMigrations(provider, cwd)).sort();
  if (options.action === 'to' && options.target !== 'zero' && !names.includes(options.target!)) {
    throw new BackdevError('OPTION_INVALID', `no migration named "${options.target}" (known: ${names.join(', ') || 'none'}, zero)`);
  }
  if (options.action !== 'status' && names.length === 0) {
    // Nothing to run: do not start a database (PGlite takes seconds) just to find that out.
    output.out(`migrate: no migrations in ${path.relative(cwd, migrations) || '.'}`);
    return;
  }
  const db = createDatabase({ url, dataDir });
  const migrator = createMigrator({ db, provider });
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
        return report(await migrateStepwise(migrator, 'up'), output, 'applied', url);
      case 'down': {
        let first = true;
        return report(await migrateStepwise(migrator, 'down', () => (first ? !(first = false) : false)), output, 'reverted', url);
      }
      case 'to': {
        if (!options.target) throw new BackdevError('OPTION_INVALID', 'migrate to needs a migration name (or "zero")');
        if (options.target === 'zero') return report(await migrateStepwise(migrator, 'down'), output, 'reverted', url);
        const all = await migrator.getMigrations();
        const index = all.findIndex((m) => m.name === options.target);
        if (index < 0) {
          throw new BackdevError('OPTION_INVALID', `no migration named "${options.target}" (known: ${all.map((m) => m.name).join(', ') || 'none'}, zero)`);
        }
        if (all[index]!.executedAt) {
          // Revert everything applied after the target.
          const after = new Set(all.slice(index + 1).map((m) => m.name));
          return report(await migrateStepwise(migrator, 'down', (name) => after.has(name)), output, 'reverted', url);
        }
        const upTo = new Set(all.slice(0, index + 1).map((m) => m.name));
        const pending = all.filter((m) => !m.executedAt && upTo.has(m.name)).length;
        let done = 0;
        const results: NonNullable<MigrationResultSet['results']> = [];
        while (done < pending) {
          const step = await migrator.migrateUp();
          results.push(...(step.results ?? []));
          if (step.error || (step.results ?? []).length === 0) return report({ error: step.error, results }, output, 'applied', url);
          done++;
        }
        return report({ results }, output, 'applied', url);
      }
    }
  } catch (err) {
    throw databaseFailure(err, url) ?? err;
  } finally {
    await db.destroy();
  }
}
