/** A token bucket: `perSecond` tokens a second, up to `burst` saved up; `take()` waits for a token. */

export interface TokenBucketOptions {
  /** Sustained requests per second. */
  perSecond: number;
  /** Requests that may go at once after a quiet spell (default: one second's worth, at least 1). */
  burst?: number;
}

export interface TokenBucket {
  /** Resolves when a token was taken; rejects with the signal's reason if it aborts first. */
  take(signal?: AbortSignal): Promise<void>;
  /** Tokens available now (fractional). */
  available(): number;
}

export function createTokenBucket(options: TokenBucketOptions, now: () => number = Date.now): TokenBucket {
  if (!(options.perSecond > 0)) throw new TypeError('token bucket: perSecond must be positive');
  const burst = Math.max(1, options.burst ?? Math.ceil(options.perSecond));
  let tokens = burst;
  let at = now();
  /** Takers waiting, first come first served. */
  let queue: Promise<void> = Promise.resolve();

  const refill = () => {
    const t = now();
    tokens = Math.min(burst, tokens + ((t - at) / 1000) * options.perSecond);
    at = t;
  };

  const takeOne = async (signal?: AbortSignal) => {
    for (;;) {
      signal?.throwIfAborted();
      refill();
      if (tokens >= 1) {
        tokens -= 1;
        return;
      }
      const waitMs = Math.ceil(((1 - tokens) / options.perSecond) * 1000);
      await delay(waitMs, signal);
    }
  };

  return {
    take(signal) {
      const turn = queue.then(() => takeOne(signal));
      queue = turn.catch(() => {});
      return turn;
    },
    available() {
      refill();
      return tokens;
    },
  };
}

/** setTimeout as a promise that an abort signal cuts short (rejecting with its reason). */
export function delay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, Math.max(0, ms));
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
