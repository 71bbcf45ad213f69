/**
 * The Redis bus: several instances of a server share one ordered log per topic on one Redis (ioredis).
 *
 *   const bus = createRedisBus({ url: process.env.REDIS_URL, prefix: 'myapp:broadcast:' });
 *   const hub = createBroadcastHub({ bus });
 *
 * Layout, per topic (the `{topic}` hash tag keeps a topic's keys in one slot):
 * - `<prefix>{<topic>}:m`, a hash: `epoch` (a random id drawn when the hash is missing) and `seq` (the last
 *   offset). Both live in one key so that they can only disappear together (a restart of an empty Redis, an
 *   eviction, a FLUSHDB): a missing hash means a new epoch, and offsets start again at 1 in it.
 * - `<prefix>{<topic>}:s`, a Stream: one entry per message with the id `<offset>-0` and the fields `t` (the
 *   Redis server's clock in ms) and `d` (the data). Trimmed with `MAXLEN ~ maxMessages` on every publish (so at
 *   least `maxMessages` are kept), by age (entries older than `maxAgeMs` are cut on publish and on read), and
 *   the whole key expires `maxAgeMs` after the last publish.
 * - the channel `<prefix>messages`: every publish sends the whole message on it, so every instance receives
 *   every topic live without a second round trip.
 *
 * A publish is one Lua script (epoch, offset, XADD, trimming and PUBLISH in one atomic step), so offsets are
 * consecutive and the channel carries them in offset order. Why PUBLISH rather than XREAD BLOCK: an instance
 * must see every topic, including topics it never heard of, and XREAD needs the list of stream keys; the
 * channel reaches every instance with one subscription. Redis pub/sub is at-most-once, so the bus makes up
 * for it: it remembers the last offset it delivered per topic, reads a hole in the live stream from the
 * Stream before delivering what follows it, and after a lost subscriber connection it subscribes again
 * (itself, not through ioredis's auto-resubscribe, so that it knows when the subscription is live), then
 * reads every topic it knows from where it stopped, and only then emits `up`.
 *
 * While Redis is unreachable `publish` rejects at once (no offline queue, no resending of a command whose
 * reply was lost: a rejected publish may or may not have been stored, it is never stored twice).
 */
import { createHash, randomUUID } from 'node:crypto';
import type { Redis, RedisOptions } from 'ioredis';
import { DEFAULT_RETENTION, type Bus, type BusEvent, type BusMessage, type ReadResult, type Retention, type TopicPosition } from './bus.js';
import { createListeners, recordDelivered } from './listeners.js';
import { componentOptions, openConnectionPair, watchConnection } from '../redis/connections.js';

export interface RedisBusOptions {
  /** Where Redis is (`redis://…`), for the connections the bus opens; or `client`. */
  url?: string;
  /**
   * An ioredis client to run commands on (not closed by the bus). The bus opens its own subscriber
   * connection with `client.duplicate()`. Give it `enableOfflineQueue: false` for publishes to fail at once
   * while Redis is away (the bus also refuses to publish while the client is not ready).
   */
  client?: Redis;
  /** Prefix of every key and of the channel; default `backdev:broadcast:`. Use one per application. */
  prefix?: string;
  /** Defaults to `DEFAULT_RETENTION` (10,000 messages, 2 minutes per topic). */
  retention?: Partial<Retention>;
  /** Reconnection backoff (doubling with jitter): default 100 ms to 5 s. */
  reconnect?: { minDelayMs?: number; maxDelayMs?: number };
  /** How long `start()` waits for Redis; default 10 s. */
  startTimeoutMs?: number;
  /** More options for the connections the bus opens (TLS, password, `connectionName`, …). */
  redisOptions?: RedisOptions;
  /** How many topics the bus remembers a delivered offset for (least recently used dropped); default 100,000. */
  maxTrackedTopics?: number;
  /** Messages per read when filling a hole or catching up; default 1,000. */
  pageSize?: number;
  /**
   * How long a hole in the live stream is retried while its read fails (Redis away) before the message after
   * it goes out anyway, for the hub to report the hole as a gap; default 10 s.
   */
  holeRetryMs?: number;
}

