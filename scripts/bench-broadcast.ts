/**
 * `npm run bench:broadcast [-- --quick] [-- --clients=1000,5000] [-- --skip-slow | --only-slow] [-- --coalesce=off]`: fan-out
 * throughput and latency of the broadcast hub against a naive `ws` send loop and socket.io 4, all three
 * servers in this process, the load clients in 4 child processes (scripts/lib/bench-broadcast/load-client.ts).
 *
 * For each client count, every kind's clients stay connected; rounds run the kinds interleaved (rotating
 * order). In a round, one server publishes as fast as it can, one message per event-loop turn, holding
 * back while more than 8 MiB in total waits in its send queues (the same rule for the three, so none just
 * piles up memory); the clients count the messages received in the measurement window and sample the
 * latency (publish timestamp in the payload vs receive time). Reported: medians over the rounds.
 *
 * The naive server serializes each message once and sends that text to every client with `ws.send`, as the
 * ws documentation's broadcast does. The hub runs as shipped (default in-memory bus, history kept, resume
 * on, coalescing on; its clients subscribe with `batch: true` as the client helper does); `--coalesce=off`
 * runs it without coalescing, to see what that alone is worth.
 *
 *   bench broadcast-<clients>: <ratio>x naive-ws        (hub deliveries/s ÷ naive deliveries/s)
 *   bench broadcast-<clients>: <ratio>x socket.io
 *   bench broadcast-<clients>-<kind>: <n> deliveries/s, p50 <ms> ms, p99 <ms> ms, ..., <m> messages/frame
 *   bench broadcast-slow: ...                            (scripts/lib/bench-broadcast/slow.ts)
 */
import { fork, type ChildProcess } from 'node:child_process';
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { setImmediate as nextTurn } from 'node:timers/promises';
import Fastify, { type FastifyInstance } from 'fastify';
import { Server as SocketIoServer } from 'socket.io';
import WebSocket, { WebSocketServer } from 'ws';
import { createBroadcastHub, type BroadcastHub } from '../runtime/broadcast/index.js';
import type { FromClient, ServerKind, ToClient } from './lib/bench-broadcast/load-client.js';
import { runSlowScenario, type SlowScenarioOptions } from './lib/bench-broadcast/slow.js';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const clientCounts = (args.find((a) => a.startsWith('--clients='))?.slice('--clients='.length) ?? '1000,5000').split(',').map(Number);
const skipSlow = args.includes('--skip-slow');
const onlySlow = args.includes('--only-slow');
const rounds = quick ? 1 : 3;
const windowMs = quick ? 2000 : 4000;
const warmupMs = quick ? 300 : 700;
const PROCESSES = 4;
const QUEUE_LIMIT = 8 * 1024 * 1024;
const TOPIC = 'bench.fanout';
const KINDS = (args.find((a) => a.startsWith('--kinds='))?.slice('--kinds='.length).split(',') ?? ['hub', 'naive', 'socketio']) as ServerKind[];
const LABEL: Record<ServerKind, string> = { hub: 'hub', naive: 'naive-ws', socketio: 'socket.io' };
const coalesce = !args.includes('--coalesce=off');

/** A typical change event (~200 bytes as JSON). */
const payload = (seq: number) => ({
  t: performance.timeOrigin + performance.now(),
  seq,
  type: 'pets.updated',
  id: 4711 + (seq % 100),
  name: 'Rex the third',
  status: 'available',
  tags: ['dog', 'friendly', 'vaccinated'],
  updatedAt: '2026-11-30T12:00:00.000Z',
});

// ---- servers ------------------------------------------------------------------------------------------

interface Servers {
  app: FastifyInstance;
  hub: BroadcastHub;
  wss: WebSocketServer;
  http: HttpServer;
  io: SocketIoServer;
  urls: Record<ServerKind, string>;
}

async function startServers(): Promise<Servers> {
  const app = Fastify({ logger: false });
  const hub = createBroadcastHub({ coalesce }); // in-memory bus with its default history: resume on
  await hub.register(app, { path: '/ws' });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
  const http = createServer();
  const io = new SocketIoServer(http, { transports: ['websocket'], perMessageDeflate: false, serveClient: false });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', () => resolve()));
  const port = (s: { address(): AddressInfo | string | null }) => (s.address() as AddressInfo).port;
  return {
    app,
    hub,
    wss,
    http,
    io,
    urls: { hub: `ws://127.0.0.1:${port(app.server)}/ws`, naive: `ws://127.0.0.1:${port(wss)}`, socketio: `http://127.0.0.1:${port(http)}` },
  };
}

/** Bytes waiting in the server's send queues (what each server lets pile up). */
function queued(servers: Servers, kind: ServerKind): number {
  if (kind === 'hub') return servers.hub.stats().bufferedBytes;
  let total = 0;
  if (kind === 'naive') {
    for (const client of servers.wss.clients) total += client.bufferedAmount;
    return total;
  }
  for (const socket of servers.io.of('/').sockets.values()) {
    const conn = socket.conn as unknown as { writeBuffer?: unknown[]; transport?: { socket?: WebSocket } };
    total += (conn.transport?.socket?.bufferedAmount ?? 0) + (conn.writeBuffer?.length ?? 0) * 256;
  }
  return total;
}

