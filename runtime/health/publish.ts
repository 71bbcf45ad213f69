/**
 * Upstream state changes as messages for a publisher (the broadcast hub in a generated server, or anything
 * with a `publish(topic, data)`): URLs ejected and restored, the breaker opening, half-opening and closing,
 * panic mode entered and left. Retries are not state changes and are not published.
 *
 *   const stop = publishHealthChanges(Object.values(app.upstreams), (topic, data) => hub.publish(topic, data));
 *
 * Messages go out one at a time in the order the changes happened; a publish that fails (the hub not
 * started yet, its bus away) is reported to `onError` and the next one goes on.
 */
import { orderedSender } from '../events.js';
import type { Upstream, UpstreamEvents } from './index.js';

/** The events published, and their message `type` (`upstream.<event>`). */
export const HEALTH_CHANGE_EVENTS = ['ejected', 'restored', 'breaker', 'panic'] as const;
export type HealthChangeEvent = (typeof HEALTH_CHANGE_EVENTS)[number];

/** One published message: `{ type: 'upstream.breaker', data: { upstream, state, previous, … } }`. */
export type HealthChange = { [E in HealthChangeEvent]: { type: `upstream.${E}`; data: UpstreamEvents[E] } }[HealthChangeEvent];

export interface PublishHealthOptions {
  /** Default `health.upstreams`. */
  topic?: string;
  /** A publish that failed (default: ignored). */
  onError?: (error: unknown, change: HealthChange) => void;
}

/** Publishes every state change of `upstreams` on `topic`; returns the function that stops it. */
export function publishHealthChanges(
  upstreams: Upstream | Iterable<Upstream>,
  publish: (topic: string, change: HealthChange) => unknown,
  options: PublishHealthOptions = {},
): () => void {
  const topic = options.topic ?? 'health.upstreams';
  const list = isUpstream(upstreams) ? [upstreams] : [...upstreams];
  const sender = orderedSender((change: HealthChange) => publish(topic, change), options.onError);
  const send = sender.push;
  const offs = list.flatMap((upstream) =>
    HEALTH_CHANGE_EVENTS.map((event) => upstream.on(event, (data: UpstreamEvents[typeof event]) => send({ type: `upstream.${event}`, data } as HealthChange))),
  );
  return () => {
    sender.stop();
    for (const off of offs) off();
  };
}

function isUpstream(value: Upstream | Iterable<Upstream>): value is Upstream {
  return typeof (value as Upstream).fetch === 'function' && typeof (value as Upstream).on === 'function';
}
