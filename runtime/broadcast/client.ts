/**
 * backdev/runtime/broadcast/client: the client side of the broadcast protocol, for browsers and Node ≥ 20.
 * It keeps one WebSocket open (reconnecting with exponential backoff and full jitter), resubscribes every
 * topic after a reconnect from the last position it saw, so nothing is missed inside the server's replay
 * window, and reports a gap when something was.
 *
 *   type Topics = { 'pets.created': Pet; 'pets.deleted': { id: number } };
 *   const client = createBroadcastClient<Topics>({ url: 'wss://api.example.com/ws' }); // Node 20: WebSocket: ws
 *   client.subscribe('pets.created', { onMessage: (pet) => add(pet), onGap: () => reload() });
 *
 * The global `WebSocket` is used when there is one (browsers, Node ≥ 22); otherwise pass a constructor
 * (`import WebSocket from 'ws'`). Nothing here depends on Node.
 */
import { createEvents } from '../events.js';
import type { AckFrame, ErrorFrame, GapFrame, MessageFrame, ServerFrame, SubscribeFrame } from './protocol.js';

export type { AckFrame, ErrorFrame, GapFrame, GapReason, MessageFrame } from './protocol.js';

/** The part of the WebSocket API the client uses (the browser's, Node's global, or `ws`'s). */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((event: any) => void) | null;
  onmessage: ((event: any) => void) | null;
  onclose: ((event: any) => void) | null;
  onerror: ((event: any) => void) | null;
}
export type WebSocketConstructor = new (url: string, protocols?: string | string[]) => WebSocketLike;

/** Where a topic's stream stands on the client: the last position delivered. */
export interface Position {
  epoch: string;
  offset: number;
}

export interface MessageMeta {
  topic: string;
  epoch: string;
  offset: number;
}

export interface TopicHandlers<T> {
  onMessage(data: T, meta: MessageMeta): void;
  /**
   * Messages were lost (window exceeded, epoch changed, bus hole): reload the state. Not called when the
   * server suspended the topic for backpressure: the client resumes it by itself.
   */
  onGap?(gap: GapFrame): void;
  /** The subscription is live at the ack's position (after every reconnect too). */
  onAck?(ack: AckFrame): void;
  /** The server refused the subscription (`forbidden`, `bad_request`, …); it is not retried. */
  onError?(error: ErrorFrame): void;
  /** Resume after this position (one saved across page loads, say) instead of starting live. */
  from?: Position;
}

export interface ReconnectOptions {
  /** First delay cap; default 250 ms. */
  initialDelayMs?: number;
  /** Largest delay cap; default 10 s. */
  maxDelayMs?: number;
}

export interface BroadcastClientOptions {
  /** The hub's URL, or a function giving it for each connection (to refresh a token in it, say). */
  url: string | (() => string | Promise<string>);
  /** The constructor when there is no global `WebSocket` (Node 20: `ws`). */
  WebSocket?: WebSocketConstructor;
  protocols?: string | string[];
  /** `false`: do not reconnect. */
  reconnect?: ReconnectOptions | false;
  /** How often to ping; a connection silent for two intervals is dropped and reopened. Default 25 s; 0: never. */
  pingIntervalMs?: number;
  /** Random numbers in [0, 1) for the jitter (tests). */
  random?: () => number;
  /**
   * Default true: tells the hub this client takes `batch` frames, so that messages waiting for it go out
   * several to a frame when it falls behind (each is still delivered on its own, in order, once).
   */
  batch?: boolean;
}

export interface BroadcastClientEvents {
  open: undefined;
  close: { code: number; reason: string };
  /** A frame that could not be understood, or a connection error. */
  error: { error: unknown };
  /** Errors the server sent for no topic in particular. */
  serverError: ErrorFrame;
}

export interface BroadcastClient<T extends object = Record<string, unknown>> {
  /** Subscribes (again, replacing the handlers) to `topic`; returns the function that unsubscribes. */
  subscribe<K extends keyof T & string>(topic: K, handlers: TopicHandlers<T[K]>): () => void;
  unsubscribe(topic: keyof T & string): void;
  /** The last position delivered on `topic` (save it to resume later with `from`). */
  position(topic: keyof T & string): Position | undefined;
  readonly connected: boolean;
  on<E extends keyof BroadcastClientEvents>(event: E, listener: (event: BroadcastClientEvents[E]) => void): () => void;
  /** Closes the connection for good; idempotent. */
  close(): void;
}

