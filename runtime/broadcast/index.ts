/**
 * backdev/runtime/broadcast: a WebSocket broadcast hub on Fastify (@fastify/websocket) that never loses a
 * message silently. Clients subscribe to topics (docs/realtime-protocol.md); every topic is an ordered log on
 * a bus (bus.ts: in memory, Redis or PostgreSQL) with an epoch and consecutive offsets, so a client that comes
 * back with its last (epoch, offset) receives every message it missed, in order and once, or one explicit
 * `gap` when the history no longer reaches back that far.
 *
 *   const hub = createBroadcastHub({ bus, authenticate, authorize });
 *   await hub.register(app, { path: '/ws' }); // before app.ready(): starts with the app, closes with it
 *   await hub.publish('pets.created', { id: 1 });
 *
 * How a subscription goes live without a hole: the hub listens to the bus's live stream of every topic from
 * `start()`; a subscribe registers the subscriber on the topic first and only then reads (the topic's
 * position, or the history after the client's offset), buffering what arrives live meanwhile, and merges the
 * two by offset before the `ack`. Everything after the ack's position is delivered live.
 */
import fastifyWebsocket from '@fastify/websocket';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Writable } from 'node:stream';
import type { RawData, WebSocket } from 'ws';
import { AuthError } from '../auth/errors.js';
import { createEvents } from '../events.js';
import type { AuthRequest, Credentials, SchemeVerifier } from '../auth/schemes.js';
import type { Bus, BusEvent, BusMessage, Retention } from './bus.js';
import { createMemoryBus } from './memory-bus.js';
import { BATCH_FRAME_HEAD, BATCH_FRAME_TAIL, GAP_REASONS, isValidTopic, messageFrameText, parseClientFrame, type ErrorCode, type GapReason, type ServerFrame, type SubscribeFrame } from './protocol.js';
import { NOOP_HUB_TRACER, loadHubTracer, type HubTracer, type SubscribeTrace } from './tracing.js';

export type { Bus, BusEvent, BusMessage, ReadResult, Retention, TopicPosition } from './bus.js';
export { DEFAULT_RETENTION } from './bus.js';
export { createMemoryBus, createMemoryStore, type MemoryBusOptions, type MemoryStore, type MemoryStoreOptions } from './memory-bus.js';
export type { AckFrame, ClientFrame, ErrorCode, ErrorFrame, GapFrame, GapReason, MessageFrame, PongFrame, ServerFrame, SubscribeFrame } from './protocol.js';

export type BackpressurePolicy = 'drop' | 'close';

export interface BroadcastHubOptions<P = unknown> {
  /** Where messages live; default: a new in-memory bus (one process). */
  bus?: Bus;
  /** Whether `close()` closes the bus; default: true when the hub made it, false for a given `bus`. */
  closeBus?: boolean;
  /** Retention of the default in-memory bus (ignored with `bus`). */
  retention?: Partial<Retention>;
  /**
   * Runs on the upgrade request, before the WebSocket handshake: the principal, or undefined to refuse with
   * 401. An `AuthError` thrown is a 401 too (503 for `unavailable`). See `authenticateWithSchemes`.
   */
  authenticate?: (request: FastifyRequest) => Promise<P | undefined>;
  /** Whether the principal may subscribe to the topic; refused: an `error` frame with code `forbidden`. */
  authorize?: (principal: P | undefined, topic: string, action: 'subscribe') => boolean | Promise<boolean>;
  /** Interval of WebSocket pings; a peer that has not answered the previous one is terminated. Default 30 s; 0: none. */
  heartbeatMs?: number;
  /** Per-connection cap on bytes queued for sending (the hub's queue and ws `bufferedAmount`). Default 1 MiB. */
  maxBufferedBytes?: number;
  /**
   * What happens to a connection over `maxBufferedBytes`: `drop` (default) stops sending the topic and, once
   * the connection drained, sends one `gap` (reason `backpressure`) with the last position delivered, from
   * which the client resubscribes without loss; `close` closes the connection with 1013.
   */
  backpressure?: BackpressurePolicy;
  /** Default 100. */
  maxSubscriptionsPerConnection?: number;
  /** Largest client frame accepted (bytes); larger ones close the connection with 1009. Default 16 KiB. */
  maxFrameBytes?: number;
  /** How long `close()` and a 1013 close wait for a peer's closing handshake before terminating. Default 5 s. */
  closeTimeoutMs?: number;
  /** Messages per history read. Default 1000. */
  readPageSize?: number;
  /**
   * Live messages held for one subscription while its history is replayed; beyond that the subscription is
   * suspended as for backpressure. Default 10,000.
   */
  maxPendingPerSubscription?: number;
  /**
   * Default true: messages for a connection wait in its queue until the hub's next write to it (connections
   * are written round-robin, spread over a few event-loop turns, and one whose socket has not flushed what
   * it was given waits for that), and what waits there goes out in one write: as one `batch` frame to a
   * client that subscribed with `batch: true` (the client helper does), one frame per message otherwise. So
   * a burst, or a client that falls behind, costs fewer writes and frames. false: each message is written
   * to each subscriber's socket at once, in its own frame.
   */
  coalesce?: boolean;
}