const TRIM_BY_AGE = `
local function trimByAge(stream, cutoff, last)
  local first = redis.call('XRANGE', stream, '-', '+', 'COUNT', 1)[1]
  if not first or tonumber(first[2][2]) >= cutoff then return end
  -- Entries are in time order: find the first one that is young enough, by bisection on offsets.
  local lo = tonumber(string.match(first[1], '^(%d+)'))
  local hi = last + 1
  while hi - lo > 1 do
    local mid = math.floor((lo + hi) / 2)
    local e = redis.call('XRANGE', stream, string.format('%d-0', mid), '+', 'COUNT', 1)[1]
    if e and tonumber(e[2][2]) >= cutoff then hi = mid
    elseif e then lo = tonumber(string.match(e[1], '^(%d+)'))
    else hi = mid end
  end
  redis.call('XTRIM', stream, 'MINID', string.format('%d-0', hi))
end
local function nowMs()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function ensureEpoch(meta, stream, fresh)
  local epoch = redis.call('HGET', meta, 'epoch')
  if epoch then return epoch, tonumber(redis.call('HGET', meta, 'seq') or '0') end
  redis.call('DEL', stream)
  redis.call('HSET', meta, 'epoch', fresh, 'seq', 0)
  return fresh, 0
end
`;

/** KEYS: meta, stream. ARGV: fresh epoch, data, maxMessages, maxAgeMs, channel, topic. Returns {epoch, offset}. */
const PUBLISH_SCRIPT = `${TRIM_BY_AGE}
local epoch, last = ensureEpoch(KEYS[1], KEYS[2], ARGV[1])
local offset = last + 1
local now = nowMs()
-- XADD first: if it fails nothing was changed (a Lua error does not undo earlier writes).
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3], string.format('%d-0', offset), 't', now, 'd', ARGV[2])
redis.call('HSET', KEYS[1], 'seq', offset)
trimByAge(KEYS[2], now - tonumber(ARGV[4]), offset)
redis.call('PEXPIRE', KEYS[2], ARGV[4])
redis.call('PUBLISH', ARGV[5], string.format('%d', offset) .. ' ' .. epoch .. ' ' .. #ARGV[6] .. ' ' .. ARGV[6] .. ARGV[2])
return {epoch, offset}
`;

/** KEYS: meta, stream. ARGV: fresh epoch. Returns {epoch, last}. */
const POSITION_SCRIPT = `${TRIM_BY_AGE}
local epoch, last = ensureEpoch(KEYS[1], KEYS[2], ARGV[1])
return {epoch, last}
`;

/**
 * KEYS: meta, stream. ARGV: epoch, after, limit, maxAgeMs. Returns {status, last, offset1, data1, …}: status 0
 * for another epoch (or none), 1 otherwise.
 */
const READ_SCRIPT = `${TRIM_BY_AGE}
local epoch = redis.call('HGET', KEYS[1], 'epoch')
if epoch ~= ARGV[1] then return {0, 0} end
local last = tonumber(redis.call('HGET', KEYS[1], 'seq') or '0')
local after = tonumber(ARGV[2])
local out = {1, last}
if after >= last then return out end
trimByAge(KEYS[2], nowMs() - tonumber(ARGV[4]), last)
local entries = redis.call('XRANGE', KEYS[2], string.format('%d-0', after + 1), '+', 'COUNT', ARGV[3])
for _, e in ipairs(entries) do
  out[#out + 1] = string.match(e[1], '^(%d+)')
  out[#out + 1] = e[2][4]
end
return out
`;

interface Script {
  readonly source: string;
  readonly sha: string;
}
const script = (source: string): Script => ({ source, sha: createHash('sha1').update(source).digest('hex') });
const SCRIPTS = { publish: script(PUBLISH_SCRIPT), position: script(POSITION_SCRIPT), read: script(READ_SCRIPT) };

interface Tracked {
  epoch: string;
  offset: number;
}

type Work = { kind: 'live'; message: BusMessage } | { kind: 'catch-up' };

/** Parses `<offset> <epoch> <topic bytes> <topic><data>` as the publish script sends it. */
function parseWire(buffer: Buffer): BusMessage | undefined {
  const s1 = buffer.indexOf(32);
  const s2 = buffer.indexOf(32, s1 + 1);
  const s3 = buffer.indexOf(32, s2 + 1);
  if (s1 < 0 || s2 < 0 || s3 < 0) return undefined;
  const offset = Number(buffer.toString('latin1', 0, s1));
  const epoch = buffer.toString('utf8', s1 + 1, s2);
  const topicBytes = Number(buffer.toString('latin1', s2 + 1, s3));
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(topicBytes) || s3 + 1 + topicBytes > buffer.length) return undefined;
  const topic = buffer.toString('utf8', s3 + 1, s3 + 1 + topicBytes);
  const data = buffer.toString('utf8', s3 + 1 + topicBytes);
  return { topic, epoch, offset, data };
}

