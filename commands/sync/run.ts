/**
 * `backdev sync run <job> [--full]` and `backdev sync status`: run a sync job add-sync wrote
 * (src/sync/<job>.gen.ts) against the project's database, and show what the sync tables say (last runs,
 * checkpoints, lag, dead letters of the outbox). PostgreSQL with `--database-url` / DATABASE_URL, else the
 * project's embedded PGlite database (.data/pglite).
 */
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { sql, type Kysely } from 'kysely';
import { createDatabase, describeDatabase } from '../../runtime/db/index.js';
import type { PullJob, RunResult } from '../../runtime/sync/index.js';
import { CONFIG_FILE, findConfig, loadConfig } from '../../generators/core/config.js';
import { BackdevError } from '../../generators/core/errors.js';
import { databaseFailure } from '../database-errors.js';
import type { Output } from '../../generators/core/report.js';

/** Where add-sync writes its jobs. */
const SYNC_DIR = 'src/sync';

export interface SyncCommandOptions {
  databaseUrl?: string | undefined;
  cwd?: string | undefined;
}

function project(cwd: string): { root: string; dataDir: string } {
  const file = findConfig(cwd);
  const { dir } = loadConfig(file);
  if (!file || !dir) {
    throw new BackdevError('PROJECT_NOT_FOUND', `no backdev project here: no ${CONFIG_FILE} in ${cwd} or any folder above it`, {
      details: ['run `backdev sync` inside a project made by `backdev init` (jobs come from `backdev add-sync`)'],
    });
  }
  return { root: dir, dataDir: path.join(dir, '.data', 'pglite') };
}

/** The job names of the project (src/sync/<job>.gen.ts). */
export function projectJobs(root: string): string[] {
  const dir = path.join(root, SYNC_DIR);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.gen.ts') && !f.endsWith('.openapi.gen.ts'))
    .map((f) => f.slice(0, -'.gen.ts'.length))
    .sort();
}

async function openDatabase<T>(options: SyncCommandOptions, dataDir: string, work: (db: Kysely<any>, singleProcess: boolean) => Promise<T>): Promise<T> {
  const url = options.databaseUrl ?? process.env.DATABASE_URL;
  const db = createDatabase({ url, dataDir });
  try {
    return await work(db, !url);
  } catch (err) {
    throw databaseFailure(err, url) ?? err;
  } finally {
    await db.destroy();
  }
}

async function tableExists(db: Kysely<any>, table: string): Promise<boolean> {
  const r = await sql<{ t: string | null }>`select to_regclass(${table})::text as t`.execute(db);
  return r.rows[0]?.t != null;
}

async function requireSyncTables(db: Kysely<any>): Promise<void> {
  if (!(await tableExists(db, 'backdev_sync_state'))) {
    throw new BackdevError('SYNC_TABLES_MISSING', 'the sync tables do not exist in this database: run `npm run db:migrate` (add-sync wrote their migration) first');
  }
}

/** `backdev sync run <job>`: one run, a line per stored page; exit code 1 when the run failed. */
export async function runSyncJob(options: SyncCommandOptions & { job: string; full?: boolean | undefined }, output: Output): Promise<number> {
  const cwd = path.resolve(options.cwd ?? process.cwd());
  const { root, dataDir } = project(cwd);
  const jobs = projectJobs(root);
  if (!jobs.includes(options.job)) {
    throw new BackdevError('OPTION_INVALID', `no sync job "${options.job}" in ${SYNC_DIR} (jobs: ${jobs.join(', ') || 'none yet; add one with `backdev add-sync`'})`);
  }
  const file = path.join(root, SYNC_DIR, `${options.job}.gen.ts`);
  const { register } = await import('tsx/esm/api');
  const tsx = register({ namespace: `backdev-sync-${process.pid}-${Date.now()}` });
  try {
    const mod = (await tsx.import(pathToFileURL(file).href, import.meta.url)) as { createJob?: (o: { db: Kysely<any>; singleProcess: boolean }) => PullJob };
    if (typeof mod.createJob !== 'function') {
      throw new BackdevError('GENERATED_FILE_EDITED', `${path.relative(cwd, file)} exports no createJob(): run \`backdev add-sync\` again to regenerate it`);
    }
    const url = options.databaseUrl ?? process.env.DATABASE_URL;
    output.out(`sync ${options.job}: ${options.full ? 'full' : 'incremental where possible'} on ${describeDatabase({ url, dataDir: path.relative(cwd, dataDir) })}`);
    const result = await openDatabase(options, dataDir, async (db, singleProcess) => {
      await requireSyncTables(db);
      const job = mod.createJob!({ db, singleProcess });
      const off = [
        job.on('page', (e) => output.out(`  ${e.stream}: page ${e.page}, ${e.rows} rows${e.deleted ? `, ${e.deleted} deleted` : ''}${e.swept ? `, ${e.swept} swept` : ''}${e.last ? ' (end of pass)' : ''}`)),
        job.on('retry', (e) => output.err(`  retry ${e.attempt} of ${e.url} in ${Math.round(e.delayMs)} ms${e.status ? ` (HTTP ${e.status})` : e.error ? ` (${e.error})` : ''}`)),
        job.on('lock-wait', () => output.err('  another instance runs this job: waiting for it')),
      ];
      await job.start();
      try {
        return await job.run({ full: options.full === true });
      } finally {
        off.forEach((f) => f());
        await job.close();
      }
    });
    return report(result, output);
  } finally {
    await tsx.unregister();
  }
}