export interface BroadcastStats {
  connections: number;
  /** Live subscriptions (and ones being set up). */
  subscriptions: number;
  /** Topics with at least one subscriber on this instance. */
  topics: number;
  /** Messages published through `hub.publish`. */
  published: number;
  /** Message frames sent to clients (live and replayed). */
  messagesSent: number;
  /** Subscribes that asked to resume from a position. */
  resumes: number;
  /** Resumes that delivered every missed message (no gap). */
  resumesOk: number;
  /** Gap frames sent, by reason. */
  gaps: Record<GapReason, number>;
  /** Holes in the hub's live stream from the bus filled from history. */
  holesFilled: number;
  /** Connections terminated for a missed pong. */
  reaped: number;
  /** Connections closed with 1013 for backpressure. */
  backpressureCloses: number;
  /** Upgrades refused by `authenticate`. */
  authRefused: number;
  /** Subscribes refused by `authorize`. */
  forbidden: number;
  /** Bytes queued for sending over every connection now (the hub's queues and the sockets' buffers). */
  bufferedBytes: number;
  /** Batch frames sent (each carries several of the messages counted in `messagesSent`). */
  batchesSent: number;
}

export type DisconnectCause = 'client' | 'reaped' | 'backpressure' | 'shutdown' | 'protocol';

export interface BroadcastHubEvents<P = unknown> {
  connection: { id: number; principal: P | undefined };
  disconnect: { id: number; code: number; cause: DisconnectCause };
  /** Gap frames sent for a topic (`subscribers`: how many got one). */
  gap: { topic: string; reason: GapReason; subscribers: number };
  /** Something failed that no client request can report (a bus read, a listener). */
  error: { error: unknown; during: string };
  /** The bus's connection state. */
  bus: BusEvent;
}

export interface RegisterOptions {
  /** The WebSocket route's path; default `/ws`. */
  path?: string;
}

export interface BroadcastHub<P = unknown> {
  readonly bus: Bus;
  /**
   * Adds the WebSocket route to `app` (before `app.ready()`), registering @fastify/websocket when the app has
   * not. The hub starts when the app is ready and closes (1001 to every client, then the bus when owned) when
   * the app closes. Register the plugin yourself only if you need its options, and then call `hub.close()`
   * before `app.close()`: the plugin closes the remaining sockets without a code.
   */
  register(app: FastifyInstance, options?: RegisterOptions): Promise<void>;
  /** Starts the bus and listens to it; idempotent. */
  start(): Promise<void>;
  /** Stops accepting, closes every socket with 1001, waits for them, then closes the bus when owned; idempotent. */
  close(): Promise<void>;
  /** Stores `data` (serialized as JSON) on the topic's log and resolves with its position, once stored. */
  publish(topic: string, data: unknown): Promise<BusMessage>;
  stats(): BroadcastStats;
  on<E extends keyof BroadcastHubEvents<P>>(event: E, listener: (event: BroadcastHubEvents<P>[E]) => void): () => void;
}

/** What `authenticateWithSchemes` may look at on the upgrade request. */
export interface SchemesAuthenticateOptions {
  /**
   * A query parameter read as a bearer token when the request has no `Authorization` header (browsers cannot
   * set headers on a WebSocket). Off by default: URLs end up in logs.
   */
  tokenQueryParameter?: string;
}

/**
 * An `authenticate` from add-auth scheme verifiers (backdev/runtime/auth): the first scheme that finds
 * credentials on the upgrade request wins; credentials present but refused (an `AuthError`) refuse the
 * upgrade, none at all too.
 */
export function authenticateWithSchemes(
  schemes: readonly SchemeVerifier[] | Record<string, SchemeVerifier>,
  options: SchemesAuthenticateOptions = {},
): (request: AuthRequest) => Promise<Credentials | undefined> {
  const list = Array.isArray(schemes) ? [...(schemes as readonly SchemeVerifier[])] : Object.values(schemes as Record<string, SchemeVerifier>);
  const param = options.tokenQueryParameter;
  return async (request) => {
    let view: AuthRequest = request;
    if (param !== undefined && request.headers.authorization === undefined) {
      const token = new URL(request.url, 'http://localhost').searchParams.get(param);
      if (token) view = { url: request.url, headers: { ...request.headers, authorization: `Bearer ${token}` } };
    }
    for (const scheme of list) {
      const credentials = await scheme.authenticate(view);
      if (credentials) return credentials;
    }
    return undefined;
  };
}

const OPEN = 1;
/** Message frames are UTF-8 JSON, sent as text frames. */
const TEXT = { binary: false } as const;
/** Largest batch frame built (a single larger message still goes out whole, on its own). */
const MAX_BATCH_BYTES = 64 * 1024;
/**
 * Writing the queued connections is spread over event-loop turns, so that other work (bus messages, client
 * frames, timers) runs in between and what is published meanwhile joins the queues still to be written: each
 * turn writes at least 1/FLUSH_TURNS of the connections waiting (a message waits a few turns at most), and
 * goes on while it has taken less than FLUSH_SLICE_MS.
 */
const FLUSH_TURNS = 4;
const FLUSH_SLICE_MS = 2;
const BATCH_HEAD = Buffer.from(BATCH_FRAME_HEAD);
const BATCH_TAIL = Buffer.from(BATCH_FRAME_TAIL);
const COMMA = Buffer.from(',');

/**
 * The header of an unmasked, unfragmented WebSocket text frame (RFC 6455 §5.2) of `length` payload bytes,
 * followed by `extra` bytes of room.
 */
function textFrameHeader(length: number, extra = 0): { buffer: Buffer; size: number } {
  const size = length < 126 ? 2 : length < 65_536 ? 4 : 10;
  const buffer = Buffer.allocUnsafe(size + extra);
  buffer[0] = 0x81; // FIN, opcode 1 (text)
  if (size === 2) buffer[1] = length;
  else if (size === 4) {
    buffer[1] = 126;
    buffer.writeUInt16BE(length, 2);
  } else {
    buffer[1] = 127;
    buffer.writeUInt32BE(Math.floor(length / 2 ** 32), 2);
    buffer.writeUInt32BE(length >>> 0, 6);
  }
  return { buffer, size };
}

