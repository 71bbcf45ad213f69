/** Small pieces every bus shares: listener sets that one failing listener cannot break, and the delivered-offset table. */
import type { BusMessage } from './bus.js';

/** A set of listeners. A listener that throws does not stop the others; its error is rethrown asynchronously. */
export interface Listeners<T> {
  /** Adds a listener (the same function twice counts twice); returns the function that removes it. */
  add(listener: (value: T) => void): () => void;
  emit(value: T): void;
  clear(): void;
  /** How many listeners there are. */
  readonly size: number;
}

export function createListeners<T>(): Listeners<T> {
  const set = new Set<(value: T) => void>();
  return {
    add(listener) {
      const wrapped = (value: T) => listener(value);
      set.add(wrapped);
      return () => {
        set.delete(wrapped);
      };
    },
    emit(value) {
      for (const listener of set) {
        try {
          listener(value);
        } catch (error) {
          queueMicrotask(() => {
            throw error;
          });
        }
      }
    },
    clear() {
      set.clear();
    },
    get size() {
      return set.size;
    },
  };
}

/**
 * Records `message` as the last delivered on its topic in `positions` (kept in least-recently-delivered order);
 * past `max` topics, the least recently delivered one is forgotten. The entry object is updated in place.
 */
export function recordDelivered(positions: Map<string, { epoch: string; offset: number }>, max: number, message: BusMessage): void {
  const known = positions.get(message.topic);
  if (known) {
    positions.delete(message.topic);
    known.epoch = message.epoch;
    known.offset = message.offset;
    positions.set(message.topic, known);
    return;
  }
  positions.set(message.topic, { epoch: message.epoch, offset: message.offset });
  if (positions.size > max) positions.delete(positions.keys().next().value as string);
}
