/**
 * The pull crash scenario, shared by the test (bounded) and `npm run chaos:sync` (longer): a throwaway
 * database on the PostgreSQL server, the fake API changing under the sync and failing at random (429 with
 * Retry-After in both forms, 500), and the sync process (pull-crash-child.ts) killed with SIGKILL at random
 * points and started again. Then, with the changes stopped, two runs to completion, and the tables are
 * compared with the source.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { sql } from 'kysely';
import pg from 'pg';
import { createDatabase } from '../../../runtime/db/index.js';
import { ensureSyncPullTables } from '../../../runtime/sync/index.js';
import { childCommand, type ChildCommand } from '../../child-command.js';
import { earlyRequests, seeded, startFakeApi, type IssuedPause, type ResourceName } from './pull-fake-api.js';
import { compareWithSource, createPullTables, dropDatabaseWhenFree, type Comparison } from './pull-streams.js';

export interface CrashOptions {
  kills: number;
  seed: number;
  counts: Record<ResourceName, number>;
  /** Kill this long (uniform, ms) after the child holds the lock. */
  killWithinMs?: number;
  /** How often the source changes during the kill phase (ms). */
  mutateEveryMs?: number;
  rate429?: number;
  rate500?: number;
  serverUrl?: string;
  log?: (line: string) => void;
}

export interface CrashReport {
  kills: number;
  /** Runs that finished (exit 0) during the kill phase. */
  completedRuns: number;
  failedRuns: number;
  records: number;
  comparison: Record<ResourceName, Comparison> & { total: Comparison };
  maxCheckpointBytes: number;
  requests: number;
  r429: number;
  r500: number;
  pausesIssued: number;
  /** Pauses handed out as delay-seconds and as HTTP dates. */
  pausesByForm: { seconds: number; date: number };
  /** Pauses whose process died before it had stored them (a restarted process cannot know of them). */
  pausesLost: number;
  early: { own: number; others: number; examples: string[] };
  seconds: number;
  /** From spawning the sync process to its holding the lock (median). */
  medianStartupMs: number;
}

const CHILD = fileURLToPath(new URL('./pull-crash-child.ts', import.meta.url));

function startChild(args: string[], env: Record<string, string>): { child: ChildProcess; ready: Promise<boolean>; exit: Promise<number | null>; output: () => string } {
  const child = spawn(process.execPath, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let onReady!: (ok: boolean) => void;
  const ready = new Promise<boolean>((resolve) => (onReady = resolve));
  child.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
    if (out.includes('ready\n')) onReady(true);
  });
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  void exit.then(() => onReady(false));
  return { child, ready, exit, output: () => out };
}

export async function runCrashScenario(o: CrashOptions): Promise<CrashReport> {
  const started = Date.now();
  const log = o.log ?? (() => {});
  const server = o.serverUrl ?? process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
  const name = `bd_sync_crash_${process.pid}_${Math.floor(Math.random() * 1e6)}`;
  const admin = new pg.Client({ connectionString: server });
  await admin.connect();
  await admin.query(`create database ${name}`);
  const url = new URL(server);
  url.pathname = `/${name}`;
  const api = await startFakeApi({ counts: o.counts, seed: o.seed, rate429: o.rate429 ?? 0.03, rate500: o.rate500 ?? 0.03 });
  const db = createDatabase<any>({ url: url.href, poolSize: 2 });
  const rnd = seeded(o.seed + 1);
  const lost = new Set<IssuedPause>();
  let mutator: NodeJS.Timeout | undefined;
  let command: ChildCommand | undefined;
  try {
    await createPullTables(db);
    await ensureSyncPullTables(db);
    const env = { SYNC_DB: url.href, SYNC_API: api.url };
    command = await childCommand(CHILD);
    const args = command.args;
    let kills = 0;
    let completedRuns = 0;
    let failedRuns = 0;
    let maxCheckpointBytes = 0;
    const startupMs: number[] = [];
    const checkpointBytes = async () => {
      const { rows } = await sql<{ n: number | null }>`select max(octet_length(state::text))::int as n from backdev_sync_state`.execute(db);
      maxCheckpointBytes = Math.max(maxCheckpointBytes, rows[0]?.n ?? 0);
    };
    mutator = setInterval(() => api.mutate(), o.mutateEveryMs ?? 25);
    while (kills < o.kills) {
      const spawned = Date.now();
      const run = startChild(args, env);
      const ready = await run.ready;
      startupMs.push(Date.now() - spawned);
      if (!ready) {
        const code = await run.exit;
        if (code === 0) completedRuns++;
        else {
          failedRuns++;
          log(`run failed before starting (exit ${code}): ${run.output().slice(-800)}`);
        }
        continue;
      }
      const after = rnd() * (o.killWithinMs ?? 700);
      const timer = new Promise<'kill'>((resolve) => setTimeout(() => resolve('kill'), after));
      const first = await Promise.race([timer, run.exit.then(() => 'exit' as const)]);
      if (first === 'kill' && run.child.exitCode === null && run.child.signalCode === null) {
        run.child.kill('SIGKILL');
        await run.exit;
        kills++;
        // Pauses handed to the killed process that it had not stored yet: nobody can honour them.
        const { rows } = await sql<{ until: Date }>`select until from backdev_sync_pauses where upstream = 'fake'`.execute(db);
        const stored = rows[0] ? new Date(rows[0].until).getTime() : -Infinity;
        for (const p of api.pauses) if (p.instance === String(run.child.pid) && p.notBefore > stored && p.notBefore > p.issuedAt) lost.add(p);
        if (kills % 10 === 0) log(`${kills} kills, ${completedRuns} runs completed`);
      } else {
        const code = await run.exit;
        if (code === 0) completedRuns++;
        else {
          failedRuns++;
          log(`run failed (exit ${code}): ${run.output().slice(-800)}`);
        }
      }
      await checkpointBytes();
    }
    clearInterval(mutator);
    mutator = undefined;
    // The source stands still: one run finishes the passes begun under the changes, a second does whole new ones.
    for (let i = 0; i < 2; i++) {
      const run = startChild(args, env);
      const code = await run.exit;
      if (code !== 0) throw new Error(`final run ${i + 1} failed (exit ${code}): ${run.output().slice(-2000)}`);
      await checkpointBytes();
    }
    const comparison = await compareWithSource(db, api);
    return {
      kills,
      completedRuns,
      failedRuns,
      records: comparison.total.source,
      comparison,
      maxCheckpointBytes,
      requests: api.counts.requests,
      r429: api.counts.r429,
      r500: api.counts.r500,
      pausesIssued: api.pauses.length,
      pausesByForm: { seconds: api.pauses.filter((p) => p.form === 'seconds').length, date: api.pauses.filter((p) => p.form === 'date').length },
      pausesLost: lost.size,
      early: earlyRequests(api, lost),
      seconds: Math.round((Date.now() - started) / 100) / 10,
      medianStartupMs: [...startupMs].sort((a, b) => a - b)[Math.floor(startupMs.length / 2)] ?? 0,
    };
  } finally {
    if (mutator) clearInterval(mutator);
    command?.dispose();
    await db.destroy();
    await api.close();
    await dropDatabaseWhenFree(admin, name);
    await admin.end();
  }
}