/** A whole WebSocket text frame around `payload`: built once per message, written as is to every subscriber. */
function wireFrame(payload: string): Buffer {
  const length = Buffer.byteLength(payload);
  const { buffer, size } = textFrameHeader(length, length);
  buffer.write(payload, size, 'utf8');
  return buffer;
}

/** The payload (the message frame's JSON) of a frame made by `wireFrame`. */
function payloadOf(wire: Buffer): Buffer {
  const len7 = wire[1]! & 0x7f;
  return wire.subarray(len7 < 126 ? 2 : len7 === 126 ? 4 : 10);
}

/**
 * The socket under `ws` (the upgrade request's socket, which ws took over) when frames may be written to it
 * directly, interleaved with what ws itself writes: no extension negotiated (with permessage-deflate ws may
 * hold frames back while compressing), so ws writes every frame at once, in call order. Undefined otherwise
 * (or for a connection without a socket of its own, as in injected test connections): then everything goes
 * through `ws.send`.
 */
function directSocket(ws: WebSocket, socket: Writable | undefined): Writable | undefined {
  return ws.extensions === '' && socket && !socket.destroyed && typeof socket.write === 'function' && typeof socket.cork === 'function' ? socket : undefined;
}

interface PendingGap {
  gap: { epoch: string; offset: number; reason: GapReason };
}
interface PendingMessage {
  message: BusMessage;
  frame: Buffer;
}
type PendingItem = PendingGap | PendingMessage;

interface Connection<P> {
  readonly id: number;
  readonly ws: WebSocket;
  readonly principal: P | undefined;
  readonly subs: Map<string, Subscription<P>>;
  /** Topics suspended for backpressure: the position to put in their gap once the connection drained. */
  readonly dropped: Map<string, { epoch: string; offset: number }>;
  alive: boolean;
  closing: boolean;
  cause: DisconnectCause;
  drainTimer: ReturnType<typeof setInterval> | undefined;
  closeTimer: ReturnType<typeof setTimeout> | undefined;
  closed: Promise<void>;
  /** The client said `batch: true` on a subscribe: several waiting messages may go out as one batch frame. */
  batch: boolean;
  /** Message frames waiting for the next write (with `coalesce`), and their size. */
  queue: Buffer[];
  queuedBytes: number;
  /** In the hub's list of connections to write to. */
  scheduled: boolean;
  /** Waiting for the socket to flush what it was given before the queue is written. */
  held: boolean;
  /** Passed with every write: a held connection is written to again once its socket flushed. */
  readonly onWritten: () => void;
  /** Where prebuilt frames are written (see `directSocket`); undefined: through `ws.send`. */
  readonly socket: Writable | undefined;
}

interface Subscription<P> {
  readonly conn: Connection<P>;
  readonly topic: string;
  state: TopicState<P> | undefined;
  /** Position of the last frame delivered (message or gap). */
  epoch: string;
  lastSent: number;
  /** Live items held while the history is replayed; null once live. */
  pending: PendingItem[] | null;
  cancelled: boolean;
}

interface TopicState<P> {
  readonly topic: string;
  readonly subs: Set<Subscription<P>>;
  /** Position of the last message delivered to the topic's subscribers. */
  epoch: string;
  offset: number;
  /** `init`: reading the position; `filling`: reading a hole in the live stream; bus messages are buffered meanwhile. */
  phase: 'init' | 'live' | 'filling';
  buffer: BusMessage[];
  /** Subscribes waiting for `ready`. */
  waiting: number;
  ready: Promise<void>;
}

function isGap(item: PendingItem): item is PendingGap {
  return 'gap' in item;
}

