/**
 * A context manager for `@opentelemetry/api` that carries the active context along promises only, built on
 * V8's promise hooks (`node:v8` `promiseHooks`): a promise remembers the context it was created in, and its
 * `then` callbacks, and the code after an `await` on it, run in that context again.
 *
 * Why it exists: on Node 20 and 22 an `AsyncLocalStorage` turns on async hooks, whose bookkeeping (an async
 * id and a resource stack entry for every promise, timer, tick and socket operation) costs each `await`
 * about three times what this manager's three small calls per promise do, and this manager does nothing
 * for other resources. A handler that awaits 30 times: 54 to 62 µs of CPU here, 64 to 80 µs with
 * `AsyncLocalStorage`, 48 to 58 µs with no context carried (docs/tracing.md, Overhead).
 *
 * What it does not do: a callback of a timer, `setImmediate`, `queueMicrotask` or an event emitter runs
 * in the root context, not in the one it was scheduled from (bind it with `context.bind`, or use
 * `contextManager: 'async-local-storage'`). What generated servers do inside a request (handlers, Kysely,
 * `fetch`) goes through promises and `await`.
 *
 * The current context is the instance's own field; `with()` restores it in `finally`, and the hooks restore
 * it after each callback, so nothing leaks from one request into the next.
 */
import { EventEmitter } from 'node:events';
import { promiseHooks } from 'node:v8';
import { ROOT_CONTEXT, type Context, type ContextManager } from '@opentelemetry/api';

type Listener = (...args: unknown[]) => void;
const ADD_METHODS = ['on', 'addListener', 'prependListener', 'once', 'prependOnceListener'] as const;
const REMOVE_METHODS = ['off', 'removeListener'] as const;

export class PromiseContextManager implements ContextManager {
  #current: Context = ROOT_CONTEXT;
  #stop: (() => void) | undefined;
  /** Where each promise keeps the context it was created in (a property of this instance's own). */
  readonly #key = Symbol('backdev.tracing.context');

  active(): Context {
    return this.#current;
  }

  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(context: Context, fn: F, thisArg?: ThisParameterType<F>, ...args: A): ReturnType<F> {
    const previous = this.#current;
    this.#current = context;
    try {
      return fn.call(thisArg, ...args);
    } finally {
      this.#current = previous;
    }
  }

  bind<T>(context: Context, target: T): T {
    if (typeof target === 'function') return this.#bindFunction(context, target as unknown as Listener) as T;
    if (target instanceof EventEmitter) return this.#bindEmitter(context, target) as T;
    return target;
  }

  enable(): this {
    if (this.#stop) return this;
    const key = this.#key;
    // The contexts to go back to after each callback: callbacks do not nest, but a `with()` inside one
    // may start another promise chain, so a stack rather than one slot.
    const saved: Context[] = [];
    this.#stop = promiseHooks.createHook({
      // Promises made outside any context (most of a process's) are not written to.
      init: (promise: Promise<unknown>) => {
        if (this.#current !== ROOT_CONTEXT) (promise as unknown as Record<symbol, Context>)[key] = this.#current;
      },
      before: (promise: Promise<unknown>) => {
        saved.push(this.#current);
        this.#current = (promise as unknown as Record<symbol, Context | undefined>)[key] ?? ROOT_CONTEXT;
      },
      after: () => {
        this.#current = saved.pop() ?? ROOT_CONTEXT;
      },
    }) as () => void;
    return this;
  }

  disable(): this {
    this.#stop?.();
    this.#stop = undefined;
    this.#current = ROOT_CONTEXT;
    return this;
  }

  #bindFunction(context: Context, fn: Listener): Listener {
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const manager = this;
    const bound = function (this: unknown, ...args: unknown[]) {
      return manager.with(context, () => fn.apply(this, args));
    };
    Object.defineProperty(bound, 'length', { value: fn.length, configurable: true });
    return bound;
  }

  /** Listeners added from now on run in `context`; removing the original listener removes its bound one. */
  #bindEmitter(context: Context, emitter: EventEmitter): EventEmitter {
    const bound = new Map<string | symbol, WeakMap<Listener, Listener>>();
    const record = emitter as unknown as Record<string, (event: string | symbol, listener: Listener) => EventEmitter>;
    for (const name of ADD_METHODS) {
      const original = record[name]!;
      record[name] = (event, listener) => {
        let perEvent = bound.get(event);
        if (!perEvent) bound.set(event, (perEvent = new WeakMap()));
        const wrapped = perEvent.get(listener) ?? this.#bindFunction(context, listener);
        perEvent.set(listener, wrapped);
        return original.call(emitter, event, wrapped);
      };
    }
    for (const name of REMOVE_METHODS) {
      const original = record[name]!;
      record[name] = (event, listener) => original.call(emitter, event, bound.get(event)?.get(listener) ?? listener);
    }
    return emitter;
  }
}

/**
 * Whether `AsyncLocalStorage` here is carried by V8's continuation data (AsyncContextFrame: Node 24 and
 * later by default, Node 22.7+ with `--experimental-async-context-frame`) rather than async hooks; then it
 * costs next to nothing and carries the context into callbacks as well.
 */
export function hasAsyncContextFrame(versions: NodeJS.ProcessVersions = process.versions, flags: string[] = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)]): boolean {
  const major = Number(versions.node.split('.')[0]);
  if (major >= 24) return !flags.includes('--no-async-context-frame');
  return major >= 22 && flags.includes('--experimental-async-context-frame');
}