interface Entry {
  handlers: TopicHandlers<any>;
  position: Position | undefined;
  retry: ReturnType<typeof setTimeout> | undefined;
}

const OPEN = 1;
const ignore = () => {};

export function createBroadcastClient<T extends object = Record<string, unknown>>(options: BroadcastClientOptions): BroadcastClient<T> {
  const Ctor = options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
  if (!Ctor) throw new TypeError('broadcast client: no global WebSocket here; pass one (e.g. `WebSocket` from the ws package) as options.WebSocket');
  const reconnect = options.reconnect === false ? undefined : { initialDelayMs: 250, maxDelayMs: 10_000, ...options.reconnect };
  const pingIntervalMs = options.pingIntervalMs ?? 25_000;
  const random = options.random ?? Math.random;
  const batch = options.batch ?? true;

  const topics = new Map<string, Entry>();
  // A listener's error reaches the code that caused the event, as it always has.
  const events = createEvents<BroadcastClientEvents>({
    onListenerError: (_event, error) => {
      throw error;
    },
  });
  let ws: WebSocketLike | undefined;
  let attempt = 0;
  let closed = false;
  let reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  let pingTimer: ReturnType<typeof setInterval> | undefined;
  let lastFrameAt = 0;
  let connecting = false;

  const emit = events.emit;

  function send(frame: object): void {
    if (ws && ws.readyState === OPEN) ws.send(JSON.stringify(frame));
  }

  function sendSubscribe(topic: string, entry: Entry): void {
    const p = entry.position;
    const frame: SubscribeFrame = batch ? { type: 'subscribe', topic, batch } : { type: 'subscribe', topic };
    send(p ? { ...frame, epoch: p.epoch, offset: p.offset } : frame);
  }

  async function connect(): Promise<void> {
    reconnectTimer = undefined;
    if (connecting || ws || closed) return;
    connecting = true;
    let url: string;
    try {
      url = typeof options.url === 'string' ? options.url : await options.url();
    } catch (error) {
      emit('error', { error });
      return scheduleReconnect();
    } finally {
      connecting = false;
    }
    if (closed) return;
    let socket: WebSocketLike;
    try {
      socket = options.protocols === undefined ? new Ctor!(url) : new Ctor!(url, options.protocols);
    } catch (error) {
      emit('error', { error });
      return scheduleReconnect();
    }
    ws = socket;
    socket.onopen = () => {
      lastFrameAt = Date.now();
      for (const [topic, entry] of topics) sendSubscribe(topic, entry);
      startPing(socket);
      emit('open', undefined);
    };
    socket.onmessage = (event: { data: unknown }) => {
      lastFrameAt = Date.now();
      let frame: ServerFrame;
      try {
        frame = JSON.parse(String(event.data)) as ServerFrame;
      } catch (error) {
        return emit('error', { error });
      }
      onFrame(frame);
    };
    socket.onerror = (event: unknown) => emit('error', { error: event });
    socket.onclose = (event: { code?: number; reason?: string }) => dropped(socket, event.code ?? 1006, event.reason ?? '');
  }

  /** The socket is gone (closed, or given up as silent): forget it and reconnect. */
  function dropped(socket: WebSocketLike, code: number, reason: string): void {
    if (ws !== socket) return;
    socket.onopen = socket.onmessage = socket.onclose = null;
    socket.onerror = ignore; // some implementations throw on an error event nobody listens to
    ws = undefined;
    stopPing();
    // The next connection resubscribes every topic; a retry left from this one would subscribe a second
    // time on it, from a position behind the frames already in flight (the server would send them twice).
    for (const entry of topics.values()) {
      if (entry.retry) clearTimeout(entry.retry);
      entry.retry = undefined;
    }
    emit('close', { code, reason });
    scheduleReconnect();
  }

  function scheduleReconnect(): void {
    if (closed || !reconnect || reconnectTimer) return;
    // Full jitter: anywhere between 0 and the exponential cap, so clients dropped together do not return together.
    const cap = Math.min(reconnect.maxDelayMs, reconnect.initialDelayMs * 2 ** Math.min(attempt, 30));
    attempt++;
    reconnectTimer = setTimeout(() => void connect(), Math.floor(random() * cap));
  }

  function startPing(socket: WebSocketLike): void {
    stopPing();
    if (pingIntervalMs <= 0) return;
    pingTimer = setInterval(() => {
      if (Date.now() - lastFrameAt > 2 * pingIntervalMs) {
        try {
          socket.close(4000, 'silent');
        } catch {
          // closing a dead socket may throw in some implementations; it is given up either way
        }
        return dropped(socket, 1006, 'no frame from the server');
      }
      send({ type: 'ping' });
    }, pingIntervalMs);
  }

  function stopPing(): void {
    if (pingTimer) clearInterval(pingTimer);
    pingTimer = undefined;
  }

  function onFrame(frame: ServerFrame): void {
    if (frame.type === 'pong') return;
    if (frame.type === 'batch') return onBatch(frame.messages);
    if (frame.type === 'error' && frame.topic === undefined) return emit('serverError', frame);
    const entry = topics.get(frame.topic!);
    if (!entry) return; // unsubscribed meanwhile
    switch (frame.type) {
      case 'message': {
        const p = entry.position;
        if (p && p.epoch === frame.epoch && frame.offset <= p.offset) return; // already delivered
        entry.position = { epoch: frame.epoch, offset: frame.offset };
        entry.handlers.onMessage(frame.data, { topic: frame.topic, epoch: frame.epoch, offset: frame.offset });
        return;
      }
      case 'ack':
        attempt = 0;
        entry.position = { epoch: frame.epoch, offset: frame.offset };
        entry.handlers.onAck?.(frame);
        return;
      case 'gap':
        entry.position = { epoch: frame.epoch, offset: frame.offset };
        if (frame.reason === 'backpressure') sendSubscribe(frame.topic, entry);
        else entry.handlers.onGap?.(frame);
        return;
      case 'error':
        if (frame.code === 'unavailable' || frame.code === 'internal') {
          // The server could not read the topic right now: try again shortly.
          if (!entry.retry) {
            entry.retry = setTimeout(() => {
              entry.retry = undefined;
              if (topics.get(frame.topic!) === entry) sendSubscribe(frame.topic!, entry);
            }, 1000 + Math.floor(random() * 1000));
          }
        } else topics.delete(frame.topic!);
        entry.handlers.onError?.(frame);
    }
  }

  /**
   * The messages of a batch frame, one by one through the same path as separate frames (position,
   * de-duplication by offset). A handler that throws does not cost the messages after it in the batch.
   */
  function onBatch(messages: unknown): void {
    if (!Array.isArray(messages)) return emit('error', { error: new TypeError('broadcast client: a batch frame without a messages array') });
    for (const message of messages as MessageFrame[]) {
      if (typeof message !== 'object' || message === null || message.type !== 'message') {
        emit('error', { error: new TypeError('broadcast client: a batch frame holds something other than a message') });
        continue;
      }
      try {
        onFrame(message);
      } catch (error) {
        emit('error', { error });
      }
    }
  }

  const client: BroadcastClient<T> = {
    subscribe(topic, handlers) {
      if (closed) throw new Error('broadcast client: closed');
      const previous = topics.get(topic);
      if (previous?.retry) clearTimeout(previous.retry);
      const entry: Entry = { handlers, position: handlers.from ? { ...handlers.from } : previous?.position, retry: undefined };
      topics.set(topic, entry);
      sendSubscribe(topic, entry);
      if (!ws && !reconnectTimer && !connecting) void connect();
      return () => {
        if (topics.get(topic) === entry) client.unsubscribe(topic);
      };
    },
    unsubscribe(topic) {
      const entry = topics.get(topic);
      if (!entry) return;
      if (entry.retry) clearTimeout(entry.retry);
      topics.delete(topic);
      send({ type: 'unsubscribe', topic });
    },
    position(topic) {
      const p = topics.get(topic)?.position;
      return p ? { ...p } : undefined;
    },
    get connected() {
      return ws !== undefined && ws.readyState === OPEN;
    },
    on: events.on,
    close() {
      if (closed) return;
      closed = true;
      if (reconnectTimer) clearTimeout(reconnectTimer);
      reconnectTimer = undefined;
      stopPing();
      for (const entry of topics.values()) if (entry.retry) clearTimeout(entry.retry);
      const socket = ws;
      if (socket) {
        ws = undefined;
        socket.onopen = socket.onmessage = null;
        socket.onerror = ignore;
        socket.onclose = (event: { code?: number; reason?: string }) => emit('close', { code: event.code ?? 1005, reason: event.reason ?? '' });
        try {
          socket.close(1000, 'client closed');
        } catch {
          // closing a socket that is still connecting may throw; it is abandoned either way
        }
      }
    },
  };
  void connect();
  return client;
}
