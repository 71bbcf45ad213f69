/**
 * The upstream-wide circuit breaker. Closed: every call goes through and outcomes are counted (consecutive
 * failures, failure percentage over a window with a minimum volume). Open: calls fail fast until the open
 * time (base × times opened, capped, with jitter) has passed. Half-open: exactly `halfOpenTrials` calls are
 * admitted (the check and the count are one synchronous step, so concurrent callers cannot slip through) and
 * every other call fails fast; it closes once `closeAfter` trials succeeded and re-opens as soon as that can
 * no longer happen. After closing it stays closed for at least `minClosedMs` (hysteresis against flapping).
 * With a state store that has leases, only the instance holding the trial lease sends the trials; the others
 * fail fast while half-open and adopt the holder's outcome (an `open`, or a `closed` published after they
 * became half-open).
 */
import { randomUUID } from 'node:crypto';
import type { BreakerSnapshot, BreakerState, BreakerStateStore } from './store.js';
import { SlidingWindow } from './window.js';

export interface BreakerOptions {
  /** Consecutive failures that open the breaker. Default 5. */
  consecutiveFailures?: number;
  /** Failure percentage over `windowMs` that opens it, with at least `minimumRequests` calls. Default 50. */
  failurePercent?: number;
  /** Default 20. */
  minimumRequests?: number;
  /** Default 10 s. */
  windowMs?: number;
  /** Base open time; the n-th opening in a row lasts n × this. Default 5 s. */
  openMs?: number;
  /** Cap of the open time. Default 60 s. */
  maxOpenMs?: number;
  /** Open times are stretched by up to this fraction at random. Default 0.1. */
  jitter?: number;
  /** k: calls admitted while half-open. Default 3. */
  halfOpenTrials?: number;
  /** s: successful trials that close it (≤ k). Default 2. */
  closeAfter?: number;
  /** Shortest time closed before it can open again. Default `openMs`. */
  minClosedMs?: number;
  /** With a store that has leases: how long the trial lease is taken for (renewed while trials run). Default 10 s. */
  trialLeaseMs?: number;
}

export type ResolvedBreakerOptions = Required<BreakerOptions>;

export function resolveBreakerOptions(o: BreakerOptions = {}): ResolvedBreakerOptions {
  const openMs = o.openMs ?? 5_000;
  const halfOpenTrials = Math.max(1, Math.floor(o.halfOpenTrials ?? 3));
  const closeAfter = Math.min(halfOpenTrials, Math.max(1, Math.floor(o.closeAfter ?? Math.min(2, halfOpenTrials))));
  return {
    consecutiveFailures: o.consecutiveFailures ?? 5,
    failurePercent: o.failurePercent ?? 50,
    minimumRequests: o.minimumRequests ?? 20,
    windowMs: o.windowMs ?? 10_000,
    openMs,
    maxOpenMs: Math.max(openMs, o.maxOpenMs ?? 60_000),
    jitter: o.jitter ?? 0.1,
    halfOpenTrials,
    closeAfter,
    minClosedMs: o.minClosedMs ?? openMs,
    trialLeaseMs: Math.max(1, o.trialLeaseMs ?? 10_000),
  };
}

export interface BreakerPermit {
  /** Whether this is one of the half-open trial calls. */
  readonly trial: boolean;
  /** The call's outcome: true success, false failure, undefined when it was abandoned (not counted). */
  done(ok: boolean | undefined): void;
}

export interface BreakerTransition {
  state: BreakerState;
  previous: BreakerState;
  /** For `open`: how long it stays open. */
  openMs?: number;
  /** `shared`: adopted from another instance through the store. */
  cause: 'failures' | 'failure-rate' | 'trial-failed' | 'trials-succeeded' | 'timer' | 'shared';
}

export interface BreakerDeps {
  key: string;
  now: () => number;
  random: () => number;
  store?: BreakerStateStore;
  onTransition: (t: BreakerTransition) => void;
  onStoreError: (error: unknown) => void;
}

export class CircuitBreaker {
  private current: BreakerState = 'closed';
  private timesOpened = 0;
  private openUntil = 0;
  private closedAt = -Infinity;
  private consecutive = 0;
  private generation = 0;
  private trialsIssued = 0;
  private trialSuccesses = 0;
  private trialFailures = 0;
  private timer: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;
  /** The trial lease while half-open: `none` without a store that has leases (every instance trials). */
  private lease: 'none' | 'pending' | 'held' | 'denied' = 'none';
  private leaseTimer: NodeJS.Timeout | undefined;
  private readonly window: SlidingWindow;
  private changedAt: number;
  private readonly id = randomUUID();

