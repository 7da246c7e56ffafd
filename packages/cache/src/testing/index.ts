// Test support for code that consumes the cache's events (`@fiml/cache/testing`);
// never used in production.
import { EventEmitter } from 'node:events';
import type { CacheEventName, CacheEventSource, CacheEvents } from '../cache-events.js';

/**
 * A real event source of the cache's port: a typed emitter that carries the
 * exact event objects a CacheManager emits, for tests of analytics and of the
 * metric bridges.
 */
export class CacheEventBus implements CacheEventSource {
  readonly #emitter = new EventEmitter();
  on<E extends CacheEventName>(event: E, listener: CacheEvents[E]): this {
    this.#emitter.on(event, listener);
    return this;
  }
  off<E extends CacheEventName>(event: E, listener: CacheEvents[E]): this {
    this.#emitter.off(event, listener);
    return this;
  }
  emit<E extends CacheEventName>(event: E, payload: Parameters<CacheEvents[E]>[0]): void {
    this.#emitter.emit(event, payload);
  }
  /** Listeners attached, over every event (0 after a bridge detaches). */
  listeners(): number {
    return this.#emitter.eventNames().reduce((n, e) => n + this.#emitter.listenerCount(e), 0);
  }
}
