/**
 * The promise context manager (runtime/tracing/promise-context.ts): the context follows promises and
 * `await`, concurrent chains keep their own, nothing leaks into code that runs later outside them, and
 * what it does not carry (timer callbacks) is what its documentation says.
 */
import { EventEmitter } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { ROOT_CONTEXT, createContextKey, type Context } from '@opentelemetry/api';
import { afterEach, describe, expect, it } from 'vitest';
import { createTracing } from '../../../runtime/tracing/index.js';
import { hasAsyncContextFrame, PromiseContextManager } from '../../../runtime/tracing/promise-context.js';

const KEY = createContextKey('test request');
const named = (name: string): Context => ROOT_CONTEXT.setValue(KEY, name);
const nameIn = (manager: PromiseContextManager) => manager.active().getValue(KEY);

let manager: PromiseContextManager;
afterEach(() => {
  manager?.disable();
});

describe('PromiseContextManager', () => {
  it('carries the context across await, then callbacks, Promise.all and nested async functions', async () => {
    manager = new PromiseContextManager().enable();
    const seen: unknown[] = [];
    const inner = async () => {
      await sleep(2);
      seen.push(nameIn(manager));
      return nameIn(manager);
    };
    const result = await manager.with(named('a'), async () => {
      seen.push(nameIn(manager));
      await null;
      seen.push(nameIn(manager));
      const all = await Promise.all([inner(), inner()]);
      const chained = await Promise.resolve(1).then(() => nameIn(manager));
      return [...all, chained];
    });
    expect(result).toEqual(['a', 'a', 'a']);
    expect(seen).toEqual(['a', 'a', 'a', 'a']);
    expect(manager.active()).toBe(ROOT_CONTEXT);
  });

  it('keeps interleaved chains apart: each sees its own context after every await', async () => {
    manager = new PromiseContextManager().enable();
    const request = (name: string, delays: number[]) =>
      manager.with(named(name), async () => {
        const seen: unknown[] = [];
        for (const ms of delays) {
          await sleep(ms);
          seen.push(nameIn(manager));
          // A nested context inside one chain does not escape it.
          await manager.with(named(`${name}-inner`), async () => {
            await sleep(1);
            seen.push(nameIn(manager));
          });
          seen.push(nameIn(manager));
        }
        return seen;
      });
    const [a, b, c] = await Promise.all([request('a', [3, 1, 2]), request('b', [1, 3, 1]), request('c', [2, 2, 2])]);
    expect(a).toEqual(['a', 'a-inner', 'a', 'a', 'a-inner', 'a', 'a', 'a-inner', 'a']);
    expect(b).toEqual(['b', 'b-inner', 'b', 'b', 'b-inner', 'b', 'b', 'b-inner', 'b']);
    expect(c).toEqual(['c', 'c-inner', 'c', 'c', 'c-inner', 'c', 'c', 'c-inner', 'c']);
  });

  it('leaves the root context to code outside the chains, including after a rejection', async () => {
    manager = new PromiseContextManager().enable();
    await expect(
      manager.with(named('failing'), async () => {
        await sleep(1);
        throw new Error('no');
      }),
    ).rejects.toThrow('no');
    expect(manager.active()).toBe(ROOT_CONTEXT);
    // A chain started outside sees the root, even when a context's chain settles while it waits.
    const outside = (async () => {
      await sleep(3);
      return manager.active();
    })();
    await manager.with(named('busy'), () => sleep(1));
    expect(await outside).toBe(ROOT_CONTEXT);
    expect(() => manager.with(named('sync'), () => {
      throw new Error('sync throw');
    })).toThrow('sync throw');
    expect(manager.active()).toBe(ROOT_CONTEXT);
  });

  it('does not carry the context into a timer callback (documented), but a bound callback gets it', async () => {
    manager = new PromiseContextManager().enable();
    const seen = await manager.with(named('t'), () => {
      return new Promise<unknown[]>((resolve) => {
        const out: unknown[] = [];
        setTimeout(() => {
          out.push(nameIn(manager));
          setTimeout(
            manager.bind(named('bound'), () => {
              out.push(nameIn(manager));
              resolve(out);
            }),
            1,
          );
        }, 1);
      });
    });
    expect(seen).toEqual([undefined, 'bound']);
  });

  it('binds an emitter: listeners added later run in the context, and removing the original removes them', () => {
    manager = new PromiseContextManager().enable();
    const emitter = manager.bind(named('e'), new EventEmitter());
    const seen: unknown[] = [];
    const listener = () => seen.push(nameIn(manager));
    emitter.on('x', listener);
    emitter.once('y', listener);
    emitter.emit('x');
    emitter.emit('y');
    emitter.emit('y');
    emitter.off('x', listener);
    emitter.emit('x');
    expect(seen).toEqual(['e', 'e']);
    expect(emitter.listenerCount('x')).toBe(0);
  });

  it('stops carrying once disabled, and enable/disable are idempotent', async () => {
    manager = new PromiseContextManager().enable().enable();
    manager.disable().disable();
    const after = await manager.with(named('off'), async () => {
      await sleep(1);
      return nameIn(manager);
    });
    expect(after).toBeUndefined();
    manager.enable();
    expect(await manager.with(named('on'), async () => (await sleep(1), nameIn(manager)))).toBe('on');
  });
});

describe('hasAsyncContextFrame', () => {
  const v = (node: string) => ({ ...process.versions, node });
  it('is on from Node 24 unless turned off, and on Node 22 only with the flag', () => {
    expect(hasAsyncContextFrame(v('24.1.0'), [])).toBe(true);
    expect(hasAsyncContextFrame(v('24.1.0'), ['--no-async-context-frame'])).toBe(false);
    expect(hasAsyncContextFrame(v('22.12.0'), [])).toBe(false);
    expect(hasAsyncContextFrame(v('22.12.0'), ['--experimental-async-context-frame'])).toBe(true);
    expect(hasAsyncContextFrame(v('20.19.0'), ['--experimental-async-context-frame'])).toBe(false);
  });
});

describe('createTracing({ contextManager })', () => {
  it('defaults to AsyncLocalStorage only where Node carries it without async hooks, else to promises; the environment or the option choose', () => {
    expect(createTracing({ env: {}, file: false, otlpEndpoint: null }).contextManager).toBe(hasAsyncContextFrame() ? 'async-local-storage' : 'promise');
    expect(createTracing({ env: { BACKDEV_TRACE_CONTEXT: 'async-local-storage' }, file: false, otlpEndpoint: null }).contextManager).toBe('async-local-storage');
    expect(createTracing({ env: { BACKDEV_TRACE_CONTEXT: 'async-local-storage' }, contextManager: 'promise', file: false, otlpEndpoint: null }).contextManager).toBe('promise');
    expect(() => createTracing({ env: { BACKDEV_TRACE_CONTEXT: 'als' }, file: false, otlpEndpoint: null })).toThrow('BACKDEV_TRACE_CONTEXT must be promise or async-local-storage (got "als")');
  });
});
