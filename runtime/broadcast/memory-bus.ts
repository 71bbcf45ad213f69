/**
 * The in-memory bus: one process, no server. Each topic's log keeps the newest `maxMessages` messages, none
 * older than `maxAgeMs`. The epoch is a random id drawn when the store is created, so a restarted process
 * (a new store) tells its clients to reload.
 *
 * Several bus instances can share one store (`createMemoryStore`), which is how tests run two hubs as if they
 * were two servers on one Redis; by default each bus has its own.
 */
import { randomUUID } from 'node:crypto';
import { DEFAULT_RETENTION, type Bus, type BusEvent, type BusMessage, type ReadResult, type Retention, type TopicPosition } from './bus.js';
import { createListeners } from './listeners.js';

interface Entry {
  readonly message: BusMessage;
  readonly at: number;
}

interface TopicLog {
  /** Offset of the last message ever published (kept when every entry is trimmed). */
  last: number;
  /** entries[head..] are stored; offsets consecutive, ending at `last`. */
  entries: Entry[];
  head: number;
}

/** A shared in-memory store of topic logs. */
export interface MemoryStore {
  readonly epoch: string;
  readonly retention: Retention;
}

interface StoreInternals extends MemoryStore {
  readonly topics: Map<string, TopicLog>;
  readonly listeners: Set<(message: BusMessage) => void>;
  readonly now: () => number;
}

export interface MemoryStoreOptions {
  /** Defaults to `DEFAULT_RETENTION` (10,000 messages, 2 minutes per topic). */
  retention?: Partial<Retention>;
  /** The clock (tests). */
  now?: () => number;
}

export function createMemoryStore(options: MemoryStoreOptions = {}): MemoryStore {
  const retention = { ...DEFAULT_RETENTION, ...options.retention };
  if (!(Number.isInteger(retention.maxMessages) && retention.maxMessages >= 1)) throw new TypeError('retention.maxMessages must be a positive integer');
  if (!(retention.maxAgeMs > 0)) throw new TypeError('retention.maxAgeMs must be positive');
  const store: StoreInternals = { epoch: randomUUID(), retention, topics: new Map(), listeners: new Set(), now: options.now ?? Date.now };
  return store;
}

export interface MemoryBusOptions extends MemoryStoreOptions {
  /** A store shared with other buses; `retention` and `now` are then the store's. */
  store?: MemoryStore;
}

function trim(log: TopicLog, retention: Retention, now: number): void {
  const { entries } = log;
  const oldest = now - retention.maxAgeMs;
  let head = Math.max(log.head, entries.length - retention.maxMessages);
  while (head < entries.length && entries[head]!.at < oldest) head++;
  if (head === entries.length) {
    log.entries = [];
    log.head = 0;
  } else if (head > 1024 && head * 2 > entries.length) {
    log.entries = entries.slice(head);
    log.head = 0;
  } else {
    log.head = head;
  }
}

export function createMemoryBus(options: MemoryBusOptions = {}): Bus {
  const store = (options.store ?? createMemoryStore(options)) as StoreInternals;
  const own = createListeners<BusMessage>();
  let closed = false;

  // A listener's bug must not undo the publish nor starve the other listeners: surfaced apart.
  const deliver = (message: BusMessage) => own.emit(message);

  return {
    async start() {
      if (closed) throw new Error('memory bus: closed');
      store.listeners.add(deliver);
    },
    async close() {
      closed = true;
      store.listeners.delete(deliver);
      own.clear();
    },
    async publish(topic, data) {
      if (closed) throw new Error('memory bus: closed');
      if (typeof topic !== 'string' || typeof data !== 'string') throw new TypeError('memory bus: topic and data must be strings');
      let log = store.topics.get(topic);
      if (!log) store.topics.set(topic, (log = { last: 0, entries: [], head: 0 }));
      const now = store.now();
      const message: BusMessage = { topic, epoch: store.epoch, offset: ++log.last, data };
      log.entries.push({ message, at: now });
      trim(log, store.retention, now);
      for (const listener of store.listeners) listener(message);
      return message;
    },
    onMessage: (listener) => own.add(listener),
    async position(topic): Promise<TopicPosition> {
      return { epoch: store.epoch, offset: store.topics.get(topic)?.last ?? 0 };
    },
    async read(topic, epoch, after, limit): Promise<ReadResult> {
      if (epoch !== store.epoch) return { messages: [], complete: false };
      const log = store.topics.get(topic);
      const last = log?.last ?? 0;
      // An offset beyond the log in this epoch cannot be honoured: the caller's position is not ours.
      if (after > last) return { messages: [], complete: false };
      if (!log || after === last) return { messages: [], complete: true };
      trim(log, store.retention, store.now());
      const stored = log.entries.length - log.head;
      const first = last - stored + 1;
      const from = Math.max(after + 1, first);
      const start = log.head + (from - first);
      const end = Math.min(log.entries.length, start + Math.max(0, limit));
      const messages = log.entries.slice(start, end).map((e) => e.message);
      return { messages, complete: after + 1 >= first };
    },
    onEvent(_listener: (event: BusEvent) => void) {
      // Nothing can go away under an in-memory bus.
      return () => {};
    },
  };
}