  constructor(
    readonly options: ResolvedBreakerOptions,
    private readonly deps: BreakerDeps,
  ) {
    this.window = new SlidingWindow(options.windowMs, deps.now);
    this.changedAt = deps.now();
  }

  /** Subscribes to the store and adopts a shared open breaker. */
  async start(): Promise<void> {
    const store = this.deps.store;
    if (!store || this.unsubscribe) return;
    this.unsubscribe = store.subscribe(this.deps.key, (s) => this.adopt(s));
    try {
      const s = await store.read(this.deps.key);
      if (s) this.adopt(s);
    } catch (error) {
      this.deps.onStoreError(error);
    }
  }

  close(): void {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.dropLease();
  }

  get state(): BreakerState {
    this.tick();
    return this.current;
  }

  snapshot(): BreakerSnapshot & { trialsInFlight: number; consecutiveFailures: number; window: { requests: number; failures: number } } {
    this.tick();
    const w = this.window.counts();
    return {
      state: this.current,
      timesOpened: this.timesOpened,
      openUntil: this.current === 'closed' ? 0 : this.openUntil,
      changedAt: this.changedAt,
      source: this.id,
      trialsInFlight: this.current === 'half-open' ? this.trialsIssued - this.trialSuccesses - this.trialFailures : 0,
      consecutiveFailures: this.consecutive,
      window: { requests: w.total, failures: w.marked },
    };
  }

  /** A permit for one call, or undefined when the call must fail fast. Synchronous on purpose. */
  acquire(): BreakerPermit | undefined {
    this.tick();
    const generation = this.generation;
    if (this.current === 'open') return undefined;
    if (this.current === 'half-open') {
      if (this.lease === 'pending' || this.lease === 'denied') return undefined;
      if (this.trialsIssued >= this.options.halfOpenTrials) return undefined;
      this.trialsIssued++;
      let settled = false;
      return {
        trial: true,
        done: (ok) => {
          if (settled) return;
          settled = true;
          this.trialDone(generation, ok);
        },
      };
    }
    let settled = false;
    return {
      trial: false,
      done: (ok) => {
        if (settled) return;
        settled = true;
        if (ok !== undefined) this.record(generation, ok);
      },
    };
  }

  /** Moves an open breaker whose time is up to half-open. */
  private tick(): void {
    if (this.current === 'open' && this.deps.now() >= this.openUntil) this.toHalfOpen();
  }

  private record(generation: number, ok: boolean): void {
    if (generation !== this.generation || this.current !== 'closed') return;
    this.window.add(!ok);
    if (ok) {
      this.consecutive = 0;
      return;
    }
    this.consecutive++;
    if (this.deps.now() < this.closedAt + this.options.minClosedMs) return;
    const o = this.options;
    if (this.consecutive >= o.consecutiveFailures) return this.toOpen('failures');
    const w = this.window.counts();
    if (w.total >= o.minimumRequests && (w.marked / w.total) * 100 >= o.failurePercent) this.toOpen('failure-rate');
  }

  private trialDone(generation: number, ok: boolean | undefined): void {
    if (generation !== this.generation || this.current !== 'half-open') return;
    if (ok === undefined) {
      this.trialsIssued--;
      return;
    }
    if (ok) this.trialSuccesses++;
    else this.trialFailures++;
    const o = this.options;
    if (this.trialSuccesses >= o.closeAfter) this.toClosed();
    else if (this.trialFailures > o.halfOpenTrials - o.closeAfter) this.toOpen('trial-failed');
  }

  private openDuration(): number {
    const o = this.options;
    return Math.min(o.openMs * this.timesOpened, o.maxOpenMs) * (1 + o.jitter * this.deps.random());
  }

  private toOpen(cause: BreakerTransition['cause']): void {
    const previous = this.current;
    const now = this.deps.now();
    if (previous === 'closed') {
      // The multiplier steps down by one for every window spent closed.
      const decay = Number.isFinite(this.closedAt) ? Math.floor((now - this.closedAt) / this.options.windowMs) : 0;
      this.timesOpened = Math.max(0, this.timesOpened - decay);
    }
    this.timesOpened++;
    const duration = this.openDuration();
    this.enter('open');
    this.openUntil = now + duration;
    this.schedule(duration);
    this.deps.onTransition({ state: 'open', previous, openMs: duration, cause });
    this.share();
  }