/** The naive server: the message serialized once, then one `ws.send` per client. */
function naiveBroadcast(wss: WebSocketServer, data: unknown): void {
  const text = JSON.stringify(data);
  for (const client of wss.clients) if (client.readyState === WebSocket.OPEN) client.send(text);
}

async function publishOne(servers: Servers, kind: ServerKind, seq: number): Promise<void> {
  const data = payload(seq);
  if (kind === 'hub') await servers.hub.publish(TOPIC, data);
  else if (kind === 'naive') naiveBroadcast(servers.wss, data);
  else servers.io.emit('m', data);
}

/** Publishes until `stop()`; returns how many messages it published. */
function publishLoop(servers: Servers, kind: ServerKind): { stop(): Promise<number> } {
  let running = true;
  let seq = 0;
  const done = (async () => {
    while (running) {
      if (queued(servers, kind) > QUEUE_LIMIT) {
        await new Promise((resolve) => setTimeout(resolve, 1));
        continue;
      }
      await publishOne(servers, kind, seq++);
      await nextTurn();
    }
    return seq;
  })();
  return {
    stop: () => {
      running = false;
      return done;
    },
  };
}

// ---- load-client processes ----------------------------------------------------------------------------

const loadClientFile = fileURLToPath(new URL('./lib/bench-broadcast/load-client.ts', import.meta.url));