function report(result: RunResult, output: Output): number {
  const total = result.streams.reduce((a, s) => ({ pages: a.pages + s.pages, rows: a.rows + s.rows, deleted: a.deleted + s.deleted }), { pages: 0, rows: 0, deleted: 0 });
  output.out(`sync ${result.job}: ${result.status}: ${total.pages} pages, ${total.rows} rows, ${total.deleted} deleted${result.runId !== undefined ? ` (run ${result.runId})` : ''}`);
  for (const s of result.streams) if (s.error) output.err(`  ${s.stream}: ${s.error}`);
  return result.status === 'succeeded' || result.status === 'skipped' ? 0 : 1;
}

interface JobStatus {
  job: string;
  lastRun: Record<string, unknown> | null;
  lastSuccess: string | null;
  lagSeconds: number | null;
  streams: { stream: string; checkpoint: unknown; checkpointBytes: number; updatedAt: string | null }[];
}

/** `backdev sync status`: per job, the last run, its streams' checkpoints and the lag; dead letters of the outbox. */
export async function runSyncStatus(options: SyncCommandOptions & { json?: boolean | undefined }, output: Output): Promise<void> {
  const cwd = path.resolve(options.cwd ?? process.cwd());
  const { root, dataDir } = project(cwd);
  const status = await openDatabase(options, dataDir, async (db) => {
    await requireSyncTables(db);
    const runs = await sql<{ id: number; job: string; mode: string; status: string; started_at: Date; finished_at: Date | null; pages: number; rows: number; errors: number; last_error: string | null }>`
      select distinct on (job) id, job, mode, status, started_at, finished_at, pages, rows, errors, last_error
      from backdev_sync_runs order by job, id desc`.execute(db);
    const successes = await sql<{ job: string; finished_at: Date }>`
      select job, max(finished_at) as finished_at from backdev_sync_runs where status = 'succeeded' group by job`.execute(db);
    const states = await sql<{ job: string; stream: string; state: unknown; updated_at: Date | null }>`
      select job, stream, state, updated_at from backdev_sync_state order by job, stream`.execute(db);
    const jobs = [...new Set([...projectJobs(root), ...runs.rows.map((r) => r.job), ...states.rows.map((s) => s.job)])].sort();
    const now = Date.now();
    const out: JobStatus[] = jobs.map((job) => {
      const run = runs.rows.find((r) => r.job === job);
      const success = successes.rows.find((s) => s.job === job)?.finished_at;
      return {
        job,
        lastRun: run
          ? { id: Number(run.id), mode: run.mode, status: run.status, startedAt: new Date(run.started_at).toISOString(), finishedAt: run.finished_at ? new Date(run.finished_at).toISOString() : null, pages: Number(run.pages), rows: Number(run.rows), errors: Number(run.errors), lastError: run.last_error }
          : null,
        lastSuccess: success ? new Date(success).toISOString() : null,
        lagSeconds: success ? Math.round((now - new Date(success).getTime()) / 1000) : null,
        streams: states.rows
          .filter((s) => s.job === job)
          .map((s) => {
            const checkpoint = typeof s.state === 'string' ? JSON.parse(s.state) : s.state;
            return { stream: s.stream, checkpoint, checkpointBytes: Buffer.byteLength(JSON.stringify(checkpoint)), updatedAt: s.updated_at ? new Date(s.updated_at).toISOString() : null };
          }),
      };
    });
    let deadLetters: { count: number; recent: { id: number; lastError: string | null; deadAt: string | null }[] } | null = null;
    if (await tableExists(db, 'backdev_outbox')) {
      const dead = await sql<{ n: string }>`select count(*)::text as n from backdev_outbox where status = 'dead'`.execute(db);
      const recent = await sql<{ id: number; last_error: string | null; dead_at: Date | null }>`
        select id, last_error, dead_at from backdev_outbox where status = 'dead' order by dead_at desc nulls last limit 5`.execute(db);
      deadLetters = { count: Number(dead.rows[0]?.n ?? 0), recent: recent.rows.map((r) => ({ id: Number(r.id), lastError: r.last_error, deadAt: r.dead_at ? new Date(r.dead_at).toISOString() : null })) };
    }
    return { jobs: out, deadLetters };
  });
  if (options.json) {
    output.out(JSON.stringify(status));
    return;
  }
  if (status.jobs.length === 0) output.out('sync status: no jobs yet (add one with `backdev add-sync`)');
  for (const j of status.jobs) {
    const r = j.lastRun as { id: number; mode: string; status: string; startedAt: string; finishedAt: string | null; pages: number; rows: number; errors: number; lastError: string | null } | null;
    output.out(`${j.job}: ${r ? `last run ${r.id} ${r.status} (${r.mode}, started ${r.startedAt}${r.finishedAt ? `, finished ${r.finishedAt}` : ''}): ${r.pages} pages, ${r.rows} rows, ${r.errors} errors` : 'never run'}`);
    if (r?.lastError) output.out(`  last error: ${r.lastError}`);
    output.out(`  lag: ${j.lagSeconds === null ? 'no successful run yet' : `${j.lagSeconds}s since the last successful run (${j.lastSuccess})`}`);
    for (const s of j.streams) output.out(`  ${s.stream}: checkpoint ${JSON.stringify(s.checkpoint)} (${s.checkpointBytes} bytes${s.updatedAt ? `, ${s.updatedAt}` : ''})`);
  }
  if (status.deadLetters) {
    output.out(`outbox: ${status.deadLetters.count} dead letter(s)`);
    for (const d of status.deadLetters.recent) output.out(`  #${d.id}${d.deadAt ? ` at ${d.deadAt}` : ''}: ${d.lastError ?? '(no error recorded)'}`);
  }
}
