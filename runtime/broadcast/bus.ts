/**
 * The bus: where a broadcast hub's messages live, so that several instances share one ordered log per topic.
 * The hub (index.ts) serves WebSocket clients; a bus stores, numbers and fans out what is published. The
 * in-memory bus serves one process; the Redis and PostgreSQL buses serve many.
 *
 * Contract every bus keeps (test/runtime/broadcast/bus-contract.ts runs it against each):
 * - Each topic has an epoch (an opaque string) and offsets 1, 2, 3, … with no holes within an epoch. The epoch
 *   changes only when the bus lost the topic's log (a new in-memory bus, a Redis that restarted empty, a
 *   truncated table): a client that saw another epoch must reload.
 * - `publish` resolves once the message is stored with its offset; every instance sees it through
 *   `onMessage` (live, usually in offset order; a hub fills any hole from `read`).
 * - `read` returns stored messages after an offset, in order; `complete: false` when the history no longer
 *   reaches back to `after + 1` (trimmed by count or age) or the epoch is not the current one.
 * - When the bus server is away, `publish` rejects (the caller sees the failure; nothing is silently dropped)
 *   and the bus reconnects with backoff; live messages missed meanwhile are recovered by the hub through
 *   `read`, or surfaced as a gap.
 */

/** One published message as every instance sees it. `data` is the serialized JSON payload. */
export interface BusMessage {
  readonly topic: string;
  readonly epoch: string;
  readonly offset: number;
  readonly data: string;
}

/** Where a topic's log stands: its epoch, and the offset of its last message (0 when it has none). */
export interface TopicPosition {
  readonly epoch: string;
  readonly offset: number;
}

export interface ReadResult {
  readonly messages: readonly BusMessage[];
  /** False when messages after `after` were trimmed or the epoch is not the topic's current one. */
  readonly complete: boolean;
}

/** How long a topic's history is kept: the newest `maxMessages`, none older than `maxAgeMs`. */
export interface Retention {
  maxMessages: number;
  maxAgeMs: number;
}

/** At least 10,000 messages and 2 minutes per topic. */
export const DEFAULT_RETENTION: Retention = { maxMessages: 10_000, maxAgeMs: 120_000 };

export type BusEvent =
  /** The bus server cannot be reached (publishes fail until `up`). */
  | { type: 'down'; error: Error }
  /** The connection is back; live delivery resumed. */
  | { type: 'up' };

export interface Bus {
  /** Connects; idempotent. */
  start(): Promise<void>;
  /** Disconnects; idempotent; pending operations reject. */
  close(): Promise<void>;
  /** Stores a message on the topic's log and resolves with it (its epoch and offset). */
  publish(topic: string, data: string): Promise<BusMessage>;
  /** Live messages of every topic. Returns the function that removes the listener. */
  onMessage(listener: (message: BusMessage) => void): () => void;
  /** The topic's current epoch and last offset. */
  position(topic: string): Promise<TopicPosition>;
  /** Stored messages with offset > `after` in `epoch`, oldest first, at most `limit`. */
  read(topic: string, epoch: string, after: number, limit: number): Promise<ReadResult>;
  /** Connection state changes, for health and logs. Returns the function that removes the listener. */
  onEvent(listener: (event: BusEvent) => void): () => void;
}
