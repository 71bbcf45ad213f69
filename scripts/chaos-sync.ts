/**
 * `npm run chaos:sync`: the pull crash scenario of test/runtime/sync/pull-crash.test.ts, longer. Env:
 * CHAOS_SYNC_KILLS (default 200), CHAOS_SYNC_SEED (default: the time), CHAOS_SYNC_RECORDS (per list,
 * default 5000). Exits 1 when the tables differ from the source, a request came before a Retry-After
 * expired or a checkpoint reached 4 KB.
 */
import { runCrashScenario } from '../test/runtime/sync/pull-crash.js';

const kills = Number(process.env.CHAOS_SYNC_KILLS ?? 200);
const seed = Number(process.env.CHAOS_SYNC_SEED ?? Date.now() % 1e9);
const per = Number(process.env.CHAOS_SYNC_RECORDS ?? 5000);
console.log(`chaos sync: ${kills} kills, seed ${seed}, ${per} records per list`);
const report = await runCrashScenario({
  kills,
  seed,
  counts: { customers: per, products: per, orders: per, tickets: per },
  killWithinMs: 1500,
  log: (line) => console.log(`  ${line}`),
});
const t = report.comparison.total;
console.log(
  `chaos sync: ${report.kills} kills, ${report.completedRuns} runs completed between kills, ${report.failedRuns} failed; ` +
    `${report.records} records, ${t.rows} rows: ${t.duplicates} duplicates, ${t.missing} missing, ${t.extra} extra, ${t.stale} stale; ` +
    `${report.requests} requests, ${report.r429} 429 (${report.pausesByForm.seconds} Retry-After in seconds, ${report.pausesByForm.date} as dates; ${report.pausesLost} lost in a kill), ${report.r500} 500; ` +
    `early requests: ${report.early.own} own, ${report.early.others} after a restart; max checkpoint ${report.maxCheckpointBytes} bytes; ${report.seconds} s (process start to lock: ${report.medianStartupMs} ms median)`,
);
for (const e of report.early.examples) console.log(`  early: ${e}`);
const ok = t.duplicates === 0 && t.missing === 0 && t.extra === 0 && t.stale === 0 && report.early.own === 0 && report.early.others === 0 && report.maxCheckpointBytes < 4096 && report.failedRuns === 0;
process.exitCode = ok ? 0 : 1;