  private toHalfOpen(cause: BreakerTransition['cause'] = 'timer'): void {
    if (this.current !== 'open') return;
    this.enter('half-open');
    this.deps.onTransition({ state: 'half-open', previous: 'open', cause });
    this.requestLease();
  }

  private get leaseKey(): string {
    return `${this.deps.key}:trials`;
  }

  /** Asks the store for the trial lease; until it is granted, half-open admits nothing. */
  private requestLease(): void {
    const store = this.deps.store;
    if (!store?.acquireLease) return;
    const generation = this.generation;
    if (this.lease !== 'held') this.lease = 'pending';
    store
      .acquireLease(this.leaseKey, this.id, this.options.trialLeaseMs)
      .catch((error: unknown) => {
        // A store that cannot answer: decide locally rather than never trying again.
        this.deps.onStoreError(error);
        return true;
      })
      .then((granted) => {
        if (generation !== this.generation || this.current !== 'half-open') {
          if (granted) void store.releaseLease?.(this.leaseKey, this.id).catch((error: unknown) => this.deps.onStoreError(error));
          return;
        }
        this.lease = granted ? 'held' : 'denied';
        // Held: renewed while the trials run. Denied: asked again, in case the holder went away.
        const again = granted ? this.options.trialLeaseMs / 2 : Math.min(1_000, this.options.trialLeaseMs);
        if (this.leaseTimer) clearTimeout(this.leaseTimer);
        this.leaseTimer = setTimeout(() => {
          this.leaseTimer = undefined;
          if (generation === this.generation && this.current === 'half-open') this.requestLease();
        }, Math.ceil(again));
        this.leaseTimer.unref?.();
      });
  }

  private dropLease(): void {
    if (this.leaseTimer) clearTimeout(this.leaseTimer);
    this.leaseTimer = undefined;
    const held = this.lease === 'held';
    this.lease = 'none';
    const store = this.deps.store;
    if (held && store?.releaseLease) store.releaseLease(this.leaseKey, this.id).catch((error: unknown) => this.deps.onStoreError(error));
  }

  private toClosed(): void {
    const previous = this.current;
    this.enter('closed');
    this.closedAt = this.deps.now();
    this.deps.onTransition({ state: 'closed', previous, cause: 'trials-succeeded' });
    this.share();
  }

  private enter(state: BreakerState): void {
    this.dropLease();
    this.current = state;
    this.changedAt = this.deps.now();
    this.generation++;
    this.trialsIssued = 0;
    this.trialSuccesses = 0;
    this.trialFailures = 0;
    this.consecutive = 0;
    this.window.reset();
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(ms: number): void {
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.tick();
    }, Math.max(0, Math.ceil(ms)));
    this.timer.unref?.();
  }

  private share(): void {
    const store = this.deps.store;
    if (!store) return;
    const s: BreakerSnapshot = { state: this.current, timesOpened: this.timesOpened, openUntil: this.current === 'open' ? this.openUntil : 0, changedAt: this.deps.now(), source: this.id };
    store.publish(this.deps.key, s).catch((error: unknown) => this.deps.onStoreError(error));
  }

  /**
   * Another instance opened the breaker: open here too, until the same time. Another instance closed it while
   * this one waits for the trial lease: its trials succeeded, close here too.
   */
  private adopt(s: BreakerSnapshot): void {
    if (s.source === this.id) return;
    const now = this.deps.now();
    if (s.state === 'closed') {
      if (this.current !== 'half-open' || (this.lease !== 'pending' && this.lease !== 'denied') || s.changedAt < this.changedAt) return;
      this.enter('closed');
      this.closedAt = now;
      this.deps.onTransition({ state: 'closed', previous: 'half-open', cause: 'shared' });
      return;
    }
    if (s.state !== 'open') return;
    if (s.openUntil <= now || (this.current === 'open' && this.openUntil >= s.openUntil)) return;
    const previous = this.current;
    this.enter('open');
    this.timesOpened = Math.max(this.timesOpened, s.timesOpened);
    this.openUntil = s.openUntil;
    this.schedule(s.openUntil - now);
    this.deps.onTransition({ state: 'open', previous, openMs: s.openUntil - now, cause: 'shared' });
  }
}
