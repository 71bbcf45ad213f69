/**
 * `npm run bench:tracing`: what tracing costs a generated server. One project made by `init` with a
 * table-backed resource (`create-api --endpoint products`), served twice at the same time on two ports,
 * each with its own embedded database: one as generated (tracing on, spans to .data/traces.jsonl), one with
 * TRACING=off. Rounds alternate between the two (on, off, off, on, …) so that drift of the machine's load
 * hits both alike; each round is a fixed time of keep-alive requests from a few concurrent clients to
 * GET /products/:id (one route span and one statement span per request), on PostgreSQL when DATABASE_URL is
 * set and on the embedded PGlite otherwise (the line `database …` says which). Prints each side's median
 * requests per second and their ratio, and (on Linux) the server's median CPU time per request, whose ratio
 * is what throughput would be on a machine busy with nothing else:
 *
 *   bench tracing: on <n> req/s, off <n> req/s (median of <r> rounds of <s> s, <c> connections), ratio 0.97× (…)
 *   bench tracing: server CPU per request on <n> µs, off <n> µs (medians): throughput at full load 0.95×
 *   bench tracing: 0.95x tracing off (server CPU per request; target 0.9)
 *
 * Options (environment): BENCH_ROUNDS (default 8 per side), BENCH_SECONDS (default 3), BENCH_CONNECTIONS
 * (default 16), BENCH_WARMUP (seconds of load on each server before the rounds, default 15). Logs are at
 * `warn` on both servers, so that the request logs do not hide the difference. The servers run this
 * checkout's built runtime (dist/): run `npm run build` after changing runtime/.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { Agent, request } from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { memoryOutput } from '../generators/core/report.js';
import { runInit } from '../generators/index.js';
import { hasAsyncContextFrame } from '../runtime/tracing/promise-context.js';
import { cpuMs, freePort, median } from './lib/serve.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 8);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 16);
// CPU per request keeps falling for 20 s or more after start (JIT, the embedded database's caches): a short
// warm-up mixes cold rounds into the medians.
const WARMUP_SECONDS = Number(process.env.BENCH_WARMUP ?? 15);

interface Running {
  label: string;
  port: number;
  child: ChildProcess;
  output: () => string;
}

function run(cmd: string, args: string[], cwd: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${args.join(' ')} failed (${code}): ${out}`))));
  });
}

async function serve(dir: string, label: string, port: number, env: Record<string, string>): Promise<Running> {
  let output = '';
  // tsx as a loader in the server's own process (its CLI would add a parent process), so that /proc shows
  // the server's CPU time.
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts', '--migrate'], {
    cwd: dir,
    env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  for (let i = 0; i < 300; i++) {
    if (child.exitCode !== null) throw new Error(`${label} server exited: ${output}`);
    try {
      await fetch(`http://127.0.0.1:${port}/docs/json`);
      return { label, port, child, output: () => output };
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error(`${label} server did not start: ${output}`);
}

/** Requests per second of GET `path` with `CONNECTIONS` keep-alive clients for `seconds`. */
async function load(port: number, urlPath: string, seconds: number): Promise<number> {
  const agent = new Agent({ keepAlive: true, maxSockets: CONNECTIONS });
  const end = performance.now() + seconds * 1000;
  let done = 0;
  const one = () =>
    new Promise<void>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path: urlPath, agent }, (res) => {
        if (res.statusCode !== 200) reject(new Error(`GET ${urlPath}: ${res.statusCode}`));
        res.resume();
        res.on('end', resolve);
      });
      req.on('error', reject);
      req.end();
    });
  const start = performance.now();
  await Promise.all(
    Array.from({ length: CONNECTIONS }, async () => {
      while (performance.now() < end) {
        await one();
        done++;
      }
    }),
  );
  const elapsed = (performance.now() - start) / 1000;
  agent.destroy();
  return done / elapsed;
}

async function stop(server: Running): Promise<void> {
  if (server.child.exitCode !== null) return;
  const exited = new Promise((r) => server.child.once('exit', r));
  server.child.kill('SIGTERM');
  await exited;
}

