/**
 * Test helpers for the broadcast hub: a Fastify server with a hub on an ephemeral loopback port, and a raw
 * WebSocket client that records every frame it receives.
 */
import { createServer } from 'node:net';
import Fastify, { type FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import WebSocket from 'ws';
import { createBroadcastHub, type BroadcastHub, type BroadcastHubOptions } from '../../../runtime/broadcast/index.js';
import type { ServerFrame } from '../../../runtime/broadcast/protocol.js';

export interface Served<P = unknown> {
  app: FastifyInstance;
  hub: BroadcastHub<P>;
  url: string;
}

export async function serve<P = unknown>(options: BroadcastHubOptions<P> = {}, path = '/ws'): Promise<Served<P>> {
  const app = Fastify({ logger: false });
  const hub = createBroadcastHub<P>(options);
  await hub.register(app, { path });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  if (!address || typeof address === 'string') throw new Error('no address');
  return { app, hub, url: `ws://127.0.0.1:${address.port}${path}` };
}

export class Peer {
  readonly frames: ServerFrame[] = [];
  closeCode: number | undefined;
  private readonly waiters = new Set<() => void>();
  readonly closed: Promise<number>;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      this.frames.push(JSON.parse(String(data)) as ServerFrame);
      this.wake();
    });
    this.closed = new Promise((resolve) =>
      ws.on('close', (code) => {
        this.closeCode = code;
        this.wake();
        resolve(code);
      }),
    );
    ws.on('error', () => {});
  }

  static open(url: string, options: WebSocket.ClientOptions = {}): Promise<Peer> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, options);
      const peer = new Peer(ws);
      ws.once('open', () => resolve(peer));
      ws.once('error', reject);
      ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    });
  }

  private wake(): void {
    for (const waiter of this.waiters) waiter();
  }

  send(frame: unknown): void {
    this.ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }

  /** Resolves when `check` holds over the frames received so far. */
  until(check: (frames: ServerFrame[]) => boolean, timeoutMs = 5000, what = 'frames'): Promise<void> {
    if (check(this.frames)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const waiter = () => {
        if (check(this.frames)) done(resolve);
      };
      const timer = setTimeout(() => done(() => reject(new Error(`timed out waiting for ${what}; got ${JSON.stringify(this.frames.slice(-5))}`))), timeoutMs);
      const done = (then: () => void) => {
        clearTimeout(timer);
        this.waiters.delete(waiter);
        then();
      };
      this.waiters.add(waiter);
    });
  }

  /** The first frame of `type` (for `topic`) at or after index `from`. */
  async next<T extends ServerFrame['type']>(type: T, topic?: string, from = 0, timeoutMs = 5000): Promise<Extract<ServerFrame, { type: T }>> {
    const find = () => this.frames.slice(from).find((f) => f.type === type && (topic === undefined || ('topic' in f && f.topic === topic)));
    await this.until(() => find() !== undefined, timeoutMs, `${type}${topic ? ` on ${topic}` : ''}`);
    return find() as Extract<ServerFrame, { type: T }>;
  }

  of<T extends ServerFrame['type']>(type: T, topic?: string): Extract<ServerFrame, { type: T }>[] {
    return this.frames.filter((f) => f.type === type && (topic === undefined || ('topic' in f && f.topic === topic))) as Extract<ServerFrame, { type: T }>[];
  }

  close(): Promise<number> {
    if (this.closeCode === undefined) this.ws.close();
    return this.closed;
  }
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
export const range = (from: number, to: number) => Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i);

/** mulberry32: a small seeded generator, so a failing run can be replayed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A TCP port free on 127.0.0.1 right now (for a throwaway server the test starts). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (address && typeof address === 'object' ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** Whether a Redis server answers PING at `url` (one attempt, no retries). */
export async function redisReachable(url: string, connectTimeout = 2_000): Promise<boolean> {
  const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout });
  probe.on('error', () => {});
  try {
    await probe.connect();
    return (await probe.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    probe.disconnect();
  }
}

/** Deletes the keys matching `pattern` (SCAN + DEL): what a test wrote under its own prefix, never a FLUSH. */
export async function deleteRedisKeys(url: string, pattern: string): Promise<void> {
  const redis = new Redis(url, { maxRetriesPerRequest: 0 });
  redis.on('error', () => {});
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}
