/**
 * Where breaker state lives besides the breaker itself: an adapter, so that instances of a service can share
 * an open breaker (redis-store.ts is the one over Redis). Breakers decide locally and synchronously; the store
 * carries their transitions to the others, and a breaker adopts an `open` published by another instance.
 * A store with leases also lets one holder at a time send the half-open trial calls and the active probes.
 */
export type BreakerState = 'closed' | 'open' | 'half-open';

export interface BreakerSnapshot {
  state: BreakerState;
  /** Times opened in a row (the backoff multiplier). */
  timesOpened: number;
  /** Epoch ms; when an open breaker lets its trial calls through. 0 when closed. */
  openUntil: number;
  /** Epoch ms of the transition. */
  changedAt: number;
  /** Which breaker published it (one id per breaker instance). */
  source: string;
}

export interface BreakerStateStore {
  /** Stores a transition and tells the other subscribers of the key. */
  publish(key: string, snapshot: BreakerSnapshot): Promise<void>;
  /** The last snapshot stored for the key, if any. */
  read(key: string): Promise<BreakerSnapshot | undefined>;
  /** Calls `listener` with every snapshot published on the key (its own included); returns the unsubscribe. */
  subscribe(key: string, listener: (snapshot: BreakerSnapshot) => void): () => void;
  /**
   * Optional: takes the lease `key` for `holder` for `ttlMs`, or renews it when `holder` has it already.
   * Resolves false while another holder has it.
   */
  acquireLease?(key: string, holder: string, ttlMs: number): Promise<boolean>;
  /** Optional: gives the lease back if `holder` has it. */
  releaseLease?(key: string, holder: string): Promise<void>;
  close?(): Promise<void>;
}

/** Leases inside one process (the memory store's, and the Redis store's while Redis is away). */
export function createLocalLeases(now: () => number = Date.now): Required<Pick<BreakerStateStore, 'acquireLease' | 'releaseLease'>> {
  const leases = new Map<string, { holder: string; until: number }>();
  return {
    async acquireLease(key, holder, ttlMs) {
      const t = now();
      const lease = leases.get(key);
      if (lease && lease.holder !== holder && lease.until > t) return false;
      leases.set(key, { holder, until: t + ttlMs });
      return true;
    },
    async releaseLease(key, holder) {
      if (leases.get(key)?.holder === holder) leases.delete(key);
    },
  };
}

/** A store inside one process: breakers given the same store (and key) share their state. */
export function createMemoryBreakerStore(): BreakerStateStore {
  const snapshots = new Map<string, BreakerSnapshot>();
  const listeners = new Map<string, Set<(snapshot: BreakerSnapshot) => void>>();
  return {
    ...createLocalLeases(),
    async publish(key, snapshot) {
      snapshots.set(key, { ...snapshot });
      for (const listener of [...(listeners.get(key) ?? [])]) listener({ ...snapshot });
    },
    async read(key) {
      const s = snapshots.get(key);
      return s ? { ...s } : undefined;
    },
    subscribe(key, listener) {
      let set = listeners.get(key);
      if (!set) listeners.set(key, (set = new Set()));
      set.add(listener);
      return () => {
        set.delete(listener);
      };
    },
    async close() {
      listeners.clear();
    },
  };
}