function validRetention(partial: Partial<Retention> | undefined): Retention {
  const retention = { ...DEFAULT_RETENTION, ...partial };
  if (!(Number.isInteger(retention.maxMessages) && retention.maxMessages >= 1)) throw new TypeError('retention.maxMessages must be a positive integer');
  if (!(Number.isInteger(retention.maxAgeMs) && retention.maxAgeMs >= 1)) throw new TypeError('retention.maxAgeMs must be a positive integer (ms)');
  return retention;
}

export function createRedisBus(options: RedisBusOptions): Bus {
  if (!options.url && !options.client) throw new TypeError('redis bus: give `url` or `client`');
  const prefix = options.prefix ?? 'backdev:broadcast:';
  const retention = validRetention(options.retention);
  const minDelay = options.reconnect?.minDelayMs ?? 100;
  const maxDelay = Math.max(minDelay, options.reconnect?.maxDelayMs ?? 5_000);
  const startTimeoutMs = options.startTimeoutMs ?? 10_000;
  const maxTracked = options.maxTrackedTopics ?? 100_000;
  const pageSize = options.pageSize ?? 1_000;
  const holeRetryMs = options.holeRetryMs ?? 10_000;
  const channel = `${prefix}messages`;
  const metaKey = (topic: string) => `${prefix}{${topic}}:m`;
  const streamKey = (topic: string) => `${prefix}{${topic}}:s`;

  const ownOptions = componentOptions(options.redisOptions, minDelay, maxDelay);

  const messageListeners = createListeners<BusMessage>();
  const eventListeners = createListeners<BusEvent>();
  const tracked = new Map<string, Tracked>();
  const queue: Work[] = [];

  let cmd: Redis | undefined;
  let sub: Redis | undefined;
  let starting: Promise<void> | undefined;
  let closed = false;
  /** The subscription is live (SUBSCRIBE answered on the current subscriber connection). */
  let subscribed = false;
  /** Live messages may have been missed: read every known topic before `up`. */
  let needsCatchUp = false;
  let catchUpQueued = false;
  let catchingUp = false;
  /** `down` was emitted and no `up` since. */
  let down = false;
  /** Whether the bus was fully up once (events are only about changes after start). */
  let wasUp = false;
  let lastError: Error | undefined;
  let pumping = false;
  const detach: Array<() => void> = [];

  const emit = (event: BusEvent) => eventListeners.emit(event);


  const deliver = (message: BusMessage) => {
    recordDelivered(tracked, maxTracked, message);
    messageListeners.emit(message);
  };


  async function run(s: Script, keys: string[], args: Array<string | number>): Promise<unknown> {
    const client = cmd;
    if (closed || !client) throw new Error('redis bus: closed');
    if (client.status !== 'ready') throw new Error(`redis bus: not connected to Redis (${client.status})${lastError ? `: ${lastError.message}` : ''}`);
    try {
      return await client.evalsha(s.sha, keys.length, ...keys, ...args);
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
      return await client.eval(s.source, keys.length, ...keys, ...args);
    }
  }

  async function readLog(topic: string, epoch: string, after: number, limit: number): Promise<ReadResult> {
    const count = Math.max(1, Math.floor(limit)); // COUNT 0 would mean no limit to Redis
    const reply = (await run(SCRIPTS.read, [metaKey(topic), streamKey(topic)], [epoch, after, count, retention.maxAgeMs])) as Array<string | number>;
    if (Number(reply[0]) !== 1) return { messages: [], complete: false };
    const last = Number(reply[1]);
    if (after > last) return { messages: [], complete: false };
    const messages: BusMessage[] = [];
    for (let i = 2; i + 1 < reply.length; i += 2) {
      const offset = Number(reply[i]);
      // Only a consecutive run counts; anything after a hole is left for the next read.
      if (messages.length > 0 && offset !== messages[messages.length - 1]!.offset + 1) break;
      messages.push({ topic, epoch, offset, data: String(reply[i + 1]) });
    }
    const complete = after === last || (messages.length > 0 && messages[0]!.offset === after + 1);
    return { messages: limit >= 1 ? messages : [], complete };
  }

  /** Delivers what the log holds after the tracked offset of `topic` (in `epoch`) up to `target`. */
  async function fill(topic: string, epoch: string, from: number, target: number): Promise<void> {
    let after = from;
    while (after < target && !closed) {
      const result = await readLog(topic, epoch, after, Math.min(pageSize, target - after));
      const next = result.messages.filter((m) => m.offset > after && m.offset <= target);
      if (next.length === 0) return; // trimmed or gone: the hub sees the hole and reports a gap
      for (const m of next) deliver(m);
      after = next[next.length - 1]!.offset;
      if (!result.complete) return;
    }
  }

  /**
   * Fills the hole before a live message. A read that fails (the command connection is away) is tried again
   * with backoff, from what has been delivered meanwhile, until it succeeds, the bus closes or `holeRetryMs`
   * passes; the live messages behind it wait, so a short outage loses nothing.
   */
  async function fillHole(topic: string, epoch: string, from: number, target: number): Promise<void> {
    const until = Date.now() + holeRetryMs;
    for (let attempt = 0; !closed; attempt++) {
      const known = tracked.get(topic);
      const after = known && known.epoch === epoch ? Math.max(from, known.offset) : from;
      try {
        await fill(topic, epoch, after, target);
        return;
      } catch (error) {
        lastError = error instanceof Error ? error : new Error(String(error));
        if (Date.now() >= until) return;
        await new Promise((resolve) => setTimeout(resolve, Math.min(maxDelay, minDelay * 2 ** Math.min(attempt, 10))).unref());
      }
    }
  }

  async function handleLive(message: BusMessage): Promise<void> {
    const known = tracked.get(message.topic);
    if (known && message.offset <= known.offset && message.epoch === known.epoch) return; // already delivered
    if (known && message.epoch === known.epoch && message.offset > known.offset + 1) {
      await fillHole(message.topic, message.epoch, known.offset, message.offset - 1);
    } else if (known && message.epoch !== known.epoch && message.offset > 1) {
      await fillHole(message.topic, message.epoch, 0, message.offset - 1);
    }
    const now = tracked.get(message.topic);
    if (now && now.epoch === message.epoch && message.offset <= now.offset) return;
    deliver(message);
  }

  async function catchUp(): Promise<void> {
    const client = cmd;
    if (!client || client.status !== 'ready' || !subscribed) throw new Error('redis bus: disconnected during the catch-up');
    const topics = [...tracked.keys()];
    for (let i = 0; i < topics.length; i += 500) {
      const chunk = topics.slice(i, i + 500);
      const pipeline = client.pipeline();
      for (const topic of chunk) pipeline.hmget(metaKey(topic), 'epoch', 'seq');
      const replies = (await pipeline.exec()) ?? [];
      for (let j = 0; j < chunk.length; j++) {
        const [error, value] = replies[j] ?? [new Error('no reply')];
        if (error) throw error;
        const [epoch, seq] = value as [string | null, string | null];
        const topic = chunk[j]!;
        const known = tracked.get(topic);
        if (!known || epoch === null) continue; // emptied and not used since: the hub's position check marks it
        const last = Number(seq ?? 0);
        if (epoch === known.epoch) {
          if (last > known.offset) await fill(topic, epoch, known.offset, last);
        } else if (last > 0) await fill(topic, epoch, 0, last);
      }
    }
  }

  function schedule(work: Work): void {
    queue.push(work);
    if (!pumping) void pump();
  }

  async function pump(): Promise<void> {
    pumping = true;
    try {
      while (queue.length > 0 && !closed) {
        const work = queue.shift()!;
        if (work.kind === 'live') await handleLive(work.message);
        else {
          catchUpQueued = false;
          // Cleared first: a subscriber lost during the catch-up sets it again, and another catch-up follows.
          needsCatchUp = false;
          catchingUp = true;
          let caughtUp = false;
          try {
            await catchUp();
            caughtUp = true;
          } catch (error) {
            lastError = error instanceof Error ? error : new Error(String(error));
            needsCatchUp = true;
            // Disconnected again (the next `ready` queues another catch-up), or a failed read: try again soon.
            setTimeout(checkUp, minDelay).unref();
          } finally {
            catchingUp = false;
          }
          if (caughtUp) checkUp();
        }
      }
    } finally {
      pumping = false;
    }
  }

  function onWire(_channel: Buffer, payload: Buffer): void {
    if (closed) return;
    const message = parseWire(payload);
    if (!message) return;
    if (!pumping && queue.length === 0) {
      const known = tracked.get(message.topic);
      if (!known || (known.epoch === message.epoch && known.offset + 1 === message.offset)) {
        deliver(message);
        return;
      }
    }
    schedule({ kind: 'live', message });
  }

  function checkUp(): void {
    if (closed || !cmd || cmd.status !== 'ready' || !subscribed || catchingUp) return;
    if (needsCatchUp) {
      if (!catchUpQueued) {
        catchUpQueued = true;
        schedule({ kind: 'catch-up' });
      }
      return;
    }
    wasUp = true;
    if (down) {
      down = false;
      emit({ type: 'up' });
    }
  }

  function markDown(error?: Error): void {
    if (closed) return;
    if (error) lastError = error;
    if (!wasUp || down) return;
    down = true;
    emit({ type: 'down', error: lastError ?? new Error('redis bus: connection closed') });
  }

  async function subscribe(connection: Redis): Promise<void> {
    try {
      await connection.subscribe(channel);
    } catch (error) {
      lastError = error instanceof Error ? error : new Error(String(error));
      return; // the connection dropped again; its next `ready` retries
    }
    if (connection !== sub || connection.status !== 'ready') return;
    subscribed = true;
    checkUp();
  }

  function listen(connection: Redis, role: 'cmd' | 'sub', owned: boolean): void {
    const onError = (error: Error) => {
      lastError = error;
    };
    const onClose = () => {
      if (role === 'sub') {
        if (subscribed) needsCatchUp = true;
        subscribed = false;
      }
      markDown();
    };
    const onReady = () => {
      if (role === 'sub') void subscribe(connection);
      else checkUp();
    };
    detach.push(watchConnection(connection, { error: onError, close: onClose, ready: onReady, ...(role === 'sub' ? { message: ['messageBuffer', onWire] as const } : {}) }, owned));
  }

  async function connect(): Promise<void> {
    const pair = openConnectionPair(options.client, options.url, ownOptions);
    cmd = pair.cmd;
    sub = pair.sub;
    listen(cmd, 'cmd', pair.ownsCmd);
    listen(sub, 'sub', true);
    const connections: Array<Promise<unknown>> = [sub.connect()];
    if (cmd.status === 'wait') connections.push(cmd.connect());
    let timer: NodeJS.Timeout | undefined;
    const ready = new Promise<void>((resolve) => {
      const check = () => {
        if (closed || (cmd?.status === 'ready' && subscribed)) {
          wasUp = true;
          clearInterval(timer);
          resolve();
        }
      };
      timer = setInterval(check, 10);
      check();
    });
    // The first connect attempt's failure is not final: ioredis retries until the timeout below.
    for (const c of connections) c.catch(() => {});
    let timeout: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timeout = setTimeout(() => reject(new Error(`redis bus: Redis not reachable within ${startTimeoutMs} ms${lastError ? `: ${lastError.message}` : ''}`)), startTimeoutMs);
    });
    try {
      await Promise.race([ready, timedOut]);
    } catch (error) {
      clearInterval(timer);
      await teardown();
      throw error;
    } finally {
      clearTimeout(timeout);
    }
    if (closed) throw new Error('redis bus: closed');
  }

  async function teardown(): Promise<void> {
    for (const off of detach.splice(0)) off();
    const own = [sub, options.client ? undefined : cmd].filter((c): c is Redis => c !== undefined);
    sub = undefined;
    cmd = undefined;
    subscribed = false;
    for (const c of own) c.disconnect();
  }

  return {
    start() {
      if (closed) return Promise.reject(new Error('redis bus: closed'));
      starting ??= connect().catch((error: unknown) => {
        starting = undefined;
        throw error;
      });
      return starting;
    },
    async close() {
      if (closed) return;
      closed = true;
      queue.length = 0;
      await teardown();
      messageListeners.clear();
      eventListeners.clear();
    },
    async publish(topic, data) {
      if (typeof topic !== 'string' || typeof data !== 'string') throw new TypeError('redis bus: topic and data must be strings');
      const [epoch, offset] = (await run(SCRIPTS.publish, [metaKey(topic), streamKey(topic)], [randomUUID(), data, retention.maxMessages, retention.maxAgeMs, channel, topic])) as [string, number];
      return { topic, epoch: String(epoch), offset: Number(offset), data };
    },
    onMessage: (listener) => messageListeners.add(listener),
    async position(topic): Promise<TopicPosition> {
      const [epoch, offset] = (await run(SCRIPTS.position, [metaKey(topic), streamKey(topic)], [randomUUID()])) as [string, number];
      return { epoch: String(epoch), offset: Number(offset) };
    },
    read: readLog,
    onEvent: (listener) => eventListeners.add(listener),
  };
}
