import type { Clock } from '@fiml/market';
import type { CacheEmitter } from './cache-emitter.js';
import type { RefreshAheadRequest, RevalidateRequest } from './types.js';

const MAX_REMEMBERED_KEYS = 10_000;

export interface RevalidatorOptions {
  readonly clock: Clock;
  readonly events: CacheEmitter;
  /** The app's refresh request (the api enqueues a deduplicated refresh job). */
  readonly onStale: ((request: RevalidateRequest) => void | Promise<unknown>) | undefined;
  /** How long one key's refresh request stands before another may be made, ms. */
  readonly requestWindowMs: number;
  /** The app's refresh-ahead request (the api enqueues a refresh due by `freshUntil`). */
  readonly onRefreshAhead?: ((request: RefreshAheadRequest) => void | Promise<unknown>) | undefined;
}

/**
 * Refreshes stale entries that were just served, at most once per key per
 * window: through the app's `onStale` (a refresh job for the batch-scheduler)
 * when it is wired, and in-process when it is not, when it throws, or when
 * the promise it returns rejects (the queue is down). A stale entry is never
 * left without a refresh.
 */
export class Revalidator {
  readonly #o: RevalidatorOptions;
  readonly #requested = new Map<string, number>();
  /** Per key, the `freshUntil` of the entry last asked ahead for: once per entry. */
  readonly #askedAhead = new Map<string, number>();

  constructor(options: RevalidatorOptions) {
    this.#o = options;
  }

  /** `inProcess` refreshes the key here; undefined when nothing here can fetch it. */
  request(request: RevalidateRequest, inProcess: (() => Promise<unknown>) | undefined): void {
    const { onStale, clock } = this.#o;
    const now = clock.now();
    const until = this.#requested.get(request.key);
    if (until !== undefined && until > now) return;
    this.#remember(request.key, now + this.#o.requestWindowMs);
    if (!onStale) {
      this.#run(request.key, inProcess);
      return;
    }
    let asked: void | Promise<unknown>;
    try {
      asked = onStale(request);
    } catch (error) {
      this.#fallBack(request.key, error, inProcess);
      return;
    }
    if (asked && typeof asked.then === 'function') {
      asked.then(undefined, (error: unknown) => this.#fallBack(request.key, error, inProcess));
    }
  }

  /** Whether refresh-ahead requests go anywhere (else reads need not check for them). */
  get refreshesAhead(): boolean {
    return this.#o.onRefreshAhead !== undefined;
  }

  /**
   * Asks the app, once per entry, to refresh a fresh entry that reads reach
   * near its expiry. Nothing is fetched here: ahead of expiry nothing is
   * stale yet, and a refresh of one key in-process would spend a whole
   * upstream call where the batch-scheduler shares one among many.
   */
  ahead(request: RefreshAheadRequest): void {
    const onAhead = this.#o.onRefreshAhead;
    if (!onAhead || this.#askedAhead.get(request.key) === request.freshUntil) return;
    remember(this.#askedAhead, request.key, request.freshUntil);
    const failed = (error: unknown) => this.#enqueueFailed(request.key, error);
    try {
      const asked = onAhead(request);
      if (asked && typeof asked.then === 'function') asked.then(undefined, failed);
    } catch (error) {
      failed(error);
    }
  }

  #fallBack(key: string, error: unknown, inProcess: (() => Promise<unknown>) | undefined): void {
    this.#enqueueFailed(key, error);
    this.#run(key, inProcess);
  }

  /** The app's refresh request for `key` threw or rejected. */
  #enqueueFailed(key: string, error: unknown): void {
    this.#o.events.emit('error', {
      component: 'revalidate',
      operation: 'enqueue',
      error: error instanceof Error ? error : new Error(String(error)),
      key,
    });
  }

  #run(key: string, inProcess: (() => Promise<unknown>) | undefined): void {
    inProcess?.().catch((error: unknown) =>
      this.#o.events.emit('error', {
        component: 'revalidate',
        operation: 'load',
        error: error instanceof Error ? error : new Error(String(error)),
        key,
      }),
    );
  }

  #remember(key: string, until: number): void {
    remember(this.#requested, key, until);
  }
}

/** Sets `key` as the newest entry of a map bounded to MAX_REMEMBERED_KEYS (the oldest goes). */
function remember(map: Map<string, number>, key: string, value: number): void {
  map.delete(key);
  if (map.size >= MAX_REMEMBERED_KEYS) {
    const oldest = map.keys().next().value;
    if (oldest !== undefined) map.delete(oldest);
  }
  map.set(key, value);
}
