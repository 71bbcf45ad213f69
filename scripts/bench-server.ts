/**
 * `npm run bench:server`: a generated server against the same two routes served three other ways, all up at
 * once on free ports, loaded one at a time by autocannon in a separate process:
 *
 *   generated  a project made by `backdev init --spec scripts/lib/bench-server/openapi.json`, handlers filled
 *              in, built with its `npm run build` and run as its `npm start` does (node dist/src/server.js)
 *   fastify    the routes hand-written in plain Fastify 5 with the spec's schemas (scripts/lib/bench-server/fastify.mjs)
 *   glue       fastify-openapi-glue over the spec (glue.mjs)
 *   express    Express 5 + express-openapi-validator over the spec (express.mjs)
 *
 * The routes: POST /items (a JSON body validated against a schema, 201 with the stored item) and
 * GET /items/7?tags=a&tags=b (an integer path parameter and an array query parameter). Request logs are off
 * (LOG_LEVEL=warn) for the comparison, tracing off (NODE_ENV=production, TRACING=off). Two more servers
 * measure logging at the default level (info): the generated one (one line per request) and the hand-written
 * Fastify one (Fastify's default: two lines per request).
 *
 * Each round loads every server on each route for BENCH_SECONDS; the order of the servers rotates (and
 * reverses every other round) so that the machine's drifting load hits all alike. Per server and route:
 * median requests per second and median server CPU per request (CPU time of the server's process from
 * /proc/<pid>/stat over the run, divided by the responses it sent).
 *
 *   bench server-post: <r>x fastify (…)
 *
 * <r> is the baseline's median CPU µs per request divided by the generated server's: how many requests the
 * generated server answers for each one the baseline answers with the same CPU, i.e. its relative
 * throughput on a machine busy with nothing else. ≥ 1 means the generated server is cheaper; the target
 * "≥ 0.95× hand-written Fastify" is r ≥ 0.95 on `bench server-post` and `bench server-get`, and "≥ 5× Express"
 * is r ≥ 5 on `bench server-post-express` and `bench server-get-express`.
 *
 * Options (environment): BENCH_ROUNDS (default 5), BENCH_SECONDS (default 3), BENCH_CONNECTIONS (default
 * 50), BENCH_LOGS=off (skip the two servers with request logs), BENCH_KEEP=1 (keep the generated project,
 * for `--cpu-prof`).
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { memoryOutput } from '../generators/core/report.js';
import { runInit } from '../generators/index.js';
import { REPO_ROOT } from './lib/paths.js';
import { describeExit, run } from './lib/proc.js';
import { cpuMs, freePort, median, startServer, stopServer, type ChildServer } from './lib/serve.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const LOGS = process.env.BENCH_LOGS !== 'off';
const LIB = path.join(REPO_ROOT, 'scripts/lib/bench-server');
const SPEC = path.join(LIB, 'openapi.json');
const AUTOCANNON = path.join(REPO_ROOT, 'node_modules/autocannon/autocannon.js');

interface Route {
  name: 'post' | 'get';
  method: 'POST' | 'GET';
  path: string;
  body?: string;
  status: number;
  /** The body every server must answer with. */
  expected: unknown;
}

const ROUTES: readonly Route[] = [
  {
    name: 'post',
    method: 'POST',
    path: '/items',
    body: JSON.stringify({ name: 'widget', price: 9.5, tags: ['a', 'b'] }),
    status: 201,
    expected: { id: 1, name: 'widget', price: 9.5, tags: ['a', 'b'] },
  },
  { name: 'get', method: 'GET', path: '/items/7?tags=a&tags=b', status: 200, expected: { id: 7, name: 'item', price: 9.5, tags: ['a', 'b'] } },
];

/** The generated project's handlers: the same work as the other servers' handlers. */
const HANDLERS = `import type { Handlers } from '../generated/handlers.gen.js';

export const createItem: Handlers['createItem'] = async ({ body }) => {
  return { status: 201, body: { id: 1, name: body.name, price: body.price, tags: body.tags ?? [] } };
};

export const getItem: Handlers['getItem'] = async ({ params, query }) => {
  return { status: 200, body: { id: params.itemId, name: 'item', price: 9.5, tags: query.tags ?? [] } };
};
`;

async function must(command: string, args: string[], cwd: string): Promise<void> {
  const r = await run(command, args, { cwd, timeoutMs: 300_000 });
  if (r.code !== 0) throw new Error(`${command} ${args.join(' ')} failed (${describeExit(r.code, r.signal)}):\n${r.stdout}${r.stderr}`);
}