class LoadProcess {
  readonly child: ChildProcess;
  constructor() {
    this.child = fork(loadClientFile, [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  }

  request<C extends FromClient['cmd']>(message: ToClient, reply?: C): Promise<Extract<FromClient, { cmd: C }> | undefined> {
    return new Promise((resolve, reject) => {
      if (!reply) {
        this.child.send(message);
        return resolve(undefined);
      }
      const onMessage = (m: FromClient) => {
        if (m.cmd === 'error') {
          this.child.off('message', onMessage);
          return reject(new Error(`load client: ${m.message}`));
        }
        if (m.cmd !== reply) return;
        this.child.off('message', onMessage);
        resolve(m as Extract<FromClient, { cmd: C }>);
      };
      this.child.on('message', onMessage);
      this.child.send(message);
    });
  }
}

// ---- measuring ----------------------------------------------------------------------------------------

interface Sample {
  rate: number;
  /** Messages per WebSocket frame received (above 1: coalesced). */
  perFrame: number;
  p50: number;
  p99: number;
  gaps: number;
  /** CPU used during the window, in % of one core: the servers' process, all load clients together. */
  serverCpu: number;
  clientCpu: number;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};
const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function measure(servers: Servers, procs: LoadProcess[], kind: ServerKind): Promise<Sample> {
  const loop = publishLoop(servers, kind);
  await sleep(warmupMs);
  await Promise.all(procs.map((p) => p.request({ cmd: 'measure', kind })));
  const start = performance.now();
  const cpuStart = process.cpuUsage();
  await sleep(windowMs);
  const cpu = process.cpuUsage(cpuStart);
  const reports = await Promise.all(procs.map((p) => p.request({ cmd: 'report', kind }, 'report')));
  const elapsed = (performance.now() - start) / 1000;
  await loop.stop();
  // Let the queues drain before the next kind.
  for (let i = 0; i < 200 && queued(servers, kind) > 0; i++) await sleep(10);
  await sleep(300);
  const received = reports.reduce((n, r) => n + r!.received, 0);
  const frames = reports.reduce((n, r) => n + r!.frames, 0);
  const latencies = reports.flatMap((r) => r!.latencies).sort((a, b) => a - b);
  return { rate: received / elapsed, perFrame: frames > 0 ? received / frames : 0, p50: percentile(latencies, 50), p99: percentile(latencies, 99), gaps: reports.reduce((n, r) => n + r!.gaps, 0),
    serverCpu: (cpu.user + cpu.system) / 10 / elapsed / 1000,
    clientCpu: reports.reduce((n, r) => n + r!.cpuMs, 0) / 10 / elapsed,
  };
}

const fmtRate = (n: number) => Math.round(n).toLocaleString('en-US');
const fmtMs = (n: number) => (n < 10 ? n.toFixed(1) : n.toFixed(0));

async function fanOut(servers: Servers, procs: LoadProcess[], clients: number): Promise<void> {
  const share = (i: number) => Math.floor(clients / PROCESSES) + (i < clients % PROCESSES ? 1 : 0);
  const connectStart = performance.now();
  for (const kind of KINDS) {
    await Promise.all(procs.map((p, i) => p.request({ cmd: 'connect', kind, url: servers.urls[kind], count: share(i), topic: TOPIC }, 'connected')));
  }
  process.stdout.write(`  ${clients} clients of each kind connected in ${((performance.now() - connectStart) / 1000).toFixed(1)} s\n`);
  await sleep(500);

  const samples: Record<ServerKind, Sample[]> = { hub: [], naive: [], socketio: [] };
  for (let round = 0; round < rounds; round++) {
    const order = KINDS.map((_, i) => KINDS[(i + round) % KINDS.length]!);
    for (const kind of order) {
      const s = await measure(servers, procs, kind);
      samples[kind].push(s);
      process.stdout.write(`  round ${round + 1} ${LABEL[kind]}: ${fmtRate(s.rate)} deliveries/s, p50 ${fmtMs(s.p50)} ms, p99 ${fmtMs(s.p99)} ms, CPU server ${s.serverCpu.toFixed(0)}% clients ${s.clientCpu.toFixed(0)}%, ${s.perFrame.toFixed(2)} messages/frame${s.gaps ? `, ${s.gaps} gaps` : ''}\n`);
    }
  }
  await Promise.all(procs.map((p) => p.request({ cmd: 'disconnect' }, 'disconnected')));
  await sleep(1000);

  const med = (kind: ServerKind, key: keyof Sample) => median(samples[kind].map((s) => s[key]));
  const hubRate = med('hub', 'rate');
  if (KINDS.includes('hub') && KINDS.includes('naive')) console.log(`bench broadcast-${clients}: ${(hubRate / med('naive', 'rate')).toFixed(2)}x naive-ws`);
  if (KINDS.includes('hub') && KINDS.includes('socketio')) console.log(`bench broadcast-${clients}: ${(hubRate / med('socketio', 'rate')).toFixed(2)}x socket.io`);
  for (const kind of KINDS) {
    // Server CPU per delivery: what the server itself costs, less sensitive to the clients sharing the cores.
    const cost = median(samples[kind].map((s) => (s.serverCpu * 10_000) / s.rate));
    console.log(
      `bench broadcast-${clients}-${LABEL[kind]}: ${fmtRate(med(kind, 'rate'))} deliveries/s, p50 ${fmtMs(med(kind, 'p50'))} ms, p99 ${fmtMs(med(kind, 'p99'))} ms, ` +
        `server ${cost.toFixed(1)} µs CPU per delivery (CPU: server ${med(kind, 'serverCpu').toFixed(0)}%, clients ${med(kind, 'clientCpu').toFixed(0)}% of one core), ` +
        `${med(kind, 'perFrame').toFixed(2)} messages/frame`,
    );
  }
}

async function slowScenario(): Promise<void> {
  const options: SlowScenarioOptions = quick
    ? { clients: 200, rate: 60, payloadBytes: 16 * 1024, durationMs: 7000 }
    : { clients: 1000, rate: 40, payloadBytes: 16 * 1024, durationMs: 10_000 };
  options.maxBufferedBytes = 64 * 1024;
  options.rssMarginBytes = 48 * 1024 * 1024;
  const r = await runSlowScenario(options);
  const MiB = (n: number) => (n / 1024 / 1024).toFixed(1);
  const w = r.withSlow;
  console.log(
    `bench broadcast-slow-${r.clients}: ${r.slow} paused clients, hub RSS growth ${MiB(w.rssGrowth)} MiB (without slow clients ${MiB(r.baseline.rssGrowth)} MiB; ` +
      `bound ${MiB(r.rssBound)} MiB = 64 KiB maxBufferedBytes × ${r.slow} + 48 MiB)`,
  );
  console.log(
    `bench broadcast-slow-${r.clients}: healthy ${w.healthyRate.toFixed(1)} msg/s per client = ${(r.throughputRatio * 100).toFixed(0)}% of the run without slow clients, ` +
      `${w.healthyComplete}/${r.clients - r.slow} got every message, longest silence ${fmtMs(w.healthyMaxSilenceMs)} ms (without: ${fmtMs(r.baseline.healthyMaxSilenceMs)} ms)`,
  );
  console.log(`bench broadcast-slow-${r.clients}: slow clients once reading again: ${w.slowOutcomes.gapBackpressure} backpressure gaps, ${w.slowOutcomes.closed1013} closed 1013, ${w.slowOutcomes.other} neither`);
  const ok = w.rssGrowth < r.rssBound && r.throughputRatio >= 0.8 && w.healthyMaxSilenceMs < 1000 && w.slowOutcomes.gapBackpressure === r.slow;
  console.log(`bench broadcast-slow-${r.clients}: ${ok ? 'within bounds' : 'OUT OF BOUNDS'}`);
}

async function main(): Promise<void> {
  console.log(
    `note: ${cpus().length} cores, shared with other work; the servers, the ${PROCESSES} load-client processes and everything else compete for them, so figures vary between runs.` +
      ` ${quick ? 'Quick run: 1 round of 2 s per kind.' : `${rounds} interleaved rounds of ${windowMs / 1000} s per kind; medians.`}` +
      ` Hub coalescing ${coalesce ? 'on' : 'off'}.`,
  );
  if (!onlySlow) {
    const servers = await startServers();
    const procs = Array.from({ length: PROCESSES }, () => new LoadProcess());
    try {
      for (const clients of clientCounts) await fanOut(servers, procs, clients);
    } finally {
      for (const p of procs) p.child.kill();
      servers.io.close();
      await new Promise<void>((resolve) => servers.wss.close(() => resolve()));
      await servers.app.close();
    }
  }
  if (!skipSlow) await slowScenario();
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
