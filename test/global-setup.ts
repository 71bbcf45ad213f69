/**
 * Before any test file: compile backdev (`npm run build`, a second or two), because projects made by the
 * tests import `backdev/runtime/*` through the package's exports, which point at dist/. A type error
 * does not stop the tests (`npm run typecheck` reports it).
 *
 * Where DATABASE_URL is set (CI), tests work in databases of their own on that server, never in its own
 * database's tables: after the run, a table that was not there before fails the run, naming it.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

async function tablesOf(url: string): Promise<Set<string> | undefined> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
  client.on('error', () => {});
  try {
    await client.connect();
    const { rows } = await client.query<{ name: string }>(
      "SELECT schemaname || '.' || tablename AS name FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')",
    );
    return new Set(rows.map((r) => r.name));
  } catch {
    return undefined; // no server: the tests that need one say so
  } finally {
    await client.end().catch(() => {});
  }
}

export default async function setup(): Promise<() => Promise<void>> {
  const repo = path.resolve(fileURLToPath(new URL('..', import.meta.url)));
  execFileSync(process.execPath, [path.join(repo, 'scripts/build.mjs'), '--allow-type-errors'], { cwd: repo, stdio: 'inherit' });
  const url = process.env.DATABASE_URL;
  const before = url ? await tablesOf(url) : undefined;
  return async () => {
    if (!url || !before) return;
    const after = await tablesOf(url);
    const added = [...(after ?? [])].filter((t) => !before.has(t));
    if (added.length > 0) {
      // vitest reports an error thrown here but still exits 0: the exit code is set as well.
      process.exitCode = 1;
      throw new Error(`tests left tables in the shared database ${new URL(url).pathname.slice(1)}: ${added.join(', ')} (a test must use a database of its own)`);
    }
  };
}
