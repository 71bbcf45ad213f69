/**
 * The slow-consumer scenario (bench:broadcast `slow` and test/runtime/broadcast/slow-consumers.test.ts): a hub
 * in a child process publishes a steady stream to N clients in this process; a share of them stop reading
 * (their TCP socket paused, so the kernel buffers fill and then the hub's send queue). Run twice, without and
 * with the slow clients, each on a fresh hub process:
 *   - the hub's RSS growth during the stream, against `maxBufferedBytes × slow clients + margin`;
 *   - the healthy clients' messages/s, against the run without slow clients, and the longest silence
 *     between two messages any healthy client saw;
 *   - what the slow clients get once they read again: a `gap` with reason `backpressure` (policy `drop`) or
 *     a close with 1013 (policy `close`).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Socket } from 'node:net';
import WebSocket from 'ws';
import type { BackpressurePolicy, BroadcastStats } from '../../../runtime/broadcast/index.js';
import type { FromHubServer, ToHubServer } from './hub-server.js';

export interface SlowScenarioOptions {
  clients: number;
  /** Share of the clients that stop reading; default 0.1. */
  slowFraction?: number;
  /** Messages/s published; default 20. */
  rate?: number;
  /** Padding per message (bytes); default 8 KiB. */
  payloadBytes?: number;
  /** How long the stream runs (ms); default 6000. */
  durationMs?: number;
  /** The hub's maxBufferedBytes; default 64 KiB. */
  maxBufferedBytes?: number;
  backpressure?: BackpressurePolicy;
  /** Allowance over `maxBufferedBytes × slow` for the RSS bound (bytes); default 48 MiB. */
  rssMarginBytes?: number;
}

export interface RunResult {
  /** Messages/s received, averaged over the healthy clients. */
  healthyRate: number;
  /** Longest time between two messages (or from the start to the first) over the healthy clients (ms). */
  healthyMaxSilenceMs: number;
  /** Healthy clients that received every published message. */
  healthyComplete: number;
  published: number;
  rssGrowth: number;
  stats: BroadcastStats;
  /** What each slow client saw once it read again. */
  slowOutcomes: { gapBackpressure: number; closed1013: number; other: number };
}

export interface SlowScenarioResult {
  clients: number;
  slow: number;
  rssBound: number;
  baseline: RunResult;
  withSlow: RunResult;
  /** withSlow.healthyRate / baseline.healthyRate */
  throughputRatio: number;
}

const hubServerFile = fileURLToPath(new URL('./hub-server.ts', import.meta.url));

class HubProcess {
  private constructor(private readonly child: ChildProcess) {}

  static start(maxBufferedBytes: number, backpressure: BackpressurePolicy): Promise<{ proc: HubProcess; url: string }> {
    const child = fork(hubServerFile, [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const proc = new HubProcess(child);
    return proc.request({ cmd: 'start', maxBufferedBytes, backpressure }, 'ready').then((m) => ({ proc, url: (m as { url: string }).url }));
  }

  request<C extends FromHubServer['cmd']>(message: ToHubServer, reply: C): Promise<Extract<FromHubServer, { cmd: C }>> {
    return new Promise((resolve, reject) => {
      const onMessage = (m: FromHubServer) => {
        if (m.cmd !== reply) return;
        this.child.off('message', onMessage);
        this.child.off('exit', onExit);
        resolve(m as Extract<FromHubServer, { cmd: C }>);
      };
      const onExit = (code: number | null) => reject(new Error(`hub process exited (${code}) before ${reply}`));
      this.child.on('message', onMessage);
      this.child.once('exit', onExit);
      this.child.send(message);
    });
  }

  stop(): Promise<void> {
    if (this.child.exitCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
      this.child.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      this.child.send({ cmd: 'stop' } satisfies ToHubServer);
    });
  }
}

interface Client {
  ws: WebSocket;
  slow: boolean;
  received: number;
  last: number;
  maxSilence: number;
  frames: Array<{ type: string; reason?: string }>;
  closeCode: number | undefined;
}

const MESSAGE_PREFIX = Buffer.from('{"type":"message"');
const BATCH_PREFIX = Buffer.from('{"type":"batch"');
const TOPIC = 'bench.slow';

function openClient(url: string, slow: boolean): Promise<Client> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    const client: Client = { ws, slow, received: 0, last: 0, maxSilence: 0, frames: [], closeCode: undefined };
    ws.on('error', reject);
    ws.on('close', (code) => (client.closeCode = code));
    ws.on('open', () => ws.send(JSON.stringify({ type: 'subscribe', topic: TOPIC, batch: true })));
    ws.on('message', (raw: Buffer) => {
      // Message frames are only counted (no parse: the client side must not be the bottleneck); in a batch
      // frame, each message frame's opening (which no JSON string can contain unescaped) counts one.
      const isMessage = raw.length >= MESSAGE_PREFIX.length && raw.subarray(0, MESSAGE_PREFIX.length).equals(MESSAGE_PREFIX);
      if (isMessage || (raw.length >= BATCH_PREFIX.length && raw.subarray(0, BATCH_PREFIX.length).equals(BATCH_PREFIX))) {
        const now = performance.now();
        if (client.last > 0) client.maxSilence = Math.max(client.maxSilence, now - client.last);
        client.last = now;
        if (isMessage) client.received++;
        else for (let at = raw.indexOf(MESSAGE_PREFIX); at !== -1; at = raw.indexOf(MESSAGE_PREFIX, at + MESSAGE_PREFIX.length)) client.received++;
        return;
      }
      const frame = JSON.parse(String(raw)) as { type: string; reason?: string };
      client.frames.push(frame);
      if (frame.type === 'ack') resolve(client);
    });
  });
}