/** A project made by `init` from the bench spec, with its handlers, built as `npm run build` builds it. */
async function generatedProject(dir: string): Promise<void> {
  await runInit({ dir, spec: SPEC, force: true }, memoryOutput());
  // backdev resolves to this checkout, the rest from its node_modules (the project sits under it); the
  // project's `tsc` is TypeScript 7, as in its package.json.
  mkdirSync(path.join(dir, 'node_modules/.bin'), { recursive: true });
  symlinkSync(REPO_ROOT, path.join(dir, 'node_modules/backdev'), 'dir');
  symlinkSync(path.join(REPO_ROOT, 'node_modules/typescript-7/bin/tsc'), path.join(dir, 'node_modules/.bin/tsc'));
  writeFileSync(path.join(dir, 'src/handlers/items.ts'), HANDLERS);
  await must('npm', ['run', 'build'], dir);
}

interface Load {
  rate: number;
  responses: number;
}

/** `CONNECTIONS` keep-alive connections on `route` for `seconds`, from an autocannon process. */
async function load(port: number, route: Route, seconds: number): Promise<Load> {
  const args = [AUTOCANNON, '-j', '-c', String(CONNECTIONS), '-d', String(seconds), '-m', route.method];
  if (route.body) args.push('-H', 'content-type=application/json', '-b', route.body);
  args.push(`http://127.0.0.1:${port}${route.path}`);
  const r = await run(process.execPath, args, { timeoutMs: (seconds + 30) * 1000 });
  if (r.code !== 0) throw new Error(`autocannon failed (${describeExit(r.code, r.signal)}): ${r.stderr}`);
  const result = JSON.parse(r.stdout) as { '2xx': number; non2xx: number; errors: number; timeouts: number; duration: number };
  if (result.non2xx || result.errors || result.timeouts) {
    throw new Error(`${route.method} ${route.path} on port ${port}: ${result.non2xx} non-2xx, ${result.errors} errors, ${result.timeouts} timeouts`);
  }
  return { rate: result['2xx'] / result.duration, responses: result['2xx'] };
}

/** Every server answers each route with the same status and body, and refuses an invalid body with 400. */
async function check(server: ChildServer): Promise<void> {
  for (const route of ROUTES) {
    const res = await fetch(`http://127.0.0.1:${server.port}${route.path}`, {
      method: route.method,
      ...(route.body ? { body: route.body, headers: { 'content-type': 'application/json' } } : {}),
    });
    const body = (await res.json()) as unknown;
    if (res.status !== route.status || JSON.stringify(body) !== JSON.stringify(route.expected)) {
      throw new Error(`${server.label}: ${route.method} ${route.path} answered ${res.status} ${JSON.stringify(body)}`);
    }
  }
  const invalid = await fetch(`http://127.0.0.1:${server.port}/items`, {
    method: 'POST',
    body: JSON.stringify({ name: '', price: -1 }),
    headers: { 'content-type': 'application/json' },
  });
  await invalid.arrayBuffer();
  if (invalid.status !== 400) throw new Error(`${server.label}: an invalid body answered ${invalid.status}, not 400`);
}

interface Sample {
  rate: number[];
  cpu: number[];
  responses: number;
  lines: number;
}

