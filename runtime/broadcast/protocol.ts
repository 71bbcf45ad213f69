/**
 * The broadcast wire protocol (docs/realtime-protocol.md): JSON text frames, one object per frame, with a
 * `type`. Shared by the hub (index.ts) and the client helper (client.ts); no Node or browser API here.
 */

/** Why a subscription's stream is interrupted (see `GapFrame`). */
export type GapReason =
  /** The missed messages are older than the history the bus keeps: reload the state. */
  | 'window'
  /** The topic's log was lost (new epoch) or the position is unknown to it: reload the state. */
  | 'epoch'
  /** The connection could not keep up; the subscription was suspended: resubscribe with the position to resume. */
  | 'backpressure'
  /** The hub's live stream from the bus had a hole it could not fill from history: reload the state. */
  | 'bus';

export const GAP_REASONS: readonly GapReason[] = ['window', 'epoch', 'backpressure', 'bus'];

export type ErrorCode = 'bad_request' | 'forbidden' | 'too_many_subscriptions' | 'unavailable' | 'internal';

// Client → server.
export interface SubscribeFrame {
  type: 'subscribe';
  topic: string;
  /** With `offset`: resume after this position (both or neither). */
  epoch?: string;
  offset?: number;
  /**
   * The client understands `batch` frames: from then on the hub may send several messages waiting for this
   * connection (of any topic) as one batch frame. Without it, every message comes in its own frame.
   */
  batch?: boolean;
}
export interface UnsubscribeFrame {
  type: 'unsubscribe';
  topic: string;
}
export interface PingFrame {
  type: 'ping';
  /** Echoed in the pong. */
  id?: string | number;
}
export type ClientFrame = SubscribeFrame | UnsubscribeFrame | PingFrame;

// Server → client.
/** The subscription is live: every message after (`epoch`, `offset`) will be delivered. */
export interface AckFrame {
  type: 'ack';
  topic: string;
  epoch: string;
  offset: number;
}
export interface MessageFrame<T = unknown> {
  type: 'message';
  topic: string;
  epoch: string;
  offset: number;
  data: T;
}
/**
 * Delivery of the topic was interrupted. The client's position is now (`epoch`, `offset`). For `backpressure`
 * this is the last message delivered and the subscription is suspended: resubscribe with it to resume without
 * loss. For the other reasons messages were lost; the subscription continues after this position.
 */
export interface GapFrame {
  type: 'gap';
  topic: string;
  epoch: string;
  offset: number;
  reason: GapReason;
}
/**
 * Several messages in one frame, in the order they would have come one by one (for connections whose client
 * said `batch: true` on a subscribe). Each element is exactly a `message` frame; handle them in order as if
 * they had arrived separately. Acks, gaps, errors and pongs are never inside a batch.
 */
export interface BatchFrame {
  type: 'batch';
  messages: MessageFrame[];
}
export interface ErrorFrame {
  type: 'error';
  code: ErrorCode;
  message: string;
  topic?: string;
}
export interface PongFrame {
  type: 'pong';
  id?: string | number;
}
export type ServerFrame = AckFrame | MessageFrame | BatchFrame | GapFrame | ErrorFrame | PongFrame;

/** Longest topic name accepted. */
export const MAX_TOPIC_LENGTH = 200;

export function isValidTopic(topic: unknown): topic is string {
  return typeof topic === 'string' && topic.length > 0 && topic.length <= MAX_TOPIC_LENGTH;
}

/** A client frame from its text, or a description of what is wrong with it. */
export function parseClientFrame(text: string): ClientFrame | { invalid: string; topic?: string } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { invalid: 'frame is not JSON' };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { invalid: 'frame is not a JSON object' };
  const frame = value as Record<string, unknown>;
  switch (frame.type) {
    case 'ping': {
      const id = frame.id;
      if (id !== undefined && typeof id !== 'string' && typeof id !== 'number') return { invalid: 'ping id must be a string or a number' };
      return id === undefined ? { type: 'ping' } : { type: 'ping', id };
    }
    case 'unsubscribe':
      if (!isValidTopic(frame.topic)) return { invalid: `topic must be a string of 1 to ${MAX_TOPIC_LENGTH} characters` };
      return { type: 'unsubscribe', topic: frame.topic };
    case 'subscribe': {
      if (!isValidTopic(frame.topic)) return { invalid: `topic must be a string of 1 to ${MAX_TOPIC_LENGTH} characters` };
      const { topic, epoch, offset, batch } = frame;
      if (batch !== undefined && typeof batch !== 'boolean') return { invalid: 'batch must be a boolean', topic };
      const subscribe: SubscribeFrame = batch === true ? { type: 'subscribe', topic, batch } : { type: 'subscribe', topic };
      if (epoch === undefined && offset === undefined) return subscribe;
      if (typeof epoch !== 'string' || epoch.length === 0 || epoch.length > 200) return { invalid: 'epoch must be a non-empty string, given with offset', topic };
      if (typeof offset !== 'number' || !Number.isSafeInteger(offset) || offset < 0) return { invalid: 'offset must be a non-negative integer, given with epoch', topic };
      return { ...subscribe, epoch, offset };
    }
    default:
      return { invalid: 'type must be subscribe, unsubscribe or ping' };
  }
}

/** A message frame around `data`, already serialized JSON: built once, sent to every subscriber. */
export function messageFrameText(topic: string, epoch: string, offset: number, data: string): string {
  return `{"type":"message","topic":${JSON.stringify(topic)},"epoch":${JSON.stringify(epoch)},"offset":${offset},"data":${data}}`;
}

/** How a batch frame's text starts and ends around its message frames (joined by `,`). */
export const BATCH_FRAME_HEAD = '{"type":"batch","messages":[';
export const BATCH_FRAME_TAIL = ']}';
