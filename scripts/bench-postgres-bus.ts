/**
 * `npx tsx scripts/bench-postgres-bus.ts [--rounds=3] [--seconds=4] [--concurrency=16,256] [--listeners=3]
 * [--topics=4] [--variant=label=path/to/postgres-bus.ts …]`: publish throughput of the PostgreSQL bus
 * (runtime/broadcast/postgres-bus.ts), optionally against other builds of the same module (e.g. the
 * committed one copied aside), interleaved round by round in rotating order; medians printed.
 *
 * A round, per variant and concurrency: a fresh table prefix in a throwaway database (created on the server of
 * DATABASE_URL, default postgres://postgres@127.0.0.1:5432/test, and dropped at the end), `listeners` bus
 * instances receiving, one publishing instance with `concurrency` publishes in flight over `topics` topics
 * for `seconds`. Counted: publishes resolved (stored) per second, and whether every listener then delivered
 * every message (the run fails otherwise).
 *
 *   bench postgres-bus <variant> c=<concurrency>: <n> msg/s published (median of <rounds>; rounds …)
 */
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import pg from 'pg';
import type { Bus } from '../runtime/broadcast/bus.js';
import type { PostgresBusOptions } from '../runtime/broadcast/postgres-bus.js';

const args = process.argv.slice(2);
const arg = (name: string, fallback: string) => args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
const rounds = Number(arg('rounds', '3'));
const seconds = Number(arg('seconds', '4'));
const concurrencies = arg('concurrency', '16,256').split(',').map(Number);
const listenerCount = Number(arg('listeners', '3'));
const topicCount = Number(arg('topics', '4'));
const variants: Array<[string, string]> = [
  ['current', 'runtime/broadcast/postgres-bus.ts'],
  ...args.filter((a) => a.startsWith('--variant=')).map((a): [string, string] => {
    const [label, file] = a.slice('--variant='.length).split('=');
    return [label!, file!];
  }),
];

const SERVER_URL = process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test';
const database = `bench_pgbus_${randomUUID().slice(0, 8)}`;
const dbUrl = Object.assign(new URL(SERVER_URL), { pathname: `/${database}` }).toString();

async function admin(text: string): Promise<void> {
  const client = new pg.Client({ connectionString: SERVER_URL });
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}

type Factory = (options: PostgresBusOptions) => Bus;
const factories = new Map<string, Factory>();
for (const [label, file] of variants) {
  const module = (await import(pathToFileURL(path.resolve(file)).href)) as { createPostgresBus: Factory };
  factories.set(label, module.createPostgresBus);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function round(create: Factory, concurrency: number): Promise<number> {
  const tablePrefix = `b_${randomUUID().replaceAll('-', '').slice(0, 10)}`;
  const open = () => create({ db: dbUrl, tablePrefix, heartbeatMs: 0 });
  const publisher = open();
  await publisher.start();
  const listeners = Array.from({ length: listenerCount }, open);
  await Promise.all(listeners.map((b) => b.start()));
  const delivered = listeners.map(() => 0);
  listeners.forEach((b, i) => b.onMessage(() => delivered[i]!++));
  const topics = Array.from({ length: topicCount }, (_, i) => `bench.${i}`);
  let published = 0;
  const until = Date.now() + seconds * 1000;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async (_, w) => {
      for (let i = 0; Date.now() < until; i++) {
        await publisher.publish(topics[(w + i) % topics.length]!, JSON.stringify({ w, i, pad: 'x'.repeat(100) }));
        published++;
      }
    }),
  );
  const rate = published / ((performance.now() - started) / 1000);
  const deadline = Date.now() + 30_000;
  while (delivered.some((n) => n < published) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  await Promise.all([publisher, ...listeners].map((b) => b.close()));
  if (delivered.some((n) => n !== published)) throw new Error(`listeners delivered ${delivered.join(', ')} of ${published}`);
  return rate;
}

await admin(`CREATE DATABASE ${database}`);
try {
  const results = new Map<string, number[]>();
  let turn = 0;
  for (let r = 0; r < rounds; r++) {
    for (const concurrency of concurrencies) {
      const labels = [...factories.keys()];
      const order = labels.map((_, i) => labels[(i + turn) % labels.length]!);
      turn++;
      for (const label of order) {
        const rate = await round(factories.get(label)!, concurrency);
        const key = `${label} c=${concurrency}`;
        results.set(key, [...(results.get(key) ?? []), rate]);
        console.log(`round ${r + 1} ${key}: ${Math.round(rate)} msg/s`);
      }
    }
  }
  for (const [key, rates] of results) {
    console.log(`bench postgres-bus ${key}: ${Math.round(median(rates))} msg/s published (median of ${rates.length}; rounds ${rates.map(Math.round).join(', ')})`);
  }
} finally {
  await admin(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
}