async function main(): Promise<void> {
  mkdirSync(path.join(REPO_ROOT, '.tmp'), { recursive: true });
  const dir = mkdtempSync(path.join(REPO_ROOT, '.tmp', 'bench-server-'));
  const servers: ChildServer[] = [];
  try {
    await generatedProject(dir);
    const quiet = { NODE_ENV: 'production', TRACING: 'off', LOG_LEVEL: 'warn' };
    const start = async (label: string, cwd: string, script: string, args: string[], env: Record<string, string>) => {
      const port = await freePort();
      const server = await startServer(label, port, process.execPath, [script, ...args], {
        cwd,
        env: { ...process.env, ...env, PORT: String(port), HOST: '127.0.0.1' },
        probePath: '/items/1',
      });
      servers.push(server);
      await check(server);
      return server;
    };
    const dataDir = (name: string) => ({ DATA_DIR: path.join(dir, '.data', name) });
    await start('generated', dir, 'dist/src/server.js', ['--migrate'], { ...quiet, ...dataDir('generated') });
    await start('fastify', LIB, 'fastify.mjs', [], quiet);
    await start('glue', LIB, 'glue.mjs', [], quiet);
    await start('express', LIB, 'express.mjs', [], quiet);
    if (LOGS) {
      await start('generated-logs', dir, 'dist/src/server.js', ['--migrate'], { ...quiet, ...dataDir('generated-logs'), LOG_LEVEL: 'info' });
      await start('fastify-logs', LIB, 'fastify.mjs', [], { ...quiet, LOG_LEVEL: 'info' });
    }

    const samples = new Map<string, Sample>();
    for (const route of ROUTES) {
      for (const s of servers) {
        samples.set(`${route.name} ${s.label}`, { rate: [], cpu: [], responses: 0, lines: 0 });
        await load(s.port, route, 2); // warm-up: JIT, connections
      }
    }
    for (let round = 0; round < ROUNDS; round++) {
      const rotated = servers.map((_, i) => servers[(i + round) % servers.length]!);
      const order = round % 2 === 0 ? rotated : rotated.reverse();
      for (const route of ROUTES) {
        for (const s of order) {
          const before = cpuMs(s.child.pid);
          const lines = s.stdoutLines();
          const { rate, responses } = await load(s.port, route, SECONDS);
          const after = cpuMs(s.child.pid);
          const sample = samples.get(`${route.name} ${s.label}`)!;
          sample.rate.push(rate);
          sample.responses += responses;
          sample.lines += s.stdoutLines() - lines;
          if (before !== undefined && after !== undefined) sample.cpu.push(((after - before) * 1000) / responses);
          process.stderr.write(
            `  round ${round + 1} ${route.name} ${s.label}: ${rate.toFixed(0)} req/s${after !== undefined ? `, ${sample.cpu.at(-1)!.toFixed(0)} µs CPU/request` : ''}\n`,
          );
        }
      }
    }

    const cpuOf = (route: Route, label: string) => median(samples.get(`${route.name} ${label}`)!.cpu);
    const rateOf = (route: Route, label: string) => median(samples.get(`${route.name} ${label}`)!.rate);
    const how = `median CPU µs per request of ${ROUNDS} interleaved rounds of ${SECONDS} s, ${CONNECTIONS} connections`;
    for (const route of ROUTES) {
      for (const s of servers) {
        const sample = samples.get(`${route.name} ${s.label}`)!;
        const lines = `, ${(sample.lines / sample.responses).toFixed(2)} log lines/request`;
        console.log(`bench server ${route.name} ${s.label}: ${rateOf(route, s.label).toFixed(0)} req/s, ${sample.cpu.length ? cpuOf(route, s.label).toFixed(1) : '?'} µs CPU/request${lines}`);
      }
    }
    if (!samples.get(`post generated`)!.cpu.length) {
      console.log('bench server: no CPU figures (/proc is not available); compare the req/s above');
      return;
    }
    for (const route of ROUTES) {
      const generated = cpuOf(route, 'generated');
      // The same ratio within each round (the two runs minutes apart at most), for a second look at the noise.
      const paired = (baseline: string) => {
        const mine = samples.get(`${route.name} generated`)!.cpu;
        return median(samples.get(`${route.name} ${baseline}`)!.cpu.map((c, i) => c / mine[i]!));
      };
      const line = (suffix: string, baseline: string, name: string) =>
        console.log(
          `bench server-${route.name}${suffix}: ${(cpuOf(route, baseline) / generated).toFixed(2)}x ${name} (${baseline} ${cpuOf(route, baseline).toFixed(1)} µs ÷ generated ${generated.toFixed(1)} µs, ${how}; median of the rounds' ratios ${paired(baseline).toFixed(2)}x; req/s ${(rateOf(route, 'generated') / rateOf(route, baseline)).toFixed(2)}x)`,
        );
      line('', 'fastify', 'fastify');
      line('-glue', 'glue', 'fastify-openapi-glue');
      line('-express', 'express', 'express');
      if (LOGS) {
        const on = cpuOf(route, 'generated-logs');
        const fastifyOn = cpuOf(route, 'fastify-logs');
        console.log(
          `bench server-${route.name}-logs: ${(fastifyOn / on).toFixed(2)}x fastify-logs (LOG_LEVEL=info: fastify-logs ${fastifyOn.toFixed(1)} µs ÷ generated-logs ${on.toFixed(1)} µs; logging costs the generated server ${((on / generated - 1) * 100).toFixed(0)}% CPU, hand-written Fastify ${((fastifyOn / cpuOf(route, 'fastify') - 1) * 100).toFixed(0)}%)`,
        );
      }
    }
  } finally {
    for (const s of servers) await stopServer(s);
    if (process.env.BENCH_KEEP === '1') console.error(`kept ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }
}

await main();