export interface TakeoverReport {
  /** The second instance was started while the first ran and had not begun after this long. */
  waitedMs: number;
  secondStartedWhileFirstRan: boolean;
  /** The second said it was waiting for the job's lock (its `lock-wait` event). */
  secondWaitedForLock: boolean;
  /** From the SIGKILL of the first to the second holding the lock. */
  takeoverMs: number;
  secondExit: number | null;
  comparison: Record<ResourceName, Comparison> & { total: Comparison };
}

/**
 * Two instances of the same job: the second waits while the first runs; the first is killed with SIGKILL
 * and the second takes over, finishes the passes and leaves the tables equal to the source.
 */
export async function runTakeoverScenario(o: { seed: number; counts: Record<ResourceName, number>; serverUrl?: string }): Promise<TakeoverReport> {
  const server = o.serverUrl ?? process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
  const name = `bd_sync_takeover_${process.pid}_${Math.floor(Math.random() * 1e6)}`;
  const admin = new pg.Client({ connectionString: server });
  await admin.connect();
  await admin.query(`create database ${name}`);
  const url = new URL(server);
  url.pathname = `/${name}`;
  const api = await startFakeApi({ counts: o.counts, seed: o.seed });
  const db = createDatabase<any>({ url: url.href, poolSize: 2 });
  let command: ChildCommand | undefined;
  const children: ChildProcess[] = [];
  try {
    await createPullTables(db);
    await ensureSyncPullTables(db);
    command = await childCommand(CHILD);
    const args = command.args;
    // Small pages: the first instance is still running when the second comes.
    const env = { SYNC_DB: url.href, SYNC_API: api.url, SYNC_PAGE: '20' };
    const first = startChild(args, env);
    children.push(first.child);
    if (!(await first.ready)) throw new Error(`the first instance did not start: ${first.output().slice(-1000)}`);
    const second = startChild(args, env);
    children.push(second.child);
    let secondReady = false;
    void second.ready.then((ok) => (secondReady = ok));
    // Until the second says it waits for the lock (it may take a while to start on a loaded machine), then a little longer.
    const since = Date.now();
    while (!second.output().includes('waiting\n') && first.child.exitCode === null && Date.now() - since < 30_000) await new Promise((resolve) => setTimeout(resolve, 20));
    const secondWaitedForLock = second.output().includes('waiting\n');
    await new Promise((resolve) => setTimeout(resolve, 500));
    const waitedMs = Date.now() - since;
    const secondStartedWhileFirstRan = secondReady;
    const firstStillRunning = first.child.exitCode === null;
    if (!firstStillRunning) throw new Error('the first instance finished before the second was checked: use more records');
    first.child.kill('SIGKILL');
    const killedAt = Date.now();
    await first.exit;
    const tookOver = await second.ready;
    const takeoverMs = tookOver ? Date.now() - killedAt : -1;
    const secondExit = await second.exit;
    return { waitedMs, secondStartedWhileFirstRan, secondWaitedForLock, takeoverMs, secondExit, comparison: await compareWithSource(db, api) };
  } finally {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    command?.dispose();
    await db.destroy();
    await api.close();
    await dropDatabaseWhenFree(admin, name);
    await admin.end();
  }
}