async function openClients(url: string, count: number, slow: number): Promise<Client[]> {
  const clients: Client[] = [];
  for (let i = 0; i < count; i += 100) {
    const batch = Math.min(100, count - i);
    clients.push(...(await Promise.all(Array.from({ length: batch }, (_, j) => openClient(url, i + j < slow)))));
  }
  return clients;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function runOnce(options: Required<SlowScenarioOptions>, slow: number, healthy: number): Promise<RunResult> {
  const { proc, url } = await HubProcess.start(options.maxBufferedBytes, options.backpressure);
  let clients: Client[] = [];
  try {
    clients = await openClients(url, slow + healthy, slow);
    for (const c of clients) if (c.slow) ((c.ws as unknown as { _socket: Socket })._socket).pause();
    await sleep(300);
    const start = performance.now();
    for (const c of clients) c.last = start; // a client that never receives counts the whole run as silence
    const published = await proc.request({ cmd: 'publish', topic: TOPIC, rate: options.rate, payloadBytes: options.payloadBytes, durationMs: options.durationMs }, 'published');
    await sleep(500); // the last messages in flight
    const healthyClients = clients.filter((c) => !c.slow);
    const seconds = options.durationMs / 1000;
    const healthyRate = healthyClients.reduce((n, c) => n + c.received, 0) / healthyClients.length / seconds;
    const healthyMaxSilenceMs = Math.max(0, ...healthyClients.map((c) => c.maxSilence));
    const healthyComplete = healthyClients.filter((c) => c.received === published.count).length;

    // The slow clients read again: what did the hub leave them?
    const slowOutcomes = { gapBackpressure: 0, closed1013: 0, other: 0 };
    const slowClients = clients.filter((c) => c.slow);
    for (const c of slowClients) ((c.ws as unknown as { _socket: Socket })._socket).resume();
    const settled = (c: Client) => c.closeCode !== undefined || c.frames.some((f) => f.type === 'gap');
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline && !slowClients.every(settled)) await sleep(100);
    for (const c of slowClients) {
      if (c.frames.some((f) => f.type === 'gap' && f.reason === 'backpressure')) slowOutcomes.gapBackpressure++;
      else if (c.closeCode === 1013) slowOutcomes.closed1013++;
      else slowOutcomes.other++;
    }
    return { healthyRate, healthyMaxSilenceMs, healthyComplete, published: published.count, rssGrowth: published.rssMax - published.rssBefore, stats: published.stats, slowOutcomes };
  } finally {
    for (const c of clients) c.ws.terminate();
    await proc.stop();
  }
}

export function rssBoundBytes(options: SlowScenarioOptions): number {
  const slow = Math.round(options.clients * (options.slowFraction ?? 0.1));
  return (options.maxBufferedBytes ?? 64 * 1024) * slow + (options.rssMarginBytes ?? 48 * 1024 * 1024);
}

export async function runSlowScenario(input: SlowScenarioOptions): Promise<SlowScenarioResult> {
  const options: Required<SlowScenarioOptions> = {
    slowFraction: 0.1,
    rate: 20,
    payloadBytes: 8 * 1024,
    durationMs: 6000,
    maxBufferedBytes: 64 * 1024,
    backpressure: 'drop',
    rssMarginBytes: 48 * 1024 * 1024,
    ...input,
  };
  const slow = Math.round(options.clients * options.slowFraction);
  const healthy = options.clients - slow;
  const baseline = await runOnce(options, 0, healthy);
  const withSlow = await runOnce(options, slow, healthy);
  return { clients: options.clients, slow, rssBound: rssBoundBytes(options), baseline, withSlow, throughputRatio: withSlow.healthyRate / baseline.healthyRate };
}