export function createBroadcastHub<P = unknown>(options: BroadcastHubOptions<P> = {}): BroadcastHub<P> {
  const bus = options.bus ?? createMemoryBus(options.retention ? { retention: options.retention } : {});
  const closeBus = options.closeBus ?? options.bus === undefined;
  const heartbeatMs = options.heartbeatMs ?? 30_000;
  const cap = options.maxBufferedBytes ?? 1024 * 1024;
  const policy: BackpressurePolicy = options.backpressure ?? 'drop';
  const maxSubs = options.maxSubscriptionsPerConnection ?? 100;
  const maxFrameBytes = options.maxFrameBytes ?? 16 * 1024;
  const closeTimeoutMs = options.closeTimeoutMs ?? 5_000;
  const pageSize = options.readPageSize ?? 1000;
  const maxPending = options.maxPendingPerSubscription ?? 10_000;
  const coalesce = options.coalesce ?? true;
  if (typeof coalesce !== 'boolean') throw new TypeError('broadcast hub: coalesce must be a boolean');
  if (policy !== 'drop' && policy !== 'close') throw new TypeError(`broadcast hub: backpressure must be drop or close, not ${String(policy)}`);
  for (const [name, value] of Object.entries({ heartbeatMs, maxBufferedBytes: cap, maxSubscriptionsPerConnection: maxSubs, maxFrameBytes, closeTimeoutMs, readPageSize: pageSize, maxPendingPerSubscription: maxPending })) {
    if (!(Number.isFinite(value) && value >= 0) || (name !== 'heartbeatMs' && value === 0)) throw new TypeError(`broadcast hub: ${name} must be a positive number`);
  }
  /** Control frames (acks, gaps, pongs, errors) are never dropped; a peer that lets even those pile up is cut off. */
  const hardCap = cap * 2 + 64 * 1024;
  const lowWater = Math.floor(cap / 4);
  /** With `coalesce`: a connection whose socket holds more than this unflushed waits before its next write. */
  const holdBytes = Math.min(16 * 1024, lowWater);

  const connections = new Set<Connection<P>>();
  const topics = new Map<string, TopicState<P>>();
  const events = createEvents<BroadcastHubEvents<P>>({
    onListenerError: (event, error) => log?.error({ err: error }, `broadcast hub: a ${String(event)} listener threw`),
  });
  const counters = {
    published: 0,
    messagesSent: 0,
    resumes: 0,
    resumesOk: 0,
    holesFilled: 0,
    reaped: 0,
    backpressureCloses: 0,
    authRefused: 0,
    forbidden: 0,
    batchesSent: 0,
    gaps: Object.fromEntries(GAP_REASONS.map((r) => [r, 0])) as Record<GapReason, number>,
  };
  let nextId = 1;
  let started: Promise<void> | undefined;
  let running = false;
  let closing: Promise<void> | undefined;
  let heartbeat: ReturnType<typeof setInterval> | undefined;
  let offBus: (() => void) | undefined;
  let offBusEvents: (() => void) | undefined;
  let log: FastifyInstance['log'] | undefined;
  /** Spans of publishes and subscribes (tracing.ts); records only while a tracer provider is registered. */
  let hubTracer: HubTracer = NOOP_HUB_TRACER;

  function emit<E extends keyof BroadcastHubEvents<P>>(event: E, payload: BroadcastHubEvents<P>[E]): void {
    if (event === 'error' && events.count(event) === 0) {
      const { error, during } = payload as BroadcastHubEvents<P>['error'];
      log?.error({ err: error }, `broadcast hub: ${during}`);
      return;
    }
    events.emit(event, payload);
  }

  // ---- sending ----------------------------------------------------------------------------------------

  /** Bytes waiting for a connection: in the hub's queue and in the socket's buffer. */
  function pendingBytes(conn: Connection<P>): number {
    return conn.ws.bufferedAmount + conn.queuedBytes;
  }

  function sendControl(conn: Connection<P>, frame: ServerFrame): void {
    if (conn.closing || conn.ws.readyState !== OPEN) return;
    if (pendingBytes(conn) > hardCap) {
      closeConnection(conn, 1013, 'backpressure', 'backpressure');
      return;
    }
    // Acks, gaps and errors come after the messages queued before them; a pong need not wait for those.
    if (frame.type !== 'pong') flushConnection(conn);
    conn.ws.send(JSON.stringify(frame), conn.onWritten);
  }

  function sendError(conn: Connection<P>, code: ErrorCode, message: string, topic?: string): void {
    sendControl(conn, topic === undefined ? { type: 'error', code, message } : { type: 'error', code, message, topic });
  }

  /** Sends a message frame to a live subscriber; false when the subscription ended (backpressure, closing). */
  function sendMessage(sub: Subscription<P>, message: BusMessage, frame: Buffer): boolean {
    const { conn } = sub;
    if (sub.cancelled || conn.closing || conn.ws.readyState !== OPEN) return false;
    if (pendingBytes(conn) > cap) {
      if (policy === 'close') {
        counters.backpressureCloses++;
        closeConnection(conn, 1013, 'backpressure', 'backpressure');
      } else {
        suspend(sub);
      }
      return false;
    }
    if (coalesce) enqueue(conn, frame);
    else if (conn.socket) conn.socket.write(frame);
    else conn.ws.send(payloadOf(frame), TEXT);
    sub.epoch = message.epoch;
    sub.lastSent = message.offset;
    counters.messagesSent++;
    return true;
  }

  function sendGap(sub: Subscription<P>, epoch: string, offset: number, reason: GapReason): void {
    sub.epoch = epoch;
    sub.lastSent = offset;
    counters.gaps[reason]++;
    sendControl(sub.conn, { type: 'gap', topic: sub.topic, epoch, offset, reason });
  }

  const frameOf = (m: BusMessage) => wireFrame(messageFrameText(m.topic, m.epoch, m.offset, m.data));

  // ---- coalescing: a queue per connection, written round-robin ----------------------------------------

  /** Connections with queued frames, in the order they are written to; `flushHead`: the next one. */
  let flushList: Connection<P>[] = [];
  let flushHead = 0;
  let flushTimer: ReturnType<typeof setImmediate> | undefined;

  function enqueue(conn: Connection<P>, frame: Buffer): void {
    conn.queue.push(frame);
    conn.queuedBytes += frame.length;
    // A long burst (a replay, say) is written as it grows, unless the socket is still full.
    if (conn.queuedBytes >= MAX_BATCH_BYTES && !conn.held && conn.ws.bufferedAmount <= holdBytes) flushConnection(conn);
    else if (!conn.scheduled && !conn.held) schedule(conn);
  }

  function schedule(conn: Connection<P>): void {
    conn.scheduled = true;
    flushList.push(conn);
    flushTimer ??= setImmediate(flushSome);
  }

  /**
   * Writes the queued connections in turn (see FLUSH_TURNS), then lets the event loop run and goes on at the
   * next turn. Whatever is published meanwhile joins the queues of the connections not yet written to, which
   * then get it in the same write.
   */
  function flushSome(): void {
    flushTimer = undefined;
    const deadline = performance.now() + FLUSH_SLICE_MS;
    // At least a share of the waiting connections per turn, so that a message waits a few turns at most.
    const quota = Math.ceil((flushList.length - flushHead) / FLUSH_TURNS);
    let visited = 0;
    while (flushHead < flushList.length) {
      const conn = flushList[flushHead++]!;
      conn.scheduled = false;
      visited++;
      if (conn.closing) continue;
      if (conn.ws.bufferedAmount > holdBytes) {
        conn.held = true; // rescheduled by onWritten once the socket flushed
        continue;
      }
      flushConnection(conn);
      if (visited >= quota && visited % 32 === 0 && performance.now() > deadline) break;
    }
    if (flushHead < flushList.length) {
      if (flushHead >= 1024) {
        flushList = flushList.slice(flushHead);
        flushHead = 0;
      }
      flushTimer = setImmediate(flushSome);
    } else {
      flushList = [];
      flushHead = 0;
    }
  }

  function wroteTo(conn: Connection<P>): void {
    if (!conn.held || conn.closing || conn.ws.bufferedAmount > holdBytes) return;
    conn.held = false;
    if (conn.queue.length > 0 && !conn.scheduled) schedule(conn);
  }

  /**
   * Writes the connection's queue now, in one write: for a client that takes batches, runs of messages as
   * batch frames (each ≤ MAX_BATCH_BYTES), else frame by frame. A batch frame is written as its header, the
   * messages' own buffers (shared by every subscriber, not copied) and the commas between them.
   */
  function flushConnection(conn: Connection<P>): void {
    const queue = conn.queue;
    if (queue.length === 0) return;
    conn.queue = [];
    conn.queuedBytes = 0;
    if (conn.closing || conn.ws.readyState !== OPEN) return;
    const { socket } = conn;
    if (!socket) return sendQueued(conn, queue);
    socket.cork();
    let start = 0;
    while (start < queue.length) {
      let end = start + 1;
      if (conn.batch) {
        let size = BATCH_HEAD.length + BATCH_TAIL.length + payloadOf(queue[start]!).length;
        for (let next; end < queue.length && size + 1 + (next = payloadOf(queue[end]!).length) <= MAX_BATCH_BYTES; end++) size += 1 + next;
        if (end - start > 1) {
          const { buffer, size: headerSize } = textFrameHeader(size, BATCH_HEAD.length);
          BATCH_HEAD.copy(buffer, headerSize);
          socket.write(buffer);
          for (let i = start; i < end; i++) {
            if (i > start) socket.write(COMMA);
            socket.write(payloadOf(queue[i]!));
          }
          socket.write(BATCH_TAIL, end === queue.length ? conn.onWritten : undefined);
          counters.batchesSent++;
          start = end;
          continue;
        }
      }
      socket.write(queue[start]!, end === queue.length ? conn.onWritten : undefined);
      start = end;
    }
    socket.uncork();
  }

  /** `flushConnection` through `ws.send` (an extension negotiated): batch frames are built as one buffer. */
  function sendQueued(conn: Connection<P>, queue: readonly Buffer[]): void {
    const payloads = queue.map(payloadOf);
    let start = 0;
    while (start < payloads.length) {
      let end = start + 1;
      let size = BATCH_HEAD.length + BATCH_TAIL.length + payloads[start]!.length;
      if (conn.batch) while (end < payloads.length && size + 1 + payloads[end]!.length <= MAX_BATCH_BYTES) size += 1 + payloads[end++]!.length;
      if (end - start === 1) conn.ws.send(payloads[start]!, TEXT, conn.onWritten);
      else {
        const parts: Buffer[] = [BATCH_HEAD];
        for (let i = start; i < end; i++) parts.push(...(i > start ? [COMMA, payloads[i]!] : [payloads[i]!]));
        parts.push(BATCH_TAIL);
        conn.ws.send(Buffer.concat(parts, size), TEXT, conn.onWritten);
        counters.batchesSent++;
      }
      start = end;
    }
  }

  // ---- backpressure -----------------------------------------------------------------------------------

  /** Stops sending the topic to the connection; its gap goes out once the connection drained. */
  function suspend(sub: Subscription<P>): void {
    const { conn } = sub;
    removeSubscription(sub);
    conn.dropped.set(sub.topic, { epoch: sub.epoch, offset: sub.lastSent });
    if (conn.drainTimer) return;
    conn.drainTimer = setInterval(() => {
      if (conn.closing) return stopDrainWatch(conn);
      if (pendingBytes(conn) > lowWater) return;
      stopDrainWatch(conn);
      const dropped = [...conn.dropped];
      conn.dropped.clear();
      for (const [topic, { epoch, offset }] of dropped) {
        counters.gaps.backpressure++;
        sendControl(conn, { type: 'gap', topic, epoch, offset, reason: 'backpressure' });
        emit('gap', { topic, reason: 'backpressure', subscribers: 1 });
      }
    }, 20);
    conn.drainTimer.unref?.();
  }

  function stopDrainWatch(conn: Connection<P>): void {
    if (conn.drainTimer) clearInterval(conn.drainTimer);
    conn.drainTimer = undefined;
  }

  // ---- topics and the live stream ---------------------------------------------------------------------

  function acquireTopic(topic: string): TopicState<P> {
    const state = topics.get(topic);
    if (state) return state;
    const created: TopicState<P> = { topic, subs: new Set(), epoch: '', offset: 0, phase: 'init', buffer: [], waiting: 0, ready: Promise.resolve() };
    topics.set(topic, created);
    created.ready = (async () => {
      try {
        const position = await bus.position(topic);
        created.epoch = position.epoch;
        created.offset = position.offset;
      } catch (error) {
        if (topics.get(topic) === created) topics.delete(topic);
        throw error;
      }
      created.phase = 'live';
      drainBuffer(created);
    })();
    created.ready.catch(() => {}); // awaited by the subscribes that wait on it
    return created;
  }

  function releaseTopic(state: TopicState<P>): void {
    if (state.subs.size === 0 && state.waiting === 0 && state.phase !== 'init' && topics.get(state.topic) === state) topics.delete(state.topic);
  }

  function onBusMessage(message: BusMessage): void {
    const state = topics.get(message.topic);
    if (!state) return;
    if (state.phase !== 'live') {
      state.buffer.push(message);
      return;
    }
    processLive(state, message);
  }

  function processLive(state: TopicState<P>, message: BusMessage): void {
    if (message.epoch !== state.epoch) {
      // The topic's log was lost and restarted: what came before this message in the new epoch may be read,
      // but what the clients missed in the old one is gone.
      gapAll(state, message.epoch, message.offset - 1, 'epoch');
      state.epoch = message.epoch;
      state.offset = message.offset - 1;
    }
    if (message.offset <= state.offset) return; // already delivered
    if (message.offset === state.offset + 1) {
      deliver(state, message);
      return;
    }
    state.buffer.push(message);
    void fill(state, message.offset - 1);
  }

  function deliver(state: TopicState<P>, message: BusMessage): void {
    state.offset = message.offset;
    if (state.subs.size === 0) return;
    const frame = frameOf(message); // serialized once for every subscriber
    for (const sub of state.subs) {
      if (sub.pending) {
        sub.pending.push({ message, frame });
        if (sub.pending.length > maxPending) suspend(sub);
      } else sendMessage(sub, message, frame);
    }
  }

  function gapAll(state: TopicState<P>, epoch: string, offset: number, reason: GapReason): void {
    let count = 0;
    for (const sub of state.subs) {
      count++;
      if (sub.pending) sub.pending.push({ gap: { epoch, offset, reason } });
      else sendGap(sub, epoch, offset, reason);
    }
    if (count > 0) emit('gap', { topic: state.topic, reason, subscribers: count });
  }

  /** Reads the topic's history up to `target` to fill a hole in the live stream; a gap when it cannot. */
  async function fill(state: TopicState<P>, target: number): Promise<void> {
    state.phase = 'filling';
    let after = state.offset;
    let failed = false;
    while (after < target) {
      let messages: readonly BusMessage[] = [];
      try {
        const result = await bus.read(state.topic, state.epoch, after, Math.min(pageSize, target - after));
        if (result.complete) messages = result.messages;
      } catch (error) {
        emit('error', { error, during: `reading ${state.topic} to fill a hole` });
      }
      if (topics.get(state.topic) !== state || !running) return;
      const next = messages.filter((m) => m.offset > after && m.offset <= target);
      if (next.length === 0 || next[0]!.offset !== after + 1) {
        failed = true;
        break;
      }
      for (const m of next) {
        if (m.offset !== after + 1) break;
        deliver(state, m);
        after = m.offset;
      }
    }
    if (failed) {
      gapAll(state, state.epoch, target, 'bus');
      state.offset = target;
    } else counters.holesFilled++;
    state.phase = 'live';
    drainBuffer(state);
    releaseTopic(state);
  }

  function drainBuffer(state: TopicState<P>): void {
    const buffered = state.buffer;
    state.buffer = [];
    const current = buffered.filter((m) => m.epoch === state.epoch).sort((a, b) => a.offset - b.offset);
    const others = buffered.filter((m) => m.epoch !== state.epoch);
    for (const m of [...current, ...others]) {
      if (state.phase === 'live') processLive(state, m);
      else state.buffer.push(m);
    }
  }

  /** After a bus outage: fills whatever the live stream missed of each topic, or marks it. */
  async function recheckTopics(): Promise<void> {
    for (const state of [...topics.values()]) {
      if (state.phase !== 'live') continue;
      let position;
      try {
        position = await bus.position(state.topic);
      } catch (error) {
        emit('error', { error, during: `reading the position of ${state.topic}` });
        continue;
      }
      if (topics.get(state.topic) !== state || state.phase !== 'live' || !running) continue;
      if (position.epoch !== state.epoch) {
        gapAll(state, position.epoch, position.offset, 'epoch');
        state.epoch = position.epoch;
        state.offset = position.offset;
      } else if (position.offset > state.offset) void fill(state, position.offset);
    }
  }

  // ---- subscriptions ----------------------------------------------------------------------------------

  function removeSubscription(sub: Subscription<P>): void {
    sub.cancelled = true;
    sub.pending = null;
    if (sub.conn.subs.get(sub.topic) === sub) sub.conn.subs.delete(sub.topic);
    const state = sub.state;
    if (state) {
      state.subs.delete(sub);
      releaseTopic(state);
    }
  }

  async function subscribe(conn: Connection<P>, frame: SubscribeFrame, trace: SubscribeTrace): Promise<void> {
    const { topic } = frame;
    const previous = conn.subs.get(topic);
    if (!previous && conn.subs.size >= maxSubs) {
      trace.refused('too_many_subscriptions');
      return sendError(conn, 'too_many_subscriptions', `at most ${maxSubs} subscriptions per connection`, topic);
    }
    if (previous) removeSubscription(previous);
    conn.dropped.delete(topic);
    if (frame.batch === true) conn.batch = true;
    const sub: Subscription<P> = { conn, topic, state: undefined, epoch: '', lastSent: 0, pending: [], cancelled: false };
    conn.subs.set(topic, sub);

    if (options.authorize) {
      let allowed = false;
      try {
        allowed = await options.authorize(conn.principal, topic, 'subscribe');
      } catch (error) {
        emit('error', { error, during: `authorizing a subscription to ${topic}` });
      }
      if (sub.cancelled) return;
      if (allowed !== true) {
        removeSubscription(sub);
        counters.forbidden++;
        trace.refused('forbidden');
        return sendError(conn, 'forbidden', 'not allowed to subscribe to this topic', topic);
      }
    }

    const state = acquireTopic(topic);
    state.waiting++;
    try {
      await state.ready;
    } catch (error) {
      if (!sub.cancelled) {
        removeSubscription(sub);
        emit('error', { error, during: `reading the position of ${topic}` });
        trace.refused('unavailable', error);
        sendError(conn, 'unavailable', 'the topic cannot be read right now; try again', topic);
      }
      return;
    } finally {
      state.waiting--;
    }
    if (sub.cancelled) return releaseTopic(state);

    // Live from here: whatever the topic delivers next is held in `pending` until the history is merged.
    sub.state = state;
    state.subs.add(sub);
    const target = state.offset;
    sub.epoch = state.epoch;
    sub.lastSent = target;

    if (frame.epoch !== undefined && frame.offset !== undefined) {
      counters.resumes++;
      if (frame.epoch === state.epoch && frame.offset > target && (await aheadOfThisHub(state, frame.offset))) {
        // The client comes from a hub that had seen more of this topic than this one has yet (this hub's bus
        // connection was cut, say): it has everything up to its offset, and this hub catches up behind it.
        if (sub.cancelled) return;
        sub.lastSent = frame.offset;
        counters.resumesOk++;
      } else if (frame.epoch !== state.epoch || frame.offset > target) {
        if (sub.cancelled) return;
        trace.gap('epoch');
        sendGap(sub, state.epoch, target, 'epoch');
        emit('gap', { topic, reason: 'epoch', subscribers: 1 });
      } else {
        const lost = await replay(sub, frame.offset, target, trace);
        if (sub.cancelled) return;
        if (lost) {
          trace.gap(lost);
          sendGap(sub, state.epoch, target, lost);
          emit('gap', { topic, reason: lost, subscribers: 1 });
        } else counters.resumesOk++;
      }
    }

    // Merge what arrived live meanwhile (de-duplicated by offset), then acknowledge.
    const pending = sub.pending ?? [];
    sub.pending = null;
    for (const item of pending) {
      if (sub.cancelled) return;
      if (isGap(item)) {
        trace.gap(item.gap.reason);
        sendGap(sub, item.gap.epoch, item.gap.offset, item.gap.reason);
      } else if (item.message.epoch !== sub.epoch || item.message.offset > sub.lastSent) sendMessage(sub, item.message, item.frame);
    }
    if (sub.cancelled) return;
    trace.acked(sub.epoch, sub.lastSent);
    sendControl(conn, { type: 'ack', topic, epoch: sub.epoch, offset: sub.lastSent });
  }

  /**
   * Whether the bus's log of the topic holds `offset` in this hub's epoch, i.e. a client resuming there is
   * ahead of this hub, not of the log; if so, the hub reads up to the log's head. False when the log is
   * behind the client too, or cannot be asked: the client then gets an epoch gap, as before.
   */
  async function aheadOfThisHub(state: TopicState<P>, offset: number): Promise<boolean> {
    let position;
    try {
      position = await bus.position(state.topic);
    } catch (error) {
      emit('error', { error, during: `reading the position of ${state.topic}` });
      return false;
    }
    if (position.epoch !== state.epoch || position.offset < offset) return false;
    if (topics.get(state.topic) === state && state.phase === 'live' && position.offset > state.offset) void fill(state, position.offset);
    return true;
  }

  /** Sends the topic's history after `from` up to `target`; the gap reason when it cannot. */
  async function replay(sub: Subscription<P>, from: number, target: number, trace: SubscribeTrace): Promise<GapReason | undefined> {
    let after = from;
    const epoch = sub.epoch;
    while (after < target) {
      let result;
      try {
        result = await bus.read(sub.topic, epoch, after, Math.min(pageSize, target - after));
      } catch (error) {
        if (!sub.cancelled) emit('error', { error, during: `reading the history of ${sub.topic}` });
        return sub.cancelled ? undefined : 'bus';
      }
      if (sub.cancelled) return undefined;
      if (!result.complete) return 'window';
      const next = result.messages.filter((m) => m.offset > after && m.offset <= target);
      if (next.length === 0 || next[0]!.offset !== after + 1) return 'bus';
      for (const m of next) {
        if (m.offset !== after + 1) return 'bus';
        if (!sendMessage(sub, m, frameOf(m))) return undefined; // suspended or closing: the client resumes later
        after = m.offset;
        trace.replayed(after - from);
      }
    }
    return undefined;
  }

  // ---- connections ------------------------------------------------------------------------------------

  function closeConnection(conn: Connection<P>, code: number, reason: string, cause: DisconnectCause): Promise<void> {
    if (conn.closing) return conn.closed;
    // What was queued before the close goes out before it, except to a peer cut off for not reading.
    if (cause !== 'backpressure') flushConnection(conn);
    conn.queue = [];
    conn.queuedBytes = 0;
    conn.closing = true;
    conn.cause = cause;
    for (const sub of [...conn.subs.values()]) removeSubscription(sub);
    stopDrainWatch(conn);
    try {
      conn.ws.close(code, reason);
    } catch {
      conn.ws.terminate();
    }
    conn.closeTimer = setTimeout(() => conn.ws.terminate(), closeTimeoutMs);
    conn.closeTimer.unref?.();
    return conn.closed;
  }

  function accept(ws: WebSocket, principal: P | undefined, socket: Writable | undefined): void {
    let resolveClosed!: () => void;
    const conn: Connection<P> = {
      id: nextId++,
      ws,
      principal,
      subs: new Map(),
      dropped: new Map(),
      alive: true,
      closing: false,
      cause: 'client',
      drainTimer: undefined,
      closeTimer: undefined,
      closed: new Promise<void>((resolve) => (resolveClosed = resolve)),
      batch: false,
      queue: [],
      queuedBytes: 0,
      scheduled: false,
      held: false,
      onWritten: () => wroteTo(conn),
      socket: directSocket(ws, socket),
    };
    connections.add(conn);
    ws.on('pong', () => {
      conn.alive = true;
    });
    ws.on('message', (data: RawData, isBinary: boolean) => {
      conn.alive = true;
      if (conn.closing) return;
      const bytes = Array.isArray(data) ? data.reduce((n, b) => n + b.length, 0) : data.byteLength;
      if (bytes > maxFrameBytes) {
        void closeConnection(conn, 1009, 'frame too large', 'protocol');
        return;
      }
      if (isBinary) return sendError(conn, 'bad_request', 'frames are JSON text');
      const text = Array.isArray(data) ? Buffer.concat(data).toString('utf8') : Buffer.from(data as ArrayBuffer).toString('utf8');
      const frame = parseClientFrame(text);
      if ('invalid' in frame) return sendError(conn, 'bad_request', frame.invalid, frame.topic);
      switch (frame.type) {
        case 'ping':
          return sendControl(conn, frame.id === undefined ? { type: 'pong' } : { type: 'pong', id: frame.id });
        case 'unsubscribe': {
          const sub = conn.subs.get(frame.topic);
          if (sub) removeSubscription(sub);
          conn.dropped.delete(frame.topic);
          return;
        }
        case 'subscribe':
          hubTracer.subscribe(frame.topic, frame, (trace) => subscribe(conn, frame, trace)).catch((error: unknown) => {
            emit('error', { error, during: `subscribing to ${frame.topic}` });
            sendError(conn, 'internal', 'the subscription failed', frame.topic);
          });
      }
    });
    ws.on('close', (code: number) => {
      connections.delete(conn);
      conn.closing = true;
      conn.queue = [];
      conn.queuedBytes = 0;
      for (const sub of [...conn.subs.values()]) removeSubscription(sub);
      stopDrainWatch(conn);
      if (conn.closeTimer) clearTimeout(conn.closeTimer);
      resolveClosed();
      emit('disconnect', { id: conn.id, code, cause: conn.cause });
    });
    emit('connection', { id: conn.id, principal });
  }

  function beat(): void {
    for (const conn of connections) {
      if (!conn.alive) {
        counters.reaped++;
        conn.cause = 'reaped';
        conn.closing = true;
        conn.ws.terminate();
        continue;
      }
      conn.alive = false;
      try {
        conn.ws.ping();
      } catch {
        conn.ws.terminate();
      }
    }
  }

  // ---- the hub ----------------------------------------------------------------------------------------

  const principals = new WeakMap<object, P>();

  const hub: BroadcastHub<P> = {
    bus,

    async register(app, registerOptions = {}) {
      const path = registerOptions.path ?? '/ws';
      log = app.log;
      if (!app.hasDecorator('websocketServer')) {
        await app.register(fastifyWebsocket, {
          options: { maxPayload: maxFrameBytes },
          preClose: async function closeSockets(this: FastifyInstance) {
            await hub.close();
            await new Promise<void>((resolve) => this.websocketServer.close(() => resolve()));
          },
        });
      } else {
        app.addHook('preClose', async () => {
          await hub.close();
        });
      }
      app.addHook('onReady', async () => {
        await hub.start();
      });
      app.get(
        path,
        {
          websocket: true,
          onRequest: async (request, reply) => {
            if (closing) return reply.code(503).header('retry-after', '5').send({ error: 'unavailable', message: 'the server is shutting down' });
            if (!options.authenticate) return;
            let principal: P | undefined;
            try {
              principal = await options.authenticate(request);
            } catch (error) {
              counters.authRefused++;
              if (error instanceof AuthError) {
                const status = error.reason === 'unavailable' ? 503 : 401;
                return reply.code(status).header('cache-control', 'no-store').send({ error: error.reason, message: error.message });
              }
              throw error;
            }
            if (principal === undefined) {
              counters.authRefused++;
              return reply.code(401).header('cache-control', 'no-store').send({ error: 'unauthorized', message: 'authentication is required' });
            }
            principals.set(request.raw, principal);
          },
        },
        (socket, request) => {
          if (closing || !running) {
            socket.close(closing ? 1001 : 1013, closing ? 'server shutting down' : 'not started');
            return;
          }
          accept(socket, principals.get(request.raw), request.raw.socket);
        },
      );
    },

    start() {
      if (closing) return Promise.reject(new Error('broadcast hub: closed'));
      started ??= (async () => {
        hubTracer = await loadHubTracer();
        offBusEvents = bus.onEvent((event) => {
          emit('bus', event);
          if (event.type === 'up') void recheckTopics();
        });
        offBus = bus.onMessage(onBusMessage);
        await bus.start();
        running = true;
        if (heartbeatMs > 0) {
          heartbeat = setInterval(beat, heartbeatMs);
          heartbeat.unref?.();
        }
      })();
      return started;
    },

    close() {
      closing ??= (async () => {
        if (started) await started.catch(() => {});
        if (heartbeat) clearInterval(heartbeat);
        await Promise.all([...connections].map((conn) => closeConnection(conn, 1001, 'server shutting down', 'shutdown')));
        running = false;
        if (flushTimer) clearImmediate(flushTimer);
        flushTimer = undefined;
        flushList = [];
        flushHead = 0;
        offBus?.();
        offBusEvents?.();
        topics.clear();
        if (closeBus) await bus.close();
      })();
      return closing;
    },

    async publish(topic, data) {
      if (!isValidTopic(topic)) throw new TypeError('broadcast hub: topic must be a string of 1 to 200 characters');
      if (closing) throw new Error('broadcast hub: closed');
      if (!running) throw new Error('broadcast hub: not started');
      const text = JSON.stringify(data);
      if (text === undefined) throw new TypeError('broadcast hub: data must be serializable as JSON');
      const message = await hubTracer.publish(topic, () => bus.publish(topic, text));
      counters.published++;
      return message;
    },

    stats() {
      let subscriptions = 0;
      let bufferedBytes = 0;
      for (const conn of connections) {
        subscriptions += conn.subs.size;
        bufferedBytes += pendingBytes(conn);
      }
      return { ...counters, gaps: { ...counters.gaps }, connections: connections.size, subscriptions, topics: topics.size, bufferedBytes };
    },

    on: events.on,
  };
  return hub;
}
