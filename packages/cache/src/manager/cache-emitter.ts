import type { CacheEventName, CacheEvents } from '../cache-events.js';

type Payload<E extends CacheEventName> = Parameters<CacheEvents[E]>[0];
type Listener = (payload: never) => void;

/**
 * The cache's typed events. Every listener runs even when one throws, and a
 * throwing listener never fails the operation that emitted: its error is
 * reported as an `error` event (component `listener`); a throwing `error`
 * listener is ignored rather than looping. Listener lists are plain arrays
 * (copied on change, iterated on emit): emitting costs one lookup when nobody
 * listens, which matters on the hit path.
 */
export class CacheEmitter {
  readonly #listeners = new Map<CacheEventName, readonly Listener[]>();

  on<E extends CacheEventName>(event: E, listener: CacheEvents[E]): void {
    this.#listeners.set(event, [...(this.#listeners.get(event) ?? []), listener]);
  }

  off<E extends CacheEventName>(event: E, listener: CacheEvents[E]): void {
    const list = this.#listeners.get(event);
    if (!list) return;
    const at = list.indexOf(listener);
    if (at < 0) return;
    const next = list.filter((_, i) => i !== at);
    if (next.length === 0) this.#listeners.delete(event);
    else this.#listeners.set(event, next);
  }

  listens(event: CacheEventName): boolean {
    return this.#listeners.has(event);
  }

  emit<E extends CacheEventName>(event: E, payload: Payload<E>): void {
    const list = this.#listeners.get(event);
    if (!list) return;
    for (const listener of list) {
      try {
        (listener as (p: Payload<E>) => void)(payload);
      } catch (error) {
        if (event !== 'error') {
          this.emit('error', {
            component: 'listener',
            operation: 'emit',
            error: error instanceof Error ? error : new Error(String(error)),
          });
        }
      }
    }
  }
}
