/**
 * backdev/runtime/health/redis: breaker state shared by every instance of a service through Redis (ioredis).
 *
 *   const store = createRedisBreakerStore({ url: process.env.REDIS_URL, keyPrefix: 'myapp:health:' });
 *   await store.start();
 *   const users = createUpstream({ name: 'users', urls: [...], store });
 *
 * Layout:
 * - `<prefix><key>`: the last snapshot published for the key (JSON), written with a TTL (`ttlMs` after the
 *   write, and never before an open breaker's open time has passed).
 * - `<prefix><key>:lease`: a lease (`SET NX PX` with the holder's id; renewed and released only by the holder).
 * - the channel `<prefix>changes`: every publish sends `{ key, snapshot }` on it, so the other instances see a
 *   transition within one round trip. Pub/sub is at-most-once, so every `pollMs` the store also reads the keys
 *   it has subscribers for and delivers what changed (the bound when a message is lost).
 *
 * While Redis is unreachable the store keeps working on local state (an in-memory store inside it): publishes
 * reach the subscribers of this process, leases are granted per process, nothing throws into the caller's
 * path, and `fallback` is emitted once. When Redis is back it emits `resumed`, writes again the open breakers
 * it published meanwhile (unless a later write is there), and reads every subscribed key. A command that
 * takes longer than `commandTimeoutMs` counts as Redis being away until the next successful round.
 */
import type { Redis, RedisOptions } from 'ioredis';
import { componentOptions, openConnectionPair, watchConnection } from '../redis/connections.js';
import { createLocalLeases, createMemoryBreakerStore, type BreakerSnapshot, type BreakerStateStore } from './store.js';

export interface RedisBreakerStoreOptions {
  /** An ioredis client to run commands on (not closed by the store); the store duplicates it to subscribe. */
  redis?: Redis;
  /** Where Redis is (`redis://…`), for connections the store opens itself; used when `redis` is not given. */
  url?: string;
  /** Prefix of every key and of the channel; default `backdev:health:`. Use one per application. */
  keyPrefix?: string;
  /** How long a stored snapshot lives after its write (at least until its open time ends). Default 10 min. */
  ttlMs?: number;
  /** How often subscribed keys are read, in case a pub/sub message was lost. Default 500 ms. */
  pollMs?: number;
  /** A command not answered within this counts as Redis being away. Default 500 ms. */
  commandTimeoutMs?: number;
  /** How long `start()` waits for Redis before it resolves on local state. Default 5 s. */
  startTimeoutMs?: number;
  /** Reconnection backoff of the connections the store opens (doubling with jitter): default 100 ms to 2 s. */
  reconnect?: { minDelayMs?: number; maxDelayMs?: number };
  /** More options for the connections the store opens (TLS, password, `connectionName`, …). */
  redisOptions?: RedisOptions;
  now?: () => number;
}

export interface RedisBreakerStoreEvents {
  /** Redis became unreachable: state is local until `resumed`. */
  fallback: { error?: Error };
  /** Redis answers again: state is shared again. */
  resumed: Record<string, never>;
  /** A command or a message that failed (the store went on locally). */
  error: { error: Error };
}

export interface RedisBreakerStore extends BreakerStateStore {
  acquireLease(key: string, holder: string, ttlMs: number): Promise<boolean>;
  releaseLease(key: string, holder: string): Promise<void>;
  /** Connects and subscribes (waits up to `startTimeoutMs`, then goes on locally); idempotent. */
  start(): Promise<void>;
  /** Disconnects the connections it opened; idempotent. Later publishes stay local. */
  close(): Promise<void>;
  /** `shared` while Redis answers, else `local`. */
  readonly mode: 'shared' | 'local';
  on<E extends keyof RedisBreakerStoreEvents>(event: E, listener: (event: RedisBreakerStoreEvents[E]) => void): () => void;
}

/** KEYS: lease. ARGV: holder, ttl ms. 1 when the holder has the lease afterwards. */
const ACQUIRE = `
local v = redis.call('GET', KEYS[1])
if v == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end
if v then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2])
return 1
`;
/** KEYS: lease. ARGV: holder. */
const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

function isSnapshot(v: unknown): v is BreakerSnapshot {
  const s = v as BreakerSnapshot | null;
  return (
    typeof s === 'object' &&
    s !== null &&
    (s.state === 'open' || s.state === 'closed' || s.state === 'half-open') &&
    typeof s.openUntil === 'number' &&
    typeof s.timesOpened === 'number' &&
    typeof s.changedAt === 'number' &&
    typeof s.source === 'string'
  );
}

