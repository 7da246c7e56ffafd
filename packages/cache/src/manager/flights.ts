import type { CacheEntry } from '../l2/cache-entry.js';
import { bounded } from './bounded.js';
import type { CacheEmitter } from './cache-emitter.js';

/**
 * In-process single flight: one fetch per key at a time, joined by every
 * reader that misses it meanwhile. A flight settles by its hard timeout at
 * the latest, whatever its fetch does, and leaves the map when it settles,
 * so no key is ever blocked by a fetch that never returns.
 */
export class Flights {
  readonly #inflight = new Map<string, Promise<CacheEntry>>();
  readonly #hardTimeoutMs: number;
  readonly #events: CacheEmitter;

  constructor(options: { hardTimeoutMs: number; events: CacheEmitter }) {
    this.#hardTimeoutMs = options.hardTimeoutMs;
    this.#events = options.events;
  }

  has(key: string): boolean {
    return this.#inflight.has(key);
  }

  get size(): number {
    return this.#inflight.size;
  }

  /**
   * The key's flight: the running one, or a new one started with `start`
   * (synchronously, so misses handed over in one tick reach a coalescing
   * loader together). Rejects with the fetch's error, or a
   * FetchTimeoutError at the hard timeout.
   */
  join(key: string, start: () => Promise<CacheEntry | Error>): Promise<CacheEntry> {
    const running = this.#inflight.get(key);
    if (running) return running;
    const fetched = start().then((result) => {
      if (result instanceof Error) throw result;
      return result;
    });
    const flight = bounded(fetched, {
      timeoutMs: this.#hardTimeoutMs,
      what: `fetch of ${key}`,
      onTimeout: (error) =>
        this.#events.emit('error', { component: 'fetch', operation: 'timeout', error, key }),
    });
    this.#inflight.set(key, flight);
    const settle = () => {
      if (this.#inflight.get(key) === flight) this.#inflight.delete(key);
    };
    flight.then(settle, settle);
    return flight;
  }
}
