/**
 * The two Redis connections a runtime component keeps (commands, and a subscriber, which Redis reserves for
 * pub/sub once it subscribes) and how it follows their lifecycle. Shared by the broadcast bus and the health
 * store, which differ only in what they do on each event.
 */
import { Redis, type RedisOptions } from 'ioredis';

/**
 * Options for the connections a component opens: nothing queued or resent while Redis is away (a command
 * fails at once, and the component falls back or reports), no automatic resubscription (the component
 * subscribes again on every `ready`, so it knows when the subscription is live), and reconnection backoff
 * doubling from `minDelayMs` to `maxDelayMs` with jitter.
 */
export function componentOptions(base: RedisOptions | undefined, minDelayMs: number, maxDelayMs: number): RedisOptions {
  return {
    ...base,
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    autoResubscribe: false,
    retryStrategy: (times: number) => {
      const ceiling = Math.min(maxDelayMs, minDelayMs * 2 ** Math.min(20, Math.max(0, times - 1)));
      return Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
    },
  };
}

export interface ConnectionPair {
  cmd: Redis;
  sub: Redis;
  /** The component opened `cmd` itself (no client given), so it also closes it. */
  ownsCmd: boolean;
}

/** A given client runs the commands and lends its settings to a new subscriber; else both are new. */
export function openConnectionPair(client: Redis | undefined, url: string | undefined, options: RedisOptions): ConnectionPair {
  if (client) return { cmd: client, sub: client.duplicate(options), ownsCmd: false };
  return { cmd: new Redis(url!, options), sub: new Redis(url!, options), ownsCmd: true };
}

export interface ConnectionHandlers {
  error: (error: Error) => void;
  close: () => void;
  ready: () => void;
  /** A pub/sub event (`message`, `messageBuffer`) and its listener, on a subscriber. */
  message?: [event: 'message' | 'messageBuffer', listener: (...args: any[]) => void];
}

/**
 * Attaches the handlers; the function returned detaches them. The error handler stays on a connection the
 * component owns, so that its errors while it closes are still swallowed; a given client's are its owner's.
 */
export function watchConnection(connection: Redis, handlers: ConnectionHandlers, owned: boolean): () => void {
  connection.on('error', handlers.error);
  connection.on('close', handlers.close);
  connection.on('ready', handlers.ready);
  if (handlers.message) connection.on(handlers.message[0], handlers.message[1]);
  return () => {
    connection.off('close', handlers.close);
    connection.off('ready', handlers.ready);
    if (handlers.message) connection.off(handlers.message[0], handlers.message[1]);
    if (!owned) connection.off('error', handlers.error);
  };
}