function parse(text: string | null | undefined): BreakerSnapshot | undefined {
  if (!text) return undefined;
  try {
    const v: unknown = JSON.parse(text);
    return isSnapshot(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

const same = (a: BreakerSnapshot | undefined, b: BreakerSnapshot) =>
  a !== undefined && a.source === b.source && a.changedAt === b.changedAt && a.state === b.state && a.openUntil === b.openUntil;

const asError = (e: unknown) => (e instanceof Error ? e : new Error(String(e)));

export function createRedisBreakerStore(options: RedisBreakerStoreOptions): RedisBreakerStore {
  if (!options.redis && !options.url) throw new TypeError('createRedisBreakerStore: `redis` or `url` is required');
  const prefix = options.keyPrefix ?? 'backdev:health:';
  const ttlMs = Math.max(1_000, options.ttlMs ?? 600_000);
  const pollMs = Math.max(10, options.pollMs ?? 500);
  const commandTimeoutMs = Math.max(10, options.commandTimeoutMs ?? 500);
  const startTimeoutMs = options.startTimeoutMs ?? 5_000;
  const minDelay = Math.max(1, options.reconnect?.minDelayMs ?? 100);
  const maxDelay = Math.max(minDelay, options.reconnect?.maxDelayMs ?? 2_000);
  const now = options.now ?? Date.now;
  const channel = `${prefix}changes`;
  const stateKey = (key: string) => `${prefix}${key}`;
  const leaseKey = (key: string) => `${prefix}${key}:lease`;

  const ownOptions = componentOptions(options.redisOptions, minDelay, maxDelay);

  /** The local state: what this process knows, used alone while Redis is away. */
  const local = createMemoryBreakerStore();
  const localLeases = createLocalLeases(now);
  const listeners = new Map<string, Set<(snapshot: BreakerSnapshot) => void>>();
  const delivered = new Map<string, BreakerSnapshot>();
  /** Snapshots published while Redis was away, written when it is back. */
  const unsent = new Map<string, BreakerSnapshot>();
  const events = new Map<keyof RedisBreakerStoreEvents, Set<(e: never) => void>>();

  let cmd: Redis | undefined;
  let sub: Redis | undefined;
  let starting: Promise<void> | undefined;
  let closed = false;
  let mode: 'shared' | 'local' = 'local';
  /** Whether the store was shared once or announced its fallback (`resumed` is about changes after that). */
  let announced = false;
  let pollTimer: NodeJS.Timeout | undefined;
  let polling = false;
  /** The subscriber connection's SUBSCRIBE was answered (reset when that connection drops). */
  let subscribed = false;
  const detach: Array<() => void> = [];

  function emit<E extends keyof RedisBreakerStoreEvents>(event: E, payload: RedisBreakerStoreEvents[E]): void {
    for (const l of [...(events.get(event) ?? [])]) {
      try {
        (l as (e: RedisBreakerStoreEvents[E]) => void)(payload);
      } catch {
        // A listener's error is its own.
      }
    }
  }

  function deliver(key: string, snapshot: BreakerSnapshot): void {
    if (same(delivered.get(key), snapshot)) return;
    delivered.set(key, snapshot);
    void local.publish(key, snapshot);
    for (const l of [...(listeners.get(key) ?? [])]) {
      try {
        l({ ...snapshot });
      } catch (error) {
        emit('error', { error: asError(error) });
      }
    }
  }

  function toLocal(error?: unknown): void {
    if (mode === 'local') return;
    mode = 'local';
    emit('fallback', error === undefined ? {} : { error: asError(error) });
  }

  const ready = () => !closed && cmd !== undefined && cmd.status === 'ready';

  /** Runs a command on Redis within `commandTimeoutMs`; a failure makes the store local. */
  async function run<T>(f: (c: Redis) => Promise<T>): Promise<T> {
    const c = cmd;
    if (!c || !ready()) throw new Error(`redis breaker store: not connected (${c?.status ?? 'not started'})`);
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        f(c),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`redis breaker store: no answer within ${commandTimeoutMs} ms`)), commandTimeoutMs);
        }),
      ]);
    } catch (error) {
      toLocal(error);
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  async function write(key: string, snapshot: BreakerSnapshot): Promise<void> {
    const ttl = Math.max(ttlMs, Math.ceil(snapshot.openUntil - now()) + 1_000);
    const text = JSON.stringify(snapshot);
    const replies = await run((c) => c.multi().set(stateKey(key), text, 'PX', ttl).publish(channel, JSON.stringify({ key, snapshot })).exec());
    const failed = replies?.find(([error]) => error);
    if (failed) throw failed[0];
  }

  async function poll(): Promise<void> {
    if (polling || !ready() || listeners.size === 0) return;
    polling = true;
    try {
      const keys = [...listeners.keys()];
      const values = await run((c) => c.mget(...keys.map(stateKey)));
      keys.forEach((key, i) => {
        const s = parse(values[i]);
        if (s) deliver(key, s);
      });
    } catch {
      // Already local; the next `ready` resumes.
    } finally {
      polling = false;
    }
  }

  async function resume(): Promise<void> {
    if (!ready() || mode === 'shared') return;
    mode = 'shared';
    if (announced) emit('resumed', {});
    announced = true;
    const t = now();
    for (const [key, s] of [...unsent]) {
      unsent.delete(key);
      if (s.state === 'open' && s.openUntil <= t) continue;
      try {
        // Another instance's later write wins: only fill a missing key or replace an earlier open time.
        const current = parse(await run((c) => c.get(stateKey(key))));
        if (!current || (current.state === 'open' && current.openUntil < s.openUntil) || current.changedAt < s.changedAt) await write(key, s);
      } catch {
        unsent.set(key, s);
        return;
      }
    }
    await poll();
  }

  function onMessage(ch: string, text: string): void {
    if (ch !== channel) return;
    try {
      const m = JSON.parse(text) as { key?: unknown; snapshot?: unknown };
      if (typeof m.key === 'string' && isSnapshot(m.snapshot) && listeners.has(m.key)) deliver(m.key, m.snapshot);
    } catch (error) {
      emit('error', { error: asError(error) });
    }
  }

  function listen(connection: Redis, role: 'cmd' | 'sub', owned: boolean): void {
    const onError = (error: Error) => {
      if (role === 'cmd') toLocal(error);
    };
    const onClose = () => {
      if (role === 'cmd') toLocal(new Error('redis breaker store: connection closed'));
      else subscribed = false;
    };
    const onReady = () => {
      if (role === 'sub') {
        connection.subscribe(channel).then(
          () => {
            subscribed = connection === sub;
            // Whatever was published before the subscription was live.
            void poll();
          },
          () => {},
        );
      } else void resume();
    };
    detach.push(watchConnection(connection, { error: onError, close: onClose, ready: onReady, ...(role === 'sub' ? { message: ['message', onMessage] as const } : {}) }, owned));
  }

  async function connect(): Promise<void> {
    const pair = openConnectionPair(options.redis, options.url, ownOptions);
    cmd = pair.cmd;
    sub = pair.sub;
    listen(cmd, 'cmd', pair.ownsCmd);
    listen(sub, 'sub', true);
    if (cmd.status === 'wait') cmd.connect().catch(() => {});
    else if (cmd.status === 'ready') void resume();
    sub.connect().catch(() => {});
    pollTimer = setInterval(() => {
      // A command that timed out on a live connection made the store local: try sharing again.
      if (mode === 'local' && ready()) void resume();
      else void poll();
    }, pollMs);
    pollTimer.unref?.();
    const end = now() + startTimeoutMs;
    while (!closed && !(mode === 'shared' && subscribed) && now() < end) await new Promise((r) => setTimeout(r, 10));
    if (mode !== 'shared' && !closed) {
      // Not reachable yet: go on locally; `resumed` tells when sharing starts.
      announced = true;
      emit('fallback', { error: new Error(`redis breaker store: Redis not reachable within ${startTimeoutMs} ms`) });
    }
  }

  return {
    get mode() {
      return mode;
    },
    start() {
      if (closed) return Promise.reject(new Error('redis breaker store: closed'));
      starting ??= connect();
      return starting;
    },
    async close() {
      if (closed) return;
      closed = true;
      mode = 'local';
      if (pollTimer) clearInterval(pollTimer);
      for (const off of detach.splice(0)) off();
      const own = [sub, options.redis ? undefined : cmd].filter((c): c is Redis => c !== undefined);
      sub = undefined;
      cmd = undefined;
      await Promise.allSettled(own.map((c) => (c.status === 'ready' ? c.quit() : Promise.resolve(c.disconnect()))));
      await local.close?.();
    },
    async publish(key, snapshot) {
      const s = { ...snapshot };
      deliver(key, s);
      if (ready() && mode === 'shared') {
        try {
          await write(key, s);
          unsent.delete(key);
          return;
        } catch {
          // Local from now on; kept for when Redis is back.
        }
      }
      unsent.set(key, s);
    },
    async read(key) {
      if (ready() && mode === 'shared') {
        try {
          const s = parse(await run((c) => c.get(stateKey(key))));
          if (s) return s;
        } catch {
          // Fall through to the local state.
        }
      }
      return local.read(key);
    },
    subscribe(key, listener) {
      let set = listeners.get(key);
      if (!set) listeners.set(key, (set = new Set()));
      set.add(listener);
      return () => {
        set.delete(listener);
        if (set.size === 0 && listeners.get(key) === set) {
          listeners.delete(key);
          delivered.delete(key);
        }
      };
    },
    async acquireLease(key, holder, ttl) {
      if (ready() && mode === 'shared') {
        try {
          return Number(await run((c) => c.eval(ACQUIRE, 1, leaseKey(key), holder, Math.max(1, Math.ceil(ttl))))) === 1;
        } catch {
          // Local from now on.
        }
      }
      return localLeases.acquireLease(key, holder, ttl);
    },
    async releaseLease(key, holder) {
      await localLeases.releaseLease(key, holder);
      if (ready() && mode === 'shared') {
        try {
          await run((c) => c.eval(RELEASE, 1, leaseKey(key), holder));
        } catch {
          // The lease expires by itself.
        }
      }
    },
    on(event, listener) {
      let set = events.get(event);
      if (!set) events.set(event, (set = new Set()));
      set.add(listener as (e: never) => void);
      return () => {
        set.delete(listener as (e: never) => void);
      };
    },
  };
}