async function main(): Promise<void> {
  mkdirSync(path.join(repo, '.tmp'), { recursive: true });
  const dir = mkdtempSync(path.join(repo, '.tmp', 'bench-tracing-'));
  const servers: Running[] = [];
  try {
    await runInit({ dir, force: true }, memoryOutput());
    // backdev and the rest resolve from this checkout (the project sits under it), as in the e2e tests.
    mkdirSync(path.join(dir, 'node_modules'));
    symlinkSync(repo, path.join(dir, 'node_modules', 'backdev'), 'dir');
    await run(process.execPath, [path.join(repo, 'bin/backdev.js'), 'create-api', '--endpoint', 'products', '--fields', 'name:string price:number'], dir);

    const on = await serve(dir, 'on', await freePort(), { DATA_DIR: '.data/on', BACKDEV_TRACE_FILE: '.data/on.jsonl', TRACING: 'on' });
    servers.push(on);
    const off = await serve(dir, 'off', await freePort(), { DATA_DIR: '.data/off', BACKDEV_TRACE_FILE: '.data/off.jsonl', TRACING: 'off' });
    servers.push(off);
    const paths = new Map<Running, string>();
    for (const s of servers) {
      const res = await fetch(`http://127.0.0.1:${s.port}/products`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'widget', price: 9.5 }),
      });
      if (res.status !== 201) throw new Error(`seeding ${s.label}: ${res.status} ${await res.text()}`);
      paths.set(s, `/products/${String(((await res.json()) as { id: unknown }).id)}`);
      await load(s.port, paths.get(s)!, WARMUP_SECONDS); // warm-up: JIT, connections, the database's caches
    }

    // Throughput depends on whatever else the machine runs; the server's CPU time per request much less.
    // Both are measured, side by side in each round; the ratios compare paired rounds.
    const rates: Record<string, number[]> = { on: [], off: [] };
    const cpu: Record<string, number[]> = { on: [], off: [] };
    for (let round = 0; round < ROUNDS; round++) {
      // ABBA order: neither side always goes first.
      const order = round % 2 === 0 ? [on, off] : [off, on];
      for (const s of order) {
        const before = cpuMs(s.child.pid);
        const started = performance.now();
        const rate = await load(s.port, paths.get(s)!, SECONDS);
        const after = cpuMs(s.child.pid);
        const requests = (rate * (performance.now() - started)) / 1000;
        rates[s.label]!.push(rate);
        if (before !== undefined && after !== undefined) cpu[s.label]!.push(((after - before) * 1000) / requests);
        process.stderr.write(`  round ${round + 1} ${s.label}: ${rate.toFixed(0)} req/s${after !== undefined ? `, ${cpu[s.label]!.at(-1)!.toFixed(0)} µs CPU/request` : ''}\n`);
      }
    }
    const pairs = rates.on!.map((r, i) => r / rates.off![i]!);
    await stop(on); // writes out the queued spans
    await stop(off);
    if (existsSync(path.join(dir, '.data/off.jsonl'))) throw new Error('the server with TRACING=off wrote spans');
    const traceFile = path.join(dir, '.data/on.jsonl');
    const spans = readFileSync(traceFile, 'utf8').split('\n').filter(Boolean).length;
    const mOn = median(rates.on!);
    const mOff = median(rates.off!);
    console.log(
      `bench tracing: on ${mOn.toFixed(0)} req/s, off ${mOff.toFixed(0)} req/s (median of ${ROUNDS} rounds of ${SECONDS} s, ${CONNECTIONS} connections), ratio ${(mOn / mOff).toFixed(2)}× (median of the rounds' ratios ${median(pairs).toFixed(2)}×)`,
    );
    if (cpu.on!.length && cpu.off!.length) {
      const cOn = median(cpu.on!);
      const cOff = median(cpu.off!);
      console.log(`bench tracing: server CPU per request on ${cOn.toFixed(0)} µs, off ${cOff.toFixed(0)} µs (medians): throughput at full load ${(cOff / cOn).toFixed(2)}×`);
      console.log(`bench tracing: ${(cOff / cOn).toFixed(2)}x tracing off (server CPU per request; target 0.9)`);
    }
    // The database decides most of a request's cost, so the ratio means little without it.
    console.log(`bench tracing: database ${process.env.DATABASE_URL ? 'PostgreSQL (DATABASE_URL is set)' : 'the embedded PGlite (DATABASE_URL is not set)'}`);
    const contextMode = process.env.BACKDEV_TRACE_CONTEXT || (hasAsyncContextFrame() ? 'async-local-storage' : 'promise');
    console.log(
      `bench tracing: ${spans} spans written (${(statSync(traceFile).size / 1e6).toFixed(1)} MB) while on (the default settings: every request sampled, spans to the JSONL file; context manager ${contextMode})`,
    );
  } finally {
    for (const s of servers) await stop(s);
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
