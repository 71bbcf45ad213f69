/**
 * Typed events of a runtime component (an upstream, a pull job, a dispatcher, …): `on` returns the function
 * that removes the listener; `emit` calls the event's listeners in the order they were added, and a listener
 * that throws does not stop the others (its error is its own).
 */
export interface TypedEvents<E> {
  on<K extends keyof E>(event: K, listener: (event: E[K]) => void): () => void;
  emit<K extends keyof E>(event: K, payload: E[K]): void;
  /** How many listeners the event has now. */
  count(event: keyof E): number;
}

export interface EventsOptions<E> {
  /** What becomes of a listener's error (default: nothing; it is the listener's own). A throw here stops the emit. */
  onListenerError?: (event: keyof E, error: unknown) => void;
}

export function createEvents<E>(options: EventsOptions<E> = {}): TypedEvents<E> {
  const listeners = new Map<keyof E, Set<(event: never) => void>>();
  return {
    count: (event) => listeners.get(event)?.size ?? 0,
    on(event, listener) {
      let set = listeners.get(event);
      if (!set) listeners.set(event, (set = new Set()));
      set.add(listener as (event: never) => void);
      return () => {
        set.delete(listener as (event: never) => void);
      };
    },
    emit(event, payload) {
      for (const listener of [...(listeners.get(event) ?? [])]) {
        try {
          (listener as (event: typeof payload) => void)(payload);
        } catch (error) {
          options.onListenerError?.(event, error);
        }
      }
    },
  };
}

/**
 * Passes values to `send` one at a time, in the order they were pushed, each after the previous send settled
 * (events published to a hub in the order they happened); a send that fails goes to `onError` and the next
 * one goes on. After `stop()` pushes are ignored.
 */
export function orderedSender<T>(send: (value: T) => unknown, onError?: (error: unknown, value: T) => void): { push(value: T): void; stop(): void } {
  let queue: Promise<void> = Promise.resolve();
  let stopped = false;
  return {
    push(value) {
      if (stopped) return;
      queue = queue.then(async () => {
        try {
          await send(value);
        } catch (error) {
          onError?.(error, value);
        }
      });
    },
    stop() {
      stopped = true;
    },
  };
}
